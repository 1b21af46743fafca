//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use tracer_core::event::Event;
use tracer_probe::Probe;

pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip(test, "needs root (eBPF); CI runs these as root");
        return false;
    }
    true
}

/// Prints a loud SKIP line past the test harness's output capture.
pub fn skip(test: &str, why: &str) {
    let line = format!("\n*** SKIP {test}: {why} ***\n");
    let _ = std::io::stderr().write_all(line.as_bytes()); // one write: no interleaving
}

pub fn dir() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

pub struct Py {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: BufReader<ChildStdout>,
}

impl Py {
    pub fn start(script: &str, args: &[&str]) -> Py {
        let mut child = Command::new("python3")
            .arg(format!("{}/tests/{script}", dir()))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut p = Py {
            child,
            stdin,
            stdout,
        };
        assert_eq!(p.line(), "ready");
        p
    }
    /// The whitespace-separated numbers on the script's next line.
    pub fn facts(&mut self) -> Vec<i64> {
        self.line()
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect()
    }
    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).unwrap();
        s.trim_end().to_string()
    }
    pub fn go(&mut self) {
        self.stdin.write_all(b"go\n").unwrap();
        self.stdin.flush().unwrap();
    }
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

pub fn poll_until_exit(probe: &mut Probe, child: &mut Child, events: &mut Vec<Event>) {
    loop {
        probe
            .poll(Duration::from_millis(50), &mut |e| events.push(e))
            .unwrap();
        if child.try_wait().unwrap().is_some() {
            break;
        }
    }
}

/// The attach type the tests use: `TRACER_PROBE_TEST_ATTACH=raw_tp` runs them on the
/// raw_tp fallback (default: auto, i.e. tp_btf).
pub fn attach() -> tracer_probe::AttachKind {
    match std::env::var("TRACER_PROBE_TEST_ATTACH").as_deref() {
        Ok("raw_tp") => tracer_probe::AttachKind::RawTp,
        Ok("tp_btf") => tracer_probe::AttachKind::TpBtf,
        _ => tracer_probe::AttachKind::Auto,
    }
}

/// `workload.py` started (paused) on a 1 MiB file `data` in the temp dir `tmp`.
pub struct Workload {
    pub tmp: tempfile::TempDir,
    pub data: std::path::PathBuf,
    pub py: Py,
}

impl Workload {
    pub fn start() -> Workload {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data.bin");
        std::fs::write(&data, vec![7u8; 1 << 20]).unwrap();
        let py = Py::start(
            "workload.py",
            &[data.to_str().unwrap(), tmp.path().to_str().unwrap()],
        );
        Workload { tmp, data, py }
    }
}

/// A finished run of a workload script under the probe.
pub struct Run {
    /// Holds the data file.
    pub tmp: tempfile::TempDir,
    /// The script (exited; its remaining output lines can still be read).
    pub py: Py,
    /// Every event shipped.
    pub events: Vec<Event>,
    /// The probe's counters.
    pub stats: tracer_probe::ProbeStats,
}

/// Runs `script` with the path of a temp file holding `data` as its argument, under a
/// probe configured by `cfg(pid)`, until the script exits.
pub fn run_script(
    script: &str,
    data: &[u8],
    cfg: impl FnOnce(i32) -> tracer_probe::ProbeConfig,
) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("data.bin");
    std::fs::write(&path, data).unwrap();
    let mut py = Py::start(script, &[path.to_str().unwrap()]);
    let mut probe = Probe::load(cfg(py.pid())).expect("probe loads as root");
    py.go();
    let mut events = vec![];
    poll_until_exit(&mut probe, &mut py.child, &mut events);
    let stats = probe.finish(&mut |e| events.push(e)).unwrap();
    Run {
        tmp,
        py,
        events,
        stats,
    }
}
