//! Filter evaluation (operators, NULL semantics, the `evtin` filter rules), formats and
//! error rendering.

use super::{m, marker_exit, read_exit, val, Rec};
use crate::filter::extract::{extract, Value};
use crate::filter::fields;
use crate::filter::{Filter, Format};
use crate::grammar::Direction;

#[test]
fn evtin_fields_filtering() {
    let e = read_exit();
    // Any span in scope may satisfy a filter.
    assert!(m("evtin.span.tags=a", &e));
    assert!(m("evtin.span.tags=a.b", &e));
    assert!(m("evtin.span.arg.x=1", &e));
    assert!(m("evtin.span.ntags=1 and evtin.span.ntags=2", &e));
    assert!(m("evtin.span.id=2000", &e));
    assert!(m("evtin.span.nargs=2", &e));
    assert!(m("evtin.span.args contains y:2", &e));
    assert!(m("evtin.span.tag[0]=a", &e));
    assert!(!m("evtin.span.tags=c", &e));
    // Filtering does not need the thread to have written a marker.
    let mut other = read_exit();
    other.wrote_marker = false;
    assert!(m("evtin.span.tags=a", &other));

    // Scopes: another thread of the process (C8), a child process, another process.
    let mut b = read_exit();
    b.tid = 2001;
    assert!(!m("evtin.span.tags=a", &b));
    assert!(m("evtin.span.p.tags=a", &b));
    assert!(!m("evtin.span.s.tags=a", &b));
    assert!(m("evtin.span.m.tags=a", &b));
    let mut c = read_exit();
    c.tid = 3000;
    c.pid = 3000;
    c.ptid = 2000;
    assert!(!m("evtin.span.p.tags=a", &c));
    assert!(m("evtin.span.s.tags=a", &c));
    assert!(m("evtin.span.s.id=2000", &c));
    c.open.iter_mut().for_each(|r| r.alive = false);
    assert!(
        !m("evtin.span.s.tags=a", &c),
        "the span's writer must still exist"
    );

    // Enter marker: rejected when the first satisfying span is its own record.
    let mut en = marker_exit();
    let own = Rec::new(3, "a.b", &[("z", "3")], 3_500, 2000, 2000);
    en.marker = Some((Direction::Enter, own.clone(), Some(own.clone())));
    en.open.insert(0, own);
    assert!(m("evtin.span.tags=a", &en));
    assert!(!m("evtin.span.tag[0]=a", &en));
    assert!(!m("evtin.span.arg.z=3", &en));
    assert!(m("evtin.span.arg.x=1", &en));
    // Exit marker: falls back to the span it just closed.
    let ex = marker_exit();
    assert!(m("evtin.span.arg.z=3", &ex));
    assert!(m("evtin.span.tags=a.b", &ex));
    assert!(!m("evtin.span.s.tags=a.b", &ex));
    // Nothing open, no marker: no match, `not` matches.
    let mut none = read_exit();
    none.open.clear();
    assert!(!m("evtin.span.tags exists", &none));
    assert!(m("not evtin.span.tags exists", &none));
}

#[test]
fn operators_and_null_semantics() {
    let e = read_exit();
    assert!(m("evt.type=read", &e));
    assert!(m("evt.type==read", &e));
    assert!(!m("evt.type!=read", &e));
    assert!(m(
        "evt.num>60 and evt.num>=61 and evt.num<62 and evt.num<=61",
        &e
    ));
    assert!(!m("evt.num>61 or evt.num<61", &e));
    assert!(m("evt.num in (1, 61, 99)", &e));
    assert!(m("evt.type in (write, read)", &e));
    assert!(!m("evt.type in (write, pread)", &e));
    assert!(m("proc.name contains eba", &e));
    assert!(m("proc.name icontains WEBA", &e));
    assert!(!m("proc.name contains WEBA", &e));
    assert!(m("proc.name startswith web and proc.name endswith app", &e));
    assert!(m("proc.name > a and proc.name < z", &e));
    assert!(m("proc.name contains ''", &e));
    assert!(m("evt.latency >= 500ns and evt.latency < 1us", &e));
    assert!(m("evt.buflen > 0.5KB and evt.buflen < 1KB", &e));
    assert!(m("fd.is_server=true and fd.is_server!=false", &e));
    assert!(m("fd.cip=192.168.1.5 and fd.sip!=192.168.1.5", &e));
    assert!(m("fd.cip in (10.0.0.9, 192.168.1.5)", &e));
    assert!(m("evt.dir=<", &e));
    assert!(m(
        "(evt.type=write or evt.type=read) and not fd.type=file",
        &e
    ));
    // NULL: comparisons are false, `!=` too; `not` flips.
    assert!(!m("span.id=1", &e));
    assert!(!m("span.id!=1", &e));
    assert!(m("not span.id=1", &e));
    assert!(!m("fd.directory exists", &e));
    assert!(m("fd.name exists and evt.num exists", &e));
}

