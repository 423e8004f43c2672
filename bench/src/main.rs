//! The paylater benchmark: makes its own database with synthetic data, starts the real
//! server over it in a process pinned to one core, loads it from the other core over
//! keep-alive connections, and prints throughput, latency, SQL statements, CPU time and
//! memory per scenario as a markdown table, each CPU figure also as a multiple of a bare
//! axum server's (the floor). `bench check` is the short regression mode. See
//! docs/benchmarks.md.

mod check;
mod database;
mod floor;
mod keyset;
mod load;
mod os;
mod population;
mod report;
mod scenarios;
mod server;
mod suite;
mod targets;

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::{
    population::Plan,
    suite::{Options, Results},
};

/// The allocator of `paylater` itself, so that the server measured (this binary, started
/// again as `bench serve`) allocates as the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The core the server runs on; the load generator takes the next one.
const SERVER_CPU: usize = 0;
/// The core the load generator runs on.
const LOAD_CPU: usize = 1;

/// Benchmark of the paylater GraphQL API over its own synthetic database.
///
/// Without a subcommand: populates a database (SQLite in a temporary directory unless
/// --database-url), then measures, at each --connections count, first the floor (a bare
/// axum handler answering a fixed 87-byte body, in its own process on the server's core)
/// and then each of --scenarios through the real server. Prints a markdown table per
/// population with each server CPU per request also as a multiple of the floor's at the
/// same connection count ("× floor"), and a summary against the performance issue's
/// targets (met/missed), memory included.
///
/// `bench check` is the short regression mode (about a minute): compares each
/// scenario's multiple of the floor and SQL statements per request with a committed
/// baseline and exits non-zero on a regression; `bench check --record` writes the
/// baseline. See docs/benchmarks.md.
#[derive(Parser)]
#[command(about, long_about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand)]
enum Command {
    /// Short regression mode, compared with a committed baseline.
    ///
    /// 3 000 orders, 16 connections, 2 s warm-up and 4 s measured per scenario (floor, healthz, plans, checkout, me, orders, create, confirm),
    /// compared with BASELINE. Fails when a scenario's server CPU per request as a
    /// multiple of the floor's exceeds 2 × its recorded multiple, when its SQL statements
    /// per request exceed the recorded figure by more than 0.5 (background jobs' share
    /// varies), or when any request fails.
    Check {
        /// The baseline file.
        #[arg(default_value = "bench/baseline.json")]
        baseline: PathBuf,
        /// Write BASELINE from this run instead of comparing with it.
        #[arg(long)]
        record: bool,
    },
    /// The server under test (started by the benchmark itself).
    #[command(hide = true)]
    Serve {
        /// The populated database.
        #[arg(long)]
        database_url: String,
        /// The CPU to run on.
        #[arg(long)]
        cpu: Option<usize>,
        /// Milliseconds the sandbox gateway takes per call.
        #[arg(long, default_value_t = 0)]
        gateway_latency_ms: u64,
    },
    /// The floor's bare axum server (started by the benchmark itself).
    #[command(hide = true)]
    FloorServe {
        /// The CPU to run on.
        #[arg(long)]
        cpu: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Serve {
            database_url,
            cpu,
            gateway_latency_ms,
        }) => serve(cpu, server::serve_child(&database_url, gateway_latency_ms)),
        Some(Command::FloorServe { cpu }) => serve(cpu, floor::serve_child()),
        Some(Command::Check { baseline, record }) => check::check(&baseline, record, bench),
        None => bench(&cli.options).map(|_| ()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// A child process: a server, pinned before its runtime starts its threads, on the same
/// runtime as `paylater serve`.
fn serve(
    cpu: Option<usize>,
    server: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    if let Some(cpu) = cpu {
        os::pin_to_cpu(cpu)?;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")?
        .block_on(server)
}

/// The benchmark itself, on a single-threaded runtime pinned to the load core.
fn bench(options: &Options) -> anyhow::Result<Results> {
    let pinned = os::available_cpus() > LOAD_CPU;
    if pinned {
        os::pin_to_cpu(LOAD_CPU)?;
    } else {
        eprintln!("bench: fewer than 2 CPUs: server and load generator share one");
    }
    let plan = Plan {
        database_url: options.database_url.clone(),
        server_cpu: pinned.then_some(SERVER_CPU),
        load_cpu: pinned.then_some(LOAD_CPU),
        gateway_latency_ms: options.gateway_latency_ms,
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(suite::run(options, &plan))
}
