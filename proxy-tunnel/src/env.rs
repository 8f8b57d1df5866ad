//! Proxy settings from the environment: `http_proxy`, `https_proxy`,
//! `all_proxy`, `no_proxy` (and their upper-case forms).
//!
//! The rules, those of curl where the tools disagree:
//! * the lower-case form of a variable wins over the upper-case one; empty
//!   values count as unset;
//! * `http` targets use `http_proxy`, `https` targets `https_proxy`, and
//!   every scheme (including `redis`, `smtp`, ...) falls back to `all_proxy`;
//! * when `REQUEST_METHOD` is set the process is a CGI script, where a
//!   request's `Proxy:` header arrives as `HTTP_PROXY` (httpoxy): upper-case
//!   `HTTP_PROXY` is then ignored;
//! * `no_proxy` is a comma- or space-separated list of host suffixes
//!   (`example.com` and `.example.com` both match `example.com` and its
//!   subdomains, `*.example.com` too), IP addresses, CIDR blocks
//!   (`10.0.0.0/8`, `fd00::/8`), each optionally with `:port`; `*` matches
//!   everything;
//! * a proxy URL without a scheme means `http://`.

use std::net::IpAddr;

use crate::error::Error;
use crate::proxy::Proxy;

/// The proxy to use for `scheme://host:port` according to the process
/// environment: `None` for a direct connection, `Some(Err)` when the
/// variable that applies holds an unusable URL.
pub fn proxy_for(scheme: &str, host: &str, port: u16) -> Option<Result<Proxy, Error>> {
    proxy_for_with(|name| std::env::var(name).ok(), scheme, host, port)
}

/// [`proxy_for`] with the environment supplied by `lookup` (a variable's
/// value by name), so rules can be tested without touching the process
/// environment.
pub fn proxy_for_with<F>(
    lookup: F,
    scheme: &str,
    host: &str,
    port: u16,
) -> Option<Result<Proxy, Error>>
where
    F: Fn(&str) -> Option<String>,
{
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let either = |lower: &str, upper: &str| get(lower).or_else(|| get(upper));
    let scheme = scheme.to_ascii_lowercase();
    if let Some(list) = either("no_proxy", "NO_PROXY") {
        if NoProxy::parse(&list).matches(host, port) {
            return None;
        }
    }
    let cgi = get("REQUEST_METHOD").is_some();
    let specific = match scheme.as_str() {
        "http" if cgi => get("http_proxy"),
        "http" => either("http_proxy", "HTTP_PROXY"),
        "https" => either("https_proxy", "HTTPS_PROXY"),
        _ => None,
    };
    let url = specific.or_else(|| either("all_proxy", "ALL_PROXY"))?;
    let url = url.trim();
    Some(if url.contains("://") {
        Proxy::parse(url)
    } else {
        Proxy::parse(&format!("http://{url}"))
    })
}

/// One `no_proxy` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `*`.
    All,
    /// A domain and its subdomains, lower case, no leading or trailing dot.
    Domain(String, Option<u16>),
    /// One address.
    Ip(IpAddr, Option<u16>),
    /// An address block.
    Cidr(IpAddr, u8),
}

/// A parsed `no_proxy` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    rules: Vec<Rule>,
}

impl NoProxy {
    /// Parses a `no_proxy` value. Entries that cannot be understood are
    /// skipped (and logged): an environment variable is not worth failing a
    /// connection over, and skipping errs towards using the proxy.
    pub fn parse(list: &str) -> NoProxy {
        let rules = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .filter_map(|entry| {
                let rule = parse_rule(entry);
                if rule.is_none() {
                    tracing::warn!(entry, "ignoring unusable no_proxy entry");
                }
                rule
            })
            .collect();
        NoProxy { rules }
    }

