//! What a [`Line`] answers to filters and `-p` formats: its [`EventSource`] fields (the
//! event, its thread, fd, marker and the spans open around it).

use super::*;

fn span_facts<'a>(r: &'a OpenRecord, threads: &ThreadTable) -> SpanFacts<'a> {
    SpanFacts {
        key: r.seq,
        id: r.id,
        tags: &r.tags,
        args: &r.args,
        enter_ts: r.enter_ts,
        writer_tid: r.writer_tid,
        writer_pid: r.writer_pid,
        writer_alive: threads.get(r.writer_tid).is_some(),
    }
}

/// Iterator over the open spans of a line.
pub struct OpenSpanIter<'s> {
    first: Option<SpanFacts<'s>>,
    skip_key: Option<u64>,
    inner: Box<dyn Iterator<Item = &'s OpenRecord> + 's>,
    threads: &'s ThreadTable,
}

impl<'s> Iterator for OpenSpanIter<'s> {
    type Item = SpanFacts<'s>;
    fn next(&mut self) -> Option<SpanFacts<'s>> {
        if let Some(f) = self.first.take() {
            return Some(f);
        }
        loop {
            let r = self.inner.next()?;
            if Some(r.seq) != self.skip_key {
                return Some(span_facts(r, self.threads));
            }
        }
    }
}

impl<'a> Line<'_, 'a> {
    fn raw_syscall(&self) -> Option<&'a Syscall> {
        match &self.view.event.kind {
            EventKind::Syscall(sc) => Some(sc),
            _ => None,
        }
    }

    fn tracer(&self) -> Option<&TracerView<'a>> {
        (self.kind == LineKind::Marker)
            .then(|| self.view.tracer())
            .flatten()
    }

    fn is_enter_line(&self) -> bool {
        matches!(
            self.kind,
            LineKind::SyscallEnter | LineKind::MarkerWriteEnter
        )
    }

    fn thread_state(&self) -> Option<&'a ThreadState> {
        self.view.thread
    }
}

