//! The hosted checkout page at `/checkout/<token>`: paylater's own web client for shoppers,
//! plain HTML, CSS and JavaScript modules from `web/checkout/`, compiled into the binary so
//! that nothing loads from another host. It speaks only the public API: GraphQL over HTTP
//! and WebSocket, and `POST /sandbox/tokenize` for cards when the sandbox is the gateway.

use axum::{
    Router,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{caching, security::CHECKOUT_CSP};

/// One file of the page.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/checkout/", $name)),
        }
    };
}

/// The files under `/checkout/assets/`.
const ASSETS: &[Asset] = &[
    asset!("checkout.css", "text/css; charset=utf-8"),
    asset!("main.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("view.js", "text/javascript; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The page itself, the same for every token: the script reads the token from the path.
const PAGE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/web/checkout/index.html"
));

/// Where the page's `data-card-entry` attribute says how cards are entered.
const CARD_ENTRY_MARK: &str = "__CARD_ENTRY__";

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

/// The page's routes: `/checkout/<token>` and `/checkout/assets/<file>`.
pub fn routes<S: Clone + Send + Sync + 'static>(card_entry: CardEntry) -> Router<S> {
    let page = PAGE.replace(CARD_ENTRY_MARK, card_entry.as_str());
    Router::new()
        .route(
            "/checkout/{token}",
            get(move || async move { page_response(page) }),
        )
        .route("/checkout/assets/{name}", get(asset))
}

fn page_response(page: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CHECKOUT_CSP),
            ),
        ],
        page,
    )
        .into_response()
}

/// A file of the page, revalidated by its entity tag on every use.
async fn asset(Path(name): Path<String>, request: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let tag = caching::entity_tag(asset.body);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CHECKOUT_CSP),
    );
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    if caching::matches(request.get(header::IF_NONE_MATCH), &tag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_names_is_served_and_none_comes_from_another_host() {
        for name in ["checkout.css", "main.js", "favicon.svg"] {
            assert!(
                PAGE.contains(&format!("/checkout/assets/{name}")),
                "the page names {name}"
            );
        }
        for asset in ASSETS {
            let text = String::from_utf8_lossy(asset.body);
            for import in text.split("from \"./").skip(1) {
                let file = import.split('"').next().unwrap_or_default();
                assert!(
                    ASSETS.iter().any(|known| known.name == file),
                    "{} imports {file}, which is not served",
                    asset.name
                );
            }
        }
        for text in ASSETS
            .iter()
            .map(|asset| String::from_utf8_lossy(asset.body).into_owned())
            .chain([PAGE.to_owned()])
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
        assert!(PAGE.contains(CARD_ENTRY_MARK));
        assert!(!PAGE.contains("<script>") && !PAGE.contains(" style="));
    }
}
