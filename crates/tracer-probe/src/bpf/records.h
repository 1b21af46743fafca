/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What each syscall class adds to its record: built at exit into the per-CPU scratch
 * from the arguments kept at enter (and, for execve, the path and arguments copied at
 * enter into task storage, since the new image replaces them). Every function
 * returns the number of payload bytes after the header. Included by probe.bpf.c after
 * its helpers.
 */
#ifndef TRACER_RECORDS_H
#define TRACER_RECORDS_H

/* execve enter: copies the path and the first arguments (NUL-separated). */
static __always_inline void stash_exec(struct task_struct *task, __u64 path, __u64 argv)
{
	struct exec_state *es = bpf_task_storage_get(&estate, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u32 off = 0;
	long n;

	if (!es)
		return;
	n = bpf_probe_read_user_str(es->buf, 256, (void *)path);
	if (n > 0)
		off = n;
	if (argv) {
#pragma unroll
		for (int i = 0; i < TR_EXEC_ARGS; i++) {
			__u64 p = 0;

			if (off >= TR_EXEC_MAX)
				break;
			if (bpf_probe_read_user(&p, sizeof(p), (void *)(argv + i * 8)) || !p)
				break;
			n = bpf_probe_read_user_str(&es->buf[off & (TR_EXEC_MAX - 1)], TR_EXEC_ARG_MAX, (void *)p);
			if (n <= 0)
				break;
			off += n;
		}
	}
	es->len = off;
}

/* A marker candidate (null-device write): its payload, and the span depth it implies. */
static __always_inline __u64 record_marker(struct scratch *s, struct task_state *st, __s64 ret,
					   __u32 tgid, __u32 tid)
{
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
	if (n) {
		__u8 last = d[(n - 1) & (TR_DATA_MAX - 1)];

		update_depth(st, tgid, tid, d, n);
		st->frag = !(last == ':' || last == ']' || last == '\n');
	} else {
		st->frag = 0;
	}
	return n;
}

/* Reads and writes: requested size; for socket calls the tuple and the user address. */
static __always_inline __u64 record_io(struct scratch *s, struct task_state *st,
				       struct task_struct *task, __u64 nr, __s64 ret)
{
	struct tr_sock *so = &s->u.sock;
	__u64 uptr = 0, ulen = 0;

	if (nr == NR_read || nr == NR_write || nr == NR_pread64 || nr == NR_pwrite64)
		s->ev.size = st->args[2];
	if (nr == NR_sendfile) {
		s->ev.a0 = st->args[1];
		s->ev.size = st->args[3];
	}
	if (!(nr == NR_sendto || nr == NR_recvfrom || nr == NR_sendmsg || nr == NR_recvmsg))
		return 0;
	__builtin_memset(so, 0, sizeof(*so));
	s->ev.type = TR_EV_SYS_SOCK;
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
	return sizeof(*so);
}

/* open/openat/openat2/creat: flags, mode, dirfd and the path. */
static __always_inline __u64 record_open(struct scratch *s, struct task_state *st, __u64 nr)
{
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
		return n;
	}
	s->ev.flags |= TR_F_READ_FAILED;
	return 0;
}

/* The syscalls shipped whatever the span state: opens, pipes, fd and socket calls. */
static __always_inline __u64 record_always(struct scratch *s, struct task_state *st,
					   struct task_struct *task, __u64 nr, __s64 ret)
{
	if (nr == NR_open || nr == NR_creat || nr == NR_openat || nr == NR_openat2)
		return record_open(s, st, nr);
	if (nr == NR_pipe || nr == NR_pipe2) {
		int fds[2] = {-1, -1};

		if (ret == 0)
			bpf_probe_read_user(fds, sizeof(fds), (void *)st->args[0]);
		s->ev.a0 = (__u64)(__s64)fds[0];
		s->ev.a1 = (__u64)(__s64)fds[1];
		return 0;
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
		if (sfd >= 0 && sock_from_fd(task, sfd, so))
			s->ev.flags |= TR_F_HAS_SK;
		if (nr == NR_connect || nr == NR_bind)
			read_uaddr(&s->ev, so, st->args[1], st->args[2]);
		return sizeof(*so);
	}
	return 0;
}

/* clone/clone3/fork/vfork in the parent: flags and the child (a new process is
 * followed in follow and comm modes). */
static __always_inline void record_clone(struct scratch *s, struct task_state *st, __u64 nr,
					 __s64 ret, __u32 tgid)
{
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
}

/* execve: the path and arguments stashed at enter. */
static __always_inline __u64 record_exec(struct scratch *s, struct task_struct *task)
{
	struct exec_state *es = bpf_task_storage_get(&estate, task, 0, 0);
	__u32 n;

	s->ev.type = TR_EV_SYS_DATA;
	if (!es)
		return 0;
	n = es->len;
	if (n > TR_EXEC_MAX + TR_EXEC_ARG_MAX)
		n = TR_EXEC_MAX + TR_EXEC_ARG_MAX;
	n &= 2047;
	if (n > TR_EXEC_MAX + TR_EXEC_ARG_MAX)
		n = TR_EXEC_MAX + TR_EXEC_ARG_MAX;
	if (n && bpf_probe_read_kernel(s->u.data, n, es->buf) == 0)
		s->ev.len = n;
	else
		n = 0;
	bpf_task_storage_delete(&estate, task);
	return n;
}

#endif /* TRACER_RECORDS_H */
