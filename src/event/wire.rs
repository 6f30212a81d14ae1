//! Decoding of wire records: the byte layout written by the BPF probes
//! (`bpf/saker.h`) and stored verbatim in capture blocks.
//!
//! Decoding is zero-copy and checks every length before use: a [`Record`]
//! borrows the bytes it was parsed from and never allocates.

use super::EventError;

/// Length of the fixed record header.
pub const HDR_LEN: usize = 32;
/// Length of a param header (`len`, `idx`, `kind`).
pub const PARAM_HDR_LEN: usize = 4;

/// First event code of 32-bit compat syscalls (`nr + 512`).
pub const CODE_COMPAT_BASE: u16 = 512;
/// First code that is not a syscall.
pub const CODE_SPECIAL: u16 = 1024;
/// `sched_process_fork`: a new thread or process.
pub const CODE_FORK: u16 = 1024;
/// `sched_process_exec`: a successful exec with the new image's details.
pub const CODE_EXEC: u16 = 1025;
/// `sched_process_exit`: a thread exited.
pub const CODE_EXIT: u16 = 1026;
/// Gap marker: events were lost on a CPU.
pub const CODE_DROP: u16 = 1027;
/// `cpu` of a record whose CPU is not known (an unfinished syscall whose
/// thread's last CPU procfs did not give, a malformed ring slot's marker).
pub const CPU_UNKNOWN: u16 = u16::MAX;

/// The syscall had not returned when recording stopped.
pub const F_UNFINISHED: u8 = 0x01;
/// A `u64` entry timestamp follows the args.
pub const F_ENTER_TS: u8 = 0x02;
/// 32-bit compat syscall.
pub const F_COMPAT: u8 = 0x04;
/// A param was cut to fit the record.
pub const F_TRUNCATED: u8 = 0x08;

/// Param kinds, as in `bpf/saker.h` (`SAKER_P_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ParamKind {
    /// A string without its NUL (path, name).
    Str = 1,
    /// I/O data, cut at the snaplen.
    Buf = 2,
    /// Raw `struct sockaddr` bytes.
    Sockaddr = 3,
    /// NUL-separated strings (argv).
    Argv = 4,
    /// Raw bytes of a fixed-size struct.
    Struct = 5,
    /// Path components, leaf first, NUL-separated.
    PathComp = 6,
}

impl ParamKind {
    /// Maps the on-wire byte to a kind.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Str,
            2 => Self::Buf,
            3 => Self::Sockaddr,
            4 => Self::Argv,
            5 => Self::Struct,
            6 => Self::PathComp,
            _ => return None,
        })
    }
}

/// Indices of the args of a [`CODE_FORK`] record.
pub mod fork {
    /// New thread id.
    pub const CHILD_TID: usize = 0;
    /// New thread's thread group id.
    pub const CHILD_PID: usize = 1;
    /// Clone flags (from the parent's clone/clone3 args; 0 for fork/vfork).
    pub const FLAGS: usize = 2;
    /// Child tid as seen in its own pid namespace.
    pub const CHILD_VTID: usize = 3;
    /// Child pid as seen in its own pid namespace.
    pub const CHILD_VPID: usize = 4;

    /// Param (optional, Str): the child's comm when the source names it
    /// (an imported clone exit carries it; the recorder's records do not).
    pub const P_COMM: u8 = 0;
}

/// Indices of the args and params of a [`CODE_EXEC`] record.
pub mod exec {
    /// Thread id before exec (differs when a non-leader thread execs).
    pub const OLD_TID: usize = 0;
    /// Real uid.
    pub const UID: usize = 1;
    /// Real gid.
    pub const GID: usize = 2;
    /// Effective uid.
    pub const EUID: usize = 3;
    /// Effective gid.
    pub const EGID: usize = 4;
    /// Audit login uid (`u32::MAX` when unset).
    pub const LOGINUID: usize = 5;
    /// Controlling tty, encoded as `/proc/PID/stat` field 7 (0: none).
    pub const TTY: usize = 6;
    /// Session id.
    pub const SID: usize = 7;
    /// Process group id.
    pub const PGID: usize = 8;
    /// pid in the process's own pid namespace.
    pub const VPID: usize = 9;
    /// Effective capabilities bitmask.
    pub const CAP_EFFECTIVE: usize = 10;
    /// Exe flags: bit 0 the exe has no links (deleted or memfd), bit 1 the
    /// exe lives on an overlayfs upper layer, bit 2 the exe is writable by
    /// the process's euid.
    pub const EXE_FLAGS: usize = 11;
    /// Parent's thread group id.
    pub const PPID: usize = 12;
    /// Process start time, CLOCK_BOOTTIME ns.
    pub const START_TIME: usize = 13;
    /// Number of args in an exec record.
    pub const NARGS: usize = 14;

