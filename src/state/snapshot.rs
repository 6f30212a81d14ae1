//! The inverse of [`State::new`]: the state at one point of a capture as a
//! start [`Snapshot`], so a new capture can begin there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::fd::{Role, SockInfo};
use super::sockaddr::{SockAddr, AF_INET, AF_INET6, AF_NETLINK, AF_UNIX};
use super::{FdEntry, Process, State, Thread};
use crate::event::meta::{FdInfo, ProcInfo, Snapshot, SocketInfo};

/// `AF_PACKET`.
const AF_PACKET: u16 = 17;

impl State {
    /// The state as a start snapshot taken at `ts` (CLOCK_BOOTTIME ns):
    /// `State::new(ops, &st.to_snapshot(ts))` rebuilds the same threads,
    /// processes, fd tables, cwds, users and groups.
    ///
    /// One [`ProcInfo`] per live thread, sorted by pid with the leader first
    /// and then by tid; the process's fds go on its first entry (the leader's
    /// when it is alive), which is the entry [`State::new`] builds the process
    /// from. Threads and processes whose EXIT was seen (pending removal) are
    /// left out. Users and groups are sorted by id.
    ///
    /// Everything else the state keeps round-trips, except what the snapshot
    /// cannot hold:
    /// * saved uid/gid (reloaded as the effective ones), exe flags,
    ///   `PR_SET_CHILD_SUBREAPER`, the `lazy` marks and the stats;
    /// * a thread's own start time where it differs from its process's on
    ///   the process's first entry (one `start_time_ns` serves both);
    /// * sharing of fd tables or cwds between processes (`CLONE_FILES` /
    ///   `CLONE_FS` without `CLONE_THREAD`): each process gets its own copy;
    /// * socket details beyond the snapshot's tuple: the client role
    ///   (reloaded as unknown; the server role becomes `listening`), IPv6
    ///   flow info and scope id, a unix socket's peer path, a remote
    ///   `0.0.0.0:0` / `[::]:0` (read back as none), the family of non-IP,
    ///   non-unix sockets; an unbound IPv6 socket gets local `[::]:0` to keep
    ///   its family, an unbound unix socket an empty path;
    /// * text longer than the loader's caps once invalid UTF-8 became U+FFFD
    ///   (a comm over 15 bytes, an fd name or cwd over [`PATH_CAP`](super::PATH_CAP) bytes),
    ///   which is cut again.
    pub fn to_snapshot(&self, ts: u64) -> Snapshot {
        let mut live: Vec<(&Process, &Thread)> = self.live().collect();
        live.sort_unstable_by_key(|(p, t)| (p.pid, t.tid != p.pid, t.tid));
        let mut out: Vec<ProcInfo> = Vec::with_capacity(live.len());
        for (p, t) in live {
            let first = out.last().is_none_or(|prev| prev.pid != p.pid);
            out.push(self.proc_info(p, t, first));
        }
        let (users, groups) = self.users.lists();
        Snapshot {
            ts,
            procs: out,
            users,
            groups,
        }
    }

    /// The snapshot entry of thread `t` of `p`; `first` carries the fds and
    /// the process's start time.
    fn proc_info(&self, p: &Process, t: &Thread, first: bool) -> ProcInfo {
        let fds = match self.fd_table(p.pid) {
            Some(tab) if first => tab.iter().map(|(fd, e)| fd_info(fd, e)).collect(),
            _ => Vec::new(),
        };
        ProcInfo {
            tid: t.tid,
            pid: p.pid,
            ppid: p.ppid,
            vpid: p.vpid,
            vtid: t.vtid,
            comm: t.comm.to_string(),
            exe: p.exepath.to_string(),
            args: p.argv.iter().map(|a| a.to_string()).collect(),
            cwd: self.cwd(p.pid).unwrap_or("").to_owned(),
            uid: p.creds.uid,
            euid: p.creds.euid,
            gid: p.creds.gid,
            egid: p.creds.egid,
            loginuid: p.creds.loginuid,
            tty: p.tty,
            sid: p.sid,
            pgid: p.pgid,
            start_time_ns: if first { p.start_ts } else { t.start_ts },
            cgroup: p.cgroup.to_string(),
            container_id: p.container_id.to_string(),
            cap_effective: p.cap_effective,
            fds,
        }
    }
}

/// The snapshot form of fd `fd`.
fn fd_info(fd: i32, e: &FdEntry) -> FdInfo {
    FdInfo {
        fd,
        kind: e.kind,
        name: e.name.to_string(),
        flags: e.flags,
        ino: e.ino,
        socket: e.socket.as_deref().and_then(socket_info),
    }
}

/// The snapshot tuple of a socket; `None` when nothing is known.
fn socket_info(s: &SockInfo) -> Option<SocketInfo> {
    let family = match s.family {
        0 => s.local.as_ref().or(s.remote.as_ref())?.family(),
        f => f,
    };
    match family {
        AF_INET | AF_INET6 => {
            let any = if family == AF_INET6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            };
            let ip = |a: Option<&SockAddr>| match a {
                Some(SockAddr::Ip(a)) => Some((a.ip().to_string(), a.port())),
                _ => None,
            };
            // An empty local address reads back as none (IPv4 family);
            // IPv6 needs an address to keep its family.
            let unbound = if family == AF_INET6 && s.remote.is_none() {
                (any.to_string(), 0)
            } else {
                (String::new(), 0)
            };
            let (local_ip, local_port) = ip(s.local.as_ref()).unwrap_or(unbound);
            let (remote_ip, remote_port) =
                ip(s.remote.as_ref()).unwrap_or_else(|| (any.to_string(), 0));
            Some(SocketInfo::Inet {
                proto: s.l4.name().into(),
                local_ip,
                local_port,
                remote_ip,
                remote_port,
                listening: s.role == Role::Server,
            })
        }
        AF_UNIX => {
            let path = match &s.local {
                Some(SockAddr::Unix(p)) => p.to_string(),
                _ => String::new(),
            };
            Some(SocketInfo::Unix { path })
        }
        AF_NETLINK => Some(SocketInfo::Other {
            name: "netlink".into(),
        }),
        AF_PACKET => Some(SocketInfo::Other {
            name: "packet".into(),
        }),
        f => Some(SocketInfo::Other {
            name: f.to_string(),
        }),
    }
}
