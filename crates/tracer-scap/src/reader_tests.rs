//! Reader edge cases on hand-built captures: every block version and legacy id,
//! sections, skipping, pairing, payload retention and damage.

use std::io::{Cursor, Write};

use tracer_core::event::{Event, EventKind, FdTarget, SyscallDetail, SyscallKind};

use super::*;
use crate::block::BlockBuf;
use crate::error::WarningKind;

fn block(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = BlockBuf::default();
    b.begin(id);
    b.bytes(payload);
    b.finish();
    b.buf
}

fn shb() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&SHB_MAGIC.to_le_bytes());
    p.extend_from_slice(&1u16.to_le_bytes());
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&u64::MAX.to_le_bytes());
    block(SHB, &p)
}

/// Event bytes; `v2` adds `nparams`, `large` uses u32 lengths.
fn event(ts: u64, tid: u64, etype: u16, params: &[&[u8]], v2: bool, large: bool) -> Vec<u8> {
    let lw = if large { 4 } else { 2 };
    let hdr = if v2 { 26 } else { 22 };
    let len = hdr + lw * params.len() + params.iter().map(|p| p.len()).sum::<usize>();
    let mut e = Vec::new();
    e.extend_from_slice(&ts.to_le_bytes());
    e.extend_from_slice(&tid.to_le_bytes());
    e.extend_from_slice(&(len as u32).to_le_bytes());
    e.extend_from_slice(&etype.to_le_bytes());
    if v2 {
        e.extend_from_slice(&(params.len() as u32).to_le_bytes());
    }
    for p in params {
        if large {
            e.extend_from_slice(&(p.len() as u32).to_le_bytes());
        } else {
            e.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
    }
    for p in params {
        e.extend_from_slice(p);
    }
    e
}

fn ev2(ts: u64, tid: u64, etype: u16, params: &[&[u8]]) -> Vec<u8> {
    let mut p = vec![0, 0];
    p.extend(event(ts, tid, etype, params, true, false));
    block(0x216, &p)
}

fn i64b(v: i64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}
fn u32b(v: u32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn read(bytes: Vec<u8>) -> (Vec<Event>, ScapReader) {
    let mut r = ScapReader::from_reader(Cursor::new(bytes)).unwrap();
    let mut v = Vec::new();
    while let Some(e) = r.next_event().unwrap() {
        v.push(e);
    }
    (v, r)
}

fn syscalls(evs: &[Event]) -> Vec<&tracer_core::event::Syscall> {
    evs.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Syscall(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// A write pair (fd 4, 10 bytes) on tid 7.
fn write_pair(ts: u64) -> Vec<u8> {
    let mut v = ev2(ts, 7, 8, &[&i64b(4), &u32b(10)]);
    v.extend(ev2(ts + 5, 7, 9, &[&i64b(10), b"0123456789"]));
    v
}

fn str16(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u16).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

/// A PL entry of version `v` (1..=8, no entry length).
fn pl_entry(v: u8, tid: i64, pid: i64) -> Vec<u8> {
    let mut e = Vec::new();
    for x in [tid, pid, 1] {
        e.extend(i64b(x));
    }
    if v >= 6 {
        e.extend(i64b(pid));
    }
    if v >= 8 {
        e.extend(i64b(pid));
    }
    e.extend(str16("app"));
    e.extend(str16("app"));
    if v >= 7 {
        e.extend(str16("/bin/app"));
    }
    e.extend(str16("a\0b\0"));
    e.extend(str16("/"));
    e.extend(i64b(1024));
    e.extend([0u8; 12]);
    if v >= 2 {
        e.extend([0u8; 28]);
    }
    if v >= 3 {
        e.extend(str16(""));
    }
    if v >= 4 {
        e.extend(i64b(tid));
        e.extend(i64b(pid));
        e.extend(str16(""));
    }
    if v >= 5 {
        e.extend(str16("/"));
    }
    e
}

#[test]
fn every_process_list_version_is_read() {
    let ids = [
        (1, 0x202),
        (2, 0x207),
        (3, 0x209),
        (4, 0x210),
        (5, 0x211),
        (6, 0x212),
        (7, 0x213),
        (8, 0x214),
    ];
    for (v, id) in ids {
        let mut f = shb();
        let mut p = pl_entry(v, 7, 7);
        p.extend(pl_entry(v, 8, 7));
        f.extend(block(id, &p));
        f.extend(write_pair(100));
        let (evs, r) = read(f);
        assert_eq!(r.processes().len(), 2, "PL v{v}");
        let EventKind::ThreadInfo(t) = &evs[1].kind else {
            panic!("v{v}: {:?}", evs[1])
        };
        assert_eq!((t.tid, t.pid, t.comm.as_str()), (8, 7, "app"), "v{v}");
        assert_eq!(t.args, vec!["a".to_string(), "b".into()]);
        assert_eq!(t.exe, if v >= 7 { "/bin/app" } else { "app" });
        assert_eq!(evs[0].ts, 100, "snapshot ts = first event ts");
    }
}

#[test]
fn legacy_ids_and_v1_blocks() {
    let mut f = shb();
    f.extend(block(0x8000_ABCD, &pl_entry(1, 7, 7)));
    // FDL v1: tid, then fd, ino, type FILE(1), name.
    let mut fdl = i64b(7);
    fdl.extend(i64b(4));
    fdl.extend(i64b(0));
    fdl.push(1);
    fdl.extend(str16("/dev/null"));
    f.extend(block(0x8001_ABCD, &fdl));
    // EV v1 (legacy id): write enter + exit without nparams.
    for (ts, et, params) in [
        (100u64, 8u16, vec![i64b(4), u32b(9)]),
        (105, 9, vec![i64b(9), b">:t:a::\0x".to_vec()]),
    ] {
        let refs: Vec<&[u8]> = params.iter().map(|p| p.as_slice()).collect();
        let mut p = vec![0, 0];
        p.extend(event(ts, 7, et, &refs, false, false));
        f.extend(block(0x8010_ABCD, &p));
    }
    let (evs, r) = read(f);
    assert_eq!(r.fd_table()[0].target, FdTarget::File("/dev/null".into()));
    let s = syscalls(&evs);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].fd, s[0].size, s[0].res), (4, 9, 9));
    // The fd is /dev/null: the payload is kept (a marker candidate).
    assert_eq!(s[0].data.as_deref(), Some(&b">:t:a::\0x"[..]));
    assert!(!s[0].null_dev);
}

#[test]
fn evf_v1_and_large_blocks() {
    let mut f = shb();
    let mut p = vec![0, 0];
    p.extend(event(100, 7, 8, &[&i64b(9), &u32b(7)], false, false));
    f.extend(block(0x204, &p));
    let mut p = vec![0, 0];
    p.extend(2u32.to_le_bytes());
    p.extend(event(105, 7, 9, &[&i64b(7), b">:t:a::"], false, false));
    f.extend(block(0x208, &p));
    let mut p = vec![0, 0];
    p.extend(event(200, 7, 6, &[&i64b(5), &u32b(100)], true, true));
    f.extend(block(0x221, &p));
    let mut p = vec![0, 0, 0, 0, 0, 0];
    p.extend(event(205, 7, 7, &[&i64b(100), &[1u8; 100]], true, true));
    f.extend(block(0x222, &p));
    let (evs, r) = read(f);
    let s = syscalls(&evs);
    assert_eq!(s.len(), 2);
    assert!(s[0].null_dev, "EVF tracer flag");
    assert_eq!(s[0].data.as_deref(), Some(&b">:t:a::"[..]));
    assert_eq!(
        (s[1].kind, s[1].res, s[1].fd, s[1].data.is_none()),
        (SyscallKind::Read, 100, 5, true)
    );
    assert_eq!(r.stats().tracer_flagged, 1);
}

#[test]
fn shb_options_unknown_blocks_and_unknown_events_are_skipped() {
    // A 116-byte SHB (pcapng options after the 16-byte payload).
    let mut p = shb()[8..24].to_vec();
    p.extend([0xAB; 88]);
    let mut f = block(SHB, &p);
    assert_eq!(f.len(), 116);
    f.extend(block(0x1234, b"whatever"));
    f.extend(ev2(50, 7, 354, &[&i64b(1)]));
    f.extend(ev2(60, 7, 17, &[])); // NA1
    f.extend(ev2(70, 7, 152, &[&i64b(1)])); // switch
    f.extend(write_pair(100));
    let (evs, r) = read(f);
    assert_eq!(syscalls(&evs).len(), 1);
    let st = r.stats();
    assert_eq!(
        (st.unknown_blocks, st.unknown_events, st.non_syscall_events),
        (1, 2, 1)
    );
    assert!(r.warnings().is_empty());
}

#[test]
fn metadata_after_events_starts_a_new_section() {
    let mut f = shb();
    f.extend(block(0x211, &pl_entry(5, 7, 7)));
    f.extend(write_pair(100));
    f.extend(ev2(200, 7, 8, &[&i64b(4), &u32b(10)])); // enter left open
    f.extend(block(0x211, &pl_entry(5, 9, 9)));
    f.extend(write_pair(300));
    let (evs, r) = read(f);
    let infos: Vec<i64> = evs
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ThreadInfo(t) => Some(t.tid),
            _ => None,
        })
        .collect();
    assert_eq!(infos, vec![7, 9]);
    assert_eq!(r.stats().sections, 2);
    assert_eq!(r.stats().enters_without_exit, 1);
    assert_eq!(r.processes().len(), 1);
    assert_eq!(syscalls(&evs).len(), 2);
}

