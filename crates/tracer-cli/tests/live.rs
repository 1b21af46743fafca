//! Live capture with the eBPF probe. Needs root (or CAP_BPF + CAP_PERFMON) and a kernel
//! with BTF; each test says loudly why it is skipped otherwise.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{cannot_probe, json, ok, succeeded};

macro_rules! need_probe {
    () => {
        if let Some(why) = cannot_probe() {
            eprintln!(
                "SKIPPED {}: {why}; the eBPF probe cannot run",
                module_path!()
            );
            return;
        }
    };
}

const SCRIPT: &str = "
m = open('/dev/null', 'wb', buffering=0)
m.write(b'>:t:outer::')
data = open('/etc/services', 'rb').read()
open('out.txt', 'wb').write(data)
m.write(b'<:t:outer::')
";

/// The bytes read and written inside a span are attributed to it, and sysdig reads the
/// capture and agrees.
#[test]
fn capture_attributes_file_bytes_to_the_span() {
    need_probe!();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("t.scap");
    let out = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .current_dir(dir.path())
        .args([
            "capture", "-q", "-w", "t.scap", "--", "python3", "-c", SCRIPT,
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = succeeded(&out, "tracer capture");
    assert!(stdout.contains("command exited with status 0"), "{stdout}");
    assert!(stdout.contains("1 closed"), "{stdout}");
    assert!(stdout.contains("t.scap"), "{stdout}");

    let size = std::fs::metadata("/etc/services").unwrap().len();
    assert_eq!(
        std::fs::metadata(dir.path().join("out.txt")).unwrap().len(),
        size
    );
    let v = json([
        "by",
        "evtin.span.tags",
        "-r",
        cap.to_str().unwrap(),
        "--json",
    ]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["key"], "outer");
    assert_eq!(rows[0]["value"], 2 * size, "read + written");
    let v = json([
        "by",
        "fd.name",
        "-r",
        cap.to_str().unwrap(),
        "evtin.span.tags=outer",
        "--json",
    ]);
    let files: Vec<(String, u64)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["value"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        files.contains(&("/etc/services".to_string(), size)),
        "{files:?}"
    );

    match common::sysdig_fdbytes_by(&cap, "evtin.span.tags") {
        Some(s) => assert_eq!(s, vec![("outer".to_string(), 2 * size)], "sysdig disagrees"),
        None => eprintln!("SKIPPED sysdig cross-check: `sysdig` is not installed"),
    }
}

/// The command from the issue: sh writes the markers, `cat` (a child process) copies
/// the file. The span is captured and closed; sysdig reads the file.
#[test]
fn capture_follows_a_shell_and_its_children() {
    need_probe!();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .current_dir(dir.path())
        .args([
            "capture",
            "-w",
            "t.scap",
            "--",
            "sh",
            "-c",
            r#"echo ">:t:outer::" > /dev/null; cat /etc/services > out.txt; echo "<:t:outer::" > /dev/null"#,
        ])
        .output()
        .unwrap();
    succeeded(&out, "tracer capture");
    let cap = dir.path().join("t.scap");
    let v = json(["summary", "-r", cap.to_str().unwrap(), "--json"]);
    assert_eq!(v["rows"][0]["tag"], "outer", "{v}");
    assert_eq!(v["rows"][0]["hits"], 1, "{v}");
    // cat ran as a child process of the shell: it is in the capture.
    let v = json([
        "by",
        "proc.name",
        "-r",
        cap.to_str().unwrap(),
        "--metric",
        "count",
        "--json",
    ]);
    let names: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"cat") && names.contains(&"sh"), "{names:?}");
    if let Ok(o) = Command::new("sysdig")
        .env("TZ", "UTC")
        .args([
            "-r",
            cap.to_str().unwrap(),
            "-p",
            "%span.tags %span.duration",
            "evt.type=tracer and evt.dir=<",
        ])
        .output()
    {
        let s = succeeded(&o, "sysdig");
        assert!(s.starts_with("outer "), "sysdig sees: {s:?}");
    } else {
        eprintln!("SKIPPED sysdig cross-check: `sysdig` is not installed");
    }
}

