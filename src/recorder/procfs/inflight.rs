//! Syscalls in flight when recording stops: the parser of
//! `/proc/PID/task/TID/syscall`, the scan over accepted threads, and
//! [`read_user_string`] to fetch a path argument from the blocked process.
//!
//! The syscall number is the one the kernel reports for the thread's ABI;
//! a 32-bit compat call shows its ia32 number. procfs does not say which, so
//! a task whose executable is a 32-bit ELF is taken as compat.
//!
//! Kernel threads are skipped: their `syscall` file reads `0 0x0 ...` (as if
//! blocked in `read(0, 0, 0)`) although they never entered a syscall.

use std::path::Path;

use super::proc::{numeric_entries, parse_stat};
use super::{read_text, ProcfsError};

/// Most warnings kept in an [`InFlightScan`].
const MAX_WARNINGS: usize = 64;
/// Hard cap of [`read_user_string`], whatever `max` says.
pub const MAX_USER_STRING: usize = 1 << 20;
/// Reads never cross this alignment, so one unmapped page only cuts the
/// string there (valid for every page size, which are multiples of it).
const CHUNK_ALIGN: u64 = 4096;

/// A thread blocked in a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    /// Thread id.
    pub tid: u32,
    /// Thread group id.
    pub pid: u32,
    /// Syscall number.
    pub nr: u16,
    /// Raw argument registers.
    pub args: [u64; 6],
    /// The CPU the thread last ran on (`stat` field 39), when known.
    pub cpu: Option<u32>,
    /// Whether the thread runs a 32-bit executable (`nr` is then an ia32 number).
    pub compat: bool,
}

/// What `/proc/PID/task/TID/syscall` says about a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallState {
    /// The thread is on a CPU (`running`).
    Running,
    /// Blocked, but not in a syscall (`-1 sp pc`), e.g. stopped by a signal.
    NotInSyscall,
    /// Blocked in syscall `nr`.
    InSyscall {
        /// Syscall number.
        nr: u32,
        /// Argument registers.
        args: [u64; 6],
        /// User stack pointer.
        sp: u64,
        /// User program counter.
        pc: u64,
    },
}

/// Parses `/proc/PID/task/TID/syscall`: `running`, `-1 SP PC`, or
/// `NR A1 A2 A3 A4 A5 A6 SP PC` (NR decimal, the rest `0x` hex).
pub fn parse_syscall(text: &str) -> Result<SyscallState, ProcfsError> {
    let text = text.trim_end_matches('\n');
    if text == "running" {
        return Ok(SyscallState::Running);
    }
    let toks: Vec<&str> = text.split(' ').collect();
    let col = |i: usize| toks[..i].iter().map(|t| t.len() + 1).sum::<usize>() + 1;
    let hex = |i: usize| -> Result<u64, ProcfsError> {
        let t = toks[i];
        t.strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| ProcfsError::parse(1, col(i), format!("bad hex value {t:?}")))
    };
    let nr: i64 = toks[0]
        .parse()
        .map_err(|_| ProcfsError::parse(1, 1, format!("bad syscall number {:?}", toks[0])))?;
    match (nr, toks.len()) {
        (-1, 3) => {
            hex(1)?;
            hex(2)?;
            Ok(SyscallState::NotInSyscall)
        }
        (0.., 9) => {
            let mut args = [0u64; 6];
            for (i, a) in args.iter_mut().enumerate() {
                *a = hex(i + 1)?;
            }
            Ok(SyscallState::InSyscall {
                nr: u32::try_from(nr).map_err(|_| {
                    ProcfsError::parse(1, 1, format!("syscall number {nr} out of range"))
                })?,
                args,
                sp: hex(7)?,
                pc: hex(8)?,
            })
        }
        (_, n) => Err(ProcfsError::parse(
            1,
            1,
            format!("unexpected syscall line: number {nr} with {n} fields"),
        )),
    }
}

/// The result of [`in_flight`].
#[derive(Debug, Default)]
pub struct InFlightScan {
    /// Threads blocked in a syscall.
    pub threads: Vec<InFlight>,
    /// Threads that exited while being read.
    pub vanished: usize,
    /// Threads that could not be read (at most 64 kept).
    pub warnings: Vec<ProcfsError>,
    /// Kernel threads skipped.
    pub kernel_threads: usize,
}

/// Whether the file at `exe` is a 32-bit ELF (`EI_CLASS` = `ELFCLASS32`).
fn is_elf32(exe: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 5];
    std::fs::File::open(exe)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head[..4] == *b"\x7fELF" && head[4] == 1)
}

