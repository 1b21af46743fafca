//! csysdig/chisel-style views as data (rendered by the CLI): traces summary by depth
//! with drill-down, traces list with children, spans spectrogram, bytes-by-field, and
//! statsd timer payloads. Semantics follow tracers-spec §7 with the policy's fixes
//! (C7 `[%depth+1]` columns, C10 enter times, C11 honoured statsd destination).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::bytestr::{join_args, join_tags};
use crate::correlate::Scope;
use crate::event_view::EventView;
use crate::spans::{SpanEnd, SpanRecord};
use crate::tagstats::TagRow;

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

/// One row of the traces/spans summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// The tag at the view's depth (the key).
    #[serde(with = "serde_bytes_one")]
    pub tag: Vec<u8>,
    /// Exit markers of spans with exactly depth+1 tags (matched or not, as sysdig).
    pub hits: u64,
    /// Mean duration of the matched ones, ns (0 without any).
    pub avg_ns: u64,
    /// Minimum duration, ns.
    pub min_ns: u64,
    /// Maximum duration, ns.
    pub max_ns: u64,
    /// Exit markers of deeper spans under this key.
    pub chd_hits: u64,
    /// Bytes in+out charged to spans with exactly depth+1 tags under this key.
    pub bytes: u64,
}

mod serde_bytes_one {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::bytestr::ByteStr;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        ByteStr(v.to_vec()).serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(ByteStr::deserialize(d)?.0)
    }
}

/// The traces summary at one drill-down level (`traces_summary` at depth 0,
/// `spans_summary` below).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracesSummary {
    /// Drill-down depth (0 = root tags).
    pub depth: usize,
    /// Tags selected above this level (length = depth).
    #[serde(with = "crate::bytestr::list")]
    pub prefix: Vec<Vec<u8>>,
    /// Rows, by hits descending (ties: first seen first).
    pub rows: Vec<SummaryRow>,
}

/// Builds the summary at `prefix.len()` depth from per-tag-path rows: every path with
/// more tags than the depth that starts with `prefix` contributes to the row of its tag
/// at that depth. Never-closed spans make their row appear with 0 hits.
pub fn traces_summary(tags: &[TagRow], prefix: &[Vec<u8>]) -> TracesSummary {
    let depth = prefix.len();
    let mut rows: Vec<SummaryRow> = Vec::new();
    let mut index: FxHashMap<&[u8], usize> = FxHashMap::default();
    let mut totals: Vec<(u128, u64)> = Vec::new();
    for t in tags {
        if t.tags.len() <= depth || t.tags[..depth] != *prefix {
            continue;
        }
        let key = t.tags[depth].as_slice();
        let i = *index.entry(key).or_insert_with(|| {
            rows.push(SummaryRow {
                tag: key.to_vec(),
                hits: 0,
                avg_ns: 0,
                min_ns: 0,
                max_ns: 0,
                chd_hits: 0,
                bytes: 0,
            });
            totals.push((0, 0));
            rows.len() - 1
        });
        let r = &mut rows[i];
        let exits = t.hits + t.unmatched_exits;
        if t.tags.len() == depth + 1 {
            r.hits += exits;
            r.bytes += t.io.total.total();
            if t.hits > 0 {
                if totals[i].1 == 0 || t.min_ns < r.min_ns {
                    r.min_ns = t.min_ns;
                }
                r.max_ns = r.max_ns.max(t.max_ns);
                totals[i].0 += t.total_ns;
                totals[i].1 += t.hits;
            }
        } else {
            r.chd_hits += exits;
        }
    }
    for (r, (sum, n)) in rows.iter_mut().zip(&totals) {
        if *n > 0 {
            r.avg_ns = (sum / *n as u128) as u64;
        }
    }
    // Stable sort keeps first-seen order among equal hits.
    rows.sort_by_key(|r| std::cmp::Reverse(r.hits));
    TracesSummary {
        depth,
        prefix: prefix.to_vec(),
        rows,
    }
}

/// One row of the traces list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRow {
    /// Span number (for drill-down).
    pub seq: u64,
    /// Span id.
    pub id: i64,
    /// Enter time (C10), ns.
    pub time_ns: u64,
    /// Duration, ns.
    pub duration_ns: u64,
    /// Tag at the list's depth.
    #[serde(with = "serde_bytes_one")]
    pub tag: Vec<u8>,
    /// Enter arguments as `name=value` joined with `,`.
    #[serde(with = "serde_bytes_one")]
    pub args: Vec<u8>,
    /// Child spans (one tag deeper, parent = this span), same ordering.
    pub children: Vec<TraceRow>,
}