    /// True when `host:port` must be reached directly.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip = bare.parse::<IpAddr>().ok();
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        let port_ok = |p: &Option<u16>| p.is_none_or(|p| p == port);
        self.rules.iter().any(|rule| match rule {
            Rule::All => true,
            Rule::Ip(addr, p) => ip == Some(*addr) && port_ok(p),
            Rule::Cidr(net, bits) => ip.is_some_and(|ip| in_cidr(ip, *net, *bits)),
            Rule::Domain(d, p) => {
                ip.is_none()
                    && port_ok(p)
                    && (name == *d
                        || (name.len() > d.len()
                            && name.ends_with(d.as_str())
                            && name.as_bytes()[name.len() - d.len() - 1] == b'.'))
            }
        })
    }
}

fn parse_rule(entry: &str) -> Option<Rule> {
    if entry == "*" {
        return Some(Rule::All);
    }
    if let Some((addr, bits)) = entry.split_once('/') {
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then_some(Rule::Cidr(addr, bits));
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(Rule::Ip(ip, None));
    }
    // `[v6]`, `[v6]:port`, `host:port`, `v4:port`.
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse::<u16>().ok()?),
        };
        (h, port)
    } else {
        match entry.rsplit_once(':') {
            Some((h, p)) => (h, Some(p.parse::<u16>().ok()?)),
            None => (entry, None),
        }
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Rule::Ip(ip, port));
    }
    let domain = host
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if domain.is_empty() || domain.contains(['*', '/', '@', ':']) {
        return None;
    }
    Some(Rule::Domain(domain, port))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        // An IPv4-mapped IPv6 target against an IPv4 block.
        (IpAddr::V6(ip), IpAddr::V4(_)) => ip
            .to_ipv4_mapped()
            .is_some_and(|v4| in_cidr(IpAddr::V4(v4), net, bits)),
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Variables as name/value pairs.
    type Env<'a> = &'a [(&'a str, &'a str)];

    fn run(env: Env<'_>, scheme: &str, host: &str, port: u16) -> Option<String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        proxy_for_with(|k| env.get(k).cloned(), scheme, host, port).map(|r| {
            r.map(|p| p.to_string())
                .unwrap_or_else(|e| format!("error: {e}"))
        })
    }

    #[test]
    fn variables_by_scheme() {
        let p = |s: &str| Some(s.to_string());
        #[rustfmt::skip]
        let table: &[(Env<'_>, &str, Option<String>)] = &[
            (&[], "https", None),
            (&[("http_proxy", "http://h:1")], "http", p("http://h:1")),
            (&[("http_proxy", "http://h:1")], "https", None),
            (&[("HTTPS_PROXY", "http://s:2")], "https", p("http://s:2")),
            (&[("https_proxy", "http://lower:1"), ("HTTPS_PROXY", "http://upper:2")], "https", p("http://lower:1")),
            (&[("http_proxy", "http://lower:1"), ("HTTP_PROXY", "http://upper:2")], "http", p("http://lower:1")),
            (&[("http_proxy", ""), ("HTTP_PROXY", "http://upper:2")], "http", p("http://upper:2")),
            (&[("ALL_PROXY", "http://all:3")], "redis", p("http://all:3")),
            (&[("all_proxy", "http://all:3")], "smtp", p("http://all:3")),
            (&[("all_proxy", "http://all:3"), ("https_proxy", "http://s:2")], "https", p("http://s:2")),
            (&[("all_proxy", "http://all:3"), ("https_proxy", "http://s:2")], "http", p("http://all:3")),
            (&[("https_proxy", "http://s:2")], "rediss", None),
            (&[("https_proxy", "proxy.local:8080")], "https", p("http://proxy.local:8080")),
            (&[("https_proxy", "https://u:secret@p:443")], "HTTPS", p("https://u@p:443")),
            // httpoxy: in a CGI request HTTP_PROXY may come from a request header.
            (&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")], "http", None),
            (&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1"), ("all_proxy", "http://all:3")], "http", p("http://all:3")),
            (&[("REQUEST_METHOD", "GET"), ("http_proxy", "http://ok:1")], "http", p("http://ok:1")),
            (&[("REQUEST_METHOD", "GET"), ("HTTPS_PROXY", "http://s:2")], "https", p("http://s:2")),
            (&[("https_proxy", "socks5://h:1080")], "https", p("socks5://h:1080")),
            (&[("ALL_PROXY", "socks5h://u:secret@127.0.0.1:1081")], "redis", p("socks5h://u@127.0.0.1:1081")),
            (&[("all_proxy", "socks5h://127.0.0.1:1080"), ("NO_PROXY", "localhost")], "smtp", p("socks5h://127.0.0.1:1080")),
            (&[("HTTPS_PROXY", "socks4a://127.0.0.1")], "https", p("socks4a://127.0.0.1:1080")),
            (&[("https_proxy", "gopher://h:70")], "https", p("error: invalid proxy URL: scheme \"gopher\" is not supported (use http, https, socks5, socks5h, socks4 or socks4a)")),
        ];
        for (env, scheme, want) in table {
            assert_eq!(
                &run(env, scheme, "example.com", 443),
                want,
                "{env:?} {scheme}"
            );
        }
    }

    #[test]
    fn no_proxy_rules() {
        #[rustfmt::skip]
        let table: &[(&str, &str, u16, bool)] = &[
            ("example.com", "example.com", 443, true),
            ("example.com", "www.example.com", 443, true),
            ("example.com", "WWW.Example.COM.", 443, true),
            ("example.com", "notexample.com", 443, false),
            ("example.com", "example.com.evil", 443, false),
            (".example.com", "example.com", 443, true),
            (".example.com", "a.b.example.com", 443, true),
            ("*.example.com", "a.example.com", 443, true),
            ("example.com:8443", "example.com", 8443, true),
            ("example.com:8443", "example.com", 443, false),
            ("*", "anything", 1, true),
            ("", "example.com", 443, false),
            ("localhost, 127.0.0.1", "127.0.0.1", 6379, true),
            ("localhost,127.0.0.1", "localhost", 6379, true),
            ("127.0.0.1", "127.0.0.2", 1, false),
            ("127.0.0.1:6379", "127.0.0.1", 6379, true),
            ("127.0.0.1:6379", "127.0.0.1", 6380, false),
            ("10.0.0.0/8", "10.1.2.3", 1, true),
            ("10.0.0.0/8", "11.1.2.3", 1, false),
            ("10.0.0.0/8", "ten.example", 1, false),
            ("192.168.1.0/24 172.16.0.0/12", "172.31.255.1", 1, true),
            ("0.0.0.0/0", "8.8.8.8", 1, true),
            ("::1", "[::1]", 1, true),
            ("[::1]", "::1", 1, true),
            ("[::1]:80", "::1", 80, true),
            ("[::1]:80", "::1", 81, false),
            ("fd00::/8", "fd12::1", 1, true),
            ("fd00::/8", "fe80::1", 1, false),
            ("127.0.0.0/8", "::ffff:127.0.0.1", 1, true),
            ("10.0.0.0/33, bad:port, example.org", "example.org", 1, true),
            ("10.0.0.0/33", "10.0.0.1", 1, false),
        ];
        for (list, host, port, want) in table {
            assert_eq!(
                NoProxy::parse(list).matches(host, *port),
                *want,
                "{list:?} {host}:{port}"
            );
        }
    }

    #[test]
    fn no_proxy_wins_over_proxies() {
        let env = [
            ("https_proxy", "http://p:1"),
            ("NO_PROXY", "internal.example"),
            ("no_proxy", "localhost"),
        ];
        // The lower-case list wins, so internal.example is proxied.
        assert_eq!(run(&env, "https", "localhost", 443), None);
        assert_eq!(
            run(&env, "https", "api.internal.example", 443),
            Some("http://p:1".into())
        );
        let upper = [("all_proxy", "http://p:1"), ("NO_PROXY", "localhost")];
        assert_eq!(run(&upper, "redis", "localhost", 6379), None);
    }
}
