//! The field catalog's data: every field with its type, argument form, literal unit and
//! one-line description. Resolution and the types live in [`super::fields`].

use super::fields::{ArgSpec, FieldDef, FieldKind, FieldType, Scope, SpanProp};
use super::literal::Unit;

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

/// Builds the catalog, in listing order.
pub(super) fn build() -> Vec<FieldDef> {
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
        (
            "evtin.span",
            Scope::Thread,
            "spans entered by the event's thread",
        ),
        (
            "evtin.span.p",
            Scope::Process,
            "spans entered by any thread of the event's process (C8)",
        ),
        (
            "evtin.span.s",
            Scope::Children,
            "spans of the process whose child the event's thread is",
        ),
        (
            "evtin.span.m",
            Scope::Machine,
            "all spans open on the machine",
        ),
    ];
    for (prefix, scope, scope_desc) in scopes {
        let props: [(&str, SpanProp, FieldType, ArgSpec, &str); 7] = [
            ("id", SpanProp::Id, T::Int64, A::None, "id"),
            (
                "ntags",
                SpanProp::Ntags,
                T::Uint32,
                A::None,
                "number of tags",
            ),
            (
                "nargs",
                SpanProp::Nargs,
                T::Uint32,
                A::None,
                "number of enter arguments",
            ),
            (
                "tags",
                SpanProp::Tags,
                T::CharBuf,
                A::None,
                "tags joined with '.'",
            ),
            (
                "tag",
                SpanProp::Tag,
                T::CharBuf,
                A::IndexOrName,
                "tag N (negative from the end; .NAME = last tag)",
            ),
            (
                "args",
                SpanProp::Args,
                T::CharBuf,
                A::None,
                "enter arguments as name:value joined with ','",
            ),
            (
                "arg",
                SpanProp::Arg,
                T::CharBuf,
                A::IndexOrName,
                "enter argument by index or by name (C9)",
            ),
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
