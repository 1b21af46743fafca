//! Human units: durations (sysdig's `format_time` from tracer-core, and the same with `µs`), byte sizes
//! (KiB/MiB, binary multiples) and counts.

pub use tracer_core::views::format_time;

/// [`format_time`] (sysdig's thresholds and truncation) with `µs` as the microsecond
/// unit: what the human tables print.
pub fn duration(ns: u64) -> String {
    let s = format_time(ns);
    match s.strip_suffix("us") {
        Some(num) => format!("{num}µs"),
        None => s,
    }
}

/// A byte count in binary units: `512 B`, `1.50 KiB`, `3.00 MiB`, `1.20 GiB`, `2.00 TiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// A rate per second with one decimal and a K/M suffix: `950.0`, `12.3K`, `4.5M`.
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.1}M", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1}K", per_sec / 1e3)
    } else {
        format!("{per_sec:.1}")
    }
}

/// Wall-clock time of day of an epoch-ns timestamp, UTC: `HH:MM:SS.nnnnnnnnn`
/// (sysdig's `span.time` shape, run with `TZ=UTC`).
pub fn time_of_day(ts_ns: u64) -> String {
    tracer_core::views::format_span_time(ts_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_time_matches_sysdig_thresholds() {
        let cases: &[(u64, &str)] = &[
            (0, "0ns"),
            (999, "999ns"),
            (1_000, "1.00us"),
            (1_030, "1.03us"),
            (1_509, "1.50us"),
            (9_999, "9.99us"),
            (10_000, "10us"),
            (999_999, "999us"),
            (1_000_000, "1.00ms"),
            (5_000_000, "5.00ms"),
            (9_999_999, "9.99ms"),
            (10_000_000, "10ms"),
            (999_999_999, "999ms"),
            (1_000_000_000, "1.00s"),
            (59_990_000_000, "59.99s"),
            (60_000_000_000, "1:0"),
            (99_000_000_000, "1:39"),
            (3_599_000_000_000, "59:59"),
            (3_600_000_000_000, "01:00:00"),
            (90_061_000_000_000, "25:01:01"),
        ];
        for (ns, want) in cases {
            assert_eq!(format_time(*ns), *want, "format_time({ns})");
        }
    }

    #[test]
    fn duration_uses_micro_sign() {
        assert_eq!(duration(2_030), "2.03µs");
        assert_eq!(duration(250_000), "250µs");
        assert_eq!(duration(12_000_000), "12ms");
    }

    #[test]
    fn bytes_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.00 KiB");
        assert_eq!(bytes(1100), "1.07 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.00 MiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.00 GiB");
    }

    #[test]
    fn rate_suffixes() {
        assert_eq!(rate(950.0), "950.0");
        assert_eq!(rate(12_345.0), "12.3K");
        assert_eq!(rate(4_500_000.0), "4.5M");
    }

    #[test]
    fn time_of_day_utc() {
        // 1970-01-02 01:02:03.000000042
        assert_eq!(time_of_day(90_123_000_000_042), "01:02:03.000000042");
    }
}
