//! Times reading a capture, alone and with the engine + a bytes-by-span table:
//! `cargo run --release --example readspeed FILE [read|engine]`.
use std::time::Instant;

use tracer_core::engine::Engine;
use tracer_core::views::{ByField, BytesBy};
use tracer_scap::ScapReader;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: readspeed FILE [read|engine]");
    let modes = match std::env::args().nth(2).as_deref() {
        Some("read") => vec![false],
        Some("engine") => vec![true],
        _ => vec![false, true],
    };
    for engine in modes {
        let t = Instant::now();
        let mut r = ScapReader::open(&path).expect("open");
        let mut e = Engine::default();
        let mut table = BytesBy::new(ByField::parse("evtin.span.tags").unwrap());
        let mut n = 0u64;
        while let Some(ev) = r.next_ref().expect("read") {
            n += 1;
            if engine {
                e.process(ev, &mut table);
            }
            std::hint::black_box(ev);
        }
        let d = t.elapsed();
        println!(
            "engine={engine}: {n} events in {d:.3?} ({:.2} M raw events/s)",
            r.stats().raw_events as f64 / d.as_secs_f64() / 1e6
        );
    }
}
