//! Decoders of the scap metadata blocks: machine info (MI), process list
//! (PL V1–V9), fd lists (FDL v1/v2), user lists (UL v1/v2) and interface
//! lists (IL v1/v2), into our [`Machine`] and [`Snapshot`] types.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::block::{Block, Rd};
use super::flags::open_flags_from_ppm;
use super::ScapError;
use crate::event::meta::{FdInfo, FdKind, GroupInfo, Machine, ProcInfo, SocketInfo, UserInfo};

/// Decodes an MI block into the fields of [`Machine`] it can fill.
pub fn parse_mi(b: &Block<'_>) -> Result<Machine, ScapError> {
    let mut r = Rd::new(b.body, b.offset + 8);
    let num_cpus = r.u32("MI num_cpus")?;
    let memory_bytes = r.u64("MI memory")?;
    r.u64("MI max_pid")?;
    let host = r.bytes(128, "MI hostname")?;
    let boot = if r.left() >= 8 {
        r.u64("MI boot time")?
    } else {
        0
    };
    Ok(Machine {
        hostname: String::from_utf8_lossy(super::parse::strip_nul(host)).into_owned(),
        arch: "x86_64".into(),
        num_cpus,
        memory_bytes,
        boot_time_ns: boot,
        ..Machine::default()
    })
}

/// Decodes a PL block of version `ver` (1..=9).
pub fn parse_pl(b: &Block<'_>, ver: u8) -> Result<Vec<ProcInfo>, ScapError> {
    let mut r = Rd::new(b.body, b.offset + 8);
    let mut out = Vec::new();
    while r.left() >= 4 {
        if ver >= 9 {
            let start = r.offset();
            let len = r.u32("PL entry length")? as usize;
            if len < 4 {
                return Err(ScapError::BadBlock {
                    offset: start,
                    reason: format!("process entry length {len} is below 4"),
                });
            }
            let mut e = r.sub(len - 4, "PL entry")?;
            out.push(pl_entry(&mut e, ver, len - 4)?);
        } else {
            let left = r.left();
            out.push(pl_entry(&mut r, ver, left)?);
        }
    }
    Ok(out)
}

