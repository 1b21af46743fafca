//! Prints the events a capture yields (debugging aid): `cargo run --example scapdump FILE`.
use tracer_scap::ScapReader;

fn main() {
    let path = std::env::args().nth(1).expect("usage: scapdump FILE");
    let mut r = ScapReader::open(&path).expect("open");
    while let Some(ev) = r.next_event().expect("read") {
        println!("{ev:?}");
    }
    eprintln!("{:?}", r.stats());
    for w in r.warnings() {
        eprintln!("warning: {w}");
    }
}