#[test]
fn unpaired_and_interleaved_events() {
    let mut f = shb();
    f.extend(ev2(100, 7, 9, &[&i64b(3), b"abc"])); // exit without enter
    f.extend(ev2(200, 7, 6, &[&i64b(4), &u32b(1)])); // read enter…
    f.extend(ev2(210, 7, 8, &[&i64b(5), &u32b(2)])); // …replaced by a write enter
    f.extend(ev2(220, 7, 9, &[&i64b(2), b"xy"]));
    let (evs, r) = read(f);
    let s = syscalls(&evs);
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].enter_ts, s[0].fd), (100, -1));
    assert_eq!((s[1].enter_ts, s[1].fd, s[1].res), (210, 5, 2));
    assert_eq!(r.stats().exits_without_enter, 1);
    assert_eq!(r.stats().enters_without_exit, 1);
}

#[test]
fn open_events_decide_payload_retention_and_flags() {
    let mut f = shb();
    // openat (current, 306/307): /dev/null as fd 3, O_WRONLY = PPM 2.
    f.extend(ev2(
        10,
        7,
        306,
        &[&i64b(-100), b"/dev/null\0", &u32b(2), &u32b(0)],
    ));
    f.extend(ev2(
        11,
        7,
        307,
        &[
            &i64b(3),
            &i64b(-100),
            b"/dev/null\0",
            &u32b(2),
            &u32b(0),
            &u32b(0),
        ],
    ));
    // old openat (102/103): params on the enter only; a regular file as fd 4.
    f.extend(ev2(
        20,
        7,
        102,
        &[&i64b(-100), b"/tmp/x\0", &u32b(6), &u32b(0o644)],
    ));
    f.extend(ev2(21, 7, 103, &[&i64b(4)]));
    for (ts, fd) in [(30u64, 3i64), (40, 4)] {
        f.extend(ev2(ts, 7, 8, &[&i64b(fd), &u32b(3)]));
        f.extend(ev2(ts + 1, 7, 9, &[&i64b(3), b"abc"]));
    }
    // close fd 3, then a write on fd 3 is no longer a candidate.
    f.extend(ev2(50, 7, 4, &[&i64b(3)]));
    f.extend(ev2(51, 7, 5, &[&i64b(0)]));
    f.extend(ev2(60, 7, 8, &[&i64b(3), &u32b(3)]));
    f.extend(ev2(61, 7, 9, &[&i64b(3), b"abc"]));
    let (evs, _) = read(f);
    let s = syscalls(&evs);
    assert_eq!(
        s[0].detail,
        SyscallDetail::Open {
            path: "/dev/null".into(),
            dirfd: Some(-100),
            flags: 1,
            mode: 0
        }
    );
    assert_eq!(
        s[1].detail,
        SyscallDetail::Open {
            path: "/tmp/x".into(),
            dirfd: Some(-100),
            flags: 0o101,
            mode: 0o644
        }
    );
    assert_eq!(s[2].data.as_deref(), Some(&b"abc"[..]));
    assert_eq!(s[3].data, None);
    assert_eq!(s[5].data, None);
}

