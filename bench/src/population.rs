//! One population's life: a fresh database, the synthetic data written in-process, the
//! server started over it, the runs, then the server stopped and the database removed.

use std::{cell::Cell, sync::Arc, time::Instant};

use paylater::{
    app::{self, AppState},
    clock::SystemClock,
    synthetic::{self, Population, Volume},
};

use crate::{
    database::{self, BenchDatabase},
    os,
    server::{self, Served, Server},
};

/// Where populations live and where their servers run.
pub struct Plan {
    /// A `mysql://…/<fresh name>` URL, or `None` for SQLite in a temporary directory.
    pub database_url: Option<String>,
    /// The CPU the server is pinned to, if pinning.
    pub server_cpu: Option<usize>,
    /// The CPU the load generator (this process) is pinned to, if pinning.
    pub load_cpu: Option<usize>,
    /// Milliseconds the server's sandbox gateway takes per call.
    pub gateway_latency_ms: u64,
}

/// Makes population `name` of `volume`, starts a server over it and runs `body` with both;
/// stops the server and removes the database afterwards, also when `body` fails.
pub async fn with_server<T>(
    plan: &Plan,
    name: &str,
    volume: Volume,
    body: impl AsyncFnOnce(&mut Server, &Population) -> anyhow::Result<T>,
) -> anyhow::Result<Served<T>> {
    let database = BenchDatabase::create(plan.database_url.as_deref(), name).await?;
    eprintln!("bench: {name}: database {}", database.describe());
    let outcome: anyhow::Result<Served<T>> = async {
        let population = populate(database.url(), volume, plan.load_cpu).await?;
        let server =
            Server::start(database.url(), plan.server_cpu, plan.gateway_latency_ms).await?;
        server::measure_idle_then(server, name, async |server| body(server, &population).await)
            .await
    }
    .await;
    let removed = database.remove().await;
    let served = outcome?;
    removed?;
    Ok(served)
}

/// Migrates the database at `url` and writes `volume` of synthetic data into it, through
/// the application's own services, on every CPU; then pins this process back to `load_cpu`.
async fn populate(
    url: &str,
    volume: Volume,
    load_cpu: Option<usize>,
) -> anyhow::Result<Population> {
    if load_cpu.is_some() {
        os::unpin()?;
    }
    let population = populate_unpinned(url, volume).await;
    if let Some(cpu) = load_cpu {
        os::pin_to_cpu(cpu)?;
    }
    population
}

async fn populate_unpinned(url: &str, volume: Volume) -> anyhow::Result<Population> {
    let config = database::config(url);
    let db = app::open_database(&config.database).await?;
    let state = AppState::new(config, db, Arc::new(SystemClock))?;
    let started = Instant::now();
    let step = (volume.orders / 10).max(1);
    let next_report = Cell::new(step);
    let population = synthetic::populate(&state.deps, volume, |written| {
        if written >= next_report.get() {
            next_report.set(written + step);
            eprintln!(
                "bench: {written} of {} orders written ({:.0} s)",
                volume.orders,
                started.elapsed().as_secs_f64()
            );
        }
    })
    .await
    .map_err(|err| anyhow::anyhow!("cannot populate: {}", err.describe()))?;
    eprintln!(
        "bench: populated {} merchants, {} consumers, {} orders, {} open checkouts in {:.1} s",
        population.merchants.len(),
        population.consumers.len(),
        volume.orders,
        population.checkout_tokens.len(),
        started.elapsed().as_secs_f64()
    );
    state.deps.db.clone().close().await?;
    Ok(population)
}
