//! Socket tables: parsers for `/proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix,
//! netlink,packet}` and a per-network-namespace cache mapping a socket inode
//! to its [`SocketInfo`].
//!
//! The tables are per network namespace, so a process's sockets are looked
//! up in `/proc/PID/net/*` (which shows that process's namespace), read once
//! per namespace inode (`readlink /proc/PID/ns/net`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{read_link, ProcfsError, SnapshotStats};
use crate::event::meta::SocketInfo;

/// `TCP_LISTEN` in the `st` column.
const TCP_LISTEN: u8 = 0x0A;
/// Longest table line read (real lines are < 300 bytes; unix paths < 110).
const MAX_LINE: u64 = 4096;
/// Most lines read from one table (bounds memory on hostile or huge hosts).
const MAX_LINES: usize = 4_000_000;

/// Inode -> socket, for one network namespace.
pub type SocketMap = HashMap<u64, SocketInfo>;

/// The inet tables: file name, protocol, IPv6.
const INET_TABLES: [(&str, &str, bool); 6] = [
    ("tcp", "tcp", false),
    ("tcp6", "tcp", true),
    ("udp", "udp", false),
    ("udp6", "udp", true),
    ("raw", "raw", false),
    ("raw6", "raw", true),
];

/// Whitespace-separated tokens of `s` with their byte offsets.
fn ws_tokens(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in s.bytes().enumerate() {
        match (b.is_ascii_whitespace(), start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

/// Parses a `%08X` IPv4 address as printed by the kernel (the `__be32`
/// printed as a native integer).
fn parse_ipv4(hex: &str) -> Option<Ipv4Addr> {
    if hex.len() != 8 {
        return None;
    }
    let v = u32::from_str_radix(hex, 16).ok()?;
    Some(Ipv4Addr::from(v.to_ne_bytes()))
}

/// Parses a 32-hex-digit IPv6 address: four native-order `%08X` words.
fn parse_ipv6(hex: &str) -> Option<Ipv6Addr> {
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
        let w = u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok()?;
        chunk.copy_from_slice(&w.to_ne_bytes());
    }
    Some(Ipv6Addr::from(bytes))
}

/// Parses `ADDR:PORT` (hex) into an address text and a port.
fn parse_endpoint(tok: &str, v6: bool) -> Option<(String, u16)> {
    let (addr, port) = tok.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = if v6 {
        parse_ipv6(addr)?.to_string()
    } else {
        parse_ipv4(addr)?.to_string()
    };
    Some((ip, port))
}

/// Parses one line of `/proc/net/{tcp,udp,raw}[6]`: `Ok(None)` for the
/// header, `Ok(Some((inode, socket)))` for an entry.
pub fn parse_inet_line(
    line: &str,
    proto: &str,
    v6: bool,
) -> Result<Option<(u64, SocketInfo)>, ProcfsError> {
    let f = ws_tokens(line);
    if f.first().is_none_or(|(_, t)| *t == "sl") {
        return Ok(None);
    }
    let tok = |i: usize| f.get(i).map(|&(_, t)| t);
    let bad = |i: usize, what: &str| {
        let (at, tok) = f.get(i).copied().unwrap_or((line.len(), ""));
        ProcfsError::parse(1, at + 1, format!("bad {what} {tok:?}"))
    };
    let (local_ip, local_port) = tok(1)
        .and_then(|t| parse_endpoint(t, v6))
        .ok_or_else(|| bad(1, "local address"))?;
    let (remote_ip, remote_port) = tok(2)
        .and_then(|t| parse_endpoint(t, v6))
        .ok_or_else(|| bad(2, "remote address"))?;
    let state = tok(3)
        .and_then(|t| u8::from_str_radix(t, 16).ok())
        .ok_or_else(|| bad(3, "state"))?;
    let ino = tok(9)
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| bad(9, "inode"))?;
    Ok(Some((
        ino,
        SocketInfo::Inet {
            proto: proto.to_string(),
            local_ip,
            local_port,
            remote_ip,
            remote_port,
            listening: proto == "tcp" && state == TCP_LISTEN,
        },
    )))
}

/// Parses one line of `/proc/net/unix` (`Num RefCount Protocol Flags Type
/// St Inode [Path]`); the path may contain spaces and is `@name` for
/// abstract sockets.
pub fn parse_unix_line(line: &str) -> Result<Option<(u64, SocketInfo)>, ProcfsError> {
    let line = line.trim_end_matches('\n');
    if line.starts_with("Num") || line.trim().is_empty() {
        return Ok(None);
    }
    let mut rest = line;
    let mut ino = None;
    for i in 0..7 {
        let start = rest.len() - rest.trim_start().len();
        let t = &rest[start..];
        let end = t.find(' ').unwrap_or(t.len());
        if end == 0 {
            let col = line.len() - rest.len() + start + 1;
            return Err(ProcfsError::parse(
                1,
                col,
                format!("unix line has {i} of 7 fields"),
            ));
        }
        if i == 6 {
            let tok = &t[..end];
            ino = Some(tok.parse::<u64>().map_err(|_| {
                let col = line.len() - t.len() + 1;
                ProcfsError::parse(1, col, format!("bad inode {tok:?}"))
            })?);
        }
        rest = &t[end..];
    }
    let path = rest.strip_prefix(' ').unwrap_or(rest).to_string();
    Ok(ino.map(|ino| (ino, SocketInfo::Unix { path })))
}

/// Parses one line of a table whose inode is column `ino_col` (netlink: 9,
/// packet: 8); the socket is [`SocketInfo::Other`] named `family`.
pub fn parse_other_line(
    line: &str,
    ino_col: usize,
    family: &str,
) -> Result<Option<(u64, SocketInfo)>, ProcfsError> {
    let f = ws_tokens(line);
    if f.first().is_none_or(|(_, t)| *t == "sk") {
        return Ok(None);
    }
    let (at, tok) = f.get(ino_col).copied().unwrap_or((line.len(), ""));
    let ino = tok
        .parse::<u64>()
        .map_err(|_| ProcfsError::parse(1, at + 1, format!("bad {family} inode {tok:?}")))?;
    Ok(Some((
        ino,
        SocketInfo::Other {
            name: family.to_string(),
        },
    )))
}

/// Reads a table line by line into `map`. A missing table (module not
/// loaded, no IPv6) is fine; bad lines become warnings.
fn read_table(
    path: &Path,
    map: &mut SocketMap,
    stats: &mut SnapshotStats,
    parse: &dyn Fn(&str) -> Result<Option<(u64, SocketInfo)>, ProcfsError>,
) {
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    for lno in 1..=MAX_LINES {
        line.clear();
        match (&mut reader).take(MAX_LINE).read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(source) => {
                stats.warn(ProcfsError::Io {
                    path: path.to_path_buf(),
                    source,
                });
                break;
            }
        }
        if !line.ends_with('\n') && line.len() as u64 == MAX_LINE {
            stats.warn(ProcfsError::parse(lno, 1, "line too long").in_file(path));
            break;
        }
        match parse(&line) {
            Ok(Some((ino, sock))) => {
                map.insert(ino, sock);
            }
            Ok(None) => {}
            Err(e) => stats.warn(match e {
                ProcfsError::Parse { col, reason, .. } => ProcfsError::Parse {
                    path: path.to_path_buf(),
                    line: lno,
                    col,
                    reason,
                },
                other => other,
            }),
        }
    }
}

