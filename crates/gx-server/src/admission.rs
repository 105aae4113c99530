//! Connection admission: the caps on open connections, in total and per client IP.
//!
//! Every accepted TCP connection asks for a [`Permit`] before any TLS or HTTP work; the
//! permit is held until the connection's task ends. A connection past a cap is closed at
//! once, which costs the server one `accept` and one `close`. Memory: one counter per
//! client IP with an open connection (removed when its last connection closes), so the
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
        let ip = ip.to_canonical();
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
}