fn split_nul(s: &[u8]) -> Vec<String> {
    let s = s.strip_suffix(&[0]).unwrap_or(s);
    if s.is_empty() {
        return Vec::new();
    }
    s.split(|&c| c == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// The first `subsys=path` entry's path of a NUL-separated cgroups list,
/// preferring the unified (v2) hierarchy and then `cpuset`.
pub fn cgroup_path(list: &[u8]) -> String {
    let list = list.strip_suffix(&[0]).unwrap_or(list);
    // One walk over the entries, looked at in place: only the path found
    // is copied.
    let (mut cpuset, mut first) = (None, None);
    for e in list.split(|&c| c == 0).filter(|_| !list.is_empty()) {
        if let Some(p) = e.strip_prefix(b"=") {
            return String::from_utf8_lossy(p).into_owned();
        }
        if cpuset.is_none() {
            cpuset = e.strip_prefix(b"cpuset=");
        }
        if first.is_none() {
            first = Some(e.iter().position(|&c| c == b'=').map(|i| &e[i + 1..]));
        }
    }
    cpuset
        .or(first.flatten())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default()
}

fn str16_raw<'a>(r: &mut Rd<'a>, what: &'static str) -> Result<&'a [u8], ScapError> {
    let n = r.u16(what)? as usize;
    r.bytes(n, what)
}

fn pl_entry(r: &mut Rd<'_>, ver: u8, sub_len: usize) -> Result<ProcInfo, ScapError> {
    let start_left = r.left();
    let mut p = ProcInfo {
        loginuid: u32::MAX,
        ..ProcInfo::default()
    };
    p.tid = r.u64("PL tid")? as u32;
    p.pid = r.u64("PL pid")? as u32;
    p.ppid = r.u64("PL ptid")? as u32;
    if ver >= 6 {
        p.sid = r.u64("PL sid")? as u32;
    }
    if ver >= 8 {
        p.pgid = r.u64("PL vpgid")? as u32;
    }
    p.comm = r.str16("PL comm")?;
    let exe = r.str16("PL exe")?;
    p.exe = if ver >= 7 {
        r.str16("PL exepath")?
    } else {
        String::new()
    };
    let args = str16_raw(r, "PL args")?;
    p.args = std::iter::once(exe.clone())
        .chain(split_nul(args))
        .collect();
    if p.exe.is_empty() {
        p.exe = exe;
    }
    p.cwd = r.str16("PL cwd")?;
    r.u64("PL fdlimit")?;
    r.u32("PL flags")?;
    p.uid = r.u32("PL uid")?;
    p.gid = r.u32("PL gid")?;
    (p.euid, p.egid) = (p.uid, p.gid);
    if ver >= 2 {
        r.skip(4 * 3 + 8 * 2, "PL vm counters")?;
    }
    if ver >= 3 {
        str16_raw(r, "PL env")?;
    }
    if ver >= 4 {
        p.vtid = r.u64("PL vtid")? as u32;
        p.vpid = r.u64("PL vpid")? as u32;
        p.cgroup = cgroup_path(str16_raw(r, "PL cgroups")?);
    }
    if ver >= 5 {
        str16_raw(r, "PL root")?;
    }
    if ver >= 9 {
        let used = |r: &Rd<'_>| start_left - r.left();
        // libs < 0.10 wrote loginuid..cap_effective (29 bytes) without
        // pidns_init_start_ts and tty in front of them.
        let fits = |r: &Rd<'_>, n: usize| used(r) + n <= sub_len;
        if sub_len - used(r) > 29 {
            if fits(r, 8) {
                r.u64("PL pidns_init_start_ts")?;
            }
            if fits(r, 4) {
                p.tty = r.u32("PL tty")?;
            }
        }
        if fits(r, 4) {
            p.loginuid = r.u32("PL loginuid")?;
        }
        if fits(r, 1) {
            r.u8("PL exe_writable")?;
        }
        for i in 0..3 {
            if fits(r, 8) {
                let c = r.u64("PL capabilities")?;
                if i == 2 {
                    p.cap_effective = c;
                }
            }
        }
        // exe_upper_layer, exe_ino, ctime, mtime, memfd, lower_layer: not in our model.
        for n in [1, 8, 8, 8, 1, 1] {
            if fits(r, n) {
                r.skip(n, "PL exe details")?;
            }
        }
        if fits(r, 8) {
            p.pgid = r.u64("PL pgid")? as u32;
        }
        let rest = sub_len - used(r);
        r.skip(rest, "PL entry tail")?;
    }
    Ok(p)
}

/// scap fd types (`scap_fd_type`).
fn fd_kind(t: u8) -> Option<FdKind> {
    Some(match t {
        1 | 16 => FdKind::File,
        2 => FdKind::Directory,
        3..=6 | 8 | 15 => FdKind::Socket,
        7 => FdKind::Pipe,
        9 => FdKind::Event,
        11 => FdKind::Signal,
        12 => FdKind::Epoll,
        13 => FdKind::Inotify,
        14 => FdKind::Timer,
        20 => FdKind::Memfd,
        10 | 17..=19 | 21 => FdKind::Other,
        _ => return None,
    })
}

fn l4(p: u8) -> String {
    match p {
        2 => "tcp",
        3 => "udp",
        4 => "icmp",
        5 => "raw",
        _ => "unknown",
    }
    .into()
}

/// Decodes an FDL block: the thread id and its fds.
pub fn parse_fdl(b: &Block<'_>, v2: bool) -> Result<(u32, Vec<FdInfo>), ScapError> {
    let mut r = Rd::new(b.body, b.offset + 8);
    let tid = r.u64("FDL tid")? as u32;
    let mut fds = Vec::new();
    while r.left() >= 4 {
        let at = r.offset();
        if v2 {
            let len = r.u32("FDL entry length")? as usize;
            if len < 4 {
                return Err(ScapError::BadBlock {
                    offset: at,
                    reason: format!("fd entry length {len} is below 4"),
                });
            }
            let mut e = r.sub(len - 4, "FDL entry")?;
            fds.push(fd_entry(&mut e, true)?);
        } else {
            fds.push(fd_entry(&mut r, false)?);
        }
    }
    Ok((tid, fds))
}

fn inet(
    proto: u8,
    lip: String,
    lport: u16,
    rip: String,
    rport: u16,
    listening: bool,
) -> SocketInfo {
    SocketInfo::Inet {
        proto: l4(proto),
        local_ip: lip,
        local_port: lport,
        remote_ip: rip,
        remote_port: rport,
        listening,
    }
}

fn ip4(r: &mut Rd<'_>) -> Result<String, ScapError> {
    let b = r.bytes(4, "IPv4 address")?;
    Ok(Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string())
}
fn ip6(r: &mut Rd<'_>) -> Result<String, ScapError> {
    Ok(ip6_text(r.bytes(16, "IPv6 address")?))
}
fn ip6_text(b: &[u8]) -> String {
    let b: [u8; 16] = b.try_into().unwrap_or([0; 16]);
    Ipv6Addr::from(b).to_string()
}
/// The IPv4 address of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
fn v4_of_mapped(b: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 16] = b.try_into().ok()?;
    Ipv6Addr::from(b).to_ipv4_mapped()
}

/// One fd entry; `sized` when `r` holds exactly this entry (FDL v2).
fn fd_entry(r: &mut Rd<'_>, sized: bool) -> Result<FdInfo, ScapError> {
    let fd = r.u64("fd number")? as i64 as i32;
    let ino = r.u64("fd inode")?;
    let t = r.u8("fd type")?;
    // Like libscap, an unknown type (0 or from a newer producer) has no
    // payload: v1 lists go on after it, v2 entries skip to their length.
    let Some(kind) = fd_kind(t) else {
        let name = format!("unknown-type:[{t}]");
        return Ok(FdInfo {
            fd,
            kind: FdKind::Other,
            name,
            flags: 0,
            ino,
            socket: None,
        });
    };
    let mut info = FdInfo {
        fd,
        kind,
        name: String::new(),
        flags: 0,
        ino,
        socket: None,
    };
    let sock_name = |ino| format!("socket:[{ino}]");
    match t {
        3 => {
            let (s, d) = (ip4(r)?, ip4(r)?);
            let (sp, dp) = (r.u16("port")?, r.u16("port")?);
            info.socket = Some(inet(r.u8("l4proto")?, s, sp, d, dp, false));
            info.name = sock_name(ino);
        }
        4 => {
            // As libsinsp, both ends IPv4-mapped: an IPv4 socket.
            let (sb, db) = (r.bytes(16, "IPv6 address")?, r.bytes(16, "IPv6 address")?);
            let (s, d) = match (v4_of_mapped(sb), v4_of_mapped(db)) {
                (Some(s), Some(d)) => (s.to_string(), d.to_string()),
                _ => (ip6_text(sb), ip6_text(db)),
            };
            let (sp, dp) = (r.u16("port")?, r.u16("port")?);
            info.socket = Some(inet(r.u8("l4proto")?, s, sp, d, dp, false));
            info.name = sock_name(ino);
        }
        5 | 6 => {
            let ip = if t == 5 { ip4(r)? } else { ip6(r)? };
            let port = r.u16("port")?;
            let any = if t == 5 { "0.0.0.0" } else { "::" };
            info.socket = Some(inet(r.u8("l4proto")?, ip, port, any.into(), 0, true));
            info.name = sock_name(ino);
        }
        8 => {
            r.skip(16, "unix socket endpoints")?;
            let path = r.str16("unix socket path")?;
            info.socket = Some(SocketInfo::Unix { path });
            info.name = sock_name(ino);
        }
        15 => {
            r.str16("netlink name")?;
            info.socket = Some(SocketInfo::Other {
                name: "netlink".into(),
            });
            info.name = sock_name(ino);
        }
        16 => {
            info.flags = open_flags_from_ppm(r.u32("fd open flags")?) as u32;
            info.name = r.str16("fd name")?;
            // dev only exists in a sized (v2) entry with room for it.
            if sized && r.left() >= 4 {
                r.u32("fd dev")?;
            }
        }
        _ => info.name = r.str16("fd name")?,
    }
    Ok(info)
}

/// Decodes a UL block into users and groups.
pub fn parse_ul(b: &Block<'_>, v2: bool) -> Result<(Vec<UserInfo>, Vec<GroupInfo>), ScapError> {
    let mut r = Rd::new(b.body, b.offset + 8);
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    while r.left() >= 4 {
        let mut e = if v2 {
            let at = r.offset();
            let len = r.u32("UL entry length")? as usize;
            if len < 4 {
                return Err(ScapError::BadBlock {
                    offset: at,
                    reason: format!("user entry length {len} is below 4"),
                });
            }
            r.sub(len - 4, "UL entry")?
        } else {
            r.clone()
        };
        let at = e.offset();
        match e.u8("UL entry type")? {
            0 => users.push(UserInfo {
                uid: e.u32("uid")?,
                gid: e.u32("gid")?,
                name: e.str16("user name")?,
                home: e.str16("home")?,
                shell: e.str16("shell")?,
            }),
            1 => groups.push(GroupInfo {
                gid: e.u32("gid")?,
                name: e.str16("group name")?,
            }),
            t => {
                return Err(ScapError::BadBlock {
                    offset: at,
                    reason: format!("user list entry type {t} (expected 0 or 1)"),
                })
            }
        }
        if !v2 {
            r = e;
        }
    }
    Ok((users, groups))
}

/// A network interface from an IL block (kept in the import's extra section).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Address.
    pub addr: String,
    /// Netmask.
    pub netmask: String,
}

