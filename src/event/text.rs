//! Text rendering of captured bytes: terminal-safe escaping, paths captured
//! as components, argv lists and `struct sockaddr`.
//!
//! Every captured byte shown to a user goes through [`escape_bytes`].

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::flags::{decode, Decoder};

/// Appends `bytes` escaped for a terminal: printable ASCII and UTF-8 are
/// kept; `\` becomes `\\`; `\n`, `\r`, `\t` are written as such; other
/// control characters (C0, DEL, C1, ESC), bidi overrides and invalid UTF-8
/// bytes become `\xNN` or `\u{NNNN}`.
pub fn escape_bytes(bytes: &[u8], out: &mut String) {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // The printable-ASCII run is copied as is; binary data mostly has
        // none, and then no run is looked for.
        if !is_special(b) {
            let run = plain_prefix(&bytes[i..]);
            push_ascii(&bytes[i..i + run], out);
            i += run;
            continue;
        }
        i += match b {
            b'\\' => push_n(out, "\\\\"),
            b'\n' => push_n(out, "\\n"),
            b'\r' => push_n(out, "\\r"),
            b'\t' => push_n(out, "\\t"),
            0xc2..=0xf4 => {
                let width = match b {
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => 4,
                };
                // One character, or one byte that starts no valid sequence.
                let text = bytes
                    .get(i..i + width)
                    .and_then(|s| std::str::from_utf8(s).ok());
                match text {
                    Some(t) => {
                        push_char(t, out);
                        width
                    }
                    None => push_hex_bytes(&bytes[i..i + 1], out),
                }
            }
            // ASCII controls, DEL and bytes of invalid UTF-8: the run of
            // such bytes at once.
            _ => push_hex_bytes(&bytes[i..], out),
        };
    }
}

/// Appends `s`; its length in input bytes (one).
fn push_n(out: &mut String, s: &str) -> usize {
    out.push_str(s);
    1
}

/// Appends printable ASCII `run` (as [`plain_prefix`] found it) with one
/// copy: such a run is UTF-8 already, and checking it again cost more than
/// the copy on `saker read`'s hot path.
fn push_ascii(run: &[u8], out: &mut String) {
    debug_assert!(run.iter().all(|&b| !is_special(b)));
    // SAFETY: every byte of `run` is in 0x20..0x7f (the caller's
    // `plain_prefix`), so `run` is ASCII, hence valid UTF-8.
    out.push_str(unsafe { std::str::from_utf8_unchecked(run) });
}

/// Whether [`escape_bytes`] writes byte `b` as `\xNN` whatever follows it.
#[inline]
fn always_hex(b: u8) -> bool {
    is_special(b) && !matches!(b, b'\\' | b'\n' | b'\r' | b'\t' | 0xc2..=0xf4)
}

/// Appends `\xNN` for the leading bytes of `bytes` that are always so
/// written (at least the first, at most 16 at once); how many it took.
fn push_hex_bytes(bytes: &[u8], out: &mut String) -> usize {
    let mut buf = [0u8; 64];
    let mut n = 0;
    for (k, &b) in bytes.iter().take(16).enumerate() {
        if k > 0 && !always_hex(b) {
            break;
        }
        let at = 4 * usize::from(b);
        buf[4 * n..4 * n + 4].copy_from_slice(&HEX_ESCAPES[at..at + 4]);
        n += 1;
    }
    debug_assert!(buf.is_ascii());
    // SAFETY: `buf` holds zeros and bytes of `HEX_ESCAPES`, which are all
    // ASCII (`\`, `x` and hex digits), so any prefix of it is UTF-8.
    out.push_str(unsafe { std::str::from_utf8_unchecked(&buf[..4 * n]) });
    n
}

