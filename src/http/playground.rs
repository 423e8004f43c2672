//! The GraphiQL playground at `GET /graphql`, served by paylater itself: the page, our
//! script, stylesheet and icon (`web/playground/src/`) and GraphiQL 4.1.2 with React 18.3.1
//! (`web/playground/vendor/`, pinned by `web/playground/package-lock.json`) are compiled
//! into the binary, so the playground works offline and its Content-Security-Policy allows
//! this server only.
//!
//! Assets live under `/playground/<version>/`, the version being a digest of them all, so
//! browsers may keep them for a year: a build with other assets links other URLs.

use std::sync::LazyLock;

use axum::{
    extract::{Path, State},
    http::header,
    response::{Html, IntoResponse, Response},
};
use serde_json::json;

use super::{
    assets::{self, Asset, CSS, JAVASCRIPT, SVG, web_asset},
    security::PLAYGROUND_CSP,
};
use crate::{app::AppState, auth::api_key::DEMO_API_KEY, demo};

/// Every file under `/playground/<version>/`.
const ASSETS: [Asset; 7] = [
    web_asset!("playground/vendor", "react.production.min.js", JAVASCRIPT),
    web_asset!(
        "playground/vendor",
        "react-dom.production.min.js",
        JAVASCRIPT
    ),
    web_asset!("playground/vendor", "graphiql.min.js", JAVASCRIPT),
    web_asset!("playground/vendor", "graphiql.min.css", CSS),
    web_asset!("playground/src", "playground.js", JAVASCRIPT),
    web_asset!("playground/src", "playground.css", CSS),
    web_asset!("playground/src", "favicon.svg", SVG),
];

/// The page, with `{{assets}}` for the assets' path and `{{config}}` for the settings.
const PAGE: &str = include_str!("../../web/playground/src/index.html");

/// A digest of every asset: their URLs change whenever any of them does.
static VERSION: LazyLock<String> = LazyLock::new(|| assets::version(&ASSETS));

/// The path the playground's assets are served under.
pub fn assets_path() -> String {
    format!("/playground/{}", *VERSION)
}

/// What the page's script is told: where to send requests, the headers to start with
/// (the demo key when demo data is loaded) and the example mutation of its first tab.
fn config(seed_demo: bool, merchant_reference: &str) -> serde_json::Value {
    let headers = if seed_demo {
        json!({ "Authorization": format!("Bearer {DEMO_API_KEY}") })
    } else {
        json!({})
    };
    json!({
        "endpoint": "/graphql",
        "subscriptionEndpoint": "/graphql/ws",
        "headers": headers,
        "example": {
            "query": demo::EXAMPLE_MUTATION,
            "variables": demo::example_variables(merchant_reference),
        },
    })
}

/// The page for `config`. The JSON sits in a `<script type="application/json">` element,
/// which HTML ends at the first `</`: every `<` is escaped (only strings can hold one).
fn page(config: &serde_json::Value) -> String {
    let config = config.to_string().replace('<', "\\u003c");
    PAGE.replace("{{assets}}", &assets_path())
        .replace("{{config}}", &config)
}

/// `GET /graphql` without parameters: the playground. Its example's merchant reference is
/// made from the time, so that it does not collide with a checkout an earlier visit made
/// (a reference is unique among a merchant's open checkouts).
pub async fn playground(State(state): State<AppState>) -> Response {
    let reference = format!("order-{}", state.deps.clock.now().format("%Y%m%d-%H%M%S"));
    let html = page(&config(state.config.database.seed_demo, &reference));
    (
        [
            (header::CONTENT_SECURITY_POLICY, PLAYGROUND_CSP),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Html(html),
    )
        .into_response()
}

/// `GET /playground/<version>/<name>`: an asset of this build, cacheable for a year.
pub async fn asset(Path((version, name)): Path<(String, String)>) -> Response {
    assets::serve(&ASSETS, &VERSION, &version, &name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use sha2::{Digest, Sha256};

    use super::*;

    /// The vendored files are the ones `web/playground/refresh.sh` copied: each matches the
    /// checksum it wrote, and comes from the package version package-lock.json pins.
    #[test]
    fn vendored_assets_are_the_locked_packages() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/web/playground");
        let read = |path: &str| {
            std::fs::read_to_string(format!("{root}/{path}"))
                .unwrap_or_else(|err| panic!("{path}: {err}"))
        };
        let sums = read("vendor/SHA256SUMS");
        assert!(sums.lines().count() >= 4, "{sums}");
        for line in sums.lines() {
            let (sum, name) = line.split_once("  ").expect("sha256sum format");
            let bytes = std::fs::read(format!("{root}/vendor/{name}")).expect(name);
            assert_eq!(hex::encode(Sha256::digest(&bytes)), sum, "vendor/{name}");
        }
        let lock: serde_json::Value = serde_json::from_str(&read("package-lock.json")).unwrap();
        let sources = read("vendor/SOURCES");
        let mut vendored = HashMap::new();
        for line in sources.lines() {
            let (name, source) = line.split_once("  ").expect("SOURCES format");
            let (package, _) = source.split_once('/').expect("package@version/path");
            let (package, version) = package.rsplit_once('@').expect("package@version");
            let locked = &lock["packages"][format!("node_modules/{package}")]["version"];
            assert_eq!(locked, version, "{name} comes from {package}@{version}");
            vendored.insert(name, source);
        }
        for asset in ASSETS
            .iter()
            .filter(|asset| vendored.contains_key(asset.name))
        {
            let on_disk = std::fs::read(format!("{root}/vendor/{}", asset.name)).unwrap();
            assert_eq!(asset.bytes, on_disk.as_slice(), "{}", asset.name);
        }
        let embedded_vendor = ASSETS
            .iter()
            .filter(|asset| vendored.contains_key(asset.name))
            .count();
        assert_eq!(
            embedded_vendor, 4,
            "every vendored script and stylesheet is served"
        );
    }

    #[test]
    fn the_page_holds_its_settings_as_inert_json() {
        let mut config = config(true, "order-1");
        config["example"]["query"] = json!("</script><script>alert(1)</script>");
        let html = page(&config);
        assert!(!html.contains("</script><script>alert"), "{html}");
        let start = html.find("id=\"playground-config\">").unwrap() + 23;
        let end = start + html[start..].find("</script>").unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(parsed, config);
        assert!(!html.contains("{{"), "every placeholder is filled");
    }
}
