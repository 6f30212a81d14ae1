//! File descriptor tables: what an fd refers to (kind, name, flags, socket
//! tuple) and the per-process table with its caps.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::sockaddr::{SockAddr, AF_INET, AF_INET6, AF_UNIX};
use crate::event::meta::{FdInfo, FdKind, SocketInfo};

/// `O_CLOEXEC`, kept in [`FdEntry::flags`] as the close-on-exec bit.
pub const O_CLOEXEC: u32 = 0o2000000;
/// Most fds kept per table; more opens are counted and dropped.
pub const MAX_FDS_PER_TABLE: usize = 1 << 20;

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum L4Proto {
    /// Unknown or not an IP socket.
    #[default]
    Unknown,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP / ICMPv6.
    Icmp,
    /// Raw IP.
    Raw,
}

impl L4Proto {
    /// Derives the protocol from `socket(family, type, proto)`.
    pub fn from_socket(family: u16, ty: u32, proto: u32) -> Self {
        if family != AF_INET && family != AF_INET6 {
            return L4Proto::Unknown;
        }
        match (ty & 0xf, proto) {
            (_, 1) | (_, 58) => L4Proto::Icmp,
            (1, 0) | (_, 6) => L4Proto::Tcp,
            (2, 0) | (_, 17) => L4Proto::Udp,
            (3, _) => L4Proto::Raw,
            _ => L4Proto::Unknown,
        }
    }

    /// The protocol's text (`fd.l4proto`, the snapshot's `proto`); empty
    /// when unknown.
    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Icmp => "icmp",
            L4Proto::Raw => "raw",
            L4Proto::Unknown => "",
        }
    }

    /// Parses the snapshot's protocol text (`tcp`, `udp`, ...).
    pub fn from_name(s: &str) -> Self {
        match s {
            "tcp" | "tcp6" => L4Proto::Tcp,
            "udp" | "udp6" => L4Proto::Udp,
            "icmp" | "icmp6" => L4Proto::Icmp,
            "raw" | "raw6" => L4Proto::Raw,
            _ => L4Proto::Unknown,
        }
    }
}

/// Which end of a connection this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// Not known.
    #[default]
    Unknown,
    /// Listening or accepted socket.
    Server,
    /// Connected with `connect`.
    Client,
}

/// A socket's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SockInfo {
    /// `AF_*` family (0 when unknown).
    pub family: u16,
    /// Transport protocol.
    pub l4: L4Proto,
    /// Local address (bind, or the listening socket's for accepted fds).
    pub local: Option<SockAddr>,
    /// Remote address (connect or accept peer).
    pub remote: Option<SockAddr>,
    /// Server or client role.
    pub role: Role,
}

/// One open file descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdEntry {
    /// What the fd refers to.
    pub kind: FdKind,
    /// Path (files, dirs, memfd `memfd:NAME`), or a name like `anon_inode:[eventfd]`;
    /// empty when unknown (sockets: see [`FdEntry::socket`]).
    pub name: Arc<str>,
    /// Open flags; the [`O_CLOEXEC`] bit is the fd's close-on-exec flag.
    pub flags: u32,
    /// Inode for pipes/sockets when known (0 otherwise).
    pub ino: u64,
    /// Socket details, for sockets.
    pub socket: Option<Box<SockInfo>>,
}

impl FdEntry {
    /// A new entry of `kind` named `name` with `flags`.
    pub fn new(kind: FdKind, name: impl Into<Arc<str>>, flags: u32) -> Self {
        FdEntry {
            kind,
            name: name.into(),
            flags,
            ino: 0,
            socket: None,
        }
    }

    /// A socket entry.
    pub fn socket(info: SockInfo, flags: u32) -> Self {
        FdEntry {
            kind: FdKind::Socket,
            name: "".into(),
            flags,
            ino: 0,
            socket: Some(Box::new(info)),
        }
    }

    /// Whether the fd is closed by exec.
    pub fn cloexec(&self) -> bool {
        self.flags & O_CLOEXEC != 0
    }

    /// Converts a snapshot fd.
    pub fn from_info(fi: &FdInfo) -> Self {
        let socket = match (&fi.socket, fi.kind) {
            (Some(s), _) => Some(Box::new(sock_from_info(s))),
            (None, FdKind::Socket) => Some(Box::default()),
            (None, _) => None,
        };
        FdEntry {
            kind: fi.kind,
            name: super::path::cap_ref(&fi.name, super::path::PATH_CAP).into(),
            flags: fi.flags,
            ino: fi.ino,
            socket,
        }
    }
}

