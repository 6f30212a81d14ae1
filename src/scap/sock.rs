//! scap socket encodings (`PT_SOCKADDR`, `PT_SOCKTUPLE`) rebuilt as raw
//! kernel `struct sockaddr` bytes, which is what our records carry.

/// libs address families (`PPM_AF_*`), equal to Linux's for these three.
const PPM_AF_UNIX: u8 = 1;
const PPM_AF_INET: u8 = 2;
const PPM_AF_INET6: u8 = 10;

/// Which end of a socket tuple to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The tuple's source (the peer of accept/recvfrom).
    Src,
    /// The tuple's destination (the peer of connect/sendto).
    Dst,
}

fn sockaddr_in(ip: &[u8], port: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&u16::from(PPM_AF_INET).to_le_bytes());
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(ip);
    v.extend_from_slice(&[0; 8]);
    v
}

fn sockaddr_in6(ip: &[u8], port: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(28);
    v.extend_from_slice(&u16::from(PPM_AF_INET6).to_le_bytes());
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(ip);
    v.extend_from_slice(&[0; 4]);
    v
}

fn sockaddr_un(path: &[u8]) -> Vec<u8> {
    let path = &path[..path.iter().position(|&c| c == 0).unwrap_or(path.len())];
    let mut v = Vec::with_capacity(2 + path.len() + 1);
    v.extend_from_slice(&u16::from(PPM_AF_UNIX).to_le_bytes());
    v.extend_from_slice(path);
    v.push(0);
    v
}

fn port(b: &[u8]) -> u16 {
    // scap stores ports in host (little-endian) order.
    u16::from_le_bytes([b[0], b[1]])
}

/// A raw sockaddr from a `PT_SOCKADDR` value (`family, addr, port` or
/// `family, path`); `None` when too short or of another family.
pub fn from_sockaddr(v: &[u8]) -> Option<Vec<u8>> {
    let (&fam, rest) = v.split_first()?;
    match fam {
        PPM_AF_INET if rest.len() >= 6 => Some(sockaddr_in(&rest[..4], port(&rest[4..6]))),
        PPM_AF_INET6 if rest.len() >= 18 => Some(sockaddr_in6(&rest[..16], port(&rest[16..18]))),
        PPM_AF_UNIX => Some(sockaddr_un(rest)),
        _ => None,
    }
}

/// Whether a 16-byte IPv6 address is IPv4-mapped (`::ffff:a.b.c.d`).
fn v4_mapped(ip: &[u8]) -> bool {
    ip.len() == 16 && ip[..10].iter().all(|&b| b == 0) && ip[10] == 0xff && ip[11] == 0xff
}

/// A raw sockaddr for one end of a `PT_SOCKTUPLE` value. As libsinsp, an
/// IPv6 tuple whose two ends are both IPv4-mapped is an IPv4 connection.
pub fn from_tuple(v: &[u8], side: Side) -> Option<Vec<u8>> {
    let (&fam, rest) = v.split_first()?;
    match fam {
        PPM_AF_INET if rest.len() >= 12 => {
            let o = if side == Side::Src { 0 } else { 6 };
            Some(sockaddr_in(&rest[o..o + 4], port(&rest[o + 4..o + 6])))
        }
        PPM_AF_INET6 if rest.len() >= 36 => {
            let o = if side == Side::Src { 0 } else { 18 };
            let (ip, p) = (&rest[o..o + 16], port(&rest[o + 16..o + 18]));
            if v4_mapped(&rest[..16]) && v4_mapped(&rest[18..34]) {
                Some(sockaddr_in(&ip[12..], p))
            } else {
                Some(sockaddr_in6(ip, p))
            }
        }
        PPM_AF_UNIX if rest.len() >= 16 => Some(sockaddr_un(&rest[16..])),
        _ => None,
    }
}

/// Whether a tuple is an IP one (both ends are addresses; a Unix tuple
/// holds kernel pointers and one path).
pub fn is_ip_tuple(v: &[u8]) -> bool {
    matches!(v.first(), Some(&PPM_AF_INET | &PPM_AF_INET6))
}

/// Whether a tuple end is known: an IP end with a non-zero address or
/// port (a failed or unbound socket's tuple is all zeros), or a Unix end.
pub fn known_end(v: &[u8], side: Side) -> bool {
    let Some((&fam, rest)) = v.split_first() else {
        return false;
    };
    let (o, n) = match (fam, side) {
        (PPM_AF_INET, Side::Src) => (0, 6),
        (PPM_AF_INET, Side::Dst) => (6, 6),
        (PPM_AF_INET6, Side::Src) => (0, 18),
        (PPM_AF_INET6, Side::Dst) => (18, 18),
        (PPM_AF_UNIX, _) => return rest.len() >= 16,
        _ => return false,
    };
    rest.get(o..o + n)
        .is_some_and(|b| b.iter().any(|&x| x != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sockaddr::parse;
    use crate::state::SockAddr;

    fn ip(s: &str) -> Option<SockAddr> {
        Some(SockAddr::Ip(s.parse().unwrap()))
    }

    #[test]
    fn inet_tuple_round_trips_through_our_parser() {
        let mut t = vec![2, 10, 0, 0, 1];
        t.extend_from_slice(&54321u16.to_le_bytes());
        t.extend_from_slice(&[93, 184, 216, 34]);
        t.extend_from_slice(&80u16.to_le_bytes());
        assert_eq!(
            parse(&from_tuple(&t, Side::Dst).unwrap()),
            ip("93.184.216.34:80")
        );
        assert_eq!(
            parse(&from_tuple(&t, Side::Src).unwrap()),
            ip("10.0.0.1:54321")
        );
        assert!(from_tuple(&t[..10], Side::Dst).is_none());
        assert!(known_end(&t, Side::Src) && known_end(&t, Side::Dst));
        let zero = [2u8; 1]
            .iter()
            .chain(&[0u8; 12])
            .copied()
            .collect::<Vec<_>>();
        assert!(!known_end(&zero, Side::Src));
    }

    #[test]
    fn v4_mapped_inet6_tuple_is_inet() {
        let mapped = |a: [u8; 4]| {
            let mut v = vec![0u8; 10];
            v.extend_from_slice(&[0xff, 0xff]);
            v.extend_from_slice(&a);
            v
        };
        let mut t = vec![10];
        t.extend(mapped([10, 0, 0, 1]));
        t.extend_from_slice(&40000u16.to_le_bytes());
        t.extend(mapped([10, 0, 0, 2]));
        t.extend_from_slice(&80u16.to_le_bytes());
        assert_eq!(
            parse(&from_tuple(&t, Side::Src).unwrap()),
            ip("10.0.0.1:40000")
        );
        assert_eq!(
            parse(&from_tuple(&t, Side::Dst).unwrap()),
            ip("10.0.0.2:80")
        );
        // One end not mapped: stays IPv6.
        t[1] = 1;
        assert_eq!(
            parse(&from_tuple(&t, Side::Dst).unwrap()),
            ip("[::ffff:10.0.0.2]:80")
        );
    }

    #[test]
    fn inet6_and_unix() {
        let mut a = vec![10];
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        a.extend_from_slice(&v6);
        a.extend_from_slice(&443u16.to_le_bytes());
        assert_eq!(parse(&from_sockaddr(&a).unwrap()), ip("[::1]:443"));
        let u = from_sockaddr(b"\x01/run/x.sock\0").unwrap();
        assert_eq!(parse(&u), Some(SockAddr::Unix("/run/x.sock".into())));
        assert!(from_sockaddr(&[2, 1]).is_none());
        assert!(from_sockaddr(&[]).is_none());
    }
}
