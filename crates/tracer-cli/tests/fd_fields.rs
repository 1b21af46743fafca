//! `fd.*` fields on every event line agree with sysdig 0.29.3 on the shared samples:
//! `tracer events -p` prints the same `fd.num`, `fd.name`, `fd.type` and `fd.typechar`
//! as `sysdig -r -p`, line for line (lines where all four are NULL are left out: the
//! two tools differ on a few event types, not on fds).

mod common;

use std::process::Command;

use common::{ok, sample, shared};

const FORMAT: &str = "*%evt.dir %fd.num [%fd.name] %fd.type %fd.typechar";
const ALL_NULL: &str = "<NA> [<NA>] <NA> <NA>";

fn fd_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.ends_with(ALL_NULL))
        .map(str::to_string)
        .collect()
}

fn ours(path: &std::path::Path) -> Vec<String> {
    fd_lines(&ok(["events", "-r", path.to_str().unwrap(), "-p", FORMAT]))
}

/// Fixed facts (checked with sysdig 0.29.3), asserted without sysdig too.
#[test]
fn unknown_fds_pipes_and_failed_opens() {
    let curl = ours(&sample("public-libs-curl_google.scap"));
    let has = |l: &str| curl.iter().any(|x| x == l);
    // A failed open: fd -1, named by the path it tried.
    assert!(has("< -1 [/home/ubuntu/.curlrc] <NA> f"), "{curl:?}");
    // pipe(): the exit reports the write end, named "", and both ends are known.
    assert!(has("> -1 [<NA>] <NA> p"));
    assert!(has("< 5 [] pipe p"));
    assert!(has("> 4 [] pipe p"));
    // I/O on an fd the capture never showed: no name on the enter, "" on the exit.
    assert!(has("> 1 [<NA>] <NA> o"));
    assert!(has("< 1 [] <NA> o"));
    // setsockopt carries its fd only on the exit event: sysdig reports fd -1 there.
    assert!(has("< -1 [] <NA> o"));
}

#[test]
fn fd_fields_equal_sysdig_on_every_sample() {
    let dir = shared("data/scap-samples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "samples missing in {}", dir.display());
    for f in files {
        let out = match Command::new("sysdig")
            .env("TZ", "UTC")
            .arg("-r")
            .arg(&f)
            .args(["-p", FORMAT])
            .output()
        {
            Ok(o) if o.status.success() => o,
            Ok(o) => panic!(
                "sysdig failed on {}: {}",
                f.display(),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(_) => {
                eprintln!("SKIPPED comparison with sysdig: `sysdig` is not installed");
                return;
            }
        };
        let theirs = fd_lines(&String::from_utf8_lossy(&out.stdout));
        let ours = ours(&f);
        assert_eq!(ours.len(), theirs.len(), "{}: line counts", f.display());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            // Known gap: sysdig names a connected unix socket by the kernel addresses
            // of both ends (`0->ffff88003c420800 /path`), which the event model does
            // not carry; the engine names it by its path (or "").
            if b.contains("->ffff") && b.ends_with(" unix u") {
                continue;
            }
            assert_eq!(a, b, "{}: fd line {i}", f.display());
        }
    }
}