#[test]
fn formats() {
    let e = read_exit();
    let f = Format::compile("%evt.num %proc.name (%thread.tid) %fd.name 100%%").unwrap();
    assert_eq!(
        f.render(&e).as_deref(),
        Some("61 webapp (2000) 192.168.1.5:51000->10.0.0.1:8080 100%")
    );
    // A NULL field hides the line unless the format starts with '*'.
    let f = Format::compile("%evt.num %span.id").unwrap();
    assert_eq!(f.render(&e), None);
    let f = Format::compile("*%evt.num %span.id").unwrap();
    assert_eq!(f.render(&e).as_deref(), Some("61 <NA>"));
    // `.NAME` swallows the rest of the format (sysdig).
    let x = marker_exit();
    let f = Format::compile("%span.id %span.arg.r").unwrap();
    assert_eq!(f.render(&x).as_deref(), Some("2000 ok"));
    let f = Format::compile("%span.arg.r %span.id").unwrap();
    assert_eq!(f.fields().count(), 1);
    assert_eq!(f.render(&x), None, "NAME is 'r %span.id'");
    // Field names end at characters that cannot be part of one.
    let f = Format::compile("[%evt.type]:%fd.num,%span.tag[-1].").unwrap();
    assert_eq!(f.render(&x), None);
    assert_eq!(
        Format::compile("*[%evt.type]:%span.tag[-1].")
            .unwrap()
            .render(&x)
            .as_deref(),
        Some("[tracer]:b.")
    );
    let err = Format::compile("%evt.nmu").unwrap_err();
    assert_eq!(err.suggestion.as_deref(), Some("evt.num"));
    assert_eq!(err.pos, 1);
    assert!(Format::compile("100% done").is_err());
    let d = Format::compile(crate::filter::DEFAULT_FORMAT).unwrap();
    assert_eq!(
        d.render(&e).as_deref(),
        Some("61 22:13:20.003046500 0 webapp (2000) < read ")
    );
}

#[test]
fn errors_render_with_a_caret() {
    let e = Filter::compile("evt.type=read and proc.nmae=x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "filter error at position 19: unknown field 'proc.nmae' (did you mean 'proc.name'?)"
    );
    assert_eq!(
        e.pointer(),
        "  evt.type=read and proc.nmae=x\n                    ^"
    );
}

#[test]
fn span_tracking_needs() {
    assert!(Filter::compile("evt.type=read and evtin.span.tags=a")
        .unwrap()
        .needs_span_tracking());
    assert!(!Filter::compile("evt.type=read and span.tags=a")
        .unwrap()
        .needs_span_tracking());
}

#[test]
fn values_compare_as_bytes() {
    // Non-UTF-8 tags still compare and display (lossily).
    let mut x = marker_exit();
    if let Some((_, own, _)) = x.marker.as_mut() {
        own.tags = vec![vec![0xff, b'a']];
    }
    assert!(m("span.tags endswith a", &x));
    assert_eq!(
        extract(&fields::resolve("span.tags").unwrap(), &x),
        Some(Value::Str(vec![0xff, b'a'].into()))
    );
    assert_eq!(val("span.tags", &x).as_deref(), Some("\u{fffd}a"));
}
