//! The paylater benchmark: makes its own database with synthetic data, starts the real
//! server over it in a process pinned to one core, loads it from the other core over
//! keep-alive connections, and prints throughput, latency, SQL statements, CPU time and
//! memory per scenario as a markdown table. See docs/benchmarks.md.

mod database;
mod keyset;
mod load;
mod os;
mod population;
mod report;
mod scenarios;
mod server;

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use paylater::synthetic::Volume;

use crate::{
    load::{SetupClient, Timing},
    population::Plan,
    report::Row,
    scenarios::{Fixtures, Scenario, ScenarioLoad},
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
#[derive(Parser)]
#[command(about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand)]
enum Command {
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
}

#[derive(Args)]
struct Options {
    /// Orders in the main population, spread over merchants, consumers and the past year.
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    /// Merchants in the main population.
    #[arg(long, default_value_t = 20)]
    merchants: usize,
    /// Consumers in the main population, each with a card.
    #[arg(long, default_value_t = 2_000)]
    consumers: usize,
    /// Consumers logged in for `me` and `confirm`, spread over the requests.
    #[arg(long, default_value_t = 64)]
    shoppers: usize,
    /// Open checkouts read by `checkout`.
    #[arg(long, default_value_t = 1_000)]
    read_checkouts: usize,
    /// Open checkouts for `confirm` and `mixed`, each confirmed once (default: enough for
    /// 1 000 confirmations per second through every run that confirms).
    #[arg(long)]
    open_checkouts: Option<usize>,
    /// Concurrent connections, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    connections: Vec<usize>,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured warm-up seconds before each run.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Scenarios to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "checkout,orders,me,plans,create,confirm,mixed"
    )]
    scenarios: Vec<Scenario>,
    /// Orders of the one merchant of the `keyset` scenario.
    #[arg(long, default_value_t = 1_000_000)]
    keyset_orders: usize,
    /// `mysql://user@host:3306/<name>`: run on MySQL/MariaDB in new databases named
    /// `<name>_main` and `<name>_keyset`, dropped afterwards (default: SQLite in a
    /// temporary directory).
    #[arg(long)]
    database_url: Option<String>,
    /// Milliseconds the sandbox card gateway takes per charge and refund, as a real card
    /// processor does (200–800 ms); 0 answers at once.
    #[arg(long, default_value_t = 0)]
    gateway_latency_ms: u64,
    /// Seeds the synthetic data and the request choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Confirmations per second the default `--open-checkouts` provides for.
const CONFIRMATIONS_PER_SECOND: f64 = 1_000.0;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Serve {
            database_url,
            cpu,
            gateway_latency_ms,
        }) => serve(&database_url, cpu, gateway_latency_ms),
        None => bench(&cli.options),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The child process: the server, pinned before its runtime starts its threads.
fn serve(database_url: &str, cpu: Option<usize>, gateway_latency_ms: u64) -> anyhow::Result<()> {
    if let Some(cpu) = cpu {
        os::pin_to_cpu(cpu)?;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // The same runtime as `paylater serve`.
    tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")?
        .block_on(server::serve_child(database_url, gateway_latency_ms))
}

/// The benchmark itself, on a single-threaded runtime pinned to the load core.
fn bench(options: &Options) -> anyhow::Result<()> {
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
        .block_on(run(options, &plan))
}

async fn run(options: &Options, plan: &Plan) -> anyhow::Result<()> {
    anyhow::ensure!(
        options.duration > 0.0 && options.warmup >= 0.0,
        "--duration must be positive and --warmup not negative"
    );
    anyhow::ensure!(
        !options.connections.is_empty() && !options.connections.contains(&0),
        "--connections must list positive counts"
    );
    let timing = Timing {
        warmup: Duration::from_secs_f64(options.warmup),
        duration: Duration::from_secs_f64(options.duration),
    };
    let backend = if plan.database_url.is_some() {
        "MySQL/MariaDB"
    } else {
        "SQLite"
    };
    println!(
        "{}; card gateway latency {} ms\n",
        machine_summary(backend, plan.server_cpu.is_some()),
        plan.gateway_latency_ms
    );
    let standard: Vec<Scenario> = options
        .scenarios
        .iter()
        .copied()
        .filter(|scenario| *scenario != Scenario::Keyset)
        .collect();
    if !standard.is_empty() {
        let served = population::with_server(
            plan,
            "main",
            main_volume(options, &standard),
            async |server, population| {
                let mut client = SetupClient::connect(server.address).await?;
                let fixtures = Arc::new(
                    Fixtures::prepare(
                        population,
                        &mut client,
                        options.shoppers,
                        options.read_checkouts,
                    )
                    .await?,
                );
                let mut rows = Vec::new();
                for &scenario in &standard {
                    for &connections in &options.connections {
                        eprintln!(
                            "bench: {} at {connections} connections ({} fresh checkouts left)",
                            scenario.label(),
                            fixtures.checkouts_left()
                        );
                        let workload = Arc::new(ScenarioLoad {
                            scenario,
                            fixtures: fixtures.clone(),
                        });
                        let measurement =
                            load::run(server, connections, timing, workload, options.seed).await?;
                        rows.push(Row {
                            scenario: scenario.label().to_owned(),
                            connections,
                            measurement,
                        });
                        // Let the relay and other background work of the run finish.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Ok(rows)
            },
        )
        .await?;
        print_results(
            &format!(
                "{backend}, {} orders, {} merchants, {} consumers; idle RSS {}",
                options.orders,
                options.merchants,
                options.consumers,
                report::mib(served.idle_rss)
            ),
            &served.value,
        );
    }
    if options.scenarios.contains(&Scenario::Keyset) {
        let served = keyset::run(
            plan,
            options.keyset_orders,
            &options.connections,
            timing,
            options.seed,
        )
        .await?;
        print_results(
            &format!(
                "{backend}, keyset: one merchant with {} orders; idle RSS {}",
                options.keyset_orders,
                report::mib(served.idle_rss)
            ),
            &served.value,
        );
    }
    Ok(())
}

/// The main population: enough open checkouts for every confirmation the selected
/// scenarios can make at [`CONFIRMATIONS_PER_SECOND`], unless told otherwise.
fn main_volume(options: &Options, scenarios: &[Scenario]) -> Volume {
    let seconds_per_run = options.warmup + options.duration;
    let runs = options.connections.len() as f64;
    let confirmations: f64 = scenarios
        .iter()
        .map(|s| s.checkouts_per_request() * CONFIRMATIONS_PER_SECOND * seconds_per_run * runs)
        .sum();
    let fresh = options
        .open_checkouts
        .unwrap_or(confirmations.ceil() as usize);
    Volume {
        merchants: options.merchants,
        consumers: options.consumers.max(options.shoppers),
        orders: options.orders,
        open_checkouts: options.read_checkouts + fresh,
        seed: options.seed,
    }
}

fn print_results(title: &str, rows: &[Row]) {
    println!("### {title}\n\n{}", report::table(rows));
    let problems = report::problems(rows);
    if !problems.is_empty() {
        println!("Problems:\n\n{problems}");
    }
}

/// Date, core count and CPU model, for the record.
fn machine_summary(backend: &str, pinned: bool) -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let pinning = if pinned {
        format!("server pinned to CPU {SERVER_CPU}, load generator to CPU {LOAD_CPU}")
    } else {
        "server and load generator unpinned".to_owned()
    };
    format!(
        "## paylater benchmark, {}\n\n{} CPUs ({model}); {backend}; {pinning}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        os::online_cpus()
    )
}
