//! Argument classification: decides how each syscall argument is captured
//! ([`ArgKind`] + aux) from its C type, its name and the syscall name.
//!
//! The rules are generic over the kernel's naming conventions rather than a
//! per-syscall list, so new syscalls with conventional signatures are
//! classified correctly:
//!
//! - scalars named `fd`, `*fd`, `fd_*`, `fdin`/`fdout`, `fildes`, `mqdes` are
//!   [`ArgKind::Fd`]; `*dfd` and `*dirfd` are [`ArgKind::Dirfd`];
//! - `char *`/`void *` followed by a count-like scalar (`count`, `size`,
//!   `bufsiz`, `bytecount`, `*len`) is a buffer: input ([`ArgKind::BufIn`])
//!   when `const` or when the syscall sends/sets/writes, else output
//!   ([`ArgKind::BufOut`], data length = return value); aux = count index;
//! - other `const char *`, and `char *` with a path-like name, are strings;
//! - `struct sockaddr *` + `int` length is [`ArgKind::SockaddrIn`], + `int *`
//!   length is [`ArgKind::SockaddrOut`] (aux = length arg);
//! - `struct iovec *` + count is an iovec, output for `*read*` syscalls;
//!   the remote vectors of `process_*` syscalls are not captured;
//! - `struct user_msghdr *` is [`ArgKind::MsghdrOut`] for `recv*` syscalls;
//! - `const char *const * argv` is [`ArgKind::Argv`] (envp is not captured);
//! - fixed structs: the `int[2]` results of pipe/socketpair, `open_how`,
//!   `clone_args` (version 0 layout);
//! - `prctl`'s `arg2` is a conditional string: [`ArgKind::Str`] with aux =
//!   `PR_SET_NAME`, captured as a string only when arg 0 (the option) equals aux;
//! - every other pointer is [`ArgKind::Pointer`], everything else a scalar.

use super::meta::{ArgDesc, ArgKind};

/// Size of the `int[2]` written by pipe, pipe2 and socketpair.
const INT_PAIR_SIZE: u8 = 8;
/// `sizeof(struct open_how)`: flags, mode, resolve (3 x u64).
const OPEN_HOW_SIZE: u8 = 24;
/// `CLONE_ARGS_SIZE_VER0`: the first version of `struct clone_args`.
const CLONE_ARGS_SIZE_VER0: u8 = 64;
/// `PR_SET_NAME`: the `prctl` option whose `arg2` is a `const char *` name.
pub const PR_SET_NAME: u8 = 15;

/// Classifies the `(C type, name)` arguments of `syscall`.
pub fn classify(syscall: &str, args: &[(String, String)]) -> Vec<ArgDesc> {
    (0..args.len())
        .map(|i| {
            let (kind, aux) = classify_one(syscall, args, i);
            ArgDesc {
                name: args[i].1.clone().into(),
                ctype: args[i].0.clone().into(),
                kind,
                aux,
            }
        })
        .collect()
}

