//! The server's one error type. Each variant maps to a stable [`ErrorCode`] and HTTP status; the
//! database, I/O and other internal failures all become a generic `internal` answer whose detail
//! goes to the log only.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_protocol::error::{ErrorBody, ErrorCode};

/// A failed request, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("not signed in")]
    Unauthenticated,
    #[error("session expired")]
    SessionExpired,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid MFA code")]
    InvalidMfaCode,
    #[error("MFA required")]
    MfaRequired,
    #[error("re-authentication required")]
    ReauthenticationRequired,
    #[error("CSRF check failed")]
    CsrfFailed,
    #[error("forbidden")]
    Forbidden,
    /// Forbidden, with the reason people need to put it right (a service token on a person's
    /// endpoint, money the business account may not take).
    #[error("forbidden: {0}")]
    ForbiddenBecause(&'static str),
    /// Client money the firm's business account may not take (SRA Accounts Rules 2019): forbidden,
    /// with the stable reason `client_money` and the explanation for the payer.
    #[error("client money: {0}")]
    ClientMoney(&'static str),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invitation invalid")]
    InvitationInvalid,
    /// An upload was refused; `reason` is stable, `message` for people.
    #[error("file refused ({reason}): {message}")]
    FileRefused {
        reason: &'static str,
        message: String,
    },
    /// The matter's key was destroyed (crypto-shredding): its documents are gone for good.
    #[error("the documents of this matter have been destroyed")]
    MatterKeyDestroyed,
    #[error("rate limited for {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// Something the request needs is down (e.g. the card processor); nothing was done.
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    /// A webhook whose signature does not verify (forged, replayed, or for another secret).
    #[error("the signature does not verify")]
    BadSignature,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// Logs a database failure without the data Postgres may put in it: a constraint's `DETAIL`
/// ("Failing row contains (...)", "Key (...)=(...)") and the message of a data exception ("invalid
/// input syntax for type uuid: \"...\"") can hold a client's message or a document's name, which
/// must never reach a log. The code, table and constraint always go; the message only for the
/// classes that describe the statement or the server, never the data (42 access and syntax, 40
/// rollback, 53-58 resources and system).
fn log_database_error(err: &sqlx::Error) {
    let Some(db) = err.as_database_error() else {
        return tracing::error!(error = %err, "database error");
    };
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let describes_no_data = ["42", "40", "53", "54", "55", "57", "58"]
        .iter()
        .any(|class| code.starts_with(class));
    tracing::error!(
        code = %code,
        table = db.table().unwrap_or(""),
        constraint = db.constraint().unwrap_or(""),
        message = if describes_no_data { db.message() } else { "(withheld: may contain data)" },
        "database error"
    );
}

/// Results in handlers and domain functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable code clients branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidInput(_) | Self::UnsupportedMediaType => ErrorCode::InvalidInput,
            Self::MalformedJson(_) => ErrorCode::MalformedJson,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::SessionExpired => ErrorCode::SessionExpired,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::InvalidMfaCode => ErrorCode::InvalidMfaCode,
            Self::MfaRequired => ErrorCode::MfaRequired,
            Self::ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            Self::CsrfFailed => ErrorCode::CsrfFailed,
            Self::Forbidden | Self::ForbiddenBecause(_) | Self::ClientMoney(_) => {
                ErrorCode::Forbidden
            }
            Self::NotFound | Self::MatterKeyDestroyed => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::InvitationInvalid => ErrorCode::InvitationInvalid,
            Self::FileRefused { .. } => ErrorCode::FileRefused,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Database(sqlx::Error::PoolTimedOut) | Self::Unavailable(_) => {
                ErrorCode::Unavailable
            }
            Self::BadSignature => ErrorCode::InvalidSignature,
            Self::Database(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::FileRefused {
                reason: "too_large",
                ..
            } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidInput(_) | Self::FileRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthenticated
            | Self::SessionExpired
            | Self::InvalidCredentials
            | Self::InvalidMfaCode => StatusCode::UNAUTHORIZED,
            Self::MfaRequired
            | Self::ReauthenticationRequired
            | Self::CsrfFailed
            | Self::Forbidden
            | Self::ForbiddenBecause(_)
            | Self::ClientMoney(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::InvitationInvalid | Self::MatterKeyDestroyed => StatusCode::GONE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Database(sqlx::Error::PoolTimedOut) | Self::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BadSignature => StatusCode::BAD_REQUEST,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::InvalidInput(m)
            | Self::MalformedJson(m)
            | Self::Conflict(m)
            | Self::FileRefused { message: m, .. } => m.clone(),
            Self::ForbiddenBecause(m) | Self::ClientMoney(m) | Self::Unavailable(m) => {
                (*m).to_owned()
            }
            Self::InvalidCredentials => "The e-mail address or password is not right.".into(),
            Self::InvalidMfaCode => "That code is not right or has already been used.".into(),
            Self::SessionExpired => "Your session has ended. Please sign in again.".into(),
            Self::RateLimited { retry_after_secs } => {
                let unit = if *retry_after_secs == 1 {
                    "second"
                } else {
                    "seconds"
                };
                format!("Too many attempts. Try again in {retry_after_secs} {unit}.")
            }
            Self::Database(_) | Self::Internal(_) => "Something went wrong on our side.".into(),
            other => {
                let mut text = other.to_string();
                if let Some(first) = text.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                text + "."
            }
        }
    }

    /// What the client is told, over HTTP and on a socket alike: the stable code and the public
    /// wording. An internal failure's detail is logged here and never put in the body.
    pub fn public_body(&self) -> ErrorBody {
        match self {
            Self::Database(err) => log_database_error(err),
            // A database error wrapped with context is logged like a bare one: without its data.
            Self::Internal(err) => match err.downcast_ref::<sqlx::Error>() {
                Some(db) => log_database_error(db),
                None => tracing::error!(error = ?err, "internal error"),
            },
            _ => {}
        }
        ErrorBody {
            code: self.code(),
            message: self.public_message(),
            reason: match self {
                Self::FileRefused { reason, .. } => Some((*reason).to_owned()),
                Self::ClientMoney(_) => Some("client_money".to_owned()),
                _ => None,
            },
        }
    }

    /// Maps a unique-violation on `constraint` to a [`Error::Conflict`] with `message`; any other
    /// error passes through.
    pub fn on_constraint(constraint: &str, message: &str) -> impl FnOnce(sqlx::Error) -> Error {
        let (constraint, message) = (constraint.to_owned(), message.to_owned());
        move |err| match &err {
            sqlx::Error::Database(db) if db.constraint() == Some(constraint.as_str()) => {
                Error::Conflict(message)
            }
            _ => Error::Database(err),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = self.public_body();
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Self::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => Self::InvalidInput(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => Self::MalformedJson(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge
            }
            other => Self::MalformedJson(other.body_text()),
        }
    }
}

/// A malformed id in a path is simply an id that does not exist: the same 404 as any other.
impl From<PathRejection> for Error {
    fn from(_: PathRejection) -> Self {
        Self::NotFound
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Self::InvalidInput(rejection.body_text())
    }
}

/// `axum::Json`, answering bad bodies with our error codes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let (parts, body) = req.into_parts();
        let body = Request::from_parts(parts.clone(), body);
        let bytes = Bytes::from_request(body, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::MalformedJson(e.body_text())
            }
        })?;
        let again = Request::from_parts(parts, Body::from(bytes.clone()));
        match axum::Json::<T>::from_request(again, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            // serde_json reports some wrong types (a number where an enum belongs) as syntax
            // errors; well-formed JSON of the wrong shape is invalid input, not malformed JSON.
            Err(JsonRejection::JsonSyntaxError(e))
                if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() =>
            {
                Err(Error::InvalidInput(e.body_text()))
            }
            Err(rejection) => Err(rejection.into()),
        }
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path`, answering malformed ids with 404.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct Path<T>(pub T);

/// `axum::extract::Query`, answering bad parameters with `invalid_input`.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);
