//! Card payments (`[payments]` in the file, `DOCKET_STRIPE_*` in the environment): the firm's
//! Stripe keys, or none, when invoices are shown but cannot be paid in the portal. With test keys
//! the API may be a stand-in (`DOCKET_STRIPE_API_BASE`) and the browser may use the stand-in for
//! Stripe.js (`DOCKET_STRIPE_STAND_IN`): `docket demo` and the tests run Docket's own fake Stripe
//! ([`crate::billing::fake_stripe`]) so the whole payment journey works offline.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::load::{env, secret_env};

/// Payment settings as a file may give them (`[payments]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PaymentsFileConfig {
    stripe_secret_key: Option<SecretString>,
    stripe_publishable_key: Option<String>,
    stripe_webhook_secret: Option<SecretString>,
    stripe_api_base: Option<String>,
    stripe_stand_in: Option<String>,
}

/// How invoices are paid in the portal.
#[derive(Debug, Clone, Default)]
pub enum Payments {
    /// No keys: invoices are shown, and the Pay button says card payment is not set up.
    #[default]
    Off,
    /// Stripe, with the firm's business account's keys.
    Stripe(StripeSettings),
}

/// The firm's Stripe account.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `DOCKET_STRIPE_SECRET_KEY`: `sk_live_…`, `sk_test_…` or a restricted `rk_…` key.
    pub secret_key: SecretString,
    /// `DOCKET_STRIPE_PUBLISHABLE_KEY`: `pk_live_…` or `pk_test_…`, for Stripe.js in the browser.
    pub publishable_key: String,
    /// `DOCKET_STRIPE_WEBHOOK_SECRET`: `whsec_…`, the endpoint's signing secret.
    pub webhook_secret: SecretString,
    /// `DOCKET_STRIPE_API_BASE`: where Stripe's API is (default `https://api.stripe.com/`); a
    /// stand-in's address in tests.
    pub api_base: Option<String>,
    /// `DOCKET_STRIPE_STAND_IN`: the address of a stand-in for Stripe.js's calls, which the web
    /// client then uses instead of loading Stripe.js (test keys on one's own machine only).
    pub stand_in: Option<String>,
}

impl Payments {
    pub(super) fn resolve(file: PaymentsFileConfig) -> anyhow::Result<Self> {
        let secret_key = secret_env("DOCKET_STRIPE_SECRET_KEY").or(file.stripe_secret_key);
        let publishable_key = env("DOCKET_STRIPE_PUBLISHABLE_KEY").or(file.stripe_publishable_key);
        let webhook_secret =
            secret_env("DOCKET_STRIPE_WEBHOOK_SECRET").or(file.stripe_webhook_secret);
        let api_base = env("DOCKET_STRIPE_API_BASE").or(file.stripe_api_base);
        let stand_in = env("DOCKET_STRIPE_STAND_IN").or(file.stripe_stand_in);
        match (secret_key, publishable_key, webhook_secret) {
            (None, None, None) => Ok(Self::Off),
            (Some(secret_key), Some(publishable_key), Some(webhook_secret)) => {
                let settings = StripeSettings {
                    secret_key,
                    publishable_key,
                    webhook_secret,
                    api_base,
                    stand_in,
                };
                settings.check()?;
                Ok(Self::Stripe(settings))
            }
            _ => bail!(
                "card payments need all three of DOCKET_STRIPE_SECRET_KEY, DOCKET_STRIPE_PUBLISHABLE_KEY \
                 and DOCKET_STRIPE_WEBHOOK_SECRET (or none of them)"
            ),
        }
    }

    /// The Stripe settings, when payments are on.
    pub fn stripe(&self) -> Option<&StripeSettings> {
        match self {
            Self::Off => None,
            Self::Stripe(s) => Some(s),
        }
    }

    /// Live keys: real money moves.
    pub fn is_live(&self) -> bool {
        self.stripe().is_some_and(StripeSettings::is_live)
    }

    /// A stand-in takes the browser's payments (the demo and the tests).
    pub fn stand_in(&self) -> Option<&str> {
        self.stripe().and_then(|s| s.stand_in.as_deref())
    }
}

impl StripeSettings {
    /// Live keys: real money moves.
    pub fn is_live(&self) -> bool {
        let secret = self.secret_key.expose_secret();
        secret.starts_with("sk_live_") || secret.starts_with("rk_live_")
    }

    pub(super) fn check(&self) -> anyhow::Result<()> {
        let secret = self.secret_key.expose_secret();
        let live = secret.starts_with("sk_live_") || secret.starts_with("rk_live_");
        let test = secret.starts_with("sk_test_") || secret.starts_with("rk_test_");
        if !live && !test {
            bail!(
                "DOCKET_STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_… or rk_…)"
            );
        }
        let publishable_live = self.publishable_key.starts_with("pk_live_");
        if !self.publishable_key.starts_with("pk_") || publishable_live != live {
            bail!("DOCKET_STRIPE_PUBLISHABLE_KEY must be the publishable key of the same mode as the secret key");
        }
        if !self.webhook_secret.expose_secret().starts_with("whsec_") {
            bail!("DOCKET_STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…)");
        }
        if live && (self.api_base.is_some() || self.stand_in.is_some()) {
            bail!(
                "DOCKET_STRIPE_API_BASE and DOCKET_STRIPE_STAND_IN are for test keys only: live keys \
                 go to Stripe itself"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(secret: &str, publishable: &str) -> StripeSettings {
        StripeSettings {
            secret_key: SecretString::from(secret.to_owned()),
            publishable_key: publishable.into(),
            webhook_secret: SecretString::from("whsec_x".to_owned()),
            api_base: None,
            stand_in: None,
        }
    }

    #[test]
    fn keys_must_be_stripe_keys_of_one_mode() {
        settings("sk_test_1", "pk_test_1")
            .check()
            .expect("test pair");
        settings("sk_live_1", "pk_live_1")
            .check()
            .expect("live pair");
        assert!(settings("sk_live_1", "pk_test_1").check().is_err());
        assert!(settings("password", "pk_test_1").check().is_err());
        let mut live = settings("sk_live_1", "pk_live_1");
        live.api_base = Some("http://127.0.0.1:1/".into());
        assert!(live.check().is_err(), "live keys never go to a stand-in");
        let debug = format!("{:?}", settings("sk_test_secret", "pk_test_1"));
        assert!(!debug.contains("sk_test_secret"), "{debug}");
    }
}
