//! Marker grammar throughput: `parse`, `StreamDecoder::feed` and `encode` on typical
//! markers (text with and without arguments, JSON form). Baseline in the same run:
//! copying the same bytes into a fresh `Vec` (one allocation + memcpy, the least any
//! owning parser does), so each result can be read as a ratio to the baseline.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tracer_core::grammar::{encode, parse, StreamDecoder};

const MARKERS: &[(&str, &[u8])] = &[
    ("text_plain", b">:t:download_handler::"),
    ("text_args", b">:t:app.db.query:table=users,rows=42,sql=select * from users:"),
    (
        "json",
        b"[\">\", 12345, [\"mysql\", \"query\", \"init\"], [{\"argname1\":\"argval1\"}, {\"argname2\":\"argval2\"}]]",
    ),
];

fn grammar(c: &mut Criterion) {
    for &(name, bytes) in MARKERS {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(1));
        g.bench_function("baseline_copy", |b| {
            b.iter(|| black_box(black_box(bytes).to_vec()))
        });
        g.bench_function("parse", |b| b.iter(|| black_box(parse(black_box(bytes)))));
        g.bench_function("decoder_feed", |b| {
            let mut d = StreamDecoder::new();
            b.iter(|| black_box(d.feed(black_box(bytes))))
        });
        let t = parse(bytes).expect("valid marker");
        g.bench_function("encode", |b| b.iter(|| black_box(encode(black_box(&t)))));
        g.finish();
    }
}

criterion_group!(benches, grammar);
criterion_main!(benches);
