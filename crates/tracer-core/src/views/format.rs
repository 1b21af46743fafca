//! Text formats shared by views and exporters: sysdig's duration format, `span.time`,
//! Lua number formatting and statsd timer datagrams.

use std::collections::BTreeMap;

use crate::bytestr::join_tags;
use crate::spans::SpanRecord;

/// sysdig's `format_time` for durations: `Nns`, `N.NNus`, `Nus`, `N.NNms`, `Nms`,
/// `N.NNs`, `M:S`, `HH:MM:SS` (tracers-spec §6.1; digits truncated, not rounded).
pub fn format_time(ns: u64) -> String {
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    if ns < US {
        format!("{ns}ns")
    } else if ns < 10 * US {
        format!("{}.{:02}us", ns / US, (ns % US) / 10)
    } else if ns < MS {
        format!("{}us", ns / US)
    } else if ns < 10 * MS {
        format!("{}.{:02}ms", ns / MS, (ns % MS) / (10 * US))
    } else if ns < S {
        format!("{}ms", ns / MS)
    } else if ns < 60 * S {
        format!("{}.{:02}s", ns / S, (ns % S) / (10 * MS))
    } else if ns < 3600 * S {
        let secs = ns / S;
        format!("{}:{}", secs / 60, secs % 60)
    } else {
        let secs = ns / S;
        format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        )
    }
}

/// `span.time` formatting of a timestamp (ns since the epoch, UTC):
/// `HH:MM:SS.nnnnnnnnn`.
pub fn format_span_time(ts: u64) -> String {
    let secs = ts / 1_000_000_000;
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        day / 3600,
        (day / 60) % 60,
        day % 60,
        ts % 1_000_000_000
    )
}

/// Formats a number like Lua's `tostring` (`%.14g`), as sysdig's chisels print it.
pub fn lua_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sci = format!("{:.13e}", x);
    let (mant, exp) = sci.split_once('e').expect("exponent present");
    let exp: i32 = exp.parse().expect("integer exponent");
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if (-4..14).contains(&exp) {
        let prec = (13 - exp).max(0) as usize;
        strip(format!("{:.*}", prec, x))
    } else {
        let m = strip(mant.to_string());
        format!("{}e{}{:02}", m, if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// The statsd timer datagram `tracers_2_statsd` sends for a span: the tags joined with
/// `.`, with `:` `|` `@` replaced by `_`, then `:<duration in ms>|ms`.
pub fn statsd_timer(tags: &[Vec<u8>], duration_ns: u64) -> String {
    let name: String = String::from_utf8_lossy(&join_tags(tags))
        .chars()
        .map(|c| if matches!(c, ':' | '|' | '@') { '_' } else { c })
        .collect();
    format!("{}:{}|ms", name, lua_number(duration_ns as f64 / 1e6))
}

/// Groups closed spans' durations by tag string (handy for quick tables and tests).
pub fn durations_by_tags(spans: &[SpanRecord]) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for s in spans {
        if let Some(d) = s.duration_ns {
            out.entry(String::from_utf8_lossy(&join_tags(&s.tags)).into_owned())
                .or_default()
                .push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_time_matches_sysdig() {
        assert_eq!(format_time(0), "0ns");
        assert_eq!(format_time(999), "999ns");
        assert_eq!(format_time(1509), "1.50us");
        assert_eq!(format_time(2030), "2.03us");
        assert_eq!(format_time(12_345), "12us");
        assert_eq!(format_time(5_000_000), "5.00ms");
        assert_eq!(format_time(12_000_000), "12ms");
        assert_eq!(format_time(1_500_000_000), "1.50s");
        assert_eq!(format_time(99_000_000_000), "1:39");
        assert_eq!(format_time(3_600_000_000_000), "01:00:00");
    }

    #[test]
    fn lua_numbers() {
        assert_eq!(lua_number(0.00202), "0.00202");
        assert_eq!(lua_number(0.00101), "0.00101");
        assert_eq!(lua_number(5.0), "5");
        assert_eq!(lua_number(1234.5), "1234.5");
        assert_eq!(lua_number(0.00001), "1e-05");
        assert_eq!(lua_number(1e15), "1e+15");
        assert_eq!(statsd_timer(&[b"x|y@z".to_vec()], 1010), "x_y_z:0.00101|ms");
    }

    #[test]
    fn span_time_format() {
        assert_eq!(format_span_time(3030), "00:00:00.000003030");
        assert_eq!(
            format_span_time(86_400_000_000_000 + 3_661_000_000_001),
            "01:01:01.000000001"
        );
    }
}
