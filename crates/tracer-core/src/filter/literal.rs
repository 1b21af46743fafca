//! Literal values in filters: integers, durations and byte sizes.
//!
//! sysdig 0.29.3 accepts only plain decimal integers for numeric fields (nanoseconds for
//! times, bytes for sizes). The project accepts those too, and, as an extension, unit
//! suffixes on the fields whose unit is time or bytes:
//!
//! - durations: `ns`, `us` (or `µs`), `ms`, `s`, `m` (minutes), `h`, with an optional
//!   fraction (`1.5s`, `0.25ms`); the result is rounded down to whole nanoseconds;
//! - byte sizes: `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB` (case-insensitive),
//!   all powers of 1024, which is how sysdig *prints* sizes (`1.07KB` = 1100 bytes).

/// What a numeric literal measures, which decides the suffixes it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A plain number: no suffix allowed.
    Plain,
    /// Nanoseconds: duration suffixes allowed.
    Nanos,
    /// Bytes: size suffixes allowed.
    Bytes,
}

/// Why a literal was rejected (the caller adds the position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralError(pub String);

const DURATION_UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

const SIZE_UNITS: &[(&str, u128)] = &[
    ("b", 1),
    ("k", 1 << 10),
    ("kb", 1 << 10),
    ("kib", 1 << 10),
    ("m", 1 << 20),
    ("mb", 1 << 20),
    ("mib", 1 << 20),
    ("g", 1 << 30),
    ("gb", 1 << 30),
    ("gib", 1 << 30),
    ("t", 1 << 40),
    ("tb", 1 << 40),
    ("tib", 1 << 40),
];

/// Parses a numeric literal for a field measured in `unit`.
///
/// Plain integers (optionally signed) are always accepted. A unit suffix is accepted only
/// for [`Unit::Nanos`] and [`Unit::Bytes`]; a fraction only together with a suffix.
/// The result is an `i128` so that every `i64` and `u64` field value compares exactly.
pub fn parse_number(text: &str, unit: Unit) -> Result<i128, LiteralError> {
    let bad = || LiteralError(format!("'{text}' is not a valid number"));
    if let Some(v) = parse_integer(text) {
        return Ok(v);
    }
    // Split into the numeric part and the suffix.
    let split = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map(|(i, _)| i)
        .ok_or_else(bad)?;
    let (num, suffix) = text.split_at(split);
    let table = match unit {
        Unit::Plain => return Err(bad()),
        Unit::Nanos => DURATION_UNITS,
        Unit::Bytes => SIZE_UNITS,
    };
    let lower = suffix.to_ascii_lowercase();
    let key = if unit == Unit::Nanos {
        suffix
    } else {
        lower.as_str()
    };
    let scale = table
        .iter()
        .find(|(name, _)| *name == key)
        .map(|&(_, s)| s)
        .ok_or_else(|| {
            let units: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            LiteralError(format!(
                "'{text}': unknown unit '{suffix}' (expected one of {})",
                units.join(", ")
            ))
        })?;
    let (neg, digits) = match num.as_bytes().first() {
        Some(b'-') => (true, &num[1..]),
        Some(b'+') => (false, &num[1..]),
        _ => (false, num),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let int_val: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| bad())?
    };
    let mut value = int_val.checked_mul(scale).ok_or_else(bad)?;
    // Fraction: add floor(frac * scale) exactly, digit by digit.
    let mut denom: u128 = 1;
    let mut frac_num: u128 = 0;
    for d in frac_part.bytes().take(30) {
        denom *= 10;
        frac_num = frac_num * 10 + u128::from(d - b'0');
    }
    value += frac_num * scale / denom;
    if value > u64::MAX as u128 {
        return Err(LiteralError(format!("'{text}' is out of range")));
    }
    let v = value as i128;
    Ok(if neg { -v } else { v })
}

/// A plain decimal integer with an optional sign, in the `i64`/`u64` range.
fn parse_integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i128 = text.parse().ok()?;
    (i128::from(i64::MIN)..=i128::from(u64::MAX))
        .contains(&v)
        .then_some(v)
}

/// Parses a boolean literal as sysdig does: `true` or `false` (lower case only).
pub fn parse_bool(text: &str) -> Result<bool, LiteralError> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(LiteralError(format!(
            "unrecognized boolean value '{text}' (expected true or false)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_integers_everywhere() {
        for unit in [Unit::Plain, Unit::Nanos, Unit::Bytes] {
            assert_eq!(parse_number("0", unit), Ok(0));
            assert_eq!(parse_number("1500", unit), Ok(1500));
            assert_eq!(parse_number("-3", unit), Ok(-3));
            assert_eq!(parse_number("+3", unit), Ok(3));
            assert_eq!(
                parse_number("18446744073709551615", unit),
                Ok(u64::MAX as i128)
            );
        }
        assert!(parse_number("18446744073709551616", Unit::Plain).is_err());
        assert!(parse_number("-9223372036854775809", Unit::Plain).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_number("500ms", Unit::Nanos), Ok(500_000_000));
        assert_eq!(parse_number("1.5s", Unit::Nanos), Ok(1_500_000_000));
        assert_eq!(parse_number("10us", Unit::Nanos), Ok(10_000));
        assert_eq!(parse_number("10µs", Unit::Nanos), Ok(10_000));
        assert_eq!(parse_number("7ns", Unit::Nanos), Ok(7));
        assert_eq!(parse_number("2m", Unit::Nanos), Ok(120_000_000_000));
        assert_eq!(parse_number("1h", Unit::Nanos), Ok(3_600_000_000_000));
        assert_eq!(parse_number(".5ms", Unit::Nanos), Ok(500_000));
        assert_eq!(parse_number("0.0000000015s", Unit::Nanos), Ok(1));
        assert!(parse_number("1.5", Unit::Nanos).is_err());
        assert!(parse_number("5MS", Unit::Nanos).is_err());
        assert!(parse_number("5parsecs", Unit::Nanos)
            .unwrap_err()
            .0
            .contains("unknown unit"));
        assert!(parse_number("ms", Unit::Nanos).is_err());
        assert!(parse_number("1.2.3s", Unit::Nanos).is_err());
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_number("10KB", Unit::Bytes), Ok(10 * 1024));
        assert_eq!(parse_number("10kb", Unit::Bytes), Ok(10 * 1024));
        assert_eq!(parse_number("1.5MiB", Unit::Bytes), Ok(3 << 19));
        assert_eq!(parse_number("1G", Unit::Bytes), Ok(1 << 30));
        assert_eq!(parse_number("3B", Unit::Bytes), Ok(3));
        assert!(parse_number("10ms", Unit::Bytes).is_err());
    }

    #[test]
    fn plain_fields_reject_suffixes_like_sysdig() {
        for t in ["1ms", "1K", "0x10", "1.5", "abc", ""] {
            let e = parse_number(t, Unit::Plain).unwrap_err();
            assert!(e.0.contains("is not a valid number"), "{t}: {e:?}");
        }
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("true"), Ok(true));
        assert_eq!(parse_bool("false"), Ok(false));
        assert!(parse_bool("1").is_err());
        assert!(parse_bool("TRUE").is_err());
    }
}
