//! Tests of `flags`: decoding with `libc` constants.
use super::*;

fn show(syscall: &str, arg: &str, ctype: &str, v: u64) -> String {
    let d = decoder_for(syscall, arg, ctype).unwrap_or_else(|| panic!("{syscall} {arg}"));
    let mut s = String::new();
    decode(d, v, &mut s);
    s
}

#[test]
fn open_flags() {
    let o = |v: i32| show("openat", "flags", "int", v as u64);
    assert_eq!(o(libc::O_RDONLY | libc::O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
    assert_eq!(
        o(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC),
        "O_WRONLY|O_CREAT|O_TRUNC"
    );
    assert_eq!(o(libc::O_RDWR | libc::O_TMPFILE), "O_RDWR|O_TMPFILE");
    assert_eq!(
        o(libc::O_RDONLY | libc::O_DIRECTORY),
        "O_RDONLY|O_DIRECTORY"
    );
    assert_eq!(o(libc::O_WRONLY | libc::O_SYNC), "O_WRONLY|O_SYNC");
    assert_eq!(o(libc::O_RDONLY | 0o100000), "O_RDONLY|O_LARGEFILE");
    assert_eq!(o(libc::O_PATH | 0x4000_0000), "O_RDONLY|O_PATH|0x40000000");
    assert_eq!(
        show("mq_open", "oflag", "int", libc::O_CREAT as u64),
        "O_RDONLY|O_CREAT"
    );
}

#[test]
fn modes_and_at_flags() {
    assert_eq!(show("openat", "mode", "umode_t", 0o644), "0644");
    assert_eq!(show("openat", "mode", "umode_t", 0), "0");
    assert_eq!(show("access", "mode", "int", 0), "F_OK");
    assert_eq!(
        show("access", "mode", "int", (libc::R_OK | libc::X_OK) as u64),
        "R_OK|X_OK"
    );
    assert_eq!(
        show("unlinkat", "flag", "int", libc::AT_REMOVEDIR as u64),
        "AT_REMOVEDIR"
    );
    assert_eq!(
        show("newfstatat", "flag", "int", libc::AT_EMPTY_PATH as u64),
        "AT_EMPTY_PATH"
    );
    assert_eq!(
        show("faccessat2", "flags", "int", libc::AT_EACCESS as u64),
        "AT_EACCESS"
    );
    assert_eq!(show("linkat", "flags", "int", 0), "0");
    assert_eq!(
        show("getxattrat", "at_flags", "unsigned int", 0x100),
        "AT_SYMLINK_NOFOLLOW"
    );
}

#[test]
fn sockets() {
    assert_eq!(
        show("socket", "family", "int", libc::AF_INET6 as u64),
        "AF_INET6"
    );
    assert_eq!(show("socket", "family", "int", 9999), "9999");
    let ty = (libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) as u64;
    assert_eq!(
        show("socket", "type", "int", ty),
        "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC"
    );
    assert_eq!(
        show("socket", "protocol", "int", libc::IPPROTO_TCP as u64),
        "IPPROTO_TCP"
    );
    assert_eq!(show("socket", "protocol", "int", 0), "0");
    assert_eq!(
        show("accept4", "flags", "int", libc::SOCK_CLOEXEC as u64),
        "SOCK_CLOEXEC"
    );
    let f = (libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) as u64;
    assert_eq!(
        show("sendto", "flags", "unsigned int", f),
        "MSG_DONTWAIT|MSG_NOSIGNAL"
    );
}

#[test]
fn memory_and_processes() {
    let p = (libc::PROT_READ | libc::PROT_WRITE) as u64;
    assert_eq!(
        show("mmap", "prot", "unsigned long", p),
        "PROT_READ|PROT_WRITE"
    );
    assert_eq!(show("mprotect", "prot", "unsigned long", 0), "PROT_NONE");
    let m = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
    assert_eq!(
        show("mmap", "flags", "unsigned long", m),
        "MAP_PRIVATE|MAP_ANONYMOUS"
    );
    let c = (libc::CLONE_VM | libc::CLONE_THREAD | libc::SIGCHLD) as u64;
    assert_eq!(
        show("clone", "clone_flags", "unsigned long", c),
        "CLONE_VM|CLONE_THREAD|SIGCHLD"
    );
    let c = libc::CLONE_IO as u32 as u64 | CLONE_INTO_CGROUP;
    assert_eq!(
        show("clone", "clone_flags", "unsigned long", c),
        "CLONE_IO|CLONE_INTO_CGROUP"
    );
    let ns = (libc::CLONE_NEWNS | libc::CLONE_NEWTIME) as u64;
    assert_eq!(
        show("unshare", "unshare_flags", "unsigned long", ns),
        "CLONE_NEWNS|CLONE_NEWTIME"
    );
    assert_eq!(show("clone", "clone_flags", "unsigned long", 0), "0");
    assert_eq!(show("clone", "clone_flags", "unsigned long", 77), "77");
    let mut s = String::new();
    decode(Decoder::ResolveFlags, libc::RESOLVE_BENEATH | 0x100, &mut s);
    assert_eq!(s, "RESOLVE_BENEATH|0x100");
    assert_eq!(
        show("prctl", "option", "int", libc::PR_SET_NAME as u64),
        "PR_SET_NAME"
    );
    assert_eq!(
        show("ptrace", "request", "long", libc::PTRACE_ATTACH as u64),
        "PTRACE_ATTACH"
    );
    assert_eq!(show("kill", "sig", "int", 9), "SIGKILL");
    assert_eq!(show("kill", "sig", "int", 0), "0");
    assert_eq!(
        show("fcntl", "cmd", "unsigned int", libc::F_SETFL as u64),
        "F_SETFL"
    );
    assert_eq!(
        show("pipe2", "flags", "int", libc::O_CLOEXEC as u64),
        "O_CLOEXEC"
    );
}

#[test]
fn misc_enums() {
    let m = libc::MS_MGC_VAL | libc::MS_RDONLY | libc::MS_BIND;
    assert_eq!(
        show("mount", "flags", "unsigned long", m),
        "MS_MGC_VAL|MS_RDONLY|MS_BIND"
    );
    assert_eq!(show("mount", "flags", "unsigned long", 0), "0");
    assert_eq!(
        show("umount2", "flags", "int", libc::MNT_DETACH as u64),
        "MNT_DETACH"
    );
    assert_eq!(show("lseek", "whence", "unsigned int", 2), "SEEK_END");
    assert_eq!(show("shutdown", "how", "int", 2), "SHUT_RDWR");
    assert_eq!(show("rt_sigprocmask", "how", "int", 0), "SIG_BLOCK");
    let r = libc::RENAME_NOREPLACE as u64;
    assert_eq!(
        show("renameat2", "flags", "unsigned int", r),
        "RENAME_NOREPLACE"
    );
    // A sign-extended int register still decodes.
    assert_eq!(show("socket", "family", "int", u64::MAX), "-1");
    assert_eq!(decoder_for("read", "count", "size_t"), None);
    assert_eq!(decoder_for("openat", "mode", "int"), None);
}

#[test]
fn errnos() {
    assert_eq!(errno_name(-2), Some("ENOENT"));
    assert_eq!(errno_name(13), Some("EACCES"));
    assert_eq!(errno_name(-512), Some("ERESTARTSYS"));
    assert_eq!(errno_name(i64::MIN), None);
    assert_eq!(errno_name(-4000), None);
    assert_eq!(signal_name(15), Some("SIGTERM"));
}