    /// Param: filename as passed to exec (Str).
    pub const P_FILENAME: u8 = 0;
    /// Param: argv (Argv).
    pub const P_ARGV: u8 = 1;
    /// Param: path of the executable (PathComp).
    pub const P_EXE: u8 = 2;
    /// Param: current working directory (PathComp).
    pub const P_CWD: u8 = 3;
    /// Param: cgroup v2 path (PathComp).
    pub const P_CGROUP: u8 = 4;
    /// Param: comm after exec (Str).
    pub const P_COMM: u8 = 5;

    /// `EXE_FLAGS` bit: the exe has no links (deleted or memfd).
    pub const EXE_NO_LINKS: u64 = 1;
    /// `EXE_FLAGS` bit: the exe is on an overlayfs upper layer.
    pub const EXE_UPPER_LAYER: u64 = 2;
    /// `EXE_FLAGS` bit: the exe is writable by the process.
    pub const EXE_WRITABLE: u64 = 4;
}

/// Indices of the args of a [`CODE_EXIT`] record.
pub mod exit {
    /// `task->exit_code` (wait status encoding).
    pub const CODE: usize = 0;
    /// 1 when this was the last thread of the group.
    pub const GROUP_DEAD: usize = 1;
}

/// Indices of the args of a [`CODE_DROP`] record.
pub mod drop {
    /// Number of events lost.
    pub const COUNT: usize = 0;
    /// Time of the first loss.
    pub const FIRST_TS: usize = 1;
}

/// A validated view of one wire record.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    /// The header (the first [`HDR_LEN`] bytes), sized so reading a field
    /// needs no bounds check.
    hdr: &'a [u8; HDR_LEN],
    params_off: usize,
}

impl std::fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("code", &self.code())
            .field("ts", &self.ts())
            .field("tid", &self.tid())
            .field("ret", &self.ret())
            .finish()
    }
}

#[inline]
fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
#[inline]
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
#[inline]
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

impl<'a> Record<'a> {
    /// Parses the record at the start of `buf`, returning it and the rest.
    ///
    /// Every length is checked: the header, the args, the optional entry
    /// timestamp and each param must fit inside the record's own `len`.
    pub fn parse(buf: &'a [u8]) -> Result<(Record<'a>, &'a [u8]), EventError> {
        Self::parse_with(buf, true)
    }

    /// [`parse`](Self::parse) for bytes it accepted before (a block the
    /// read-ahead worker walked): the param chain is not walked again.
    /// Param iteration stays safe on any bytes: it stops at the first param
    /// that does not fit.
    pub(crate) fn parse_walked(buf: &'a [u8]) -> Result<(Record<'a>, &'a [u8]), EventError> {
        Self::parse_with(buf, false)
    }

    #[inline(always)]
    fn parse_with(buf: &'a [u8], walk: bool) -> Result<(Record<'a>, &'a [u8]), EventError> {
        if buf.len() < HDR_LEN {
            return Err(EventError::Truncated {
                need: HDR_LEN,
                have: buf.len(),
            });
        }
        let len = u16_at(buf, 0) as usize;
        if len < HDR_LEN {
            return Err(EventError::BadLength { len });
        }
        if len > buf.len() {
            return Err(EventError::Truncated {
                need: len,
                have: buf.len(),
            });
        }
        let bytes = &buf[..len];
        let flags = bytes[6];
        let nargs = bytes[7] as usize;
        let mut params_off = HDR_LEN + nargs * 8;
        if flags & F_ENTER_TS != 0 {
            params_off += 8;
        }
        if params_off > len {
            return Err(EventError::BadLength { len });
        }
        // Validate the param chain once so iteration can't fail later.
        let mut off = if walk { params_off } else { len };
        while off < len {
            if off + PARAM_HDR_LEN > len {
                return Err(EventError::BadParam { offset: off });
            }
            let plen = u16_at(bytes, off) as usize;
            off += PARAM_HDR_LEN + plen;
            if off > len {
                return Err(EventError::BadParam {
                    offset: off - plen - PARAM_HDR_LEN,
                });
            }
        }
        let Some(hdr) = bytes.first_chunk::<HDR_LEN>() else {
            return Err(EventError::BadLength { len });
        };
        Ok((
            Record {
                bytes,
                hdr,
                params_off,
            },
            &buf[len..],
        ))
    }

