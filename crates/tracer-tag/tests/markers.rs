//! Exact bytes written by the emit functions and spans, through a redirected sink.

mod common;

use common::Capture;
use tracer_tag::{emit, emit_path, sink, span, span_builder, static_span, Dir, Id, Site};

#[test]
fn nested_spans_and_drop_order() {
    let cap = Capture::start();
    {
        let h = span("download_handler");
        {
            let w = h.child("download_writes");
            let _x = w.child("inner.deeper");
        }
        let _h2 = h.child("download_headers");
    }
    assert_eq!(
        cap.strings(),
        [
            ">:t:download_handler::",
            ">:t:download_handler.download_writes::",
            ">:t:download_handler.download_writes.inner.deeper::",
            "<:t:download_handler.download_writes.inner.deeper::",
            "<:t:download_handler.download_writes::",
            ">:t:download_handler.download_headers::",
            "<:t:download_handler.download_headers::",
            "<:t:download_handler::",
        ]
    );
}

/// Call-site spans write the same bytes as `span`, nest, and take exit arguments.
#[test]
fn static_spans_write_the_same_markers() {
    static ODD: Site = Site::new("odd tag:x");
    let cap = Capture::start();
    for i in 0..2 {
        let mut h = static_span!("download_handler");
        {
            let _w = h.child("download_writes");
            let _o = ODD.enter();
        }
        if i == 1 {
            h.set_exit_arg("n", i);
        }
    }
    let once = [
        ">:t:download_handler::".to_string(),
        ">:t:download_handler.download_writes::".to_string(),
        ">:t:odd tag\\:x::".to_string(),
        "<:t:odd tag\\:x::".to_string(),
        "<:t:download_handler.download_writes::".to_string(),
    ];
    let got = cap.strings();
    assert_eq!(got.len(), 12, "{got:?}");
    assert_eq!(got[..5], once[..]);
    assert_eq!(got[5], "<:t:download_handler::");
    assert_eq!(got[6..11], once[..]);
    assert_eq!(got[11], "<:t:download_handler:n=1:");
    drop(cap);
    assert_eq!(ODD.encoded_path(), span("odd tag:x").encoded_path());
}

#[test]
fn args_enter_and_exit() {
    let cap = Capture::start();
    {
        let mut s = span_builder("q")
            .arg("n", 42)
            .arg("v", "a:b,c=d\\e")
            .arg_bytes(b"k=1", b"<x>")
            .exit_arg("pre", 1.5)
            .enter();
        s.set_exit_arg("rows", 7u64);
        s.set_exit_arg_bytes(b"r", b"\n");
    }
    assert_eq!(
        cap.packets(),
        [
            b">:t:q:n=42,v=a\\:b\\,c\\=d\\\\e,k\\=1=<x>:".to_vec(),
            b"<:t:q:pre=1.5,rows=7,r=\\\n:".to_vec(),
        ]
    );
}

#[test]
fn span_macro() {
    let cap = Capture::start();
    let user = "bob";
    {
        let _a = tracer_tag::span!("get", user = user, n = 3);
        let _b = tracer_tag::span!(id = Id::Explicit(99); "put");
        let _c = tracer_tag::span!(id = Id::Process; "del", k = 'x',);
    }
    assert_eq!(
        cap.strings(),
        [
            ">:t:get:user=bob,n=3:",
            ">:99:put::",
            ">:p:del:k=x:",
            "<:p:del::",
            "<:99:put::",
            "<:t:get::",
        ]
    );
}

#[test]
fn ids_and_children_inherit_id() {
    let cap = Capture::start();
    for id in [
        Id::Thread,
        Id::Process,
        Id::Parent,
        Id::Global,
        Id::Explicit(0),
        Id::Explicit(-3),
        Id::Explicit(123456789012),
    ] {
        let s = span_builder("a").with_id(id).enter();
        drop(s.child("b"));
    }
    let want: Vec<String> = ["t", "p", "pp", "g", "-0", "-3", "123456789012"]
        .iter()
        .flat_map(|i| {
            [
                format!(">:{i}:a::"),
                format!(">:{i}:a.b::"),
                format!("<:{i}:a.b::"),
                format!("<:{i}:a::"),
            ]
        })
        .collect();
    assert_eq!(cap.strings(), want);
}

