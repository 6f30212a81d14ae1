//! How each syscall's `%evt.args` text is laid out: the sysdig label of
//! every argument, whether the return value is an fd, and how a scalar is
//! shown (fd, decoded flags, signed or unsigned, pointer). Worked out once
//! per syscall table by [`SyscallPlan::new`], so rendering an event does no
//! name matching.

use super::argnames::sysdig_arg_name;
use super::flags::{decoder_for, Decoder};
use super::meta::{ArgDesc, ArgKind, SyscallDesc};

/// The display plan of one syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallPlan {
    /// The return value is a new fd (`fd=` rather than `res=`).
    pub(super) returns_fd: bool,
    /// One entry per argument of the descriptor, in order.
    pub(super) args: Box<[ArgPlan]>,
}

/// How one argument is shown when it carries no captured param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ArgPlan {
    /// The sysdig name (`name`, `dirfd`, `flags`).
    pub label: Box<str>,
    /// How the raw value is written.
    pub how: How,
}

/// How a raw argument value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum How {
    /// A file descriptor, with its resolved name.
    Fd,
    /// Flags or an enum, decoded.
    Decode(Decoder),
    /// An integer of the C type's signedness; 64-bit when `wide` (and the
    /// record is not compat).
    Scalar { wide: bool, signed: bool },
    /// A pointer (`NULL` or hex).
    Ptr,
}

impl SyscallPlan {
    /// The plan of `desc`.
    pub fn new(desc: &SyscallDesc) -> Self {
        let sc = &*desc.name;
        SyscallPlan {
            returns_fd: returns_fd(sc),
            args: desc.args.iter().map(|d| ArgPlan::new(sc, d)).collect(),
        }
    }
}

impl ArgPlan {
    fn new(sc: &str, d: &ArgDesc) -> Self {
        let how = match d.kind {
            ArgKind::Fd | ArgKind::Dirfd => How::Fd,
            // A conditional string whose condition did not hold is the number it is.
            ArgKind::Scalar | ArgKind::Str if d.kind == ArgKind::Scalar || d.aux != 0 => {
                match decoder_for(sc, &d.name, &d.ctype) {
                    Some(dec) => How::Decode(dec),
                    None => scalar(&d.ctype),
                }
            }
            _ => How::Ptr,
        };
        ArgPlan {
            label: sysdig_arg_name(sc, &d.name).into(),
            how,
        }
    }
}

/// Width and signedness of a scalar by its C type.
fn scalar(ctype: &str) -> How {
    let t = ctype.trim_start_matches("const ").trim();
    let wide = matches!(
        t,
        "long" | "unsigned long" | "size_t" | "ssize_t" | "off_t" | "loff_t" | "__u64" | "u64"
    );
    let signed = matches!(
        t,
        "int"
            | "long"
            | "pid_t"
            | "off_t"
            | "loff_t"
            | "ssize_t"
            | "key_serial_t"
            | "clockid_t"
            | "__s32"
            | "timer_t"
            | "mqd_t"
            | "key_t"
            | "rwf_t"
    );
    How::Scalar { wide, signed }
}

/// Syscalls whose return value is a new file descriptor (shown as `fd=`).
fn returns_fd(name: &str) -> bool {
    const PREFIXES: [&str; 10] = [
        "open",
        "creat",
        "accept",
        "dup",
        "epoll_create",
        "eventfd",
        "signalfd",
        "inotify_init",
        "memfd_",
        "fsopen",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || (name.starts_with("socket") && name != "socketpair")
        || matches!(
            name,
            "timerfd_create"
                | "fanotify_init"
                | "pidfd_open"
                | "pidfd_getfd"
                | "userfaultfd"
                | "perf_event_open"
                | "io_uring_setup"
                | "fsmount"
                | "fspick"
                | "mq_open"
                | "landlock_create_ruleset"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::table::Syscalls;

    fn plan(name: &str) -> SyscallPlan {
        let t = Syscalls::default_x86_64();
        SyscallPlan::new(t.get(t.codes(name)[0]).unwrap())
    }

    #[test]
    fn openat_labels_and_kinds() {
        let p = plan("openat");
        assert!(p.returns_fd);
        let labels: Vec<&str> = p.args.iter().map(|a| &*a.label).collect();
        assert_eq!(labels, ["dirfd", "name", "flags", "mode"]);
        assert_eq!(p.args[0].how, How::Fd);
        assert_eq!(p.args[2].how, How::Decode(Decoder::OpenFlags));
    }

    #[test]
    fn scalars_by_c_type() {
        let p = plan("lseek");
        assert!(!p.returns_fd);
        let how: Vec<How> = p.args.iter().map(|a| a.how).collect();
        assert_eq!(how[0], How::Fd);
        assert_eq!(
            how[1],
            How::Scalar {
                wide: true,
                signed: true
            }
        );
        assert!(!plan("socketpair").returns_fd);
        assert!(plan("socket").returns_fd);
    }
}
