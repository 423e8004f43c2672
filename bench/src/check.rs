//! The short regression mode (`bench check`): a small population, one connection count
//! and a few seconds per scenario, compared with a committed baseline. It guards against
//! regressions large enough to see on any machine, busy or not: a scenario's CPU per
//! request as a multiple of the floor's more than doubling, or its SQL statements per
//! request growing.

use std::{fmt::Write as _, path::Path};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::{
    report,
    scenarios::Scenario,
    suite::{self, Options, Results},
};

/// The one connection count of the short mode.
const CONNECTIONS: usize = 16;

/// A measured multiple of the floor may be this many times the recorded one: the machine
/// the check runs on may be busy, which moves multiples by tens of percent, not by two.
const MULTIPLE_GROWTH: f64 = 2.0;

/// Statements per request may exceed the recorded figure by this much. Background jobs
/// (the outbox relay woken by confirmations, which batches what it finds; the API-key
/// usage flush; the checkout expiry sweep) run statements that fall into the measured
/// window in varying number, so a figure moves by a few tenths between runs; one more
/// statement per request, the mark of an added query, exceeds it.
const STATEMENT_TOLERANCE: f64 = 0.5;

/// The short mode's run: a population written in seconds, every scenario with a target
/// (and the floor) at [`CONNECTIONS`] connections, 2 s of warm-up and 4 s measured each.
fn short_options() -> Options {
    Options {
        orders: 3_000,
        merchants: 10,
        consumers: 300,
        shoppers: 16,
        read_checkouts: 200,
        // Enough for 500 confirmations a second over the confirm run's 6 s.
        open_checkouts: Some(3_000),
        connections: vec![CONNECTIONS],
        duration: 4.0,
        warmup: 2.0,
        scenarios: vec![
            Scenario::Healthz,
            Scenario::Plans,
            Scenario::Checkout,
            Scenario::Me,
            Scenario::Orders,
            Scenario::Create,
            Scenario::Confirm,
        ],
        keyset_orders: 0,
        database_url: None,
        gateway_latency_ms: 0,
        seed: 1,
    }
}

/// The committed record of a short run.
#[derive(Debug, Serialize, Deserialize)]
struct Baseline {
    /// How the file is made.
    about: String,
    /// When it was recorded.
    recorded_at: String,
    /// Where: core count and CPU model.
    machine: String,
    /// The connection count of every figure.
    connections: usize,
    /// The floor's server CPU per request then, in µs, for the reader.
    floor_cpu_per_request_us: f64,
    /// Each scenario's figures.
    scenarios: Vec<Recorded>,
}

/// One scenario's figures in the baseline.
#[derive(Debug, Serialize, Deserialize)]
struct Recorded {
    /// The scenario's label, as in the tables.
    scenario: String,
    /// Server CPU per request ÷ the floor's.
    floor_multiple: f64,
    /// SQL statements per request.
    sql_per_request: f64,
}

/// Runs the short mode with `run` (the benchmark, started on its cores), then writes the
/// baseline at `path` (`record`) or compares with it, failing on any regression.
pub fn check(
    path: &Path,
    record: bool,
    run: impl FnOnce(&Options) -> anyhow::Result<Results>,
) -> anyhow::Result<()> {
    let baseline = if record {
        None
    } else {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the baseline {} (write one with `check --record`)",
                path.display()
            )
        })?;
        let baseline: Baseline = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a baseline file", path.display()))?;
        Some(baseline)
    };
    let results = run(&short_options())?;
    let measured = measured(&results)?;
    match baseline {
        None => write_baseline(path, &results, measured),
        Some(baseline) => compare(&baseline, &measured),
    }
}

/// Each scenario's figures, failing if any request failed or a figure is missing.
fn measured(results: &Results) -> anyhow::Result<Vec<Recorded>> {
    let mut scenarios = Vec::new();
    for row in results
        .rows
        .iter()
        .filter(|row| row.scenario != Scenario::Floor.label())
    {
        anyhow::ensure!(
            row.measurement.errors == 0,
            "{}: {} of {} requests failed; first: {}",
            row.scenario,
            row.measurement.errors,
            row.measurement.requests,
            row.measurement.first_error.as_deref().unwrap_or("unknown")
        );
        let figure = |value: Option<f64>| {
            value.with_context(|| format!("{}: no request measured", row.scenario))
        };
        scenarios.push(Recorded {
            scenario: row.scenario.clone(),
            floor_multiple: figure(results.floor.multiple(row))?,
            sql_per_request: figure(row.statements_per_request())?,
        });
    }
    Ok(scenarios)
}

fn write_baseline(path: &Path, results: &Results, scenarios: Vec<Recorded>) -> anyhow::Result<()> {
    let floor = results
        .floor
        .cpu_per_request(CONNECTIONS)
        .context("the floor measured no CPU time")?;
    let baseline = Baseline {
        about: "Written by `cargo run --release -p bench -- check --record`; compared with by \
                `cargo run --release -p bench -- check` (see docs/benchmarks.md)."
            .to_owned(),
        recorded_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        machine: suite::machine(),
        connections: CONNECTIONS,
        floor_cpu_per_request_us: round(floor.as_secs_f64() * 1e6),
        scenarios: scenarios
            .into_iter()
            .map(|recorded| Recorded {
                floor_multiple: round(recorded.floor_multiple),
                sql_per_request: round(recorded.sql_per_request),
                ..recorded
            })
            .collect(),
    };
    let text = serde_json::to_string_pretty(&baseline)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "Recorded {} scenarios in {}.",
        baseline.scenarios.len(),
        path.display()
    );
    Ok(())
}

