//! Turns measurements into figures per request and prints them as a markdown table.

use std::{fmt::Write as _, time::Duration};

use crate::load::Measurement;

/// One line of the results table.
pub struct Row {
    /// Scenario label.
    pub scenario: String,
    /// Concurrent connections.
    pub connections: usize,
    /// What was measured.
    pub measurement: Measurement,
}

impl Row {
    fn per_request(&self, total: f64) -> Option<f64> {
        let requests = self.measurement.requests;
        (requests > 0).then(|| total / requests as f64)
    }

    /// Requests per second over the measured window.
    pub fn throughput(&self) -> f64 {
        self.measurement.requests as f64 / self.measurement.elapsed.as_secs_f64().max(1e-9)
    }

    /// Server CPU time per request.
    pub fn cpu_per_request(&self) -> Option<Duration> {
        let cpu = self
            .measurement
            .after
            .cpu
            .saturating_sub(self.measurement.before.cpu);
        self.per_request(cpu.as_secs_f64())
            .map(Duration::from_secs_f64)
    }

    /// Share of one core the server used.
    fn server_cpu_share(&self) -> f64 {
        let m = &self.measurement;
        m.after.cpu.saturating_sub(m.before.cpu).as_secs_f64() / m.elapsed.as_secs_f64().max(1e-9)
    }

    /// SQL statements the server executed per request, background jobs included.
    pub fn statements_per_request(&self) -> Option<f64> {
        let m = &self.measurement;
        self.per_request(m.after.statements.saturating_sub(m.before.statements) as f64)
    }
}

/// The floor's server CPU per request at each connection count it ran at: what every
/// other row's CPU per request is divided by.
pub struct Floor {
    cpu_per_request: Vec<(usize, Duration)>,
}

impl Floor {
    /// The floor's figures, from its rows.
    pub fn from_rows(rows: &[Row]) -> Self {
        Self {
            cpu_per_request: rows
                .iter()
                .filter_map(|row| Some((row.connections, row.cpu_per_request()?)))
                .collect(),
        }
    }

    /// The floor's CPU per request at `connections`, if it ran there and used any.
    pub fn cpu_per_request(&self, connections: usize) -> Option<Duration> {
        self.cpu_per_request
            .iter()
            .find(|(count, cpu)| *count == connections && !cpu.is_zero())
            .map(|(_, cpu)| *cpu)
    }

    /// `row`'s server CPU per request as a multiple of the floor's at the same
    /// connection count.
    pub fn multiple(&self, row: &Row) -> Option<f64> {
        let floor = self.cpu_per_request(row.connections)?;
        Some(row.cpu_per_request()?.as_secs_f64() / floor.as_secs_f64())
    }
}

/// A multiple of the floor: `1.0×`, `12.4×`, `140×`.
pub fn multiple(value: f64) -> String {
    if value < 100.0 {
        format!("{value:.1}×")
    } else {
        format!("{value:.0}×")
    }
}

/// Microseconds as a short human figure: `850 µs`, `12.3 ms`.
pub fn latency(micros: u64) -> String {
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 100_000 {
        format!("{:.1} ms", micros as f64 / 1_000.0)
    } else {
        format!("{:.0} ms", micros as f64 / 1_000.0)
    }
}

/// CPU time per request: `35.2 µs`, `850 µs`.
pub fn cpu_figure(cpu: Duration) -> String {
    let micros = cpu.as_secs_f64() * 1e6;
    if micros < 100.0 {
        format!("{micros:.1} µs")
    } else {
        format!("{micros:.0} µs")
    }
}

/// The p99 of the reads of a run that mixed reads and writes.
fn reads_p99(m: &Measurement) -> Option<u64> {
    let reads = m.read_latency.len();
    (reads > 0 && reads < m.latency.len()).then(|| m.read_latency.value_at_quantile(0.99))
}

/// The results as a markdown table, one line per scenario and connection count, each
/// server CPU per request also as a multiple of `floor`'s.
pub fn table(rows: &[Row], floor: &Floor) -> String {
    let mut out = String::from(
        "| scenario | conns | req/s | p50 | p90 | p99 | max | reads p99 | errors | bytes/resp | SQL/req | server CPU/req | × floor | server CPU | peak RSS |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let m = &row.measurement;
        let h = &m.latency;
        let dash = || "–".to_owned();
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0}% | {} |",
            row.scenario,
            row.connections,
            row.throughput(),
            latency(h.value_at_quantile(0.50)),
            latency(h.value_at_quantile(0.90)),
            latency(h.value_at_quantile(0.99)),
            latency(h.max()),
            reads_p99(m).map_or_else(dash, latency),
            m.errors,
            row.per_request(m.bytes as f64)
                .map_or_else(dash, |b| format!("{b:.0}")),
            row.statements_per_request()
                .map_or_else(dash, |s| format!("{s:.1}")),
            row.cpu_per_request().map_or_else(dash, cpu_figure),
            floor.multiple(row).map_or_else(dash, multiple),
            row.server_cpu_share() * 100.0,
            crate::os::mib(m.peak_rss),
        );
    }
    out
}

/// The first failure of each row that had any, and rows cut short, for the reader to
/// judge the figures by.
pub fn problems(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        let m = &row.measurement;
        if let Some(error) = &m.first_error {
            let _ = writeln!(
                out,
                "- {} at {} connections: {} of {} failed; first: {error}",
                row.scenario, row.connections, m.errors, m.requests
            );
        }
        if m.exhausted > 0 {
            let _ = writeln!(
                out,
                "- {} at {} connections: {} connections ran out of fresh checkouts before the end (raise --open-checkouts)",
                row.scenario, row.connections, m.exhausted
            );
        }
    }
    out
}
