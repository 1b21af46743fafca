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
 *
 * Layout: this file holds the state, the enter/exit/thread-exit handlers and the attach
 * points; gating.h which processes and which I/O are kept; fdwalk.h fd -> file, null
 * device and socket tuples; records.h what each syscall class adds to its record.
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

#include "gating.h"
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

#include "records.h"

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

	if (cls == TR_K_EXEC)
		stash_exec(task, a0, a1);

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
		if (st->null_dev)
			extra = record_marker(s, st, ret, tgid, tid);
		else
			extra = record_io(s, st, task, nr, ret);
		break;
	case TR_K_ALWAYS:
		extra = record_always(s, st, task, nr, ret);
		break;
	case TR_K_CLONE:
		record_clone(s, st, nr, ret, tgid);
		break;
	case TR_K_EXEC:
		extra = record_exec(s, task);
		break;
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
