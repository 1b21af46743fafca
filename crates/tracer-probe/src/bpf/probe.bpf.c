// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tracer syscall + marker probe.
 *
 * Attach: tp_btf/sys_enter + tp_btf/sys_exit (raw_tp fallback; the loader picks one
 * pair with set_autoload), plus sched_process_exit for thread exits.
 *
 * Filter order, cheapest first: syscall class (rodata table), own tgid, target tgid
 * bitmap (.bss, plain load), then per-task state (task storage). Enter data is kept in
 * task storage and one record is written per syscall at exit, built in a per-CPU
 * scratch and copied into the ring with bpf_ringbuf_output. Wakeups are batched: the
 * consumer is only woken when cfg_wakeup_bytes are pending; it polls with a timeout.
 *
 * Markers: a write/pwrite64 whose fd refers to the char device 1:3 (checked through
 * task->files, so fds opened before the capture work) is a marker candidate. Its
 * payload (up to cfg_payload_max bytes) is copied only when the first byte can start a
 * tracer ('>', '<', '[', ' '), or when it may continue an incomplete marker written
 * just before by the same thread. Other null-device writes are counted and dropped.
 * A per-task span depth, updated from shipped markers, gates the I/O syscalls when
 * cfg_spans_only is set: I/O is kept while its thread, or any thread of its process,
 * has a span open (a per-process count of threads in a span, plus a tgid bitmap for
 * the hot path), so that work handed to worker threads is not lost.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "probe.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

_Static_assert(sizeof(struct tr_event) == 88, "tr_event size");
_Static_assert(sizeof(struct tr_sock) == 80, "tr_sock size");

/* ---- configuration (set by the loader before load) ---- */
const volatile __u32 cfg_mode = TR_MODE_ALL;
const volatile __u32 cfg_self_tgid = 0;
const volatile __u32 cfg_spans_only = 0;
const volatile __u32 cfg_payload_max = 4096;
const volatile __u32 cfg_void_cast = 0; /* set by the loader when the kernel allows it */
const volatile __u64 cfg_wakeup_bytes = 256 * 1024;
const volatile char cfg_comm[16] = {};
const volatile __u8 cfg_nr_class[TR_NR_MAX] = {};

/* ---- runtime state ---- */
/* Selected tgids (TR_MODE_PIDS/FOLLOW/COMM); userspace writes it through the mmapped bss. */
__u64 tgid_bits[TR_PID_WORDS];
/* Per-tid hints (plain loads on the hot path; changed only on markers, with atomics):
 * in_span: the thread's span depth is > 0; pending: a marker write is between enter and
 * exit. They only let the probe skip the task-storage lookup; the state itself lives in
 * task storage. */
__u64 inspan_bits[TR_PID_WORDS];
/* By tgid: some thread of the process has a span open (pspan_count > 0). */
__u64 pspan_bits[TR_PID_WORDS];
__u64 pending_bits[TR_PID_WORDS];

struct task_state {
	__u64 enter_ts;
	__u64 args[6];
	__u32 nr;
	__u8 active;
	__u8 null_dev;
	__u8 frag;   /* last shipped marker looked incomplete: ship the next null write too */
	__u8 _pad;
	__u32 depth; /* open spans of this thread, as seen from markers */
	__u32 lost;  /* records of this thread lost since its last shipped record */
};

struct exec_state {
	__u32 len;
	__u32 _pad;
	__u8 buf[TR_EXEC_MAX + TR_EXEC_ARG_MAX + 256];
};

struct scratch {
	struct tr_event ev;
	union {
		struct tr_sock sock;
		__u8 data[TR_DATA_MAX];
	} u;
	__u64 unwoken; /* bytes this CPU wrote since it last forced a wakeup */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tstate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct exec_state);
} estate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* tgid -> number of its threads with a span open (changed only on markers). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} pspan_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TR_C_NR);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#include "sysnr.h"

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		*c += 1;
}

static __always_inline bool bit_test(__u32 tgid)
{
	__u32 w = (tgid >> 6) & (TR_PID_WORDS - 1);
	return (tgid_bits[w] >> (tgid & 63)) & 1;
}

static __always_inline void bit_set(__u32 tgid)
{
	__u32 w = (tgid >> 6) & (TR_PID_WORDS - 1);
	__sync_fetch_and_or(&tgid_bits[w], 1ULL << (tgid & 63));
}

