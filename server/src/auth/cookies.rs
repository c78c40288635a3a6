//! The cookies a browser session uses.
//!
//! - `docket_session`: the session token. HttpOnly, SameSite=Strict, path `/`.
//! - `docket_csrf`: the CSRF token, readable by the page so it can echo it in `X-CSRF-Token`.
//! - `docket_device`: the device token, HttpOnly and sent only to the sign-in endpoint, so a device
//!   is recognised across sessions.

use axum::http::{header, HeaderMap, HeaderValue};

pub const SESSION: &str = "docket_session";
pub const CSRF: &str = "docket_csrf";
pub const DEVICE: &str = "docket_device";

/// A device cookie lasts about a year; the device itself can be revoked at any time.
const DEVICE_MAX_AGE_SECS: i64 = 400 * 24 * 3600;

/// The value of cookie `name` in the request, if present.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn cookie(
    name: &str,
    value: &str,
    path: &str,
    http_only: bool,
    max_age: Option<i64>,
    secure: bool,
) -> HeaderValue {
    let mut text = format!("{name}={value}; Path={path}; SameSite=Strict");
    if http_only {
        text.push_str("; HttpOnly");
    }
    if secure {
        text.push_str("; Secure");
    }
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&text).expect("cookie values are base64url")
}

/// Sets the session and CSRF cookies. They are session cookies: the server enforces the lifetime.
pub fn set_session(headers: &mut HeaderMap, token: &str, csrf: &str, secure: bool) {
    headers.append(
        header::SET_COOKIE,
        cookie(SESSION, token, "/", true, None, secure),
    );
    headers.append(
        header::SET_COOKIE,
        cookie(CSRF, csrf, "/", false, None, secure),
    );
}

/// Sets the long-lived device cookie.
pub fn set_device(headers: &mut HeaderMap, token: &str, secure: bool) {
    headers.append(
        header::SET_COOKIE,
        cookie(
            DEVICE,
            token,
            "/api/v1/auth",
            true,
            Some(DEVICE_MAX_AGE_SECS),
            secure,
        ),
    );
}

/// Expires the session and CSRF cookies (sign-out). The device cookie stays: the device is still known.
pub fn clear_session(headers: &mut HeaderMap, secure: bool) {
    headers.append(
        header::SET_COOKIE,
        cookie(SESSION, "", "/", true, Some(0), secure),
    );
    headers.append(
        header::SET_COOKIE,
        cookie(CSRF, "", "/", false, Some(0), secure),
    );
}
