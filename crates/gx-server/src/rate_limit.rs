//! Per-key, per-route fixed-window rate limiting (answers 429 with `Retry-After`).
//!
//! Windows are keyed by the API key's id (`key_<ULID>`, not a secret), and `Debug` shows
//! only how many windows are open.
//!
//! Memory: one small entry per (API-key id, route) seen in the current window; entries
//! from finished windows are dropped when the map grows past a bound, so a flood of keys
//! cannot grow it without limit.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::RateLimit;

const PRUNE_AT: usize = 10_000;

/// (API-key id, route class) → (window start in Unix ms, requests counted in it).
type Windows = HashMap<(String, &'static str), (u64, u32)>;

/// The limiter shared by all connections.
#[derive(Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<Windows>,
}

impl core::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let open = self.windows.lock().map(|m| m.len()).ok();
        f.debug_struct("RateLimiter")
            .field("windows", &open)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// Counts a request; `Err(seconds)` says how long until the window frees up.
    pub(crate) fn check(
        &self,
        key: &str,
        route: &'static str,
        limit: RateLimit,
        now_ms: u64,
    ) -> Result<(), u64> {
        let window_ms = u64::try_from(limit.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let Ok(mut map) = self.windows.lock() else {
            // A poisoned limiter must not take the server down: let the request through.
            return Ok(());
        };
        if map.len() >= PRUNE_AT {
            map.retain(|_, (start, _)| now_ms < start.saturating_add(window_ms));
        }
        let slot = map.entry((key.to_owned(), route)).or_insert((now_ms, 0));
        if now_ms >= slot.0.saturating_add(window_ms) {
            *slot = (now_ms, 0);
        }
        if slot.1 >= limit.max {
            let wait_ms = slot.0.saturating_add(window_ms).saturating_sub(now_ms);
            return Err(wait_ms.div_ceil(1000).max(1));
        }
        slot.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_and_resets_per_key_and_route() {
        let rl = RateLimiter::default();
        let lim = RateLimit::per_minute(2);
        assert_eq!(rl.check("k", "create", lim, 0), Ok(()));
        assert_eq!(rl.check("k", "create", lim, 1), Ok(()));
        assert_eq!(rl.check("k", "create", lim, 1_500), Err(59));
        assert_eq!(rl.check("other", "create", lim, 2), Ok(()));
        assert_eq!(rl.check("k", "sync", lim, 2), Ok(()));
        assert_eq!(rl.check("k", "create", lim, 60_000), Ok(()));
        let debug = format!("{rl:?}");
        assert_eq!(debug, "RateLimiter { windows: Some(3), .. }");
    }
}
