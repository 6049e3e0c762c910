//! `SOCKADDR saddr=HEX` → an address string.
//!
//! The hex is the raw `struct sockaddr` the syscall passed: a little-endian
//! `u16` family, then per family: AF_INET (2) a big-endian port and four
//! address bytes; AF_INET6 (10) port, flowinfo, sixteen address bytes;
//! AF_UNIX (1) a NUL-terminated path, or, when the first path byte is NUL, an
//! abstract name written `@name` (as `ss` and laurel do). Other families are
//! named `family:N`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::record::decode_hex_into;

/// A decoded socket address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SocketAddress {
    /// `ip:port` (`[ip6]:port` for IPv6).
    Inet(String),
    /// A unix socket path, or `@name` for an abstract socket.
    Unix(Vec<u8>),
    /// Any other family, by number.
    Other(u16),
}

impl SocketAddress {
    /// The name used for the socket entity.
    pub fn to_name(&self) -> String {
        match self {
            Self::Inet(s) => s.clone(),
            Self::Unix(p) => String::from_utf8_lossy(p).into_owned(),
            Self::Other(f) => format!("family:{f}"),
        }
    }
}

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Decodes a `saddr=` hex value; `None` when it is not hex or too short for its family.
pub(crate) fn parse_sockaddr(hex: &[u8]) -> Option<SocketAddress> {
    let mut raw = Vec::with_capacity(hex.len() / 2);
    if !decode_hex_into(hex, &mut raw) {
        return None;
    }
    let family = u16::from_le_bytes([*raw.first()?, *raw.get(1)?]);
    match family {
        AF_INET => {
            let port = u16::from_be_bytes([*raw.get(2)?, *raw.get(3)?]);
            let ip = Ipv4Addr::new(*raw.get(4)?, *raw.get(5)?, *raw.get(6)?, *raw.get(7)?);
            Some(SocketAddress::Inet(format!("{ip}:{port}")))
        }
        AF_INET6 => {
            let port = u16::from_be_bytes([*raw.get(2)?, *raw.get(3)?]);
            let octets: [u8; 16] = raw.get(8..24)?.try_into().ok()?;
            let ip = Ipv6Addr::from(octets);
            Some(SocketAddress::Inet(format!("[{ip}]:{port}")))
        }
        AF_UNIX => {
            let path = raw.get(2..).unwrap_or_default();
            if let Some(name) = path.strip_prefix(&[0]) {
                // Abstract: the name is every byte the caller passed; trailing
                // NULs are padding.
                let end = name
                    .iter()
                    .rposition(|b| *b != 0)
                    .map_or(0, |i| i.saturating_add(1));
                let mut out = b"@".to_vec();
                out.extend_from_slice(name.get(..end).unwrap_or_default());
                Some(SocketAddress::Unix(out))
            } else {
                let end = memchr::memchr(0, path).unwrap_or(path.len());
                Some(SocketAddress::Unix(
                    path.get(..end).unwrap_or_default().to_vec(),
                ))
            }
        }
        other => Some(SocketAddress::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_from_real_accept4() {
        // attack_T1003.008-1_s206 serial 84824: SADDR={ laddr=127.0.0.1 lport=39980 }
        assert_eq!(
            parse_sockaddr(b"02009C2C7F0000010000000000000000"),
            Some(SocketAddress::Inet("127.0.0.1:39980".into()))
        );
    }

    #[test]
    fn unix_path_from_real_connect() {
        // serial 84699: SADDR={ saddr_fam=local path=/var/run/nscd/socket }, with stack garbage after the NUL.
        let hex = b"01002F7661722F72756E2F6E7363642F736F636B657400007488B6A4147F0000";
        assert_eq!(
            parse_sockaddr(hex),
            Some(SocketAddress::Unix(b"/var/run/nscd/socket".to_vec()))
        );
    }

    #[test]
    fn abstract_unix_socket() {
        let hex = b"0100002F746D702F2E58313100";
        assert_eq!(
            parse_sockaddr(hex).unwrap().to_name(),
            "@/tmp/.X11",
            "leading NUL means abstract"
        );
    }

    #[test]
    fn inet6() {
        // sockaddr_in6: family, port, flowinfo (4), address (16), scope id (4).
        let hex = b"0A001F90000000000000000000000000000000000000000100000000";
        assert_eq!(parse_sockaddr(hex).unwrap().to_name(), "[::1]:8080");
    }

    #[test]
    fn short_or_bad_input_is_none() {
        assert_eq!(parse_sockaddr(b"0200"), None);
        assert_eq!(parse_sockaddr(b"0A00"), None);
        assert_eq!(parse_sockaddr(b"XY"), None);
        assert_eq!(parse_sockaddr(b""), None);
        assert_eq!(parse_sockaddr(b"1000").unwrap(), SocketAddress::Other(16));
    }
}
