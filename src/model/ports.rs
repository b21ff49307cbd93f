//! Ports in docker's syntax, parsed once: `-p`/`--publish` and `ports:` entries into
//! [`PublishedPort`] bindings, `--expose` and `expose:` entries into `port/protocol` names.
//! `validate` parses them (a bad port is an error at its position); `exec` and the engine map
//! the parsed values.

use crate::model::value::ValueError;
use std::fmt;

/// One published port binding, in the engine's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    /// Container port with protocol (`80/tcp`).
    pub container_port: String,
    /// Host address (empty: all addresses).
    pub host_ip: String,
    /// Host port or port range (empty: any free port).
    pub host_port: String,
}

/// Parses docker's `-p` syntax: `80`, `8080:80`, `127.0.0.1:8080:80`, `8080:80/udp`,
/// `127.0.0.1::80`, `[::1]:8080:80`, and ranges (`8000-8001:80-81`, `8000-8010:80`).
pub fn parse_publish(spec: &str) -> Result<Vec<PublishedPort>, ValueError> {
    let invalid = |why: &str| ValueError(format!("invalid published port `{spec}`: {why}"));
    let (rest, proto) = split_protocol(spec).map_err(|why| invalid(&why))?;
    let (host_ip, host_port, container) = if let Some(after) = rest.strip_prefix('[') {
        let (ip, tail) = after
            .split_once("]:")
            .ok_or_else(|| invalid("expected `[address]:host-port:container-port`"))?;
        let (host_port, container) = tail
            .split_once(':')
            .ok_or_else(|| invalid("expected `[address]:host-port:container-port`"))?;
        (ip.to_string(), host_port, container)
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.as_slice() {
            [container] => (String::new(), "", *container),
            [host_port, container] => (String::new(), *host_port, *container),
            [ip, host_port, container] => (ip.to_string(), *host_port, *container),
            _ => return Err(invalid("too many `:`")),
        }
    };
    if container.is_empty() {
        return Err(invalid("missing container port"));
    }
    let (c_start, c_end) = parse_port_range(container).map_err(|why| invalid(&why))?;
    let count = c_end - c_start + 1;
    let host = if host_port.is_empty() {
        None
    } else {
        Some(parse_port_range(host_port).map_err(|why| invalid(&why))?)
    };
    let mut out = Vec::new();
    match host {
        None => {
            for port in c_start..=c_end {
                out.push(PublishedPort {
                    container_port: format!("{port}/{proto}"),
                    host_ip: host_ip.clone(),
                    host_port: String::new(),
                });
            }
        }
        Some((h_start, h_end)) if count == 1 => out.push(PublishedPort {
            container_port: format!("{c_start}/{proto}"),
            host_ip,
            host_port: if h_start == h_end {
                h_start.to_string()
            } else {
                format!("{h_start}-{h_end}")
            },
        }),
        Some((h_start, h_end)) if h_end - h_start + 1 == count => {
            for offset in 0..count {
                out.push(PublishedPort {
                    container_port: format!("{}/{proto}", c_start + offset),
                    host_ip: host_ip.clone(),
                    host_port: (h_start + offset).to_string(),
                });
            }
        }
        Some(_) => return Err(invalid("host and container port ranges differ in length")),
    }
    Ok(out)
}

