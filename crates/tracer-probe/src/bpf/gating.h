/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which processes are traced and which I/O is kept: the target tgid bitmap (pid,
 * follow and comm modes) and the span gating of spans-only mode (per-thread span
 * depth from shipped markers, the per-process count of threads inside a span, and
 * the bitmaps the hot path reads). Included by probe.bpf.c after its state.
 */
#ifndef TRACER_GATING_H
#define TRACER_GATING_H

/* tgid -> number of its threads with a span open (changed only on markers). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} pspan_count SEC(".maps");

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
#endif /* TRACER_GATING_H */
