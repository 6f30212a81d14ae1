//! Tests of `display`: synthetic records built with `RecordBuilder`,
//! rendered against the embedded default syscall table.

use super::*;
use crate::event::table::Syscalls;
use crate::event::text::is_bidi_or_invisible;
use crate::event::wire::{RecordBuilder, CODE_COMPAT_BASE};
use proptest::prelude::*;
use std::net::Ipv6Addr;

fn names(fd: i64) -> Option<Cow<'static, str>> {
    match fd {
        3 => Some("/etc/passwd".into()),
        4 => Some("/tmp/evil\x1b[2J".into()),
        _ => None,
    }
}

/// Renders a built record with the default table's entry for its code.
fn show(bytes: &[u8]) -> String {
    let (rec, rest) = Record::parse(bytes).unwrap();
    assert!(rest.is_empty());
    let desc = Syscalls::default_x86_64().get(rec.code());
    let mut out = String::new();
    format_args(&rec, desc, &mut out, &names);
    out
}

fn nr(name: &str) -> u16 {
    Syscalls::default_x86_64().codes(name)[0]
}

fn sys(name: &str, ret: i64) -> RecordBuilder {
    RecordBuilder::new(nr(name), 0, 1, 100, 100, ret)
}

fn esc(b: &[u8]) -> String {
    let mut s = String::new();
    escape_bytes(b, &mut s);
    s
}

#[test]
fn escapes_control_chars() {
    assert_eq!(esc(b"a\x1b[31mb"), "a\\x1b[31mb");
    assert_eq!(esc(b"x\r\ny\0z\t"), "x\\r\\ny\\x00z\\t");
    assert_eq!(esc(b"\x7f\\"), "\\x7f\\\\");
    assert_eq!(esc(b"\xff\xc3"), "\\xff\\xc3");
    assert_eq!(esc("é✓🦀".as_bytes()), "é✓🦀");
    // C1 CSI (U+009B) and a right-to-left override.
    assert_eq!(esc("\u{9b}2J\u{202e}".as_bytes()), "\\u{009b}2J\\u{202e}");
}

proptest! {
    #[test]
    fn escaped_text_has_no_controls(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let s = esc(&bytes);
        prop_assert!(!s.chars().any(|c| c.is_control() || is_bidi_or_invisible(c)), "{s:?}");
    }

    #[test]
    fn any_record_formats(code in 0u16..1100, args in proptest::collection::vec(any::<u64>(), 0..7),
                          ret in any::<i64>(), data in proptest::collection::vec(any::<u8>(), 0..40),
                          idx in 0u8..8, kind in 0u8..8) {
        let mut b = RecordBuilder::new(code, 0, 0, 1, 1, ret).args(&args);
        if let Some(k) = ParamKind::from_u8(kind) {
            b = b.param(idx, k, &data);
        }
        let s = show(&b.build());
        prop_assert!(!s.chars().any(|c| c.is_control()), "{s:?}");
    }
}

#[test]
fn openat_sysdig_style() {
    let at = libc::AT_FDCWD as i64 as u64;
    let flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
    let rec =
        sys("openat", 3)
            .args(&[at, 0x7ff0, flags, 0])
            .param(1, ParamKind::Str, b"/etc/passwd");
    assert_eq!(
        show(&rec.build()),
        "fd=3(/etc/passwd) dirfd=-100(AT_FDCWD) name=/etc/passwd flags=O_RDONLY|O_CLOEXEC mode=0"
    );
    let flags = (libc::O_WRONLY | libc::O_CREAT) as u64;
    let rec = sys("openat", -2)
        .args(&[at, 0x7ff0, flags, 0o600])
        .param(1, ParamKind::Str, b"/x");
    assert_eq!(
        show(&rec.build()),
        "fd=-2(ENOENT) dirfd=-100(AT_FDCWD) name=/x flags=O_WRONLY|O_CREAT mode=0600"
    );
    // Without the string param the pointer is shown.
    let rec = sys("openat", -14).args(&[at, 0, 0, 0]);
    assert_eq!(
        show(&rec.build()),
        "fd=-14(EFAULT) dirfd=-100(AT_FDCWD) name=NULL flags=O_RDONLY mode=0"
    );
}

#[test]
fn buffers_and_fd_names_are_escaped() {
    let rec = sys("read", 6)
        .args(&[4, 0x1000, 64])
        .param(1, ParamKind::Buf, b"hi\x1b]0;\x07\n");
    assert_eq!(
        show(&rec.build()),
        "res=6 fd=4(/tmp/evil\\x1b[2J) data=hi\\x1b]0;\\x07\\n count=64"
    );
    let rec = sys("write", 3)
        .args(&[1, 0x1000, 3])
        .param(1, ParamKind::Buf, b"\0\r\x1b");
    assert_eq!(show(&rec.build()), "res=3 fd=1 data=\\x00\\r\\x1b count=3");
}

