//! The gx-server abuse suite (issue #10, part 2): the real server on a loopback TLS port
//! fed oversized and malformed bodies, slow clients, floods past the rate limits and
//! thousands of connections. Every bad request must get its documented status and code,
//! the server must stay up with bounded memory, and honest clients must still be served.
//!
//! `GX_ABUSE_HEAVY=1` runs larger floods and more connections.

#[path = "abuse/harness.rs"]
mod harness;
#[path = "abuse/wire.rs"]
mod wire;

#[path = "abuse/bodies.rs"]
mod bodies;
#[path = "abuse/connections.rs"]
mod connections;
#[path = "abuse/floods.rs"]
mod floods;
#[path = "abuse/json.rs"]
mod json;
#[path = "abuse/limits.rs"]
mod limits;
#[path = "abuse/slow.rs"]
mod slow;
