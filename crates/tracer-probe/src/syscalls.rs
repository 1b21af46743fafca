//! The x86-64 syscalls the probe traces: number, [`SyscallKind`] and in-kernel class.

use tracer_core::event::SyscallKind;

/// How the kernel side treats a syscall (mirrors `TR_K_*` in `bpf/probe.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Class {
    /// I/O: skipped outside spans when `spans_only`.
    Io = 1,
    /// write/pwrite64: null-device (marker) check, otherwise I/O.
    Write = 2,
    /// Shipped for every selected process (fd-table changers, bind, listen).
    Always = 3,
    /// exit/exit_group: shipped at enter.
    Exit = 4,
    /// execve.
    Exec = 5,
    /// clone family: children followed.
    Clone = 6,
}

/// Size of the kernel's class table (`TR_NR_MAX`).
pub(crate) const NR_MAX: usize = 512;

/// (number, kind, class) for every traced syscall.
pub(crate) const TABLE: &[(u32, SyscallKind, Class)] = {
    use Class::*;
    use SyscallKind as K;
    &[
        (0, K::Read, Io),
        (1, K::Write, Write),
        (2, K::Open, Always),
        (3, K::Close, Always),
        (17, K::Pread, Io),
        (18, K::Pwrite, Write),
        (19, K::Readv, Io),
        (20, K::Writev, Io),
        (22, K::Pipe, Always),
        (32, K::Dup, Always),
        (33, K::Dup2, Always),
        (40, K::Sendfile, Io),
        (41, K::Socket, Always),
        (42, K::Connect, Always),
        (43, K::Accept, Always),
        (44, K::Sendto, Io),
        (45, K::Recvfrom, Io),
        (46, K::Sendmsg, Io),
        (47, K::Recvmsg, Io),
        (49, K::Bind, Always),
        (50, K::Listen, Always),
        (56, K::Clone, Clone),
        (57, K::Fork, Clone),
        (58, K::Vfork, Clone),
        (59, K::Execve, Exec),
        (60, K::Exit, Exit),
        (72, K::FcntlDup, Always),
        (85, K::Creat, Always),
        (231, K::ExitGroup, Exit),
        (257, K::Openat, Always),
        (288, K::Accept4, Always),
        (292, K::Dup3, Always),
        (293, K::Pipe, Always),
        (295, K::Preadv, Io),
        (296, K::Pwritev, Io),
        (327, K::Preadv, Io),
        (328, K::Pwritev, Io),
        (435, K::Clone3, Clone),
        (437, K::Openat2, Always),
    ]
};

/// The kind of syscall `nr` (`Other(nr)` when not traced).
pub(crate) fn kind_of(nr: u32) -> SyscallKind {
    TABLE
        .iter()
        .find(|(n, _, _)| *n == nr)
        .map(|(_, k, _)| *k)
        .unwrap_or(SyscallKind::Other(nr))
}

/// The class table loaded into the kernel (`cfg_nr_class`).
pub(crate) fn class_table() -> [u8; NR_MAX] {
    let mut t = [0u8; NR_MAX];
    for (nr, _, class) in TABLE {
        t[*nr as usize] = *class as u8;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let t = class_table();
        assert_eq!(t[1], Class::Write as u8);
        assert_eq!(t[39], 0, "getpid is not traced");
        assert_eq!(kind_of(257), SyscallKind::Openat);
        assert_eq!(kind_of(39), SyscallKind::Other(39));
        let mut nrs: Vec<u32> = TABLE.iter().map(|e| e.0).collect();
        nrs.sort();
        nrs.dedup();
        assert_eq!(nrs.len(), TABLE.len(), "duplicate syscall numbers");
        assert!(nrs.iter().all(|&n| (n as usize) < NR_MAX));
    }
}
