//! The floor: what the machine costs per request before paylater does anything. A bare
//! axum handler answers every request with one fixed body, with no middleware, no GraphQL
//! and no database, in a server process of its own (`bench floor-serve`) pinned to the
//! server's core, and is driven by the same load generator with the same kind of request
//! as the GraphQL scenarios. Every scenario's CPU per request is also given as a multiple
//! of the floor's at the same connection count, which makes figures from busy or slower
//! machines comparable.

use std::sync::{Arc, atomic::AtomicU64};

use anyhow::Context as _;
use axum::{
    Router,
    body::Bytes,
    http::header::{CONTENT_TYPE, HeaderValue},
    routing::post,
};
use rand::rngs::StdRng;

use crate::{
    load::{self, LoadRequest, Timing, Workload},
    population::Plan,
    report::Row,
    scenarios::{self, Scenario},
    server::{self, Served, Server},
};

/// The floor's fixed answer: a small GraphQL response, 87 bytes.
pub const BODY: &str =
    r#"{"data":{"floor":{"plan":"PAY_IN_3","installmentCount":3,"total":{"amount":"149.00"}}}}"#;
const _: () = assert!(BODY.len() == 87);

/// Runs the bare server until its stdin closes (the child side, `bench floor-serve`).
pub async fn serve_child() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot listen on 127.0.0.1")?;
    let address = listener.local_addr()?;
    // The floor executes no SQL: its statement counter stays at zero.
    let stopped = server::talk_to_parent(address, Arc::new(AtomicU64::new(0)));
    let app = Router::new().route("/graphql", post(answer));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
        .context("the floor server failed")
}

/// The whole handler: the request body is received in full, as any real handler's is, and
/// the fixed answer goes back.
async fn answer(_body: Bytes) -> ([(axum::http::HeaderName, HeaderValue); 1], &'static str) {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        BODY,
    )
}

/// The same request again and again.
struct FloorLoad;

impl Workload for FloorLoad {
    fn next(&self, _: &mut StdRng) -> Option<LoadRequest> {
        Some(scenarios::floor_request())
    }
}

/// Starts the floor server and measures it at each connection count.
pub async fn run(
    plan: &Plan,
    connections: &[usize],
    timing: Timing,
    seed: u64,
) -> anyhow::Result<Served<Vec<Row>>> {
    let server = Server::start_floor(plan.server_cpu).await?;
    server::measure_idle_then(server, "floor", async |server| {
        let mut rows = Vec::with_capacity(connections.len());
        for &count in connections {
            eprintln!("bench: {} at {count} connections", Scenario::Floor.label());
            let measurement = load::run(server, count, timing, Arc::new(FloorLoad), seed).await?;
            rows.push(Row {
                scenario: Scenario::Floor.label().to_owned(),
                connections: count,
                measurement,
            });
        }
        Ok(rows)
    })
    .await
}