fn sock_from_info(s: &SocketInfo) -> SockInfo {
    match s {
        SocketInfo::Inet {
            proto,
            local_ip,
            local_port,
            remote_ip,
            remote_port,
            listening,
        } => {
            let addr = |ip: &str, port: u16| {
                ip.parse::<IpAddr>()
                    .ok()
                    .map(|ip| SockAddr::Ip(SocketAddr::new(ip, port)))
            };
            let local = addr(local_ip, *local_port);
            let remote = addr(remote_ip, *remote_port).filter(|r| match r {
                SockAddr::Ip(a) => !a.ip().is_unspecified() || a.port() != 0,
                _ => true,
            });
            let family = match local.as_ref().or(remote.as_ref()) {
                Some(a) => a.family(),
                None if local_ip.contains(':') => AF_INET6,
                None => AF_INET,
            };
            SockInfo {
                family,
                l4: L4Proto::from_name(proto),
                local,
                remote,
                role: if *listening {
                    Role::Server
                } else {
                    Role::Unknown
                },
            }
        }
        SocketInfo::Unix { path } => SockInfo {
            family: AF_UNIX,
            l4: L4Proto::Unknown,
            local: Some(SockAddr::Unix(path.as_str().into())),
            remote: None,
            role: Role::Unknown,
        },
        SocketInfo::Other { .. } => SockInfo::default(),
    }
}

/// Fds below this are kept in a vector indexed by fd (processes use the
/// lowest free numbers); higher ones in a map. Small, so a hostile capture's
/// many tables with one high fd each stay small.
const DENSE_FDS: usize = 64;

/// A process's fd table (shared between threads and `CLONE_FILES` clones).
#[derive(Debug, Clone, Default)]
pub struct FdTable {
    /// Fds `0..DENSE_FDS`, grown on demand.
    low: Vec<Option<FdEntry>>,
    /// Fds from `DENSE_FDS` on.
    high: BTreeMap<i32, FdEntry>,
    /// Entries in `low`.
    nlow: usize,
}

