//! Address-shaped values as gunicorn validates them: IP networks in the allow lists
//! (`ipaddress.ip_network`, strict) and the statsd address (`util.parse_address`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::value::Value;

/// `ipaddress.ip_network(text)` in strict mode: an address, or an address/prefix with no host
/// bits set. `Err` says why, as Python would.
pub fn check_ip_network(text: &str) -> Result<(), String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let (bits, max): (u128, u32) = if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        (u128::from(u32::from(v4)), 32)
    } else if let Ok(v6) = addr.parse::<Ipv6Addr>() {
        (u128::from(v6), 128)
    } else {
        return Err(format!("{text:?} does not appear to be an IPv4 or IPv6 network"));
    };
    let Some(prefix) = prefix else { return Ok(()) };
    let len = prefix_len(prefix, max).ok_or_else(|| format!("{prefix:?} is not a valid netmask"))?;
    let host_bits = max - len;
    let host_mask = if host_bits == 0 { 0 } else { (1u128 << host_bits) - 1 };
    if bits & host_mask != 0 {
        return Err(format!("{text} has host bits set"));
    }
    Ok(())
}

/// A prefix length, or (IPv4) a dotted netmask like 255.255.0.0.
fn prefix_len(text: &str, max: u32) -> Option<u32> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u32>().ok().filter(|n| *n <= max);
    }
    if max != 32 {
        return None;
    }
    let mask = u32::from(text.parse::<Ipv4Addr>().ok()?);
    let len = mask.leading_ones();
    (mask.checked_shl(len).unwrap_or(0) == 0).then_some(len)
}

/// `validate_statsd_address`: `unix:PATH` or `unix://PATH` is the path; `HOST[:PORT]` or
/// `[V6][:PORT]` is the tuple `(host, port)` with port 8125 by default. None when the port is not
/// a number.
pub fn statsd_address(text: &str) -> Option<Value> {
    if let Some(rest) = text.strip_prefix("unix:") {
        // gunicorn's guard against reading `unix:8125` as a socket path.
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Value::Tuple(vec![Value::Str("unix".into()), Value::Int(rest.parse().ok()?)]));
        }
        return Some(Value::Str(rest.strip_prefix("//").unwrap_or(rest).to_string()));
    }
    let netloc = text.strip_prefix("tcp://").unwrap_or(text);
    let (host, port) = if netloc.contains('[') && netloc.contains(']') {
        let host = netloc.split(']').next().unwrap_or("").get(1..).unwrap_or("");
        let port = netloc.split_once("]:").map_or("8125", |(_, p)| p.split("]:").next().unwrap_or(p));
        (host, port)
    } else if let Some((host, rest)) = netloc.split_once(':') {
        (host, rest.split(':').next().unwrap_or(rest))
    } else if netloc.is_empty() {
        ("0.0.0.0", "8125")
    } else {
        (netloc, "8125")
    };
    let port = super::value::parse_py_int_base10(port)?;
    Some(Value::Tuple(vec![Value::Str(host.to_lowercase()), Value::Int(port)]))
}

/// The statsd address in the text form the statsd client connects to.
pub fn statsd_target(value: &Value) -> Option<String> {
    match value {
        Value::Str(path) => Some(format!("unix:{path}")),
        Value::Tuple(parts) => match parts.as_slice() {
            [Value::Str(host), Value::Int(port)] if host.contains(':') => Some(format!("[{host}]:{port}")),
            [Value::Str(host), Value::Int(port)] => Some(format!("{host}:{port}")),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_as_python_strict() {
        for good in ["127.0.0.1", "::1", "10.0.0.0/8", "10.0.0.0/255.0.0.0", "fd00::/8", "0.0.0.0/0"] {
            assert_eq!(check_ip_network(good), Ok(()), "{good}");
        }
        for bad in ["10.0.0.1/8", "localhost", "", "10.0.0.0/33", "1.2.3", "010.0.0.1"] {
            assert!(check_ip_network(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statsd_as_parse_address() {
        let t = |h: &str, p: i64| Some(Value::Tuple(vec![Value::Str(h.into()), Value::Int(p)]));
        assert_eq!(statsd_address("localhost:9125"), t("localhost", 9125));
        assert_eq!(statsd_address("Stats"), t("stats", 8125));
        assert_eq!(statsd_address("[::1]:1"), t("::1", 1));
        assert_eq!(statsd_address("unix:///tmp/s"), Some(Value::Str("/tmp/s".into())));
        assert_eq!(statsd_address("host:x"), None);
        assert_eq!(statsd_target(&t("::1", 1).expect("tuple")).as_deref(), Some("[::1]:1"));
    }
}
