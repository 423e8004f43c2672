//! Keyset pagination at depth: one merchant with a million orders, its first page against
//! its thousandth, so a cost growing with the offset would show.

use std::sync::Arc;

use anyhow::Context as _;
use hyper::header::HeaderValue;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::{
    load::{self, LoadRequest, SetupClient, Timing, Workload},
    population::{self, Plan},
    report::Row,
    scenarios::{self, ORDERS_PAGE},
    server::{Served, Server},
};

/// The deep page compared with the first.
const DEEP_PAGE: usize = 1_000;
/// Orders per page, as in [`ORDERS_PAGE`].
const PAGE_SIZE: usize = 20;

/// Only the cursor: walking to the deep page should cost little.
const CURSOR_ONLY: &str = "query Walk($after: String) { merchant { orders(first: 20, after: $after) { \
    pageInfo { endCursor hasNextPage } } } }";

/// The same page of orders again and again.
struct PageLoad {
    authorization: HeaderValue,
    after: Option<String>,
}

impl Workload for PageLoad {
    fn next(&self, _: &mut StdRng) -> Option<LoadRequest> {
        Some(scenarios::graphql(
            ORDERS_PAGE,
            json!({ "after": self.after }),
            Some(self.authorization.clone()),
        ))
    }
}

/// Populates one merchant with `orders` orders, then measures page 1 and page 1 000 of
/// its orders at each connection count.
pub async fn run(
    plan: &Plan,
    orders: usize,
    connections: &[usize],
    timing: Timing,
    seed: u64,
) -> anyhow::Result<Served<Vec<Row>>> {
    anyhow::ensure!(
        orders >= DEEP_PAGE * PAGE_SIZE,
        "--keyset-orders must be at least {} to have a page {DEEP_PAGE}",
        DEEP_PAGE * PAGE_SIZE
    );
    let volume = paylater::synthetic::Volume {
        merchants: 1,
        consumers: 200,
        orders,
        open_checkouts: 0,
        seed,
    };
    population::with_server(plan, "keyset", volume, async |server, population| {
        let merchant = scenarios::merchant_auths(population)?
            .into_iter()
            .next()
            .context("the population has no merchant")?;
        let deep = cursor_of_page(server, &merchant.authorization, DEEP_PAGE).await?;
        let mut rows = Vec::new();
        for &count in connections {
            for (label, after) in [("keyset page 1", None), ("keyset page 1000", Some(&deep))] {
                eprintln!("bench: {label} at {count} connections");
                let workload = Arc::new(PageLoad {
                    authorization: merchant.authorization.clone(),
                    after: after.cloned(),
                });
                let measurement = load::run(server, count, timing, workload, seed).await?;
                rows.push(Row {
                    scenario: label.to_owned(),
                    connections: count,
                    measurement,
                });
            }
        }
        Ok(rows)
    })
    .await
}

/// The `after` cursor that opens page `page`, found by following cursors from page 1.
async fn cursor_of_page(
    server: &Server,
    authorization: &HeaderValue,
    page: usize,
) -> anyhow::Result<String> {
    let mut client = SetupClient::connect(server.address).await?;
    let mut after = Value::Null;
    for _ in 1..page {
        let mut data = client
            .query(scenarios::graphql(
                CURSOR_ONLY,
                json!({ "after": after }),
                Some(authorization.clone()),
            ))
            .await?;
        after = data["merchant"]["orders"]["pageInfo"]["endCursor"].take();
        anyhow::ensure!(after.is_string(), "the orders ran out before page {page}");
    }
    after
        .as_str()
        .map(str::to_owned)
        .context("no cursor for the deep page")
}
