//! `thread.*` fields: thread ids and the effective capability set.

use super::{EventCtx, Fid};
use crate::filter::ValueBuf;

/// Capability names by bit (linux/capability.h).
const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Appends capability names of `mask`, space separated (unknown bits as `CAP_N`).
pub(super) fn push_caps(mask: u64, out: &mut Vec<u8>) {
    use std::io::Write as _;
    let mut first = true;
    for bit in 0..64 {
        if mask & (1 << bit) == 0 {
            continue;
        }
        if !first {
            out.push(b' ');
        }
        first = false;
        match CAPS.get(bit) {
            Some(n) => out.extend_from_slice(n.as_bytes()),
            None => {
                let _ = write!(out, "CAP_{bit}");
            }
        }
    }
}

/// Extracts a `thread.*` field.
pub(super) fn value(cx: &mut EventCtx<'_>, id: Fid, out: &mut ValueBuf) -> bool {
    match id {
        Fid::ThreadTid => out.push_i64(i64::from(cx.rec.tid())),
        Fid::ThreadIsmain => out.push_bool(cx.rec.tid() == cx.rec.pid()),
        Fid::ThreadVtid => match cx.thread() {
            Some(t) if t.vtid != 0 => out.push_i64(i64::from(t.vtid)),
            _ => return false,
        },
        Fid::ThreadCapEffective => {
            let Some(p) = cx.process() else { return false };
            let mask = p.cap_effective;
            out.push_with(|b| {
                push_caps(mask, b);
                true
            });
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::push_caps;

    #[test]
    fn caps_text() {
        let mut v = Vec::new();
        push_caps((1 << 21) | 1 | (1 << 50), &mut v);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "CAP_CHOWN CAP_SYS_ADMIN CAP_50"
        );
    }
}
