//! `init` on a PostgreSQL database of an older schema applies the missing migrations once,
//! keeps what is stored, and leaves a database the running servers keep serving.

use hyper::StatusCode;
use serde_json::Value;

use crate::harness::{ChainWriter, start, sync_body};
use gx_server::{Database, InitOptions, ServerError, StoreError, init_db};

/// Runs `sql` on the test's database and returns the first column of each row as text.
async fn sql(db: &Database, sql: &str) -> Vec<String> {
    let Database::Postgres(url) = db else {
        panic!("a PostgreSQL test on {}", db.describe());
    };
    let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut out = Vec::new();
    for message in client.simple_query(sql).await.unwrap() {
        if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
            out.push(row.get(0).unwrap_or_default().to_owned());
        }
    }
    out
}

#[tokio::test]
async fn init_brings_a_v2_database_to_v3_once_and_keeps_its_chains() {
    let t = start().await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap().to_owned();
    let mut w = ChainWriter::for_bundle(&bundle);
    let first: Vec<Value> = w.batch(30);
    let r = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(&id, &first))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Back to what a v2 gx-server left: the per-entry foreign key, no version 3.
    sql(
        &t.db,
        "ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_bundle_id_fkey
             FOREIGN KEY (bundle_id) REFERENCES bundles(id);
         ALTER TABLE bundles RESET (fillfactor);
         DELETE FROM gx_schema_migrations WHERE version = 3",
    )
    .await;
    assert!(matches!(t.db.open(), Err(StoreError::NotInitialised)));

    // init migrates, then says the database was already initialised; twice is the same.
    for _ in 0..2 {
        let again = init_db(&t.db, InitOptions::default());
        assert!(
            matches!(again, Err(ServerError::AlreadyInitialised(_))),
            "{again:?}"
        );
    }
    assert_eq!(
        sql(
            &t.db,
            "SELECT version FROM gx_schema_migrations ORDER BY version"
        )
        .await,
        ["1", "2", "3"]
    );
    assert_eq!(
        sql(
            &t.db,
            "SELECT count(*) FROM pg_constraint WHERE conname = 'audit_entries_bundle_id_fkey'"
        )
        .await,
        ["0"]
    );
    assert_eq!(
        sql(&t.db, "SELECT count(*) FROM audit_entries").await,
        ["30"]
    );
    assert!(t.db.open().is_ok());

    // The chain goes on where it stopped, through the server that ran meanwhile.
    let next: Vec<Value> = w.batch(30);
    let r = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(&id, &next))
        .await;
    assert_eq!(
        (r.status, r.body["accepted"].clone()),
        (StatusCode::OK, 30.into())
    );
    let page = t
        .client
        .get(&format!("/v1/consent-bundles/{id}/audit"))
        .await;
    let seqs: Vec<u64> = page.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=60).collect::<Vec<_>>());
}