/// Two decimals are all a baseline needs.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Prints each scenario's figures against the baseline and fails naming every regression.
fn compare(baseline: &Baseline, measured: &[Recorded]) -> anyhow::Result<()> {
    let mut table = String::from(
        "### Against the baseline\n\n\
         | scenario | × floor recorded | measured | limit | SQL/req recorded | measured | limit | |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let mut regressions = Vec::new();
    for recorded in &baseline.scenarios {
        let Some(now) = measured.iter().find(|m| m.scenario == recorded.scenario) else {
            regressions.push(format!(
                "{}: in the baseline but not measured",
                recorded.scenario
            ));
            continue;
        };
        let multiple_limit = recorded.floor_multiple * MULTIPLE_GROWTH;
        let sql_limit = recorded.sql_per_request + STATEMENT_TOLERANCE;
        let mut verdict = "ok";
        if now.floor_multiple > multiple_limit {
            verdict = "REGRESSED";
            regressions.push(format!(
                "{}: server CPU per request is {} the floor's, recorded {} (limit {}: {MULTIPLE_GROWTH} × recorded)",
                recorded.scenario,
                report::multiple(now.floor_multiple),
                report::multiple(recorded.floor_multiple),
                report::multiple(multiple_limit),
            ));
        }
        if now.sql_per_request > sql_limit {
            verdict = "REGRESSED";
            regressions.push(format!(
                "{}: {:.2} SQL statements per request, recorded {:.2} (limit {sql_limit:.2}: recorded + {STATEMENT_TOLERANCE})",
                recorded.scenario, now.sql_per_request, recorded.sql_per_request,
            ));
        }
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {sql_limit:.2} | {verdict} |",
            recorded.scenario,
            report::multiple(recorded.floor_multiple),
            report::multiple(now.floor_multiple),
            report::multiple(multiple_limit),
            recorded.sql_per_request,
            now.sql_per_request,
        );
    }
    for now in measured {
        if !baseline
            .scenarios
            .iter()
            .any(|r| r.scenario == now.scenario)
        {
            regressions.push(format!(
                "{}: measured but not in the baseline (record it with `check --record`)",
                now.scenario
            ));
        }
    }
    println!("{table}");
    if regressions.is_empty() {
        println!(
            "check: {} scenarios within {MULTIPLE_GROWTH} × their recorded multiple of the floor and {STATEMENT_TOLERANCE} statements of their recorded SQL per request (baseline of {}).",
            baseline.scenarios.len(),
            baseline.recorded_at
        );
        return Ok(());
    }
    anyhow::bail!(
        "the benchmark regressed against the baseline of {}:\n  {}",
        baseline.recorded_at,
        regressions.join("\n  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(scenario: &str, floor_multiple: f64, sql_per_request: f64) -> Recorded {
        Recorded {
            scenario: scenario.to_owned(),
            floor_multiple,
            sql_per_request,
        }
    }

    fn baseline(scenarios: Vec<Recorded>) -> Baseline {
        Baseline {
            about: String::new(),
            recorded_at: "then".to_owned(),
            machine: String::new(),
            connections: CONNECTIONS,
            floor_cpu_per_request_us: 30.0,
            scenarios,
        }
    }

    #[test]
    fn figures_within_the_bounds_pass() {
        let base = baseline(vec![
            recorded("healthz", 1.2, 0.0),
            recorded("me", 10.0, 4.0),
        ]);
        let measured = [recorded("healthz", 2.3, 0.0), recorded("me", 19.9, 4.4)];
        assert!(compare(&base, &measured).is_ok());
    }

    #[test]
    fn a_multiple_more_than_doubled_fails_naming_the_scenario() {
        let base = baseline(vec![
            recorded("healthz", 1.2, 0.0),
            recorded("me", 10.0, 4.0),
        ]);
        let measured = [recorded("healthz", 1.2, 0.0), recorded("me", 20.5, 4.0)];
        let err = compare(&base, &measured).unwrap_err().to_string();
        assert!(err.contains("me: server CPU per request is 20.5×"), "{err}");
        assert!(err.contains("recorded 10.0×"), "{err}");
        assert!(!err.contains("healthz"), "{err}");
    }

    #[test]
    fn more_statements_than_the_tolerance_fail() {
        let base = baseline(vec![recorded("me", 10.0, 4.0)]);
        let measured = [recorded("me", 10.0, 5.0)];
        let err = compare(&base, &measured).unwrap_err().to_string();
        assert!(
            err.contains("5.00 SQL statements per request, recorded 4.00"),
            "{err}"
        );
    }

    #[test]
    fn a_scenario_missing_on_either_side_fails() {
        let base = baseline(vec![recorded("me", 10.0, 4.0)]);
        let measured = [recorded("healthz", 1.0, 0.0)];
        let err = compare(&base, &measured).unwrap_err().to_string();
        assert!(
            err.contains("me: in the baseline but not measured"),
            "{err}"
        );
        assert!(
            err.contains("healthz: measured but not in the baseline"),
            "{err}"
        );
    }

    #[test]
    fn the_committed_baseline_covers_every_scenario_of_the_short_mode() {
        let text = include_str!("../baseline.json");
        let committed: Baseline = serde_json::from_str(text).expect("a baseline file");
        let labels: Vec<&str> = committed
            .scenarios
            .iter()
            .map(|r| r.scenario.as_str())
            .collect();
        let expected: Vec<&str> = short_options()
            .scenarios
            .iter()
            .map(|s| s.label())
            .collect();
        assert_eq!(labels, expected);
    }
}
