//! The server's black-box tests again, on PostgreSQL (a throwaway cluster, a fresh
//! database per test; see `server/pg.rs`), plus what only a shared database can show:
//! several replicas on one database.

#[path = "server/client.rs"]
mod client;
#[path = "server/harness.rs"]
mod harness;
#[path = "server/pg.rs"]
mod pg;

/// The backend every test of this binary runs on.
const BACKEND: harness::Backend = harness::Backend::Postgres;

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
#[path = "server/migrations.rs"]
mod migrations;
#[path = "server/races.rs"]
mod races;
#[path = "server/replicas.rs"]
mod replicas;
#[path = "server/restart.rs"]
mod restart;
#[path = "server/sync.rs"]
mod sync;
