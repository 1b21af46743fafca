//! The field catalog: every field a filter or `-p` format can name, with its type and a
//! one-line description (what `tracer fields` lists), and the resolution of a field
//! token such as `span.tag[-1]` or `evtin.span.p.arg.user` to a catalog entry plus its
//! argument.

use std::fmt;
use std::sync::LazyLock;

use super::literal::Unit;

/// The value type of a field, named as sysdig names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Signed 64-bit integer.
    Int64,
    /// Unsigned 64-bit integer.
    Uint64,
    /// Unsigned 32-bit integer.
    Uint32,
    /// A duration in nanoseconds.
    RelTime,
    /// An absolute time in nanoseconds.
    AbsTime,
    /// A byte string.
    CharBuf,
    /// `true` / `false`.
    Bool,
    /// An IPv4 or IPv6 address.
    IpAddr,
    /// A TCP/UDP port.
    Port,
}

impl FieldType {
    /// sysdig's name of the type (`INT64`, `CHARBUF`…).
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Int64 => "INT64",
            FieldType::Uint64 => "UINT64",
            FieldType::Uint32 => "UINT32",
            FieldType::RelTime => "RELTIME",
            FieldType::AbsTime => "ABSTIME",
            FieldType::CharBuf => "CHARBUF",
            FieldType::Bool => "BOOL",
            FieldType::IpAddr => "IPADDR",
            FieldType::Port => "PORT",
        }
    }

    /// True for the types compared as numbers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Int64
                | FieldType::Uint64
                | FieldType::Uint32
                | FieldType::RelTime
                | FieldType::AbsTime
                | FieldType::Port
        )
    }

    /// True for the unsigned numeric types (negative literals are rejected).
    pub fn is_unsigned(self) -> bool {
        matches!(
            self,
            FieldType::Uint64
                | FieldType::Uint32
                | FieldType::RelTime
                | FieldType::AbsTime
                | FieldType::Port
        )
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What argument a field takes after its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSpec {
    /// None: the name alone.
    None,
    /// A mandatory index `[N]` (negative N counts from the end where noted).
    Index,
    /// A mandatory non-negative tag depth `[N]`.
    Depth,
    /// An index `[N]` or a name `.NAME`.
    IndexOrName,
}

/// The scope of an `evtin.span*` field: which open spans an event can be "in".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `evtin.span.*`: spans entered by the event's own thread.
    Thread,
    /// `evtin.span.p.*`: spans entered by any thread of the event's process (C8).
    Process,
    /// `evtin.span.s.*`: spans of the process whose child the event's thread is.
    Children,
    /// `evtin.span.m.*`: every open span on the machine.
    Machine,
}

/// The property of an open span an `evtin.*` field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanProp {
    /// The span id.
    Id,
    /// Number of tags.
    Ntags,
    /// Number of enter arguments.
    Nargs,
    /// Tags joined with `.`.
    Tags,
    /// One tag (`[i]`; `.NAME` returns the last tag, as sysdig).
    Tag,
    /// Enter arguments as `name:value` joined with `,`.
    Args,
    /// One enter argument by index or by name (C9).
    Arg,
}

/// Which field (the catalog entry, without its argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FieldKind {
    EvtNum,
    EvtTime,
    EvtOutputTime,
    EvtRawTime,
    EvtType,
    EvtDir,
    EvtLatency,
    EvtRes,
    EvtRawRes,
    EvtFailed,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    EvtBuflen,
    EvtCpu,
    EvtInfo,
    FdNum,
    FdName,
    FdType,
    FdTypechar,
    FdDirectory,
    FdFilename,
    FdCip,
    FdSip,
    FdCport,
    FdSport,
    FdL4proto,
    FdIsServer,
    ProcPid,
    ProcName,
    ProcExe,
    ProcCmdline,
    ProcPpid,
    ThreadTid,
    SpanId,
    SpanTime,
    SpanNtags,
    SpanNargs,
    SpanTags,
    SpanTag,
    SpanArgs,
    SpanArg,
    SpanEnterArgs,
    SpanEnterArg,
    SpanDuration,
    SpanDurationHuman,
    SpanDurationQuantized,
    SpanDurationFortag,
    SpanCount,
    SpanCountFortag,
    SpanChildcountFortag,
    SpanIdtag,
    SpanRawtime,
    SpanRawparenttime,
    /// `evtin.span[.p|.s|.m].PROP`.
    Evtin(Scope, SpanProp),
}

