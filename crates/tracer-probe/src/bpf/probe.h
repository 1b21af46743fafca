/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records shared by the BPF program (probe.bpf.c) and the Rust decoder
 * (src/record.rs mirrors every struct here with #[repr(C)] and asserts the sizes).
 * Plain fixed-width fields only; keep both sides in sync.
 */
#ifndef TRACER_PROBE_H
#define TRACER_PROBE_H

/* Record types (tr_event.type). */
#define TR_EV_SYS 1        /* a completed syscall, header only */
#define TR_EV_SYS_DATA 2   /* header + `len` bytes of data (path, exec strings, marker) */
#define TR_EV_SYS_SOCK 3   /* header + struct tr_sock */
#define TR_EV_THREAD_EXIT 4 /* a thread exited: a0 = exit code, a1 = 1 if the group is dead */

/* tr_event.flags */
#define TR_F_NULL_DEV 1     /* write to the null device (char 1:3) */
#define TR_F_TRUNCATED 2    /* payload cut at payload_max */
#define TR_F_READ_FAILED 4  /* bpf_probe_read_user of the payload/string failed */
#define TR_F_HAS_SK 8       /* tr_sock.family.. filled from the kernel socket */
#define TR_F_HAS_UADDR 16   /* tr_sock.uaddr holds a user sockaddr (ualen bytes) */

/* Per-CPU counters (index into the `counters` map). */
#define TR_C_SUBMITTED 0    /* records written to the ring */
#define TR_C_DROPPED 1      /* records lost: ring full */
#define TR_C_NON_TRACER 2   /* null-device writes that cannot start a marker: dropped */
#define TR_C_TRUNCATED 3    /* marker payloads cut at payload_max */
#define TR_C_READ_FAILED 4  /* user memory reads that failed */
#define TR_C_MARKERS 5      /* unused (markers are counted by the reader) */
#define TR_C_GATED 6        /* unused: the span gate is kept free of map accesses */
#define TR_C_STATE_FAIL 7   /* task storage could not be created */
#define TR_C_NR 8

/* Filter modes (rodata cfg_mode). */
#define TR_MODE_ALL 0
#define TR_MODE_PIDS 1      /* tgids in the bitmap; new processes not followed */
#define TR_MODE_FOLLOW 2    /* tgids in the bitmap; children of selected processes added */
#define TR_MODE_COMM 3      /* processes whose comm equals cfg_comm (set at exec, inherited at fork) */

/* Syscall classes (rodata cfg_nr_class[nr], filled by the loader). */
#define TR_K_NONE 0         /* not traced */
#define TR_K_IO 1           /* I/O: gated by span depth when spans_only */
#define TR_K_WRITE 2        /* write/pwrite64: null-device check, else like TR_K_IO */
#define TR_K_ALWAYS 3       /* fd-table changers and the like: shipped for selected processes */
#define TR_K_EXIT 4         /* exit/exit_group: never return, shipped at enter */
#define TR_K_EXEC 5         /* execve: strings read at enter; comm re-evaluated at exit */
#define TR_K_CLONE 6        /* clone/fork/vfork/clone3: children followed */
#define TR_NR_MAX 512

#define TR_PAYLOAD_MAX 4096 /* largest marker payload */
#define TR_DATA_MAX 8192    /* scratch data area (power of two, > every copy) */
#define TR_PATH_MAX 512     /* open paths */
#define TR_EXEC_MAX 1024    /* execve: filename\0argv0\0argv1\0... */
#define TR_EXEC_ARGS 8      /* argv entries kept */
#define TR_EXEC_ARG_MAX 128 /* bytes per argv entry */
#define TR_PID_BITS (1 << 22) /* PID_MAX_LIMIT on 64-bit */
#define TR_PID_WORDS (TR_PID_BITS / 64)

struct tr_event {
	__u64 ts;       /* exit (or event) time, CLOCK_BOOTTIME ns */
	__u64 enter_ts; /* enter time */
	__s64 ret;      /* return value */
	__s64 fd;       /* fd operated on, -1 if none */
	__u64 size;     /* requested byte count */
	__u64 a0;       /* kind-specific: see the Rust decoder */
	__u64 a1;
	__u64 a2;
	__u32 tid;
	__u32 pid;
	__u32 nr;       /* x86-64 syscall number */
	__u16 type;     /* TR_EV_* */
	__u16 flags;    /* TR_F_* */
	__u32 lost;     /* records of this thread lost (ring full) just before this one */
	__u32 len;      /* bytes of data after the header (TR_EV_SYS_DATA) */
};

struct tr_sock {
	__u16 family;   /* AF_* of the kernel socket */
	__u16 sk_type;  /* SOCK_* */
	__u16 proto;    /* IPPROTO_* */
	__u16 lport;    /* host order */
	__u16 rport;    /* host order */
	__u16 ualen;    /* bytes valid in uaddr */
	__u32 _pad;
	__u8 laddr[16]; /* IPv4 in the first 4 bytes, network order */
	__u8 raddr[16];
	__u8 uaddr[32]; /* raw struct sockaddr from the syscall argument */
};

#endif
