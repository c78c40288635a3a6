//! The web client: the files Vite builds into `clients/web/dist`, served from memory, and the
//! browser-facing security headers every response carries.
//!
//! The build is a few hundred kilobytes, so [`WebClient::load`] reads all of it once when the
//! router is built: no file system access per request (and so no path to traverse), and a strong
//! `ETag` computed once per file. Vite's content-hashed `assets/` never change and are cached for a
//! year; everything else (`index.html`, the service worker, the manifest, icons) is revalidated on
//! every use. A path without a dot in its last segment is a client-side route and gets
//! `index.html`. See docs/decisions/0010-serving-the-web-client.md.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};

use crate::Error;

/// Cache policy of Vite's content-hashed files: the name changes whenever the content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of everything else: keep it, but ask (cheaply, by `ETag`) before each use.
const REVALIDATE: &str = "no-cache";

/// The page served while the web client has not been built. No inline style or script: the
/// Content-Security-Policy forbids both.
const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Docket</title></head><body><h1>Docket</h1><p>The web client has not been built. \
<code>make demo</code> builds it; the API is at <a href=\"/api/v1/openapi.json\">/api/v1/</a>.</p>\
</body></html>\n";

/// One file of the build, ready to send.
#[derive(Debug)]
struct StaticFile {
    body: Bytes,
    content_type: HeaderValue,
    /// A strong validator: a digest of the content.
    etag: HeaderValue,
    cache_control: HeaderValue,
}

/// The built web client, held in memory. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct WebClient {
    /// Files by their path relative to the build folder, `/`-separated (`assets/app-1a2b.js`).
    /// Empty when the folder is missing.
    files: HashMap<String, StaticFile>,
}

impl WebClient {
    /// Reads every file under `dir`. A missing or unreadable folder is not fatal: the API works
    /// without the web client, and `/` then says how to build it.
    pub fn load(dir: &Path) -> Self {
        let mut files = HashMap::new();
        match read_tree(dir, "", &mut files) {
            Ok(()) if files.contains_key("index.html") => {
                let bytes: usize = files.values().map(|f| f.body.len()).sum();
                tracing::info!(dir = %dir.display(), files = files.len(), bytes, "serving the web client");
            }
            Ok(()) => {
                tracing::warn!(dir = %dir.display(), "the web client has not been built (no index.html; `make demo` builds it)");
                files.clear();
            }
            Err(err) => {
                tracing::warn!(dir = %dir.display(), error = %err, "the web client has not been built (`make demo` builds it)");
                files.clear();
            }
        }
        Self { files }
    }

    /// The answer to a request outside the API.
    fn respond(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
        let path = uri.path();
        if path == "/api" || path.starts_with("/api/") {
            return Error::NotFound.into_response();
        }
        if method != Method::GET && method != Method::HEAD {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))],
            )
                .into_response();
        }
        let key = path.trim_start_matches('/');
        let is_route = !key.rsplit('/').next().unwrap_or_default().contains('.');
        if self.files.is_empty() {
            return if is_route {
                not_built()
            } else {
                plain_not_found()
            };
        }
        let file = match self.files.get(key) {
            Some(file) => file,
            None if is_route => &self.files["index.html"],
            None => return plain_not_found(),
        };
        file.respond(headers)
    }
}

impl StaticFile {
    fn new(key: &str, body: Vec<u8>) -> Self {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", data_encoding::HEXLOWER.encode(&digest[..16]));
        Self {
            content_type: HeaderValue::from_static(content_type(key)),
            etag: HeaderValue::try_from(etag).expect("hex digits in quotes are a valid header"),
            cache_control: HeaderValue::from_static(if key.starts_with("assets/") {
                IMMUTABLE
            } else {
                REVALIDATE
            }),
            body: body.into(),
        }
    }

    /// The file, or 304 when the browser's copy is current.
    fn respond(&self, request: &HeaderMap) -> Response {
        let headers = [
            (header::ETAG, self.etag.clone()),
            (header::CACHE_CONTROL, self.cache_control.clone()),
        ];
        if request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .any(|value| etag_matches(value, &self.etag))
        {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        (
            headers,
            [(header::CONTENT_TYPE, self.content_type.clone())],
            Body::from(self.body.clone()),
        )
            .into_response()
    }
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored, `*` matches.
fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.trim_start_matches("W/").as_bytes() == etag.as_bytes()
    })
}

fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        NOT_BUILT,
    )
        .into_response()
}

fn plain_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found\n",
    )
        .into_response()
}