/// One catalog entry.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Field name as written (`span.tag`; the argument is not part of it).
    pub name: String,
    /// Which field.
    pub kind: FieldKind,
    /// Value type.
    pub ty: FieldType,
    /// Unit of numeric literals compared with it.
    pub unit: Unit,
    /// Argument it takes.
    pub arg: ArgSpec,
    /// One-line description.
    pub desc: String,
}

impl FieldDef {
    /// The name as a user writes it, with a placeholder for the argument
    /// (`span.tag[N]`, `span.arg[N]|.NAME`).
    pub fn display_name(&self) -> String {
        match self.arg {
            ArgSpec::None => self.name.clone(),
            ArgSpec::Index | ArgSpec::Depth => format!("{}[N]", self.name),
            ArgSpec::IndexOrName => format!("{}[N] / {}.NAME", self.name, self.name),
        }
    }
}

/// The argument given to a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldArg {
    /// No argument.
    None,
    /// `[N]`.
    Index(i64),
    /// `.NAME` (bytes, matched exactly).
    Name(Vec<u8>),
}

/// A resolved field reference: catalog entry plus argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// Which field.
    pub kind: FieldKind,
    /// Its argument.
    pub arg: FieldArg,
    /// Value type.
    pub ty: FieldType,
    /// Unit of literals.
    pub unit: Unit,
}

impl FieldRef {
    /// True for fields that need span state tracking (the engine must keep open span
    /// records for them to have values).
    pub fn needs_span_tracking(&self) -> bool {
        use FieldKind::*;
        matches!(
            self.kind,
            SpanTime
                | SpanArgs
                | SpanArg
                | SpanEnterArgs
                | SpanEnterArg
                | SpanDuration
                | SpanDurationHuman
                | SpanDurationQuantized
                | SpanDurationFortag
                | SpanIdtag
                | SpanRawtime
                | SpanRawparenttime
                | Evtin(..)
        )
    }
}

static CATALOG: LazyLock<Vec<FieldDef>> = LazyLock::new(super::catalog::build);

/// The whole field catalog, in listing order.
pub fn catalog() -> &'static [FieldDef] {
    &CATALOG
}

/// The catalog as text, one field per line: name (with its argument form), type and
/// description, aligned (what `tracer fields` prints).
pub fn listing() -> String {
    let rows: Vec<(String, &FieldDef)> = catalog().iter().map(|d| (d.display_name(), d)).collect();
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, d) in rows {
        out.push_str(&format!("{name:<width$}  {:<7}  {}\n", d.ty.name(), d.desc));
    }
    out
}

/// Why a field token did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// What is wrong.
    pub message: String,
    /// A close catalog name, if any.
    pub suggestion: Option<String>,
}

/// Resolves a field token (`span.tag[-1]`, `span.arg.user`, `evt.type`) to a field.
pub fn resolve(token: &str) -> Result<FieldRef, ResolveError> {
    let mut best: Option<(&FieldDef, &str)> = None;
    for d in catalog() {
        let Some(rest) = token.strip_prefix(d.name.as_str()) else {
            continue;
        };
        let fits = match d.arg {
            ArgSpec::None => rest.is_empty(),
            _ => rest.is_empty() || rest.starts_with('[') || rest.starts_with('.'),
        };
        if fits && best.is_none_or(|(b, _)| b.name.len() < d.name.len()) {
            best = Some((d, rest));
        }
    }
    let Some((d, rest)) = best else {
        return Err(ResolveError {
            message: format!("unknown field '{token}'"),
            suggestion: suggest_field(token),
        });
    };
    let arg = parse_arg(d, rest)?;
    Ok(FieldRef {
        kind: d.kind,
        arg,
        ty: d.ty,
        unit: d.unit,
    })
}

