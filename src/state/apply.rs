//! Applying one record: dispatch by event code, and the fd-table syscalls
//! (open family, sockets, pipes, dup, fcntl, anonymous fds, close).

use std::sync::Arc;

use super::fd::{FdEntry, FdTable, L4Proto, Role, SockInfo, O_CLOEXEC};
use super::ops::{Cloexec, FlagsSrc, Op};
use super::sockaddr::{self, SockAddr, AF_INET, AF_INET6, AF_UNSPEC};
use super::{path, pathcache, Effect, FdKind, State};
use crate::event::wire::{
    ParamKind, Record, CODE_DROP, CODE_EXEC, CODE_EXIT, CODE_FORK, CODE_SPECIAL, F_UNFINISHED,
};

/// `AT_FDCWD`.
pub(crate) const AT_FDCWD: i32 = -100;
const EINPROGRESS: i64 = 115;
const O_RDONLY: u32 = 0;
const O_WRONLY: u32 = 1;
const O_RDWR: u32 = 2;
const O_NONBLOCK: u32 = 0o4000;
const O_DIRECTORY: u32 = 0o200000;
const O_TMPFILE_BIT: u32 = 0o20000000;
/// Flags `fcntl(F_SETFL)` can change.
const SETFL_MASK: u32 = 0o2000 | 0o4000 | 0o20000 | 0o40000 | 0o1000000;

/// Arg `i` as a C `int` (the kernel truncates int args to 32 bits).
pub(crate) fn arg_int(rec: &Record<'_>, i: u8) -> Option<i32> {
    rec.arg(usize::from(i)).map(|v| v as u32 as i32)
}

/// The local end of a socket syscall: a second Sockaddr param on arg `i`
/// (imports of `.scap` tuples carry both ends; our recorder only the peer).
fn local_param(rec: &Record<'_>, i: u8) -> Option<SockAddr> {
    rec.params()
        .filter(|p| p.idx == i && p.kind() == Some(ParamKind::Sockaddr))
        .nth(1)
        .and_then(|p| sockaddr::parse(p.data))
}

/// The ends the recorder read from the kernel at exit: Sockaddr params on
/// the fd argument `i`, local (connect, bind, listen, accept) then peer
/// (accept). `nth` 0 is the local end, 1 the peer.
fn fd_end(rec: &Record<'_>, i: u8, nth: usize) -> Option<SockAddr> {
    rec.params()
        .filter(|p| p.idx == i && p.kind() == Some(ParamKind::Sockaddr))
        .nth(nth)
        .and_then(|p| sockaddr::parse(p.data))
}

/// The local end the recorder read at exit (see [`fd_end`]).
fn fd_local(rec: &Record<'_>, i: u8) -> Option<SockAddr> {
    fd_end(rec, i, 0)
}

/// Data of the first param on arg `i`.
pub(crate) fn param<'a>(rec: &Record<'a>, i: u8) -> Option<&'a [u8]> {
    rec.param(i).map(|p| p.data)
}

impl State {
    /// Applies one record (in capture order) and reports its fd effect.
    /// Never fails: unusable input is skipped and counted in [`super::Stats`].
    pub fn apply(&mut self, rec: &Record<'_>) -> Effect {
        if !self.pending_exit.is_empty() {
            self.touch();
            self.purge_exited();
        }
        self.applied += 1;
        match rec.code() {
            CODE_FORK => {
                self.touch();
                self.on_fork(rec);
            }
            CODE_EXEC => {
                self.touch();
                self.on_exec(rec);
            }
            CODE_EXIT => {
                self.touch();
                self.on_exit(rec);
            }
            CODE_DROP => self.stats.drop_markers += 1,
            c if c < CODE_SPECIAL => return self.on_syscall(rec),
            _ => self.stats.unknown_codes += 1,
        }
        Effect::default()
    }

    /// A validated fd number from an int arg, counting bad ones.
    fn fd_arg(&mut self, rec: &Record<'_>, i: u8) -> Option<i32> {
        let fd = arg_int(rec, i)?;
        if fd < 0 {
            self.stats.bad_fds += 1;
            return None;
        }
        Some(fd)
    }

