//! What the converter looks up for one event type, resolved once per type:
//! for each argument of the syscall's table entry, which params (by
//! position, over the event and its exit) may hold its value, in the order
//! the names are tried, and how a flags value is translated. Converting an
//! event then indexes params instead of comparing param names.

use super::events_table::EVENTS;
use super::parse::RawEvent;
use super::sock::Side;
use crate::event::meta::{ArgKind, SyscallDesc};

/// Params to try in order: (0 the first event given, 1 its exit; param index).
#[derive(Debug, Default, Clone)]
pub(super) struct Lookup(Vec<(u8, u8)>);

impl Lookup {
    /// Every param of event type `t` (and of its exit `t + 1` when `t` is an
    /// enter) named one of `names`: name by name, the event before its exit,
    /// the first param of that name only (as [`RawEvent::get`]).
    fn new<'n>(t: u16, names: impl IntoIterator<Item = &'n str>) -> Self {
        let exit = (t & 1 == 0).then(|| EVENTS.get(t as usize + 1)).flatten();
        let infos = [EVENTS.get(t as usize), exit];
        let mut v = Vec::new();
        for n in names {
            for (pos, info) in infos.iter().enumerate() {
                let at = info.and_then(|i| i.params.iter().position(|p| p.name == n));
                if let Some(i) = at.and_then(|i| u8::try_from(i).ok()) {
                    v.push((pos as u8, i));
                }
            }
        }
        Lookup(v)
    }

    /// The first of these params that `evs` (the event, then its exit)
    /// holds and that is not empty: its bytes and `PT_*` type.
    pub fn get<'a>(&self, evs: &[&RawEvent<'a>]) -> Option<(&'a [u8], u8)> {
        self.0
            .iter()
            .find_map(|&(pos, i)| evs.get(pos as usize)?.at(i as usize))
    }
}

/// How a libs-encoded flags value of an argument becomes the kernel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flags {
    /// `PPM_O_*` open flags.
    Open,
    /// `PPM_CL_*` clone flags (unshare's flags and setns's nstype too).
    Clone,
    /// `PPM_FCNTL_*` commands.
    Fcntl,
    /// Equal to the kernel's values (`PPM_AF_*`, `PPM_PR_*`).
    Same,
    /// No translation table: dropped (0) and counted.
    Drop,
}

impl Flags {
    /// The translation for argument `arg` of libs event `event`.
    fn of(event: &str, arg: &str) -> Self {
        match (event, arg) {
            ("open" | "openat" | "openat2" | "creat" | "open_by_handle_at", "flags") => Flags::Open,
            ("clone" | "clone3" | "fork" | "vfork", "flags" | "clone_flags")
            | ("unshare", "unshare_flags")
            | ("setns", "flags") => Flags::Clone,
            ("fcntl" | "fcntl64", "cmd") => Flags::Fcntl,
            (_, "family" | "domain") | ("prctl", "option") => Flags::Same,
            _ => Flags::Drop,
        }
    }
}

/// How one argument of the record is filled.
#[derive(Debug, Clone)]
pub(super) enum Step {
    /// prctl's arg2: scap splits it into `arg2_int` (the scalar) and
    /// `arg2_str` (a Str param, PR_SET_NAME/PR_GET_NAME).
    Prctl2 { int: Lookup, text: Lookup },
    /// An integer argument.
    Scalar { at: Lookup, flags: Flags },
    /// A path or string; `single`: the syscall's only string argument,
    /// which falls back to the event's first path param.
    Str { at: Lookup, single: bool },
    /// An I/O buffer (`data`).
    Buf { data: Lookup },
    /// A msghdr: the tuple's `side` as address, and the data.
    Msghdr {
        side: Side,
        tuple: Lookup,
        data: Lookup,
    },
    /// An address passed in (connect, sendto, bind...).
    SockIn {
        tuple: Lookup,
        addr: Lookup,
        connect: bool,
    },
    /// An address returned (accept, recvfrom...).
    SockOut { tuple: Lookup, accept: bool },
    /// execve's argv.
    Argv,
    /// Nothing scap carries.
    Skip,
}

