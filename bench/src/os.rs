//! What the benchmark asks the kernel: CPU pinning, a process's CPU time and memory from
//! `/proc`, and resetting its peak memory between runs.

use std::time::Duration;

use anyhow::{Context as _, bail};

/// Pins the calling thread, and every thread it starts afterwards, to one CPU, so the
/// server and the load generator never compete for a core.
pub fn pin_to_cpu(cpu: usize) -> anyhow::Result<()> {
    pin_to_cpus(&[cpu])
}

/// Lets the calling thread, and the threads it starts afterwards, run on every CPU
/// again: population has no load to keep apart from, and SQLite's own threads help.
pub fn unpin() -> anyhow::Result<()> {
    pin_to_cpus(&(0..online_cpus()).collect::<Vec<_>>())
}

fn pin_to_cpus(cpus: &[usize]) -> anyhow::Result<()> {
    // SAFETY: `cpu_set_t` is plain data; CPU_ZERO/CPU_SET only write inside it, and
    // sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of it.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result != 0 {
        bail!(
            "cannot pin to CPUs {cpus:?}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// How many CPUs the machine has online, whatever this process is pinned to (`nproc --all`).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf only reads a constant of the system.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(online).unwrap_or(0)
}

/// How many CPUs this process may run on.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Clock ticks per second, the unit of the CPU times in `/proc/<pid>/stat`.
fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// Reads one process's CPU time and memory.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pid: u32,
    ticks_per_second: u64,
}

impl Process {
    /// Watches process `pid`.
    pub fn new(pid: u32) -> Self {
        Self {
            pid,
            ticks_per_second: clock_ticks_per_second(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// User plus system CPU time used so far, all threads together.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let path = format!("/proc/{}/stat", self.pid);
        let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        // The command name may hold spaces and parentheses: fields are counted after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // After the name come state (field 3), ..., utime (14) and stime (15).
        let tick = |index: usize| -> anyhow::Result<u64> {
            fields
                .get(index)
                .and_then(|field| field.parse().ok())
                .with_context(|| format!("unexpected format of {path}"))
        };
        let ticks = tick(11)? + tick(12)?;
        Ok(Duration::from_micros(
            ticks * 1_000_000 / self.ticks_per_second,
        ))
    }

    /// Resident memory now (`VmRSS`), in bytes.
    pub fn rss(&self) -> anyhow::Result<u64> {
        self.status_kib("VmRSS").map(|kib| kib * 1024)
    }

    /// Peak resident memory (`VmHWM`) since start or the last [`Self::reset_peak_rss`],
    /// in bytes.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        self.status_kib("VmHWM").map(|kib| kib * 1024)
    }

    /// Starts a new peak-memory window, so each run reports its own peak; returns false
    /// when the kernel does not allow it (the peak then spans every run so far).
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    fn status_kib(&self, key: &str) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {key} in {path}"))
    }
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