/// Reads the syscall each thread accepted by `filter(pid, tid)` is blocked
/// in. Only failing to list `proc_root` is an error; per-thread problems are
/// counted or kept as warnings.
pub fn in_flight<F: Fn(u32, u32) -> bool>(
    proc_root: &Path,
    filter: F,
) -> Result<InFlightScan, ProcfsError> {
    let mut scan = InFlightScan::default();
    let warn = |scan: &mut InFlightScan, e: ProcfsError| {
        if e.is_vanished() {
            scan.vanished += 1;
        } else if scan.warnings.len() < MAX_WARNINGS {
            scan.warnings.push(e);
        }
    };
    for pid in numeric_entries(proc_root)? {
        let task = proc_root.join(pid.to_string()).join("task");
        let mut compat = None;
        let tids = match numeric_entries(&task) {
            Ok(t) => t,
            Err(e) => {
                warn(&mut scan, e);
                continue;
            }
        };
        for tid in tids.into_iter().filter(|&t| filter(pid, t)) {
            let dir = task.join(tid.to_string());
            let stat_path = dir.join("stat");
            let stat = match read_text(&stat_path, 4096)
                .and_then(|t| parse_stat(&t).map_err(|e| e.in_file(&stat_path)))
            {
                Ok(st) => st,
                Err(e) => {
                    warn(&mut scan, e);
                    continue;
                }
            };
            if stat.is_kernel_thread() {
                scan.kernel_threads += 1;
                continue;
            }
            let path = dir.join("syscall");
            let state =
                read_text(&path, 512).and_then(|t| parse_syscall(&t).map_err(|e| e.in_file(&path)));
            match state {
                Ok(SyscallState::InSyscall { nr, args, .. }) => match u16::try_from(nr) {
                    Ok(nr) => {
                        let compat = *compat.get_or_insert_with(|| {
                            is_elf32(&proc_root.join(pid.to_string()).join("exe"))
                        });
                        scan.threads.push(InFlight {
                            tid,
                            pid,
                            nr,
                            args,
                            cpu: stat.processor,
                            compat,
                        });
                    }
                    Err(_) => warn(
                        &mut scan,
                        ProcfsError::parse(1, 1, format!("syscall number {nr} too large"))
                            .in_file(&path),
                    ),
                },
                Ok(_) => {}
                Err(e) => warn(&mut scan, e),
            }
        }
    }
    Ok(scan)
}

