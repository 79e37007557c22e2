//! Broker addresses as this crate accepts them: for the emulator's
//! advertised listener, and (through `backend::external`) for `--bootstrap`
//! lists and the placeholders of `--client-cmd`.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Checks a broker address, `HOST:PORT`: the host as [`check_host`] wants
/// it, the port 1–65535. Returns the host as written (an IPv6 address keeps
/// its brackets) and the port.
pub fn parse_host_port(addr: &str) -> Result<(&str, u16), String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{addr:?} is not HOST:PORT"))?;
    if host.is_empty() {
        return Err(format!("{addr:?} is not HOST:PORT: the host is empty"));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("{addr:?}: port {port:?} is not a number 1-65535"))?;
    check_host(host).map_err(|e| format!("{addr:?}: {e}"))?;
    Ok((host, port))
}

/// A host this crate puts on a broker list or into a command line: a DNS
/// name (letters, digits, `-`, `.` and `_`; labels of 1–63 that do not start
/// with `-`; 253 at most, a final `.` allowed), an IPv4 address, or an IPv6
/// address in brackets. Nothing a shell or a client's option parser reads as
/// anything but a host.
pub fn check_host(host: &str) -> Result<(), String> {
    let not = || {
        Err(format!(
            "host {host:?} is not a DNS name, an IPv4 address or a bracketed IPv6 address"
        ))
    };
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.strip_suffix(']').map(str::parse::<Ipv6Addr>) {
            Some(Ok(_)) => Ok(()),
            _ => not(),
        };
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // All digits and dots: an IPv4 address or nothing (`1.2.3` and
        // `300.1.1.1` are not names).
        return host.parse::<Ipv4Addr>().map(drop).or_else(|_| not());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if host.len() <= 253 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        not()
    }
}
