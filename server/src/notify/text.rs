//! What a notice says: one sentence naming the kind, how many, and the matter. Never content: no
//! message text, no document title; only the matter's reference when it is end-to-end encrypted.

use docket_protocol::notifications::NoticeKind;

use super::Detail;

/// The matter as a notice may name it.
#[derive(Clone, Debug)]
pub struct MatterName {
    pub reference: String,
    /// None for an end-to-end-encrypted matter.
    pub title: Option<String>,
}

impl MatterName {
    fn label(&self) -> String {
        match &self.title {
            Some(title) => format!("{} \u{2014} {title}", self.reference),
            None => self.reference.clone(),
        }
    }
}

fn counted(count: u32, one: &str, many: &str) -> String {
    if count <= 1 {
        format!("New {one}")
    } else {
        format!("{count} new {many}")
    }
}

/// The sentence: "New message on CP-1001 — Lease renewal", "3 new messages on …".
pub fn sentence(
    kind: NoticeKind,
    count: u32,
    matter: Option<&MatterName>,
    detail: &Detail,
) -> String {
    let what = match kind {
        NoticeKind::Message => counted(count, "message", "messages"),
        NoticeKind::Document => counted(count, "document", "documents"),
        NoticeKind::ClientUpload => {
            if count <= 1 {
                "A client uploaded a document".to_owned()
            } else {
                format!("A client uploaded {count} documents")
            }
        }
        NoticeKind::Review => {
            if count <= 1 {
                "A document waits for your review".to_owned()
            } else {
                format!("{count} documents wait for your review")
            }
        }
        NoticeKind::ClientAction => "Something is needed from you".to_owned(),
        NoticeKind::Invoice if detail.overdue => "An invoice is overdue".to_owned(),
        NoticeKind::Invoice => counted(count, "invoice", "invoices"),
        NoticeKind::Payment => {
            if count <= 1 {
                "A payment was received".to_owned()
            } else {
                format!("{count} payments were received")
            }
        }
        NoticeKind::Security => match detail.event.as_deref() {
            Some("mfa_locked") => "Your second factor was locked after wrong codes".to_owned(),
            _ => match &detail.device_label {
                Some(label) => format!("New sign-in to your account from {label}"),
                None => "New sign-in to your account from a new device".to_owned(),
            },
        },
    };
    let what = match (kind, detail.level) {
        (NoticeKind::Message, Some(level)) if level >= 1 => {
            format!("A client is waiting for an answer (reminder {level})")
        }
        _ => what,
    };
    match matter {
        Some(m) => format!("{what} on {}", m.label()),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matter(title: Option<&str>) -> MatterName {
        MatterName {
            reference: "CP-1001".into(),
            title: title.map(str::to_owned),
        }
    }

    #[test]
    fn a_notice_names_the_matter_and_never_more_when_encrypted() {
        let d = Detail::default();
        assert_eq!(
            sentence(
                NoticeKind::Message,
                1,
                Some(&matter(Some("Lease renewal"))),
                &d
            ),
            "New message on CP-1001 \u{2014} Lease renewal"
        );
        assert_eq!(
            sentence(
                NoticeKind::Message,
                3,
                Some(&matter(Some("Lease renewal"))),
                &d
            ),
            "3 new messages on CP-1001 \u{2014} Lease renewal"
        );
        assert_eq!(
            sentence(NoticeKind::Message, 3, Some(&matter(None)), &d),
            "3 new messages on CP-1001"
        );
        let overdue = Detail {
            overdue: true,
            ..Detail::default()
        };
        assert_eq!(
            sentence(NoticeKind::Invoice, 1, Some(&matter(None)), &overdue),
            "An invoice is overdue on CP-1001"
        );
        let device = Detail {
            event: Some("new_device".into()),
            device_label: Some("Firefox on Linux".into()),
            ..Detail::default()
        };
        assert_eq!(
            sentence(NoticeKind::Security, 1, None, &device),
            "New sign-in to your account from Firefox on Linux"
        );
    }
}
