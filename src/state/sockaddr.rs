//! Decoding of raw `struct sockaddr` bytes (AF_INET, AF_INET6, AF_UNIX).
//!
//! Pure: every length is checked before a field is read; anything short or of
//! another family decodes to [`SockAddr::Other`] or `None`, never a panic.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;

/// `AF_UNSPEC`.
pub const AF_UNSPEC: u16 = 0;
/// `AF_UNIX`.
pub const AF_UNIX: u16 = 1;
/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// `AF_NETLINK`.
pub const AF_NETLINK: u16 = 16;

/// Longest `sun_path` (bytes, `sizeof(sockaddr_un) - 2`).
const UNIX_PATH_MAX: usize = 108;

/// A decoded socket address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SockAddr {
    /// An IPv4 or IPv6 address and port.
    Ip(SocketAddr),
    /// A unix socket path; abstract names start with `@`, unnamed ones are empty.
    Unix(Arc<str>),
    /// Another family (or `AF_UNSPEC`), by number.
    Other {
        /// The `sa_family` value.
        family: u16,
    },
}

impl SockAddr {
    /// An IP end with no address and no port (`0.0.0.0:0`, `[::]:0`).
    pub fn is_unspecified(&self) -> bool {
        matches!(self, SockAddr::Ip(a) if a.ip().is_unspecified() && a.port() == 0)
    }

    /// The address family number (`AF_*`).
    pub fn family(&self) -> u16 {
        match self {
            SockAddr::Ip(SocketAddr::V4(_)) => AF_INET,
            SockAddr::Ip(SocketAddr::V6(_)) => AF_INET6,
            SockAddr::Unix(_) => AF_UNIX,
            SockAddr::Other { family } => *family,
        }
    }
}

/// Decodes raw sockaddr bytes; `None` when too short for its family (or for
/// the 2-byte family field itself).
pub fn parse(b: &[u8]) -> Option<SockAddr> {
    let family = u16::from_le_bytes([*b.first()?, *b.get(1)?]);
    match family {
        AF_INET => {
            let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
            let ip: [u8; 4] = b.get(4..8)?.try_into().ok()?;
            Some(SockAddr::Ip(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(ip),
                port,
            ))))
        }
        AF_INET6 => {
            let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
            let flow = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
            let ip: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            let scope = b
                .get(24..28)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map_or(0, u32::from_le_bytes);
            Some(SockAddr::Ip(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flow,
                scope,
            ))))
        }
        AF_UNIX => {
            let raw = &b[2..];
            let raw = &raw[..raw.len().min(UNIX_PATH_MAX)];
            Some(SockAddr::Unix(unix_name(raw).into()))
        }
        _ => Some(SockAddr::Other { family }),
    }
}

/// Renders a `sun_path`: abstract names (leading NUL) as `@name`, regular
/// paths up to their first NUL.
fn unix_name(raw: &[u8]) -> String {
    match raw.split_first() {
        None => String::new(),
        Some((0, rest)) => {
            // Abstract: the name is every byte given; trailing NULs are padding.
            let end = rest.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
            format!("@{}", String::from_utf8_lossy(&rest[..end]))
        }
        Some(_) => {
            let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(&raw[..end]).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn inet4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut v = AF_INET.to_le_bytes().to_vec();
        v.extend_from_slice(&port.to_be_bytes());
        v.extend_from_slice(&ip);
        v.extend_from_slice(&[0; 8]);
        v
    }

    #[test]
    fn ipv4() {
        let a = parse(&inet4([10, 0, 0, 1], 443)).unwrap();
        assert_eq!(a, SockAddr::Ip("10.0.0.1:443".parse().unwrap()));
        assert_eq!(a.family(), AF_INET);
        assert_eq!(parse(&inet4([1, 2, 3, 4], 1)[..7]), None);
    }

    #[test]
    fn ipv6() {
        let mut v = AF_INET6.to_le_bytes().to_vec();
        v.extend_from_slice(&8080u16.to_be_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        assert_eq!(parse(&v), Some(SockAddr::Ip("[::1]:8080".parse().unwrap())));
        assert_eq!(parse(&v[..23]), None);
        v.extend_from_slice(&[0; 4]);
        assert_eq!(parse(&v).unwrap().family(), AF_INET6);
    }

    #[test]
    fn unix() {
        let mut v = AF_UNIX.to_le_bytes().to_vec();
        v.extend_from_slice(b"/run/x.sock\0\0\0");
        assert_eq!(parse(&v), Some(SockAddr::Unix("/run/x.sock".into())));
        let mut a = AF_UNIX.to_le_bytes().to_vec();
        a.extend_from_slice(b"\0abs\0");
        assert_eq!(parse(&a), Some(SockAddr::Unix("@abs".into())));
        assert_eq!(
            parse(&AF_UNIX.to_le_bytes()),
            Some(SockAddr::Unix("".into()))
        );
    }

    #[test]
    fn short_and_other() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[2]), None);
        assert_eq!(
            parse(&[16, 0, 1, 2]),
            Some(SockAddr::Other { family: AF_NETLINK })
        );
    }
}
