//! Responses above 1 KiB are compressed with the encoding the client prefers (gzip, br or
//! zstd); smaller ones, and clients that ask for none, get them as they are.

use std::io::Read;

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A response of several KiB: the whole schema's types and fields.
const LARGE: &str = "{ __schema { types { name description fields { name description } } } }";
/// A response of a few hundred bytes: below the threshold, above tower-http's default.
const SMALL: &str = "{ __type(name: \"Money\") { name description fields { name description } } }";

async fn post(app: &TestApp, query: &str, accept: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": query }));
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    request.send().await.unwrap()
}

fn decode(encoding: &str, body: &[u8]) -> Value {
    let mut plain = Vec::new();
    match encoding {
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut plain)
                .unwrap();
        }
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut plain)
                .unwrap();
        }
        "zstd" => plain = zstd::decode_all(body).unwrap(),
        other => panic!("unexpected encoding {other}"),
    }
    serde_json::from_slice(&plain).unwrap()
}

#[tokio::test]
async fn large_responses_come_in_the_encoding_the_client_prefers() {
    let app = TestApp::spawn().await;
    let plain: Value = post(&app, LARGE, None).await.json().await.unwrap();
    let plain_size = plain.to_string().len();
    assert!(plain_size > 4096, "the sample is large: {plain_size} bytes");
    for (accept, expected) in [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip;q=0.5, br;q=1.0", "br"),
    ] {
        let response = post(&app, LARGE, Some(accept)).await;
        assert_eq!(response.status(), 200);
        let encoding = response.headers()["content-encoding"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(encoding, expected, "Accept-Encoding: {accept}");
        assert!(
            response.headers()["vary"]
                .to_str()
                .unwrap()
                .contains("accept-encoding")
        );
        let body = response.bytes().await.unwrap();
        assert!(
            body.len() < plain_size / 3,
            "{encoding}: {} bytes",
            body.len()
        );
        assert_eq!(decode(&encoding, &body), plain, "{encoding}");
    }
}

#[tokio::test]
async fn small_responses_and_clients_without_encodings_get_plain_bodies() {
    let app = TestApp::spawn().await;
    let small = post(&app, SMALL, Some("gzip, br, zstd")).await;
    assert!(small.headers().get("content-encoding").is_none());
    let size = small.bytes().await.unwrap().len();
    assert!((100..1024).contains(&size), "{size} bytes");
    let large = post(&app, LARGE, None).await;
    assert!(large.headers().get("content-encoding").is_none());
    let identity = post(&app, LARGE, Some("identity")).await;
    assert!(identity.headers().get("content-encoding").is_none());
}
