//! A tiny "download server" instrumented with tracer-tag: each request is a
//! `download_handler` span with `download_headers` and `download_write` children; a
//! background job is a process-wide span opened on one thread and closed on another.
//!
//! Run it under the tracer probe to see the spans and the bytes each one wrote. By
//! default the markers go to `/dev/null`; with `TRACER_EXAMPLE_OUT=FILE` they are also
//! appended to FILE instead (to look at them).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;

use tracer_tag::{span, span_builder, Id};

fn handle(request: u32, out: &mut std::fs::File) -> std::io::Result<()> {
    let handler = span_builder("download_handler")
        .arg("request", request)
        .enter();
    {
        let _h = handler.child("download_headers");
        writeln!(out, "HTTP/1.1 200 OK")?;
    }
    let mut w = handler.child("download_write");
    let body = vec![b'x'; 4096 * (request as usize + 1)];
    out.write_all(&body)?;
    w.set_exit_arg("bytes", body.len());
    Ok(())
}

fn main() -> std::io::Result<()> {
    let _sink_file = match std::env::var_os("TRACER_EXAMPLE_OUT") {
        Some(path) => {
            let f = OpenOptions::new().create(true).append(true).open(path)?;
            tracer_tag::sink::set_fd(f.as_raw_fd());
            Some(f)
        }
        None => None,
    };
    let _main = span("example_main");
    let scratch = std::env::temp_dir().join(format!("tracer-example-{}", std::process::id()));
    let mut out = std::fs::File::create(&scratch)?;

    // A span that starts here and ends on a worker thread: use the process id.
    let job = span_builder("background_job").with_id(Id::Process).enter();
    let worker = std::thread::spawn(move || {
        let mut job = job;
        let sum: u64 = (0..1_000_000u64).sum();
        job.set_exit_arg("sum", sum);
    });

    for request in 0..3 {
        handle(request, &mut out)?;
    }
    worker.join().expect("worker thread");
    std::fs::remove_file(&scratch)?;
    println!(
        "tracer-example-rust: 3 requests handled, marker write errors: {}",
        tracer_tag::error_count()
    );
    Ok(())
}