#[test]
fn capture_stops_after_duration() {
    need_probe!();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("d.scap");
    let t0 = Instant::now();
    let out = ok([
        "capture",
        "-q",
        "-w",
        cap.to_str().unwrap(),
        "--comm",
        "no-such-comm-zz",
        "--duration",
        "1s",
    ]);
    assert!(t0.elapsed() >= Duration::from_secs(1));
    assert!(out.contains("duration reached"), "{out}");
    ok(["summary", "-r", cap.to_str().unwrap()]);
}

#[test]
fn capture_stops_cleanly_on_sigint() {
    need_probe!();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("i.scap");
    let child = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args([
            "capture",
            "-q",
            "-w",
            cap.to_str().unwrap(),
            "--comm",
            "no-such-comm-zz",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The file exists once the signal handlers are installed; then give the probe time
    // to start (a signal before that must also end cleanly).
    let t0 = Instant::now();
    while !cap.exists() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = succeeded(&out, "tracer");
    assert!(stdout.contains("interrupted"), "{stdout}");
    ok(["summary", "-r", cap.to_str().unwrap()]);
}

/// Without privileges the error says what is missing, on one line, and no file is left.
#[test]
fn capture_without_privileges_says_what_is_missing() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("SKIPPED: needs root to drop to an unprivileged user");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("SKIPPED: setpriv (util-linux) is not installed");
        return;
    }
    let probe = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_tracer"))
        .arg("--version")
        .output()
        .unwrap();
    if !probe.status.success() {
        eprintln!(
            "SKIPPED: uid 65534 cannot run the test binary here ({})",
            String::from_utf8_lossy(&probe.stderr).trim()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let cap = dir.path().join("u.scap");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_tracer"))
        .args([
            "capture",
            "-w",
            cap.to_str().unwrap(),
            "--all",
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tracer: error: cannot start the eBPF probe: not permitted"),
        "{err}"
    );
    assert!(err.contains("root") || err.contains("CAP_BPF"), "{err}");
    assert!(!cap.exists(), "a failed capture leaves no file");
}

/// Many spans of varied length: the summary's HITS/AVG/MIN/MAX equal csysdig's
/// `traces_summary` on the same capture.
#[test]
fn capture_summary_equals_csysdig() {
    need_probe!();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("m.scap");
    let script = "
import time
m = open('/dev/null', 'wb', buffering=0)
for i in range(300):
    m.write(b'>:t:req::')
    time.sleep((i % 7) * 0.0001)
    m.write(b'<:t:req::')
";
    ok([
        "capture",
        "-q",
        "-w",
        cap.to_str().unwrap(),
        "--",
        "python3",
        "-c",
        script,
    ]);
    let v = json(["summary", "-r", cap.to_str().unwrap(), "--json"]);
    let row = &v["rows"][0];
    assert_eq!(row["tag"], "req");
    assert_eq!(row["hits"], 300);
    let ours: Vec<String> = ["avg_ns", "min_ns", "max_ns"]
        .iter()
        .map(|k| tracer_core::views::format_time(row[*k].as_u64().unwrap()))
        .collect();
    let Ok(out) = Command::new("csysdig")
        .env("TZ", "UTC")
        .args(["-r", cap.to_str().unwrap(), "-v", "traces_summary", "--raw"])
        .output()
    else {
        eprintln!("SKIPPED csysdig cross-check: `csysdig` is not installed");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_end().ends_with(" req"))
        .unwrap_or_else(|| panic!("no req row in csysdig output:\n{text}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    // HITS AVG MIN MAX CHD TAG
    assert_eq!(cols[0], "300", "{line}");
    assert_eq!(cols[1..4], ours[..], "csysdig: {line}");
}