    /// The record's raw bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// Event code: syscall nr, compat nr + 512, or a `CODE_*` constant.
    pub fn code(&self) -> u16 {
        u16_at(self.hdr, 2)
    }
    /// CPU the event happened on.
    pub fn cpu(&self) -> u16 {
        u16_at(self.hdr, 4)
    }
    /// `F_*` flags.
    pub fn flags(&self) -> u8 {
        self.hdr[6]
    }
    /// Number of u64 args.
    pub fn nargs(&self) -> usize {
        self.hdr[7] as usize
    }
    /// CLOCK_BOOTTIME timestamp in ns.
    pub fn ts(&self) -> u64 {
        u64_at(self.hdr, 8)
    }
    /// Thread id.
    pub fn tid(&self) -> u32 {
        u32_at(self.hdr, 16)
    }
    /// Thread group id.
    pub fn pid(&self) -> u32 {
        u32_at(self.hdr, 20)
    }
    /// Return value (syscalls) or code-specific value.
    pub fn ret(&self) -> i64 {
        u64_at(self.hdr, 24) as i64
    }
    /// Whether this is a syscall (native or compat) rather than a special event.
    pub fn is_syscall(&self) -> bool {
        self.code() < CODE_SPECIAL
    }
    /// Arg `i`, or `None` past `nargs`.
    pub fn arg(&self, i: usize) -> Option<u64> {
        (i < self.nargs()).then(|| u64_at(self.bytes, HDR_LEN + i * 8))
    }
    /// Entry timestamp, when recorded.
    pub fn enter_ts(&self) -> Option<u64> {
        (self.flags() & F_ENTER_TS != 0).then(|| u64_at(self.bytes, HDR_LEN + self.nargs() * 8))
    }
    /// Iterates the params in wire order.
    pub fn params(&self) -> Params<'a> {
        Params {
            bytes: self.bytes,
            off: self.params_off,
        }
    }
    /// The first param attached to arg `idx`.
    pub fn param(&self, idx: u8) -> Option<Param<'a>> {
        self.params().find(|p| p.idx == idx)
    }
}

/// One captured pointer argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// Argument index it belongs to.
    pub idx: u8,
    /// Raw kind byte (see [`ParamKind`]).
    pub kind: u8,
    /// The captured bytes.
    pub data: &'a [u8],
}

impl Param<'_> {
    /// The decoded kind, if known.
    pub fn kind(&self) -> Option<ParamKind> {
        ParamKind::from_u8(self.kind)
    }
}

/// Iterator over a record's params (validated by [`Record::parse`]).
pub struct Params<'a> {
    bytes: &'a [u8],
    off: usize,
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;
    fn next(&mut self) -> Option<Param<'a>> {
        let b = self.bytes;
        if self.off + PARAM_HDR_LEN > b.len() {
            return None;
        }
        let len = u16_at(b, self.off) as usize;
        let start = self.off + PARAM_HDR_LEN;
        let data = b.get(start..start + len)?;
        let p = Param {
            idx: b[self.off + 2],
            kind: b[self.off + 3],
            data,
        };
        self.off = start + len;
        Some(p)
    }
}

/// Builds wire records; used by the importer, tests and user-space synthesised
/// events (unfinished syscalls, drop markers).
#[derive(Debug, Clone)]
pub struct RecordBuilder {
    buf: Vec<u8>,
    nargs: usize,
    params_started: bool,
}

