//! Translation of the libs-encoded flag params (`PPM_O_*`, `PPM_CL_*`) back
//! into the kernel's values, which is what our records and field code hold.

/// `PPM_O_*` bit -> kernel `O_*` value (access mode handled separately).
const OPEN: [(u32, i32); 12] = [
    (1 << 2, libc::O_CREAT),
    (1 << 3, libc::O_APPEND),
    (1 << 4, libc::O_DSYNC),
    (1 << 5, libc::O_EXCL),
    (1 << 6, libc::O_NONBLOCK),
    (1 << 7, libc::O_SYNC),
    (1 << 8, libc::O_TRUNC),
    (1 << 9, libc::O_DIRECT),
    (1 << 10, libc::O_DIRECTORY),
    (1 << 11, libc::O_LARGEFILE),
    (1 << 12, libc::O_CLOEXEC),
    (1 << 13, libc::O_TMPFILE),
];

/// Kernel open flags from libs `file_flags` (`PPM_O_*`). Bits the kernel
/// has no value for (`PPM_O_F_CREATED`, overlay layer bits) are dropped.
pub fn open_flags_from_ppm(ppm: u32) -> u64 {
    let mut f = match ppm & 3 {
        2 => libc::O_WRONLY,
        3 => libc::O_RDWR,
        _ => libc::O_RDONLY,
    };
    for (p, k) in OPEN {
        if ppm & p != 0 {
            f |= k;
        }
    }
    f as u32 as u64
}

/// `PPM_CL_*` bit -> kernel `CLONE_*` value.
const CLONE: [(u32, i32); 22] = [
    (1 << 0, libc::CLONE_FILES),
    (1 << 1, libc::CLONE_FS),
    (1 << 2, libc::CLONE_IO),
    (1 << 3, libc::CLONE_NEWIPC),
    (1 << 4, libc::CLONE_NEWNET),
    (1 << 5, libc::CLONE_NEWNS),
    (1 << 6, libc::CLONE_NEWPID),
    (1 << 7, libc::CLONE_NEWUTS),
    (1 << 8, libc::CLONE_PARENT),
    (1 << 9, libc::CLONE_PARENT_SETTID),
    (1 << 10, libc::CLONE_PTRACE),
    (1 << 11, libc::CLONE_SIGHAND),
    (1 << 12, libc::CLONE_SYSVSEM),
    (1 << 13, libc::CLONE_THREAD),
    (1 << 14, libc::CLONE_UNTRACED),
    (1 << 15, libc::CLONE_VM),
    (1 << 20, libc::CLONE_NEWUSER),
    (1 << 23, libc::CLONE_CHILD_CLEARTID),
    (1 << 24, libc::CLONE_CHILD_SETTID),
    (1 << 25, libc::CLONE_SETTLS),
    (1 << 27, libc::CLONE_VFORK),
    (1 << 28, libc::CLONE_NEWCGROUP),
];

/// Kernel clone flags from libs `clone_flags` (`PPM_CL_*`); the
/// libsinsp-only bits (inverted, name changed, pipe ends...) and the obsolete
/// `CLONE_STOPPED` (its bit is `CLONE_NEWCGROUP` today) are dropped.
pub fn clone_flags_from_ppm(ppm: u32) -> u64 {
    let mut f: u64 = 0;
    for (p, k) in CLONE {
        if ppm & p != 0 {
            f |= k as u32 as u64;
        }
    }
    f
}

/// `PPM_FCNTL_*` -> kernel `F_*` command (numbers: several are missing
/// from the libc crate).
const FCNTL: [(u32, u32); 24] = [
    (1, 0),     // F_DUPFD
    (2, 1),     // F_GETFD
    (3, 2),     // F_SETFD
    (4, 3),     // F_GETFL
    (5, 4),     // F_SETFL
    (6, 5),     // F_GETLK
    (8, 6),     // F_SETLK
    (9, 7),     // F_SETLKW
    (10, 8),    // F_SETOWN
    (12, 9),    // F_GETOWN
    (13, 10),   // F_SETSIG
    (15, 11),   // F_GETSIG
    (21, 15),   // F_SETOWN_EX
    (22, 16),   // F_GETOWN_EX
    (23, 1024), // F_SETLEASE
    (24, 1025), // F_GETLEASE
    (25, 1029), // F_CANCELLK
    (26, 1030), // F_DUPFD_CLOEXEC
    (27, 1026), // F_NOTIFY
    (28, 1031), // F_SETPIPE_SZ
    (29, 1032), // F_GETPIPE_SZ
    (30, 36),   // F_OFD_GETLK
    (31, 37),   // F_OFD_SETLK
    (32, 38),   // F_OFD_SETLKW
];

/// The kernel fcntl command of a libs `PPM_FCNTL_*` value; `PPM_FCNTL_UNKNOWN`
/// and values libs does not define become `u32::MAX`, which no command has
/// (0 would be `F_DUPFD`, a state change).
pub fn fcntl_cmd_from_ppm(ppm: u32) -> u64 {
    FCNTL
        .iter()
        .find(|(p, _)| *p == ppm)
        .map_or(u64::from(u32::MAX), |(_, k)| u64::from(*k))
}

/// Our exec `EXE_FLAGS` from libs execve-exit `flags` (`PPM_EXE_WRITABLE`
/// 1, `PPM_EXE_UPPER_LAYER` 2, `PPM_EXE_FROM_MEMFD` 4; `PPM_EXE_LOWER_LAYER`
/// 8 has no bit of ours and is dropped).
pub fn exe_flags_from_ppm(ppm: u32) -> u64 {
    use crate::event::wire::exec;
    let mut f = 0;
    for (p, ours) in [
        (1, exec::EXE_WRITABLE),
        (2, exec::EXE_UPPER_LAYER),
        (4, exec::EXE_NO_LINKS),
    ] {
        if ppm & p != 0 {
            f |= ours;
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcntl_commands() {
        assert_eq!(fcntl_cmd_from_ppm(1), libc::F_DUPFD as u64);
        assert_eq!(fcntl_cmd_from_ppm(3), libc::F_SETFD as u64);
        assert_eq!(fcntl_cmd_from_ppm(26), libc::F_DUPFD_CLOEXEC as u64);
        assert_eq!(fcntl_cmd_from_ppm(0), u64::from(u32::MAX));
        assert_eq!(fcntl_cmd_from_ppm(7), u64::from(u32::MAX));
    }

    #[test]
    fn exe_flags() {
        use crate::event::wire::exec;
        assert_eq!(exe_flags_from_ppm(0), 0);
        assert_eq!(exe_flags_from_ppm(1), exec::EXE_WRITABLE);
        assert_eq!(exe_flags_from_ppm(2 | 8), exec::EXE_UPPER_LAYER);
        assert_eq!(exe_flags_from_ppm(4), exec::EXE_NO_LINKS);
    }

    #[test]
    fn open_flags() {
        assert_eq!(open_flags_from_ppm(1), libc::O_RDONLY as u64);
        assert_eq!(open_flags_from_ppm(2), libc::O_WRONLY as u64);
        let f = open_flags_from_ppm(3 | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 14));
        assert_eq!(
            f,
            (libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u64
        );
    }

    #[test]
    fn clone_flags() {
        let f = clone_flags_from_ppm((1 << 13) | (1 << 15) | (1 << 11) | (1 << 16) | (1 << 30));
        assert_eq!(
            f,
            (libc::CLONE_THREAD | libc::CLONE_VM | libc::CLONE_SIGHAND) as u64
        );
    }
}