    /// A validated fd number from the return value.
    fn ret_fd(&mut self, rec: &Record<'_>) -> Option<i32> {
        let fd = i32::try_from(rec.ret()).ok().filter(|f| *f >= 0);
        if fd.is_none() {
            self.stats.bad_fds += 1;
        }
        fd
    }

    /// The fd table of `pid`, writable (copy-on-write).
    pub(crate) fn table_mut(&mut self, pid: u32) -> Option<&mut FdTable> {
        let id = match self.hot_files(pid) {
            Some(id) => id,
            None => {
                let id = self.procs.get(&pid)?.files;
                self.hot.files = Some((pid, self.epoch(), id));
                id
            }
        };
        self.files.get_mut(id)
    }

    /// Stores `e` as `fd` of `pid`, returning the effect.
    fn put_fd(&mut self, pid: u32, fd: i32, e: FdEntry) -> Effect {
        let stored = match self.table_mut(pid) {
            Some(t) => t.insert(fd, e.clone()),
            None => false,
        };
        if !stored {
            self.stats.table_full += 1;
            return Effect::default();
        }
        Effect { fd: Some((fd, e)) }
    }

    /// The name of fd `dirfd` (`AT_FDCWD`: the cwd) used as a base path.
    pub(crate) fn dir_base(&self, pid: u32, dirfd: Option<i32>) -> Arc<str> {
        match dirfd {
            None | Some(AT_FDCWD) => self.cwd_arc(pid).map_or_else(|| "".into(), Arc::clone),
            Some(fd) => self
                .fd(pid, i64::from(fd))
                .map_or_else(|| "".into(), |e| e.name.clone()),
        }
    }

    /// A path param resolved against `dirfd` or the cwd.
    pub(crate) fn path_param(
        &mut self,
        rec: &Record<'_>,
        i: u8,
        dirfd: Option<i32>,
    ) -> Option<Arc<str>> {
        let Some(p) = rec.param(i) else {
            self.stats.missing_params += 1;
            return None;
        };
        if p.kind() == Some(ParamKind::PathComp) {
            return Some(path::from_pathcomp(p.data));
        }
        let base = (!pathcache::is_absolute(p.data)).then(|| self.dir_base(rec.pid(), dirfd));
        Some(self.paths.resolve(p.data, base))
    }

    fn flags_of(rec: &Record<'_>, src: FlagsSrc) -> u64 {
        match src {
            FlagsSrc::Arg(i) => rec.arg(usize::from(i)).unwrap_or(0),
            FlagsSrc::Struct(i) => param(rec, i)
                .and_then(|d| d.get(..8))
                .and_then(|d| <[u8; 8]>::try_from(d).ok())
                .map_or(0, u64::from_le_bytes),
            FlagsSrc::Fixed(v) => v,
        }
    }

