//! Probe settings, targets and counters.

use crate::error::ProbeError;

/// Highest pid + 1 the kernel can hand out (PID_MAX_LIMIT on 64-bit).
pub(crate) const PID_BITS: usize = 1 << 22;
pub(crate) const MODE_ALL: u32 = 0;
pub(crate) const MODE_PIDS: u32 = 1;
pub(crate) const MODE_FOLLOW: u32 = 2;
pub(crate) const MODE_COMM: u32 = 3;

/// Which processes the probe records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// These processes (all their threads); processes they start are not followed.
    Pids(Vec<i32>),
    /// A launched command (its pid, e.g. from [`crate::PausedChild::pid`]) and all its
    /// descendants, followed through clone/fork/vfork/clone3 in the kernel.
    Command(i32),
    /// Processes whose name (`comm`, at most 15 bytes) equals this; checked at start and
    /// at every execve; children inherit the selection until they exec.
    Comm(String),
    /// Every process on the machine except the probe's own.
    All,
}

/// The attach type of the syscall programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachKind {
    /// `tp_btf`, falling back to `raw_tp` when the kernel refuses it.
    Auto,
    /// BTF-typed raw tracepoints (`tp_btf/sys_enter`, `tp_btf/sys_exit`).
    TpBtf,
    /// Raw tracepoints (`raw_tp/sys_enter`, `raw_tp/sys_exit`).
    RawTp,
    /// Programs that return at once: the cost floor, for benchmarks. Records nothing.
    Noop,
}

/// Probe settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// What to record.
    pub target: Target,
    /// Ship I/O syscalls only while their thread, or another thread of their process,
    /// is inside a span (so work handed to worker threads is kept for the process scope
    /// `evtin.span.p.*`); fd-table syscalls are always shipped for selected processes.
    pub spans_only: bool,
    /// Ring buffer size in bytes: a power of two, at least 64 KiB.
    pub ring_size: usize,
    /// Largest marker payload copied, 1..=4096 bytes.
    pub payload_max: usize,
    /// Attach type.
    pub attach: AttachKind,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            target: Target::All,
            spans_only: true,
            ring_size: 8 << 20,
            payload_max: 4096,
            attach: AttachKind::Auto,
        }
    }
}

/// Counters of a capture, summed over CPUs (kernel side) plus what the reader saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeStats {
    /// Records written to the ring buffer by the kernel.
    pub submitted: u64,
    /// Records lost because the ring buffer was full.
    pub dropped: u64,
    /// Null-device writes dropped in the kernel because they cannot start a marker.
    pub non_tracer_markers: u64,
    /// Marker payloads cut at `payload_max`.
    pub truncated: u64,
    /// User-memory reads that failed (payload or string not copied).
    pub read_failed: u64,
    /// Marker candidates received with their payload (counted by the reader).
    pub markers: u64,
    /// Syscalls skipped because per-task storage could not be allocated.
    pub state_failures: u64,
    /// Records received and decoded by the reader.
    pub received: u64,
    /// Records the reader could not decode.
    pub malformed: u64,
    /// Lost records reported to the consumer as [`tracer_core::event::EventKind::Lost`].
    pub lost_reported: u64,
}

pub(crate) fn validate(cfg: &ProbeConfig) -> Result<(), ProbeError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(ProbeError::Unsupported(
            "the probe is built for x86-64 syscall numbers".into(),
        ));
    }
    if !cfg.ring_size.is_power_of_two() || cfg.ring_size < (64 << 10) || cfg.ring_size > (1 << 30) {
        return Err(ProbeError::Config(format!(
            "ring_size {} must be a power of two between 64 KiB and 1 GiB",
            cfg.ring_size
        )));
    }
    if cfg.payload_max == 0 || cfg.payload_max > 4096 {
        return Err(ProbeError::Config(format!(
            "payload_max {} must be in 1..=4096",
            cfg.payload_max
        )));
    }
    match &cfg.target {
        Target::Pids(p) if p.iter().any(|&p| p <= 0 || p as usize >= PID_BITS) => {
            Err(ProbeError::Config(format!("invalid pid in {p:?}")))
        }
        Target::Command(p) if *p <= 0 || *p as usize >= PID_BITS => {
            Err(ProbeError::Config(format!("invalid pid {p}")))
        }
        Target::Comm(c) if c.is_empty() || c.len() > 15 || c.contains('\0') => {
            Err(ProbeError::Config(format!(
                "process name {c:?} must be 1..=15 bytes (the kernel's comm length)"
            )))
        }
        _ => Ok(()),
    }
}

pub(crate) fn mode_of(t: &Target) -> u32 {
    match t {
        Target::All => MODE_ALL,
        Target::Pids(_) => MODE_PIDS,
        Target::Command(_) => MODE_FOLLOW,
        Target::Comm(_) => MODE_COMM,
    }
}
