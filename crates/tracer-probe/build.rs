//! Compiles `src/bpf/probe.bpf.c` into a libbpf-rs skeleton in `OUT_DIR`.
//!
//! Needs clang (override with `TRACER_BPF_CLANG`); extra clang flags can be passed in
//! `TRACER_BPF_CFLAGS`. The CO-RE header `src/bpf/vmlinux.h` is committed, so the build
//! needs no access to the running kernel.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SRC: &str = "src/bpf/probe.bpf.c";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("probe.skel.rs");
    let mut args = vec!["-Wall".to_string(), "-Isrc/bpf".to_string()];
    if let Ok(extra) = env::var("TRACER_BPF_CFLAGS") {
        args.extend(extra.split_whitespace().map(str::to_string));
    }
    let mut builder = SkeletonBuilder::new();
    builder.source(SRC).clang_args(args);
    if let Ok(clang) = env::var("TRACER_BPF_CLANG") {
        builder.clang(clang);
    }
    if let Err(e) = builder.build_and_generate(&out) {
        panic!("failed to build the BPF program {SRC} (is clang installed?): {e:#}");
    }
    println!("cargo:rerun-if-changed=src/bpf");
    println!("cargo:rerun-if-env-changed=TRACER_BPF_CLANG");
    println!("cargo:rerun-if-env-changed=TRACER_BPF_CFLAGS");
}