    fn on_syscall(&mut self, rec: &Record<'_>) -> Effect {
        let (tid, pid) = (rec.tid(), rec.pid());
        if !self.ensure(tid, pid) {
            return Effect::default();
        }
        let op = self.ops.get(rec.code());
        if op == Op::Ignore || rec.flags() & F_UNFINISHED != 0 {
            return Effect::default();
        }
        if !op.fds_only() {
            self.touch();
        }
        if !self.fds && op.fds_only() {
            return Effect::default();
        }
        let ret = rec.ret();
        let ok = ret >= 0 || matches!(op, Op::Connect { .. }) && ret == -EINPROGRESS;
        if let (false, Op::Connect { fd, addr }) = (ok, op) {
            // As libsinsp, a Unix socket is named by the path it tried.
            return self.failed_unix_connect(rec, pid, fd, addr);
        }
        if !ok {
            if let Op::Execve { .. } = op {
                self.clear_exec_seen(tid);
            }
            return Effect::default();
        }
        match op {
            Op::Open { dirfd, path, flags } => {
                let fd = self.ret_fd(rec);
                let dirfd = dirfd.and_then(|d| arg_int(rec, d));
                let flags = Self::flags_of(rec, flags) as u32;
                let name = self
                    .path_param(rec, path, dirfd)
                    .unwrap_or_else(|| "".into());
                let dir = flags & O_DIRECTORY != 0 && flags & O_TMPFILE_BIT == 0;
                let kind = if dir { FdKind::Directory } else { FdKind::File };
                match fd {
                    Some(fd) => self.put_fd(pid, fd, FdEntry::new(kind, name, flags)),
                    None => Effect::default(),
                }
            }
            Op::OpenByHandle { flags } => {
                let flags = arg_int(rec, flags).unwrap_or(0) as u32;
                match self.ret_fd(rec) {
                    Some(fd) => self.put_fd(pid, fd, FdEntry::new(FdKind::File, "", flags)),
                    None => Effect::default(),
                }
            }
            Op::Socket { family, ty, proto } => {
                let Some(fd) = self.ret_fd(rec) else {
                    return Effect::default();
                };
                let (info, flags) = socket_info(rec, family, ty, proto);
                self.put_fd(pid, fd, FdEntry::socket(info, flags))
            }
            Op::Socketpair {
                family,
                ty,
                proto,
                sv,
            } => {
                let Some((a, b)) = self.fd_pair(rec, sv) else {
                    return Effect::default();
                };
                let (info, flags) = socket_info(rec, family, ty, proto);
                self.put_fd(pid, b, FdEntry::socket(info.clone(), flags));
                self.put_fd(pid, a, FdEntry::socket(info, flags))
            }
            Op::SendTo { fd, addr } => self.sendto(rec, pid, fd, addr),
            Op::Connect { fd: fd_idx, addr } => {
                let Some(fd) = self.fd_arg(rec, fd_idx) else {
                    return Effect::default();
                };
                // The local end: the recorder adds it at exit as a sockaddr
                // param on the fd argument; the .scap importer (both ends of
                // a tuple) as a second sockaddr param on the address.
                let local = fd_local(rec, fd_idx).or_else(|| local_param(rec, addr));
                let addr = self.addr_param(rec, addr);
                self.update_socket(pid, fd, addr.as_ref(), |s, a| {
                    // connect(AF_UNSPEC) dissolves the association (an
                    // imported tuple shows it as 0.0.0.0:0).
                    s.remote = a
                        .filter(|a| a.family() != AF_UNSPEC && !a.is_unspecified())
                        .cloned();
                    if let Some(l) = local {
                        s.family = l.family();
                        s.local = Some(l);
                    }
                    if s.role == Role::Unknown {
                        s.role = Role::Client;
                    }
                })
            }
            Op::Bind { fd: fd_idx, addr } => {
                let Some(fd) = self.fd_arg(rec, fd_idx) else {
                    return Effect::default();
                };
                // What the kernel bound (port 0 picks one) over what was asked.
                let bound = fd_local(rec, fd_idx);
                let addr = bound.or_else(|| self.addr_param(rec, addr));
                self.update_socket(pid, fd, addr.as_ref(), |s, a| s.local = a.cloned())
            }
            Op::Listen { fd: fd_idx } => {
                let Some(fd) = self.fd_arg(rec, fd_idx) else {
                    return Effect::default();
                };
                // listen on an unbound socket binds a port: the recorder's
                // local end says which.
                let bound = fd_local(rec, fd_idx);
                self.update_socket(pid, fd, bound.as_ref(), |s, a| {
                    s.role = Role::Server;
                    if let Some(a) = a {
                        s.local = Some(a.clone());
                    }
                })
            }
            Op::Accept { fd, addr, flags } => {
                let (Some(lfd), Some(nfd)) = (self.fd_arg(rec, fd), self.ret_fd(rec)) else {
                    return Effect::default();
                };
                let listening = self.fd(pid, i64::from(lfd)).and_then(|e| e.socket.clone());
                let listening = listening.unwrap_or_default();
                let local = fd_local(rec, fd).or_else(|| local_param(rec, addr));
                // The peer: the kernel's (inet), else the buffer the process
                // passed.
                let remote = fd_end(rec, fd, 1).or_else(|| self.addr_param(rec, addr));
                let family = match (&local, listening.family) {
                    (Some(l), _) => l.family(),
                    (None, 0) => remote.as_ref().map_or(0, SockAddr::family),
                    (None, f) => f,
                };
                // Only stream sockets accept: TCP when IP (as libsinsp).
                let l4 = match listening.l4 {
                    L4Proto::Unknown if matches!(family, AF_INET | AF_INET6) => L4Proto::Tcp,
                    l4 => l4,
                };
                let info = SockInfo {
                    family,
                    l4,
                    local: local.or(listening.local),
                    remote,
                    role: Role::Server,
                };
                let fl = flags.and_then(|f| arg_int(rec, f)).unwrap_or(0) as u32;
                self.put_fd(
                    pid,
                    nfd,
                    FdEntry::socket(info, O_RDWR | (fl & (O_CLOEXEC | O_NONBLOCK))),
                )
            }
            Op::Pipe { fds, flags } => {
                let Some((r, w)) = self.fd_pair(rec, fds) else {
                    return Effect::default();
                };
                let fl = flags.and_then(|f| arg_int(rec, f)).unwrap_or(0) as u32;
                let fl = fl & (O_CLOEXEC | O_NONBLOCK | 0o40000);
                // Bytes 8..16 of the fd-pair param, when present, are the pipe's inode
                // (.scap's `ino`). Like sysdig, a pipe made by pipe() has no name.
                let ino = param(rec, fds)
                    .and_then(|d| d.get(8..16))
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(0, u64::from_le_bytes);
                let end = |flags| FdEntry {
                    ino,
                    ..FdEntry::new(FdKind::Pipe, "", flags)
                };
                self.put_fd(pid, w, end(O_WRONLY | fl));
                self.put_fd(pid, r, end(O_RDONLY | fl))
            }
            Op::Dup { old, flags } => {
                let cloexec = flags.and_then(|f| arg_int(rec, f)).unwrap_or(0) as u32 & O_CLOEXEC;
                self.dup(rec, pid, old, cloexec)
            }
            Op::Fcntl { fd, cmd, arg } => self.fcntl(rec, pid, fd, cmd, arg),
            Op::AnonFd {
                kind,
                name,
                cloexec,
            } => {
                let Some(fd) = self.ret_fd(rec) else {
                    return Effect::default();
                };
                let ce = match cloexec {
                    Cloexec::Never => false,
                    Cloexec::Always => true,
                    Cloexec::Bit { arg, mask } => {
                        rec.arg(usize::from(arg)).unwrap_or(0) & mask != 0
                    }
                };
                let flags = O_RDWR | if ce { O_CLOEXEC } else { 0 };
                self.put_fd(pid, fd, FdEntry::new(kind, name, flags))
            }
            Op::Signalfd { ufd, flags } => {
                if arg_int(rec, ufd) != Some(-1) {
                    return Effect::default(); // updates the mask of an existing signalfd
                }
                let Some(fd) = self.ret_fd(rec) else {
                    return Effect::default();
                };
                let fl = flags.and_then(|f| arg_int(rec, f)).unwrap_or(0) as u32 & O_CLOEXEC;
                self.put_fd(
                    pid,
                    fd,
                    FdEntry::new(FdKind::Signal, "anon_inode:[signalfd]", O_RDWR | fl),
                )
            }
            Op::MemfdCreate { name, flags } => {
                let Some(fd) = self.ret_fd(rec) else {
                    return Effect::default();
                };
                let n = param(rec, name).map(path::param_str).unwrap_or_default();
                let ce = if arg_int(rec, flags).unwrap_or(0) & 1 != 0 {
                    O_CLOEXEC
                } else {
                    0
                };
                self.put_fd(
                    pid,
                    fd,
                    FdEntry::new(FdKind::Memfd, format!("memfd:{n}"), O_RDWR | ce),
                )
            }
            Op::Close { fd } => {
                let Some(fd) = self.fd_arg(rec, fd) else {
                    return Effect::default();
                };
                let removed = self.table_mut(pid).and_then(|t| t.remove(fd));
                Effect {
                    fd: removed.map(|e| (fd, e)),
                }
            }
            Op::CloseRange { first, last, flags } => {
                self.close_range(rec, pid, first, last, flags);
                Effect::default()
            }
            _ => {
                self.apply_proc_op(rec, op);
                Effect::default()
            }
        }
    }

