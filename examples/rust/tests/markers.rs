//! Runs the example binary and the bash example with their markers redirected to a file,
//! and reads the markers back with tracer-core's parser.

use std::process::Command;

use tracer_core::grammar::{parse_all, Direction, IdForm, Tracer};

fn read_markers(path: &std::path::Path) -> Vec<Tracer> {
    let data = std::fs::read(path).expect("marker file");
    // markers are appended back to back (optionally LF-separated); parse_all reads them all
    parse_all(&data).expect("markers parse")
}

fn show(t: &Tracer) -> String {
    let tags: Vec<String> = t
        .tags
        .iter()
        .map(|g| String::from_utf8_lossy(g).into())
        .collect();
    let args: Vec<String> = t
        .args
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                String::from_utf8_lossy(k),
                String::from_utf8_lossy(v)
            )
        })
        .collect();
    let d = if t.dir == Direction::Enter { '>' } else { '<' };
    format!("{d}{}[{}]", tags.join("."), args.join(","))
}

#[test]
fn rust_example_writes_nested_spans() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("markers");
    let status = Command::new(env!("CARGO_BIN_EXE_tracer-example-rust"))
        .env("TRACER_EXAMPLE_OUT", &out)
        .status()
        .unwrap();
    assert!(status.success());
    let markers = read_markers(&out);
    let shown: Vec<String> = markers.iter().map(show).collect();
    // the background job is closed from another thread at an arbitrary point: check it
    // separately, then the deterministic rest
    let job: Vec<&Tracer> = markers
        .iter()
        .filter(|t| t.tags == [b"background_job"])
        .collect();
    assert_eq!(job.len(), 2, "{shown:?}");
    assert!(job.iter().all(|t| t.id == IdForm::Process));
    assert_eq!(job[1].args, [(b"sum".to_vec(), b"499999500000".to_vec())]);
    let rest: Vec<String> = markers
        .iter()
        .filter(|t| t.tags != [b"background_job"])
        .map(show)
        .collect();
    let mut want = vec![">example_main[]".to_string()];
    for r in 0..3 {
        want.extend([
            format!(">download_handler[request={r}]"),
            ">download_handler.download_headers[]".into(),
            "<download_handler.download_headers[]".into(),
            ">download_handler.download_write[]".into(),
            format!("<download_handler.download_write[bytes={}]", 4096 * (r + 1)),
            "<download_handler[]".into(),
        ]);
    }
    want.push("<example_main[]".into());
    assert_eq!(rest, want);
}

#[test]
fn bash_example_writes_nested_spans() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("markers");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../bash/spans.sh");
    let status = Command::new("bash")
        .arg(script)
        .env("TRACER_SINK", &out)
        .status()
        .unwrap();
    assert!(status.success());
    let markers = read_markers(&out);
    let shown: Vec<String> = markers.iter().map(show).collect();
    assert_eq!(
        shown,
        [
            ">backup[host=db:1,mode=full]",
            ">backup.dump[]",
            "<backup.dump[rows=3]",
            ">backup.compress[]",
            "<backup.compress[]",
            ">backup.upload[]",
            ">backup.upload.part[n=1]",
            "<backup.upload.part[]",
            ">backup.upload.part[n=2]",
            "<backup.upload.part[]",
            "<backup.upload[]",
            "<backup[status=ok]",
        ]
    );
    // one explicit id (the script's pid) on every marker, so subshells pair too
    let id = markers[0].id;
    assert!(matches!(id, IdForm::Explicit(n) if n > 0));
    assert!(markers.iter().all(|t| t.id == id));
}