/// The traces list: closed spans with exactly `depth+1` tags, longest first, each with
/// its children (spans whose parent is that span) nested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracesList {
    /// Depth of the top rows.
    pub depth: usize,
    /// Rows.
    pub rows: Vec<TraceRow>,
}

/// Builds the traces list from finished spans (closed ones are used). With
/// `parent_time = Some(t)` only spans whose parent entered at `t` are listed (csysdig's
/// drill-down by `span.rawparenttime`).
pub fn traces_list(spans: &[SpanRecord], depth: usize, parent_time: Option<u64>) -> TracesList {
    let closed: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.end == SpanEnd::Closed && s.duration_ns.is_some())
        .collect();
    let mut by_parent: FxHashMap<u64, Vec<&SpanRecord>> = FxHashMap::default();
    for s in &closed {
        if let Some(p) = s.parent {
            by_parent.entry(p).or_default().push(s);
        }
    }
    fn row(s: &SpanRecord, depth: usize, by_parent: &FxHashMap<u64, Vec<&SpanRecord>>) -> TraceRow {
        let mut children: Vec<TraceRow> = by_parent
            .get(&s.seq)
            .map(|v| {
                v.iter()
                    .filter(|c| c.tags.len() == depth + 2)
                    .map(|c| row(c, depth + 1, by_parent))
                    .collect()
            })
            .unwrap_or_default();
        children.sort_by_key(|r| std::cmp::Reverse(r.duration_ns));
        TraceRow {
            seq: s.seq,
            id: s.id,
            time_ns: s.enter_ts,
            duration_ns: s.duration_ns.unwrap_or(0),
            tag: s.tags.get(depth).cloned().unwrap_or_default(),
            args: join_args(&s.enter_args, b'='),
            children,
        }
    }
    let mut rows: Vec<TraceRow> = closed
        .iter()
        .filter(|s| s.tags.len() == depth + 1)
        .filter(|s| parent_time.is_none_or(|t| s.parent_enter_ts == Some(t)))
        .map(|s| row(s, depth, &by_parent))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.duration_ns));
    TracesList { depth, rows }
}

/// Spectrogram settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpectrogramConfig {
    /// Time slice per row, ns (csysdig: 500 ms).
    pub slice_ns: u64,
    /// Latency columns spanning 11 decades (1 ns … 100 s); csysdig uses the screen width.
    pub columns: u32,
    /// Only spans with exactly `depth+1` tags (and the prefix) count.
    pub depth: usize,
}

impl Default for SpectrogramConfig {
    fn default() -> Self {
        SpectrogramConfig {
            slice_ns: 500_000_000,
            columns: 110,
            depth: 0,
        }
    }
}

/// One time slice of the spectrogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpectroRow {
    /// Start of the slice, ns.
    pub start_ns: u64,
    /// Span counts per latency column.
    pub counts: Vec<u64>,
}

/// Latency spectrogram of spans (`spectro_traces`): rows are time slices (by exit
/// time), columns log10-quantized durations: column = floor(min(log10(d), 11) × W / 11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spectrogram {
    /// Settings.
    pub config: SpectrogramConfig,
    /// Tag prefix selected (length = depth).
    #[serde(with = "crate::bytestr::list")]
    pub prefix: Vec<Vec<u8>>,
    /// Slices in time order (empty slices included between non-empty ones).
    pub rows: Vec<SpectroRow>,
}

impl Spectrogram {
    /// An empty spectrogram.
    pub fn new(config: SpectrogramConfig, prefix: Vec<Vec<u8>>) -> Self {
        let config = SpectrogramConfig {
            columns: config.columns.max(1),
            slice_ns: config.slice_ns.max(1),
            ..config
        };
        Spectrogram {
            config,
            prefix,
            rows: Vec::new(),
        }
    }

    /// The column of a duration (`None` for 0, which sysdig leaves out).
    pub fn column(&self, duration_ns: u64) -> Option<usize> {
        if duration_ns == 0 {
            return None;
        }
        let w = self.config.columns as f64;
        let l = (duration_ns as f64).log10().min(11.0);
        let x = (l * w / 11.0).floor() as usize;
        Some(x.min(self.config.columns as usize - 1))
    }

    /// The lower bound (ns) of a column: 10^(11·x/W).
    pub fn column_floor_ns(&self, x: usize) -> f64 {
        10f64.powf(11.0 * x as f64 / self.config.columns as f64)
    }