impl<'a> EventSource for Line<'_, 'a> {
    type Spans<'s>
        = OpenSpanIter<'s>
    where
        Self: 's;

    fn num(&self) -> u64 {
        self.num
    }

    fn ts(&self) -> u64 {
        match (self.is_enter_line(), self.raw_syscall()) {
            (true, Some(sc)) => sc.enter_ts,
            _ => self.view.event.ts,
        }
    }

    fn dir(&self) -> EvtDir {
        match self.kind {
            LineKind::SyscallEnter | LineKind::MarkerWriteEnter | LineKind::ProcExit => {
                EvtDir::Enter
            }
            LineKind::SyscallExit => EvtDir::Exit,
            LineKind::Marker => match self.view.dir_char() {
                '>' => EvtDir::Enter,
                _ => EvtDir::Exit,
            },
        }
    }

    fn type_name(&self) -> &str {
        match self.kind {
            LineKind::Marker => "tracer",
            LineKind::ProcExit => "procexit",
            _ => match self.raw_syscall().map(|s| s.kind) {
                Some(SyscallKind::Other(n)) => match self.other_names.and_then(|f| f(n)) {
                    Some((name, _)) => name,
                    // A native syscall number (generic events, the probe's raw
                    // syscalls): its name, as sysdig shows it.
                    None => crate::syscall_names::x86_64_name(n).unwrap_or("other"),
                },
                // sysdig names the accept4 events "accept".
                Some(SyscallKind::Accept4) => "accept",
                Some(k) => k.name(),
                None => "other",
            },
        }
    }

    fn syscall(&self) -> Option<&Syscall> {
        match self.kind {
            LineKind::SyscallEnter | LineKind::SyscallExit | LineKind::MarkerWriteEnter => {
                self.raw_syscall()
            }
            _ => None,
        }
    }

    fn thread(&self) -> ThreadFacts<'_> {
        let ev = self.view.event;
        let threads = self.view.spans.threads;
        match self.thread_state() {
            Some(t) => {
                // proc.ppid: the parent of the process (its main thread's parent).
                let main = threads.get(t.pid).unwrap_or(t);
                let ppid =
                    (main.ptid >= 0).then(|| threads.get(main.ptid).map_or(main.ptid, |p| p.pid));
                let (comm, exe, args) = match &self.pre_ident {
                    Some(i) => (i.comm.as_str(), i.exe.as_str(), i.args.as_slice()),
                    None => (t.comm.as_str(), t.exe.as_str(), t.args.as_slice()),
                };
                ThreadFacts {
                    tid: t.tid,
                    pid: t.pid,
                    ptid: t.ptid,
                    ppid,
                    comm,
                    exe,
                    args,
                    wrote_marker: t.has_tracer_state,
                }
            }
            None => ThreadFacts {
                tid: ev.tid,
                pid: ev.pid,
                ptid: -1,
                ppid: None,
                comm: "",
                exe: "",
                args: &[],
                wrote_marker: false,
            },
        }
    }

    fn fd(&self) -> Option<FdFacts<'_>> {
        use SyscallKind::*;
        let sc = self.syscall()?;
        let enter = self.is_enter_line();
        let post = || match &self.post_fd {
            Some(st) => Some(FdFacts {
                num: self.view.fd_num,
                target: Some(&st.target),
                v6: st.v6,
                typechar_hint: None,
                name: st.name.as_deref(),
            }),
            None => self.view.fd.map(|f| FdFacts {
                num: self.view.fd_num,
                target: Some(&f.target),
                v6: v6_of(f),
                typechar_hint: None,
                name: (f.target != FdTarget::Unknown).then(|| self.view.fds.name(f.name_id)),
            }),
        };
        let pre = |num: i64| FdFacts {
            num,
            target: self.pre_fd.as_ref().map(|s| &s.target),
            v6: self.pre_fd.as_ref().is_some_and(|s| s.v6),
            typechar_hint: None,
            name: self.pre_fd.as_ref().and_then(|s| s.name.as_deref()),
        };
        match sc.kind {
            Clone | Clone3 | Fork | Vfork | Execve | Exit | ExitGroup => None,
            // sysdig: the enter has fd -1 and type `p`; the exit reports the write end.
            Pipe => Some(match &sc.detail {
                crate::event::SyscallDetail::Pipe { write_fd, .. } if !enter && sc.res >= 0 => {
                    FdFacts {
                        num: *write_fd,
                        target: Some(&PIPE),
                        v6: false,
                        typechar_hint: None,
                        name: Some(""),
                    }
                }
                _ => FdFacts {
                    num: -1,
                    target: None,
                    v6: false,
                    typechar_hint: Some("p"),
                    name: None,
                },
            }),
            Open | Openat | Openat2 | Creat | Socket | Accept | Accept4 => {
                let hint = match sc.kind {
                    Socket | Accept | Accept4 => "4",
                    _ => "f",
                };
                let bare = |num| FdFacts {
                    num,
                    target: None,
                    v6: false,
                    typechar_hint: Some(hint),
                    name: if enter {
                        None
                    } else {
                        self.creator_name.as_deref()
                    },
                };
                // sysdig: fd.num is -1 on the enter and on a failed exit.
                if enter || sc.res < 0 {
                    Some(bare(-1))
                } else {
                    post().or(Some(bare(sc.res)))
                }
            }
            Other(n) => {
                let uses_fd = self.other_names.and_then(|f| f(n)).map(|(_, u)| u);
                if uses_fd == Some(false) || (sc.fd < 0 && (enter || uses_fd.is_none())) {
                    return None;
                }
                // sysdig reads the fd from the enter event; when that has none
                // (setsockopt, getsockopt) the exit reports fd -1, an fd it does not know.
                if sc.fd < 0 {
                    return Some(pre(-1));
                }
                Some(if enter {
                    pre(sc.fd)
                } else {
                    post().unwrap_or(pre(sc.fd))
                })
            }
            _ if sc.fd >= 0 => Some(if enter {
                pre(sc.fd)
            } else {
                post().unwrap_or(pre(sc.fd))
            }),
            _ => None,
        }
    }

    fn is_marker(&self) -> bool {
        self.kind == LineKind::Marker
    }

    fn marker(&self) -> Option<MarkerFacts<'_>> {
        let t = self.tracer()?;
        let threads = self.view.spans.threads;
        Some(MarkerFacts {
            dir: t.dir,
            id: t.id,
            tags: t.tags,
            args: t.args,
            record: t.record.map(|r| span_facts(r, threads)),
        })
    }

    /// sysdig's `evt.info`, approximated as described in `filter/info.rs`.
    fn info(&self) -> Option<String> {
        Some(crate::filter::info::evt_info(self))
    }

    fn open_spans(&self) -> OpenSpanIter<'_> {
        let threads = self.view.spans.threads;
        let (mut first, mut skip_key) = (None, None);
        if self.kind == LineKind::MarkerWriteEnter {
            // Before the marker: its own enter record did not exist yet; the record an
            // exit closes was still open.
            if let Some(t) = self.view.tracer() {
                match (t.dir, t.record) {
                    (Direction::Enter, Some(r)) => skip_key = Some(r.seq),
                    (Direction::Exit, Some(r)) => first = Some(span_facts(r, threads)),
                    _ => {}
                }
            }
        }
        OpenSpanIter {
            first,
            skip_key,
            inner: Box::new(self.view.spans.iter()),
            threads,
        }
    }
}