fn parse_arg(d: &FieldDef, rest: &str) -> Result<FieldArg, ResolveError> {
    let err = |message: String| ResolveError {
        message,
        suggestion: Some(d.display_name()),
    };
    if d.arg == ArgSpec::None {
        return Ok(FieldArg::None);
    }
    if rest.is_empty() {
        return Err(err(match d.arg {
            ArgSpec::IndexOrName => format!(
                "field '{}' needs an index or a name, e.g. '{}[0]' or '{}.NAME'",
                d.name, d.name, d.name
            ),
            _ => format!("field '{}' needs an index, e.g. '{}[0]'", d.name, d.name),
        }));
    }
    if let Some(inner) = rest.strip_prefix('[') {
        let Some(num) = inner.strip_suffix(']') else {
            return Err(err(format!(
                "'{}{rest}': expected ']' after the index",
                d.name
            )));
        };
        let n: i64 = num
            .trim()
            .parse()
            .map_err(|_| err(format!("'{}{rest}': the index must be an integer", d.name)))?;
        if d.arg == ArgSpec::Depth && n < 0 {
            return Err(err(format!(
                "'{}{rest}': the tag depth must not be negative",
                d.name
            )));
        }
        return Ok(FieldArg::Index(n));
    }
    // `.NAME`
    let name = &rest[1..];
    if d.arg != ArgSpec::IndexOrName {
        return Err(err(format!(
            "field '{}' takes an index '[N]', not a name ('{}{rest}')",
            d.name, d.name
        )));
    }
    if name.is_empty() {
        return Err(err(format!("'{}{rest}': empty argument name", d.name)));
    }
    Ok(FieldArg::Name(name.as_bytes().to_vec()))
}

/// The catalog name closest to `token` (edit distance), if it is close enough.
pub fn suggest_field(token: &str) -> Option<String> {
    let base = token.split('[').next().unwrap_or(token);
    closest(base, catalog().iter().map(|d| d.name.as_str())).map(str::to_string)
}

