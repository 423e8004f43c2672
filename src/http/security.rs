//! Browser-facing protections: security headers on every response, and CORS for the
//! origins the operator allows.

use std::time::Duration;

use axum::http::{
    HeaderName, HeaderValue, Method,
    header::{
        AUTHORIZATION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
        STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    },
};
use tower_http::{cors::CorsLayer, set_header::SetResponseHeaderLayer};

/// The API serves JSON only: nothing in a response may load, run or be framed.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The playground page loads its scripts, styles and icon from this server only (GraphiQL's
/// stylesheet embeds its fonts and images as `data:` URLs) and talks to this server only,
/// over HTTP and WebSocket; it may not be framed or submit forms anywhere.
pub const PLAYGROUND_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";

/// The hosted checkout page runs only its own files and talks only to this server (HTTP
/// and WebSocket): no inline script or style, nothing from another host, no framing.
pub const CHECKOUT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Headers every response carries unless its handler set them (the playground sets its own
/// Content-Security-Policy).
pub fn header_layers() -> [SetResponseHeaderLayer<HeaderValue>; 4] {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    [
        header(X_CONTENT_TYPE_OPTIONS, "nosniff"),
        header(REFERRER_POLICY, "no-referrer"),
        header(X_FRAME_OPTIONS, "DENY"),
        header(CONTENT_SECURITY_POLICY, API_CSP),
    ]
}

/// `Strict-Transport-Security` when the server speaks HTTPS itself: browsers then refuse
/// plain HTTP to it for a year. Without TLS, the layer adds nothing (the proxy's job).
pub fn hsts(
    tls: bool,
) -> tower::util::Either<SetResponseHeaderLayer<HeaderValue>, tower::layer::util::Identity> {
    if tls {
        tower::util::Either::Left(SetResponseHeaderLayer::if_not_present(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ))
    } else {
        tower::util::Either::Right(tower::layer::util::Identity::new())
    }
}

/// CORS for the allowed origins (validated at start); with none, browsers on other origins
/// get no CORS headers and cannot read responses.
pub fn cors(allowed_origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}
