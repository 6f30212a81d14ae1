//! Decoding of event blocks into [`RawEvent`]s: the block prefix (cpu,
//! flags), the v1 (22-byte, nparams inferred) and v2 (26-byte) event
//! headers, u16/u32 parameter lengths, and typed access to param values.

use super::block::{bt, Block};
use super::events_table::{ef, pt, EVENTS, EVENT_MAX};
use super::ScapError;

/// One param of an event type in the libs table.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// Param name (`fd`, `res`, `name`...).
    pub name: &'static str,
    /// `PT_*` type (see [`super::events_table::pt`]).
    pub ty: u8,
}

/// One event type of the libs table.
#[derive(Debug, Clone, Copy)]
pub struct EventInfo {
    /// Event name (`open`, `procinfo`...; versions of one event share it).
    pub name: &'static str,
    /// `EC_*` category bits.
    pub category: u32,
    /// `EF_*` flag bits.
    pub flags: u32,
    /// Params in order.
    pub params: &'static [ParamInfo],
}

/// The table entry of event type `t`, if known.
pub fn event_info(t: u16) -> Option<&'static EventInfo> {
    EVENTS.get(t as usize)
}

/// Most params an event may carry (`PPM_MAX_EVENT_PARAMS`).
pub const MAX_PARAMS: usize = 32;
/// v1 event header length.
const HDR_V1: usize = 22;
/// v2 event header length.
const HDR_V2: usize = 26;
/// libs event types for which old writers stored `len` 3 bytes too long.
const NOTIFICATION_E: u16 = 280;
const INFRASTRUCTURE_EVENT_E: u16 = 288;

/// The param values of an event, borrowed from its bytes: the length
/// table is read again on access (values are contiguous after it), so
/// decoding allocates nothing and the struct stays small.
#[derive(Clone, Copy)]
pub struct Params<'a> {
    ev: &'a [u8],
    /// Offset of the length table in `ev` (the header's length).
    lens: u8,
    /// Bytes per length: 2, or 4 for large payloads.
    lsize: u8,
    /// Values kept.
    n: u8,
    /// Offset of the first value in `ev` (after the whole length table).
    values: u32,
}

impl<'a> Params<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.n as usize
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// Value `i`, if present.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.len() {
            return None;
        }
        // The lengths before `i` summed in one loop per width (no branch
        // per length): converting reads several params of every event.
        let w = self.lsize as usize;
        let table = self
            .ev
            .get(self.lens as usize..self.lens as usize + w * (i + 1))?;
        let (before, own) = table.split_at(w * i);
        let (skip, len) = if w == 4 {
            let sum: usize = before
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
                .sum();
            (sum, le32(own, 0) as usize)
        } else {
            let sum: usize = before
                .chunks_exact(2)
                .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
                .sum();
            (sum, usize::from(le16(own, 0)))
        };
        let from = self.values as usize + skip;
        self.ev.get(from..from + len)
    }
    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl std::fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Params<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.iter().eq(o.iter())
    }
}

/// One decoded event (params borrowed from the file).
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    /// File offset of the event block.
    pub offset: u64,
    /// CPU (`evt.cpu`).
    pub cpu: u16,
    /// EVF flags (`SCAP_DF_*`), 0 for EV blocks.
    pub flags: u32,
    /// Event time, ns since the epoch.
    pub ts: u64,
    /// Thread id.
    pub tid: u64,
    /// Event type (index into the libs table).
    pub etype: u16,
    /// Whether the block had the old header without nparams.
    pub v1: bool,
    /// Number of params in the file (may differ from the table).
    pub nparams: u32,
    /// Param values, at most the table's count.
    pub params: Params<'a>,
}

/// What an event block held.
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A known event.
    Event(RawEvent<'a>),
    /// An event type beyond the table (a newer producer); skipped as libscap does.
    UnknownType(u16),
}

