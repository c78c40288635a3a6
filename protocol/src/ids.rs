//! Typed identifiers. Every id is a UUID on the wire and in the database; the newtypes keep them
//! apart in code.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A firm user or a client user.
    UserId
);
id_type!(
    /// A client of the firm (an organisation or a private individual).
    ClientId
);
id_type!(
    /// A legal matter.
    MatterId
);
id_type!(
    /// A practice area of the firm.
    PracticeAreaId
);
id_type!(
    /// A signed-in session.
    SessionId
);
id_type!(
    /// A browser or app a user has signed in from.
    DeviceId
);
id_type!(
    /// An invitation to set a password.
    InvitationId
);
id_type!(
    /// An alert raised for a user.
    AlertId
);
id_type!(
    /// A document on a matter (all its versions).
    DocumentId
);
id_type!(
    /// One version of a document.
    VersionId
);
id_type!(
    /// One milestone on a matter's timeline.
    MilestoneId
);
id_type!(
    /// An invoice.
    InvoiceId
);
id_type!(
    /// A credit note against an invoice.
    CreditNoteId
);
id_type!(
    /// A payment against an invoice.
    PaymentId
);
id_type!(
    /// A time entry on a matter.
    TimeEntryId
);