/// Decodes an IL block.
pub fn parse_il(b: &Block<'_>, v2: bool) -> Result<Vec<Interface>, ScapError> {
    let mut r = Rd::new(b.body, b.offset + 8);
    let mut out = Vec::new();
    while r.left() >= 4 {
        let mut e = if v2 {
            let len = r.u32("IL entry length")? as usize;
            r.sub(len, "IL entry")?
        } else {
            r.clone()
        };
        let at = e.offset();
        let ty = e.u16("IL type")?;
        let namelen = e.u16("IL name length")? as usize;
        let (addr, netmask) = match ty {
            1 | 3 => {
                let a = ip4(&mut e)?;
                let m = ip4(&mut e)?;
                e.skip(4, "IL broadcast")?;
                (a, m)
            }
            2 | 4 => {
                let a = ip6(&mut e)?;
                let m = ip6(&mut e)?;
                e.skip(16, "IL broadcast")?;
                (a, m)
            }
            t => {
                return Err(ScapError::BadBlock {
                    offset: at,
                    reason: format!("interface type {t} (expected 1..=4)"),
                })
            }
        };
        if ty <= 2 {
            e.u64("IL link speed")?;
        }
        let name = String::from_utf8_lossy(e.bytes(namelen, "IL name")?).into_owned();
        out.push(Interface {
            name,
            addr,
            netmask,
        });
        if !v2 {
            r = e;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::cgroup_path;

    #[test]
    fn cgroup_path_prefers_the_unified_hierarchy_then_cpuset_then_the_first() {
        let v1 = b"cpu=/a\0cpuset=/b\0memory=/c\0";
        assert_eq!(cgroup_path(v1), "/b");
        assert_eq!(cgroup_path(b"cpu=/a\0=/u\0cpuset=/b"), "/u");
        assert_eq!(cgroup_path(b"cpuset=/b\0cpu=/a\0=/u\0"), "/u");
        assert_eq!(cgroup_path(b"cpu=/a\0memory=/c\0"), "/a");
        assert_eq!(cgroup_path(b"cpu=/x\xff\0"), "/x\u{fffd}");
        assert_eq!(cgroup_path(b"no-equals\0cpu=/a"), "");
        assert_eq!(cgroup_path(b""), "");
        assert_eq!(cgroup_path(b"\0"), "");
    }
}
