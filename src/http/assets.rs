//! The files of paylater's own web pages (the playground, the checkout page), compiled
//! into the binary from `web/` and served under a path that holds a digest of a page's
//! files (`/<page>/<version>/<name>`), so browsers may keep them for a year: a build with
//! other files links other URLs.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use super::errors::error_response;
use crate::graphql::errors::ErrorCode;

/// The media type of scripts, classic and modules alike.
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// The media type of stylesheets.
pub const CSS: &str = "text/css; charset=utf-8";
/// The media type of icons.
pub const SVG: &str = "image/svg+xml";

/// One file a page loads.
pub struct Asset {
    /// Its file name, the last segment of its URL.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its contents.
    pub bytes: &'static [u8],
}

/// The [`Asset`] `web/<dir>/<name>`, compiled in.
macro_rules! web_asset {
    ($dir:literal, $name:literal, $content_type:expr) => {
        $crate::http::assets::Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/web/",
                $dir,
                "/",
                $name
            )),
        }
    };
}
pub(crate) use web_asset;

/// A digest of a page's files, the version in their URLs: it changes whenever any of them
/// does.
pub fn version(files: &[Asset]) -> String {
    let mut digest = Sha256::new();
    for file in files {
        digest.update(file.name.as_bytes());
        digest.update(file.bytes);
    }
    hex::encode(&digest.finalize()[..8])
}

/// The answer to `GET /<page>/<version>/<name>`: the file of this build's `files`,
/// cacheable for a year, or `NOT_FOUND` for another version or an unknown name.
pub fn serve(files: &[Asset], current: &str, version: &str, name: &str) -> Response {
    match files.iter().find(|file| file.name == name) {
        Some(file) if version == current => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(file.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            file.bytes,
        )
            .into_response(),
        _ => error_response(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such file in this version of paylater",
        ),
    }
}