    /// Adds a finished span (ignored unless closed, at the right depth and prefix).
    pub fn add(&mut self, s: &SpanRecord) {
        let (Some(d), Some(exit)) = (s.duration_ns, s.exit_ts) else {
            return;
        };
        let depth = self.config.depth;
        if s.tags.len() != depth + 1 || s.tags[..depth] != self.prefix[..] {
            return;
        }
        let Some(col) = self.column(d) else {
            return;
        };
        let slice = self.config.slice_ns;
        let start = exit - exit % slice;
        let cols = self.config.columns as usize;
        match self.rows.last() {
            None => self.rows.push(SpectroRow {
                start_ns: start,
                counts: vec![0; cols],
            }),
            Some(last) if start > last.start_ns => {
                let mut t = last.start_ns + slice;
                while t <= start {
                    self.rows.push(SpectroRow {
                        start_ns: t,
                        counts: vec![0; cols],
                    });
                    t += slice;
                }
            }
            _ => {}
        }
        // Spans finish in time order, so the row is the last one (or an earlier one
        // when a consumer feeds spans out of order).
        let row = match self.rows.iter_mut().rev().find(|r| r.start_ns <= start) {
            Some(r) => r,
            None => {
                self.rows.insert(
                    0,
                    SpectroRow {
                        start_ns: start,
                        counts: vec![0; cols],
                    },
                );
                &mut self.rows[0]
            }
        };
        row.counts[col] += 1;
    }
}

/// The field a bytes-by table groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ByField {
    /// `evtin.span[.p|.s|.m].tags`.
    SpanTags(Scope),
    /// `evtin.span[.p|.s|.m].tag[N]` (negative N counts from the end).
    SpanTag(Scope, i32),
    /// `evtin.span[.p|.s|.m].id`.
    SpanId(Scope),
    /// `fd.name`.
    FdName,
    /// `fd.type`.
    FdType,
    /// `proc.name`.
    ProcName,
}

impl ByField {
    /// Parses a field name (`evtin.span.tags`, `evtin.span.p.tag[0]`, `fd.name`…).
    pub fn parse(name: &str) -> Option<ByField> {
        match name {
            "fd.name" => return Some(ByField::FdName),
            "fd.type" => return Some(ByField::FdType),
            "proc.name" => return Some(ByField::ProcName),
            _ => {}
        }
        let scopes = [
            ("evtin.span.p.", Scope::Process),
            ("evtin.span.s.", Scope::Children),
            ("evtin.span.m.", Scope::Machine),
            ("evtin.span.", Scope::Thread),
        ];
        for (prefix, scope) in scopes {
            if let Some(rest) = name.strip_prefix(prefix) {
                if rest == "tags" {
                    return Some(ByField::SpanTags(scope));
                }
                if rest == "id" {
                    return Some(ByField::SpanId(scope));
                }
                let n = rest.strip_prefix("tag[")?.strip_suffix(']')?;
                return n.parse().ok().map(|n| ByField::SpanTag(scope, n));
            }
        }
        None
    }
}

/// sysdig `fdbytes_by`: sums `evt.rawarg.res` of successful I/O events
/// (`evt.is_io=true and evt.failed=false`) grouped by a field; events where the field is
/// NULL are skipped. `evtin.*` keys follow sysdig's extraction: the innermost candidate
/// under the scope, NULL on threads that never wrote a marker.
///
/// Keys are looked up by interned ids on the hot path; the text of a key is built once.
#[derive(Debug, Clone)]
pub struct BytesBy {
    field: ByField,
    ids: FxHashMap<IdKey, usize>,
    texts: FxHashMap<Vec<u8>, usize>,
    rows: Vec<(Vec<u8>, u64)>,
}

/// Cheap per-event key; several keys may share a row (same text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IdKey {
    Path(u32),
    Name(u32),
    Id(i64),
    Static(&'static str),
}

/// A finished bytes-by table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BytesByTable {
    /// The field grouped on.
    pub field: ByField,
    /// `(key, bytes)`, bytes descending (ties: first seen first).
    pub rows: Vec<(crate::bytestr::ByteStr, u64)>,
}

impl BytesBy {
    /// A table grouping on `field`.
    pub fn new(field: ByField) -> Self {
        BytesBy {
            field,
            ids: FxHashMap::default(),
            texts: FxHashMap::default(),
            rows: Vec::new(),
        }
    }

    /// The row of a key text, created when new.
    fn row_of_text(&mut self, text: &[u8]) -> usize {
        if let Some(&r) = self.texts.get(text) {
            return r;
        }
        self.rows.push((text.to_vec(), 0));
        self.texts.insert(text.to_vec(), self.rows.len() - 1);
        self.rows.len() - 1
    }

