//! The performance issue's targets and the summary printed against them. CPU targets are
//! multiples of the floor's CPU per request (see `floor`) at the connection count where a
//! scenario does best, so they hold on any machine; latency targets are a p99 at a named
//! connection count; memory targets bound the server's resident memory.

use std::{fmt::Write as _, time::Duration};

use clap::ValueEnum as _;

use crate::{
    report::{self, Floor, Row},
    scenarios::Scenario,
};

/// What the issue asks of one scenario (set for SQLite, the default database).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Highest server CPU per request, as a multiple of the floor's.
    pub multiple: f64,
    /// Highest p99 latency, and the connection count it is measured at.
    pub p99: Option<(Duration, usize)>,
}

/// The target of `scenario`, if the issue sets one.
pub fn target(scenario: Scenario) -> Option<Target> {
    let p99 = |millis, connections| Some((Duration::from_millis(millis), connections));
    let (multiple, p99) = match scenario {
        Scenario::Healthz => (1.5, None),
        Scenario::Plans => (4.0, p99(10, 64)),
        Scenario::Checkout => (9.0, p99(25, 64)),
        Scenario::Me => (20.0, p99(25, 64)),
        Scenario::Orders => (36.0, p99(25, 64)),
        Scenario::Create => (45.0, p99(50, 16)),
        Scenario::Confirm => (140.0, p99(50, 16)),
        Scenario::Floor | Scenario::Mixed | Scenario::Keyset => return None,
    };
    Some(Target { multiple, p99 })
}

/// Idle resident memory must stay below 30 MB (10⁶ bytes each).
const IDLE_RSS_BOUND: u64 = 30_000_000;
/// Resident memory under load must stay below 100 MB.
const PEAK_RSS_BOUND: u64 = 100_000_000;

/// The memory of one paylater server (one population) over a run.
pub struct Memory {
    /// Which population it served: `main`, `keyset`.
    pub server: &'static str,
    /// Resident memory before any load.
    pub idle_rss: u64,
    /// The highest peak of its runs.
    pub peak_rss: u64,
}

impl Memory {
    /// The memory of the server that measured `rows`, idle at `idle_rss`.
    pub fn of(server: &'static str, idle_rss: u64, rows: &[Row]) -> Self {
        let peak_rss = rows
            .iter()
            .map(|row| row.measurement.peak_rss)
            .max()
            .unwrap_or(idle_rss);
        Self {
            server,
            idle_rss,
            peak_rss,
        }
    }
}

/// The scenario a row measured, when it is one of [`Scenario`]'s.
fn scenario_of(row: &Row) -> Option<Scenario> {
    Scenario::value_variants()
        .iter()
        .copied()
        .find(|scenario| scenario.label() == row.scenario)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

/// One line per scenario (the floor aside): its best multiple of the floor and its p99 at
/// the connection count its target names, each against the target; then each server's
/// memory against the bounds.
pub fn summary(rows: &[Row], floor: &Floor, memory: &[Memory]) -> String {
    let mut out = String::from(
        "| scenario | best × floor (conns) | target | | p99 (conns) | target | |\n\
         |---|---:|---:|---|---:|---:|---|\n",
    );
    let mut labels: Vec<&str> = Vec::new();
    for row in rows {
        if row.scenario != Scenario::Floor.label() && !labels.contains(&row.scenario.as_str()) {
            labels.push(&row.scenario);
        }
    }
    for label in labels {
        let runs: Vec<&Row> = rows.iter().filter(|row| row.scenario == label).collect();
        let target = runs
            .first()
            .and_then(|row| scenario_of(row))
            .and_then(target);
        let best = runs
            .iter()
            .filter_map(|row| Some((floor.multiple(row)?, row.connections)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let (best_cell, best_verdict) = match (best, target) {
            (None, _) => ("–".to_owned(), ""),
            (Some((value, conns)), target) => (
                format!("{} ({conns})", report::multiple(value)),
                target.map_or("", |t| verdict(value <= t.multiple)),
            ),
        };
        let multiple_target = target.map_or_else(
            || "–".to_owned(),
            |t| format!("≤ {}", report::multiple(t.multiple)),
        );
        let (p99_cell, p99_target, p99_verdict) = match target.and_then(|t| t.p99) {
            None => ("–".to_owned(), "–".to_owned(), ""),
            Some((bound, conns)) => {
                let wanted = format!("< {} at {conns}", report::latency(micros(bound)));
                match runs.iter().find(|row| row.connections == conns) {
                    None => (format!("not run ({conns})"), wanted, ""),
                    Some(row) => {
                        let p99 = row.measurement.latency.value_at_quantile(0.99);
                        (
                            format!("{} ({conns})", report::latency(p99)),
                            wanted,
                            verdict(p99 < micros(bound)),
                        )
                    }
                }
            }
        };
        let _ = writeln!(
            out,
            "| {label} | {best_cell} | {multiple_target} | {best_verdict} | {p99_cell} | {p99_target} | {p99_verdict} |"
        );
    }
    if !memory.is_empty() {
        out.push_str("\n| memory | measured | target | |\n|---|---:|---:|---|\n");
        for server in memory {
            for (what, bytes, bound) in [
                ("idle RSS", server.idle_rss, IDLE_RSS_BOUND),
                ("peak RSS under load", server.peak_rss, PEAK_RSS_BOUND),
            ] {
                let _ = writeln!(
                    out,
                    "| {what}, {} server | {} ({}) | < {} | {} |",
                    server.server,
                    megabytes(bytes),
                    crate::os::mib(bytes),
                    megabytes(bound),
                    verdict(bytes < bound)
                );
            }
        }
    }
    out
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Bytes in MB of 10⁶ bytes, as the targets are stated.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