/// Reads a NUL-terminated string at `addr` in process `pid` with
/// `process_vm_readv`, without the NUL, at most `max` bytes (and at most
/// [`MAX_USER_STRING`]). `None` when nothing at `addr` is readable; a string
/// cut by an unmapped page or the cap is returned as read so far.
pub fn read_user_string(pid: u32, addr: u64, max: usize) -> Option<Vec<u8>> {
    let max = max.min(MAX_USER_STRING);
    let pid = libc::pid_t::try_from(pid).ok()?;
    if addr == 0 {
        return None;
    }
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = [0u8; CHUNK_ALIGN as usize];
    while out.len() < max {
        let at = addr.checked_add(out.len() as u64)?;
        let to_boundary = (CHUNK_ALIGN - at % CHUNK_ALIGN) as usize;
        let want = to_boundary.min(max - out.len());
        let local = libc::iovec {
            iov_base: chunk.as_mut_ptr().cast(),
            iov_len: want,
        };
        let remote = libc::iovec {
            iov_base: at as *mut libc::c_void,
            iov_len: want,
        };
        // SAFETY: `local` points to `want <= chunk.len()` writable bytes of
        // `chunk`; the remote address is only read by the kernel, which
        // checks it against the target's address space.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n <= 0 {
            break;
        }
        let got = &chunk[..(n as usize).min(want)];
        if let Some(nul) = got.iter().position(|&b| b == 0) {
            out.extend_from_slice(&got[..nul]);
            return Some(out);
        }
        out.extend_from_slice(got);
    }
    // Nothing readable at all is "no string"; otherwise the cut string.
    (!out.is_empty() || max == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_lines() {
        assert_eq!(parse_syscall("running\n").unwrap(), SyscallState::Running);
        assert_eq!(
            parse_syscall("-1 0x7ffd1c6e1a48 0x7f3b2c4e5a7d\n").unwrap(),
            SyscallState::NotInSyscall
        );
        let read = "0 0x3 0x7f39251e5000 0x20000 0x7f3925277b60 0xffffffff 0x0 0x7ffc322e4ae8 0x7f39253602ad\n";
        assert_eq!(
            parse_syscall(read).unwrap(),
            SyscallState::InSyscall {
                nr: 0,
                args: [3, 0x7f39251e5000, 0x20000, 0x7f3925277b60, 0xffffffff, 0],
                sp: 0x7ffc322e4ae8,
                pc: 0x7f39253602ad,
            }
        );
        let wait4 = "61 0xffffffffffffffff 0x7ffe3c 0x0 0x0 0x0 0x0 0x7ffe30 0x7f0011";
        assert!(
            matches!(parse_syscall(wait4).unwrap(), SyscallState::InSyscall { nr: 61, args, .. } if args[0] == u64::MAX)
        );
    }

    #[test]
    fn syscall_errors() {
        let e = parse_syscall("0 0x3 0x4 zz 0x0 0x0 0x0 0x1 0x2").unwrap_err();
        assert!(e.to_string().contains(":1:11: bad hex value \"zz\""), "{e}");
        assert!(parse_syscall("").is_err());
        assert!(parse_syscall("0 0x3").is_err());
        assert!(parse_syscall("-1 0x1 0x2 0x3").is_err());
        assert!(parse_syscall("-2 0x1 0x2").is_err());
        assert!(parse_syscall("x 0x1 0x2").is_err());
        assert!(parse_syscall("0 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x10000000000000000").is_err());
    }

    #[test]
    fn user_string_of_self() {
        let pid = std::process::id();
        let s = b"/etc/hosts\0tail";
        let addr = s.as_ptr() as u64;
        assert_eq!(read_user_string(pid, addr, 4096).unwrap(), b"/etc/hosts");
        assert_eq!(read_user_string(pid, addr, 4).unwrap(), b"/etc");
        assert_eq!(read_user_string(pid, addr, 0).unwrap(), b"");
        assert_eq!(read_user_string(pid, 0, 4096), None);
        // A string crossing many 4 KiB boundaries.
        let mut long = vec![b'a'; 10_000];
        long.push(0);
        let got = read_user_string(pid, long.as_ptr() as u64 + 3, 1 << 20).unwrap();
        assert_eq!(got.len(), 9_997);
        // Unmapped memory.
        assert_eq!(read_user_string(pid, 8, 4096), None);
    }

    /// A fake /proc with one kernel thread (which reads as `read(0, 0, 0)`),
    /// one 64-bit process blocked in `wait4` and one 32-bit one in `read`.
    #[test]
    fn scan_skips_kernel_threads() {
        let root = tempfile::tempdir().unwrap();
        let task = |pid: u32, stat: &str, syscall: &str, exe: &[u8]| {
            let d = root.path().join(format!("{pid}/task/{pid}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("stat"), stat).unwrap();
            std::fs::write(d.join("syscall"), syscall).unwrap();
            std::fs::write(root.path().join(format!("{pid}/exe")), exe).unwrap();
        };
        let tail = "0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 \
                    0 0 0 0 0 0 0 0 0 0 0 0 0 0 3 0 0 0 0 0";
        task(
            2,
            &format!("2 (kthreadd) S 0 0 0 0 -1 2129984 {tail}"),
            "0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n",
            b"",
        );
        task(
            10,
            &format!("10 (sh) S 1 10 10 0 -1 4194560 {tail}"),
            "61 0xffffffffffffffff 0x7ffe3c 0x0 0x0 0x0 0x0 0x7ffe30 0x7f0011\n",
            b"\x7fELF\x02\x01",
        );
        task(
            11,
            &format!("11 (old) S 1 11 11 0 -1 4194560 {tail}"),
            "3 0x0 0xff00 0x10 0x0 0x0 0x0 0xff0 0xf7\n",
            b"\x7fELF\x01\x01",
        );
        let scan = in_flight(root.path(), |_, _| true).unwrap();
        assert_eq!(scan.kernel_threads, 1);
        assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
        let got: Vec<_> = scan
            .threads
            .iter()
            .map(|t| (t.pid, t.nr, t.cpu, t.compat))
            .collect();
        assert_eq!(got, [(10, 61, Some(3), false), (11, 3, Some(3), true)]);
    }

    /// On the live machine no kernel thread is reported as blocked.
    #[test]
    fn live_scan_has_no_kernel_threads() {
        let scan = in_flight(Path::new("/proc"), |_, _| true).unwrap();
        for t in &scan.threads {
            let stat = std::fs::read_to_string(format!("/proc/{}/task/{}/stat", t.pid, t.tid));
            if let Ok(stat) = stat {
                assert!(!parse_stat(&stat).unwrap().is_kernel_thread(), "{t:?}");
            }
        }
        // pid 2 (kthreadd) and its children always exist on Linux.
        assert!(scan.kernel_threads > 0);
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC*") {
            let _ = parse_syscall(&s);
        }
    }
}
