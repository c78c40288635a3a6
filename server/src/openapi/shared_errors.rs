//! The error answers many operations share, added to the spec from what it already says about
//! each operation, so no handler has to repeat them and none can forget one.
//!
//! They come from the extractors rather than the handlers:
//! - [`crate::error::Json`] on a JSON request body: 400 `malformed_json` (not JSON), 413
//!   `payload_too_large` (over the body limit), 415 (no `application/json` content type) and 422
//!   `invalid_input` (JSON of the wrong shape);
//! - [`crate::error::Path`]: 404 `not_found` for a malformed id, the same as for a missing one;
//! - [`crate::error::Query`]: 422 `invalid_input` for missing or malformed parameters;
//! - the session extractors: 401 `unauthenticated` or `session_expired`; 403 `csrf_failed` when a
//!   cookie session sends an unsafe method without its CSRF token; 403 `mfa_required` when a
//!   session that has not completed MFA calls anything but the few operations in
//!   [`ANY_STAGE`];
//! - the service-account extractor (operations secured by `service_token`): 401
//!   `unauthenticated` for a missing, unknown, revoked or expired token; 403 `forbidden` for a
//!   person's session;
//! - the database pool: 503 `unavailable` when no connection frees up in time, on any operation.
//!
//! A response an operation documents already keeps its description and gains these codes.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};
use utoipa::Modify;

/// The operations that accept a session at any stage (the `Authenticated` extractor rather than
/// `Signed`): a session waiting for its second factor can call these and nothing else.
pub const ANY_STAGE: &[(&str, &str)] = &[
    ("GET", "/api/v1/auth/session"),
    ("POST", "/api/v1/auth/sign-out"),
    ("POST", "/api/v1/auth/mfa/enrolment"),
    ("POST", "/api/v1/auth/mfa/enrolment/confirm"),
    ("POST", "/api/v1/auth/mfa/verify"),
];

/// The modifier adding the shared error answers (see the module docs).
pub struct SharedErrors;

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        let signed_in_by_default = openapi.security.as_ref().is_some_and(|s| !s.is_empty());
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in operations(item) {
                let facts = Facts::of(method, path, operation, signed_in_by_default);
                for (status, code) in facts.shared_errors() {
                    add_error(operation, status, code);
                }
            }
        }
    }
}

/// What the spec says about one operation that decides its shared errors.
struct Facts {
    safe_method: bool,
    needs_session: bool,
    needs_service: bool,
    any_stage: bool,
    json_body: bool,
    path_params: bool,
    query_params: bool,
}

impl Facts {
    fn of(method: &str, path: &str, operation: &Operation, signed_in_by_default: bool) -> Self {
        let params = operation.parameters.as_deref().unwrap_or_default();
        let located = |wanted: &str| {
            params.iter().any(|p| {
                serde_json::to_value(&p.parameter_in).is_ok_and(|v| v.as_str() == Some(wanted))
            })
        };
        let needs_service = operation.security.as_ref().is_some_and(|requirements| {
            requirements
                .iter()
                .any(|r| serde_json::to_value(r).is_ok_and(|v| v.get("service_token").is_some()))
        });
        let needs_session = match &operation.security {
            // An empty requirement (`security(())`) means no session is needed.
            Some(requirements) => {
                !needs_service
                    && !requirements.is_empty()
                    && !requirements.iter().any(|r| *r == Default::default())
            }
            None => signed_in_by_default,
        };
        Self {
            safe_method: matches!(method, "GET" | "HEAD"),
            needs_session,
            needs_service,
            any_stage: ANY_STAGE.contains(&(method, path)),
            json_body: operation.request_body.as_ref().is_some_and(is_json),
            path_params: located("path"),
            query_params: located("query"),
        }
    }

    /// The (status, error code) pairs this operation can answer whatever its handler does.
    fn shared_errors(&self) -> Vec<(u16, &'static str)> {
        let mut errors = Vec::new();
        if self.json_body {
            errors.extend([
                (400, "malformed_json"),
                (413, "payload_too_large"),
                (415, "invalid_input"),
                (422, "invalid_input"),
            ]);
        }
        if self.path_params {
            errors.push((404, "not_found"));
        }
        if self.query_params {
            errors.push((422, "invalid_input"));
        }
        if self.needs_session {
            errors.extend([(401, "unauthenticated"), (401, "session_expired")]);
            if !self.safe_method {
                errors.push((403, "csrf_failed"));
            }
            if !self.any_stage {
                errors.push((403, "mfa_required"));
            }
        }
        if self.needs_service {
            errors.extend([(401, "unauthenticated"), (403, "forbidden")]);
        }
        errors.push((503, "unavailable"));
        errors
    }
}

fn is_json(body: &RequestBody) -> bool {
    body.content.keys().any(|c| c == "application/json")
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("HEAD", item.head.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
}

/// Documents that `operation` can answer `status` with error `code` (an `ErrorBody`).
fn add_error(operation: &mut Operation, status: u16, code: &str) {
    let responses: &mut BTreeMap<String, RefOr<Response>> = &mut operation.responses.responses;
    let entry = responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(Response::new("")));
    let RefOr::T(response) = entry else {
        return;
    };
    if !response.description.split(", ").any(|c| c == code) {
        if !response.description.is_empty() {
            response.description.push_str(", ");
        }
        response.description.push_str(code);
    }
    response
        .content
        .entry("application/json".to_owned())
        .or_insert_with(|| Content::new(Some(Ref::from_schema_name("ErrorBody"))));
}
