//! Logging with `tracing`: one span per request carrying its request id. Secrets are never
//! recorded: configuration secrets are `SecretString`s and tokens never reach a field.

use axum::http::Request;
use tracing::Span;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (`RUST_LOG` filters, default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// The span for one HTTP request: method, matched route (never the raw URI, which could carry a
/// token in a query) and request id.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), route = %route, request_id = %request_id)
}
