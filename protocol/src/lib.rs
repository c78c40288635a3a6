//! Every type that crosses Docket's wire: REST request and response bodies, ids and error codes.
//!
//! Pure data and serde, no I/O, so the server, the Rust SDK and the generated TypeScript types all
//! agree on one definition. With the `openapi` feature the types also derive OpenAPI schemas, from
//! which the server builds the spec it serves at `/api/v1/openapi.json`.
//!
//! # Layout
//! - [`ids`]: typed identifiers, so a matter id can never be passed where a user id is expected.
//! - [`error`]: the stable error codes and the error body every failure carries.
//! - [`auth`]: sign-in, MFA, sessions, devices, invitations.
//! - [`channel`]: the matter channel's WebSocket frames and event envelope.
//! - [`directory`]: practice areas, clients, users, matters and grants.
//! - [`documents`]: documents, versions, the review lifecycle, uploads and the DMS mirror.
//! - [`milestones`]: practice-area milestone templates and each matter's client-facing timeline.
//! - [`billing`]: invoices, payments, time entries, schedules, balances, statements, paying.
//! - [`integrations`]: service accounts, the firm's systems' credentials.
//! - [`notifications`]: notification preferences, quiet hours and Web Push subscriptions.
//! - [`audit`]: the audit trail as exported.
//! - [`text`]: [`text::Text`], the checked type of every string a person supplies.

pub mod audit;
pub mod auth;
pub mod billing;
pub mod channel;
pub mod directory;
pub mod documents;
pub mod error;
pub mod ids;
pub mod integrations;
pub mod milestones;
pub mod notifications;
pub mod text;

/// The version of the REST API, as it appears in paths (`/api/v1/...`).
pub const API_VERSION: &str = "v1";
