//! Loading, configuring, attaching and reading the probe.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, OpenObject, RingBuffer, RingBufferBuilder};
use tracer_core::event::{Event, EventKind};

use crate::config::{mode_of, validate, MODE_ALL, PID_BITS};
use crate::config::{AttachKind, ProbeConfig, ProbeStats, Target};
use crate::error::{check_privileges, clear_log, install_log, log_tail, ProbeError};
use crate::record::decode;
use crate::skel::{ProbeLinks, ProbeSkel, ProbeSkelBuilder};
use crate::spawn::{PausedChild, TracedChild};
use crate::{procfs, syscalls};

const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";
/// Events younger than this are held back by `poll` so that records of other CPUs can
/// still be sorted in before them.
const REORDER_NS: u64 = 10_000_000;

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    received: u64,
    markers: u64,
    malformed: u64,
    lost_reported: u64,
}

/// A loaded and attached probe. Detaches when dropped.
///
/// Not `Send`: create it on the thread that reads it.
pub struct Probe {
    ring: ManuallyDrop<RingBuffer<'static>>,
    skel: ManuallyDrop<ProbeSkel<'static>>,
    storage: *mut MaybeUninit<OpenObject>,
    queue: Rc<RefCell<Queue>>,
    held: Vec<Event>,
    cfg: ProbeConfig,
    attach: AttachKind,
    mode: u32,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("cfg", &self.cfg)
            .field("attach", &self.attach)
            .finish()
    }
}

fn boot_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid timespec pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn load_err(source: libbpf_rs::Error) -> ProbeError {
    let tail = log_tail(25);
    let kernel_eperm = source.kind() == libbpf_rs::ErrorKind::PermissionDenied
        && !tail.contains("PROG LOAD LOG")
        && !tail.contains("processed");
    if kernel_eperm && check_privileges().is_ok() {
        // root but refused without a verifier log: lockdown, seccomp or a refused attach type
        return ProbeError::NotPermitted {
            detail: format!("the kernel refused the load ({source}); {tail}"),
        };
    }
    ProbeError::Verifier {
        source,
        log_tail: tail,
    }
}

/// Opens, configures and loads one variant.
fn load_variant(
    storage: &'static mut MaybeUninit<OpenObject>,
    cfg: &ProbeConfig,
    kind: AttachKind,
    void_cast: bool,
) -> Result<ProbeSkel<'static>, ProbeError> {
    let mut open = ProbeSkelBuilder::default()
        .open(storage)
        .map_err(|source| ProbeError::Libbpf {
            context: "opening the BPF object",
            source,
        })?;
    {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .ok_or_else(|| ProbeError::Config("the BPF object has no .rodata".into()))?;
        ro.cfg_mode = mode_of(&cfg.target);
        ro.cfg_self_tgid = std::process::id();
        ro.cfg_spans_only = cfg.spans_only as u32;
        ro.cfg_payload_max = cfg.payload_max as u32;
        ro.cfg_void_cast = void_cast as u32;
        // each CPU forces a wakeup after this many bytes: all CPUs together stay <= ring/4
        let ncpu = libbpf_rs::num_possible_cpus().unwrap_or(1).max(1);
        ro.cfg_wakeup_bytes = (cfg.ring_size / 4 / ncpu).clamp(4096, 256 << 10) as u64;
        if let Target::Comm(c) = &cfg.target {
            for (d, s) in ro.cfg_comm.iter_mut().zip(c.bytes()) {
                *d = s as i8;
            }
        }
        ro.cfg_nr_class = syscalls::class_table();
    }
    open.maps
        .events
        .set_max_entries(cfg.ring_size as u32)
        .map_err(|source| ProbeError::Libbpf {
            context: "sizing the ring buffer",
            source,
        })?;
    let p = &mut open.progs;
    let btf = kind == AttachKind::TpBtf;
    let raw = kind == AttachKind::RawTp;
    let noop = kind == AttachKind::Noop;
    for (prog, on) in [
        (&mut p.btf_sys_enter, btf),
        (&mut p.btf_sys_exit, btf),
        (&mut p.btf_task_exit, btf),
        (&mut p.raw_sys_enter, raw),
        (&mut p.raw_sys_exit, raw),
        (&mut p.raw_task_exit, raw),
        (&mut p.noop_sys_enter, noop),
        (&mut p.noop_sys_exit, noop),
    ] {
        prog.set_autoload(on);
    }
    open.load().map_err(load_err)
}

