/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * From a task's fd to its file, the null-device test and socket tuples (BTF-typed
 * loads from the current task; included by probe.bpf.c after its configuration).
 */
#ifndef TRACER_FDWALK_H
#define TRACER_FDWALK_H

static __always_inline struct file *fd_file(struct task_struct *task, __s64 fd)
{
	struct files_struct *files = task->files;
	struct file *f = NULL;
	struct file **arr;
	struct fdtable *fdt;

	if (!files || fd < 0)
		return NULL;
	fdt = files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	arr = fdt->fd;
	if (cfg_void_cast) {
		/* kernels that accept bpf_rdonly_cast(p, 0): a plain (fault-safe) load */
		struct file **a = bpf_rdonly_cast(arr, 0);

		f = a[fd];
	} else {
		bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	}
	if (!f)
		return NULL;
	return bpf_core_cast(f, struct file);
}

static __always_inline bool is_null_dev(struct task_struct *task, __s64 fd)
{
	struct file *f = fd_file(task, fd);
	struct inode *ino;

	if (!f)
		return false;
	ino = f->f_inode;
	if (!ino)
		return false;
	return (ino->i_mode & S_IFMT) == S_IFCHR && ino->i_rdev == NULL_RDEV;
}

/* Fills the kernel side of a socket tuple from fd; returns true when it is a socket. */
static __always_inline bool sock_from_fd(struct task_struct *task, __s64 fd, struct tr_sock *out)
{
	struct file *f = fd_file(task, fd);
	struct socket *so;
	struct inode *ino;
	struct sock *sk;

	if (!f)
		return false;
	ino = f->f_inode;
	if (!ino || (ino->i_mode & S_IFMT) != S_IFSOCK)
		return false;
	so = bpf_core_cast(f->private_data, struct socket);
	if (!so)
		return false;
	sk = so->sk;
	if (!sk)
		return false;
	out->family = sk->__sk_common.skc_family;
	out->sk_type = sk->sk_type;
	out->proto = sk->sk_protocol;
	out->lport = sk->__sk_common.skc_num;
	out->rport = __builtin_bswap16(sk->__sk_common.skc_dport);
	if (out->family == AF_INET) {
		__u32 l = sk->__sk_common.skc_rcv_saddr, r = sk->__sk_common.skc_daddr;
		__builtin_memcpy(out->laddr, &l, 4);
		__builtin_memcpy(out->raddr, &r, 4);
	} else if (out->family == AF_INET6) {
		bpf_probe_read_kernel(out->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_probe_read_kernel(out->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	return true;
}

static __always_inline void read_uaddr(struct tr_event *ev, struct tr_sock *s, __u64 uptr, __u64 ulen)
{
	if (!uptr || ulen == 0)
		return;
	if (ulen > sizeof(s->uaddr))
		ulen = sizeof(s->uaddr);
	ulen &= 63;
	if (ulen > sizeof(s->uaddr))
		return;
	if (bpf_probe_read_user(s->uaddr, ulen, (void *)uptr) == 0) {
		s->ualen = ulen;
		ev->flags |= TR_F_HAS_UADDR;
	}
}

#endif
