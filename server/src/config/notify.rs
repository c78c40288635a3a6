//! Notification settings (`[notifications]` in the file, `DOCKET_NOTIFY_*` and `DOCKET_PUSH_*` in
//! the environment): how long news waits to fold into one notice, the firm's working hours for
//! escalation, and which push services the server will send to.

use serde::Deserialize;

use super::load::{env, parsed_env};

/// Notification settings as a file may give them (`[notifications]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NotifyFileConfig {
    hold_ms: Option<u64>,
    interval_ms: Option<u64>,
    tick_ms: Option<u64>,
    workers: Option<usize>,
    push_services: Option<Vec<String>>,
    firm_time_zone: Option<String>,
    working_day_start: Option<String>,
    working_day_end: Option<String>,
}

/// The push services browsers use today: Chrome and Edge (FCM), Firefox (Mozilla autopush), Safari
/// (Apple), and Windows (WNS). An endpoint elsewhere is refused: the server only ever sends
/// notices to a push service, never to an address a client made up.
pub const DEFAULT_PUSH_SERVICES: &[&str] = &[
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "push.services.mozilla.com",
    "web.push.apple.com",
    "notify.windows.com",
];

/// Notification settings.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// How long a new notice waits for more of its kind on the same matter before it goes
    /// (`DOCKET_NOTIFY_HOLD_MS`, default 5000): ten quick messages make one notice.
    pub hold_ms: u64,
    /// The least time between two notices of one kind on one matter to one user
    /// (`DOCKET_NOTIFY_INTERVAL_MS`, default 60000); what comes meanwhile folds into the next.
    pub interval_ms: u64,
    /// How often each node looks for digests, escalations and overdue invoices that are due
    /// (`DOCKET_NOTIFY_TICK_MS`, default 30000).
    pub tick_ms: u64,
    /// Dispatcher workers per node for notifications (`DOCKET_NOTIFY_WORKERS`, default 12), with a
    /// database connection each, beyond the request pool: each holds it while it waits on a push
    /// service or the mail relay (an SMTP message costs a relay round trip or several).
    pub workers: usize,
    /// Push services endpoints may point at (`DOCKET_PUSH_SERVICES`, comma-separated): a host
    /// name, matching it and its subdomains over HTTPS, or an `http://host:port` origin matched
    /// exactly (a test's or a private deployment's own push service).
    pub push_services: Vec<String>,
    /// The firm's time zone, for working hours (`DOCKET_FIRM_TIME_ZONE`, default Europe/London).
    pub firm_time_zone: String,
    /// The working day, `HH:MM`, Monday to Friday (`DOCKET_WORKING_DAY`, default `09:00-17:30`).
    pub working_day_start: String,
    pub working_day_end: String,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            hold_ms: 5_000,
            interval_ms: 60_000,
            tick_ms: 30_000,
            workers: 12,
            push_services: DEFAULT_PUSH_SERVICES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            firm_time_zone: "Europe/London".into(),
            working_day_start: "09:00".into(),
            working_day_end: "17:30".into(),
        }
    }
}

impl NotifySettings {
    pub(super) fn resolve(file: NotifyFileConfig) -> anyhow::Result<Self> {
        let d = Self::default();
        let (start, end) = match env("DOCKET_WORKING_DAY") {
            Some(day) => {
                let (s, e) = day.split_once('-').ok_or_else(|| {
                    anyhow::anyhow!("DOCKET_WORKING_DAY is HH:MM-HH:MM, e.g. 09:00-17:30")
                })?;
                (s.trim().to_owned(), e.trim().to_owned())
            }
            None => (
                file.working_day_start.unwrap_or(d.working_day_start),
                file.working_day_end.unwrap_or(d.working_day_end),
            ),
        };
        let settings = Self {
            hold_ms: parsed_env("DOCKET_NOTIFY_HOLD_MS")?
                .or(file.hold_ms)
                .unwrap_or(d.hold_ms),
            interval_ms: parsed_env("DOCKET_NOTIFY_INTERVAL_MS")?
                .or(file.interval_ms)
                .unwrap_or(d.interval_ms),
            tick_ms: parsed_env("DOCKET_NOTIFY_TICK_MS")?
                .or(file.tick_ms)
                .unwrap_or(d.tick_ms),
            workers: parsed_env("DOCKET_NOTIFY_WORKERS")?
                .or(file.workers)
                .unwrap_or(d.workers),
            push_services: env("DOCKET_PUSH_SERVICES")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .or(file.push_services)
                .unwrap_or(d.push_services),
            firm_time_zone: env("DOCKET_FIRM_TIME_ZONE")
                .or(file.firm_time_zone)
                .unwrap_or(d.firm_time_zone),
            working_day_start: start,
            working_day_end: end,
        };
        for t in [&settings.working_day_start, &settings.working_day_end] {
            anyhow::ensure!(
                crate::notify::parse_hhmm(t).is_some(),
                "the working day's times are HH:MM, not {t}"
            );
        }
        anyhow::ensure!(
            (1..=32).contains(&settings.workers),
            "DOCKET_NOTIFY_WORKERS must be 1 to 32"
        );
        anyhow::ensure!(
            settings.tick_ms >= 100,
            "DOCKET_NOTIFY_TICK_MS must be at least 100"
        );
        Ok(settings)
    }
}
