//! The hosted checkout page at `/checkout/<token>`: paylater's own web client for shoppers,
//! plain HTML, CSS and JavaScript modules from `web/checkout/`, compiled into the binary so
//! that nothing loads from another host. It speaks only the public API: GraphQL over HTTP
//! and WebSocket, and `POST /sandbox/tokenize` for cards when the sandbox is the gateway.
//! Its files are served under `/checkout/assets/<version>/` (see [`super::assets`]).

use std::sync::LazyLock;

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};

use super::{
    assets::{self, Asset, CSS, JAVASCRIPT, SVG, web_asset},
    security::CHECKOUT_CSP,
};

/// The files under `/checkout/assets/<version>/`.
const ASSETS: [Asset; 5] = [
    web_asset!("checkout", "main.js", JAVASCRIPT),
    web_asset!("checkout", "api.js", JAVASCRIPT),
    web_asset!("checkout", "view.js", JAVASCRIPT),
    web_asset!("checkout", "checkout.css", CSS),
    web_asset!("checkout", "favicon.svg", SVG),
];

/// The page, the same for every token (its script reads the token from the path), with
/// `{{assets}}` for the files' path and `{{card_entry}}` for how cards are added.
const PAGE: &str = include_str!("../../web/checkout/index.html");

/// A digest of the page's files: their URLs change whenever any of them does.
static VERSION: LazyLock<String> = LazyLock::new(|| assets::version(&ASSETS));

/// How the page can take a new card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardEntry {
    /// Test cards, tokenized by `POST /sandbox/tokenize`.
    Sandbox,
    /// Not on this page: the gateway's own client SDK (Stripe.js) must collect cards, and
    /// it loads from the gateway's host, which this page never does. Saved cards still work.
    GatewaySdk,
}

impl CardEntry {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::GatewaySdk => "gateway-sdk",
        }
    }
}

/// The page with its placeholders filled.
fn page(card_entry: CardEntry) -> String {
    PAGE.replace("{{assets}}", &format!("/checkout/assets/{}", *VERSION))
        .replace("{{card_entry}}", card_entry.as_str())
}

/// The page's routes: `/checkout/<token>` and `/checkout/assets/<version>/<file>`.
pub fn routes<S: Clone + Send + Sync + 'static>(card_entry: CardEntry) -> Router<S> {
    let page = page(card_entry);
    Router::new()
        .route(
            "/checkout/{token}",
            get(move || async move { page_response(page) }),
        )
        .route("/checkout/assets/{version}/{name}", get(asset))
}

fn page_response(page: String) -> Response {
    (
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CHECKOUT_CSP),
            ),
        ],
        Html(page),
    )
        .into_response()
}

/// `GET /checkout/assets/<version>/<name>`: a file of this build, cacheable for a year.
async fn asset(Path((version, name)): Path<(String, String)>) -> Response {
    assets::serve(&ASSETS, &VERSION, &version, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_needs_is_served_and_none_comes_from_another_host() {
        let html = page(CardEntry::Sandbox);
        let served = |name: &str| ASSETS.iter().any(|asset| asset.name == name);
        for link in html.split("/checkout/assets/").skip(1) {
            let file = link.split('"').next().unwrap_or_default();
            let name = file.rsplit('/').next().unwrap_or_default();
            assert!(
                file.starts_with(VERSION.as_str()) && served(name),
                "the page links {file}"
            );
        }
        for asset in &ASSETS {
            let text = String::from_utf8_lossy(asset.bytes);
            for import in text.split("from \"./").skip(1) {
                let file = import.split('"').next().unwrap_or_default();
                assert!(served(file), "{} imports {file}", asset.name);
            }
            for url in text.split("url(\"").skip(1) {
                let file = url.split('"').next().unwrap_or_default();
                assert!(served(file), "{} uses {file}", asset.name);
            }
        }
        for text in ASSETS
            .iter()
            .map(|asset| String::from_utf8_lossy(asset.bytes).into_owned())
            .chain([html.clone()])
        {
            // The SVG namespace is a name, not something loaded.
            let text = text.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            for other_host in ["http://", "https://", "=\"//", "url(//"] {
                assert!(
                    !text.contains(other_host),
                    "a file of the page refers to another host ({other_host})"
                );
            }
        }
        assert!(!html.contains("{{"), "every placeholder is filled");
        assert!(!html.contains("<script>") && !html.contains(" style="));
        assert!(page(CardEntry::GatewaySdk).contains(r#"data-card-entry="gateway-sdk""#));
    }
}