impl RecordBuilder {
    /// Starts a record with the given header fields.
    pub fn new(code: u16, cpu: u16, ts: u64, tid: u32, pid: u32, ret: i64) -> Self {
        Self::new_in(Vec::with_capacity(128), code, cpu, ts, tid, pid, ret)
    }
    /// [`new`](Self::new), building into `buf` (cleared first): a reused
    /// buffer spares an allocation per record.
    pub fn new_in(
        mut buf: Vec<u8>,
        code: u16,
        cpu: u16,
        ts: u64,
        tid: u32,
        pid: u32,
        ret: i64,
    ) -> Self {
        // The header as one array, appended at once (every imported
        // record starts here).
        let mut h = [0u8; HDR_LEN];
        h[2..4].copy_from_slice(&code.to_le_bytes());
        h[4..6].copy_from_slice(&cpu.to_le_bytes());
        h[8..16].copy_from_slice(&ts.to_le_bytes());
        h[16..20].copy_from_slice(&tid.to_le_bytes());
        h[20..24].copy_from_slice(&pid.to_le_bytes());
        h[24..32].copy_from_slice(&ret.to_le_bytes());
        buf.clear();
        buf.extend_from_slice(&h);
        RecordBuilder {
            buf,
            nargs: 0,
            params_started: false,
        }
    }
    /// Sets header flags (ORed).
    pub fn flags(mut self, f: u8) -> Self {
        self.buf[6] |= f;
        self
    }
    /// Appends the u64 args (must come before params).
    pub fn args(mut self, args: &[u64]) -> Self {
        debug_assert!(!self.params_started);
        for a in args {
            self.buf.extend_from_slice(&a.to_le_bytes());
        }
        self.nargs += args.len();
        self
    }
    /// Appends the entry timestamp (after args, before params).
    pub fn enter_ts(mut self, ts: u64) -> Self {
        self.buf[6] |= F_ENTER_TS;
        self.buf.extend_from_slice(&ts.to_le_bytes());
        self
    }
    /// Appends a param; data longer than the room left is cut and the
    /// record flagged [`F_TRUNCATED`].
    pub fn param(mut self, idx: u8, kind: ParamKind, data: &[u8]) -> Self {
        self.push_param(idx, kind, data);
        self
    }
    /// [`param`](Self::param) in place (no move of the builder per param).
    pub fn push_param(&mut self, idx: u8, kind: ParamKind, data: &[u8]) {
        self.params_started = true;
        let room = (u16::MAX as usize).saturating_sub(self.buf.len() + PARAM_HDR_LEN);
        let data = if data.len() > room {
            self.buf[6] |= F_TRUNCATED;
            &data[..room]
        } else {
            data
        };
        self.buf
            .extend_from_slice(&(data.len() as u16).to_le_bytes());
        self.buf.push(idx);
        self.buf.push(kind as u8);
        self.buf.extend_from_slice(data);
    }
    /// Finishes the record.
    pub fn build(mut self) -> Vec<u8> {
        let len = self.buf.len().min(u16::MAX as usize);
        self.buf.truncate(len);
        self.buf[0..2].copy_from_slice(&(len as u16).to_le_bytes());
        self.buf[7] = self.nargs.min(255) as u8;
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let rec = RecordBuilder::new(257, 1, 99, 10, 11, 3)
            .args(&[1, 2, 3, 4])
            .enter_ts(90)
            .param(1, ParamKind::Str, b"/etc/passwd")
            .build();
        let (r, rest) = Record::parse(&rec).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            (r.code(), r.cpu(), r.ts(), r.tid(), r.pid(), r.ret()),
            (257, 1, 99, 10, 11, 3)
        );
        assert_eq!(r.arg(3), Some(4));
        assert_eq!(r.arg(4), None);
        assert_eq!(r.enter_ts(), Some(90));
        let p: Vec<_> = r.params().collect();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].data, b"/etc/passwd");
        assert_eq!(p[0].kind(), Some(ParamKind::Str));
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut rec = RecordBuilder::new(0, 0, 0, 0, 0, 0)
            .param(0, ParamKind::Buf, b"abc")
            .build();
        assert!(Record::parse(&rec[..20]).is_err());
        rec[32] = 200; // param len beyond the record
        assert!(matches!(
            Record::parse(&rec),
            Err(EventError::BadParam { .. })
        ));
        rec[0] = 4; // record len below the header
        assert!(Record::parse(&rec).is_err());
    }
}
