//! The committed `include/tracer.h` must be what cbindgen generates from this crate.
//! Regenerate it with `TRACER_UPDATE_HEADER=1 cargo test -p tracer-tag-c header`.

use std::path::Path;

#[test]
fn header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = dir.join("include/tracer.h");
    if std::env::var_os("TRACER_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/tracer.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "bindings/c/include/tracer.h is out of date; regenerate it with \
         `TRACER_UPDATE_HEADER=1 cargo test -p tracer-tag-c header`"
    );
}