#[test]
fn sockaddrs() {
    let mut v4 = vec![libc::AF_INET as u8, 0, 0x1f, 0x90, 127, 0, 0, 1];
    v4.extend_from_slice(&[0; 8]);
    let rec = sys("connect", 0)
        .args(&[5, 0x1000, 16])
        .param(1, ParamKind::Sockaddr, &v4);
    assert_eq!(
        show(&rec.build()),
        "res=0 fd=5 addr=127.0.0.1:8080 addrlen=16"
    );
    let rec = sys("connect", -111)
        .args(&[5, 0x1000, 16])
        .param(1, ParamKind::Sockaddr, &v4);
    assert_eq!(
        show(&rec.build()),
        "res=-111(ECONNREFUSED) fd=5 addr=127.0.0.1:8080 addrlen=16"
    );

    let sa = |b: &[u8]| {
        let mut s = String::new();
        format_sockaddr(b, &mut s);
        s
    };
    let mut v6 = vec![libc::AF_INET6 as u8, 0, 0, 22, 0, 0, 0, 0];
    v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    v6.extend_from_slice(&[0; 4]);
    assert_eq!(sa(&v6), "[::1]:22");
    assert_eq!(sa(b"\x01\x00/run/x.sock\0\0"), "/run/x.sock");
    assert_eq!(sa(b"\x01\x00\0name\x1b"), "@name\\x1b");
    assert_eq!(sa(b"\x01\x00"), "(unnamed)");
    assert_eq!(sa(b"\x02"), "?(len=1)");
    assert_eq!(sa(b"\x02\x00\x00"), "AF_INET(len=3)");
    assert_eq!(
        sa(b"\x10\x00\0\0\x2a\0\0\0\x01\0\0\0"),
        "netlink:pid=42,groups=0x1"
    );
    assert_eq!(sa(b"\x00\x00"), "AF_UNSPEC");
}

#[test]
fn exec_argv_and_structs() {
    let rec = sys("execve", 0)
        .args(&[0x10, 0x20, 0x30])
        .param(0, ParamKind::Str, b"/bin/ls")
        .param(1, ParamKind::Argv, b"ls\0-la\0/tmp\0");
    assert_eq!(
        show(&rec.build()),
        "res=0 filename=/bin/ls argv=ls -la /tmp envp=0x30"
    );
    let mut fds = 3i32.to_le_bytes().to_vec();
    fds.extend_from_slice(&4i32.to_le_bytes());
    let rec =
        sys("pipe2", 0)
            .args(&[0x10, libc::O_CLOEXEC as u64])
            .param(0, ParamKind::Struct, &fds);
    assert_eq!(show(&rec.build()), "res=0 fildes=[3,4] flags=O_CLOEXEC");
    fds.extend_from_slice(&192_417u64.to_le_bytes());
    let rec = sys("pipe2", 0)
        .args(&[0x10, 0])
        .param(0, ParamKind::Struct, &fds);
    assert_eq!(
        show(&rec.build()),
        "res=0 fildes=[3,4] flags=0",
        "with the inode"
    );
    let mut how = ((libc::O_RDONLY | libc::O_CLOEXEC) as u64)
        .to_le_bytes()
        .to_vec();
    how.extend_from_slice(&0u64.to_le_bytes());
    how.extend_from_slice(&libc::RESOLVE_BENEATH.to_le_bytes());
    let at = libc::AT_FDCWD as i64 as u64;
    let rec = sys("openat2", 3)
        .args(&[at, 0x10, 0x20, 24])
        .param(1, ParamKind::Str, b"a")
        .param(2, ParamKind::Struct, &how);
    assert_eq!(
        show(&rec.build()),
        "fd=3(/etc/passwd) dirfd=-100(AT_FDCWD) name=a how={flags=O_RDONLY|O_CLOEXEC mode=0 \
         resolve=RESOLVE_BENEATH} usize=24"
    );
}