    fn fd_pair(&mut self, rec: &Record<'_>, i: u8) -> Option<(i32, i32)> {
        let d = param(rec, i).and_then(|d| d.get(..8));
        let Some(d) = d else {
            self.stats.missing_params += 1;
            return None;
        };
        let a = i32::from_le_bytes([d[0], d[1], d[2], d[3]]);
        let b = i32::from_le_bytes([d[4], d[5], d[6], d[7]]);
        if a < 0 || b < 0 {
            self.stats.bad_fds += 1;
            return None;
        }
        Some((a, b))
    }

    fn addr_param(&mut self, rec: &Record<'_>, i: u8) -> Option<SockAddr> {
        let a = param(rec, i).and_then(sockaddr::parse);
        if a.is_none() {
            self.stats.missing_params += 1;
        }
        a
    }

    /// A datagram sent to an address by a socket with no peer names it.
    fn sendto(&mut self, rec: &Record<'_>, pid: u32, fd: u8, addr: u8) -> Effect {
        let Some(a @ SockAddr::Ip(_)) = param(rec, addr).and_then(sockaddr::parse) else {
            return Effect::default();
        };
        let Some(fd) = self.fd_arg(rec, fd) else {
            return Effect::default();
        };
        let unnamed = self.fd(pid, i64::from(fd)).is_some_and(|e| {
            e.kind == FdKind::Socket && e.socket.as_ref().is_none_or(|s| s.remote.is_none())
        });
        if !unnamed {
            return Effect::default();
        }
        // An imported tuple also carries the local end.
        let local = local_param(rec, addr);
        self.update_socket(pid, fd, Some(&a), |s, a| {
            s.remote = a.cloned();
            if s.local.is_none() {
                s.local = local;
            }
        })
    }

