//! Connection admission: the caps on open connections, in total and per client IP.
//!
//! Every accepted TCP connection asks for a [`Permit`] before any TLS or HTTP work; the
//! permit is held until the connection's task ends. A connection past a cap is closed at
//! once, which costs the server one `accept` and one `close`. An IPv6 client is counted
//! by its /64 prefix, the smallest block a site is given: one host can pick any of 2^64
//! addresses inside it, so counting full addresses would let it fill the total cap alone.
//! Memory: one counter per client IP (or /64) with an open connection (removed when its last connection closes), so the
//! table never holds more than [`ConnectionLimits::max`] entries.

use core::net::IpAddr;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::ConnectionLimits;

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// [`ConnectionLimits::max`] connections are open.
    Total,
    /// [`ConnectionLimits::per_ip`] connections are open from this client's address.
    PerIp,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::PerIp => "per-ip",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Refusals not yet reported, and when the last warning was logged.
#[derive(Debug, Default)]
struct Reported {
    last: Option<Instant>,
    unreported: u64,
}

/// The admission counters shared by the accept loop and every connection task.
#[derive(Debug)]
pub(crate) struct Admission {
    limits: ConnectionLimits,
    counts: Mutex<Counts>,
    reported: Mutex<Reported>,
}

/// An admitted connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Permit {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Admission {
    pub(crate) fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            counts: Mutex::new(Counts::default()),
            reported: Mutex::new(Reported::default()),
        })
    }

    /// Takes a slot for a connection from `ip`, or says which cap is reached.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let ip = client_block(ip);
        let Ok(mut counts) = self.counts.lock() else {
            // Only a panic while holding the lock poisons it, and nothing in here panics.
            return Err(Refusal::Total);
        };
        if counts.total >= self.limits.max {
            return Err(Refusal::Total);
        }
        let from_ip = counts.per_ip.entry(ip).or_insert(0);
        if *from_ip >= self.limits.per_ip {
            return Err(Refusal::PerIp);
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(Permit {
            admission: Arc::clone(self),
            ip,
        })
    }

    /// Logs a refusal: one warning per second at most, with the count since the last one,
    /// so a flood cannot flood the log too.
    pub(crate) fn report(&self, refusal: Refusal, ip: IpAddr) {
        let Ok(mut reported) = self.reported.lock() else {
            return;
        };
        reported.unreported += 1;
        let now = Instant::now();
        if reported
            .last
            .is_some_and(|t| now.duration_since(t).as_secs() < 1)
        {
            tracing::debug!(cap = refusal.as_str(), %ip, "connection refused");
            return;
        }
        tracing::warn!(
            cap = refusal.as_str(),
            max = self.limits.max,
            per_ip = self.limits.per_ip,
            %ip,
            refused = reported.unreported,
            "connection limit reached; refusing new connections"
        );
        reported.last = Some(now);
        reported.unreported = 0;
    }

    fn release(&self, ip: IpAddr) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.per_ip.remove(&ip);
            }
        }
    }

    /// Open connections now (for tests).
    #[cfg(test)]
    fn open(&self) -> (usize, usize) {
        let c = self.counts.lock().unwrap();
        (c.total, c.per_ip.len())
    }
}

/// What the per-IP cap counts: an IPv4 address (IPv4-mapped IPv6 included), or an IPv6
/// address's /64 prefix.
fn client_block(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admission.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_total_and_per_ip_and_frees_on_drop() {
        let a = Admission::new(ConnectionLimits { max: 3, per_ip: 2 });
        let (x, y, z): (IpAddr, IpAddr, IpAddr) = (
            "127.0.0.1".parse().unwrap(),
            "127.0.0.2".parse().unwrap(),
            "::ffff:127.0.0.1".parse().unwrap(),
        );
        let p1 = a.admit(x).unwrap();
        let _p2 = a.admit(x).unwrap();
        // The IPv4-mapped form is the same client.
        assert_eq!(a.admit(z).unwrap_err(), Refusal::PerIp);
        let _p3 = a.admit(y).unwrap();
        assert_eq!(a.admit(y).unwrap_err(), Refusal::Total);
        drop(p1);
        let _p4 = a.admit(y).unwrap();
        assert_eq!(a.open(), (3, 2));
        drop((_p2, _p3, _p4));
        assert_eq!(a.open(), (0, 0));
        a.report(Refusal::Total, x);
        a.report(Refusal::PerIp, x);
        assert_eq!(a.reported.lock().unwrap().unreported, 1);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = Admission::new(ConnectionLimits {
            max: 100,
            per_ip: 2,
        });
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let _p1 = a.admit(ip("2001:db8:1:2::1")).unwrap();
        let _p2 = a.admit(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")).unwrap();
        // A third address in the same /64 is the same client.
        assert_eq!(
            a.admit(ip("2001:db8:1:2:abcd::9")).unwrap_err(),
            Refusal::PerIp
        );
        // The next /64 is another client.
        let _p3 = a.admit(ip("2001:db8:1:3::1")).unwrap();
        assert_eq!(a.open(), (3, 2));
    }
}
