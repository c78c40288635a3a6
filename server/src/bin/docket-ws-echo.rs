//! `docket-ws-echo`: a WebSocket echo server for the conformance run (`scripts/ws-conformance.sh`)
//! and nothing else. It opens every socket exactly as the channel socket does — the same
//! settings, buffer sizes and frame limits, the same close code for each protocol violation
//! ([`docket_server::channels::wire`]) — and echoes each message back, which is what the Autobahn
//! cases expect of a server. It has no database, no sign-in and no production route: nothing
//! deploys it, and Docket's own router never mounts it.
//!
//! Usage: `docket-ws-echo [ADDR]` (default `127.0.0.1:0`); it prints `listening on <addr>` once
//! bound, then serves until killed.

use anyhow::Context;
use axum::extract::ws::{Message, WebSocket};
use axum::extract::WebSocketUpgrade;
use axum::response::Response;
use axum::Router;
use docket_server::channels::wire;
use futures_util::{SinkExt, StreamExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    // The conformance script reads this line to learn the port.
    println!("listening on {}", listener.local_addr()?);
    let app = Router::new().fallback(open_echo);
    axum::serve(listener, app).await.context("serving")
}

/// Any path upgrades: the conformance runner chooses its own.
async fn open_echo(upgrade: WebSocketUpgrade) -> Response {
    wire::configure(upgrade).on_upgrade(echo)
}

/// Echoes text and binary messages until the peer closes or breaks the protocol; tungstenite
/// answers pings itself, as on the channel socket.
async fn echo(socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let close = loop {
        match stream.next().await {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                if sink.send(message).await.is_err() {
                    break None;
                }
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_))) | None => break None,
            Some(Err(err)) => break wire::close_for_read_error(&err),
        }
    };
    wire::close_socket(&mut sink, close).await;
}
