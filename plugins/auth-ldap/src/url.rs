//! The `url` setting: `ldap://host[:port]` or `ldaps://host[:port]`.

/// The LDAP server to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// Host name or IP address, without brackets for IPv6.
    pub host: String,
    /// TCP port: 389 for `ldap` and 636 for `ldaps` unless the URL names one.
    pub port: u16,
    /// Whether the connection starts with TLS (`ldaps`).
    pub ldaps: bool,
}

impl ServerUrl {
    /// Parses `ldap://host[:port][/]` or `ldaps://host[:port][/]`.
    ///
    /// # Errors
    ///
    /// A message saying what is wrong with the URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (ldaps, rest) = if let Some(rest) = url.strip_prefix("ldaps://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("ldap://") {
            (false, rest)
        } else {
            return Err("the scheme must be ldap:// or ldaps://".to_owned());
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '@']) {
            return Err("the URL must contain only a host and a port".to_owned());
        }

        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err("the host is missing".to_owned());
        }
        let port = match port {
            None => {
                if ldaps {
                    636
                } else {
                    389
                }
            }
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|&port| port != 0)
                .ok_or_else(|| format!("invalid port \"{port}\""))?,
        };

        Ok(Self {
            host: host.to_owned(),
            port,
            ldaps,
        })
    }
}

/// Splits `host:port`, `host`, `[v6]:port` or `[v6]`.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err("missing ']' after the IPv6 address".to_owned());
        };
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err("expected ':' after the IPv6 address".to_owned()),
            },
        };
    }

    match authority.split_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldap_url_with_port_parsed() {
        let url = ServerUrl::parse("ldap://127.0.0.1:3890").expect("valid");
        assert_eq!(url.host, "127.0.0.1");
        assert_eq!(url.port, 3890);
        assert!(!url.ldaps);
    }

    #[test]
    fn default_ports_used() {
        assert_eq!(
            ServerUrl::parse("ldap://localhost/").expect("valid").port,
            389
        );
        let url = ServerUrl::parse("ldaps://localhost").expect("valid");
        assert_eq!(url.port, 636);
        assert!(url.ldaps);
    }

    #[test]
    fn ipv6_parsed() {
        let url = ServerUrl::parse("ldaps://[::1]:6360").expect("valid");
        assert_eq!(url.host, "::1");
        assert_eq!(url.port, 6360);
    }

    #[test]
    fn invalid_urls_rejected() {
        for url in [
            "http://127.0.0.1",
            "ldap://",
            "ldap://:389",
            "ldap://host:0",
            "ldap://host:99999",
            "ldap://host:port",
            "ldap://host/dc=org",
            "ldap://user@host",
            "ldap://[::1",
        ] {
            assert!(ServerUrl::parse(url).is_err(), "url {url}");
        }
    }
}
