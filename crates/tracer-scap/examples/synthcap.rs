//! Writes the synthetic workload as a capture: `cargo run --example synthcap OUT [ITERATIONS]`.
use tracer_scap::synth::{generate, SynthConfig};
use tracer_scap::{ScapWriter, WriterOptions};

fn main() {
    let mut a = std::env::args().skip(1);
    let out = a.next().expect("usage: synthcap OUT [ITERATIONS]");
    let iterations = a.next().map_or(3, |n| n.parse().expect("number"));
    let opts = WriterOptions {
        hostname: "synth".into(),
        ..Default::default()
    };
    let mut w = ScapWriter::create(&out, opts).expect("create");
    let mut err = None;
    generate(
        &SynthConfig {
            iterations,
            ..Default::default()
        },
        |e| {
            if let Err(x) = w.write_event(&e) {
                err.get_or_insert(x);
            }
        },
    );
    if let Some(e) = err {
        panic!("write failed: {e}");
    }
    let (_, stats) = w.finish().expect("finish");
    eprintln!("{stats:?}");
}