impl Probe {
    /// Checks privileges and kernel support, loads the programs (tp_btf, or raw_tp as
    /// fallback), selects the target processes and attaches. Recording starts on
    /// return. Every failure is one readable [`ProbeError`].
    pub fn load(cfg: ProbeConfig) -> Result<Probe, ProbeError> {
        validate(&cfg)?;
        check_privileges()?;
        if !Path::new(BTF_PATH).exists() {
            return Err(ProbeError::NoBtf {
                path: BTF_PATH.into(),
            });
        }
        install_log();
        clear_log();
        let kinds: &[AttachKind] = match cfg.attach {
            AttachKind::Auto => &[AttachKind::TpBtf, AttachKind::RawTp],
            k => std::slice::from_ref(match k {
                AttachKind::TpBtf => &AttachKind::TpBtf,
                AttachKind::RawTp => &AttachKind::RawTp,
                _ => &AttachKind::Noop,
            }),
        };
        let mut last_err = None;
        // first with the direct fd-table load, then with bpf_probe_read_kernel
        // (TRACER_PROBE_NO_VOID_CAST=1 forces the latter, for testing)
        let casts: &[bool] = if std::env::var_os("TRACER_PROBE_NO_VOID_CAST").is_some() {
            &[false]
        } else {
            &[true, false]
        };
        let tries = kinds
            .iter()
            .flat_map(|&k| casts.iter().map(move |&c| (k, c)));
        for (kind, void_cast) in tries {
            let storage: *mut MaybeUninit<OpenObject> =
                Box::into_raw(Box::new(MaybeUninit::uninit()));
            // SAFETY: `storage` is a fresh heap allocation; it outlives every borrow
            // because it is only freed after the skeleton borrowing it is dropped
            // (below on error, in Drop otherwise).
            let res = load_variant(unsafe { &mut *storage }, &cfg, kind, void_cast)
                .and_then(|skel| Probe::start(skel, storage, cfg.clone(), kind));
            match res {
                Ok(p) => return Ok(p),
                Err(e) => {
                    // SAFETY: whatever borrowed `storage` has been dropped with `res`.
                    drop(unsafe { Box::from_raw(storage) });
                    // a refusal of one variant (kfunc, attach type) may not hit the next
                    let fatal = matches!(e, ProbeError::Config(_));
                    last_err = Some(e);
                    if fatal {
                        break;
                    }
                }
            }
        }
        Err(last_err.unwrap_or_else(|| ProbeError::Config("no attach type to try".into())))
    }

    fn start(
        skel: ProbeSkel<'static>,
        storage: *mut MaybeUninit<OpenObject>,
        cfg: ProbeConfig,
        kind: AttachKind,
    ) -> Result<Probe, ProbeError> {
        let queue = Rc::new(RefCell::new(Queue::default()));
        let q = queue.clone();
        let mut builder = RingBufferBuilder::new();
        builder
            .add(&skel.maps.events, move |data: &[u8]| {
                let mut q = q.borrow_mut();
                match decode(data) {
                    Ok(d) => {
                        q.received += 1;
                        if matches!(&d.event.kind, EventKind::Syscall(s) if s.null_dev) {
                            q.markers += 1;
                        }
                        if d.lost > 0 {
                            q.lost_reported += d.lost as u64;
                            let e = &d.event;
                            q.events.push_back(Event {
                                ts: e.ts,
                                tid: e.tid,
                                pid: e.pid,
                                kind: EventKind::Lost {
                                    count: d.lost as u64,
                                },
                            });
                        }
                        q.events.push_back(d.event);
                    }
                    Err(_) => q.malformed += 1,
                }
                0
            })
            .map_err(|source| ProbeError::Libbpf {
                context: "setting up the ring buffer",
                source,
            })?;
        let ring = builder.build().map_err(|source| ProbeError::Libbpf {
            context: "setting up the ring buffer",
            source,
        })?;
        let mode = mode_of(&cfg.target);
        let mut probe = Probe {
            ring: ManuallyDrop::new(ring),
            skel: ManuallyDrop::new(skel),
            storage: std::ptr::null_mut(),
            queue,
            held: Vec::new(),
            cfg,
            attach: kind,
            mode,
        };
        match probe.cfg.target.clone() {
            Target::Pids(pids) => pids.iter().for_each(|&p| probe.set_bit(p, true)),
            Target::Command(pid) => probe.set_bit(pid, true),
            Target::Comm(name) => {
                for pid in procfs::all_pids(Path::new("/proc")) {
                    if procfs::comm_of(Path::new("/proc"), pid).as_deref() == Some(name.as_str()) {
                        probe.set_bit(pid, true);
                    }
                }
            }
            Target::All => {}
        }
        if let Err(source) = probe.skel.attach() {
            let what = match kind {
                AttachKind::RawTp => "raw_tp/sys_enter, raw_tp/sys_exit, raw_tp/sched_process_exit",
                AttachKind::Noop => "tp_btf/sys_enter, tp_btf/sys_exit (no-op)",
                _ => "tp_btf/sys_enter, tp_btf/sys_exit, tp_btf/sched_process_exit",
            };
            let err = ProbeError::Attach {
                what: what.into(),
                source,
                log_tail: log_tail(15),
            };
            // storage is still null here: the caller frees it after this drop
            drop(probe);
            return Err(err);
        }
        probe.storage = storage;
        Ok(probe)
    }