/// Parses an exposed port (`80`, `80/udp`, `8000-8001`) into `port/proto` entries.
pub fn parse_expose(spec: &str) -> Result<Vec<String>, ValueError> {
    let invalid = |why: &str| ValueError(format!("invalid exposed port `{spec}`: {why}"));
    let (port, proto) = split_protocol(spec).map_err(|why| invalid(&why))?;
    let (start, end) = parse_port_range(port).map_err(|why| invalid(&why))?;
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

fn split_protocol(spec: &str) -> Result<(&str, &str), String> {
    match spec.rsplit_once('/') {
        Some((rest, proto)) => match proto {
            "tcp" | "udp" | "sctp" => Ok((rest, proto)),
            other => Err(format!("unknown protocol `{other}` (use tcp, udp or sctp)")),
        },
        None => Ok((spec, "tcp")),
    }
}

fn parse_port_range(text: &str) -> Result<(u32, u32), String> {
    let port = |p: &str| -> Result<u32, String> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(u32::from(n)),
            _ => Err(format!("`{p}` is not a port number (1-65535)")),
        }
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if a > b {
                return Err(format!("`{text}` is not a valid port range"));
            }
            Ok((a, b))
        }
        None => {
            let p = port(text)?;
            Ok((p, p))
        }
    }
}

impl fmt::Display for PublishedPort {
    /// The binding in `-p` syntax (`127.0.0.1:8080:80/tcp`, `[::1]:8080:80/tcp`, `80/tcp`):
    /// what acb's shell line passes for it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = if self.host_ip.contains(':') {
            format!("[{}]", self.host_ip)
        } else {
            self.host_ip.clone()
        };
        match (ip.is_empty(), self.host_port.is_empty()) {
            (true, true) => write!(f, "{}", self.container_port),
            (true, false) => write!(f, "{}:{}", self.host_port, self.container_port),
            (false, _) => write!(f, "{ip}:{}:{}", self.host_port, self.container_port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(container: &str, ip: &str, host: &str) -> PublishedPort {
        PublishedPort {
            container_port: container.to_string(),
            host_ip: ip.to_string(),
            host_port: host.to_string(),
        }
    }

    #[test]
    fn publish_forms() {
        assert_eq!(
            parse_publish("80").unwrap(),
            vec![published("80/tcp", "", "")]
        );
        assert_eq!(
            parse_publish("8080:80").unwrap(),
            vec![published("80/tcp", "", "8080")]
        );
        assert_eq!(
            parse_publish("127.0.0.1:8080:80").unwrap(),
            vec![published("80/tcp", "127.0.0.1", "8080")]
        );
        assert_eq!(
            parse_publish("8080:80/udp").unwrap(),
            vec![published("80/udp", "", "8080")]
        );
        assert_eq!(
            parse_publish("127.0.0.1::80").unwrap(),
            vec![published("80/tcp", "127.0.0.1", "")]
        );
        assert_eq!(
            parse_publish("[::1]:8080:80/tcp").unwrap(),
            vec![published("80/tcp", "::1", "8080")]
        );
        assert_eq!(
            parse_publish("8000-8001:80-81").unwrap(),
            vec![
                published("80/tcp", "", "8000"),
                published("81/tcp", "", "8001")
            ]
        );
        assert_eq!(
            parse_publish("8000-8010:80").unwrap(),
            vec![published("80/tcp", "", "8000-8010")]
        );
    }

    #[test]
    fn publish_errors() {
        for bad in [
            "",
            "x",
            "80/foo",
            "1:2:3:4",
            "0",
            "70000",
            "8080:",
            "9-8",
            "8000-8002:80-81",
            "[::1:80",
        ] {
            let err = parse_publish(bad).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn expose_forms() {
        assert_eq!(parse_expose("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(parse_expose("53/udp").unwrap(), vec!["53/udp"]);
        assert_eq!(parse_expose("80-81").unwrap(), vec!["80/tcp", "81/tcp"]);
        assert!(parse_expose("http").is_err());
    }

    #[test]
    fn bindings_print_in_publish_syntax_and_read_back_the_same() {
        for spec in [
            "80",
            "8080:80",
            "127.0.0.1:8080:80",
            "[::1]:8080:80/udp",
            "127.0.0.1::80",
        ] {
            for p in parse_publish(spec).unwrap() {
                assert_eq!(
                    parse_publish(&p.to_string()).unwrap(),
                    std::slice::from_ref(&p),
                    "{spec}"
                );
            }
        }
    }
}