/// The candidate closest to `word` by edit distance, if close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 4);
    candidates
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|&(dist, _)| dist <= limit)
        .min_by_key(|&(dist, _)| dist)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_complete_and_unique() {
        let names: Vec<&str> = catalog().iter().map(|d| d.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate field names");
        for required in [
            "span.id",
            "span.time",
            "span.ntags",
            "span.nargs",
            "span.tags",
            "span.tag",
            "span.args",
            "span.arg",
            "span.enterargs",
            "span.enterarg",
            "span.duration",
            "span.duration.human",
            "span.duration.quantized",
            "span.count",
            "span.duration.fortag",
            "span.count.fortag",
            "span.childcount.fortag",
            "evtin.span.arg",
            "evtin.span.p.tags",
            "evtin.span.s.id",
            "evtin.span.m.nargs",
            "evt.num",
            "evt.time",
            "evt.rawtime",
            "evt.type",
            "evt.dir",
            "evt.latency",
            "evt.res",
            "evt.is_io",
            "evt.is_io_read",
            "evt.is_io_write",
            "evt.buflen",
            "evt.rawres",
            "evt.failed",
            "fd.num",
            "fd.name",
            "fd.type",
            "fd.typechar",
            "fd.directory",
            "fd.filename",
            "fd.cip",
            "fd.sip",
            "fd.cport",
            "fd.sport",
            "fd.l4proto",
            "fd.is_server",
            "proc.pid",
            "proc.name",
            "proc.exe",
            "proc.cmdline",
            "proc.ppid",
            "thread.tid",
        ] {
            assert!(names.contains(&required), "{required} missing");
        }
        assert_eq!(names.iter().filter(|n| n.starts_with("evtin.")).count(), 28);
        for d in catalog() {
            assert!(!d.desc.is_empty() && !d.desc.contains('\n'), "{}", d.name);
        }
    }

    #[test]
    fn resolves_arguments() {
        let f = resolve("span.tag[-1]").unwrap();
        assert_eq!((f.kind, f.arg), (FieldKind::SpanTag, FieldArg::Index(-1)));
        let f = resolve("span.arg.user").unwrap();
        assert_eq!(f.arg, FieldArg::Name(b"user".to_vec()));
        let f = resolve("span.arg.a.b:c").unwrap();
        assert_eq!(f.arg, FieldArg::Name(b"a.b:c".to_vec()));
        let f = resolve("span.args").unwrap();
        assert_eq!(f.kind, FieldKind::SpanArgs);
        let f = resolve("span.duration.fortag[2]").unwrap();
        assert_eq!(
            (f.kind, f.arg),
            (FieldKind::SpanDurationFortag, FieldArg::Index(2))
        );
        assert_eq!(
            resolve("span.duration").unwrap().kind,
            FieldKind::SpanDuration
        );
        assert_eq!(
            resolve("span.duration.human").unwrap().kind,
            FieldKind::SpanDurationHuman
        );
        let f = resolve("evtin.span.p.arg.z").unwrap();
        assert_eq!(f.kind, FieldKind::Evtin(Scope::Process, SpanProp::Arg));
        assert_eq!(f.arg, FieldArg::Name(b"z".to_vec()));
        let f = resolve("evtin.span.tag[0]").unwrap();
        assert_eq!(f.kind, FieldKind::Evtin(Scope::Thread, SpanProp::Tag));
        let f = resolve("evtin.span.m.tags").unwrap();
        assert_eq!(f.kind, FieldKind::Evtin(Scope::Machine, SpanProp::Tags));
    }

    #[test]
    fn rejects_bad_arguments() {
        let e = resolve("span.tag").unwrap_err();
        assert!(e.message.contains("needs an index"), "{e:?}");
        let e = resolve("span.tag.x").unwrap_err();
        assert!(e.message.contains("takes an index"), "{e:?}");
        assert!(resolve("span.tag[x]")
            .unwrap_err()
            .message
            .contains("integer"));
        assert!(resolve("span.tag[1").unwrap_err().message.contains("']'"));
        assert!(resolve("span.count.fortag[-1]").is_err());
        assert!(resolve("span.arg.").is_err());
        assert!(resolve("evtin.span.arg").is_err());
        assert!(resolve("evt.type[0]").is_err());
    }

    #[test]
    fn did_you_mean() {
        let e = resolve("evt.typ").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("evt.type"));
        let e = resolve("span.durration").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("span.duration"));
        let e = resolve("proc.nmae").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("proc.name"));
        let e = resolve("evtin.span.tgas").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("evtin.span.tags"));
        assert_eq!(resolve("zzzzzzzzzz").unwrap_err().suggestion, None);
    }

    #[test]
    fn listing_has_every_field() {
        let text = listing();
        assert_eq!(text.lines().count(), catalog().len());
        assert!(text
            .lines()
            .any(|l| l.starts_with("span.tag[N] ") && l.contains("CHARBUF")));
        assert!(text.contains("evtin.span.p.arg[N] / evtin.span.p.arg.NAME"));
    }

    #[test]
    fn tracking_needs() {
        assert!(resolve("span.duration").unwrap().needs_span_tracking());
        assert!(resolve("evtin.span.tags").unwrap().needs_span_tracking());
        assert!(!resolve("span.nargs").unwrap().needs_span_tracking());
        assert!(!resolve("fd.name").unwrap().needs_span_tracking());
    }
}
