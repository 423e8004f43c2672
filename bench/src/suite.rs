//! One benchmark run: the floor first, then the scenarios over the main population, then
//! the keyset population, each printed as a table as it ends, and the summary against
//! the targets last.

use std::{sync::Arc, time::Duration};

use paylater::synthetic::Volume;

use crate::{
    floor, keyset,
    load::{self, SetupClient, Timing},
    os,
    population::{self, Plan},
    report::{self, Floor, Row},
    scenarios::{Fixtures, Scenario, ScenarioLoad},
    server::Served,
    targets::{self, Memory},
};

/// What a run is made of, from the command line or the short mode's presets.
#[derive(clap::Args)]
pub struct Options {
    /// Orders in the main population, spread over merchants, consumers and the past year.
    #[arg(long, default_value_t = 100_000)]
    pub orders: usize,
    /// Merchants in the main population.
    #[arg(long, default_value_t = 20)]
    pub merchants: usize,
    /// Consumers in the main population, each with a card.
    #[arg(long, default_value_t = 2_000)]
    pub consumers: usize,
    /// Consumers logged in for `me` and `confirm`, spread over the requests.
    #[arg(long, default_value_t = 64)]
    pub shoppers: usize,
    /// Open checkouts read by `checkout`.
    #[arg(long, default_value_t = 1_000)]
    pub read_checkouts: usize,
    /// Open checkouts for `confirm` and `mixed`, each confirmed once (default: enough for
    /// 1 000 confirmations per second through every run that confirms).
    #[arg(long)]
    pub open_checkouts: Option<usize>,
    /// Concurrent connections, one run each (the floor runs at each of them too).
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub connections: Vec<usize>,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Unmeasured warm-up seconds before each run.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Scenarios to run, in this order; the floor runs first whatever the list.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "healthz,checkout,orders,me,plans,create,confirm,mixed"
    )]
    pub scenarios: Vec<Scenario>,
    /// Orders of the one merchant of the `keyset` scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub keyset_orders: usize,
    /// `mysql://user@host:3306/<name>`: run on MySQL/MariaDB in new databases named
    /// `<name>_main` and `<name>_keyset`, dropped afterwards (default: SQLite in a
    /// temporary directory).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Milliseconds the sandbox card gateway takes per charge and refund, as a real card
    /// processor does (200–800 ms); 0 answers at once.
    #[arg(long, default_value_t = 0)]
    pub gateway_latency_ms: u64,
    /// Seeds the synthetic data and the request choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Confirmations per second the default `--open-checkouts` provides for.
const CONFIRMATIONS_PER_SECOND: f64 = 1_000.0;

/// Every row of a run, the floor's first, and the floor's figures to divide by.
pub struct Results {
    /// The floor's CPU per request at each connection count.
    pub floor: Floor,
    /// One per scenario and connection count.
    pub rows: Vec<Row>,
}

/// Runs the floor and then the selected scenarios, printing each population's table and
/// the summary against the targets.
pub async fn run(options: &Options, plan: &Plan) -> anyhow::Result<Results> {
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
    let floor_run = floor::run(plan, &options.connections, timing, options.seed).await?;
    let floor = Floor::from_rows(&floor_run.value);
    print_results(
        &format!(
            "floor: a bare axum handler answering {} bytes, in its own process; idle RSS {}",
            floor::BODY.len(),
            crate::os::mib(floor_run.idle_rss)
        ),
        &floor_run.value,
        &floor,
    );
    let mut rows = floor_run.value;
    let mut memory = Vec::new();
    let standard: Vec<Scenario> = options
        .scenarios
        .iter()
        .copied()
        .filter(|scenario| !matches!(scenario, Scenario::Keyset | Scenario::Floor))
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
        let title = format!(
            "{backend}, {} orders, {} merchants, {} consumers",
            options.orders, options.merchants, options.consumers,
        );
        memory.push(keep(&title, "main", served, &floor, &mut rows));
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
        let title = format!(
            "{backend}, keyset: one merchant with {} orders",
            options.keyset_orders
        );
        memory.push(keep(&title, "keyset", served, &floor, &mut rows));
    }
    println!(
        "### Against the targets\n\nServer CPU per request as a multiple of the floor's at the \
         same connection count, the best over the counts run; p99 at the count the target names. \
         The targets are set for SQLite.\n\n{}",
        targets::summary(&rows, &floor, &memory)
    );
    Ok(Results { floor, rows })
}

/// Prints the table of a population's server (`title`, then its idle memory), adds its
/// rows to `rows`, and returns its memory for the summary.
fn keep(
    title: &str,
    server: &'static str,
    served: Served<Vec<Row>>,
    floor: &Floor,
    rows: &mut Vec<Row>,
) -> Memory {
    print_results(
        &format!("{title}; idle RSS {}", crate::os::mib(served.idle_rss)),
        &served.value,
        floor,
    );
    let memory = Memory::of(server, served.idle_rss, &served.value);
    rows.extend(served.value);
    memory
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

fn print_results(title: &str, rows: &[Row], floor: &Floor) {
    println!("### {title}\n\n{}", report::table(rows, floor));
    let problems = report::problems(rows);
    if !problems.is_empty() {
        println!("Problems:\n\n{problems}");
    }
}

/// Date, core count and CPU model, for the record.
fn machine_summary(backend: &str, pinned: bool) -> String {
    let pinning = if pinned {
        format!(
            "server pinned to CPU {}, load generator to CPU {}",
            crate::SERVER_CPU,
            crate::LOAD_CPU
        )
    } else {
        "server and load generator unpinned".to_owned()
    };
    format!(
        "## paylater benchmark, {}\n\n{}; {backend}; {pinning}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    )
}

/// Core count and CPU model.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{} CPUs ({model})", os::online_cpus())
}
