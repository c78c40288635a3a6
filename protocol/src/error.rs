//! Stable, machine-readable error codes. Every failed request answers with an [`ErrorBody`]; the
//! code is the contract, the message is for people and may change.

use serde::{Deserialize, Serialize};

/// Why a request failed. Serialised in `snake_case`; never renamed once published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body or a parameter is malformed or fails validation.
    InvalidInput,
    /// The body is not valid JSON or not the expected shape.
    MalformedJson,
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// No valid session accompanies the request.
    Unauthenticated,
    /// The session has expired (idle timeout or absolute lifetime).
    SessionExpired,
    /// E-mail or password is wrong. Deliberately says nothing about which.
    InvalidCredentials,
    /// The TOTP or recovery code is wrong or was already used.
    InvalidMfaCode,
    /// The session must complete MFA (verification or enrolment) first.
    MfaRequired,
    /// The action needs a recent re-authentication.
    ReauthenticationRequired,
    /// Unsafe request from a browser session without a valid CSRF token.
    CsrfFailed,
    /// The actor may not do this.
    Forbidden,
    /// The resource does not exist or is not visible to the actor (the two are indistinguishable).
    NotFound,
    /// The request conflicts with the current state (e.g. a duplicate e-mail or reference).
    Conflict,
    /// The invitation is unknown, used or expired.
    InvitationInvalid,
    /// Too many attempts; retry after the interval in the `Retry-After` header.
    RateLimited,
    /// Something failed on the server; details are in the server log, never in the response.
    Internal,
    /// A dependency (the database, the card processor) is unavailable; nothing was done.
    Unavailable,
    /// An uploaded file was refused; `reason` in the body says why (stable, e.g. `executable`).
    FileRefused,
    /// A signed request (a Stripe webhook) whose signature does not verify.
    InvalidSignature,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::MalformedJson => "malformed_json",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthenticated => "unauthenticated",
            Self::SessionExpired => "session_expired",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidMfaCode => "invalid_mfa_code",
            Self::MfaRequired => "mfa_required",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::CsrfFailed => "csrf_failed",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::InvitationInvalid => "invitation_invalid",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::FileRefused => "file_refused",
            Self::InvalidSignature => "invalid_signature",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorBody {
    /// The stable code to branch on.
    pub code: ErrorCode,
    /// A sentence for people; not stable.
    pub message: String,
    /// For `file_refused`: the stable reason (`empty`, `executable`, `script`, `macro_enabled`,
    /// `encrypted`, `archive`, `nested_archive`, `decompression_bomb`, `unknown_type`, `malware`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_matches_as_str() {
        for code in [
            ErrorCode::InvalidInput,
            ErrorCode::NotFound,
            ErrorCode::RateLimited,
        ] {
            let json = serde_json::to_string(&code).expect("serialise");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
