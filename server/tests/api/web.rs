//! The web client's files and routes, and the security headers on every response.

use std::path::PathBuf;

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};

use crate::helpers::{spawn_app_with, TestApp};

const INDEX: &str = "<!doctype html><title>Docket</title><script type=\"module\" src=\"/assets/app-abc123.js\"></script>";
const SCRIPT: &str = "console.log('docket');";
const MANIFEST: &str = "{\"name\":\"Docket\"}";

/// A build folder like Vite's, in a fresh temporary directory.
fn fake_build() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("docket-web-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).expect("mkdir");
    std::fs::write(dir.join("index.html"), INDEX).expect("write");
    std::fs::write(dir.join("assets/app-abc123.js"), SCRIPT).expect("write");
    std::fs::write(dir.join("manifest.webmanifest"), MANIFEST).expect("write");
    dir
}

/// Status, headers and body of a request without any session.
async fn fetch(
    app: &TestApp,
    method: Method,
    path: &str,
    if_none_match: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = app
        .browser()
        .raw()
        .request(method, format!("{}{path}", app.base));
    if let Some(etag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    let response = request.send().await.expect("request");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.expect("body"))
}

fn get<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map_or("<absent>", |v| v.to_str().expect("ASCII header"))
}

fn assert_security_headers(headers: &HeaderMap, what: &str) {
    let csp = get(headers, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self' ws://127.0.0.1:8080",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} in {csp}");
    }
    assert_eq!(get(headers, "x-frame-options"), "DENY", "{what}");
    assert_eq!(get(headers, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get(headers, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(
        get(headers, "cross-origin-opener-policy"),
        "same-origin",
        "{what}"
    );
    assert_eq!(
        get(headers, "cross-origin-resource-policy"),
        "same-origin",
        "{what}"
    );
    assert!(
        get(headers, "permissions-policy").contains("camera=()"),
        "{what}"
    );
    assert!(
        headers.get("strict-transport-security").is_none(),
        "{what}: no HSTS without Secure cookies"
    );
}

#[tokio::test]
async fn the_built_client_is_served_with_its_types_and_cache_policies() {
    let dir = fake_build();
    let app = spawn_app_with(|c| c.web_dir = dir.clone()).await;

    for path in ["/", "/index.html"] {
        let (status, headers, body) = fetch(&app, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, INDEX);
        assert_eq!(get(&headers, "content-type"), "text/html; charset=utf-8");
        assert_eq!(get(&headers, "cache-control"), "no-cache");
        assert_security_headers(&headers, path);
    }
    let (status, headers, body) = fetch(&app, Method::GET, "/assets/app-abc123.js", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, SCRIPT));
    assert_eq!(
        get(&headers, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        get(&headers, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_security_headers(&headers, "a hashed asset");
    let (status, headers, body) = fetch(&app, Method::GET, "/manifest.webmanifest", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, MANIFEST));
    assert_eq!(get(&headers, "content-type"), "application/manifest+json");
    assert_eq!(get(&headers, "cache-control"), "no-cache");

    // HEAD: the same headers, no body.
    let (status, headers, body) = fetch(&app, Method::HEAD, "/assets/app-abc123.js", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(&headers, "content-length"), SCRIPT.len().to_string());
    assert!(body.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_current_copy_gets_304_and_a_changed_one_the_file() {
    let dir = fake_build();
    let app = spawn_app_with(|c| c.web_dir = dir.clone()).await;
    let (_, headers, _) = fetch(&app, Method::GET, "/assets/app-abc123.js", None).await;
    let etag = get(&headers, "etag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10,
        "a strong ETag: {etag}"
    );

    let (status, headers, body) =
        fetch(&app, Method::GET, "/assets/app-abc123.js", Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(get(&headers, "etag"), etag);
    assert_eq!(
        get(&headers, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let (status, _, _) = fetch(
        &app,
        Method::GET,
        "/assets/app-abc123.js",
        Some("\"other\", W/\"older\""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Another file has another tag.
    let (_, index, _) = fetch(&app, Method::GET, "/", None).await;
    assert_ne!(get(&index, "etag"), etag);
    let (status, _, _) = fetch(&app, Method::GET, "/sign-in", Some(get(&index, "etag"))).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED, "a route is index.html");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn client_routes_get_the_app_and_everything_else_a_404() {
    let dir = fake_build();
    let app = spawn_app_with(|c| c.web_dir = dir.clone()).await;
    for route in [
        "/matters/0192f5e4-7c1b-7000-8000-000000000000",
        "/accept-invitation",
        "/account",
        "/sign-in",
    ] {
        let (status, headers, body) = fetch(&app, Method::GET, route, None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, INDEX), "{route}");
        assert_eq!(get(&headers, "cache-control"), "no-cache", "{route}");
    }
    for missing in ["/favicon.ico", "/assets/app-000000.js", "/matters/x.json"] {
        let (status, headers, _) = fetch(&app, Method::GET, missing, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(get(&headers, "content-type"), "text/plain; charset=utf-8");
    }

    // The API keeps its JSON errors, its no-store and the same security headers.
    for path in ["/api/v1/nope", "/api/v2/matters", "/api"] {
        let (status, headers, body) = fetch(&app, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(get(&headers, "content-type"), "application/json", "{path}");
        assert!(body.contains("\"code\":\"not_found\""), "{path}: {body}");
        assert_eq!(get(&headers, "cache-control"), "no-store", "{path}");
        assert_security_headers(&headers, path);
    }
    let (status, headers, _) = fetch(&app, Method::GET, "/api/v1/auth/session", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_security_headers(&headers, "an API error");
    let (_, _, body) = fetch(&app, Method::GET, "/healthz", None).await;
    assert_eq!(body, "ok");
    let (status, headers, _) = fetch(&app, Method::POST, "/sign-in", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get(&headers, "allow"), "GET, HEAD");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn without_a_build_the_root_says_so_and_tls_adds_hsts() {
    let missing = std::env::temp_dir().join(format!("docket-web-{}", uuid::Uuid::new_v4()));
    let app = spawn_app_with(|c| {
        c.web_dir = missing;
        c.public_url = "https://portal.example".into();
        c.cookie_secure = true;
    })
    .await;
    let (status, headers, body) = fetch(&app, Method::GET, "/", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("not been built") && body.contains("make demo"),
        "{body}"
    );
    assert_eq!(get(&headers, "content-type"), "text/html; charset=utf-8");
    assert!(get(&headers, "content-security-policy")
        .contains("connect-src 'self' wss://portal.example;"));
    assert_eq!(
        get(&headers, "strict-transport-security"),
        "max-age=31536000; includeSubDomains"
    );
    let (status, _, _) = fetch(&app, Method::GET, "/favicon.ico", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, headers, _) = fetch(&app, Method::GET, "/api/v1/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.contains_key("strict-transport-security"));
    let (_, _, body) = fetch(&app, Method::GET, "/readyz", None).await;
    assert_eq!(body, "ready");
}
