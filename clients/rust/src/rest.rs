//! The REST side: signing in with a bearer token and reading what the channel socket does not
//! carry.

use docket_protocol::auth::{SessionGrant, SessionStage};
use docket_protocol::channel::EventPage;
use docket_protocol::directory::MatterSummary;
use docket_protocol::error::ErrorBody;
use docket_protocol::ids::MatterId;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{Channel, ChannelOptions, Error, Result};

/// A REST client for one server, holding the session's bearer token once signed in.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    device_token: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("signed_in", &self.token.is_some())
            .finish()
    }
}

impl Client {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            token: None,
            device_token: None,
        }
    }

    /// A client that already holds a session token.
    pub fn with_token(base: &str, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..Self::new(base)
        }
    }

    /// The server address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The session token, once signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The device token from the first sign-in on this device; pass it to [`Client::remember_device`]
    /// next time so the server recognises the device.
    pub fn device_token(&self) -> Option<&str> {
        self.device_token.as_deref()
    }

    /// Presents a device token from an earlier sign-in.
    pub fn remember_device(&mut self, device_token: &str) {
        self.device_token = Some(device_token.to_owned());
    }

    /// The password step. Returns the stage: MFA verification (or enrolment) comes next.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Result<SessionStage> {
        let body = json!({ "email": email, "password": password, "token_delivery": "bearer", "device_token": self.device_token });
        let grant: SessionGrant = self
            .call(reqwest::Method::POST, "/api/v1/auth/sign-in", Some(body))
            .await?;
        self.take_grant(grant)
    }

    /// The TOTP step; completes sign-in.
    pub async fn verify_totp(&mut self, code: &str) -> Result<SessionStage> {
        let grant: SessionGrant = self
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/mfa/verify",
                Some(json!({ "code": code })),
            )
            .await?;
        self.take_grant(grant)
    }

    fn take_grant(&mut self, grant: SessionGrant) -> Result<SessionStage> {
        if let Some(token) = grant.token {
            self.token = Some(token);
        }
        if let Some(device) = grant.device_token {
            self.device_token = Some(device);
        }
        Ok(grant.stage)
    }

    /// The matters the user may see.
    pub async fn matters(&self) -> Result<Vec<MatterSummary>> {
        self.call(reqwest::Method::GET, "/api/v1/matters", None)
            .await
    }

    /// A page of a matter channel's history after `after`.
    pub async fn history(&self, matter_id: MatterId, after: u64, limit: u32) -> Result<EventPage> {
        self.call(
            reqwest::Method::GET,
            &format!("/api/v1/matters/{matter_id}/events?after={after}&limit={limit}"),
            None,
        )
        .await
    }

    /// Signs out.
    pub async fn sign_out(&self) -> Result<()> {
        self.call_empty(
            reqwest::Method::POST,
            "/api/v1/auth/sign-out",
            Some(json!({})),
        )
        .await
    }

    /// Opens the channel socket with this client's session (and this server as the only address).
    pub fn connect(&self) -> Result<Channel> {
        let token = self.token.clone().ok_or(Error::SessionEnded)?;
        Ok(Channel::connect(ChannelOptions::new(
            vec![self.base.clone()],
            token,
        )))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.execute(request).await
    }

    /// A request to `path` with this client's credentials.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }

    /// Sends `request`; a failure becomes the server's stable error.
    pub(crate) async fn execute(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let response = request.send().await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body: ErrorBody = response.json().await?;
        Err(match body.code {
            docket_protocol::error::ErrorCode::SessionExpired
            | docket_protocol::error::ErrorCode::Unauthenticated
                if self.token.is_some() =>
            {
                Error::SessionEnded
            }
            docket_protocol::error::ErrorCode::FileRefused => Error::Refused {
                reason: body.reason.unwrap_or_default(),
                message: body.message,
            },
            code => Error::Api {
                status,
                code,
                message: body.message,
            },
        })
    }

    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        Ok(self.send(method, path, body).await?.json().await?)
    }

    async fn call_empty(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<()> {
        self.send(method, path, body).await.map(|_| ())
    }
}
