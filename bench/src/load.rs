//! The load generator: N keep-alive HTTP/1.1 connections, each its own TCP connection
//! with one request in flight, for a warm-up and then a measured window; latencies go to
//! an HDR histogram and every response is checked.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::{
    Method, Request, StatusCode,
    body::Bytes,
    client::conn::http1::{self, SendRequest},
    header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue},
};
use hyper_util::rt::TokioIo;
use rand::{SeedableRng as _, rngs::StdRng};
use serde_json::Value;
use tokio::net::TcpStream;

use crate::server::{Server, Snapshot};

/// One request to send: a GraphQL POST for most scenarios, a plain GET for probes.
pub struct LoadRequest {
    /// `POST` with a JSON body, or `GET` without one.
    pub method: Method,
    /// Where it goes: `/graphql`, `/healthz`.
    pub path: &'static str,
    /// The JSON body of a POST (`{"query": …, "variables": …}` for GraphQL); empty for a GET.
    pub body: Bytes,
    /// `Authorization`, when the operation needs a principal.
    pub authorization: Option<HeaderValue>,
    /// A query, not a mutation: mixed runs report the latency of reads apart, since
    /// writes waiting for the card gateway must not slow them.
    pub read: bool,
    /// What a correct answer looks like.
    pub answer: Answer,
}

/// The kind of answer a request must get to count as a success (see [`verify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// HTTP 200 and a GraphQL response with `data`, no `errors`, no `userErrors`.
    Graphql,
    /// HTTP 200 and a JSON body: probes such as `/healthz`.
    Json,
}

impl LoadRequest {
    /// The HTTP request to `host`, its body moved out of `self`.
    fn into_http(self, host: &HeaderValue) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder()
            .method(self.method)
            .uri(self.path)
            .header(HOST, host.clone());
        if !self.body.is_empty() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        if let Some(authorization) = self.authorization {
            builder = builder.header(AUTHORIZATION, authorization);
        }
        Ok(builder.body(Full::new(self.body))?)
    }
}

/// Makes the requests of a scenario; shared by all connections of a run.
pub trait Workload: Send + Sync {
    /// The next request for a connection, or `None` when the workload has run out (of
    /// fresh checkouts, say); the connection then stops.
    fn next(&self, rng: &mut StdRng) -> Option<LoadRequest>;
}

/// How long one run lasts.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Requests sent before measuring: connections, caches and pools warm up.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
}

/// What one run measured.
pub struct Measurement {
    /// Latency of each measured request, in microseconds.
    pub latency: Histogram<u64>,
    /// Latency of the measured requests that only read.
    pub read_latency: Histogram<u64>,
    /// Measured requests answered correctly or not.
    pub requests: u64,
    /// Measured requests that failed in any way (see [`verify`]).
    pub errors: u64,
    /// Response body bytes of the measured requests.
    pub bytes: u64,
    /// The measured window's length.
    pub elapsed: Duration,
    /// The server before and after the window.
    pub before: Snapshot,
    /// See `before`.
    pub after: Snapshot,
    /// The server's peak resident memory during the window, in bytes.
    pub peak_rss: u64,
    /// The first failure, to show what went wrong.
    pub first_error: Option<String>,
    /// Connections that stopped because the workload ran out.
    pub exhausted: usize,
}

const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOPPED: u8 = 2;

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What one connection saw.
struct ConnectionTally {
    latency: Histogram<u64>,
    read_latency: Histogram<u64>,
    requests: u64,
    errors: u64,
    bytes: u64,
    first_error: Option<String>,
    exhausted: bool,
}

impl ConnectionTally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latency: latency_histogram()?,
            read_latency: latency_histogram()?,
            requests: 0,
            errors: 0,
            bytes: 0,
            first_error: None,
            exhausted: false,
        })
    }

    fn fail(&mut self, why: String) {
        self.errors += 1;
        self.first_error.get_or_insert(why);
    }
}

/// A histogram of 1 µs to 60 s at three significant digits.
pub fn latency_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).context("cannot make a latency histogram")
}

/// Runs `workload` over `connections` connections to `server`: warm-up, then the measured
/// window, with the server's counters read at both ends of it.
pub async fn run(
    server: &mut Server,
    connections: usize,
    timing: Timing,
    workload: Arc<dyn Workload>,
    seed: u64,
) -> anyhow::Result<Measurement> {
    let phase = Arc::new(AtomicU8::new(WARMING));
    let mut clients = Vec::with_capacity(connections);
    for index in 0..connections {
        let sender = connect(server.address).await?;
        let rng = StdRng::seed_from_u64(seed.wrapping_add(index as u64));
        clients.push(tokio::spawn(drive(
            sender,
            server.address,
            workload.clone(),
            phase.clone(),
            rng,
        )));
    }
    tokio::time::sleep(timing.warmup).await;
    server.process.reset_peak_rss();
    let before = server.snapshot().await?;
    phase.store(MEASURING, Ordering::SeqCst);
    let started = Instant::now();
    tokio::time::sleep(timing.duration).await;
    phase.store(STOPPED, Ordering::SeqCst);
    let elapsed = started.elapsed();
    let after = server.snapshot().await?;
    let peak_rss = server.process.peak_rss()?;
    let mut total = ConnectionTally::new()?;
    let mut exhausted = 0;
    for client in clients {
        let tally = client.await.context("a load connection panicked")??;
        total.latency.add(&tally.latency)?;
        total.read_latency.add(&tally.read_latency)?;
        total.requests += tally.requests;
        total.errors += tally.errors;
        total.bytes += tally.bytes;
        exhausted += usize::from(tally.exhausted);
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
    }
    Ok(Measurement {
        latency: total.latency,
        read_latency: total.read_latency,
        requests: total.requests,
        errors: total.errors,
        bytes: total.bytes,
        elapsed,
        before,
        after,
        peak_rss,
        first_error: total.first_error,
        exhausted,
    })
}