    /// A failed connect: the event shows an existing Unix socket named by
    /// the path it tried (libsinsp does), but the socket stays as it was
    /// (libsinsp's later events show it unnamed); other sockets: nothing.
    fn failed_unix_connect(&mut self, rec: &Record<'_>, pid: u32, fd: u8, addr: u8) -> Effect {
        let Some(fd) = self.fd_arg(rec, fd) else {
            return Effect::default();
        };
        let Some(a @ SockAddr::Unix(_)) = param(rec, addr).and_then(sockaddr::parse) else {
            return Effect::default();
        };
        let Some(mut e) = self
            .fd(pid, i64::from(fd))
            .filter(|e| e.kind == FdKind::Socket)
            .cloned()
        else {
            return Effect::default();
        };
        let s = e.socket.get_or_insert_with(|| {
            Box::new(SockInfo {
                family: a.family(),
                ..SockInfo::default()
            })
        });
        s.remote = Some(a);
        Effect { fd: Some((fd, e)) }
    }

    /// Updates (creating if unknown) the socket `fd` of `pid`.
    fn update_socket(
        &mut self,
        pid: u32,
        fd: i32,
        addr: Option<&SockAddr>,
        f: impl FnOnce(&mut SockInfo, Option<&SockAddr>),
    ) -> Effect {
        let Some(t) = self.table_mut(pid) else {
            return Effect::default();
        };
        if t.get(fd).is_none() {
            let info = SockInfo {
                family: addr.map_or(0, SockAddr::family),
                ..SockInfo::default()
            };
            if !t.insert(fd, FdEntry::socket(info, O_RDWR)) {
                self.stats.table_full += 1;
                return Effect::default();
            }
        }
        let Some(e) = t.get_mut(fd) else {
            return Effect::default();
        };
        let s = e.socket.get_or_insert_with(Box::default);
        if s.family == 0 {
            s.family = addr.map_or(0, SockAddr::family);
        }
        f(s, addr);
        Effect {
            fd: Some((fd, e.clone())),
        }
    }