/// Collapses runs of whitespace so `char  *` and `char *` compare equal.
fn norm(ctype: &str) -> String {
    ctype.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_pointer(ctype: &str) -> bool {
    ctype.contains('*')
}

/// Whether a scalar name is a file descriptor.
fn is_fd_name(name: &str) -> bool {
    if name.starts_with("max_") {
        return false; // close_range's upper bound
    }
    name.ends_with("fd")
        || name.starts_with("fd_")
        || matches!(name, "fdin" | "fdout" | "fildes" | "mqdes")
}

/// Whether a scalar name is a directory fd (`AT_FDCWD` aware).
fn is_dirfd_name(name: &str) -> bool {
    name.ends_with("dfd") || name.ends_with("dirfd")
}

/// Whether a scalar name is a byte count for the buffer before it.
fn is_count_name(name: &str) -> bool {
    matches!(name, "count" | "size" | "bufsiz" | "bytecount") || name.ends_with("len")
}

/// Whether a `char *` name denotes a NUL-terminated path or name.
fn is_pathlike_name(name: &str) -> bool {
    name.contains("name") || name.contains("path") || name.contains("file") || name == "type"
}

/// Whether non-const buffers of this syscall flow into the kernel.
fn sends(syscall: &str) -> bool {
    ["send", "set", "write", "pwrite"]
        .iter()
        .any(|p| syscall.starts_with(p))
}

/// Index of the arg after `i` when it is a scalar satisfying `pred`.
fn next_scalar(args: &[(String, String)], i: usize, pred: fn(&str) -> bool) -> Option<u8> {
    let (t, n) = args.get(i + 1)?;
    (!is_pointer(t) && pred(n)).then_some((i + 1) as u8)
}

fn classify_one(syscall: &str, args: &[(String, String)], i: usize) -> (ArgKind, u8) {
    let (ctype, name) = (norm(&args[i].0), args[i].1.as_str());
    if syscall == "prctl" && name == "arg2" {
        return (ArgKind::Str, PR_SET_NAME);
    }
    if !is_pointer(&ctype) {
        return if is_dirfd_name(name) {
            (ArgKind::Dirfd, 0)
        } else if is_fd_name(name) {
            (ArgKind::Fd, 0)
        } else {
            (ArgKind::Scalar, 0)
        };
    }
    let is_const = ctype.starts_with("const ");
    let base = ctype.trim_start_matches("const ");
    match base {
        "char *const *" if name == "argv" => return (ArgKind::Argv, 0),
        "struct sockaddr *" => {
            return match args.get(i + 1).map(|(t, _)| norm(t)) {
                Some(t) if t == "int *" => (ArgKind::SockaddrOut, (i + 1) as u8),
                Some(t) if !is_pointer(&t) => (ArgKind::SockaddrIn, (i + 1) as u8),
                _ => (ArgKind::Pointer, 0),
            };
        }
        "struct iovec *" => {
            let remote = syscall.starts_with("process_") && name != "lvec";
            return match next_scalar(args, i, |_| true) {
                Some(_) if remote => (ArgKind::Pointer, 0),
                Some(n) if syscall.contains("read") => (ArgKind::IovecOut, n),
                Some(n) => (ArgKind::IovecIn, n),
                None => (ArgKind::Pointer, 0),
            };
        }
        "struct user_msghdr *" if syscall.starts_with("recv") => return (ArgKind::MsghdrOut, 0),
        "struct user_msghdr *" => return (ArgKind::MsghdrIn, 0),
        "struct open_how *" => return (ArgKind::StructIn, OPEN_HOW_SIZE),
        "struct clone_args *" => return (ArgKind::StructIn, CLONE_ARGS_SIZE_VER0),
        "int *" if matches!(name, "fildes" | "usockvec") => {
            return (ArgKind::StructOut, INT_PAIR_SIZE)
        }
        _ => {}
    }
    let bytes = matches!(base, "char *" | "void *" | "unsigned char *");
    if !bytes {
        return (ArgKind::Pointer, 0);
    }
    if let Some(n) = next_scalar(args, i, is_count_name) {
        return if is_const || sends(syscall) {
            (ArgKind::BufIn, n)
        } else {
            (ArgKind::BufOut, n)
        };
    }
    if base == "char *" && (is_const || is_pathlike_name(name)) {
        return (ArgKind::Str, 0);
    }
    (ArgKind::Pointer, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tracefs::parse_format;
    use ArgKind::*;

    /// Classifies a committed tracefs fixture and returns `(kind, aux)` per arg.
    fn kinds(file: &str, text: &str) -> Vec<(ArgKind, u8)> {
        let f = parse_format(file, text).unwrap();
        classify(&f.name, &f.args)
            .iter()
            .map(|a| (a.kind, a.aux))
            .collect()
    }

    macro_rules! fixture {
        ($name:literal) => {
            kinds($name, include_str!(concat!("testdata/", $name, ".format")))
        };
    }

    #[test]
    fn io_syscalls() {
        assert_eq!(fixture!("read"), [(Fd, 0), (BufOut, 2), (Scalar, 0)]);
        assert_eq!(fixture!("write"), [(Fd, 0), (BufIn, 2), (Scalar, 0)]);
        assert_eq!(
            fixture!("pwrite64"),
            [(Fd, 0), (BufIn, 2), (Scalar, 0), (Scalar, 0)]
        );
        assert_eq!(fixture!("readv"), [(Fd, 0), (IovecOut, 2), (Scalar, 0)]);
        assert_eq!(fixture!("writev"), [(Fd, 0), (IovecIn, 2), (Scalar, 0)]);
        let pvr = fixture!("process_vm_readv");
        assert_eq!(pvr[1], (IovecOut, 2));
        assert_eq!(pvr[3], (Pointer, 0));
        let pvw = fixture!("process_vm_writev");
        assert_eq!(pvw[1], (IovecIn, 2));
        assert_eq!(pvw[3], (Pointer, 0));
    }

    #[test]
    fn paths_and_exec() {
        assert_eq!(
            fixture!("openat"),
            [(Dirfd, 0), (Str, 0), (Scalar, 0), (Scalar, 0)]
        );
        assert_eq!(
            fixture!("openat2"),
            [(Dirfd, 0), (Str, 0), (StructIn, 24), (Scalar, 0)]
        );
        assert_eq!(fixture!("execve"), [(Str, 0), (Argv, 0), (Pointer, 0)]);
        assert_eq!(fixture!("rename"), [(Str, 0), (Str, 0)]);
        assert_eq!(
            fixture!("linkat"),
            [(Dirfd, 0), (Str, 0), (Dirfd, 0), (Str, 0), (Scalar, 0)]
        );
        assert_eq!(fixture!("symlinkat"), [(Str, 0), (Dirfd, 0), (Str, 0)]);
        assert_eq!(fixture!("newstat"), [(Str, 0), (Pointer, 0)]);
        // Non-const `char *` names of mount/umount are still strings.
        assert_eq!(
            fixture!("mount"),
            [(Str, 0), (Str, 0), (Str, 0), (Scalar, 0), (Pointer, 0)]
        );
        assert_eq!(fixture!("umount"), [(Str, 0), (Scalar, 0)]);
        assert!(fixture!("getppid").is_empty());
    }

    #[test]
    fn sockets() {
        assert_eq!(fixture!("connect"), [(Fd, 0), (SockaddrIn, 2), (Scalar, 0)]);
        assert_eq!(
            fixture!("accept4"),
            [(Fd, 0), (SockaddrOut, 2), (Pointer, 0), (Scalar, 0)]
        );
        assert_eq!(
            fixture!("sendto"),
            [
                (Fd, 0),
                (BufIn, 2),
                (Scalar, 0),
                (Scalar, 0),
                (SockaddrIn, 5),
                (Scalar, 0)
            ]
        );
        assert_eq!(
            fixture!("recvfrom"),
            [
                (Fd, 0),
                (BufOut, 2),
                (Scalar, 0),
                (Scalar, 0),
                (SockaddrOut, 5),
                (Pointer, 0)
            ]
        );
        assert_eq!(fixture!("sendmsg"), [(Fd, 0), (MsghdrIn, 0), (Scalar, 0)]);
        assert_eq!(fixture!("recvmsg"), [(Fd, 0), (MsghdrOut, 0), (Scalar, 0)]);
        assert_eq!(
            fixture!("socketpair"),
            [(Scalar, 0), (Scalar, 0), (Scalar, 0), (StructOut, 8)]
        );
        // setsockopt's value is an input buffer; getsockopt's length is an
        // `int *`, which no buffer kind can express, so it is not captured.
        assert_eq!(fixture!("setsockopt")[3], (BufIn, 4));
        assert_eq!(fixture!("getsockopt")[3], (Pointer, 0));
        assert_eq!(fixture!("sethostname"), [(BufIn, 1), (Scalar, 0)]);
    }

    #[test]
    fn structs_and_misc() {
        assert_eq!(fixture!("pipe2"), [(StructOut, 8), (Scalar, 0)]);
        assert_eq!(fixture!("clone3"), [(StructIn, 64), (Scalar, 0)]);
        assert_eq!(
            fixture!("sendfile64"),
            [(Fd, 0), (Fd, 0), (Pointer, 0), (Scalar, 0)]
        );
        let mmap = fixture!("mmap");
        assert_eq!(mmap[4], (Fd, 0));
        assert!(mmap
            .iter()
            .enumerate()
            .all(|(i, k)| i == 4 || *k == (Scalar, 0)));
    }

    #[test]
    fn prctl_name_is_a_conditional_string() {
        let args: Vec<_> = ["option", "arg2", "arg3", "arg4", "arg5"]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let t = if i == 0 { "int" } else { "unsigned long" };
                (t.to_string(), n.to_string())
            })
            .collect();
        let k: Vec<_> = classify("prctl", &args)
            .iter()
            .map(|a| (a.kind, a.aux))
            .collect();
        assert_eq!(
            k,
            [
                (Scalar, 0),
                (Str, 15),
                (Scalar, 0),
                (Scalar, 0),
                (Scalar, 0)
            ]
        );
        assert_eq!(i32::from(PR_SET_NAME), libc::PR_SET_NAME);
        // arch_prctl's arg2 stays a number.
        assert_eq!(classify("arch_prctl", &args[..2])[1].kind, Scalar);
    }

    #[test]
    fn keeps_names_and_types() {
        let args = vec![("int".to_string(), "max_fd".to_string())];
        let d = classify("close_range", &args);
        assert_eq!(
            (d[0].kind, &*d[0].name, &*d[0].ctype),
            (Scalar, "max_fd", "int")
        );
        let args = vec![("char  *".to_string(), "shmaddr".to_string())];
        assert_eq!(classify("shmdt", &args)[0].kind, Pointer);
    }
}
