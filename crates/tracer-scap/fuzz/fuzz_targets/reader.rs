//! Fuzz target: any byte string through the `.scap` reader must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracer_scap::ScapReader;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = ScapReader::from_reader(std::io::Cursor::new(data.to_vec())) {
        while let Ok(Some(_)) = r.next_event() {}
        let _ = r.warnings();
    }
});