#[test]
fn tag_escaping_and_paths() {
    let cap = Capture::start();
    emit(Dir::Enter, Id::Thread, &[b"a.b", b"c:d", b"0"], &[]);
    emit_path(Dir::Exit, Id::Thread, b"0x.y>z", &[(b"n", b"1")]);
    {
        let s = span("a\\b=c");
        drop(s.child("0.<"));
    }
    emit(Dir::Enter, Id::Thread, &[b"nul\0byte"], &[(b"k\0", b"v\0")]);
    assert_eq!(
        cap.packets(),
        [
            b">:t:a\\.b.c\\:d.0::".to_vec(),
            b"<:t:\\0x.y\\>z:n=1:".to_vec(),
            b">:t:a\\\\b\\=c::".to_vec(),
            b">:t:a\\\\b\\=c.0.\\<::".to_vec(),
            b"<:t:a\\\\b\\=c.0.\\<::".to_vec(),
            b"<:t:a\\\\b\\=c::".to_vec(),
            b">:t:nulbyte:k=v:".to_vec(),
        ]
    );
}

#[test]
fn long_markers_are_one_write() {
    let cap = Capture::start();
    let tag = "x".repeat(5000);
    let val = ":".repeat(300);
    {
        let _s = span_builder(&tag).arg("v", &val).enter();
    }
    let p = cap.packets();
    assert_eq!(p.len(), 2);
    let want_enter = format!(">:t:{tag}:v={}:", "\\:".repeat(300));
    assert_eq!(p[0], want_enter.as_bytes());
    assert_eq!(p[1], format!("<:t:{tag}::").as_bytes());
}

#[test]
fn threads_write_whole_markers() {
    let cap = Capture::start();
    let n = 200;
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for i in 0..n {
                    let sp = span_builder(format!("w{t}")).arg("i", i).enter();
                    drop(sp.child("c"));
                }
            });
        }
    });
    let got = cap.strings();
    assert_eq!(got.len(), 4 * n * 4);
    for t in 0..4 {
        let mine: Vec<&String> = got
            .iter()
            .filter(|m| m.starts_with(&format!(">:t:w{t}")) || m.starts_with(&format!("<:t:w{t}")))
            .collect();
        let want: Vec<String> = (0..n)
            .flat_map(|i| {
                [
                    format!(">:t:w{t}:i={i}:"),
                    format!(">:t:w{t}.c::"),
                    format!("<:t:w{t}.c::"),
                    format!("<:t:w{t}::"),
                ]
            })
            .collect();
        assert_eq!(mine, want.iter().collect::<Vec<_>>(), "thread {t}");
    }
}

#[test]
fn cross_thread_span_with_process_id() {
    let cap = Capture::start();
    let s = span_builder("job").with_id(Id::Process).enter();
    std::thread::spawn(move || {
        let mut s = s;
        s.set_exit_arg("by", "worker");
    })
    .join()
    .unwrap();
    assert_eq!(cap.strings(), [">:p:job::", "<:p:job:by=worker:"]);
}

#[test]
fn errors_are_counted_not_raised() {
    let _cap = Capture::start();
    // a read-only fd: write(2) fails with EBADF
    let f = std::fs::File::open("/dev/null").unwrap();
    use std::os::fd::AsRawFd;
    sink::set_fd(f.as_raw_fd());
    let before = tracer_tag::error_count();
    emit(Dir::Enter, Id::Thread, &[b"a"], &[]);
    drop(span("b"));
    assert_eq!(tracer_tag::error_count(), before + 3);
    // the caller's fd is never closed by us
    assert!(unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFD) } >= 0);
}

#[test]
fn default_sink_is_dev_null() {
    let _cap = Capture::start();
    sink::reset();
    let fd = sink::current_fd();
    assert!(fd >= 0);
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    assert_eq!(link, std::path::Path::new("/dev/null"));
    // SAFETY: F_GETFL/F_GETFD have no side effects.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    let fdfl = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    assert_eq!(fl & libc::O_ACCMODE, libc::O_WRONLY);
    assert_ne!(fl & libc::O_NONBLOCK, 0);
    assert_ne!(fdfl & libc::FD_CLOEXEC, 0);
    let before = tracer_tag::error_count();
    drop(span("to_dev_null"));
    assert_eq!(tracer_tag::error_count(), before);
    // same fd reused
    assert_eq!(sink::current_fd(), fd);
}

#[test]
fn encode_matches_emit() {
    let cap = Capture::start();
    let tags: [&[u8]; 2] = [b"a:1", b"b"];
    let args: [(&[u8], &[u8]); 1] = [(b"x,", b"y,")];
    emit(Dir::Exit, Id::Global, &tags, &args);
    let mut v = Vec::new();
    tracer_tag::encode(Dir::Exit, Id::Global, &tags, &args, &mut v);
    assert_eq!(cap.packets(), [v.clone()]);
    assert_eq!(v, b"<:g:a\\:1.b:x\\,=y\\,:");
}
