//! Times reading a capture: alone (`read`), with the engine and a bytes-by-span table
//! (`engine`), and the same with the capture decoded on a second thread (`threaded`).
//! `cargo run --release --example readspeed FILE [read|engine|threaded] [RUNS]`;
//! prints every run and the median.
use std::time::{Duration, Instant};

use tracer_core::engine::Engine;
use tracer_core::views::{ByField, BytesBy};
use tracer_scap::{ScapReader, ThreadedReader};

/// Feeds every event of a lending reader to `f`; returns how many there were.
macro_rules! drain {
    ($reader:expr, $f:expr) => {{
        let mut r = $reader;
        let mut n = 0u64;
        while let Some(ev) = r.next_ref().expect("read") {
            n += 1;
            $f(ev);
        }
        n
    }};
}

fn main() {
    let mut a = std::env::args().skip(1);
    let usage = "usage: readspeed FILE [read|engine|threaded] [RUNS]";
    let path = a.next().expect(usage);
    let modes: Vec<String> = match a.next() {
        Some(m) => vec![m],
        None => ["read", "engine", "threaded"].map(String::from).to_vec(),
    };
    let runs: usize = a.next().map_or(1, |n| n.parse().expect(usage));
    for mode in modes {
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let mut e = Engine::default();
            let mut table = BytesBy::new(ByField::parse("evtin.span.tags").unwrap());
            let n = match mode.as_str() {
                "read" => drain!(ScapReader::open(&path).expect("open"), |ev| {
                    std::hint::black_box(ev);
                }),
                "engine" => drain!(ScapReader::open(&path).expect("open"), |ev| e
                    .process(ev, &mut table)),
                "threaded" => drain!(ThreadedReader::open(&path).expect("open"), |ev| e
                    .process(ev, &mut table)),
                _ => panic!("{usage}"),
            };
            e.finish(&mut table);
            let d = t.elapsed();
            println!("{mode}: {n} events in {d:.3?}");
            times.push(d);
        }
        times.sort();
        let med: Duration = times[times.len() / 2];
        println!("{mode}: median of {runs}: {med:.3?}");
    }
}