/// The steps for one event type and syscall code.
#[derive(Debug)]
pub(super) struct Plan {
    /// The record's syscall code this plan was made for.
    pub code: u16,
    /// One step per argument of the code's table entry.
    pub steps: Vec<Step>,
}

/// scap param names that may carry the kernel argument `k`.
fn candidates(k: &str) -> &'static [&'static str] {
    match k {
        "filename" | "pathname" | "path" | "name" => &["name", "path", "filename", "pathname"],
        "dfd" | "dirfd" => &["dirfd"],
        "olddfd" | "olddirfd" => &["olddirfd"],
        "newdfd" | "newdirfd" => &["newdirfd"],
        "oldname" | "oldpath" => &["oldpath", "target"],
        "newname" | "newpath" => &["newpath", "linkpath"],
        "count" | "len" | "size" => &["size", "len", "length"],
        "buf" | "ubuf" => &["data"],
        "fildes" | "ufd" | "fd" => &["fd"],
        "family" => &["domain", "family"],
        "protocol" => &["proto", "protocol"],
        "uservaddr" | "umyaddr" | "addr" => &["addr"],
        "off" | "pgoff" | "offset" => &["offset", "pos"],
        "upid" | "pid" => &["pid"],
        "sig" => &["sig"],
        "mode" => &["mode"],
        "flags" => &["flags", "nstype"],
        "clone_flags" | "unshare_flags" => &["flags"],
        "cmd" => &["cmd"],
        "resource" => &["resource"],
        "how" => &["how"],
        "backlog" => &["backlog"],
        "type" => &["type"],
        "prot" => &["prot"],
        "request" => &["request"],
        "uid" | "ruid" => &["uid", "ruid"],
        "gid" | "rgid" => &["gid", "rgid"],
        "euid" => &["euid"],
        "egid" => &["egid"],
        "suid" => &["suid"],
        "sgid" => &["sgid"],
        "addrlen" => &["addrlen"],
        "level" => &["level"],
        "optname" => &["optname"],
        "target" => &["target"],
        _ => &[],
    }
}

impl Plan {
    /// The plan for events of type `t` (with their exit, for an enter)
    /// converted to a record of `code`, described by `desc`.
    pub fn new(t: u16, code: u16, desc: Option<&SyscallDesc>) -> Self {
        let event = EVENTS.get(t as usize).map_or("", |i| i.name);
        let arg = |k: &str| Lookup::new(t, std::iter::once(k).chain(candidates(k).iter().copied()));
        let args = desc.map_or(&[][..], |d| &d.args[..]);
        let strs = args.iter().filter(|a| a.kind == ArgKind::Str).count();
        let steps = args
            .iter()
            .map(|a| match a.kind {
                ArgKind::Scalar | ArgKind::Str if event == "prctl" && a.name == "arg2" => {
                    Step::Prctl2 {
                        int: arg("arg2_int"),
                        text: arg("arg2_str"),
                    }
                }
                ArgKind::Scalar | ArgKind::Fd | ArgKind::Dirfd => Step::Scalar {
                    at: arg(&a.name),
                    flags: Flags::of(event, &a.name),
                },
                ArgKind::Str => Step::Str {
                    at: arg(&a.name),
                    single: strs == 1,
                },
                ArgKind::BufIn | ArgKind::BufOut | ArgKind::IovecIn | ArgKind::IovecOut => {
                    Step::Buf { data: arg("data") }
                }
                ArgKind::MsghdrIn | ArgKind::MsghdrOut => Step::Msghdr {
                    side: if a.kind == ArgKind::MsghdrIn {
                        Side::Dst
                    } else {
                        Side::Src
                    },
                    tuple: arg("tuple"),
                    data: arg("data"),
                },
                ArgKind::SockaddrIn => Step::SockIn {
                    tuple: arg("tuple"),
                    addr: arg("addr"),
                    connect: event == "connect",
                },
                ArgKind::SockaddrOut => Step::SockOut {
                    tuple: arg("tuple"),
                    accept: matches!(event, "accept" | "accept4"),
                },
                ArgKind::Argv => Step::Argv,
                ArgKind::StructIn | ArgKind::StructOut | ArgKind::Pointer => Step::Skip,
            })
            .collect();
        Plan { code, steps }
    }
}
