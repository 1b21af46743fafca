//! Helpers shared by the integration tests: the span scenario vectors and the sysdig
//! oracle.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The span scenario vectors (tracers-spec §9.3).
pub const SCENARIOS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/spec/span-scenarios.json"
);

/// Expands the `str.format` subset the vectors' `repeat` templates use: `{n}` and
/// `{n:0Wd}`.
pub fn format_n(template: &str, n: u64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{n") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("closing brace");
        let spec = &rest[start + 2..end];
        match spec.strip_prefix(":0").and_then(|w| w.strip_suffix('d')) {
            Some(width) => {
                let w: usize = width.parse().expect("width");
                out.push_str(&format!("{n:0w$}"));
            }
            None => {
                assert!(spec.is_empty(), "unsupported format {spec}");
                out.push_str(&n.to_string());
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Runs `tool -r FILE ARGS` (`sysdig` or `csysdig`, in UTC); panics loudly when the tool
/// cannot be run at all (sysdig 0.29.3 is these tests' oracle).
pub fn sysdig_output(tool: &str, file: &Path, args: &[&str]) -> Output {
    Command::new(tool)
        .arg("-r")
        .arg(file)
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "\n\n*** {tool} could not be run ({e}). This test uses sysdig 0.29.3 as the \
                 oracle: install it (see .ci/setup). ***\n\n"
            )
        })
}