    fn add_id(&mut self, key: IdKey, bytes: u64, text: impl FnOnce() -> Vec<u8>) {
        let row = match self.ids.get(&key) {
            Some(&r) => r,
            None => {
                let r = self.row_of_text(&text());
                self.ids.insert(key, r);
                r
            }
        };
        self.rows[row].1 += bytes;
    }

    /// Adds one event.
    pub fn add(&mut self, v: &EventView<'_>) {
        let Some(sc) = v.syscall() else {
            return;
        };
        if sc.io_dir.is_none() || sc.syscall.res < 0 {
            return;
        }
        let bytes = sc.syscall.res as u64;
        let span_of = |scope: Scope| {
            let t = v.thread?;
            if !t.has_tracer_state {
                return None;
            }
            v.spans.innermost(scope, t)
        };
        match self.field {
            ByField::SpanTags(scope) => {
                if let Some(r) = span_of(scope) {
                    self.add_id(IdKey::Path(r.path), bytes, || join_tags(&r.tags));
                }
            }
            ByField::SpanId(scope) => {
                if let Some(r) = span_of(scope) {
                    self.add_id(IdKey::Id(r.id), bytes, || r.id.to_string().into_bytes());
                }
            }
            ByField::SpanTag(scope, n) => {
                if let Some(r) = span_of(scope) {
                    let len = r.tags.len() as i64;
                    let i = if n < 0 { len + n as i64 } else { n as i64 };
                    if (0..len).contains(&i) {
                        self.add_id(IdKey::Path(r.path), bytes, || r.tags[i as usize].clone());
                    }
                }
            }
            ByField::FdName => {
                if let Some(f) = v.fd {
                    let fds = v.fds;
                    self.add_id(IdKey::Name(f.name_id), bytes, || {
                        fds.name(f.name_id).as_bytes().to_vec()
                    });
                }
            }
            ByField::FdType => {
                if let Some(f) = v.fd {
                    match &f.target {
                        crate::event::FdTarget::Other(_) => {
                            let fds = v.fds;
                            self.add_id(IdKey::Name(f.name_id), bytes, || {
                                fds.name(f.name_id).as_bytes().to_vec()
                            })
                        }
                        _ => {
                            let name: &'static str = match f.type_name() {
                                "file" => "file",
                                "directory" => "directory",
                                "ipv4" => "ipv4",
                                "ipv6" => "ipv6",
                                "unix" => "unix",
                                "pipe" => "pipe",
                                _ => "unknown",
                            };
                            self.add_id(IdKey::Static(name), bytes, || name.as_bytes().to_vec());
                        }
                    }
                }
            }
            ByField::ProcName => {
                if let Some(t) = v.thread {
                    let row = self.row_of_text(t.comm.as_bytes());
                    self.rows[row].1 += bytes;
                }
            }
        }
    }

    /// The table.
    pub fn table(&self) -> BytesByTable {
        let mut rows: Vec<(crate::bytestr::ByteStr, u64)> = self
            .rows
            .iter()
            .map(|(k, b)| (crate::bytestr::ByteStr(k.clone()), *b))
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1));
        BytesByTable {
            field: self.field,
            rows,
        }
    }

    /// The sum for one key text.
    pub fn get(&self, key: &[u8]) -> Option<u64> {
        self.texts.get(key).map(|&r| self.rows[r].1)
    }
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

    #[test]
    fn byfield_parse() {
        assert_eq!(
            ByField::parse("evtin.span.tags"),
            Some(ByField::SpanTags(Scope::Thread))
        );
        assert_eq!(
            ByField::parse("evtin.span.p.tag[1]"),
            Some(ByField::SpanTag(Scope::Process, 1))
        );
        assert_eq!(
            ByField::parse("evtin.span.m.tag[-1]"),
            Some(ByField::SpanTag(Scope::Machine, -1))
        );
        assert_eq!(ByField::parse("fd.type"), Some(ByField::FdType));
        assert_eq!(ByField::parse("nope"), None);
    }

    #[test]
    fn spectrogram_columns() {
        let s = Spectrogram::new(
            SpectrogramConfig {
                slice_ns: 10,
                columns: 11,
                depth: 0,
            },
            vec![],
        );
        assert_eq!(s.column(0), None);
        assert_eq!(s.column(1), Some(0));
        assert_eq!(s.column(10), Some(1));
        assert_eq!(s.column(999), Some(2));
        assert_eq!(s.column(1000), Some(3));
        assert_eq!(s.column(u64::MAX), Some(10));
    }
}