#[test]
fn damaged_tails_give_a_warning_with_the_offset() {
    let mut good = shb();
    good.extend(write_pair(100));
    let good_len = good.len() as u64;
    // Wrong trailer.
    let mut f = good.clone();
    let mut bad = ev2(200, 7, 8, &[&i64b(4), &u32b(10)]);
    let n = bad.len();
    bad[n - 1] = 0x7f;
    f.extend(bad);
    f.extend(write_pair(300));
    let (evs, r) = read(f);
    assert_eq!(syscalls(&evs).len(), 1);
    assert_eq!(r.warnings()[0].offset, good_len);
    assert!(
        r.warnings()[0]
            .to_string()
            .contains("wrong block total length"),
        "{}",
        r.warnings()[0]
    );
    assert!(matches!(
        evs.last().unwrap().kind,
        EventKind::Lost { count: 0 }
    ));
    // Length below the minimum.
    let mut f = good.clone();
    f.extend([0x16, 0x02, 0, 0, 4, 0, 0, 0]);
    let (_, r) = read(f);
    assert!(matches!(r.warnings()[0].kind, WarningKind::Corrupt(_)));
    // Truncated header and truncated body.
    for cut in [3usize, 20] {
        let mut f = good.clone();
        f.extend(&write_pair(300)[..cut]);
        let (evs, r) = read(f);
        assert_eq!(syscalls(&evs).len(), 1);
        let w = &r.warnings()[0];
        assert_eq!(w.offset, good_len);
        assert!(matches!(w.kind, WarningKind::Truncated { .. }), "{w}");
    }
}