#[inline(always)]
fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
#[inline(always)]
fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
#[inline(always)]
fn le64(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// Decodes an event block (any EV/EVF version). The event is bounded by its
/// own `len`; trailing pcapng options in the block are ignored.
#[inline(always)]
pub fn decode_event<'a>(b: &Block<'a>) -> Result<Decoded<'a>, ScapError> {
    let v2 = matches!(
        b.btype,
        bt::EV_V2 | bt::EV_V2_LARGE | bt::EVF_V2 | bt::EVF_V2_LARGE
    );
    let has_flags = matches!(b.btype, bt::EVF | bt::EVF_V2 | bt::EVF_V2_LARGE);
    let hdr = if v2 { HDR_V2 } else { HDR_V1 };
    let pre = if has_flags { 6 } else { 2 };
    let body = b.body;
    let bad = |reason: String| ScapError::BadEvent {
        offset: b.offset,
        reason,
    };
    if body.len() < pre + hdr {
        return Err(bad(format!(
            "event block body of {} bytes cannot hold the {}-byte event header",
            body.len(),
            pre + hdr
        )));
    }
    let cpu = le16(body, 0);
    let flags = if has_flags { le32(body, 2) } else { 0 };
    let ev = &body[pre..];
    let ts = le64(ev, 0);
    let tid = le64(ev, 8);
    let mut len = le32(ev, 16) as usize;
    let etype = le16(ev, 20);
    if etype as usize >= EVENT_MAX {
        return Ok(Decoded::UnknownType(etype));
    }
    let info = &EVENTS[etype as usize];
    let large = v2 && info.flags & ef::LARGE_PAYLOAD != 0;
    let lsize = if large { 4 } else { 2 };
    if !v2 && (etype == NOTIFICATION_E || etype == INFRASTRUCTURE_EVENT_E) {
        len = len.saturating_sub(3);
    }
    if len < hdr {
        return Err(bad(format!(
            "event len {len} is below the {hdr}-byte header"
        )));
    }
    if len > ev.len() {
        return Err(bad(format!(
            "event len {len} exceeds the {} bytes left in its block",
            ev.len()
        )));
    }
    let ev = &ev[..len];
    let nparams = if v2 {
        let n = le32(ev, 22) as usize;
        // As `n > (len - hdr) / lsize`, without dividing by a variable.
        if n.checked_mul(lsize).is_none_or(|t| t > len - hdr) {
            return Err(bad(format!("{n} params do not fit in event len {len}")));
        }
        n
    } else {
        infer_nparams(ev, info.params.len()).ok_or_else(|| {
            bad(format!(
                "cannot infer the param count of a v1 {} event (len {len})",
                info.name
            ))
        })?
    };
    let keep = nparams.min(info.params.len()).min(MAX_PARAMS);
    let values = hdr + nparams * lsize;
    let mut off = values;
    // `values <= len` (checked above): the length table is inside `ev`.
    let table = &ev[hdr..values];
    let mut check = |i: usize, l: usize| {
        if l > len - off {
            return Err(bad(format!(
                "param {i} of {} has len {l}, beyond event len {len}",
                info.name
            )));
        }
        off += l;
        Ok(())
    };
    if large {
        for (i, c) in table.chunks_exact(4).enumerate() {
            check(i, u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)?;
        }
    } else {
        for (i, c) in table.chunks_exact(2).enumerate() {
            check(i, usize::from(u16::from_le_bytes([c[0], c[1]])))?;
        }
    }
    let params = Params {
        ev,
        lens: hdr as u8,
        lsize: lsize as u8,
        n: keep as u8,
        // Below `len`, itself from a u32.
        values: values as u32,
    };
    Ok(Decoded::Event(RawEvent {
        offset: b.offset,
        cpu,
        flags,
        ts,
        tid,
        etype,
        v1: !v2,
        nparams: nparams as u32,
        params,
    }))
}

/// libscap's v1 rule: from the table's count down, the first `n` whose
/// `22 + 2n + sum(lens[..n])` reaches the event end wins if it is exact; a
/// sum that falls short means corruption.
fn infer_nparams(ev: &[u8], table_n: usize) -> Option<usize> {
    let len = ev.len();
    for n in (0..=table_n).rev() {
        let lens_end = HDR_V1 + 2 * n;
        if lens_end > len {
            continue;
        }
        let total: usize = lens_end
            + (0..n)
                .map(|i| le16(ev, HDR_V1 + 2 * i) as usize)
                .sum::<usize>();
        if total < len {
            return None;
        }
        if total == len {
            return Some(n);
        }
    }
    None
}

