//! statsd timer datagrams, as sysdig's `tracers_2_statsd` chisel writes them (the
//! payload itself comes from [`tracer_core::views::statsd_timer`]), plus an optional
//! metric-name prefix.

use tracer_core::views::statsd_timer;

/// One timer datagram for a span with these tags: `[prefix.]name:ms|ms`, where the
/// prefix gets the same `:` `|` `@` → `_` cleaning as the tags.
pub fn timer_payload(tags: &[Vec<u8>], duration_ns: u64, prefix: Option<&str>) -> String {
    let body = statsd_timer(tags, duration_ns);
    match prefix.map(|p| p.trim_end_matches('.')) {
        Some(p) if !p.is_empty() => format!("{}.{body}", p.replace([':', '|', '@'], "_")),
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<Vec<u8>> {
        s.split('.').map(|t| t.as_bytes().to_vec()).collect()
    }

    #[test]
    fn payloads_match_sysdig_s19() {
        assert_eq!(timer_payload(&tags("a.b"), 2020, None), "a.b:0.00202|ms");
        assert_eq!(
            timer_payload(&tags("x|y@z"), 1010, None),
            "x_y_z:0.00101|ms"
        );
        assert_eq!(timer_payload(&tags("a:b"), 5_000_000, None), "a_b:5|ms");
    }

    #[test]
    fn prefix_is_joined_with_a_dot() {
        assert_eq!(
            timer_payload(&tags("h.w"), 1_500_000, Some("app")),
            "app.h.w:1.5|ms"
        );
        assert_eq!(
            timer_payload(&tags("h"), 1_000_000, Some("app.")),
            "app.h:1|ms"
        );
        assert_eq!(
            timer_payload(&tags("h"), 1_000_000, Some("a|b")),
            "a_b.h:1|ms"
        );
        assert_eq!(timer_payload(&tags("h"), 1_000_000, Some("")), "h:1|ms");
    }
}
