//! The hosted checkout page over HTTP: without an external checkout app, `checkoutUrl`
//! opens paylater's own page, served with its files from the binary under a
//! Content-Security-Policy of `'self'` only. (What the page does is tested in a browser.)

use paylater::config::GatewayKind;
use reqwest::{StatusCode, header};
use serde_json::json;

use crate::{
    helpers::{TestApp, checkout_input, create_checkout, error_codes},
    http_surface::links,
};

async fn own_page_app() -> TestApp {
    TestApp::spawn_with(|config| config.server.checkout_app_url = None).await
}

/// The checkout page as served for any token.
async fn page_of(app: &TestApp) -> String {
    let page = app.client.get(format!("{}/checkout/ct_any", app.base));
    page.send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn without_a_checkout_app_the_checkout_url_opens_the_servers_own_page() {
    let app = own_page_app().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let url = created["checkoutUrl"].as_str().unwrap();
    assert_eq!(url, format!("{}/checkout/{token}", app.base));

    let page = app.client.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    let header = |name: header::HeaderName| headers[name].to_str().unwrap().to_owned();
    assert_eq!(header(header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(header::CACHE_CONTROL), "no-store");
    assert_eq!(header(header::REFERRER_POLICY), "no-referrer");
    assert_eq!(header(header::X_FRAME_OPTIONS), "DENY");
    let csp = header(header::CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-card-entry="sandbox""#));
    assert!(html.contains(r#"<script type="module" src="/checkout/assets/"#));
}

#[tokio::test]
async fn the_pages_files_come_from_this_server_under_their_version() {
    let app = own_page_app().await;
    let html = page_of(&app).await;
    let linked: Vec<&str> = links(&html)
        .into_iter()
        .filter(|link| !link.starts_with('#'))
        .collect();
    assert_eq!(linked.len(), 3, "{linked:?}");
    let folder = linked[0].rsplit_once('/').unwrap().0.to_owned();
    assert!(folder.starts_with("/checkout/assets/"), "{folder}");
    // The page links its icon, stylesheet and script; the script imports the other modules.
    for (name, content_type) in [
        ("favicon.svg", "image/svg+xml"),
        ("checkout.css", "text/css; charset=utf-8"),
        ("main.js", "text/javascript; charset=utf-8"),
        ("api.js", "text/javascript; charset=utf-8"),
        ("view.js", "text/javascript; charset=utf-8"),
    ] {
        let response = app
            .client
            .get(format!("{}{folder}/{name}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], content_type);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    for missing in [
        "/checkout/assets/0000/main.js".to_owned(),
        format!("{folder}/nope.js"),
        format!("{folder}/index.html"),
    ] {
        let response = app
            .client
            .get(format!("{}{missing}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(error_codes(&response.json().await.unwrap()), ["NOT_FOUND"]);
    }
}

#[tokio::test]
async fn with_stripe_the_page_says_cards_are_added_elsewhere() {
    let app = TestApp::spawn_with_configured_gateway(|config| {
        config.server.checkout_app_url = None;
        config.gateway.kind = Some(GatewayKind::Stripe);
        config.gateway.stripe_secret_key = Some("sk_test_paylater_page".into());
    })
    .await;
    let html = page_of(&app).await;
    assert!(html.contains(r#"data-card-entry="gateway-sdk""#));
    assert!(html.contains("Adding a card needs the card gateway"));
    let tokenizer = app
        .client
        .post(format!("{}/sandbox/tokenize", app.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(tokenizer.status(), StatusCode::NOT_FOUND);
}