/// An event kept without its bytes (a pending enter, whose block buffer
/// may be reused): [`Detached::attach`] puts it back on a copy of them.
#[derive(Debug, Clone)]
pub struct Detached {
    ev: RawEvent<'static>,
    /// Length of the event's bytes.
    len: usize,
}

impl Detached {
    /// File offset of the event's block.
    pub fn offset(&self) -> u64 {
        self.ev.offset
    }
    /// The event's time.
    pub fn ts(&self) -> u64 {
        self.ev.ts
    }
    /// The event over `bytes`, a copy of its [`RawEvent::bytes`]; `None`
    /// if the length differs (then they are not its bytes).
    pub fn attach<'b>(&self, bytes: &'b [u8]) -> Option<RawEvent<'b>> {
        if bytes.len() != self.len {
            return None;
        }
        let e = &self.ev;
        Some(RawEvent {
            params: Params {
                ev: bytes,
                ..e.params
            },
            ..*e
        })
    }
}

impl<'a> RawEvent<'a> {
    /// The event's own bytes (header, length table, values), as bounded by
    /// its `len`: what [`RawEvent::detach`] needs back.
    pub fn bytes(&self) -> &'a [u8] {
        self.params.ev
    }
    /// The event without its bytes (no decoding again when they come back).
    pub fn detach(&self) -> Detached {
        Detached {
            ev: RawEvent {
                params: Params {
                    ev: &[],
                    ..self.params
                },
                ..*self
            },
            len: self.params.ev.len(),
        }
    }
    /// The libs table entry of this event.
    pub fn info(&self) -> &'static EventInfo {
        &EVENTS[self.etype as usize]
    }
    /// Whether this is an enter event (even type).
    pub fn is_enter(&self) -> bool {
        self.etype & 1 == 0
    }
    /// Index of the param named `name` among those present.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.info()
            .params
            .iter()
            .take(self.params.len())
            .position(|p| p.name == name)
    }
    /// Raw bytes and type of param `i`, if present and non-empty.
    pub fn at(&self, i: usize) -> Option<(&'a [u8], u8)> {
        let v = self.params.get(i)?;
        (!v.is_empty()).then(|| (v, self.info().params[i].ty))
    }
    /// Raw bytes and type of the param named `name`, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<(&'a [u8], u8)> {
        self.at(self.index_of(name)?)
    }
    /// Integer value of param `name` (sign-extended for signed types).
    pub fn int(&self, name: &str) -> Option<i64> {
        let (v, ty) = self.get(name)?;
        int_value(v, ty)
    }
    /// String value of param `name` (without the trailing NUL).
    pub fn str(&self, name: &str) -> Option<&'a [u8]> {
        self.get(name).map(|(v, _)| strip_nul(v))
    }
}

/// A NUL-terminated param without its terminator (and anything after it).
pub fn strip_nul(v: &[u8]) -> &[u8] {
    v.iter().position(|&c| c == 0).map_or(v, |i| &v[..i])
}

/// Decodes a fixed-size integer param by its `PT_*` type; `None` for
/// non-integer types or a size that does not match.
pub fn int_value(v: &[u8], ty: u8) -> Option<i64> {
    let signed = matches!(
        ty,
        pt::INT8
            | pt::INT16
            | pt::INT32
            | pt::INT64
            | pt::ERRNO
            | pt::FD
            | pt::PID
            | pt::FD32
            | pt::PID32
    );
    let x = match v.len() {
        1 => {
            if signed {
                i64::from(v[0] as i8)
            } else {
                i64::from(v[0])
            }
        }
        2 => {
            let u = le16(v, 0);
            if signed {
                i64::from(u as i16)
            } else {
                i64::from(u)
            }
        }
        4 => {
            let u = le32(v, 0);
            if signed {
                i64::from(u as i32)
            } else {
                i64::from(u)
            }
        }
        8 => le64(v, 0) as i64,
        _ => return None,
    };
    let integral = !matches!(
        ty,
        pt::CHARBUF
            | pt::BYTEBUF
            | pt::SOCKADDR
            | pt::SOCKTUPLE
            | pt::FDLIST
            | pt::FSPATH
            | pt::FSRELPATH
            | pt::DYN
            | pt::DOUBLE
            | pt::IPV6ADDR
            | pt::IPADDR
            | pt::IPNET
    );
    integral.then_some(x)
}
