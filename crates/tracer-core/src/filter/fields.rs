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

fn def(
    name: &str,
    kind: FieldKind,
    ty: FieldType,
    arg: ArgSpec,
    unit: Unit,
    desc: &str,
) -> FieldDef {
    FieldDef {
        name: name.to_string(),
        kind,
        ty,
        unit,
        arg,
        desc: desc.to_string(),
    }
}

fn build_catalog() -> Vec<FieldDef> {
    use ArgSpec as A;
    use FieldKind::*;
    use FieldType as T;
    use Unit::{Bytes, Nanos, Plain};
    let mut v = vec![
        def("evt.num", EvtNum, T::Uint64, A::None, Plain, "sequence number of the event in the stream (enter and exit counted separately)"),
        def("evt.time", EvtTime, T::CharBuf, A::None, Plain, "event time as HH:MM:SS.nnnnnnnnn (UTC)"),
        def("evt.outputtime", EvtOutputTime, T::CharBuf, A::None, Plain, "event time as printed in the default output line (same as evt.time)"),
        def("evt.rawtime", EvtRawTime, T::AbsTime, A::None, Nanos, "event time in nanoseconds since the epoch (or since boot for live probes)"),
        def("evt.type", EvtType, T::CharBuf, A::None, Plain, "event name: the syscall name, or 'tracer' for span markers"),
        def("evt.dir", EvtDir, T::CharBuf, A::None, Plain, "'>' for an enter event, '<' for an exit event"),
        def("evt.latency", EvtLatency, T::RelTime, A::None, Nanos, "on exit events, time spent in the syscall (exit minus enter) in ns; 0 otherwise"),
        def("evt.res", EvtRes, T::CharBuf, A::None, Plain, "return value as text on exit events: SUCCESS, an errno name (ENOENT…) or the number"),
        def("evt.rawres", EvtRawRes, T::Int64, A::None, Bytes, "return value as a number on exit events (negative errno on failure)"),
        def("evt.failed", EvtFailed, T::Bool, A::None, Plain, "true for exit events that returned an error"),
        def("evt.is_io", EvtIsIo, T::Bool, A::None, Plain, "true for events that read or write an fd (read, send, recvfrom…)"),
        def("evt.is_io_read", EvtIsIoRead, T::Bool, A::None, Plain, "true for events that read from an fd"),
        def("evt.is_io_write", EvtIsIoWrite, T::Bool, A::None, Plain, "true for events that write to an fd"),
        def("evt.buflen", EvtBuflen, T::Uint32, A::None, Bytes, "bytes transferred by an I/O exit event"),
        def("evt.cpu", EvtCpu, T::Uint32, A::None, Plain, "CPU the event happened on (0 when the source does not record it)"),
        def("evt.info", EvtInfo, T::CharBuf, A::None, Plain, "the event's arguments as text (approximation of sysdig's rendering)"),
        def("fd.num", FdNum, T::Int64, A::None, Plain, "file descriptor number the event operates on"),
        def("fd.name", FdName, T::CharBuf, A::None, Plain, "fd name: file path, 'cip:cport->sip:sport' for sockets, unix path…"),
        def("fd.type", FdType, T::CharBuf, A::None, Plain, "fd type: file, directory, ipv4, ipv6, unix, pipe, event, …"),
        def("fd.typechar", FdTypechar, T::CharBuf, A::None, Plain, "fd type as one character: f, d, 4, 6, u, p, e, …"),
        def("fd.directory", FdDirectory, T::CharBuf, A::None, Plain, "for files, the directory holding the file"),
        def("fd.filename", FdFilename, T::CharBuf, A::None, Plain, "for files, the file name without its directory"),
        def("fd.cip", FdCip, T::IpAddr, A::None, Plain, "client IP address of a socket"),
        def("fd.sip", FdSip, T::IpAddr, A::None, Plain, "server IP address of a socket"),
        def("fd.cport", FdCport, T::Port, A::None, Plain, "client port of a TCP/UDP socket"),
        def("fd.sport", FdSport, T::Port, A::None, Plain, "server port of a TCP/UDP socket"),
        def("fd.l4proto", FdL4proto, T::CharBuf, A::None, Plain, "transport protocol of a socket: tcp, udp or raw"),
        def("fd.is_server", FdIsServer, T::Bool, A::None, Plain, "true when this process is the server side of the socket"),
        def("proc.pid", ProcPid, T::Int64, A::None, Plain, "process id of the thread generating the event"),
        def("proc.name", ProcName, T::CharBuf, A::None, Plain, "process name (comm)"),
        def("proc.exe", ProcExe, T::CharBuf, A::None, Plain, "executable path or argv[0] of the process"),
        def("proc.cmdline", ProcCmdline, T::CharBuf, A::None, Plain, "process name followed by its arguments, space-separated"),
        def("proc.ppid", ProcPpid, T::Int64, A::None, Plain, "process id of the parent process"),
        def("thread.tid", ThreadTid, T::Int64, A::None, Plain, "thread id of the thread generating the event"),
        def("span.id", SpanId, T::Int64, A::None, Plain, "on marker events, the span id (t/p/pp resolved to the writer's tid/pid/ptid, g = 0)"),
        def("span.time", SpanTime, T::CharBuf, A::None, Plain, "on marker events, the span's enter time as HH:MM:SS.nnnnnnnnn (C10: enter time on exits too)"),
        def("span.ntags", SpanNtags, T::Uint32, A::None, Plain, "on marker events, the number of tags"),
        def("span.nargs", SpanNargs, T::Uint32, A::None, Plain, "on marker events, the number of arguments of the span's enter marker"),
        def("span.tags", SpanTags, T::CharBuf, A::None, Plain, "on marker events, the tags joined with '.'"),
        def("span.tag", SpanTag, T::CharBuf, A::Index, Plain, "on marker events, tag N (0-based; negative N counts from the end)"),
        def("span.args", SpanArgs, T::CharBuf, A::None, Plain, "on marker events, this marker's arguments as name=value joined with ','"),
        def("span.arg", SpanArg, T::CharBuf, A::IndexOrName, Plain, "on marker events, one of this marker's arguments by index or by name"),
        def("span.enterargs", SpanEnterArgs, T::CharBuf, A::None, Plain, "on marker events, the enter marker's arguments as name=value joined with ','"),
        def("span.enterarg", SpanEnterArg, T::CharBuf, A::IndexOrName, Plain, "on marker events, one of the enter marker's arguments by index or by name"),
        def("span.duration", SpanDuration, T::RelTime, A::None, Nanos, "on exit markers, the span's duration in ns (exit time minus enter time)"),
        def("span.duration.human", SpanDurationHuman, T::CharBuf, A::None, Plain, "on exit markers, the duration as text (1.50us, 12ms, 1:39, 01:00:00)"),
        def("span.duration.quantized", SpanDurationQuantized, T::Uint64, A::None, Plain, "log-scale bucket of the duration for spectrograms (1 outside the interactive UI)"),
        def("span.duration.fortag", SpanDurationFortag, T::RelTime, A::Depth, Nanos, "on exit markers of spans with exactly N tags, the duration in ns (C7)"),
        def("span.count", SpanCount, T::Uint64, A::None, Plain, "1 on exit markers, 0 on enter markers"),
        def("span.count.fortag", SpanCountFortag, T::Uint64, A::Depth, Plain, "1 on exit markers of spans with exactly N tags, else 0 (C7)"),
        def("span.childcount.fortag", SpanChildcountFortag, T::Uint64, A::Depth, Plain, "1 on exit markers of spans with more than N tags, else 0 (C7)"),
        def("span.idtag", SpanIdtag, T::CharBuf, A::Depth, Plain, "on marker events, the span id immediately followed by tag N"),
        def("span.rawtime", SpanRawtime, T::CharBuf, A::None, Plain, "on marker events, the span's enter time in ns, as text"),
        def("span.rawparenttime", SpanRawparenttime, T::CharBuf, A::None, Plain, "on marker events, the enter time in ns of the open parent span (same id, tags minus the last; C6)"),
    ];
    let scopes = [
        ("evtin.span", Scope::Thread, "spans entered by the event's thread"),
        ("evtin.span.p", Scope::Process, "spans entered by any thread of the event's process (C8)"),
        ("evtin.span.s", Scope::Children, "spans of the process whose child the event's thread is"),
        ("evtin.span.m", Scope::Machine, "all spans open on the machine"),
    ];
    for (prefix, scope, scope_desc) in scopes {
        let props: [(&str, SpanProp, FieldType, ArgSpec, &str); 7] = [
            ("id", SpanProp::Id, T::Int64, A::None, "id"),
            ("ntags", SpanProp::Ntags, T::Uint32, A::None, "number of tags"),
            ("nargs", SpanProp::Nargs, T::Uint32, A::None, "number of enter arguments"),
            ("tags", SpanProp::Tags, T::CharBuf, A::None, "tags joined with '.'"),
            ("tag", SpanProp::Tag, T::CharBuf, A::IndexOrName, "tag N (negative from the end; .NAME = last tag)"),
            ("args", SpanProp::Args, T::CharBuf, A::None, "enter arguments as name:value joined with ','"),
            ("arg", SpanProp::Arg, T::CharBuf, A::IndexOrName, "enter argument by index or by name (C9)"),
        ];
        for (pname, prop, ty, arg, pdesc) in props {
            v.push(FieldDef {
                name: format!("{prefix}.{pname}"),
                kind: Evtin(scope, prop),
                ty,
                unit: Unit::Plain,
                arg,
                desc: format!("for events inside an open span ({scope_desc}): the span's {pdesc}"),
            });
        }
    }
    v
}