/// Appends one non-ASCII character (`text`), as `\u{NNNN}` when it is a
/// control (C1) or a bidi or invisible format character.
fn push_char(text: &str, out: &mut String) {
    match text.chars().next() {
        Some(c) if c.is_control() || is_bidi_or_invisible(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        _ => out.push_str(text),
    }
}

/// Lower-case hex digits by value.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// `\x00\x01...\xff`: the escape of byte `b` is `[4 * b..4 * b + 4]`.
static HEX_ESCAPES: [u8; 1024] = {
    let mut t = [0u8; 1024];
    let mut i = 0;
    while i < 256 {
        t[4 * i] = b'\\';
        t[4 * i + 1] = b'x';
        t[4 * i + 2] = HEX[i >> 4];
        t[4 * i + 3] = HEX[i & 15];
        i += 1;
    }
    t
};

/// Appends `data` in lower-case hex, two digits a byte.
pub(crate) fn push_hex(data: &[u8], out: &mut String) {
    out.reserve(2 * data.len());
    for &b in data {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// Whether [`escape_bytes`] does not copy byte `b` as is.
#[inline]
fn is_special(b: u8) -> bool {
    !(0x20..0x7f).contains(&b) || b == b'\\'
}

/// Length of the prefix of `bytes` that [`escape_bytes`] copies as is
/// (printable ASCII except `\\`).
fn plain_prefix(bytes: &[u8]) -> usize {
    // 16 bytes at a time without an early exit (the check vectorises).
    let any_special = |chunk: &[u8]| chunk.iter().fold(false, |found, &b| found | is_special(b));
    let n = bytes.len();
    let mut i = 0;
    for chunk in bytes.chunks_exact(16) {
        if any_special(chunk) {
            break;
        }
        i += 16;
    }
    // All chunks plain: a short tail (most names and paths are one) is
    // checked at once too, with loads that overlap checked bytes.
    if i == n - n % 16 {
        let plain = match n {
            16.. => !any_special(&bytes[n - 16..]),
            8.. => !special_in_8(&bytes[..8]) && !special_in_8(&bytes[n - 8..]),
            _ => false,
        };
        if plain {
            return n;
        }
    }
    let rest = &bytes[i..];
    i + rest
        .iter()
        .position(|&b| is_special(b))
        .unwrap_or(rest.len())
}

/// Whether any of 8 bytes is [`is_special`], all at once in a u64: a byte
/// below 0x20, above 0x7e or equal to `\` (exact as a whole, not per byte).
fn special_in_8(b: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let x = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    let above_tilde = (x.wrapping_add(ONES) | x) & HIGH;
    let v = x ^ (ONES * u64::from(b'\\'));
    let backslash = v.wrapping_sub(ONES) & !v & HIGH;
    below_space | above_tilde | backslash != 0
}

/// Appends `v` in decimal (`itoa`: printing numbers is on the hot path of
/// `saker read`).
pub fn push_u64(v: u64, out: &mut String) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends `v` in decimal, with `-` when negative.
pub fn push_i64(v: i64, out: &mut String) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends `v` as exactly `width` decimal digits (zero padded; higher digits cut).
pub fn push_padded(v: u64, width: usize, out: &mut String) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(v);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits[digits.len().saturating_sub(width)..]);
}

/// Format characters that can reorder or hide terminal text.
pub(crate) fn is_bidi_or_invisible(c: char) -> bool {
    matches!(c as u32, 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2069 | 0xfeff)
}

/// Appends a path captured as components, leaf first, NUL separated.
pub(crate) fn push_pathcomp(data: &[u8], out: &mut String) {
    let start = out.len();
    for comp in data.split(|&b| b == 0).rev().filter(|c| !c.is_empty()) {
        out.push('/');
        escape_bytes(comp, out);
    }
    if out.len() == start {
        out.push('/');
    }
}

/// Appends NUL-separated strings joined by spaces.
pub(crate) fn push_argv(data: &[u8], out: &mut String) {
    let data = data.strip_suffix(&[0]).unwrap_or(data);
    for (i, a) in data.split(|&b| b == 0).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        escape_bytes(a, out);
    }
}