/// Reads every socket table of the `net` directory `net_dir`.
pub fn read_socket_map(net_dir: &Path, stats: &mut SnapshotStats) -> SocketMap {
    let mut map = SocketMap::new();
    for (file, proto, v6) in INET_TABLES {
        read_table(&net_dir.join(file), &mut map, stats, &|l| {
            parse_inet_line(l, proto, v6)
        });
    }
    read_table(&net_dir.join("unix"), &mut map, stats, &parse_unix_line);
    read_table(&net_dir.join("netlink"), &mut map, stats, &|l| {
        parse_other_line(l, 9, "netlink")
    });
    read_table(&net_dir.join("packet"), &mut map, stats, &|l| {
        parse_other_line(l, 8, "packet")
    });
    map
}

/// Socket maps cached per network namespace for one snapshot.
pub struct SocketTables {
    proc_root: PathBuf,
    by_netns: HashMap<String, Arc<SocketMap>>,
}

impl SocketTables {
    /// An empty cache reading under `proc_root`.
    pub fn new(proc_root: &Path) -> Self {
        Self {
            proc_root: proc_root.to_path_buf(),
            by_netns: HashMap::new(),
        }
    }

    /// The socket map of the namespace of the process at `proc_dir`
    /// (`/proc/PID`); falls back to `/proc/net` when the namespace link
    /// cannot be read.
    pub fn for_process(&mut self, proc_dir: &Path, stats: &mut SnapshotStats) -> Arc<SocketMap> {
        let (key, net_dir) = match read_link(&proc_dir.join("ns/net")) {
            Ok(ns) => (ns, proc_dir.join("net")),
            Err(_) => (String::new(), self.proc_root.join("net")),
        };
        if let Some(m) = self.by_netns.get(&key) {
            return Arc::clone(m);
        }
        let map = Arc::new(read_socket_map(&net_dir, stats));
        self.by_netns.insert(key, Arc::clone(&map));
        map
    }

