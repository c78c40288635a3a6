import { describe, expect, it } from "vitest";
import { ApiError, csrfToken, describe as describeError } from "./api";
import { reconnectDelay } from "./backoff";
import { IdleWatch } from "./idle";
import { deviceName } from "./format";

describe("csrfToken", () => {
  it("finds the token among other cookies", () => {
    expect(csrfToken("a=1; docket_csrf=abc%3D; b=2")).toBe("abc=");
    expect(csrfToken("a=1")).toBeUndefined();
    expect(csrfToken("docket_csrf=")).toBeUndefined();
  });
});

describe("error words", () => {
  it("explain throttling with the wait", () => {
    expect(describeError(new ApiError(429, "rate_limited", "x", 120))).toContain("2 minutes");
    expect(describeError(new ApiError(401, "invalid_mfa_code", "x"))).toContain("code is not right");
    expect(describeError(new Error("boom"))).toContain("Something went wrong");
  });
});

describe("reconnectDelay", () => {
  it("grows, is capped and never zero", () => {
    expect(reconnectDelay(0, () => 0)).toBe(125);
    expect(reconnectDelay(0, () => 1)).toBe(500);
    expect(reconnectDelay(3, () => 1)).toBe(4_000);
    expect(reconnectDelay(30, () => 1)).toBe(8_000);
    expect(reconnectDelay(30, () => 0)).toBe(2_000);
  });
});

describe("IdleWatch", () => {
  const minute = 60_000;
  it("warns two minutes before the server would end the session", () => {
    const idle = new IdleWatch(15 * minute, 0);
    // The server may have recorded activity up to 30 s early: the page counts from there.
    expect(idle.expiresAt()).toBe(15 * minute - 30_000);
    expect(idle.phase(12 * minute)).toBe("active");
    expect(idle.phase(13 * minute)).toBe("warning");
    expect(idle.secondsLeft(14 * minute)).toBe(30);
    expect(idle.phase(15 * minute)).toBe("expired");
  });

  it("gives a short timeout a proportionate warning", () => {
    const idle = new IdleWatch(2 * minute, 0);
    expect(idle.phase(50_000)).toBe("active");
    expect(idle.phase(60_000)).toBe("warning");
    expect(idle.shouldTouch(30_000)).toBe(true);
  });

  it("touches at most once a minute while the person is active, and a touch resets the clock", () => {
    const idle = new IdleWatch(15 * minute, 0);
    expect(idle.shouldTouch(30_000)).toBe(false);
    expect(idle.shouldTouch(minute)).toBe(true);
    idle.touched(10 * minute);
    expect(idle.phase(20 * minute)).toBe("active");
    expect(idle.shouldTouch(26 * minute)).toBe(false);
  });
});

describe("deviceName", () => {
  it("names common browsers and systems, and keeps other labels", () => {
    const chromeLinux =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
    expect(deviceName(chromeLinux)).toBe("Chrome on Linux");
    expect(
      deviceName("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"),
    ).toBe("Safari on iOS");
    expect(deviceName("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0")).toBe(
      "Edge on Windows",
    );
    expect(deviceName("docket-cli/0.1")).toBe("docket-cli/0.1");
    expect(deviceName("")).toBe("Unknown device");
  });
});