static __always_inline void bit_clear(__u32 tgid)
{
	__u32 w = (tgid >> 6) & (TR_PID_WORDS - 1);
	__sync_fetch_and_and(&tgid_bits[w], ~(1ULL << (tgid & 63)));
}

static __always_inline bool tbit(__u64 *bits, __u32 id)
{
	__u32 w = (id >> 6) & (TR_PID_WORDS - 1);
	return (bits[w] >> (id & 63)) & 1;
}

static __always_inline void tbit_put(__u64 *bits, __u32 id, bool on)
{
	__u32 w = (id >> 6) & (TR_PID_WORDS - 1);
	if (on)
		__sync_fetch_and_or(&bits[w], 1ULL << (id & 63));
	else
		__sync_fetch_and_and(&bits[w], ~(1ULL << (id & 63)));
}

static __always_inline bool selected(__u32 tgid)
{
	if (tgid == cfg_self_tgid)
		return false;
	if (cfg_mode == TR_MODE_ALL)
		return true;
	return bit_test(tgid);
}

/* Spans-only: the I/O of a thread is shipped while the thread is inside a span, while
 * another thread of its process has a span open (process scope), or while the process
 * that created it has a span open (children scope: direct children only). */
static __always_inline bool span_open_for(struct task_struct *task, __u32 tid, __u32 tgid)
{
	struct task_struct *parent;

	if (tbit(inspan_bits, tid) || tbit(pspan_bits, tgid))
		return true;
	parent = task->real_parent;
	return parent && tbit(pspan_bits, parent->tgid);
}

#include "fdwalk.h"

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

static __always_inline void fill_hdr(struct tr_event *ev, __u64 pid_tgid, __u32 nr, __u64 enter_ts)
{
	ev->ts = bpf_ktime_get_boot_ns();
	ev->enter_ts = enter_ts;
	ev->ret = 0;
	ev->fd = -1;
	ev->size = 0;
	ev->a0 = 0;
	ev->a1 = 0;
	ev->a2 = 0;
	ev->tid = (__u32)pid_tgid;
	ev->pid = pid_tgid >> 32;
	ev->nr = nr;
	ev->type = TR_EV_SYS;
	ev->flags = 0;
	ev->lost = 0;
	ev->len = 0;
}

/* Writes the scratch record (header + `extra` bytes) to the ring. */
static __always_inline void submit(struct scratch *s, struct task_state *st, __u64 extra)
{
	__u64 flags, size;
	long err;

	if (st)
		s->ev.lost = st->lost;
	size = sizeof(struct tr_event) + (extra & (TR_DATA_MAX - 1));
	/* batched wakeups without a helper call: each CPU wakes the consumer once it has
	 * written cfg_wakeup_bytes (the loader keeps ncpus * that <= ring / 4) */
	s->unwoken += size;
	flags = BPF_RB_NO_WAKEUP;
	if (s->unwoken >= cfg_wakeup_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
		s->unwoken = 0;
	}
	err = bpf_ringbuf_output(&events, s, size, flags);
	if (err) {
		count(TR_C_DROPPED);
		if (st)
			st->lost += 1;
	} else {
		count(TR_C_SUBMITTED);
		if (st)
			st->lost = 0;
	}
}

static __always_inline bool tracer_start(__u8 c)
{
	return c == '>' || c == '<' || c == '[' || c == ' ';
}

/* ---------------- sys_enter ---------------- */

