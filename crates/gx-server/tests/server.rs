//! Black-box tests of gx-server over HTTPS on a loopback port, the server started in-process,
//! on the SQLite backend (`server_pg` runs the same tests on PostgreSQL).

#[path = "server/client.rs"]
mod client;
#[path = "server/harness.rs"]
mod harness;
#[path = "server/pg.rs"]
mod pg;

/// The backend every test of this binary runs on.
const BACKEND: harness::Backend = harness::Backend::Sqlite;

#[path = "server/bin.rs"]
mod bin;
#[path = "server/endpoints.rs"]
mod endpoints;
#[path = "server/hardening.rs"]
mod hardening;
#[path = "server/interop.rs"]
mod interop;
#[path = "server/isolation.rs"]
mod isolation;
#[path = "server/lifecycle.rs"]
mod lifecycle;
#[path = "server/races.rs"]
mod races;
#[path = "server/restart.rs"]
mod restart;
#[path = "server/sync.rs"]
mod sync;
#[path = "server/transport.rs"]
mod transport;
