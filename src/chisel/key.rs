//! The fields a table chisel groups by (`KeyField`): parsing a key
//! argument (with a suggestion for a misspelt one), its column type, whether
//! it reads fds, and its value for one event.

use super::agg::{Key, KeyType};
use super::event::{endpoints, fd_name, fd_name_ref, fd_type, is_ip, l4proto, Event};
use super::ChiselError;
use crate::state::FdEntry;

/// A key field a table can group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyField {
    EvtType,
    ProcName,
    ProcPid,
    ThreadTid,
    FdName,
    FdNum,
    FdType,
    FdL4proto,
    FdSport,
    FdCport,
    FdSip,
    FdCip,
    FdDirectory,
    UserName,
    ContainerId,
}

/// Field names [`KeyField::parse`] knows.
pub(crate) const KEY_FIELDS: &[(&str, KeyField)] = &[
    ("evt.type", KeyField::EvtType),
    ("proc.name", KeyField::ProcName),
    ("proc.pid", KeyField::ProcPid),
    ("thread.tid", KeyField::ThreadTid),
    ("fd.name", KeyField::FdName),
    ("fd.num", KeyField::FdNum),
    ("fd.type", KeyField::FdType),
    ("fd.l4proto", KeyField::FdL4proto),
    ("fd.sport", KeyField::FdSport),
    ("fd.cport", KeyField::FdCport),
    ("fd.sip", KeyField::FdSip),
    ("fd.cip", KeyField::FdCip),
    ("fd.directory", KeyField::FdDirectory),
    ("user.name", KeyField::UserName),
    ("container.id", KeyField::ContainerId),
];

impl KeyField {
    pub(super) fn parse(chisel: &'static str, s: &str) -> Result<KeyField, ChiselError> {
        if let Some((_, k)) = KEY_FIELDS.iter().find(|(n, _)| *n == s) {
            return Ok(*k);
        }
        let best = KEY_FIELDS
            .iter()
            .map(|(n, _)| (strsim::levenshtein(n, s), *n))
            .min();
        let names: Vec<&str> = KEY_FIELDS.iter().map(|(n, _)| *n).collect();
        Err(ChiselError::BadArg {
            chisel,
            arg: "key",
            reason: format!(
                "'{}' is not a grouping field{}; one of: {}",
                crate::filter::error::escape_str(s),
                best.filter(|(d, _)| *d <= 3)
                    .map_or(String::new(), |(_, n)| format!(" (did you mean '{n}'?)")),
                names.join(", ")
            ),
        })
    }

    pub(super) fn ty(self) -> KeyType {
        match self {
            KeyField::ProcPid
            | KeyField::ThreadTid
            | KeyField::FdNum
            | KeyField::FdSport
            | KeyField::FdCport => KeyType::U64,
            _ => KeyType::Str,
        }
    }

    /// Whether the value comes from fds (the event's, or its [`Effect`](crate::state::Effect)).
    pub(super) fn needs_fds(self) -> bool {
        self == KeyField::FdNum || self.uses_fd()
    }

    /// Whether [`value`](Self::value) reads the event's fd.
    pub(super) fn uses_fd(self) -> bool {
        !matches!(
            self,
            KeyField::EvtType
                | KeyField::ProcName
                | KeyField::ProcPid
                | KeyField::ThreadTid
                | KeyField::FdNum
                | KeyField::UserName
                | KeyField::ContainerId
        )
    }

    /// The value for `ev` (whose fd is `fd`, when [`uses_fd`](Self::uses_fd))
    /// borrowed or formatted into `buf`, or as a number; `None` when the
    /// event has no such value.
    pub(super) fn value<'e>(
        self,
        ev: &Event<'e>,
        fd: Option<&'e FdEntry>,
        buf: &'e mut String,
    ) -> Option<Key<'e>> {
        use std::fmt::Write as _;
        buf.clear();
        let server = || -> (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>) {
            let e = fd.filter(|e| is_ip(e));
            let (l, r) = e.map_or((None, None), endpoints);
            // Server side: local for servers, remote for clients.
            match e.and_then(|e| e.socket.as_ref()).map(|s| s.role) {
                Some(crate::state::Role::Client) => (r, l),
                _ => (l, r),
            }
        };
        Some(match self {
            KeyField::EvtType => Key::Str(ev.name()),
            KeyField::ProcName => Key::Str(ev.proc_name()),
            KeyField::ProcPid => Key::U64(u64::from(ev.rec.pid())),
            KeyField::ThreadTid => Key::U64(u64::from(ev.rec.tid())),
            KeyField::FdNum => Key::U64(
                ev.effect
                    .fd
                    .as_ref()
                    .map(|(n, _)| i64::from(*n))
                    .or(ev.fd_num())? as u64,
            ),
            KeyField::FdName => {
                let f = fd?;
                match fd_name_ref(f) {
                    Some(n) => Key::Str(n),
                    None => {
                        fd_name(f, buf);
                        Key::Str(buf)
                    }
                }
            }
            KeyField::FdType => Key::Str(fd_type(fd?)),
            KeyField::FdL4proto => Key::Str(l4proto(fd?)),
            KeyField::FdSport => Key::U64(u64::from(server().0?.port())),
            KeyField::FdCport => Key::U64(u64::from(server().1?.port())),
            KeyField::FdSip => {
                let _ = write!(buf, "{}", server().0?.ip());
                Key::Str(buf)
            }
            KeyField::FdCip => {
                let _ = write!(buf, "{}", server().1?.ip());
                Key::Str(buf)
            }
            KeyField::FdDirectory => {
                let f = fd?;
                let n: &str = &f.name;
                Key::Str(if fd_type(f) == "directory" {
                    n
                } else {
                    n.rfind('/')
                        .map_or("", |i| if i == 0 { "/" } else { &n[..i] })
                })
            }
            KeyField::UserName => {
                let uid = ev.process()?.creds.uid;
                match ev.state.user(uid) {
                    Some(u) => buf.push_str(&u.name),
                    None => {
                        let _ = write!(buf, "{uid}");
                    }
                }
                Key::Str(buf)
            }
            KeyField::ContainerId => {
                let p = ev.process()?;
                Key::Str(if p.container_id.is_empty() {
                    "host"
                } else {
                    &p.container_id
                })
            }
        })
    }
}

/// The field name of `k`.
pub(super) fn key_name(k: KeyField) -> &'static str {
    KEY_FIELDS
        .iter()
        .find(|(_, f)| *f == k)
        .map_or("", |(n, _)| n)
}