static CATALOG: LazyLock<Vec<FieldDef>> = LazyLock::new(build_catalog);

/// The whole field catalog, in listing order.
pub fn catalog() -> &'static [FieldDef] {
    &CATALOG
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
        let n: i64 = num.trim().parse().map_err(|_| {
            err(format!(
                "'{}{rest}': the index must be an integer",
                d.name
            ))
        })?;
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
            "span.id", "span.time", "span.ntags", "span.nargs", "span.tags", "span.tag",
            "span.args", "span.arg", "span.enterargs", "span.enterarg", "span.duration",
            "span.duration.human", "span.duration.quantized", "span.count",
            "span.duration.fortag", "span.count.fortag", "span.childcount.fortag",
            "evtin.span.arg", "evtin.span.p.tags", "evtin.span.s.id", "evtin.span.m.nargs",
            "evt.num", "evt.time", "evt.rawtime", "evt.type", "evt.dir", "evt.latency",
            "evt.res", "evt.is_io", "evt.is_io_read", "evt.is_io_write", "evt.buflen",
            "evt.rawres", "evt.failed", "fd.num", "fd.name", "fd.type", "fd.typechar",
            "fd.directory", "fd.filename", "fd.cip", "fd.sip", "fd.cport", "fd.sport",
            "fd.l4proto", "fd.is_server", "proc.pid", "proc.name", "proc.exe",
            "proc.cmdline", "proc.ppid", "thread.tid",
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
        assert_eq!((f.kind, f.arg), (FieldKind::SpanDurationFortag, FieldArg::Index(2)));
        assert_eq!(resolve("span.duration").unwrap().kind, FieldKind::SpanDuration);
        assert_eq!(resolve("span.duration.human").unwrap().kind, FieldKind::SpanDurationHuman);
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
        assert!(resolve("span.tag[x]").unwrap_err().message.contains("integer"));
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
    fn tracking_needs() {
        assert!(resolve("span.duration").unwrap().needs_span_tracking());
        assert!(resolve("evtin.span.tags").unwrap().needs_span_tracking());
        assert!(!resolve("span.nargs").unwrap().needs_span_tracking());
        assert!(!resolve("fd.name").unwrap().needs_span_tracking());
    }
}
