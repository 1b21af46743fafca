//! Loads the probe for a moment and prints what it saw, or the load error.
//!
//! `probe_check [seconds] [--raw]`: traces the whole machine (spans-only off) for the
//! given time (default 1 s) and prints event counts. Exit status 2 when the probe cannot
//! be loaded (the error message goes to stderr). Used by the unprivileged-run test.

use std::time::{Duration, Instant};

use tracer_probe::{AttachKind, Probe, ProbeConfig, Target};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: f64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1.0);
    let attach = if args.iter().any(|a| a == "--raw") {
        AttachKind::RawTp
    } else {
        AttachKind::Auto
    };
    let cfg = ProbeConfig {
        target: Target::All,
        spans_only: false,
        attach,
        ..ProbeConfig::default()
    };
    let mut probe = match Probe::load(cfg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    println!("attached with {:?}", probe.attach_kind());
    let mut n = 0usize;
    let mut kinds = std::collections::BTreeMap::new();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < end {
        let r = probe.poll(Duration::from_millis(100), &mut |e| {
            n += 1;
            let k = match &e.kind {
                tracer_core::event::EventKind::Syscall(s) => s.kind.name().to_string(),
                other => format!("{other:?}")
                    .split(['{', '(', ' '])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            *kinds.entry(k).or_insert(0u64) += 1;
        });
        if let Err(e) = r {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
    let stats = probe.finish(&mut |_| n += 1).unwrap_or_default();
    println!("{n} events: {kinds:?}");
    println!("{stats:?}");
}