    fn set_bit(&mut self, pid: i32, on: bool) {
        if pid <= 0 || pid as usize >= PID_BITS {
            return;
        }
        let Some(bss) = self.skel.maps.bss_data.as_deref_mut() else {
            return;
        };
        let words = bss.tgid_bits.as_mut_ptr() as *const AtomicU64;
        let (w, b) = (pid as usize / 64, pid as usize % 64);
        // SAFETY: `w` < 65536 words of the mmapped .bss; AtomicU64 has the layout of u64
        // and the kernel side updates the same words atomically too.
        let word = unsafe { &*words.add(w) };
        if on {
            word.fetch_or(1 << b, Ordering::SeqCst);
        } else {
            word.fetch_and(!(1 << b), Ordering::SeqCst);
        }
    }

    /// Adds a process to the selection at run time (no effect with [`Target::All`]).
    pub fn add_pid(&mut self, pid: i32) {
        if self.mode != MODE_ALL {
            self.set_bit(pid, true);
        }
    }

    /// Removes a process from the selection.
    pub fn remove_pid(&mut self, pid: i32) {
        if self.mode != MODE_ALL {
            self.set_bit(pid, false);
        }
    }

    /// Starts `argv` paused, selects it (and, with [`Target::Command`], its
    /// descendants), then lets it run.
    pub fn spawn_traced<S: AsRef<std::ffi::OsStr>>(
        &mut self,
        argv: &[S],
    ) -> Result<TracedChild, ProbeError> {
        let io = |source| ProbeError::Io {
            context: "starting the traced command".into(),
            source,
        };
        let child = PausedChild::spawn(argv).map_err(io)?;
        self.add_pid(child.pid());
        child.resume().map_err(io)
    }

    /// The attach type in use.
    pub fn attach_kind(&self) -> AttachKind {
        self.attach
    }

    /// The configuration the probe was loaded with.
    pub fn config(&self) -> &ProbeConfig {
        &self.cfg
    }

    /// The processes currently selected (scans the bitmap; all pids with [`Target::All`]).
    pub fn selected_pids(&self) -> Vec<i32> {
        if self.mode == MODE_ALL {
            let me = std::process::id() as i32;
            return procfs::all_pids(Path::new("/proc"))
                .into_iter()
                .filter(|&p| p != me)
                .collect();
        }
        let Some(bss) = self.skel.maps.bss_data.as_deref() else {
            return vec![];
        };
        let mut out = vec![];
        for (w, &word) in bss.tgid_bits.iter().enumerate() {
            let mut v = word;
            while v != 0 {
                let b = v.trailing_zeros() as usize;
                out.push((w * 64 + b) as i32);
                v &= v - 1;
            }
        }
        out
    }

    /// The start-up snapshot of the selected processes from /proc: a
    /// [`EventKind::ThreadInfo`] per thread, then an [`EventKind::FdSnapshot`] per open
    /// fd (files, sockets with their tuples, pipes). Emit these before polled events.
    pub fn snapshot(&self) -> Vec<Event> {
        procfs::snapshot(Path::new("/proc"), &self.selected_pids(), boot_ns())
    }

    /// Moves decoded records into the reorder buffer and hands out, in timestamp order,
    /// those older than `cutoff` (all of them with `u64::MAX`).
    fn drain(&mut self, cutoff: u64, f: &mut dyn FnMut(Event)) -> usize {
        {
            let mut q = self.queue.borrow_mut();
            if !q.events.is_empty() {
                self.held.extend(q.events.drain(..));
                // stable: a Lost notice keeps its place before its record (same ts)
                if !self.held.is_sorted_by_key(|e| e.ts) {
                    self.held.sort_by_key(|e| e.ts);
                }
            }
        }
        let n = self.held.partition_point(|e| e.ts <= cutoff);
        for e in self.held.drain(..n) {
            f(e);
        }
        n
    }

