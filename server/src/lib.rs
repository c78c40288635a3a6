//! The Docket server: a secure client portal for law firms, organised around one channel per matter.
//!
//! The crate is a library with thin binaries (`src/main.rs`, the `docket` command; `src/bin/`, the
//! WebSocket echo server of the protocol conformance run) so the integration tests can start the
//! real application in-process, on port 0, against a fresh database.
//!
//! # Layout
//! Domain modules own their router, types, handlers and SQL:
//! - [`auth`]: passwords, TOTP and recovery codes, sign-in, sessions (the extractors apart from the
//!   lifecycle), devices, invitations, throttling, security alerts.
//! - [`access`]: the one access policy ([`access::authorize`]), the opening every handler on a
//!   matter goes through ([`access::matter`]), and per-matter grants.
//! - [`matters`], [`clients`], [`practice_areas`]: the directory.
//! - [`milestones`]: practice-area milestone templates and each matter's client-facing timeline.
//! - [`billing`]: invoices, credit notes, time entries and schedules from the firm's billing
//!   system; balances and statements; paying inline through Stripe, and Stripe's webhooks.
//! - [`channels`]: real-time matter channels — WebSocket, group commit, fan-out, presence. They
//!   store and deliver [`events::Body`] without knowing what a card holds.
//! - [`documents`]: upload, the review-and-publish lifecycle, versions, download, the DMS mirror.
//! - [`audit`]: the hash-chained audit trail, its verification and export.
//! - [`integrations`]: service accounts, the firm's systems' own credentials, and the extractor
//!   of their endpoints.
//! - [`admin`]: what a practice manager does from the command line, including key rotation.
//! - [`demo`]: the demo firm and the embedded default for `docket demo`.
//! - [`web`]: the built web client, served from memory, and the browser's security headers.
//! - [`notify`]: notifications beyond the open tab: preferences, Web Push, e-mail, digests and
//!   escalation, delivered through the outbox.
//!
//! Below the documents domain: [`intake`] (what an uploaded file is, whether it is accepted and
//! clean) and [`vault`] (envelope encryption and the encrypted blob store).
//!
//! Between the domains and the channel: [`events`], the typed body of every channel event (messages,
//! document and milestone cards), which the domains build and which alone knows the stored and the
//! wire form of each.
//!
//! Plumbing beside them: [`config`], [`error`], [`db`] (pools, migrations, the tenant transaction),
//! [`outbox`] (what committed changes announce, delivered after the commit by this node or by
//! any node's dispatcher),
//! [`clock`], [`dates`], [`keyring`] (the key-encryption keys and the keys derived from them), [`mail`],
//! [`startup`] (router and server), [`telemetry`], [`openapi`].

pub mod access;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod channels;
pub mod clients;
pub mod clock;
pub mod config;
pub mod dates;
pub mod db;
pub mod demo;
pub mod documents;
pub mod error;
pub mod events;
pub mod intake;
pub mod integrations;
pub mod keyring;
pub mod mail;
pub mod matters;
pub mod milestones;
pub mod notify;
pub mod openapi;
pub mod outbox;
pub mod practice_areas;
pub mod startup;
pub mod telemetry;
pub mod vault;
pub mod web;

pub use error::{Error, Result};
