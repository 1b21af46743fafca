//! Small builders for OTLP attribute values, and a capped attribute list that counts
//! what it drops (the SDK default limit is 128 attributes per span).

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, ArrayValue, KeyValue};

/// The SDK default limit on attributes per span (and on events per span).
pub const MAX_ATTRIBUTES: usize = 128;

/// A string value.
pub fn string(v: impl Into<String>) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v.into())),
    }
}

/// An integer value (saturating at `i64::MAX`).
pub fn int(v: u64) -> AnyValue {
    AnyValue {
        value: Some(Value::IntValue(i64::try_from(v).unwrap_or(i64::MAX))),
    }
}

/// A signed integer value.
pub fn int_signed(v: i64) -> AnyValue {
    AnyValue {
        value: Some(Value::IntValue(v)),
    }
}

/// A boolean value.
pub fn boolean(v: bool) -> AnyValue {
    AnyValue {
        value: Some(Value::BoolValue(v)),
    }
}

/// An array of strings.
pub fn strings<I: IntoIterator<Item = String>>(v: I) -> AnyValue {
    AnyValue {
        value: Some(Value::ArrayValue(ArrayValue {
            values: v.into_iter().map(string).collect(),
        })),
    }
}

/// One key/value pair.
pub fn kv(key: impl Into<String>, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(value),
        ..Default::default()
    }
}

/// Bytes as text (lossy UTF-8).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An attribute list holding at most `cap` entries; later ones are counted as dropped.
#[derive(Debug)]
pub struct Capped {
    /// The kept attributes.
    pub list: Vec<KeyValue>,
    /// How many were dropped.
    pub dropped: u32,
    cap: usize,
}

impl Capped {
    /// An empty list with room for `cap` entries.
    pub fn new(cap: usize) -> Self {
        Capped {
            list: Vec::new(),
            dropped: 0,
            cap,
        }
    }

    /// Adds an attribute, or counts it as dropped when full. A key already present is
    /// replaced in place (OTel attribute keys are unique).
    pub fn push(&mut self, key: impl Into<String>, value: AnyValue) {
        let key = key.into();
        if let Some(existing) = self.list.iter_mut().find(|k| k.key == key) {
            existing.value = Some(value);
        } else {
            self.push_new(key, value);
        }
    }

    /// Adds an attribute whose key the caller knows is not present yet (no duplicate
    /// search), or counts it as dropped when full.
    pub fn push_new(&mut self, key: impl Into<String>, value: AnyValue) {
        if self.list.len() < self.cap {
            self.list.push(kv(key, value));
        } else {
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_counts_drops_and_replaces_duplicates() {
        let mut c = Capped::new(2);
        c.push("a", int(1));
        c.push("b", int(2));
        c.push("a", int(3));
        c.push("c", int(4));
        c.push("d", int(5));
        assert_eq!(c.list.len(), 2);
        assert_eq!(c.dropped, 2);
        assert_eq!(c.list[0].value, Some(int(3)));
        assert_eq!(int(u64::MAX), int_signed(i64::MAX));
    }
}
