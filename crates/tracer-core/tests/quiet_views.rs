//! A consumer that skips the views of syscalls moving no bytes
//! ([`Consumer::wants_quiet_syscall_views`] false, like `BytesBy`) gets the same report
//! and the same tables as one that sees every view.

use tracer_core::engine::{Consumer, Engine, EngineConfig};
use tracer_core::event_view::EventView;
use tracer_core::views::{ByField, BytesBy};
use tracer_scap::synth::{events, SynthConfig};

#[test]
fn skipping_quiet_syscall_views_changes_nothing() {
    let evs = events(&SynthConfig {
        iterations: 300,
        ..SynthConfig::default()
    });
    for field in ["evtin.span.tags", "fd.name", "fd.type", "evtin.span.id"] {
        let by = || BytesBy::new(ByField::parse(field).expect("valid field"));
        // A closure consumer wants every view.
        let mut all = by();
        let mut views = 0u64;
        let report_all =
            Engine::new(EngineConfig::default()).run(&evs, &mut |v: &EventView<'_>| {
                views += 1;
                all.add(v);
            });
        let mut quiet = by();
        assert!(!quiet.wants_quiet_syscall_views());
        let report = Engine::new(EngineConfig::default()).run(&evs, &mut quiet);
        assert_eq!(report, report_all, "{field}");
        assert_eq!(quiet.table(), all.table(), "{field}");
        assert!(!all.table().rows.is_empty(), "{field}");
        // Quiet syscalls (open, close, accept…) were among the views the closure saw.
        assert!(views > report.counts.syscalls);
    }
}
