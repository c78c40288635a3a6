//! The production-safety check run by `docket serve`: a configuration that is fine for a demo on
//! one's own machine (the built-in key, plain HTTP, insecure cookies) is refused anywhere else,
//! with a message saying what to fix.

use anyhow::bail;
use time::Duration;

use super::Config;

impl Config {
    /// Mail to a relay elsewhere must be encrypted all the way: `smtps://`, or `smtp://` with
    /// `tls=required` (STARTTLS that cannot be stripped). Plain SMTP is for this machine only.
    fn smtp_problem(&self) -> Option<&'static str> {
        use secrecy::ExposeSecret;
        let url = url::Url::parse(self.smtp_url.as_ref()?.expose_secret()).ok()?;
        let tls_required = url.scheme() == "smtps"
            || url
                .query_pairs()
                .any(|(k, v)| k == "tls" && v == "required");
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            // `smtp:` is not a special scheme, so an address comes back as a name.
            Some(url::Host::Domain(name)) => {
                name == "localhost"
                    || name
                        .trim_matches(['[', ']'])
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            None => false,
        };
        (!tls_required && !loopback).then_some(
            "DOCKET_SMTP_URL sends mail unencrypted to another machine: use smtps://host:465 or \
             smtp://host:587?tls=required",
        )
    }

    /// Refuses a configuration that is unsafe outside one's own machine, saying what to fix.
    pub fn check_production_safety(&self) -> anyhow::Result<()> {
        let local = self.listen.ip().is_loopback();
        let mut problems = Vec::new();
        if self.key_is_default && !local {
            problems.push(
                "DOCKET_KEY_ENCRYPTION_KEY is not set, so the built-in demo key would protect real data: \
                 set it to 32 random bytes in base64 (e.g. `openssl rand -base64 32`)",
            );
        }
        if !self.cookie_secure && !local {
            problems.push(
                "DOCKET_COOKIE_SECURE=false sends session cookies over plain HTTP: \
                 remove it and put TLS in front of Docket",
            );
        }
        if !local && !self.public_url.starts_with("https://") {
            problems.push(
                "DOCKET_PUBLIC_URL must be an https:// address when listening beyond localhost: \
                 terminate TLS in front of Docket and set the public address",
            );
        }
        if self.payments.is_live() && !self.public_url.starts_with("https://") {
            problems.push(
                "live Stripe keys need an https:// DOCKET_PUBLIC_URL: card payments are never taken \
                 over plain HTTP",
            );
        }
        if self.payments.stand_in().is_some() && !local {
            problems.push(
                "DOCKET_STRIPE_STAND_IN (the offline stand-in for Stripe.js) is for one's own \
                 machine: remove it and use the firm's Stripe keys",
            );
        }
        if let Some(problem) = self.smtp_problem() {
            problems.push(problem);
        }
        if self.idle_timeout <= Duration::ZERO || self.absolute_lifetime < self.idle_timeout {
            problems
                .push("the idle timeout must be positive and no longer than the absolute lifetime");
        }
        if problems.is_empty() {
            return Ok(());
        }
        bail!(
            "refusing to start with an unsafe configuration:\n  - {}",
            problems.join("\n  - ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_leaves_the_machine_only_encrypted() {
        let mut config = Config::defaults();
        for (url, refused) in [
            ("smtp://relay.example:25", true),
            ("smtp://relay.example:587?tls=opportunistic", true),
            ("smtp://relay.example:587?tls=required", false),
            ("smtps://user:pass@relay.example:465", false),
            ("smtp://127.0.0.1:2525", false),
            ("smtp://localhost:25", false),
            ("smtp://[::1]:25", false),
            ("smtp://10.0.0.7:25", true),
        ] {
            config.smtp_url = Some(url.to_owned().into());
            assert_eq!(config.smtp_problem().is_some(), refused, "{url}");
        }
    }

    #[test]
    fn default_key_is_refused_off_localhost() {
        let mut config = Config::defaults();
        config.listen = "0.0.0.0:8080".parse().expect("addr");
        config.public_url = "https://portal.example".into();
        let err = config
            .check_production_safety()
            .expect_err("refused")
            .to_string();
        assert!(err.contains("DOCKET_KEY_ENCRYPTION_KEY"), "{err}");
        config.key_is_default = false;
        config
            .check_production_safety()
            .expect("safe once a key is set");
    }

    #[test]
    fn insecure_cookies_and_plain_http_are_refused_off_localhost() {
        let mut config = Config::defaults();
        config.key_is_default = false;
        config.listen = "10.0.0.5:8080".parse().expect("addr");
        config.cookie_secure = false;
        let err = config
            .check_production_safety()
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("DOCKET_COOKIE_SECURE") && err.contains("https://"),
            "{err}"
        );
    }

    #[test]
    fn loopback_demo_defaults_are_allowed() {
        Config::defaults()
            .check_production_safety()
            .expect("a local demo may use defaults");
    }
}
