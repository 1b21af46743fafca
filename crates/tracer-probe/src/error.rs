//! Errors of the probe, and the capture of libbpf's log (for verifier messages).

use std::collections::VecDeque;
use std::sync::Mutex;

use libbpf_rs::PrintLevel;

/// Everything that can go wrong loading or running the probe. Each variant renders as
/// one readable message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The process may not load BPF programs.
    #[error(
        "not permitted to load eBPF programs: {detail}. Run as root, or grant CAP_BPF and \
         CAP_PERFMON (e.g. `sudo setcap cap_bpf,cap_perfmon+ep <binary>`)"
    )]
    NotPermitted {
        /// What was found (effective uid, missing capabilities, kernel message).
        detail: String,
    },
    /// The kernel exposes no BTF, which CO-RE relocations and tp_btf need.
    #[error(
        "the kernel has no BTF type information ({path} is missing): the probe needs a kernel \
         built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoBtf {
        /// The file that was looked for.
        path: String,
    },
    /// The kernel's verifier (or libbpf) rejected the program.
    #[error(
        "the kernel rejected the eBPF program ({source}); libbpf/verifier log tail:\n{log_tail}"
    )]
    Verifier {
        /// libbpf's error.
        source: libbpf_rs::Error,
        /// The last lines libbpf printed (the verifier's reason is near the end).
        log_tail: String,
    },
    /// No supported attach type could be attached.
    #[error("could not attach the probe to {what}: {source}; libbpf log tail:\n{log_tail}")]
    Attach {
        /// The attach point(s) tried.
        what: String,
        /// libbpf's error.
        source: libbpf_rs::Error,
        /// The last lines libbpf printed.
        log_tail: String,
    },
    /// An invalid configuration value.
    #[error("invalid probe configuration: {0}")]
    Config(String),
    /// The platform is not supported (the BPF program is built for x86-64 syscalls).
    #[error("unsupported platform: {0}")]
    Unsupported(String),
    /// Any other libbpf failure (map access, ring buffer).
    #[error("libbpf error while {context}: {source}")]
    Libbpf {
        /// What the probe was doing.
        context: &'static str,
        /// libbpf's error.
        source: libbpf_rs::Error,
    },
    /// An operating-system error (spawning, /proc).
    #[error("{context}: {source}")]
    Io {
        /// What the probe was doing.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

const LOG_LINES: usize = 60;
static LOG: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

fn on_libbpf_print(level: PrintLevel, msg: String) {
    if std::env::var_os("TRACER_PROBE_DEBUG").is_some() {
        eprint!("libbpf: {msg}");
    }
    if matches!(level, PrintLevel::Debug) {
        return;
    }
    let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    for line in msg.lines() {
        if log.len() == LOG_LINES {
            log.pop_front();
        }
        log.push_back(line.to_string());
    }
}

/// Routes libbpf's messages into the probe's log buffer (idempotent).
pub(crate) fn install_log() {
    libbpf_rs::set_print(Some((PrintLevel::Info, on_libbpf_print)));
}

/// Clears the captured log.
pub(crate) fn clear_log() {
    LOG.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// The last `n` captured libbpf lines, most useful last.
pub(crate) fn log_tail(n: usize) -> String {
    let log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    let skip = log.len().saturating_sub(n);
    let lines: Vec<&str> = log.iter().skip(skip).map(String::as_str).collect();
    if lines.is_empty() {
        "(libbpf printed nothing)".to_string()
    } else {
        lines.join("\n")
    }
}

/// Effective capabilities of this process (bit mask from /proc/self/status).
pub(crate) fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line["CapEff:".len()..].trim(), 16).ok()
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// Checks, before touching the kernel, that this process may load tracing programs.
pub(crate) fn check_privileges() -> Result<(), ProbeError> {
    let Some(caps) = effective_caps() else {
        return Ok(()); // cannot tell: let the kernel decide
    };
    let has = |c: u32| caps & (1u64 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    let mut missing = vec![];
    if !has(CAP_BPF) {
        missing.push("CAP_BPF");
    }
    if !has(CAP_PERFMON) {
        missing.push("CAP_PERFMON");
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    Err(ProbeError::NotPermitted {
        detail: format!("effective uid {euid}, missing {}", missing.join(" and ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_readable() {
        let e = ProbeError::NotPermitted {
            detail: "effective uid 65534, missing CAP_BPF".into(),
        };
        let s = e.to_string();
        assert!(s.starts_with("not permitted to load eBPF programs"), "{s}");
        assert!(s.contains("CAP_PERFMON"), "{s}");
        let e = ProbeError::NoBtf {
            path: "/sys/kernel/btf/vmlinux".into(),
        };
        assert!(e.to_string().contains("CONFIG_DEBUG_INFO_BTF"));
    }

    #[test]
    fn log_keeps_the_tail() {
        on_libbpf_print(PrintLevel::Warn, "a\nb\n".into());
        assert!(log_tail(100).contains('b'));
    }
}