#[test]
fn gzip_files_and_truncated_gzip() {
    let mut plain = shb();
    for i in 0..200 {
        plain.extend(write_pair(100 + i * 10));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let (evs, r) = read(gz.clone());
    assert!(r.is_gzip());
    assert_eq!(syscalls(&evs).len(), 200);
    assert!(r.warnings().is_empty());
    let (evs, r) = read(gz[..gz.len() / 2].to_vec());
    assert!(!r.warnings().is_empty());
    assert!(syscalls(&evs).len() < 200);
}

#[test]
fn not_a_capture() {
    assert!(matches!(
        ScapReader::from_reader(Cursor::new(Vec::new())),
        Err(ScapError::TooShort(0))
    ));
    assert!(matches!(
        ScapReader::from_reader(Cursor::new(vec![1u8; 64])),
        Err(ScapError::NotScap(_))
    ));
    let mut swapped = shb();
    swapped[8..12].copy_from_slice(&SHB_MAGIC.to_be_bytes());
    assert!(matches!(
        ScapReader::from_reader(Cursor::new(swapped)),
        Err(ScapError::BadMagic(_))
    ));
    let mut v2 = shb();
    v2[12] = 2;
    assert!(matches!(
        ScapReader::from_reader(Cursor::new(v2)),
        Err(ScapError::UnsupportedVersion { major: 2, .. })
    ));
}

#[test]
fn clone_and_execve_teach_pids() {
    let mut f = shb();
    f.extend(block(0x211, &pl_entry(5, 7, 7)));
    // clone exit of the parent with CLONE_THREAD (PPM 1<<13): child 8 in process 7.
    let mut params: Vec<Vec<u8>> = vec![
        i64b(8),
        b"app\0".to_vec(),
        vec![],
        i64b(7),
        i64b(7),
        i64b(1),
        b"/\0".to_vec(),
        i64b(0),
    ];
    params.extend([
        i64b(0),
        i64b(0),
        u32b(0),
        u32b(0),
        u32b(0),
        b"app\0".to_vec(),
        vec![],
        u32b(1 << 13),
        u32b(0),
        u32b(0),
        i64b(7),
        i64b(7),
    ]);
    let refs: Vec<&[u8]> = params.iter().map(|p| p.as_slice()).collect();
    f.extend(ev2(10, 7, 222, &[]));
    f.extend(ev2(11, 7, 223, &refs));
    f.extend(ev2(20, 8, 6, &[&i64b(0), &u32b(1)]));
    f.extend(ev2(21, 8, 7, &[&i64b(1), b"x"]));
    let (evs, _) = read(f);
    let s: Vec<&Event> = evs
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Syscall(_)))
        .collect();
    let EventKind::Syscall(c) = &s[0].kind else {
        unreachable!()
    };
    assert_eq!(
        c.detail,
        SyscallDetail::Clone {
            flags: crate::flags::CLONE_THREAD,
            child_pid: 7
        }
    );
    assert_eq!((s[1].tid, s[1].pid), (8, 7));
}

