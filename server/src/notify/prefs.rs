//! Preferences: which kinds reach a user on which channel, how often. A user's own choice wins,
//! then the firm's default for the matter's practice area and the user's side, then Docket's.

use docket_protocol::notifications::{Frequency, NoticeChannel, NoticeKind, PreferenceSource};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

/// Whether a kind ever reaches a firm user (`is_firm`) or a client user.
pub fn applies(kind: NoticeKind, is_firm: bool) -> bool {
    match kind {
        NoticeKind::Message | NoticeKind::Security => true,
        NoticeKind::ClientUpload | NoticeKind::Review | NoticeKind::Payment => is_firm,
        NoticeKind::Document | NoticeKind::ClientAction | NoticeKind::Invoice => !is_firm,
    }
}

/// Cells the user cannot change: security notices go everywhere, and the in-app side of a client
/// upload or a payment is the alert raised where it happens, for the responsible fee earner only
/// (the rest of the team gets push and e-mail as chosen, and nothing in the app).
pub fn fixed(kind: NoticeKind, channel: NoticeChannel) -> Option<Frequency> {
    match (kind, channel) {
        (NoticeKind::Security, _) => Some(Frequency::Immediate),
        (NoticeKind::ClientUpload | NoticeKind::Payment, NoticeChannel::InApp) => {
            Some(Frequency::Immediate)
        }
        _ => None,
    }
}

/// Docket's defaults: in the app and by push as it happens; e-mail as it happens for what a
/// client must act on, a daily digest for a firm user's routine news.
pub fn built_in(kind: NoticeKind, is_firm: bool, channel: NoticeChannel) -> Frequency {
    match channel {
        NoticeChannel::InApp | NoticeChannel::Push => Frequency::Immediate,
        NoticeChannel::Email => match (is_firm, kind) {
            (true, NoticeKind::Message | NoticeKind::ClientUpload) => Frequency::Immediate,
            (true, _) => Frequency::Digest,
            (false, _) => Frequency::Immediate,
        },
    }
}

/// The stored choices that bear on one user: their own, and the firm's for one practice area.
#[derive(Debug, Default)]
pub struct Choices {
    pub own: Vec<(NoticeKind, NoticeChannel, Frequency)>,
    pub firm: Vec<(NoticeKind, NoticeChannel, Frequency)>,
}

impl Choices {
    /// The user's choices, and the firm's for `practice_area` on their side.
    pub async fn load(
        conn: &mut PgConnection,
        user: Uuid,
        is_firm: bool,
        practice_area: Option<Uuid>,
    ) -> Result<Self> {
        let own = sqlx::query!(
            "select kind, channel, frequency from notification_preference where user_id = $1",
            user
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .filter_map(|r| parse(&r.kind, &r.channel, &r.frequency))
        .collect();
        let firm = match practice_area {
            Some(area) => sqlx::query!(
                "select kind, channel, frequency from practice_area_notification_default
                 where practice_area_id = $1 and audience = $2",
                area,
                if is_firm { "firm" } else { "client" },
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .filter_map(|r| parse(&r.kind, &r.channel, &r.frequency))
            .collect(),
            None => Vec::new(),
        };
        Ok(Self { own, firm })
    }

    /// How `kind` reaches the user on `channel`, and why.
    pub fn resolve(
        &self,
        kind: NoticeKind,
        is_firm: bool,
        channel: NoticeChannel,
    ) -> (Frequency, PreferenceSource) {
        if let Some(f) = fixed(kind, channel) {
            return (f, PreferenceSource::Fixed);
        }
        let find = |list: &[(NoticeKind, NoticeChannel, Frequency)]| {
            list.iter()
                .find(|(k, c, _)| *k == kind && *c == channel)
                .map(|(_, _, f)| *f)
        };
        if let Some(f) = find(&self.own) {
            return (f, PreferenceSource::User);
        }
        if let Some(f) = find(&self.firm) {
            return (f, PreferenceSource::Firm);
        }
        (built_in(kind, is_firm, channel), PreferenceSource::BuiltIn)
    }
}

fn parse(
    kind: &str,
    channel: &str,
    frequency: &str,
) -> Option<(NoticeKind, NoticeChannel, Frequency)> {
    Some((
        NoticeKind::parse(kind)?,
        NoticeChannel::parse(channel)?,
        Frequency::parse(frequency)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_choice_beats_the_firms_which_beats_dockets() {
        let mut choices = Choices::default();
        let (f, s) = choices.resolve(NoticeKind::Review, true, NoticeChannel::Email);
        assert_eq!((f, s), (Frequency::Digest, PreferenceSource::BuiltIn));
        choices.firm.push((
            NoticeKind::Review,
            NoticeChannel::Email,
            Frequency::Immediate,
        ));
        assert_eq!(
            choices.resolve(NoticeKind::Review, true, NoticeChannel::Email),
            (Frequency::Immediate, PreferenceSource::Firm)
        );
        choices
            .own
            .push((NoticeKind::Review, NoticeChannel::Email, Frequency::Off));
        assert_eq!(
            choices.resolve(NoticeKind::Review, true, NoticeChannel::Email),
            (Frequency::Off, PreferenceSource::User)
        );
    }

    #[test]
    fn security_notices_cannot_be_turned_off() {
        let choices = Choices {
            own: vec![(NoticeKind::Security, NoticeChannel::Push, Frequency::Off)],
            firm: Vec::new(),
        };
        assert_eq!(
            choices.resolve(NoticeKind::Security, false, NoticeChannel::Push),
            (Frequency::Immediate, PreferenceSource::Fixed)
        );
    }
}
