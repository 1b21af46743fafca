//! Shared helpers: run the binary, find the shared samples, generate captures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tracer_core::event::{Event, EventKind, FdTarget, Syscall, SyscallKind, ThreadInfo};
use tracer_scap::{ScapWriter, WriterOptions};

/// `shared/` next to the repository.
pub fn shared(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).join(rel)
}

/// Why the probe cannot run here, if it cannot.
pub fn cannot_probe() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root".into());
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Some("the kernel has no BTF (/sys/kernel/btf/vmlinux)".into());
    }
    None
}

/// A sample capture by file name.
pub fn sample(name: &str) -> PathBuf {
    shared("data/scap-samples").join(name)
}

/// Runs `tracer ARGS` with colours off.
pub fn tracer<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run tracer")
}

/// Runs and expects success; returns stdout.
pub fn ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = tracer(args);
    succeeded(&out, "tracer");
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Asserts that the command `what` succeeded (else panics with its stderr); returns its
/// stdout.
pub fn succeeded(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts that the command failed; returns its stderr.
pub fn failed(out: &Output) -> String {
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and parses stdout as JSON.
pub fn json<I, S>(args: I) -> serde_json::Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let s = ok(args);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{s}"))
}

/// Builds event streams of one process writing markers to fd 3 (`/dev/null`).
pub struct Gen {
    pub events: Vec<Event>,
    pid: i64,
}

impl Gen {
    /// One process `pid` (single thread) named `comm` with fd 3 on `/dev/null`.
    pub fn new(pid: i64, comm: &str) -> Gen {
        let mut g = Gen {
            events: Vec::new(),
            pid,
        };
        g.thread(pid, comm);
        g
    }

    /// Adds a thread of the process (with its fd 3 snapshot).
    pub fn thread(&mut self, tid: i64, comm: &str) {
        self.events.push(Event {
            ts: 1,
            tid,
            pid: self.pid,
            kind: EventKind::ThreadInfo(ThreadInfo {
                tid,
                pid: self.pid,
                ptid: 1,
                comm: comm.into(),
                exe: format!("/usr/bin/{comm}"),
                args: vec![],
                cwd: "/".into(),
            }),
        });
        if tid == self.pid {
            self.events.push(Event {
                ts: 1,
                tid,
                pid: self.pid,
                kind: EventKind::FdSnapshot {
                    fd: 3,
                    target: FdTarget::File("/dev/null".into()),
                },
            });
        }
    }

    fn push(&mut self, ts: u64, tid: i64, sc: Syscall) {
        self.events.push(Event {
            ts,
            tid,
            pid: self.pid,
            kind: EventKind::Syscall(sc),
        });
    }

    /// A marker write at `ts` (exit time).
    pub fn marker(&mut self, ts: u64, tid: i64, text: &str) {
        let mut sc = Syscall::new(SyscallKind::Write, ts.saturating_sub(1), text.len() as i64);
        sc.fd = 3;
        sc.size = text.len() as u64;
        sc.data = Some(text.as_bytes().to_vec());
        sc.null_dev = true;
        self.push(ts, tid, sc);
    }

    /// Opens `path` as `fd` at `ts`.
    pub fn open(&mut self, ts: u64, tid: i64, path: &str, fd: i64) {
        let mut sc = Syscall::new(SyscallKind::Openat, ts.saturating_sub(1), fd);
        sc.detail = tracer_core::event::SyscallDetail::Open {
            path: path.into(),
            dirfd: Some(-100),
            flags: 0,
            mode: 0,
        };
        self.push(ts, tid, sc);
    }

    /// A read (`write = false`) or write of `n` bytes on `fd`, taking `lat` ns.
    pub fn io(&mut self, ts: u64, tid: i64, fd: i64, n: i64, write: bool, lat: u64) {
        let kind = if write {
            SyscallKind::Write
        } else {
            SyscallKind::Read
        };
        let mut sc = Syscall::new(kind, ts - lat, n);
        sc.fd = fd;
        sc.size = n.max(0) as u64;
        self.push(ts, tid, sc);
    }

    /// Any other syscall.
    pub fn other(&mut self, ts: u64, tid: i64) {
        self.push(ts, tid, Syscall::new(SyscallKind::Other(35), ts - 10, 0));
    }

    /// Writes the capture.
    pub fn write(&self, path: &Path) {
        let mut w = ScapWriter::create(path, WriterOptions::default()).expect("create capture");
        for e in &self.events {
            w.write_event(e).expect("write event");
        }
        w.finish().expect("finish capture");
    }
}

/// Runs sysdig's `fdbytes_by FIELD` on `path` when sysdig is installed and returns its
/// exact byte count per key (unordered). `fdbytes_by` is `table_generator` with the
/// filter `evt.is_io=true and evt.failed=false`, value `evt.rawarg.res` (adding only
/// values > 0) and the top 30 keys printed in rounded units; this runs the same
/// `table_generator` with JSON output (exact numbers) and no practical top limit.
pub fn sysdig_fdbytes_by(path: &Path, field: &str) -> Option<Vec<(String, u64)>> {
    let args = format!(
        "{field} {field} evt.rawarg.res Bytes 'evt.is_io=true and evt.failed=false' 1000000 bytes"
    );
    let out = Command::new("sysdig")
        .env("TZ", "UTC")
        .args(["-j", "-r", path.to_str()?, "-c", "table_generator", &args])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Some(Vec::new());
    }
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("sysdig -j output is not JSON ({e}):\n{text}"));
    let rows = v["data"].as_array().map(Vec::as_slice).unwrap_or_default();
    Some(
        rows.iter()
            .map(|r| {
                let key = r[0].as_str().expect("string key").to_string();
                let bytes = r[1].as_u64().expect("integer byte count");
                (key, bytes)
            })
            .collect(),
    )
}

/// `tracer by FIELD -r PATH --json` rows as (key, value) pairs, in output order.
pub fn tracer_by(path: &Path, field: &str) -> Vec<(String, u64)> {
    let v = json([
        "by",
        field,
        "-r",
        path.to_str().expect("utf-8 path"),
        "--json",
    ]);
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().expect("key").to_string(),
                r["value"].as_u64().expect("value"),
            )
        })
        .collect()
}
