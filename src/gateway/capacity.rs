//! Holding many connections open at once, and the limits that can stop it: the open-files
//! limit (EMFILE) and the local port range (EADDRNOTAVAIL).

use super::load::RequestTemplate;
use super::{GatewayError, Running};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The limits of this process that bound its connections.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// RLIMIT_NOFILE, soft.
    pub nofile: Option<u64>,
    /// `net.ipv4.ip_local_port_range` of this network namespace.
    pub ports: Option<(u32, u32)>,
}

impl Limits {
    pub fn read() -> Limits {
        use nix::sys::resource::{Resource, getrlimit};
        let nofile = getrlimit(Resource::RLIMIT_NOFILE)
            .ok()
            .map(|(soft, _)| soft);
        let ports = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|s| {
                let mut it = s.split_whitespace().map(str::parse::<u32>);
                match (it.next(), it.next()) {
                    (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => Some((lo, hi)),
                    _ => None,
                }
            });
        Limits { nofile, ports }
    }
}

/// Raises this process's open-files soft limit to its hard limit, as the JVM does at start-up
/// (`-XX:+MaxFDLimit`, on by default), so the checks see what API-M would get. Returns the
/// (old, new) soft limits when it changed anything.
pub fn raise_open_files() -> Option<(u64, u64)> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft >= hard {
        return None;
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).ok()?;
    Some((soft, hard))
}

/// How far holding connections got.
#[derive(Debug)]
pub struct Held {
    pub opened: usize,
    /// The status each connection's one request got, counted.
    pub statuses: std::collections::BTreeMap<u16, usize>,
    /// Connections whose request got no answer within 10 s.
    pub unanswered: usize,
    /// What stopped the opening, in words.
    pub failure: Option<String>,
}

impl Held {
    pub fn served(&self) -> usize {
        self.statuses.get(&200).copied().unwrap_or(0)
    }
}

/// Opens up to `wanted` connections to the gateway, keeps them all open, then sends one
/// request on each at once. Bounded: 5 s per connect, 10 s for the requests.
pub fn hold_connections(
    running: &Running,
    wanted: usize,
    template: &RequestTemplate,
) -> Result<Held, GatewayError> {
    let addr = running.addr;
    let request = template.serialize(&addr.to_string());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(GatewayError::Runtime)?;
    let held = rt.block_on(async move {
        let mut conns = Vec::with_capacity(wanted);
        let mut failure = None;
        for _ in 0..wanted {
            match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => conns.push(s),
                Ok(Err(e)) => {
                    failure = Some(describe(&e));
                    break;
                }
                Err(_) => {
                    failure = Some("a connect took over 5 s (listen backlog full)".into());
                    break;
                }
            }
        }
        let opened = conns.len();
        let mut set = tokio::task::JoinSet::new();
        for mut conn in conns {
            let request = request.clone();
            set.spawn(async move {
                let exchange = async {
                    conn.write_all(&request).await?;
                    let mut head = [0u8; 12];
                    conn.read_exact(&mut head).await?;
                    // `HTTP/1.1 200`: the status is the last three bytes.
                    let status = std::str::from_utf8(&head[9..12])
                        .ok()
                        .and_then(|s| s.parse::<u16>().ok());
                    Ok::<Option<u16>, io::Error>(status)
                };
                match tokio::time::timeout(Duration::from_secs(10), exchange).await {
                    Ok(Ok(status)) => status,
                    _ => None,
                }
            });
        }
        let mut statuses = std::collections::BTreeMap::new();
        let mut unanswered = 0;
        while let Some(answer) = set.join_next().await {
            match answer {
                Ok(Some(status)) => *statuses.entry(status).or_default() += 1,
                _ => unanswered += 1,
            }
        }
        Held {
            opened,
            statuses,
            unanswered,
            failure,
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(held)
}

fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) if code == nix::libc::EMFILE || code == nix::libc::ENFILE => {
            format!("the open-files limit ({e})")
        }
        Some(code) if code == nix::libc::EADDRNOTAVAIL => {
            format!("the local port range ({e})")
        }
        _ => format!("connect failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_limit_that_cut() {
        let emfile = io::Error::from_raw_os_error(nix::libc::EMFILE);
        assert!(describe(&emfile).starts_with("the open-files limit"));
        let ports = io::Error::from_raw_os_error(nix::libc::EADDRNOTAVAIL);
        assert!(describe(&ports).starts_with("the local port range"));
        let refused = io::Error::from_raw_os_error(nix::libc::ECONNREFUSED);
        assert!(describe(&refused).starts_with("connect failed"));
    }
}
