//! The OpenAPI 3.1 description of the REST API, generated from the handlers' annotations and the
//! protocol types, served at `/api/v1/openapi.json`.

use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    access, audit, auth, billing, channels, clients, documents, integrations, matters, milestones,
    practice_areas,
};

mod shared_errors;

use shared_errors::SharedErrors;

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Docket API", description = "The secure client portal's REST API. Errors carry a stable `code` (see ErrorCode)."),
    paths(
        auth::sign_in::sign_in,
        auth::account::sign_out,
        auth::account::current_session,
        auth::mfa::start_enrolment,
        auth::mfa::confirm_enrolment,
        auth::mfa::verify,
        auth::mfa::reauthenticate,
        auth::mfa::reset,
        auth::mfa::regenerate_recovery_codes,
        auth::account::list_sessions,
        auth::account::revoke_session,
        auth::account::list_devices,
        auth::account::revoke_device,
        auth::account::list_alerts,
        auth::account::mark_alert_read,
        auth::invitations::accept,
        matters::list_matters,
        matters::get_matter,
        matters::create_matter,
        access::grants::put_grant,
        access::grants::revoke_grant,
        audit::export::export_matter_audit,
        clients::list_clients,
        clients::get_client,
        clients::create_client,
        clients::list_client_users,
        clients::invite_client_user,
        practice_areas::list_practice_areas,
        practice_areas::update_practice_area,
        channels::list_events,
        documents::list_documents,
        documents::upload::upload_document,
        documents::get_document,
        documents::upload::upload_version,
        documents::review::submit,
        documents::review::publish,
        documents::review::send_back,
        documents::dms::dms_push,
        documents::review_queue,
        documents::content::download,
        milestones::get_timeline,
        milestones::add_milestone,
        milestones::update_milestone,
        milestones::delete_milestone,
        milestones::templates::get_milestone_template,
        milestones::templates::put_milestone_template,
        integrations::accounts::list_accounts,
        integrations::accounts::create_account,
        integrations::accounts::revoke_account,
        billing::integration::put_invoice,
        billing::integration::put_invoice_pdf,
        billing::integration::void_invoice,
        billing::integration::post_credit_note,
        billing::integration::put_transfer,
        billing::integration::put_time_entry,
        billing::integration::put_schedule_item,
        billing::views::matter_billing,
        billing::views::client_billing,
        billing::views::get_invoice,
        billing::statement::matter_statement,
        billing::statement::client_statement,
        billing::statement::receipt,
        billing::pay::pay,
        billing::webhook::stripe_webhook,
        crate::notify::api::settings,
        crate::notify::api::update_settings,
        crate::notify::api::subscribe,
        crate::notify::api::unsubscribe,
        crate::notify::api::area_defaults,
        crate::notify::api::set_area_defaults,
    ),
    components(schemas(docket_protocol::error::ErrorCode)),
    modifiers(&SessionAuth, &SharedErrors),
    security(("session_cookie" = []), ("bearer" = [])),
)]
#[derive(Debug)]
pub struct ApiDoc;

struct SessionAuth;

impl Modify for SessionAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "docket_session",
                "Browser session; unsafe methods must also send X-CSRF-Token.",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "service_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A service account's token (dkt_svc_...), accepted only on the integration \
                         endpoints of its scopes; every other endpoint answers it 403.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn serve_spec() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
