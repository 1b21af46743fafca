//! The engine input of a scenario: its `events` expanded (repeats, marker writes on the
//! scenario's tracer fd, fd snapshots, thread infos) into the event model.

use serde_json::Value;
use tracer_core::event::{Event, EventKind, Syscall, SyscallDetail, SyscallKind};

use crate::common::format_n;

fn tid_pid(e: &Value) -> (i64, i64) {
    (e["tid"].as_i64().unwrap(), e["pid"].as_i64().unwrap())
}

fn sys(kind: SyscallKind, ts: u64, res: i64, fd: i64) -> Syscall {
    let mut s = Syscall::new(kind, ts.saturating_sub(7), res);
    s.fd = fd;
    s
}

/// Expands the scenario's events; returns events and the `repeat` counter per event.
pub fn expand(scn: &Value) -> (Vec<Event>, Vec<Option<u64>>) {
    let tracer_fd = scn["setup"]["tracer_fd"].as_i64().unwrap_or(3);
    let flagged = scn["setup"]["evf_tracer_flag"].as_bool().unwrap_or(false);
    let write = |tid, pid, ts: u64, text: &str| {
        let data = text.as_bytes().to_vec();
        let mut s = sys(SyscallKind::Write, ts, data.len() as i64, tracer_fd);
        s.size = data.len() as u64;
        s.data = Some(data);
        s.null_dev = flagged;
        Event {
            ts,
            tid,
            pid,
            kind: EventKind::Syscall(s),
        }
    };
    let mut out = Vec::new();
    let mut reps = Vec::new();
    for e in scn["events"].as_array().unwrap() {
        if let Some(n) = e["repeat"].as_u64() {
            let (tid, pid) = tid_pid(e);
            let t0 = e["ts_start"].as_u64().unwrap();
            let step = e["ts_step"].as_u64().unwrap();
            let tmpl = e["write"].as_str().unwrap();
            for i in 0..n {
                out.push(write(tid, pid, t0 + i * step, &format_n(tmpl, i)));
                reps.push(Some(i));
            }
            continue;
        }
        let (tid, pid) = tid_pid(e);
        let ts = e["ts"].as_u64().unwrap();
        let ev = if let Some(text) = e["write"].as_str() {
            write(tid, pid, ts, text)
        } else if let Some(path) = e["open"].as_str() {
            let fd = e["fd"].as_i64().unwrap();
            let mut s = sys(SyscallKind::Openat, ts, fd, -1);
            s.detail = SyscallDetail::Open {
                path: path.to_string(),
                dirfd: Some(-100),
                flags: 1,
                mode: 0,
            };
            Event {
                ts,
                tid,
                pid,
                kind: EventKind::Syscall(s),
            }
        } else if let Some(fd) = e["close"].as_i64() {
            Event {
                ts,
                tid,
                pid,
                kind: EventKind::Syscall(sys(SyscallKind::Close, ts, 0, fd)),
            }
        } else if let Some(name) = e["syscall"].as_str() {
            let s = match name {
                "read" => {
                    let data = e["data"].as_str().unwrap_or("").as_bytes().to_vec();
                    let mut s = sys(
                        SyscallKind::Read,
                        ts,
                        data.len() as i64,
                        e["fd"].as_i64().unwrap(),
                    );
                    s.size = 4096;
                    s.data = Some(data);
                    s
                }
                "nanosleep" => sys(SyscallKind::Other(35), ts, 0, -1),
                other => panic!("unknown syscall {other}"),
            };
            Event {
                ts,
                tid,
                pid,
                kind: EventKind::Syscall(s),
            }
        } else {
            panic!("unknown event {e}");
        };
        out.push(ev);
        reps.push(None);
    }
    (out, reps)
}
