//! Billing: the firm's invoices in the portal, and paying them where the client already is.
//!
//! - [`record`]: what the firm's billing system writes through its service account (invoices,
//!   amendments, credit notes, payments it received, time entries, planned bills), each write
//!   idempotent, audited, and announced in the matter's channel where the client should notice;
//!   [`integration`] holds its endpoints.
//! - [`views`]: balances, invoices, payments, schedules and time entries, per matter and across a
//!   client, for whoever holds the invoices scope.
//! - [`ledger`]: the one place an invoice's amounts change, with the cards and alerts that say so.
//! - [`rules`]: the money rules as pure functions (validation, status, what may be paid by card).
//! - [`rows`]: reading the record into its wire form.
//! - [`statement`]: the ledger with a running balance as JSON, CSV and PDF ([`pdf`]), receipts.
//! - [`pay`]: pressing Pay, the persisted attempt and the PaymentIntent ([`stripe`]: Docket's
//!   calls to Stripe); [`webhook`]: Stripe's reports, the only way anything becomes paid.
//! - [`admin`]: the reconciliation export for the firm's accounts.
//! - [`fake_stripe`]: a stand-in for Stripe's API, Stripe.js's calls and its webhooks, built on
//!   Stripe's own example objects, for `docket demo` and the tests.
//!
//! Row-level security guards every table: readers need the invoices scope on the matter, the
//! billing system's account writes the record, Stripe's built-in account writes card payments
//! (migration `20261206000200_billing.sql`).

pub mod admin;
pub mod fake_stripe;
pub mod integration;
pub mod ledger;
pub mod pay;
pub mod pdf;
pub mod record;
pub mod rows;
pub mod rules;
pub mod statement;
pub mod stripe;
pub mod views;
pub mod webhook;

use axum::routing::{get, post, put};
use axum::Router;

use crate::startup::AppState;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/invoices/{number}", put(integration::put_invoice))
        .route(
            "/billing/invoices/{number}/pdf",
            put(integration::put_invoice_pdf),
        )
        .route(
            "/billing/invoices/{number}/void",
            post(integration::void_invoice),
        )
        .route(
            "/billing/invoices/{number}/credit-notes",
            post(integration::post_credit_note),
        )
        .route(
            "/billing/payments/{external_id}",
            put(integration::put_transfer),
        )
        .route(
            "/billing/time-entries/{external_id}",
            put(integration::put_time_entry),
        )
        .route(
            "/billing/schedule/{external_id}",
            put(integration::put_schedule_item),
        )
        .route("/matters/{matter_id}/billing", get(views::matter_billing))
        .route("/clients/{client_id}/billing", get(views::client_billing))
        .route("/invoices/{invoice_id}", get(views::get_invoice))
        .route(
            "/matters/{matter_id}/statement",
            get(statement::matter_statement),
        )
        .route(
            "/clients/{client_id}/statement",
            get(statement::client_statement),
        )
        .route("/payments/{payment_id}/receipt", get(statement::receipt))
        .route("/invoices/{invoice_id}/pay", post(pay::pay))
        .route(
            "/stripe/webhook",
            post(webhook::stripe_webhook).layer(axum::extract::DefaultBodyLimit::max(
                webhook::MAX_BODY_BYTES,
            )),
        )
}
