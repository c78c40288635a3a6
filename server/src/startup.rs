//! Building and running the application: shared state, the router, middleware, the listener and
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::channels::Channels;
use crate::clock::Clock;
use crate::config::Config;
use crate::keyring::Keyring;
use crate::mail::Mailer;
use crate::{
    access, audit, auth, billing, channels, clients, documents, integrations, matters, milestones,
    openapi, practice_areas, web, Error,
};

/// State shared by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppInner>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct AppInner {
    /// The runtime role's pool; all matter data goes through [`crate::db::Tenant`] on it.
    pub pool: PgPool,
    pub config: Config,
    /// "Now", controllable in tests.
    pub clock: Clock,
    pub keyring: Keyring,
    pub mailer: Mailer,
    /// The real-time layer: hub, writer, presence, bus.
    pub channels: Channels,
    /// What committed changes announce; [`crate::db::Tenant`] writes to it.
    pub outbox: crate::outbox::Outbox,
    /// Encrypted document content.
    pub blobs: crate::vault::BlobStore,
    /// Malware scanning of uploads, when configured.
    pub clamd: Option<crate::intake::Clamd>,
    /// The firm's Stripe account, when card payments are configured.
    pub payments: Option<crate::billing::stripe::Gateway>,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    /// Assembles the state and starts the real-time layer (connecting to Redis if configured).
    pub async fn build(
        pool: PgPool,
        config: Config,
        clock: Clock,
        mailer: Mailer,
    ) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret;
        let keyring = Keyring::with_previous(
            *config.key_encryption_key.expose_secret(),
            config
                .previous_key_encryption_keys
                .iter()
                .map(|key| *key.expose_secret()),
        );
        let (channels, outbox) = Channels::start(
            pool.clone(),
            clock.clone(),
            &config,
            mailer.clone(),
            &keyring,
        )
        .await?;
        let blobs = crate::vault::BlobStore::from_config(&config)?;
        let clamd = config.clamd.as_deref().map(crate::intake::Clamd::new);
        let payments = config
            .payments
            .stripe()
            .map(crate::billing::stripe::Gateway::new)
            .transpose()?;
        Ok(Self(Arc::new(AppInner {
            pool,
            config,
            clock,
            keyring,
            mailer,
            channels,
            outbox,
            blobs,
            clamd,
            payments,
        })))
    }
}

/// The whole HTTP surface: the API under `/api/v1`, health checks, and the web client (read from
/// `config.web_dir` now) for everything else.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(auth::router())
        .merge(matters::router())
        .merge(access::router())
        .merge(clients::router())
        .merge(practice_areas::router())
        .merge(channels::router())
        .merge(documents::router())
        .merge(milestones::router())
        .merge(audit::router())
        .merge(integrations::router())
        .merge(billing::router())
        .merge(crate::notify::api::router())
        .route("/openapi.json", get(openapi::serve_spec))
        .fallback(|| async { Error::NotFound });
    let max_body = state.config.max_body_bytes;
    let web_client = web::WebClient::load(&state.config.web_dir);
    let security_headers = web::security_headers(
        &state.config.public_url,
        state.config.cookie_secure,
        &state.config.payments,
    );
    let mut router = Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback_service(web::router(web_client))
        .with_state(state);
    for (name, value) in security_headers {
        router = if name == header::CONTENT_SECURITY_POLICY {
            // A document shown inline sets a stricter, sandboxing policy of its own.
            router.layer(SetResponseHeaderLayer::if_not_present(name, value))
        } else {
            router.layer(SetResponseHeaderLayer::overriding(name, value))
        };
    }
    router
        .layer(DefaultBodyLimit::max(max_body))
        // The web client's files set their own; API answers must never be cached.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(crate::telemetry::request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Ready when the database answers.
async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    match sqlx::query_scalar!("select 1").fetch_one(&app.pool).await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, state: AppState) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self { listener, state })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = router(self.state.clone());
        let state = self.state;
        let hub = state.channels.hub.clone();
        let dispatcher = tokio::spawn(state.outbox.clone().dispatch(state.config.notify.workers));
        let notify_clock = tokio::spawn(crate::notify::schedule::run(
            state.pool.clone(),
            state.channels.notifier.clone(),
        ));
        let maintenance = tokio::spawn(async move {
            loop {
                if let Err(err) = crate::db::ensure_partitions(&state.pool, state.clock.now()).await
                {
                    tracing::warn!(error = %err, "could not create audit partitions ahead");
                }
                tokio::time::sleep(std::time::Duration::from_secs(24 * 3600)).await;
            }
        });
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            // Channel frames are small and latency matters more than packet count.
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "could not set TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        // Upgraded sockets outlive the HTTP server: tell them to reconnect elsewhere, then wait.
        hub.drain(std::time::Duration::from_secs(10)).await;
        // What this node leaves in the outbox, another node's dispatcher delivers.
        dispatcher.abort();
        notify_clock.abort();
        maintenance.abort();
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
