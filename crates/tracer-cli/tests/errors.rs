//! Bad input: non-zero exit, one clear line on stderr, no panic, no backtrace.

mod common;

use common::{sample, tracer};

/// Asserts failure with exactly one stderr line starting `tracer: error:` that
/// contains `needle`.
fn fails_with(args: &[&str], needle: &str) {
    let out = tracer(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded: {err}");
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got:\n{err}");
    assert!(lines[0].starts_with("tracer: error: "), "{err}");
    assert!(
        lines[0].contains(needle),
        "{args:?}: {err:?} lacks {needle:?}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn missing_file() {
    for cmd in ["summary", "list", "spectro"] {
        fails_with(
            &[cmd, "-r", "/nonexistent/x.scap"],
            "/nonexistent/x.scap: no such file",
        );
    }
    fails_with(
        &["by", "fd.name", "-r", "/nonexistent/x.scap"],
        "no such file",
    );
}

#[test]
fn directory_instead_of_file() {
    fails_with(&["summary", "-r", "/tmp"], "is a directory");
}

#[test]
fn corrupt_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.scap");
    std::fs::write(
        &p,
        b"this is not a capture at all, just some text\n".repeat(10),
    )
    .unwrap();
    fails_with(
        &["summary", "-r", p.to_str().unwrap()],
        "not a scap capture",
    );
    let empty = dir.path().join("empty.scap");
    std::fs::write(&empty, b"").unwrap();
    fails_with(&["list", "-r", empty.to_str().unwrap()], "empty.scap");
}

/// A truncated capture is read up to the damage: a warning, the results, exit 0.
#[test]
fn truncated_file_reads_up_to_the_damage() {
    let bytes = std::fs::read(sample("generated-full.scap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.scap");
    std::fs::write(&p, &bytes[..bytes.len() - 700]).unwrap();
    let out = tracer(["summary", "-r", p.to_str().unwrap(), "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.starts_with("tracer: warning: "), "{err}");
    assert!(
        err.contains("truncated") || err.contains("corrupt"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["rows"].is_array());
}

#[test]
fn unknown_field() {
    let s = sample("generated-full.scap");
    fails_with(&["by", "fd.nmae", "-r", s.to_str().unwrap()], "fd.nmae");
}

#[test]
fn bad_filter() {
    let s = sample("generated-full.scap");
    let s = s.to_str().unwrap();
    fails_with(&["summary", "-r", s, "evt.typ=read"], "evt.type");
    fails_with(&["list", "-r", s, "span.duration >"], "bad filter");
    fails_with(&["by", "fd.name", "-r", s, "(fd.type=file"], "bad filter");
}

#[test]
fn usage_errors_exit_2() {
    let out = tracer(["summary"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tracer(["nosuchcommand"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tracer(["spectro", "-r", "x", "--size", "12"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_format() {
    let s = sample("generated-full.scap");
    fails_with(
        &[
            "events",
            "-r",
            s.to_str().unwrap(),
            "-p",
            "%evt.num %evt.nope",
        ],
        "bad format",
    );
}

#[test]
fn capture_to_an_unwritable_place() {
    fails_with(
        &["capture", "-w", "/nonexistent-dir/x.scap", "--all"],
        "cannot create /nonexistent-dir/x.scap",
    );
}

#[test]
fn capture_needs_a_target() {
    fails_with(
        &["capture", "-w", "/tmp/never-written.scap"],
        "say what to capture",
    );
    fails_with(
        &[
            "capture",
            "-w",
            "/tmp/never-written.scap",
            "--all",
            "--",
            "true",
        ],
        "either a command",
    );
    assert!(!std::path::Path::new("/tmp/never-written.scap").exists());
}
