//! A refresh that fails at every step of its sequence (a full disk: `ENOSPC` injected at
//! each write of the journal, the bundle, the floor and the cursor; or a crash between the
//! server's answer and the store) always leaves a device that recovers: after a restart
//! (and, when the refresh is still pending, one more refresh) its backlog syncs, the
//! server holds exactly its entries, and its log verifies end to end.

use std::path::{Path, PathBuf};

use gx_core::AwsLcRs;
use gx_storage::fault_injection::{Fault, FaultPoint};
use gx_storage::{
    AuditLogConfig, BundleFile, BundleKey, DeviceOptions, DeviceSession, FsyncPolicy,
};
use gx_sync::{GrantexClient, SyncOptions};

use super::harness::{self, Env};

const ENOSPC: i32 = 28;

fn key() -> BundleKey {
    BundleKey::from_hex(&"5a".repeat(32)).unwrap()
}

fn open(dir: &Path) -> DeviceSession<'static, AwsLcRs> {
    let options = DeviceOptions::new().with_log(
        dir.join("audit.jsonl"),
        AuditLogConfig::new(FsyncPolicy::EveryEntry),
    );
    DeviceSession::open(dir.join("b.gx"), key(), options).unwrap()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Where a step's fault strikes.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// An injected `ENOSPC` at `point` of the file with this suffix (`""`: the bundle).
    Disk(&'static str, FaultPoint),
    /// The process dies after the server answered, before the answer is stored.
    CrashAfterAnswer,
}

const ATOMIC_POINTS: [FaultPoint; 5] = [
    FaultPoint::TempCreate,
    FaultPoint::TempWrite,
    FaultPoint::TempSync,
    FaultPoint::Rename,
    FaultPoint::DirSync,
];

fn steps() -> Vec<Step> {
    let mut steps = Vec::new();
    for suffix in [".refresh", "", ".floor"] {
        for point in ATOMIC_POINTS {
            steps.push(Step::Disk(suffix, point));
        }
    }
    steps.push(Step::Disk("/../audit.jsonl.synced", FaultPoint::Rename));
    steps.push(Step::CrashAfterAnswer);
    steps
}

async fn append_and_sync(client: &GrantexClient, device: &DeviceSession<'_, AwsLcRs>, n: usize) {
    for i in 0..n {
        device
            .append(
                "tool:read_contacts",
                "success",
                Some(&format!(r#"{{"i":{i}}}"#)),
                None,
            )
            .unwrap();
    }
    let id = device.bundle().bundle_id().to_owned();
    client
        .sync(device.log().unwrap(), &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_failing_at_any_step_always_recovers() {
    let env = Env::start().await;
    let client = env.client();
    for (n, step) in steps().into_iter().enumerate() {
        let dir = env.path(&format!("case{n}"));
        std::fs::create_dir(&dir).unwrap();
        let bundle = env.bundle(&client).await;
        let id = bundle.bundle_id().to_owned();
        BundleFile::new(dir.join("b.gx"))
            .store(&bundle, &key())
            .unwrap();
        drop(bundle);
        {
            let device = open(&dir);
            append_and_sync(&client, &device, 4).await;
            device
                .append("tool:read_contacts", "success", None, None)
                .unwrap();
            match step {
                Step::Disk(suffix, point) => {
                    let target = with_suffix(&dir.join("b.gx"), suffix);
                    let target = if suffix.starts_with('/') {
                        dir.join("audit.jsonl.synced")
                    } else {
                        target
                    };
                    let guard = Fault::new(point, target, ENOSPC).times(u32::MAX).arm();
                    let _ = client
                        .refresh_device(&device, &SyncOptions::default())
                        .await;
                    drop(guard);
                    // Whatever happened, nothing may have been signed with a key the
                    // server dropped: appending now either works or is refused as pending.
                    if let Err(e) = device.append("tool:read_contacts", "success", None, None) {
                        assert_eq!(e.code(), "REFRESH_PENDING", "{step:?}: {e}");
                    }
                }
                Step::CrashAfterAnswer => {
                    let log = device.log().unwrap();
                    client
                        .sync(log, &id, &SyncOptions::default(), |_| {})
                        .await
                        .unwrap();
                    let _hold = log.hold_appends();
                    let ticket = device.begin_refresh().unwrap();
                    client.request_refresh(&id).await.unwrap();
                    drop(ticket);
                }
            }
            // The process ends here (the session is dropped without any cleanup step).
        }
        // Restart: recover, act, sync.
        let device = open(&dir);
        if device.refresh_pending() {
            assert!(
                device
                    .append("tool:read_contacts", "success", None, None)
                    .is_err(),
                "{step:?}: an append while pending"
            );
            client
                .refresh_device(&device, &SyncOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{step:?}: the resumed refresh failed: {e}"));
        }
        append_and_sync(&client, &device, 3).await;
        let log = device.log().unwrap();
        assert_eq!(log.unsynced_entries(), 0, "{step:?}");
        let report = device.verify_log(log.path()).unwrap();
        assert!(report.is_intact(), "{step:?}: {:?}", report.first_break());
        assert_eq!(report.last_seq(), log.last_seq(), "{step:?}");
        let local = harness::local_entries(log);
        harness::assert_server_equals(&client, &id, &local).await;
    }
    env.server.shutdown().await;
}
