//! The server under test, in a process of its own: the child side (`bench serve`) builds
//! the application exactly as `paylater serve` does, with a counter of SQL statements;
//! the parent side starts it and reads its counter, CPU time and memory.

use std::{
    net::SocketAddr,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context as _, bail};
use paylater::{
    app::{self, AppState},
    clock::SystemClock,
    jobs,
};
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
};

use crate::{database, os};

/// The line the child prints once it accepts connections: `listening <address>`.
const LISTENING: &str = "listening";
/// The child's answer to any line on its stdin: `statements <count so far>`.
const STATEMENTS: &str = "statements";

/// Runs the benchmarked server until its stdin closes (the child side).
///
/// Background jobs run as in `paylater serve`, so their work is part of what is measured.
pub async fn serve_child(database_url: &str, gateway_latency_ms: u64) -> anyhow::Result<()> {
    let mut config = database::config(database_url);
    config.gateway.sandbox_latency_ms = gateway_latency_ms;
    let mut db = app::open_database(&config.database).await?;
    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let state = AppState::new(config, db, Arc::new(SystemClock))?;
    let listen = state.config.server.listen;
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    let sweep = Duration::from_secs(state.config.jobs.expiry_sweep_seconds);
    let background = jobs::Background::start(&state.deps, sweep);
    let stopped = talk_to_parent(address, statements);
    let served = paylater::http::serve_on(state, listener, async {
        let _ = stopped.await;
    })
    .await;
    background.stop(paylater::server::JOBS_GRACE).await;
    served
}

/// The child's side of the conversation with the benchmark: tells it where the server
/// listens, then answers its questions with `statements`; what it returns completes once
/// the benchmark closes stdin, the sign to stop serving.
pub fn talk_to_parent(
    address: SocketAddr,
    statements: Arc<AtomicU64>,
) -> tokio::sync::oneshot::Receiver<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(answer_parent(statements, stop));
    println!("{LISTENING} {address}");
    stopped
}

/// Answers each line on stdin with the statement count; stdin closing stops the server.
async fn answer_parent(statements: Arc<AtomicU64>, stop: tokio::sync::oneshot::Sender<()>) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    while let Ok(Some(_)) = lines.next_line().await {
        let line = format!("{STATEMENTS} {}\n", statements.load(Ordering::Relaxed));
        if stdout.write_all(line.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
            break;
        }
    }
    let _ = stop.send(());
}

/// A figure of the server at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// SQL statements executed so far.
    pub statements: u64,
    /// CPU time used so far.
    pub cpu: Duration,
}

/// The running server process, seen from the benchmark.
pub struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// Where it listens.
    pub address: SocketAddr,
    /// Its CPU time and memory.
    pub process: os::Process,
}

impl Server {
    /// Starts `bench serve` over the database at `database_url`, pinned to CPU `cpu` if
    /// given, its gateway taking `gateway_latency_ms` per call, and waits until it listens.
    pub async fn start(
        database_url: &str,
        cpu: Option<usize>,
        gateway_latency_ms: u64,
    ) -> anyhow::Result<Self> {
        let latency = gateway_latency_ms.to_string();
        Self::spawn(
            &[
                "serve",
                "--database-url",
                database_url,
                "--gateway-latency-ms",
                &latency,
            ],
            cpu,
        )
        .await
    }

    /// Starts `bench floor-serve`, the bare axum server, pinned to CPU `cpu` if given, and
    /// waits until it listens.
    pub async fn start_floor(cpu: Option<usize>) -> anyhow::Result<Self> {
        Self::spawn(&["floor-serve"], cpu).await
    }

    /// Starts this executable again with `args` (a server subcommand and its options).
    async fn spawn(args: &[&str], cpu: Option<usize>) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the bench executable")?;
        let mut command = Command::new(exe);
        command.args(args);
        if let Some(cpu) = cpu {
            command.args(["--cpu", &cpu.to_string()]);
        }
        let mut child = command
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the server process")?;
        let pid = child.id().context("the server process ended at once")?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            bail!("the server process has no pipes");
        };
        let mut stdout = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(120), stdout.next_line())
            .await
            .context("the server did not start within 2 minutes")??
            .context("the server exited before listening (see its messages above)")?;
        let address = ready
            .strip_prefix(LISTENING)
            .and_then(|rest| rest.trim().parse().ok())
            .with_context(|| format!("unexpected first line from the server: {ready:?}"))?;
        Ok(Self {
            child,
            stdin,
            stdout,
            address,
            process: os::Process::new(pid),
        })
    }

    /// Statements executed and CPU time used so far.
    pub async fn snapshot(&mut self) -> anyhow::Result<Snapshot> {
        self.stdin.write_all(b"?\n").await?;
        self.stdin.flush().await?;
        let line = self
            .stdout
            .next_line()
            .await?
            .context("the server process has exited")?;
        let statements = line
            .strip_prefix(STATEMENTS)
            .and_then(|rest| rest.trim().parse().ok())
            .with_context(|| format!("unexpected answer from the server: {line:?}"))?;
        Ok(Snapshot {
            statements,
            cpu: self.process.cpu_time()?,
        })
    }

    /// Asks the server to finish and waits for it (killing it after 30 s).
    pub async fn stop(self) -> anyhow::Result<()> {
        let Self {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("the server process ended with {status}");
                }
            }
            Err(_) => child.kill().await?,
        }
        Ok(())
    }
}

/// What [`measure_idle_then`] hands back besides the body's result.
pub struct Served<T> {
    /// The body's result.
    pub value: T,
    /// The server's resident memory once started, before any load, in bytes.
    pub idle_rss: u64,
}

/// Lets the freshly started `server` settle, reads its idle memory, runs `body` with it,
/// then stops it, also when `body` fails.
pub async fn measure_idle_then<T>(
    mut server: Server,
    name: &str,
    body: impl AsyncFnOnce(&mut Server) -> anyhow::Result<T>,
) -> anyhow::Result<Served<T>> {
    eprintln!(
        "bench: {name}: server pid {} listening on {}",
        server.process.pid(),
        server.address
    );
    // Let start-up work (migrations check, first job rounds) settle before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = server.process.rss()?;
    eprintln!("bench: {name}: idle RSS {}", os::mib(idle_rss));
    let value = body(&mut server).await;
    let stopped = server.stop().await;
    let value = value?;
    stopped?;
    Ok(Served { value, idle_rss })
}