static __always_inline int on_enter(__u64 nr, __u64 a0, __u64 a1, __u64 a2, __u64 a3, __u64 a4, __u64 a5)
{
	struct task_struct *task;
	struct task_state *st;
	__u64 pid_tgid;
	__u32 tgid;
	__u8 cls, null_dev = 0;

	if (nr >= TR_NR_MAX)
		return 0;
	cls = cfg_nr_class[nr & (TR_NR_MAX - 1)];
	if (cls == TR_K_NONE)
		return 0;
	task = bpf_get_current_task_btf();
	tgid = task->tgid;
	pid_tgid = ((__u64)tgid << 32) | (__u32)task->pid;
	if (!selected(tgid)) {
		/* comm mode: an exec may make this process selected */
		if (!(cls == TR_K_EXEC && cfg_mode == TR_MODE_COMM && tgid != cfg_self_tgid))
			return 0;
	}

	if (cls == TR_K_IO || cls == TR_K_WRITE) {
		st = NULL;
		if (cls == TR_K_WRITE && is_null_dev(task, a0)) {
			__u8 c = 0;

			if (a2 == 0) {
				count(TR_C_NON_TRACER);
				return 0;
			}
			/* an unreadable buffer (page not present) is shipped, flagged read-failed */
			if (bpf_probe_read_user(&c, 1, (void *)a1) == 0 && !tracer_start(c)) {
				st = bpf_task_storage_get(&tstate, task, 0, 0);
				if (!st || !st->frag) {
					count(TR_C_NON_TRACER);
					return 0;
				}
			}
			if (!st)
				st = bpf_task_storage_get(&tstate, task, 0, 0);
			null_dev = 1;
			tbit_put(pending_bits, (__u32)pid_tgid, true);
		} else if (cfg_spans_only) {
			if (!span_open_for(task, (__u32)pid_tgid, tgid))
				return 0;
			st = bpf_task_storage_get(&tstate, task, 0, 0);
		} else {
			st = bpf_task_storage_get(&tstate, task, 0, 0);
		}
		if (!st) {
			st = bpf_task_storage_get(&tstate, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (!st) {
				count(TR_C_STATE_FAIL);
				return 0;
			}
		}
	} else {
		st = bpf_task_storage_get(&tstate, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st) {
			count(TR_C_STATE_FAIL);
			return 0;
		}
	}

	if (cls == TR_K_EXIT) {
		/* exit/exit_group do not return: ship now */
		struct scratch *s = get_scratch();

		if (!s)
			return 0;
		fill_hdr(&s->ev, pid_tgid, nr, bpf_ktime_get_boot_ns());
		s->ev.a0 = a0;
		submit(s, st, 0);
		return 0;
	}

	if (nr == NR_fcntl && a1 != F_DUPFD && a1 != F_DUPFD_CLOEXEC)
		return 0;

	if (cls == TR_K_EXEC) {
		struct exec_state *es = bpf_task_storage_get(&estate, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		__u32 off = 0;
		long n;

		if (es) {
			n = bpf_probe_read_user_str(es->buf, 256, (void *)a0);
			if (n > 0)
				off = n;
			if (a1) {
#pragma unroll
				for (int i = 0; i < TR_EXEC_ARGS; i++) {
					__u64 p = 0;

					if (off >= TR_EXEC_MAX)
						break;
					if (bpf_probe_read_user(&p, sizeof(p), (void *)(a1 + i * 8)) || !p)
						break;
					n = bpf_probe_read_user_str(&es->buf[off & (TR_EXEC_MAX - 1)], TR_EXEC_ARG_MAX, (void *)p);
					if (n <= 0)
						break;
					off += n;
				}
			}
			es->len = off;
		}
	}

	/* marker writes: the exit time is the marker's time; spare the clock read */
	st->enter_ts = null_dev ? 0 : bpf_ktime_get_boot_ns();
	st->args[0] = a0;
	st->args[1] = a1;
	st->args[2] = a2;
	st->args[3] = a3;
	st->args[4] = a4;
	st->args[5] = a5;
	st->nr = nr;
	st->null_dev = null_dev;
	st->active = 1;
	return 0;
}

/* ---------------- sys_exit ---------------- */

static __always_inline bool comm_matches(struct task_struct *task)
{
	char c[16];

	bpf_probe_read_kernel(c, sizeof(c), task->comm);
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (c[i] != cfg_comm[i])
			return false;
		if (c[i] == 0)
			return true;
	}
	return true;
}

/* A thread of process tgid opened its first span (on) or closed its last one. The
 * bitmap errs on the side of keeping I/O: it is set after every increment and cleared
 * only when the count reads 0 (and set again if another thread raced in). */
static __always_inline void process_span(__u32 tgid, bool on)
{
	__u32 one = 1, *c = bpf_map_lookup_elem(&pspan_count, &tgid);

	if (on) {
		if (c)
			__sync_fetch_and_add(c, 1);
		else if (bpf_map_update_elem(&pspan_count, &tgid, &one, BPF_NOEXIST) != 0 &&
			 (c = bpf_map_lookup_elem(&pspan_count, &tgid)))
			__sync_fetch_and_add(c, 1);
		tbit_put(pspan_bits, tgid, true);
		return;
	}
	if (!c)
		return;
	/* (the XADD result is not usable on the default BPF cpu: read the count after) */
	__sync_fetch_and_add(c, -1);
	if (*c == 0) {
		tbit_put(pspan_bits, tgid, false);
		if (*c != 0)
			tbit_put(pspan_bits, tgid, true);
	}
}

static __always_inline void update_depth(struct task_state *st, __u32 tgid, __u32 tid, __u8 *d,
					 __u64 n)
{
	__u8 dir = 0;

	if (n == 0)
		return;
	if (d[0] == '>' || d[0] == '<') {
		if (n >= 2 && d[1] == ':')
			dir = d[0];
	} else {
		/* JSON form: optional spaces, '[', '"', then the type string */
		int i = 0;

#pragma unroll
		for (int k = 0; k < 8; k++) {
			if (d[i] == ' ')
				i++;
		}
		if (i + 2 < n && d[i] == '[' && d[i + 1] == '"')
			dir = d[i + 2] == '>' ? '>' : '<';
	}
	if (dir == '>') {
		st->depth += 1;
		if (st->depth == 1) {
			tbit_put(inspan_bits, tid, true);
			process_span(tgid, true);
		}
	} else if (dir == '<' && st->depth > 0) {
		st->depth -= 1;
		if (st->depth == 0) {
			tbit_put(inspan_bits, tid, false);
			process_span(tgid, false);
		}
	}
}

static __always_inline int on_exit(__u64 nr, __s64 ret)
{
	struct task_struct *task;
	struct task_state *st;
	struct scratch *s;
	__u64 pid_tgid, extra = 0;
	__u32 tgid, tid;
	__u8 cls;

	if (nr >= TR_NR_MAX)
		return 0;
	cls = cfg_nr_class[nr & (TR_NR_MAX - 1)];
	if (cls == TR_K_NONE)
		return 0;
	task = bpf_get_current_task_btf();
	tgid = task->tgid;
	tid = task->pid;
	pid_tgid = ((__u64)tgid << 32) | tid;

	if (cls == TR_K_CLONE && ret == 0) {
		/* the child's first return: follow it if its parent is selected */
		if ((cfg_mode == TR_MODE_FOLLOW || cfg_mode == TR_MODE_COMM) && tgid == tid &&
		    !bit_test(tgid)) {
			struct task_struct *parent = task->real_parent;

			if (parent && bit_test(parent->tgid))
				bit_set(tgid);
		}
		return 0;
	}

	if (cls == TR_K_EXEC && cfg_mode == TR_MODE_COMM && ret == 0 && tgid != cfg_self_tgid) {
		if (comm_matches(task))
			bit_set(tgid);
		else
			bit_clear(tgid);
	}
	if (!selected(tgid))
		return 0;
	/* I/O outside spans (and not a marker): nothing was stored at enter */
	if ((cls == TR_K_IO || cls == TR_K_WRITE) && cfg_spans_only && !tbit(pending_bits, tid) &&
	    !span_open_for(task, tid, tgid))
		return 0;

	st = bpf_task_storage_get(&tstate, task, 0, 0);
	if (!st || !st->active || st->nr != nr)
		return 0;
	st->active = 0;
	if (st->null_dev)
		tbit_put(pending_bits, tid, false);

	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr(&s->ev, pid_tgid, nr, st->enter_ts);
	if (!st->enter_ts)
		s->ev.enter_ts = s->ev.ts;
	s->ev.ret = ret;

	switch (cls) {
	case TR_K_IO:
	case TR_K_WRITE:
		s->ev.fd = (__s64)st->args[0];
		if (st->null_dev) {
			__u64 n = ret > 0 ? ret : 0;
			__u8 *d = s->u.data;

			s->ev.type = TR_EV_SYS_DATA;
			s->ev.flags |= TR_F_NULL_DEV;
			s->ev.size = st->args[2];
			if (n > cfg_payload_max) {
				n = cfg_payload_max;
				s->ev.flags |= TR_F_TRUNCATED;
				count(TR_C_TRUNCATED);
			}
			if (n > TR_PAYLOAD_MAX)
				n = TR_PAYLOAD_MAX;
			n &= (TR_DATA_MAX - 1);
			if (n > TR_PAYLOAD_MAX)
				n = TR_PAYLOAD_MAX;
			if (n && bpf_probe_read_user(d, n, (void *)st->args[1]) != 0) {
				s->ev.flags |= TR_F_READ_FAILED;
				count(TR_C_READ_FAILED);
				n = 0;
			}
			s->ev.len = n;
			extra = n;
			if (n) {
				__u8 last = d[(n - 1) & (TR_DATA_MAX - 1)];

				update_depth(st, tgid, tid, d, n);
				st->frag = !(last == ':' || last == ']' || last == '\n');
			} else {
				st->frag = 0;
			}
			break;
		}
		if (nr == NR_read || nr == NR_write || nr == NR_pread64 || nr == NR_pwrite64)
			s->ev.size = st->args[2];
		if (nr == NR_sendfile) {
			s->ev.a0 = st->args[1];
			s->ev.size = st->args[3];
		}
		if (nr == NR_sendto || nr == NR_recvfrom || nr == NR_sendmsg || nr == NR_recvmsg) {
			struct tr_sock *so = &s->u.sock;
			__u64 uptr = 0, ulen = 0;

			__builtin_memset(so, 0, sizeof(*so));
			s->ev.type = TR_EV_SYS_SOCK;
			extra = sizeof(*so);
			if (sock_from_fd(task, st->args[0], so))
				s->ev.flags |= TR_F_HAS_SK;
			if (nr == NR_sendto) {
				s->ev.size = st->args[2];
				uptr = st->args[4];
				ulen = st->args[5];
			} else if (nr == NR_recvfrom) {
				__u32 l = 0;

				s->ev.size = st->args[2];
				uptr = st->args[4];
				if (uptr && st->args[5])
					bpf_probe_read_user(&l, sizeof(l), (void *)st->args[5]);
				ulen = l;
			} else {
				/* struct msghdr { void *msg_name; int msg_namelen; ... } */
				struct {
					__u64 name;
					__u32 namelen;
				} mh = {};

				if (st->args[1] && bpf_probe_read_user(&mh, 12, (void *)st->args[1]) == 0) {
					uptr = mh.name;
					ulen = mh.namelen;
				}
			}
			if (ret >= 0)
				read_uaddr(&s->ev, so, uptr, ulen);
		}
		break;
	case TR_K_ALWAYS:
		if (nr == NR_open || nr == NR_creat || nr == NR_openat || nr == NR_openat2) {
			__u64 path = nr == NR_open || nr == NR_creat ? st->args[0] : st->args[1];
			long n;

			if (nr == NR_open) {
				s->ev.a0 = st->args[1];
				s->ev.a1 = st->args[2];
			} else if (nr == NR_creat) {
				s->ev.a1 = st->args[1];
			} else if (nr == NR_openat) {
				s->ev.a0 = st->args[2];
				s->ev.a1 = st->args[3];
				s->ev.a2 = st->args[0];
			} else {
				struct {
					__u64 flags, mode;
				} how = {};

				if (st->args[2])
					bpf_probe_read_user(&how, sizeof(how), (void *)st->args[2]);
				s->ev.a0 = how.flags;
				s->ev.a1 = how.mode;
				s->ev.a2 = st->args[0];
			}
			s->ev.type = TR_EV_SYS_DATA;
			n = bpf_probe_read_user_str(s->u.data, TR_PATH_MAX, (void *)path);
			if (n > 0) {
				s->ev.len = n;
				extra = n;
			} else {
				s->ev.flags |= TR_F_READ_FAILED;
			}
			break;
		}
		if (nr == NR_pipe || nr == NR_pipe2) {
			int fds[2] = {-1, -1};

			if (ret == 0)
				bpf_probe_read_user(fds, sizeof(fds), (void *)st->args[0]);
			s->ev.a0 = (__u64)(__s64)fds[0];
			s->ev.a1 = (__u64)(__s64)fds[1];
			break;
		}
		s->ev.fd = (__s64)st->args[0];
		s->ev.a0 = st->args[0];
		s->ev.a1 = st->args[1];
		s->ev.a2 = st->args[2];
		if (nr == NR_connect || nr == NR_accept || nr == NR_accept4 || nr == NR_bind) {
			struct tr_sock *so = &s->u.sock;
			__s64 sfd = (nr == NR_accept || nr == NR_accept4) ? ret : (__s64)st->args[0];

			__builtin_memset(so, 0, sizeof(*so));
			s->ev.type = TR_EV_SYS_SOCK;
			extra = sizeof(*so);
			if (sfd >= 0 && sock_from_fd(task, sfd, so))
				s->ev.flags |= TR_F_HAS_SK;
			if (nr == NR_connect || nr == NR_bind)
				read_uaddr(&s->ev, so, st->args[1], st->args[2]);
		}
		break;
	case TR_K_CLONE: {
		__u64 flags = 0;

		if (nr == NR_clone) {
			flags = st->args[0];
		} else if (nr == NR_vfork) {
			flags = CLONE_VFORK | CLONE_VM;
		} else if (nr == NR_clone3 && st->args[0]) {
			bpf_probe_read_user(&flags, sizeof(flags), (void *)st->args[0]);
		}
		s->ev.a0 = flags;
		s->ev.a1 = (flags & CLONE_THREAD) ? tgid : (ret > 0 ? ret : 0);
		if (ret > 0 && !(flags & CLONE_THREAD) &&
		    (cfg_mode == TR_MODE_FOLLOW || cfg_mode == TR_MODE_COMM))
			bit_set((__u32)ret);
		break;
	}
	case TR_K_EXEC: {
		struct exec_state *es = bpf_task_storage_get(&estate, task, 0, 0);

		s->ev.type = TR_EV_SYS_DATA;
		if (es) {
			__u32 n = es->len;

			if (n > TR_EXEC_MAX + TR_EXEC_ARG_MAX)
				n = TR_EXEC_MAX + TR_EXEC_ARG_MAX;
			n &= 2047;
			if (n > TR_EXEC_MAX + TR_EXEC_ARG_MAX)
				n = TR_EXEC_MAX + TR_EXEC_ARG_MAX;
			if (n && bpf_probe_read_kernel(s->u.data, n, es->buf) == 0) {
				s->ev.len = n;
				extra = n;
			}
			bpf_task_storage_delete(&estate, task);
		}
		break;
	}
	default:
		break;
	}
	submit(s, st, extra);
	return 0;
}

/* ---------------- thread exit ---------------- */

static __always_inline int on_task_exit(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st;
	struct scratch *s;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	bool group_dead;

	if (!selected(tgid))
		return 0;
	group_dead = task->signal && task->signal->live.counter == 0;
	st = bpf_task_storage_get(&tstate, task, 0, 0);
	s = get_scratch();
	if (s) {
		fill_hdr(&s->ev, pid_tgid, 0, 0);
		s->ev.type = TR_EV_THREAD_EXIT;
		s->ev.enter_ts = s->ev.ts;
		s->ev.a0 = task->exit_code;
		s->ev.a1 = group_dead;
		submit(s, st, 0);
	}
	if (group_dead && cfg_mode != TR_MODE_ALL)
		bit_clear(tgid);
	if (st && st->depth > 0) {
		/* a thread that ends inside spans no longer keeps its process's I/O */
		st->depth = 0;
		process_span(tgid, false);
	}
	if (group_dead) {
		bpf_map_delete_elem(&pspan_count, &tgid);
		if (tbit(pspan_bits, tgid))
			tbit_put(pspan_bits, tgid, false);
	}
	if (tbit(inspan_bits, (__u32)pid_tgid))
		tbit_put(inspan_bits, (__u32)pid_tgid, false);
	if (tbit(pending_bits, (__u32)pid_tgid))
		tbit_put(pending_bits, (__u32)pid_tgid, false);
	return 0;
}

/* ---------------- attach points ---------------- */

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(id, regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(regs->orig_ax, ret);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_task_exit)
{
	return on_task_exit();
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];

	return on_enter(ctx->args[1], BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si),
			BPF_CORE_READ(regs, dx), BPF_CORE_READ(regs, r10), BPF_CORE_READ(regs, r8),
			BPF_CORE_READ(regs, r9));
}

SEC("raw_tp/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];

	return on_exit(BPF_CORE_READ(regs, orig_ax), ctx->args[1]);
}

SEC("raw_tp/sched_process_exit")
int raw_task_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return on_task_exit();
}

/* No-op programs: the cost floor of having anything on the syscall tracepoints. */
SEC("tp_btf/sys_enter")
int BPF_PROG(noop_sys_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(noop_sys_exit, struct pt_regs *regs, long ret)
{
	return 0;
}