    fn dup(&mut self, rec: &Record<'_>, pid: u32, old: u8, cloexec: u32) -> Effect {
        let (Some(old), Some(new)) = (self.fd_arg(rec, old), self.ret_fd(rec)) else {
            return Effect::default();
        };
        if old == new {
            return Effect {
                fd: self.fd(pid, i64::from(old)).map(|e| (old, e.clone())),
            };
        }
        match self.fd(pid, i64::from(old)).cloned() {
            Some(mut e) => {
                e.flags = (e.flags & !O_CLOEXEC) | cloexec;
                self.put_fd(pid, new, e)
            }
            None => {
                // The new fd refers to something unknown: forget what it was.
                if let Some(t) = self.table_mut(pid) {
                    t.remove(new);
                }
                Effect::default()
            }
        }
    }

    fn fcntl(&mut self, rec: &Record<'_>, pid: u32, fd: u8, cmd: u8, arg: u8) -> Effect {
        const F_DUPFD: i32 = 0;
        const F_SETFD: i32 = 2;
        const F_SETFL: i32 = 4;
        const F_DUPFD_CLOEXEC: i32 = 1030;
        let val = arg_int(rec, arg).unwrap_or(0) as u32;
        match arg_int(rec, cmd) {
            Some(F_DUPFD) => self.dup(rec, pid, fd, 0),
            Some(F_DUPFD_CLOEXEC) => self.dup(rec, pid, fd, O_CLOEXEC),
            Some(c @ (F_SETFD | F_SETFL)) => {
                let Some(fd) = self.fd_arg(rec, fd) else {
                    return Effect::default();
                };
                let Some(e) = self.table_mut(pid).and_then(|t| t.get_mut(fd)) else {
                    return Effect::default();
                };
                if c == F_SETFD {
                    e.flags = (e.flags & !O_CLOEXEC) | if val & 1 != 0 { O_CLOEXEC } else { 0 };
                } else {
                    e.flags = (e.flags & !SETFL_MASK) | (val & SETFL_MASK);
                }
                Effect {
                    fd: Some((fd, e.clone())),
                }
            }
            _ => Effect::default(),
        }
    }

    fn close_range(&mut self, rec: &Record<'_>, pid: u32, first: u8, last: u8, flags: u8) {
        const CLOSE_RANGE_UNSHARE: u64 = 2;
        const CLOSE_RANGE_CLOEXEC: u64 = 4;
        let clamp = |v: u64| i32::try_from(v & 0xffff_ffff).unwrap_or(i32::MAX);
        let (Some(first), Some(last)) = (rec.arg(usize::from(first)), rec.arg(usize::from(last)))
        else {
            return;
        };
        let flags = rec.arg(usize::from(flags)).unwrap_or(0);
        if first & 0xffff_ffff > i32::MAX as u64 {
            return;
        }
        if flags & CLOSE_RANGE_UNSHARE != 0 {
            self.unshare_files(pid);
        }
        if let Some(t) = self.table_mut(pid) {
            t.close_range(clamp(first), clamp(last), flags & CLOSE_RANGE_CLOEXEC != 0);
        }
    }
}

/// Socket info and fd flags from `socket(family, type, proto)` args.
fn socket_info(rec: &Record<'_>, family: u8, ty: u8, proto: u8) -> (SockInfo, u32) {
    let fam = arg_int(rec, family).unwrap_or(0) as u32;
    let fam = u16::try_from(fam).unwrap_or(0);
    let ty = arg_int(rec, ty).unwrap_or(0) as u32;
    let proto = arg_int(rec, proto).unwrap_or(0) as u32;
    let info = SockInfo {
        family: fam,
        l4: L4Proto::from_socket(fam, ty, proto),
        ..SockInfo::default()
    };
    (info, O_RDWR | (ty & (O_CLOEXEC | O_NONBLOCK)))
}
