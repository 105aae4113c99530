//! Reading request bodies into memory: the 1 MiB cap per body, the deadline, and a
//! server-wide budget of body bytes held at once.
//!
//! Memory: a body is copied frame by frame into one buffer that belongs to the request
//! (reserved from `Content-Length` when there is one, else grown as frames come). Before a
//! frame is copied, its size is taken from the shared [`BodyBudget`]; the share is given
//! back when the request's [`Body`] is dropped, after the handler has answered. A frame
//! that does not fit in what is left answers 503 `SERVER_BUSY` at once, so many clients
//! sending large bodies together cannot make the server hold more than the budget (plus
//! the frame in hand and the buffers' growth slack).

use core::time::Duration;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::{Bytes, Incoming};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::api::ApiError;

/// Request bodies above this are refused with 413.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The limits every body read on one server shares.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    /// Bytes of bodies that may be in memory at once.
    bytes: Arc<Semaphore>,
    /// How long one body may take to arrive.
    deadline: Duration,
}

/// A body read into memory, holding its share of the budget until dropped.
#[derive(Debug)]
pub(crate) struct Body {
    pub(crate) bytes: Bytes,
    _held: Option<OwnedSemaphorePermit>,
}

impl Body {
    /// An empty body (routes that take none).
    pub(crate) fn empty() -> Self {
        Self {
            bytes: Bytes::new(),
            _held: None,
        }
    }
}

fn busy() -> ApiError {
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVER_BUSY",
        "too many request bodies in flight, retry shortly",
    );
    e.retry_after = Some(1);
    e
}

impl BodyBudget {
    /// At most `bytes` of bodies in memory at once (at least one full body), each
    /// arriving within `deadline`.
    pub(crate) fn new(bytes: usize, deadline: Duration) -> Arc<Self> {
        let bytes = bytes.clamp(MAX_BODY_BYTES, Semaphore::MAX_PERMITS);
        Arc::new(Self {
            bytes: Arc::new(Semaphore::new(bytes)),
            deadline,
        })
    }

    fn take(&self, n: usize, held: &mut Option<OwnedSemaphorePermit>) -> Result<(), ApiError> {
        let n = u32::try_from(n).map_err(|_| ApiError::too_large("request body exceeds 1 MiB"))?;
        let permit = Arc::clone(&self.bytes)
            .try_acquire_many_owned(n)
            .map_err(|_| busy())?;
        match held {
            Some(h) => h.merge(permit),
            None => *held = Some(permit),
        }
        Ok(())
    }

    /// Reads a whole body: at most [`MAX_BODY_BYTES`] (413), within the deadline (408),
    /// within the budget (503). `declared` is the request's `Content-Length`, if any.
    pub(crate) async fn read(
        &self,
        body: Incoming,
        declared: Option<u64>,
    ) -> Result<Body, ApiError> {
        let too_large = || ApiError::too_large("request body exceeds 1 MiB");
        let mut held = None;
        let mut buf = Vec::new();
        if let Some(n) = declared {
            let n = usize::try_from(n).map_err(|_| too_large())?;
            if n > MAX_BODY_BYTES {
                return Err(too_large());
            }
            // Address space only: pages are not resident until bytes arrive, and the
            // budget is taken for bytes that arrived, so announcing 1 MiB and sending
            // nothing holds nothing.
            buf.reserve_exact(n);
        }
        let read = async {
            let mut body = body;
            while let Some(frame) = body.frame().await {
                let frame =
                    frame.map_err(|_| ApiError::bad_request("could not read the request body"))?;
                let Ok(data) = frame.into_data() else {
                    continue; // trailers
                };
                if buf.len() + data.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                self.take(data.len(), &mut held)?;
                buf.extend_from_slice(&data);
            }
            Ok(())
        };
        match tokio::time::timeout(self.deadline, read).await {
            Ok(Ok(())) => Ok(Body {
                bytes: Bytes::from(buf),
                _held: held,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "the request body did not arrive in time",
            )),
        }
    }

    /// Bytes of the budget free now (for tests).
    #[cfg(test)]
    fn free(&self) -> usize {
        self.bytes.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_merge_and_return() {
        let b = BodyBudget::new(2 * MAX_BODY_BYTES, Duration::from_secs(1));
        let mut held = None;
        b.take(MAX_BODY_BYTES, &mut held).unwrap();
        b.take(MAX_BODY_BYTES - 10, &mut held).unwrap();
        assert_eq!(b.free(), 10);
        let mut other = None;
        assert_eq!(b.take(11, &mut other).unwrap_err().code, "SERVER_BUSY");
        drop(held);
        assert_eq!(b.free(), 2 * MAX_BODY_BYTES);
        // The budget is never below one full body.
        assert_eq!(BodyBudget::new(1, Duration::ZERO).free(), MAX_BODY_BYTES);
    }
}
