/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Kernel constants and the x86-64 syscall numbers probe.bpf.c handles specially. */
#ifndef TRACER_SYSNR_H
#define TRACER_SYSNR_H

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFCHR 0020000
#define NULL_RDEV ((1U << 20) | 3)
#define CLONE_VM 0x00000100
#define CLONE_VFORK 0x00004000
#define CLONE_THREAD 0x00010000
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030
#define AF_INET 2
#define AF_INET6 10

/* x86-64 syscall numbers that need special handling */
#define NR_read 0
#define NR_write 1
#define NR_open 2
#define NR_pread64 17
#define NR_pwrite64 18
#define NR_pipe 22
#define NR_sendfile 40
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_bind 49
#define NR_clone 56
#define NR_fork 57
#define NR_vfork 58
#define NR_fcntl 72
#define NR_creat 85
#define NR_openat 257
#define NR_accept4 288
#define NR_pipe2 293
#define NR_clone3 435
#define NR_openat2 437

#endif