    /// Namespaces read so far.
    pub fn namespaces_read(&self) -> usize {
        self.by_netns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(proto: &str, l: (&str, u16), r: (&str, u16), listening: bool) -> SocketInfo {
        SocketInfo::Inet {
            proto: proto.into(),
            local_ip: l.0.into(),
            local_port: l.1,
            remote_ip: r.0.into(),
            remote_port: r.1,
            listening,
        }
    }

    #[test]
    fn tcp4_lines() {
        let hdr = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        assert_eq!(parse_inet_line(hdr, "tcp", false).unwrap(), None);
        let listen = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 51234 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_inet_line(listen, "tcp", false).unwrap(),
            Some((
                51234,
                inet("tcp", ("127.0.0.1", 8080), ("0.0.0.0", 0), true)
            ))
        );
        let est = "   1: 0F02000A:D431 22D8B85D:01BB 01 00000000:00000000 02:000A0F2E 00000000  1000        0 60001 2 0000000000000000 20 4 30 10 -1";
        assert_eq!(
            parse_inet_line(est, "tcp", false).unwrap(),
            Some((
                60001,
                inet("tcp", ("10.0.2.15", 54321), ("93.184.216.34", 443), false)
            ))
        );
    }

    #[test]
    fn tcp6_and_udp_lines() {
        // [::1]:631 listening; then ::ffff:127.0.0.1:22 -> ::ffff:127.0.0.1:40000.
        let l = "   0: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_inet_line(l, "tcp", true).unwrap(),
            Some((23456, inet("tcp", ("::1", 631), ("::", 0), true)))
        );
        let m = "   1: 0000000000000000FFFF00000100007F:0016 0000000000000000FFFF00000100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 4 1 10 -1";
        assert_eq!(
            parse_inet_line(m, "tcp", true).unwrap(),
            Some((
                777,
                inet(
                    "tcp",
                    ("::ffff:127.0.0.1", 22),
                    ("::ffff:127.0.0.1", 40000),
                    false
                )
            ))
        );
        // 2001:db8::1 as four native-order words.
        let g = "  2: B80D0120000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 888 2 0000000000000000 0";
        assert_eq!(
            parse_inet_line(g, "udp", true).unwrap(),
            Some((888, inet("udp", ("2001:db8::1", 53), ("::", 0), false)))
        );
        let u = "  513: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 19950 2 0000000000000000 0";
        assert_eq!(
            parse_inet_line(u, "udp", false).unwrap(),
            Some((
                19950,
                inet("udp", ("127.0.0.53", 53), ("0.0.0.0", 0), false)
            ))
        );
    }

    #[test]
    fn inet_errors() {
        let e = parse_inet_line("   0: 0100007F:1F90 zz:0000 0A", "tcp", false).unwrap_err();
        assert!(
            e.to_string()
                .contains(":1:21: bad remote address \"zz:0000\""),
            "{e}"
        );
        let e = parse_inet_line(
            "   0: 0100007F:1F90 00000000:0000 0A 0 0 0 0 0",
            "tcp",
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad inode \"\""), "{e}");
        assert!(parse_inet_line("0: 0100007F:1F90 00000000:0000 0A", "tcp", true).is_err());
        assert!(parse_inet_line("0: 0100007F:FFFFF 00000000:0000 0A", "tcp", false).is_err());
        assert_eq!(parse_inet_line("", "tcp", false).unwrap(), None);
    }

    #[test]
    fn unix_lines() {
        let hdr = "Num       RefCount Protocol Flags    Type St Inode Path";
        assert_eq!(parse_unix_line(hdr).unwrap(), None);
        let bound = "0000000000000000: 00000002 00000000 00010000 0001 01 18230 /run/systemd/journal/stdout\n";
        let unix = |p: &str| SocketInfo::Unix { path: p.into() };
        assert_eq!(
            parse_unix_line(bound).unwrap(),
            Some((18230, unix("/run/systemd/journal/stdout")))
        );
        let anon = "0000000000000000: 00000003 00000000 00000000 0001 03  1510\n";
        assert_eq!(parse_unix_line(anon).unwrap(), Some((1510, unix(""))));
        let abs = "0000000000000000: 00000002 00000000 00010000 0001 01 22001 @/tmp/.X11-unix/X0";
        assert_eq!(
            parse_unix_line(abs).unwrap(),
            Some((22001, unix("@/tmp/.X11-unix/X0")))
        );
        let spaces = "0000000000000000: 00000002 00000000 00010000 0001 01 9 /tmp/a b";
        assert_eq!(
            parse_unix_line(spaces).unwrap(),
            Some((9, unix("/tmp/a b")))
        );
        let e = parse_unix_line("0000000000000000: 00000002 00000000").unwrap_err();
        assert!(e.to_string().contains("unix line has 3 of 7 fields"), "{e}");
        let e = parse_unix_line("0: 2 0 0 1 1 x1 /p").unwrap_err();
        assert!(e.to_string().contains(":1:14: bad inode \"x1\""), "{e}");
    }

    #[test]
    fn netlink_and_packet_lines() {
        let nl = "0000000000000000 0   1234       00000000 0        0        0        2        0        19000";
        assert_eq!(
            parse_other_line(nl, 9, "netlink").unwrap(),
            Some((
                19000,
                SocketInfo::Other {
                    name: "netlink".into()
                }
            ))
        );
        assert_eq!(parse_other_line("sk  Eth Pid", 9, "netlink").unwrap(), None);
        assert!(parse_other_line("0000 1 2", 8, "packet").is_err());
    }
}
