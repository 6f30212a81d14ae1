//! Field types and the reusable value buffer a [`FieldSource`](super::FieldSource) fills.
//!
//! A [`ValueBuf`] keeps its allocations between events, so extracting strings and numbers
//! costs no allocation once warm. A field may push several values (`proc.aname` = every
//! ancestor, list fields such as `fd.types`).

use std::net::IpAddr;

/// The type of a field's values, which decides how literals are parsed and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// Unsigned integer.
    U64,
    /// Signed integer.
    I64,
    /// `true`/`false`.
    Bool,
    /// Text (compared as exact bytes).
    Str,
    /// Binary buffer (`evt.buffer`).
    Bytes,
    /// An IP address; literals may be addresses or CIDR networks.
    Ip,
    /// A field matched against networks (`fd.net`): the value is an IP address, the
    /// literal a CIDR network (a plain address means a host network).
    IpNet,
    /// A port number (0..=65535).
    Port,
    /// A duration in nanoseconds.
    Duration,
    /// An absolute time in nanoseconds since the epoch.
    AbsTime,
}

impl FieldType {
    /// Integer-valued types.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::U64
                | FieldType::I64
                | FieldType::Port
                | FieldType::Duration
                | FieldType::AbsTime
        )
    }
    /// Text or bytes.
    pub fn is_stringy(self) -> bool {
        matches!(self, FieldType::Str | FieldType::Bytes)
    }
    /// IP address types.
    pub fn is_ip(self) -> bool {
        matches!(self, FieldType::Ip | FieldType::IpNet)
    }
    /// Lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::U64 => "u64",
            FieldType::I64 => "i64",
            FieldType::Bool => "bool",
            FieldType::Str => "string",
            FieldType::Bytes => "bytes",
            FieldType::Ip => "ip",
            FieldType::IpNet => "ipnet",
            FieldType::Port => "port",
            FieldType::Duration => "duration",
            FieldType::AbsTime => "abstime",
        }
    }
}

/// One extracted value, borrowing string bytes from the [`ValueBuf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Unsigned integer.
    U64(u64),
    /// Signed integer.
    I64(i64),
    /// Boolean.
    Bool(bool),
    /// Text or bytes.
    Str(&'a [u8]),
    /// IP address.
    Ip(IpAddr),
}

impl Value<'_> {
    /// The integer value, if numeric (widened so u64 and i64 compare correctly).
    #[inline]
    pub fn as_int(&self) -> Option<i128> {
        match *self {
            Value::U64(v) => Some(i128::from(v)),
            Value::I64(v) => Some(i128::from(v)),
            Value::Bool(b) => Some(i128::from(b)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    U64(u64),
    I64(i64),
    Bool(bool),
    Str(u32, u32),
    Ip(IpAddr),
}

/// A reusable buffer of extracted values.
#[derive(Debug, Default, Clone)]
pub struct ValueBuf {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

/// Most string bytes one buffer holds; further pushes are dropped (hostile inputs).
const MAX_BYTES: usize = u32::MAX as usize;

impl ValueBuf {
    /// Removes every value, keeping the allocations.
    #[inline]
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.slots.clear();
    }
    /// Number of values.
    #[inline]
    pub fn len(&self) -> usize {
        self.slots.len()
    }
    /// True if no value was pushed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
    /// Adds an unsigned integer.
    #[inline]
    pub fn push_u64(&mut self, v: u64) {
        self.slots.push(Slot::U64(v));
    }
    /// Adds a signed integer.
    #[inline]
    pub fn push_i64(&mut self, v: i64) {
        self.slots.push(Slot::I64(v));
    }
    /// Adds a boolean.
    #[inline]
    pub fn push_bool(&mut self, v: bool) {
        self.slots.push(Slot::Bool(v));
    }
    /// Adds an IP address.
    #[inline]
    pub fn push_ip(&mut self, v: IpAddr) {
        self.slots.push(Slot::Ip(v));
    }
    /// Adds a string.
    #[inline]
    pub fn push_str(&mut self, s: &str) {
        self.push_bytes(s.as_bytes());
    }
    /// Adds a byte string (dropped if the buffer would exceed 4 GiB).
    #[inline]
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.push_with(|v| {
            v.extend_from_slice(b);
            true
        });
    }
    /// Adds a byte string built in place by `f` appending to the buffer (no temporary).
    /// Whatever `f` appends becomes the value; if `f` returns false the value is discarded.
    pub fn push_with(&mut self, f: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        let start = self.bytes.len();
        if !f(&mut self.bytes) || self.bytes.len() > MAX_BYTES {
            self.bytes.truncate(start);
            return false;
        }
        // Both fit in u32: checked against MAX_BYTES above.
        let (s, e) = (start as u32, self.bytes.len() as u32);
        self.slots.push(Slot::Str(s, e));
        true
    }
    /// The `i`-th value.
    #[inline]
    pub fn get(&self, i: usize) -> Option<Value<'_>> {
        self.slots.get(i).map(|s| self.view(*s))
    }
    #[inline]
    fn view(&self, s: Slot) -> Value<'_> {
        match s {
            Slot::U64(v) => Value::U64(v),
            Slot::I64(v) => Value::I64(v),
            Slot::Bool(v) => Value::Bool(v),
            Slot::Ip(v) => Value::Ip(v),
            Slot::Str(a, b) => Value::Str(self.bytes.get(a as usize..b as usize).unwrap_or(&[])),
        }
    }
    /// Every value, in push order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = Value<'_>> + '_ {
        self.slots.iter().map(|s| self.view(*s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_reuse() {
        let mut b = ValueBuf::default();
        b.push_str("abc");
        b.push_u64(7);
        assert!(!b.push_with(|v| {
            v.extend_from_slice(b"zz");
            false
        }));
        b.push_with(|v| {
            v.extend_from_slice(b"de");
            true
        });
        let got: Vec<_> = b.iter().collect();
        assert_eq!(
            got,
            vec![Value::Str(b"abc"), Value::U64(7), Value::Str(b"de")]
        );
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.get(0), None);
    }
}