/// Events read through their type's fixed shape (`EV`/`EVF` v2 blocks) give the same
/// events and counts as the same events read through the full parse (LARGE blocks,
/// u32 lengths), including unpaired ones and events that do not fit their shape.
#[test]
fn shaped_events_read_like_parsed_ones() {
    // (type, tid, params, EVF flags)
    let fd = i64b(3);
    let size = u32b(10);
    let res = i64b(10);
    let zero = i64b(0);
    let addr = 0x1000u64.to_le_bytes();
    let op = 1u16.to_le_bytes();
    type Spec<'a> = (u16, u64, Vec<&'a [u8]>, Option<u32>);
    let evs: Vec<Spec> = vec![
        (8, 7, vec![&fd, &size], None),             // write enter
        (9, 7, vec![&res, b"0123456789"], Some(2)), // write exit, tracer flag
        (6, 7, vec![&fd, &size], None),             // read enter
        (6, 7, vec![&fd, &size], None),             // read enter again (superseded)
        (7, 7, vec![&res, b"abc"], None),           // read exit
        (7, 8, vec![&res, b""], None),              // read exit without enter
        (4, 7, vec![&fd], None),                    // close enter
        (5, 7, vec![&zero], Some(0)),               // close exit
        (64, 9, vec![&addr, &op, &addr], None),     // futex enter (not modelled)
        (65, 9, vec![&zero], None),                 // futex exit
        (64, 9, vec![&addr, &op], None),            // futex enter, not its shape
        (65, 9, vec![&zero, &zero], None),          // futex exit, not its shape
        (8, 7, vec![&fd, &size, &size], None),      // write enter, not its shape
        (9, 7, vec![&res], None),                   // write exit, not its shape
        (4, 7, vec![&fd], None),                    // close enter, exit of another type
        (7, 7, vec![&res, b"x"], None),
    ];
    let capture = |large: bool| {
        let mut f = shb();
        for (et, tid, params, flags) in &evs {
            let mut p = vec![0, 0];
            if let Some(fl) = flags {
                p.extend(fl.to_le_bytes());
            }
            p.extend(event(100, *tid, *et, params, true, large));
            let id = match (large, flags.is_some()) {
                (false, false) => 0x216,
                (false, true) => 0x217,
                (true, false) => 0x221,
                (true, true) => 0x222,
            };
            f.extend(block(id, &p));
        }
        f
    };
    let (shaped, r1) = read(capture(false));
    let (parsed, r2) = read(capture(true));
    assert_eq!(shaped, parsed);
    assert_eq!(r1.stats(), r2.stats());
    let s = syscalls(&shaped);
    assert_eq!(s.len(), 8, "{s:?}");
    assert_eq!(r1.stats().exits_without_enter, 2);
    assert_eq!(r1.stats().enters_without_exit, 2);
    assert_eq!(s[0].data.as_deref(), Some(&b"0123456789"[..]));
    assert_eq!((s[3].kind, s[3].fd, s[3].res), (SyscallKind::Close, 3, 0));
    assert_eq!(
        s[4].kind,
        SyscallKind::Other(crate::decode::OTHER_EVENT_BASE + 64)
    );
}