/// Appends a decoded `struct sockaddr`: `1.2.3.4:80`, `[::1]:22`, a unix
/// path, `@abstract`, `netlink:pid=N`, or the family and length.
pub fn format_sockaddr(b: &[u8], out: &mut String) {
    let Some(&[f0, f1]) = b.get(..2) else {
        let _ = write!(out, "?(len={})", b.len());
        return;
    };
    let family = i32::from(u16::from_le_bytes([f0, f1]));
    let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
    match family {
        libc::AF_INET if b.len() >= 8 => {
            let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            let _ = write!(out, "{ip}:{}", port(b));
        }
        libc::AF_INET6 if b.len() >= 24 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            let _ = write!(out, "[{}]:{}", Ipv6Addr::from(a), port(b));
        }
        libc::AF_UNIX => {
            let path = &b[2..];
            match path.split_first() {
                None => out.push_str("(unnamed)"),
                Some((0, name)) => {
                    out.push('@');
                    escape_bytes(name, out);
                }
                Some(_) => {
                    let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                    escape_bytes(&path[..end], out);
                }
            }
        }
        libc::AF_NETLINK if b.len() >= 12 => {
            let pid = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            let groups = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
            let _ = write!(out, "netlink:pid={pid},groups={groups:#x}");
        }
        libc::AF_UNSPEC => out.push_str("AF_UNSPEC"),
        _ => {
            decode(Decoder::Family, family as u64, out);
            let _ = write!(out, "(len={})", b.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_prefix_stops_at_the_first_special_byte() {
        let naive = |b: &[u8]| {
            b.iter()
                .position(|&c| !(0x20..0x7f).contains(&c) || c == b'\\')
                .unwrap_or(b.len())
        };
        let long = b"/usr/lib/x86_64-linux-gnu/libc.so.6".repeat(3);
        for len in 0..long.len() {
            for bad in [b'\n', b'\\', 0x7f, 0xc3, 0] {
                let mut b = long[..len].to_vec();
                assert_eq!(plain_prefix(&b), naive(&b));
                for at in [0, len / 2, len.saturating_sub(1)] {
                    if at < len {
                        b[at] = bad;
                        assert_eq!(plain_prefix(&b), naive(&b), "{len} {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_lone_byte_escapes_as_before() {
        for b in 0..=255u8 {
            let mut s = String::new();
            escape_bytes(&[b'a', b, b'z'], &mut s);
            let mid = match b {
                b'\\' => "\\\\".to_string(),
                b'\n' => "\\n".to_string(),
                b'\r' => "\\r".to_string(),
                b'\t' => "\\t".to_string(),
                0x20..0x7f => char::from(b).to_string(),
                _ => format!("\\x{b:02x}"),
            };
            assert_eq!(s, format!("a{mid}z"), "byte {b:#x}");
        }
        let mut s = String::new();
        escape_bytes("é\u{202e}\u{85}".as_bytes(), &mut s);
        assert_eq!(s, "é\\u{202e}\\u{0085}");
    }

    /// The escape as first written (chars of `utf8_chunks`), to which
    /// the byte-run version must stay equal.
    fn reference(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x80 && c.is_control() => {
                        let _ = write!(out, "\\x{:02x}", c as u32);
                    }
                    c if c.is_control() || is_bidi_or_invisible(c) => {
                        let _ = write!(out, "\\u{{{:04x}}}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            for &b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn escape_equals_the_char_by_char_reference(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            text in "\\PC{0,16}",
        ) {
            // Raw bytes (mostly invalid UTF-8), then text with valid
            // multi-byte characters cut at every byte.
            let mut mixed = text.clone().into_bytes();
            mixed.extend_from_slice(&bytes);
            for input in [&bytes[..], text.as_bytes(), &mixed[..]] {
                for cut in 0..=input.len() {
                    let mut s = String::new();
                    escape_bytes(&input[..cut], &mut s);
                    proptest::prop_assert_eq!(&s, &reference(&input[..cut]));
                }
            }
        }
    }

    #[test]
    fn plain_prefix_finds_the_first_special_byte_at_every_place() {
        for len in 0..40 {
            let plain: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert_eq!(plain_prefix(&plain), len, "{len}");
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut v = plain.clone();
                    v[at] = b;
                    let want = if is_special(b) { at } else { len };
                    assert_eq!(plain_prefix(&v), want, "len {len} byte {b:#x} at {at}");
                }
            }
        }
        // Neighbours that borrow or carry in the word checks.
        for (a, b) in [
            (0x7e, 0xff),
            (0x20, 0x1f),
            (0x5d, 0x5c),
            (0x7f, 0x7e),
            (0x21, 0x00),
        ] {
            for at in 0..15 {
                let mut v = vec![b'x'; 16];
                v[at] = a;
                v[at + 1] = b;
                let want = [a, b]
                    .iter()
                    .position(|&c| is_special(c))
                    .map_or(16, |p| at + p);
                assert_eq!(plain_prefix(&v), want, "{a:#x} {b:#x} at {at}");
            }
        }
    }

    #[test]
    fn tricky_sequences_escape_as_the_reference() {
        let cases: [&[u8]; 11] = [
            b"\xe2\x82",                     // a cut 3-byte sequence
            b"\xe2\x82A",                    // ... followed by ASCII
            b"\xf0\x90\x80\xf0\x9f\x98\x80", // a cut 4-byte one, then an emoji
            b"\xed\xa0\x80",                 // a surrogate
            b"\xc0\xaf\xe0\x80\xaf",         // overlong forms
            b"\xf4\x90\x80\x80",             // past U+10FFFF
            b"\xc2\x85\xc2\xa0",             // NEL (C1 control), then NBSP
            b"\xe2\x80\x8b\xef\xbb\xbf",     // zero-width space, BOM
            b"a\\b\x7f\x1b[0m",              // backslash, DEL, ESC
            &[0; 40],                        // runs of escapes past one batch
            b"\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\xf5\xff\x80\t\xc3\xa9",
        ];
        for c in cases {
            let mut s = String::new();
            escape_bytes(c, &mut s);
            assert_eq!(s, reference(c), "{c:?}");
        }
    }

    #[test]
    fn numbers() {
        for v in [0u64, 7, 10, 99, 1234567890, u64::MAX] {
            let mut s = String::new();
            push_u64(v, &mut s);
            assert_eq!(s, v.to_string());
        }
        for v in [0i64, -1, 42, i64::MIN, i64::MAX] {
            let mut s = String::new();
            push_i64(v, &mut s);
            assert_eq!(s, v.to_string());
        }
        let mut s = String::new();
        push_padded(42, 5, &mut s);
        push_padded(123456, 3, &mut s);
        assert_eq!(s, "00042456");
    }
}
