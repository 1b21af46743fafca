//! Conversions between sysdig's `PPM_*` numbering and Linux numbering
//! (open flags, clone flags).

/// (PPM_O_* bit, Linux O_* bits) for the flags other than the access mode.
const OPEN_BITS: &[(u32, u32)] = &[
    (4, 0o100),         // CREAT
    (8, 0o2000),        // APPEND
    (16, 0o10000),      // DSYNC
    (32, 0o200),        // EXCL
    (64, 0o4000),       // NONBLOCK
    (128, 0o4000000),   // SYNC (__O_SYNC; Linux O_SYNC also sets O_DSYNC)
    (256, 0o1000),      // TRUNC
    (512, 0o40000),     // DIRECT
    (1024, 0o200000),   // DIRECTORY
    (2048, 0o100000),   // LARGEFILE
    (4096, 0o2000000),  // CLOEXEC
    (8192, 0o20000000), // TMPFILE (__O_TMPFILE)
];

/// Linux `O_*` open flags → sysdig `PPM_O_*` flags. Bits sysdig has no name for
/// (`O_NOFOLLOW`, `O_NOCTTY`, `O_PATH`, `O_NOATIME`) are dropped.
pub fn open_flags_to_ppm(linux: u32) -> u32 {
    let mut ppm = match linux & 3 {
        0 => 1, // O_RDONLY
        1 => 2, // O_WRONLY
        _ => 3, // O_RDWR
    };
    for &(p, l) in OPEN_BITS {
        if linux & l != 0 {
            ppm |= p;
        }
    }
    ppm
}

/// sysdig `PPM_O_*` flags → Linux `O_*` flags (inverse of [`open_flags_to_ppm`]).
pub fn open_flags_from_ppm(ppm: u32) -> u32 {
    let linux = match ppm & 3 {
        2 => 1,
        3 => 2,
        _ => 0,
    };
    // `OPEN_BITS` are bits 2..=13 of `ppm`: three table lookups of four bits each.
    let nib = |k: usize| OPEN_NIBBLES[k][((ppm >> (2 + 4 * k)) & 15) as usize];
    linux | nib(0) | nib(1) | nib(2)
}

/// The Linux flags of the four `OPEN_BITS` at bits `2 + 4k..2 + 4k + 4` of a `PPM_O_*`
/// value, for each value of those bits.
const fn open_nibbles(k: usize) -> [u32; 16] {
    let mut t = [0u32; 16];
    let mut v = 0;
    while v < 16 {
        let mut i = 0;
        while i < OPEN_BITS.len() {
            let (p, l) = OPEN_BITS[i];
            if ((v as u32) << (2 + 4 * k)) & p != 0 {
                t[v] |= l;
            }
            i += 1;
        }
        v += 1;
    }
    t
}

const OPEN_NIBBLES: [[u32; 16]; 3] = [open_nibbles(0), open_nibbles(1), open_nibbles(2)];

/// (PPM_CL_* bit, Linux CLONE_* bit).
const CLONE_BITS: &[(u32, u64)] = &[
    (1 << 0, 0x400),        // FILES
    (1 << 1, 0x200),        // FS
    (1 << 2, 0x8000_0000),  // IO
    (1 << 3, 0x0800_0000),  // NEWIPC
    (1 << 4, 0x4000_0000),  // NEWNET
    (1 << 5, 0x0002_0000),  // NEWNS
    (1 << 6, 0x2000_0000),  // NEWPID
    (1 << 7, 0x0400_0000),  // NEWUTS
    (1 << 8, 0x8000),       // PARENT
    (1 << 9, 0x0010_0000),  // PARENT_SETTID
    (1 << 10, 0x2000),      // PTRACE
    (1 << 11, 0x800),       // SIGHAND
    (1 << 12, 0x0004_0000), // SYSVSEM
    (1 << 13, 0x0001_0000), // THREAD
    (1 << 14, 0x0080_0000), // UNTRACED
    (1 << 15, 0x100),       // VM
    (1 << 20, 0x1000_0000), // NEWUSER
    (1 << 23, 0x0020_0000), // CHILD_CLEARTID
    (1 << 24, 0x0100_0000), // CHILD_SETTID
    (1 << 25, 0x0008_0000), // SETTLS
    (1 << 27, 0x4000),      // VFORK
    (1 << 28, 0x0200_0000), // NEWCGROUP
];

/// Linux `CLONE_*` flags → sysdig `PPM_CL_*` flags.
pub fn clone_flags_to_ppm(linux: u64) -> u32 {
    CLONE_BITS
        .iter()
        .filter(|&&(_, l)| linux & l != 0)
        .fold(0, |acc, &(p, _)| acc | p)
}

/// sysdig `PPM_CL_*` flags → Linux `CLONE_*` flags (sysdig's bookkeeping bits dropped).
pub fn clone_flags_from_ppm(ppm: u32) -> u64 {
    CLONE_BITS
        .iter()
        .filter(|&&(p, _)| ppm & p != 0)
        .fold(0, |acc, &(_, l)| acc | l)
}

/// Linux `CLONE_THREAD`.
pub const CLONE_THREAD: u64 = 0x0001_0000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_round_trip() {
        for linux in [
            0u32, 1, 2, 0o101, 0o1101, 0o2000002, 0o4010001, 0o20200002, 0o304302,
        ] {
            assert_eq!(
                open_flags_from_ppm(open_flags_to_ppm(linux)),
                linux,
                "{linux:o}"
            );
        }
        // Doc examples: O_WRONLY|O_CREAT = PPM 6; O_RDONLY = PPM 1.
        assert_eq!(open_flags_to_ppm(0o101), 6);
        assert_eq!(open_flags_to_ppm(0), 1);
    }

    #[test]
    fn open_flags_from_every_ppm_bit() {
        // The bit-by-bit conversion, for every combination of the known bits.
        for ppm in 0u32..1 << 14 {
            let mut linux = match ppm & 3 {
                2 => 1,
                3 => 2,
                _ => 0,
            };
            for &(p, l) in OPEN_BITS {
                if ppm & p != 0 {
                    linux |= l;
                }
            }
            assert_eq!(open_flags_from_ppm(ppm), linux, "{ppm:b}");
            assert_eq!(
                open_flags_from_ppm(ppm | 0xffff_c000),
                linux,
                "unknown bits"
            );
        }
    }

    #[test]
    fn clone_flags_round_trip() {
        let thread =
            0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x100000 | 0x200000;
        assert_eq!(clone_flags_from_ppm(clone_flags_to_ppm(thread)), thread);
        assert_eq!(clone_flags_to_ppm(CLONE_THREAD), 1 << 13);
    }
}