/// Opens one TCP connection and speaks HTTP/1.1 over it.
async fn connect(address: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the server closes it; a
        // failure then shows up on the next request.
        let _ = connection.await;
    });
    Ok(sender)
}

/// One connection's loop: a request, its answer checked, the next request.
async fn drive(
    mut sender: SendRequest<Full<Bytes>>,
    address: SocketAddr,
    workload: Arc<dyn Workload>,
    phase: Arc<AtomicU8>,
    mut rng: StdRng,
) -> anyhow::Result<ConnectionTally> {
    let mut tally = ConnectionTally::new()?;
    let host = HeaderValue::from_str(&address.to_string())?;
    loop {
        let measured = match phase.load(Ordering::SeqCst) {
            STOPPED => break,
            current => current == MEASURING,
        };
        let Some(request) = workload.next(&mut rng) else {
            tally.exhausted = true;
            break;
        };
        let (read, answer) = (request.read, request.answer);
        let http_request = request.into_http(&host)?;
        let started = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, exchange(&mut sender, http_request))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {REQUEST_TIMEOUT:?}")));
        let latency = started.elapsed();
        let result = match outcome {
            Ok((status, body)) => {
                if measured {
                    tally.bytes += body.len() as u64;
                }
                verify(answer, status, &body)
            }
            Err(err) => {
                // The connection may be gone; carry on over a new one.
                if let Ok(fresh) = connect(address).await {
                    sender = fresh;
                }
                Err(format!("transport: {err:#}"))
            }
        };
        if !measured {
            continue;
        }
        tally.requests += 1;
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        tally.latency.saturating_record(micros.max(1));
        if read {
            tally.read_latency.saturating_record(micros.max(1));
        }
        if let Err(why) = result {
            tally.fail(why);
        }
    }
    Ok(tally)
}

/// Sends one request and reads its whole answer.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Whether an answer is a success: HTTP 200 and a JSON body; for [`Answer::Graphql`] also
/// `data`, no `errors`, and no non-empty `userErrors` anywhere in the data.
pub fn verify(answer: Answer, status: StatusCode, body: &[u8]) -> Result<(), String> {
    let excerpt = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    if status != StatusCode::OK {
        return Err(format!("HTTP {status}: {}", excerpt()));
    }
    let json: Value =
        serde_json::from_slice(body).map_err(|err| format!("not JSON ({err}): {}", excerpt()))?;
    if answer == Answer::Json {
        return Ok(());
    }
    if json.get("errors").is_some() {
        return Err(format!("GraphQL errors: {}", excerpt()));
    }
    match json.get("data") {
        Some(data) if !data.is_null() => {}
        _ => return Err(format!("no data: {}", excerpt())),
    }
    if has_user_errors(&json["data"]) {
        return Err(format!("userErrors: {}", excerpt()));
    }
    Ok(())
}

/// Whether any `userErrors` list below `value` is non-empty.
fn has_user_errors(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, value)| {
            if key == "userErrors" {
                value.as_array().is_some_and(|errors| !errors.is_empty())
            } else {
                has_user_errors(value)
            }
        }),
        Value::Array(values) => values.iter().any(has_user_errors),
        _ => false,
    }
}

/// One connection for setup requests (logins, cursor walks), outside any measurement.
pub struct SetupClient {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl SetupClient {
    /// Connects to the server at `address`.
    pub async fn connect(address: SocketAddr) -> anyhow::Result<Self> {
        Ok(Self {
            sender: connect(address).await?,
            host: HeaderValue::from_str(&address.to_string())?,
        })
    }

    /// Sends `request` and returns its `data`, failing on any error (see [`verify`]).
    pub async fn query(&mut self, request: LoadRequest) -> anyhow::Result<Value> {
        let answer = request.answer;
        let (status, body) = exchange(&mut self.sender, request.into_http(&self.host)?).await?;
        verify(answer, status, &body)
            .map_err(|why| anyhow::anyhow!("setup request failed: {why}"))?;
        let mut json: Value = serde_json::from_slice(&body)?;
        Ok(json["data"].take())
    }
}
