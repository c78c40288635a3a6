//! Clients and their users: creating clients (firm admins and partners), listing them, and
//! inviting client users.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use docket_protocol::directory::{
    Client, CreateClientRequest, InviteClientUserRequest, Invited, UserProfile,
};
use docket_protocol::ids::{ClientId, UserId};

use crate::access::{authorize, Action, Resource};
use crate::audit::{self, AuditRecord};
use crate::auth::{invitations, normalize_email, Signed};
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients).post(create_client))
        .route("/clients/{client_id}", get(get_client))
        .route(
            "/clients/{client_id}/users",
            get(list_client_users).post(invite_client_user),
        )
}

fn to_client(client_id: uuid::Uuid, kind: &str, name: String) -> Result<Client> {
    Ok(Client {
        client_id: client_id.into(),
        kind: kind
            .parse()
            .map_err(|e: docket_protocol::directory::UnknownName| Error::Internal(e.into()))?,
        name,
    })
}

/// Clients visible to the user: all of them for firm users, their own for client users.
#[utoipa::path(get, path = "/api/v1/clients", tag = "clients", responses((status = 200, body = Vec<Client>)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn list_clients(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<Client>>> {
    let mut tenant = signed.tenant(&app).await?;
    let rows = sqlx::query!("select client_id, kind, name from client order by name")
        .fetch_all(tenant.conn())
        .await?;
    tenant.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| to_client(r.client_id, &r.kind, r.name))
            .collect::<Result<_>>()?,
    ))
}

/// One client.
#[utoipa::path(get, path = "/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = ClientId, Path)), responses((status = 200, body = Client), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn get_client(
    State(app): State<AppState>,
    signed: Signed,
    Path(client_id): Path<ClientId>,
) -> Result<Json<Client>> {
    authorize(
        &signed.actor,
        Action::ViewClient,
        Resource::Client(client_id),
    )?;
    let mut tenant = signed.tenant(&app).await?;
    let row = sqlx::query!(
        "select client_id, kind, name from client where client_id = $1",
        client_id.0
    )
    .fetch_optional(tenant.conn())
    .await?
    .ok_or(Error::NotFound)?;
    tenant.commit().await?;
    Ok(Json(to_client(row.client_id, &row.kind, row.name)?))
}

/// Creates a client (firm admins and partners).
#[utoipa::path(post, path = "/api/v1/clients", tag = "clients", request_body = CreateClientRequest,
    responses((status = 201, body = Client), (status = 403, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn create_client(
    State(app): State<AppState>,
    signed: Signed,
    Json(req): Json<CreateClientRequest>,
) -> Result<(StatusCode, Json<Client>)> {
    authorize(&signed.actor, Action::CreateClient, Resource::Firm)?;
    let mut tenant = signed.tenant(&app).await?;
    let client = insert_client(&mut tenant, &req).await?;
    tenant.commit().await?;
    Ok((StatusCode::CREATED, Json(client)))
}

/// Validates and inserts a client, audited. Shared with the admin command line.
pub async fn insert_client(tenant: &mut Tenant, req: &CreateClientRequest) -> Result<Client> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::InvalidInput(
            "A client's name must be 1 to 200 characters.".into(),
        ));
    }
    let client_id = ClientId::new();
    sqlx::query!(
        "insert into client (client_id, kind, name) values ($1, $2, $3)",
        client_id.0,
        req.kind.as_str(),
        name
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        tenant,
        AuditRecord::new("client.created")
            .client(client_id)
            .target("client", client_id),
    )
    .await?;
    Ok(Client {
        client_id,
        kind: req.kind,
        name: name.to_owned(),
    })
}