#[test]
fn sysdig_names_for_paths() {
    let at = libc::AT_FDCWD as i64 as u64;
    let rec = sys("symlinkat", 0)
        .args(&[0x10, at, 0x20])
        .param(0, ParamKind::Str, b"/etc/shadow")
        .param(2, ParamKind::Str, b"s");
    assert_eq!(
        show(&rec.build()),
        "res=0 target=/etc/shadow linkdirfd=-100(AT_FDCWD) linkpath=s"
    );
    let rec = sys("rename", -18)
        .args(&[0x10, 0x20])
        .param(0, ParamKind::Str, b"a")
        .param(1, ParamKind::Str, b"b");
    assert_eq!(show(&rec.build()), "res=-18(EXDEV) oldpath=a newpath=b");
    let ty = (libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64;
    let rec = sys("socket", 3).args(&[libc::AF_INET as u64, ty, 0]);
    assert_eq!(
        show(&rec.build()),
        "fd=3(/etc/passwd) domain=AF_INET type=SOCK_STREAM|SOCK_CLOEXEC proto=0"
    );
}

#[test]
fn scalars_and_flags() {
    let rec = sys("kill", 0).args(&[u32::MAX as u64, 9]);
    assert_eq!(show(&rec.build()), "res=0 pid=-1 sig=SIGKILL");
    let prot = (libc::PROT_READ | libc::PROT_EXEC) as u64;
    let map = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
    let rec = sys("mmap", 0x7f00_0000_0000).args(&[0, 4096, prot, map, u64::MAX, 0]);
    assert_eq!(
        show(&rec.build()),
        "res=0x7f0000000000 addr=0 len=4096 prot=PROT_READ|PROT_EXEC flags=MAP_PRIVATE|MAP_ANONYMOUS fd=-1 off=0"
    );
    let rec = sys("getppid", 42);
    assert_eq!(show(&rec.build()), "res=42");
}

#[test]
fn unknown_and_compat() {
    let rec =
        RecordBuilder::new(499, 0, 0, 1, 1, 0)
            .args(&[1, 0])
            .param(0, ParamKind::Str, b"x\x1b");
    assert_eq!(show(&rec.build()), "res=0 arg0=0x1 arg1=NULL p0=x\\x1b");
    // ia32 read (3): 32-bit registers, same schema as native read.
    let rec = RecordBuilder::new(CODE_COMPAT_BASE + 3, 0, 0, 1, 1, -9)
        .flags(F_COMPAT)
        .args(&[0xffff_ffff, 0x1000, 10]);
    assert_eq!(
        show(&rec.build()),
        "res=-9(EBADF) fd=-1 buf=0x1000 count=10"
    );
    let rec = sys("read", 0).flags(F_UNFINISHED).args(&[3, 0x10, 5]);
    assert_eq!(
        show(&rec.build()),
        "(unfinished) fd=3(/etc/passwd) buf=0x10 count=5"
    );
    let rec = sys("write", 2)
        .flags(F_TRUNCATED)
        .args(&[1, 0x10, 5])
        .param(1, ParamKind::Buf, b"ab");
    assert_eq!(show(&rec.build()), "res=2 fd=1 data=ab count=5 (truncated)");
}

#[test]
fn special_events() {
    let flags = (libc::CLONE_VM | libc::CLONE_THREAD) as u64;
    let rec = RecordBuilder::new(CODE_FORK, 0, 0, 1, 1, 0).args(&[101, 100, flags, 7, 1]);
    assert_eq!(
        show(&rec.build()),
        "child_tid=101 child_pid=100 flags=CLONE_VM|CLONE_THREAD child_vtid=7 child_vpid=1"
    );
    let mut args = [0u64; exec::NARGS];
    args[exec::OLD_TID] = 100;
    args[exec::LOGINUID] = u32::MAX as u64;
    args[exec::PPID] = 1;
    args[exec::CAP_EFFECTIVE] = 0x1ff;
    args[exec::EXE_FLAGS] = exec::EXE_NO_LINKS | exec::EXE_WRITABLE;
    let rec = RecordBuilder::new(CODE_EXEC, 0, 0, 100, 100, 0)
        .args(&args)
        .param(exec::P_FILENAME, ParamKind::Str, b"./a")
        .param(exec::P_ARGV, ParamKind::Argv, b"./a\0x")
        .param(exec::P_EXE, ParamKind::PathComp, b"a\0tmp")
        .param(exec::P_CWD, ParamKind::PathComp, b"")
        .param(exec::P_COMM, ParamKind::Str, b"a");
    assert_eq!(
        show(&rec.build()),
        "filename=./a argv=./a x exe=/tmp/a cwd=/ comm=a old_tid=100 uid=0 gid=0 euid=0 egid=0 \
         loginuid=-1 tty=0 sid=0 pgid=0 vpid=0 ppid=1 cap_effective=0x1ff exe_flags=NO_LINKS|WRITABLE"
    );
    let rec = RecordBuilder::new(CODE_EXIT, 0, 0, 1, 1, 0).args(&[0x0100, 1]);
    assert_eq!(show(&rec.build()), "status=256 code=1 group_dead=1");
    let rec = RecordBuilder::new(CODE_EXIT, 0, 0, 1, 1, 0).args(&[0x89, 0]);
    assert_eq!(
        show(&rec.build()),
        "status=137 sig=SIGKILL core=1 group_dead=0"
    );
    let rec = RecordBuilder::new(CODE_DROP, 0, 0, 0, 0, 0).args(&[17, 5]);
    assert_eq!(show(&rec.build()), "count=17 first_ts=5");
    let rec = RecordBuilder::new(1500, 0, 0, 0, 0, 0).args(&[3]);
    assert_eq!(show(&rec.build()), "arg0=0x3");
}
