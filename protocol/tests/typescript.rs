//! The web client's TypeScript types are generated from these Rust types, never written by hand.
//! This test fails when `clients/web/src/protocol.ts` is stale; run it with `DOCKET_UPDATE_TS=1`
//! to regenerate the file (`make protocol-ts`).
#![cfg(feature = "ts")]

use docket_protocol::{
    audit, auth, billing, channel, directory, documents, error, ids, integrations, milestones,
    notifications, text,
};
use ts_rs::{Config, TS};

macro_rules! declarations {
    ($cfg:expr, $($ty:ty),+ $(,)?) => {
        vec![$(format!("export {}", <$ty as TS>::decl($cfg))),+]
    };
}

fn generate() -> String {
    // Sequence numbers and counters stay well inside 2^53, so they are plain numbers in TypeScript.
    let cfg = &Config::new().with_large_int("number");
    let declarations = declarations!(
        cfg,
        ids::UserId,
        ids::ClientId,
        ids::MatterId,
        ids::PracticeAreaId,
        ids::SessionId,
        ids::DeviceId,
        ids::InvitationId,
        ids::AlertId,
        ids::DocumentId,
        ids::VersionId,
        ids::MilestoneId,
        text::Text,
        error::ErrorCode,
        error::ErrorBody,
        directory::FirmRole,
        directory::ClientRole,
        directory::ClientKind,
        directory::Scope,
        directory::MatterStatus,
        directory::Sensitivity,
        directory::DetailLevel,
        directory::UserKind,
        directory::UserProfile,
        directory::PersonRef,
        directory::PracticeArea,
        directory::Client,
        directory::CreateClientRequest,
        directory::InviteClientUserRequest,
        directory::Invited,
        directory::MatterActivity,
        directory::MatterSummary,
        directory::Grant,
        directory::Participant,
        directory::MatterDetail,
        directory::CreateMatterRequest,
        directory::GrantRequest,
        auth::TokenDelivery,
        auth::SignInRequest,
        auth::SessionStage,
        auth::SessionGrant,
        auth::MfaEnrolment,
        auth::MfaCode,
        auth::MfaEnrolled,
        auth::MfaVerifyRequest,
        auth::ReauthenticateRequest,
        auth::CurrentSession,
        auth::SessionInfo,
        auth::DeviceInfo,
        auth::AlertDetail,
        auth::Alert,
        auth::AcceptInvitationRequest,
        audit::AuditEntry,
        channel::PresenceState,
        channel::ClientFrame,
        channel::UnsubscribeReason,
        channel::PresenceEntry,
        channel::ReadPosition,
        channel::ServerFrame,
        channel::Event,
        channel::DocumentAction,
        channel::EventBody,
        channel::EventPage,
        documents::Category,
        documents::VersionState,
        documents::VersionOrigin,
        documents::DocumentVersion,
        documents::ReviewTrail,
        documents::Document,
        documents::UploadParams,
        documents::DmsParams,
        documents::SendBackRequest,
        documents::ReviewItem,
        milestones::MilestoneStatus,
        milestones::Milestone,
        milestones::MilestoneTemplateItem,
        milestones::MilestoneTemplate,
        milestones::UpdateMilestoneTemplateRequest,
        milestones::Timeline,
        milestones::NewMilestoneRequest,
        milestones::UpdateMilestoneRequest,
        ids::InvoiceId,
        ids::CreditNoteId,
        ids::PaymentId,
        ids::TimeEntryId,
        billing::InvoiceKind,
        billing::LineKind,
        billing::InvoiceStatus,
        billing::PaymentMethod,
        billing::PaymentStatus,
        billing::ScheduleKind,
        billing::ScheduleStatus,
        billing::NewInvoiceLine,
        billing::Amendment,
        billing::VoidInvoice,
        billing::NewInvoice,
        billing::InvoiceLine,
        billing::NewCreditNote,
        billing::CreditNote,
        billing::NewTransfer,
        billing::Payment,
        billing::Invoice,
        billing::NewTimeEntry,
        billing::TimeEntry,
        billing::NewScheduleItem,
        billing::ScheduleItem,
        billing::BillingSummary,
        billing::StatementEntry,
        billing::StatementLine,
        billing::PaymentSheet,
        directory::UpdatePracticeAreaRequest,
        integrations::ServiceScope,
        integrations::NewServiceAccountRequest,
        integrations::ServiceAccount,
        integrations::NewServiceAccount,
        directory::AwaitingReply,
        notifications::NoticeKind,
        notifications::NoticeChannel,
        notifications::Frequency,
        notifications::PreferenceSource,
        notifications::Preference,
        notifications::QuietHours,
        notifications::PushState,
        notifications::NotificationSettings,
        notifications::PreferenceChange,
        notifications::UpdateNotificationSettings,
        notifications::PushKeys,
        notifications::PushSubscriptionRequest,
        notifications::Audience,
        notifications::NotificationDefault,
        notifications::PracticeAreaNotifications,
        notifications::PracticeAreaNotificationsView,
    );
    let mut out = String::from(
        "// Generated from the Rust types in protocol/ by `make protocol-ts`. Do not edit by hand.\n\n",
    );
    out.push_str(&format!(
        "export const SUBPROTOCOL = \"{}\";\n",
        channel::SUBPROTOCOL
    ));
    out.push_str(&format!(
        "export const MAX_FRAME_BYTES = {};\n",
        channel::MAX_FRAME_BYTES
    ));
    out.push_str(&format!(
        "export const MAX_MESSAGE_CHARS = {};\n",
        channel::MAX_MESSAGE_CHARS
    ));
    out.push_str(&format!(
        "export const MAX_UNREAD = {};\n\n",
        directory::MAX_UNREAD
    ));
    for declaration in declarations {
        out.push_str(&declaration);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn generated_typescript_is_current() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/web/src/protocol.ts");
    let generated = generate();
    if std::env::var_os("DOCKET_UPDATE_TS").is_some() {
        std::fs::write(&path, &generated).expect("write protocol.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "clients/web/src/protocol.ts is stale: run `make protocol-ts` and commit the result"
    );
}