/// The users of a client (firm users only).
#[utoipa::path(get, path = "/api/v1/clients/{client_id}/users", tag = "clients",
    params(("client_id" = ClientId, Path)),
    responses((status = 200, body = Vec<UserProfile>), (status = 403, description = "forbidden: client users", body = ErrorResponses),
              (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn list_client_users(
    State(app): State<AppState>,
    signed: Signed,
    Path(client_id): Path<ClientId>,
) -> Result<Json<Vec<UserProfile>>> {
    authorize(
        &signed.actor,
        Action::ViewClient,
        Resource::Client(client_id),
    )?;
    if signed.actor.firm_role().is_none() {
        return Err(Error::Forbidden);
    }
    let mut tenant = signed.tenant(&app).await?;
    let rows = sqlx::query!(
        "select user_id, email, display_name, kind, firm_role, client_id, client_role from user_account
         where client_id = $1 order by display_name",
        client_id.0
    )
    .fetch_all(tenant.conn())
    .await?;
    tenant.commit().await?;
    let users = rows
        .into_iter()
        .map(|r| {
            crate::auth::profile(
                r.user_id,
                r.email,
                r.display_name,
                &r.kind,
                r.firm_role,
                r.client_id,
                r.client_role,
            )
        })
        .collect::<Result<_>>()?;
    Ok(Json(users))
}

/// Invites a user of a client by e-mail (any firm user).
#[utoipa::path(post, path = "/api/v1/clients/{client_id}/users", tag = "clients",
    params(("client_id" = ClientId, Path)), request_body = InviteClientUserRequest,
    responses((status = 201, body = Invited), (status = 403, description = "forbidden: client users", body = ErrorResponses),
              (status = 404, body = ErrorResponses),
              (status = 409, description = "conflict: a user with that e-mail address exists", body = ErrorResponses),
              (status = 422, description = "invalid_input: the e-mail address or name", body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn invite_client_user(
    State(app): State<AppState>,
    signed: Signed,
    Path(client_id): Path<ClientId>,
    Json(req): Json<InviteClientUserRequest>,
) -> Result<(StatusCode, Json<Invited>)> {
    authorize(
        &signed.actor,
        Action::InviteClientUser,
        Resource::Client(client_id),
    )?;
    let mut tenant = signed.tenant(&app).await?;
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from client where client_id = $1) as "e!""#,
        client_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    if !exists {
        return Err(Error::NotFound);
    }
    let (invited, email) = invite_user(
        &app,
        &mut tenant,
        NewUser::Client {
            client_id,
            role: req.role,
        },
        &req.email,
        &req.display_name,
    )
    .await?;
    tenant.commit().await?;
    app.mailer.send(email).await?;
    Ok((StatusCode::CREATED, Json(invited)))
}

/// Who is being invited.
#[derive(Clone, Copy, Debug)]
pub enum NewUser {
    Firm {
        role: docket_protocol::directory::FirmRole,
    },
    Client {
        client_id: ClientId,
        role: docket_protocol::directory::ClientRole,
    },
}

/// Inserts an invited user and their invitation, audited; returns the e-mail to send after commit.
/// Shared with the admin command line.
pub async fn invite_user(
    app: &AppState,
    tenant: &mut Tenant,
    who: NewUser,
    email: &str,
    display_name: &str,
) -> Result<(Invited, crate::mail::Email)> {
    let email = normalize_email(email)?;
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        return Err(Error::InvalidInput(
            "A name must be 1 to 200 characters.".into(),
        ));
    }
    let user_id = UserId::new();
    let (kind, firm_role, client_id, client_role) = match who {
        NewUser::Firm { role } => ("firm", Some(role.as_str()), None, None),
        NewUser::Client { client_id, role } => {
            ("client", None, Some(client_id.0), Some(role.as_str()))
        }
    };
    sqlx::query!(
        "insert into user_account (user_id, email, display_name, kind, firm_role, client_id, client_role)
         values ($1, $2, $3, $4, $5, $6, $7)",
        user_id.0,
        email,
        display_name,
        kind,
        firm_role,
        client_id,
        client_role
    )
    .execute(tenant.conn())
    .await
    .map_err(Error::on_constraint("user_account_email_key", "A user with that e-mail address already exists."))?;
    let now = app.clock.now();
    let invitation = invitations::create(tenant, user_id, now, app.config.invitation_ttl).await?;
    let message = invitations::email(
        &app.config.public_url,
        &app.config.firm_name,
        &email,
        display_name,
        &invitation,
    );
    Ok((
        Invited {
            user_id,
            invitation_id: invitation.invitation_id,
            expires_at: invitation.expires_at,
        },
        message,
    ))
}
