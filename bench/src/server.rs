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
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(answer_parent(statements, stop));
    println!("{LISTENING} {address}");
    let served = paylater::http::serve_on(state, listener, async {
        let _ = stopped.await;
    })
    .await;
    background.stop();
    served
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
        let exe = std::env::current_exe().context("cannot find the bench executable")?;
        let mut command = Command::new(exe);
        command.args(["serve", "--database-url", database_url]);
        command.args(["--gateway-latency-ms", &gateway_latency_ms.to_string()]);
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
