//! The firm's systems as principals of their own: service accounts for the billing or
//! practice-management system and the DMS (and the built-in one Stripe's webhooks act as), their
//! bearer tokens, and [`Service`], the extractor their integration endpoints take.
//!
//! A service token is accepted only by [`Service`]; every endpoint for people (which take
//! [`crate::auth::Signed`]) answers it `403`. A service's calls run in tenant transactions acting
//! as its account, so the database's policies and the audit trail both know it by name. Which
//! matter actions each scope opens is the access policy's ([`crate::access::Action`]).

pub mod accounts;
mod extract;

use axum::routing::{delete, get};
use axum::Router;

pub use accounts::{create, list, revoke, PAYMENTS_ACCOUNT};
pub use extract::{is_service_token, Service};

use crate::startup::AppState;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/service-accounts",
            get(accounts::list_accounts).post(accounts::create_account),
        )
        .route(
            "/service-accounts/{service_id}",
            delete(accounts::revoke_account),
        )
}
