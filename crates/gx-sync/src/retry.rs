//! When and how long to wait before trying a failed request again: exponential backoff with
//! jitter, the server's `Retry-After`, an attempt limit (a short one for an unreachable
//! server) and the caller's deadline; and [`RetryNotice`], what a caller is told before each
//! wait so a person can see that the client is retrying.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;
use std::time::SystemTime;

use rand::Rng;

use crate::ClientError;

/// The retry policy: which failures are tried again, and how long to wait in between.
///
/// Transient failures ([`ClientError::is_transient`]: network errors, timeouts, 429, 5xx) are
/// retried up to `max_attempts` attempts in all, waiting `initial_backoff * 2^n` (capped at
/// `max_backoff`) with "equal jitter" (a uniform pick in the upper half) between attempts, or
/// longer when the server's `Retry-After` asks for it (capped at `max_retry_after`). A caller's
/// deadline, where a call takes one, ends retrying early with
/// [`ClientError::DeadlineExceeded`] rather than sleeping past it.
///
/// A server that cannot be reached at all ([`ConnectCause::is_unreachable`]: connection
/// refused, a name that does not resolve, no route) rarely comes back within seconds, so such
/// failures get a short budget of their own: `max_unreachable_attempts` attempts in all,
/// default 3, which with the default backoff is two waits of 0.1–0.2 s and 0.2–0.4 s, under a
/// second in all. A connect timeout or a reset keeps the full budget.
///
/// [`ConnectCause::is_unreachable`]: crate::ConnectCause::is_unreachable
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    max_unreachable_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            max_unreachable_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure is returned at once.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// At most `attempts` attempts per request in all (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// At most `attempts` attempts in all (at least 1, at most
    /// [`max_attempts`](Self::max_attempts)) when the server is unreachable: refused, not
    /// resolvable, no route. Default 3.
    #[must_use]
    pub fn with_max_unreachable_attempts(mut self, attempts: u32) -> Self {
        self.max_unreachable_attempts = attempts.max(1);
        self
    }

    /// The first wait and the cap of the exponential backoff.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The longest `Retry-After` that is honoured; a longer one is cut to this.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Attempts allowed per request, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Attempts allowed per request when the server is unreachable, the first included.
    pub fn max_unreachable_attempts(&self) -> u32 {
        self.max_unreachable_attempts.min(self.max_attempts)
    }

    /// The attempts allowed for a request whose last attempt failed with `error`.
    pub fn attempts_for(&self, error: &ClientError) -> u32 {
        if error
            .connect_cause()
            .is_some_and(crate::ConnectCause::is_unreachable)
        {
            self.max_unreachable_attempts()
        } else {
            self.max_attempts
        }
    }

    /// The upper bound of the wait before retry number `retry` (0 = the first retry):
    /// `initial_backoff * 2^retry`, capped at `max_backoff`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The wait before retry number `retry` after `error`: a random pick in the upper half of
    /// [`backoff_ceiling`](Self::backoff_ceiling), or the server's `Retry-After` (capped) when
    /// that is longer.
    pub fn delay(&self, retry: u32, error: &ClientError) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
        let jitter = Duration::from_micros(rand::rng().random_range(0..=spread));
        let backoff = half + jitter;
        let asked = error
            .api()
            .and_then(|api| api.retry_after())
            .map(|d| d.min(self.max_retry_after))
            .unwrap_or_default();
        backoff.max(asked)
    }
}

/// What a client is about to do after a failed attempt: wait `delay`, then try again. Handed
/// to the observer set with
/// [`ClientOptions::with_retry_observer`](crate::ClientOptions::with_retry_observer) before
/// each wait, so a command line can say "retrying" instead of hanging silently.
#[non_exhaustive]
#[derive(Debug)]
pub struct RetryNotice<'a> {
    /// The request's URL (never holds a credential: the API key travels in a header).
    pub url: &'a str,
    /// The attempt that failed, counting from 1.
    pub attempt: u32,
    /// The attempts allowed for this kind of failure ([`RetryPolicy::attempts_for`]).
    pub max_attempts: u32,
    /// The wait before the next attempt.
    pub delay: Duration,
    /// Why the attempt failed.
    pub error: &'a ClientError,
}

/// A caller's callback for [`RetryNotice`]s; `Debug` shows only that one is set.
#[derive(Clone)]
pub(crate) struct RetryObserver(pub(crate) Arc<dyn Fn(&RetryNotice<'_>) + Send + Sync>);

impl fmt::Debug for RetryObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetryObserver")
    }
}

/// Reads a `Retry-After` header value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means "now"; anything unreadable is ignored.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;

    #[test]
    fn backoff_doubles_and_caps() {
        let p =
            RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(800));
        assert_eq!(p.backoff_ceiling(4), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(200), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_secs(10));
        let err = ClientError::Timeout;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = p.delay(2, &err);
            assert!(
                d >= Duration::from_millis(200) && d <= Duration::from_millis(400),
                "{d:?}"
            );
            seen.insert(d);
        }
        assert!(seen.len() > 10, "jitter should vary the delay");
    }

    #[test]
    fn retry_after_wins_when_longer_and_is_capped() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(10), Duration::from_millis(20))
            .with_max_retry_after(Duration::from_secs(5));
        let e = |secs| {
            ClientError::Api(ApiError::from_response(
                429,
                Some(Duration::from_secs(secs)),
                b"{}",
            ))
        };
        assert_eq!(p.delay(0, &e(2)), Duration::from_secs(2));
        assert_eq!(p.delay(0, &e(60)), Duration::from_secs(5));
        assert!(p.delay(0, &e(0)) <= Duration::from_millis(10));
    }

    #[test]
    fn parses_both_retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn an_unreachable_server_gets_the_short_budget() {
        let p = RetryPolicy::default();
        let refused = ClientError::Connect(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        let timed_out = ClientError::Connect(Box::new(crate::error::ConnectTimedOut));
        assert_eq!(p.attempts_for(&refused), 3);
        assert_eq!(p.attempts_for(&timed_out), 8);
        assert_eq!(p.attempts_for(&ClientError::Timeout), 8);
        // The short budget never exceeds the whole budget, and is at least one attempt.
        assert_eq!(RetryPolicy::never().attempts_for(&refused), 1);
        assert_eq!(
            RetryPolicy::default()
                .with_max_unreachable_attempts(0)
                .attempts_for(&refused),
            1
        );
        // With the default backoff the two waits add up to under a second.
        assert!(p.backoff_ceiling(0) + p.backoff_ceiling(1) < Duration::from_secs(1));
    }

    #[test]
    fn never_means_one_attempt() {
        assert_eq!(RetryPolicy::never().max_attempts(), 1);
        assert_eq!(
            RetryPolicy::default().with_max_attempts(0).max_attempts(),
            1
        );
    }
}
