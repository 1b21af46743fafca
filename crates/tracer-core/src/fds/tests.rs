use super::*;

#[test]
fn reconnect_keeps_the_peer() {
    let mut t = FdTables::default();
    let tab = t.new_table();
    t.add_user(tab);
    t.open_socket(tab, 3, 10, 2);
    let a = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
    let upd = |local, remote| SocketUpdate {
        proto: Some(L4Proto::Udp),
        local,
        remote,
        unix_path: None,
        server: None,
    };
    t.update_socket(tab, 3, upd(a("[::1]:38255"), a("[::1]:2345")));
    t.update_socket(
        tab,
        3,
        upd(a("[::1]:38255"), a("[2001:4860:4860::8888]:53")),
    );
    let i = t.get(tab, 3).unwrap();
    assert_eq!(t.name(i.name_id), "::1:38255->::1:2345");
    // The local side follows the latest tuple.
    t.update_socket(tab, 3, upd(a("[::1]:40000"), None));
    let i = t.get(tab, 3).unwrap();
    assert_eq!(t.name(i.name_id), "::1:40000->::1:2345");
}

/// A reopened known path gives the fd exactly what a full open gives it.
#[test]
fn reopening_a_known_path_equals_opening_it() {
    let mut t = FdTables::default();
    let tab = t.new_table();
    t.add_user(tab);
    for (path, dir, cloexec) in [
        ("/tmp/out.bin", false, false),
        ("/dev/null", false, true),
        ("/dev/null", true, false),
        ("/srv", true, true),
    ] {
        t.open_memo = None;
        assert!(!t.reopen_known_path(tab, 5, path, dir, cloexec));
        let target = |p: &str| match dir {
            true => FdTarget::Directory(p.into()),
            false => FdTarget::File(p.into()),
        };
        t.open(tab, 4, target(path), cloexec);
        t.remember_open_path(tab, 4, path);
        // Another name interned in between: ids are not the last ones.
        t.open(tab, 6, FdTarget::File("/elsewhere".into()), false);
        assert!(!t.reopen_known_path(tab, 5, "/elsewhere", dir, cloexec));
        assert!(t.reopen_known_path(tab, 5, path, dir, cloexec));
        assert_eq!(t.get(tab, 5), t.get(tab, 4), "{path}");
        assert_eq!(t.name(t.get(tab, 5).unwrap().name_id), path);
    }
}

#[test]
fn marker_state_from_path_and_names() {
    let mut t = FdTables::default();
    let tab = t.new_table();
    t.add_user(tab);
    t.open(tab, 3, FdTarget::File("/dev/null".into()), false);
    t.open(tab, 4, FdTarget::File("/tmp/x".into()), true);
    assert_eq!(t.get(tab, 3).unwrap().marker, MarkerState::Undecided);
    assert_eq!(t.get(tab, 4).unwrap().marker, MarkerState::NotTracer);
    t.dup(tab, 3, 9);
    assert_eq!(t.get(tab, 9).unwrap().marker, MarkerState::Undecided);
    t.exec(tab);
    assert!(t.get(tab, 4).is_none());
    t.open_socket(tab, 5, 10, 1);
    assert_eq!(t.get(tab, 5).unwrap().kind, FdKind::Ipv6);
    let l: SocketAddr = "10.0.0.1:8888".parse().unwrap();
    let r: SocketAddr = "10.0.0.2:5555".parse().unwrap();
    t.update_socket(
        tab,
        6,
        SocketUpdate {
            proto: Some(L4Proto::Tcp),
            local: Some(l),
            remote: Some(r),
            unix_path: None,
            server: Some(true),
        },
    );
    let i = t.get(tab, 6).unwrap();
    assert_eq!(i.kind, FdKind::Ipv4);
    assert_eq!(t.name(i.name_id), "10.0.0.2:5555->10.0.0.1:8888");
    assert_eq!(t.name(i.peer_id.unwrap()), "10.0.0.2:5555");
    let child = t.copy_table(tab);
    assert!(t.get(child, 3).is_some());
    assert_eq!(t.close(tab, 3).unwrap().marker, MarkerState::Undecided);
    assert!(t.get(tab, 3).is_none());
    assert!(t.get(child, 3).is_some());
    t.remove_user(tab);
    assert!(t.get(tab, 6).is_none());
}