    /// Waits up to `timeout` for records, then hands the pending events to `f` in
    /// timestamp order. Records of different CPUs can reach the ring slightly out of
    /// order, so events younger than 10 ms are held back until a later call (or
    /// [`finish`](Probe::finish)). Returns how many events were delivered. A signal
    /// interrupting the wait is not an error (the call returns early).
    pub fn poll(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(Event),
    ) -> Result<usize, ProbeError> {
        if let Err(source) = self.ring.poll(timeout) {
            if source.kind() != libbpf_rs::ErrorKind::Interrupted {
                return Err(ProbeError::Libbpf {
                    context: "polling the ring buffer",
                    source,
                });
            }
        }
        // wakeups are batched: always consume what is there after a timeout
        self.ring.consume().map_err(|source| ProbeError::Libbpf {
            context: "consuming the ring buffer",
            source,
        })?;
        Ok(self.drain(boot_ns().saturating_sub(REORDER_NS), f))
    }

    /// Per-program run counts and total run time (ns) from the kernel's BPF statistics,
    /// as `(program name, runs, ns)`. The kernel only counts while
    /// `/proc/sys/kernel/bpf_stats_enabled` is 1 (for benchmarks; it adds its own cost).
    pub fn program_run_stats(&self) -> Vec<(String, u64, u64)> {
        use std::os::fd::{AsFd, AsRawFd};
        let p = &self.skel.progs;
        let loaded = match self.attach {
            AttachKind::RawTp => [&p.raw_sys_enter, &p.raw_sys_exit],
            AttachKind::Noop => [&p.noop_sys_enter, &p.noop_sys_exit],
            _ => [&p.btf_sys_enter, &p.btf_sys_exit],
        };
        let mut out = vec![];
        for p in loaded {
            let fd = p.as_fd().as_raw_fd();
            let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
                continue;
            };
            let field = |k: &str| {
                info.lines()
                    .find_map(|l| l.strip_prefix(k).and_then(|v| v.trim().parse::<u64>().ok()))
                    .unwrap_or(0)
            };
            out.push((
                p.name().to_string_lossy().into_owned(),
                field("run_cnt:"),
                field("run_time_ns:"),
            ));
        }
        out
    }

    /// Kernel and reader counters so far.
    pub fn stats(&self) -> ProbeStats {
        let mut c = [0u64; 8];
        for (i, slot) in c.iter_mut().enumerate() {
            let key = (i as u32).to_ne_bytes();
            if let Ok(Some(per_cpu)) = self.skel.maps.counters.lookup_percpu(&key, MapFlags::ANY) {
                *slot = per_cpu
                    .iter()
                    .filter_map(|v| {
                        v.get(..8)
                            .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
                    })
                    .sum();
            }
        }
        let q = self.queue.borrow();
        ProbeStats {
            submitted: c[0],
            dropped: c[1],
            non_tracer_markers: c[2],
            truncated: c[3],
            read_failed: c[4],
            markers: q.markers,
            state_failures: c[7],
            received: q.received,
            malformed: q.malformed,
            lost_reported: q.lost_reported,
        }
    }

    /// Detaches, delivers every remaining event to `f` (plus one [`EventKind::Lost`]
    /// with tid -1 for lost records that no later record of their thread reported) and
    /// returns the final counters.
    pub fn finish(mut self, f: &mut dyn FnMut(Event)) -> Result<ProbeStats, ProbeError> {
        self.skel.links = ProbeLinks::default();
        self.ring.consume().map_err(|source| ProbeError::Libbpf {
            context: "consuming the ring buffer",
            source,
        })?;
        self.drain(u64::MAX, f);
        let mut stats = self.stats();
        let unreported = stats.dropped.saturating_sub(stats.lost_reported);
        if unreported > 0 {
            f(Event {
                ts: boot_ns(),
                tid: -1,
                pid: -1,
                kind: EventKind::Lost { count: unreported },
            });
            stats.lost_reported += unreported;
        }
        Ok(stats)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // SAFETY: the ring buffer and the skeleton are dropped exactly once, before the
        // storage the skeleton borrows is freed.
        unsafe {
            ManuallyDrop::drop(&mut self.ring);
            ManuallyDrop::drop(&mut self.skel);
            if !self.storage.is_null() {
                drop(Box::from_raw(self.storage));
            }
        }
    }
}