/// Reads the files under `dir` into `files`, keyed by `prefix` + their relative path.
fn read_tree(
    dir: &Path,
    prefix: &str,
    files: &mut HashMap<String, StaticFile>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            tracing::warn!(path = %entry.path().display(), "skipping a file whose name is not UTF-8");
            continue;
        };
        let key = format!("{prefix}{name}");
        let kind = std::fs::metadata(entry.path())?;
        if kind.is_dir() {
            read_tree(&entry.path(), &format!("{key}/"), files)?;
        } else if kind.is_file() {
            let body = std::fs::read(entry.path())?;
            files.insert(key.clone(), StaticFile::new(&key, body));
        }
    }
    Ok(())
}

/// The media type by extension (the build's own names; the browser is told `nosniff`).
fn content_type(key: &str) -> &'static str {
    let extension = key.rsplit_once('.').map_or("", |(_, ext)| ext);
    match extension.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The fallback for every path the API does not own: files of the web client and its routes.
pub fn router(client: WebClient) -> Router {
    Router::new().fallback(serve).with_state(Arc::new(client))
}

async fn serve(
    State(client): State<Arc<WebClient>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    client.respond(&method, &uri, &headers)
}

/// Headers for every response, API and static alike, that tell the browser what the page may
/// do: load code, styles and images only from here, connect only back here (HTTP and WebSocket),
/// never be framed, keep its window to itself. `hsts` adds Strict-Transport-Security (when the
/// portal is reached over TLS, i.e. cookies are `Secure`).
pub fn security_headers(
    public_url: &str,
    hsts: bool,
    payments: &crate::config::Payments,
) -> Vec<(header::HeaderName, HeaderValue)> {
    let mut headers = vec![
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::try_from(content_security_policy(public_url, payments))
                .expect("the policy is printable ASCII: the origin in it was checked"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(self)"),
        ),
    ];
    if hsts {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    headers
}

/// The Content-Security-Policy. `connect-src` names the WebSocket origin of `public_url`
/// explicitly as well as `'self'`, because older browsers do not let `'self'` cover `ws:`/`wss:`.
/// With card payments it admits Stripe.js (its script, its Payment Element's frames and its API)
/// or, in test mode, the stand-in's origin for the calls the stand-in makes instead.
pub fn content_security_policy(public_url: &str, payments: &crate::config::Payments) -> String {
    let mut connect = match websocket_origin(public_url) {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let mut script = "'self'".to_owned();
    let mut frame = "'none'".to_owned();
    match (payments.stripe(), payments.stand_in()) {
        (None, _) => {}
        (Some(_), Some(stand_in)) => {
            if let Some(origin) = http_origin(stand_in) {
                connect.push(' ');
                connect.push_str(&origin);
            }
        }
        (Some(_), None) => {
            script.push_str(" https://js.stripe.com https://*.js.stripe.com");
            frame =
                "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com".to_owned();
            connect.push_str(" https://api.stripe.com");
        }
    }
    format!(
        "default-src 'none'; script-src {script}; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src {connect}; frame-src {frame}; manifest-src 'self'; \
         worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `http://127.0.0.1:4242/x` → `http://127.0.0.1:4242`; anything odd → none.
fn http_origin(url: &str) -> Option<String> {
    let ws = websocket_origin(url)?;
    let (scheme, host) = ws.split_once("://")?;
    Some(format!(
        "{}://{host}",
        if scheme == "wss" { "https" } else { "http" }
    ))
}

/// `https://portal.example/x` → `wss://portal.example`; `http://127.0.0.1:8080` →
/// `ws://127.0.0.1:8080`; anything else (or anything odd in it) → none.
fn websocket_origin(public_url: &str) -> Option<String> {
    let (scheme, rest) = public_url.split_once("://")?;
    let ws = match scheme.to_ascii_lowercase().as_str() {
        "https" => "wss",
        "http" => "ws",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    valid.then(|| format!("{ws}://{}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_origin_follows_the_public_scheme() {
        assert_eq!(
            websocket_origin("https://portal.example.com/").as_deref(),
            Some("wss://portal.example.com")
        );
        assert_eq!(
            websocket_origin("http://127.0.0.1:8080").as_deref(),
            Some("ws://127.0.0.1:8080")
        );
        assert_eq!(
            websocket_origin("https://[::1]:8443/portal?x#y").as_deref(),
            Some("wss://[::1]:8443")
        );
        assert_eq!(websocket_origin("ftp://example.com"), None);
        assert_eq!(websocket_origin("https://bad host; script-src *"), None);
    }

    #[test]
    fn if_none_match_uses_the_weak_comparison() {
        let etag = HeaderValue::from_static("\"abc\"");
        let matches = |v: &'static str| etag_matches(&HeaderValue::from_static(v), &etag);
        assert!(matches("\"abc\""));
        assert!(matches("W/\"abc\""));
        assert!(matches("\"x\", \"abc\""));
        assert!(matches("*"));
        assert!(!matches("\"abcd\""));
        assert!(!matches("abc"));
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type("manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(
            content_type("assets/app-1a2b.JS"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("fonts/x.woff2"), "font/woff2");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }
}