impl PartialEq for FdTable {
    fn eq(&self, other: &Self) -> bool {
        // `low` may end in different runs of empty slots.
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for FdTable {}

/// The `low` slot of `fd`, when it has one.
fn dense(fd: i32) -> Option<usize> {
    usize::try_from(fd).ok().filter(|&i| i < DENSE_FDS)
}

impl FdTable {
    /// The entry of `fd`.
    pub fn get(&self, fd: i32) -> Option<&FdEntry> {
        match dense(fd) {
            Some(i) => self.low.get(i)?.as_ref(),
            None => self.high.get(&fd),
        }
    }
    /// Mutable entry of `fd`.
    pub fn get_mut(&mut self, fd: i32) -> Option<&mut FdEntry> {
        match dense(fd) {
            Some(i) => self.low.get_mut(i)?.as_mut(),
            None => self.high.get_mut(&fd),
        }
    }
    /// Inserts (replacing) `fd`; `false` when the table is full.
    pub fn insert(&mut self, fd: i32, e: FdEntry) -> bool {
        if fd < 0 || (self.len() >= MAX_FDS_PER_TABLE && self.get(fd).is_none()) {
            return false;
        }
        match dense(fd) {
            Some(i) => {
                if i >= self.low.len() {
                    self.low.resize_with(i + 1, || None);
                }
                if self.low[i].replace(e).is_none() {
                    self.nlow += 1;
                }
            }
            None => {
                self.high.insert(fd, e);
            }
        }
        true
    }
    /// Removes `fd`, returning its entry.
    pub fn remove(&mut self, fd: i32) -> Option<FdEntry> {
        match dense(fd) {
            Some(i) => {
                let e = self.low.get_mut(i)?.take()?;
                self.nlow -= 1;
                Some(e)
            }
            None => self.high.remove(&fd),
        }
    }
    /// Number of open fds.
    pub fn len(&self) -> usize {
        self.nlow + self.high.len()
    }
    /// Whether no fd is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// All fds in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &FdEntry)> + '_ {
        let low = self
            .low
            .iter()
            .zip(0..)
            .filter_map(|(e, fd)| Some((fd, e.as_ref()?)));
        low.chain(self.high.iter().map(|(k, v)| (*k, v)))
    }
    /// Closes fds `first..=last`, or only marks them close-on-exec.
    pub fn close_range(&mut self, first: i32, last: i32, only_cloexec: bool) {
        if first > last {
            return;
        }
        let lo = usize::try_from(first).unwrap_or(0);
        let hi = usize::try_from(i64::from(last) + 1)
            .unwrap_or(0)
            .min(self.low.len());
        for slot in self.low.get_mut(lo..hi).unwrap_or_default() {
            if only_cloexec {
                if let Some(e) = slot {
                    e.flags |= O_CLOEXEC;
                }
            } else if slot.take().is_some() {
                self.nlow -= 1;
            }
        }
        if only_cloexec {
            for (_, e) in self.high.range_mut(first..=last) {
                e.flags |= O_CLOEXEC;
            }
        } else {
            let doomed: Vec<i32> = self.high.range(first..=last).map(|(k, _)| *k).collect();
            for fd in doomed {
                self.high.remove(&fd);
            }
        }
    }
    /// Closes every close-on-exec fd (at exec).
    pub fn close_on_exec(&mut self) {
        for slot in &mut self.low {
            if slot.as_ref().is_some_and(FdEntry::cloexec) {
                *slot = None;
                self.nlow -= 1;
            }
        }
        self.high.retain(|_, e| !e.cloexec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto() {
        assert_eq!(L4Proto::from_socket(AF_INET, 1, 0), L4Proto::Tcp);
        assert_eq!(
            L4Proto::from_socket(AF_INET6, 2 | 0o2000000, 0),
            L4Proto::Udp
        );
        assert_eq!(L4Proto::from_socket(AF_INET, 2, 1), L4Proto::Icmp);
        assert_eq!(L4Proto::from_socket(AF_INET, 3, 255), L4Proto::Raw);
        assert_eq!(L4Proto::from_socket(AF_UNIX, 1, 0), L4Proto::Unknown);
    }

    #[test]
    fn table_ranges() {
        let mut t = FdTable::default();
        for fd in 0..10 {
            assert!(t.insert(fd, FdEntry::new(FdKind::File, "/x", 0)));
        }
        assert!(!t.insert(-1, FdEntry::new(FdKind::File, "/x", 0)));
        t.close_range(3, 5, true);
        assert!(t.get(4).unwrap().cloexec());
        t.close_on_exec();
        assert_eq!(t.len(), 7);
        t.close_range(8, i32::MAX, false);
        assert_eq!(
            t.iter().map(|(f, _)| f).collect::<Vec<_>>(),
            vec![0, 1, 2, 6, 7]
        );
        t.close_range(5, 1, false);
        assert_eq!(t.len(), 5);
        // Fds past the dense slots, ranges across both, equality.
        for fd in [63, 64, 5000, i32::MAX] {
            assert!(t.insert(fd, FdEntry::new(FdKind::File, "/y", O_CLOEXEC)));
        }
        assert_eq!(t.len(), 9);
        assert_eq!(t.get(5000).map(|e| &*e.name), Some("/y"));
        let mut u = t.clone();
        u.insert(900, FdEntry::new(FdKind::File, "/z", 0));
        assert_ne!(t, u);
        u.remove(900);
        assert_eq!(t, u);
        t.close_range(60, 64, false);
        assert_eq!(
            t.iter().map(|(f, _)| f).collect::<Vec<_>>(),
            vec![0, 1, 2, 6, 7, 5000, i32::MAX]
        );
        t.close_on_exec();
        assert_eq!(t.len(), 5);
        assert_eq!(t.remove(7).map(|e| e.flags), Some(0));
        assert_eq!(t.remove(7), None);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn snapshot_socket() {
        let fi = FdInfo {
            fd: 3,
            kind: FdKind::Socket,
            name: "socket:[1]".into(),
            flags: O_CLOEXEC,
            ino: 1,
            socket: Some(SocketInfo::Inet {
                proto: "tcp".into(),
                local_ip: "0.0.0.0".into(),
                local_port: 22,
                remote_ip: "0.0.0.0".into(),
                remote_port: 0,
                listening: true,
            }),
        };
        let e = FdEntry::from_info(&fi);
        let s = e.socket.unwrap();
        assert_eq!(
            (s.family, s.l4, s.role),
            (AF_INET, L4Proto::Tcp, Role::Server)
        );
        assert_eq!(s.remote, None);
        assert!(e.flags & O_CLOEXEC != 0);
    }
}
