//! A process killed (SIGKILL) at random points inside `BundleFile::store` leaves the old
//! bundle or the new one, never neither, 100 times in a row.
//!
//! The parent re-runs this test binary, filtered to [`store_child`], with
//! `GX_BUNDLE_CRASH_CHILD` naming the bundle file. The child stores generation after
//! generation (`bundleId` = `gen_<n>`) and reports `begin <n>` / `end <n>` on stdout
//! around each `store`. The parent waits for the first `begin`, lets a random delay of
//! up to 1.5 store durations (measured first) pass, kills the child, and reads what it
//! reported: if the last line is
//! `begin n`, the kill landed inside `store` of generation n and the file must hold
//! generation n-1 or n; if it is `end n`, exactly n. A raw key keeps each store cheap
//! (no Argon2id), so 100 rounds take a second or two.

use core::time::Duration;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use gx_storage::BundleFile;

use super::util::{bundle_with_id, raw_key};

const CHILD_ENV: &str = "GX_BUNDLE_CRASH_CHILD";
const ROUNDS: usize = 100;

fn generation(file: &BundleFile) -> u64 {
    let b = file
        .load(&raw_key())
        .unwrap_or_else(|e| panic!("after a kill: {e}"));
    b.bundle_id().strip_prefix("gen_").unwrap().parse().unwrap()
}

/// The child half. Does nothing unless started by [`killed_inside_store_leaves_old_or_new`].
#[test]
fn store_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let file = BundleFile::new(Path::new(&path));
    let key = raw_key();
    let mut n = generation(&file);
    let mut out = std::io::stdout().lock();
    // Bounded, in case the parent dies before it can kill us.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        n += 1;
        let bundle = bundle_with_id(&format!("gen_{n}"));
        writeln!(out, "begin {n}").unwrap();
        out.flush().unwrap();
        file.store(&bundle, &key).unwrap();
        writeln!(out, "end {n}").unwrap();
        out.flush().unwrap();
    }
}

/// A small xorshift generator: the kill delays need to vary, not to be unpredictable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn killed_inside_store_leaves_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.gx");
    let file = BundleFile::new(&path);
    file.store(&bundle_with_id("gen_0"), &raw_key()).unwrap();
    // How long one store takes here (fsync dominates: microseconds on tmpfs, tens of
    // milliseconds on a busy disk). Kill delays span 1.5 stores, so kills land before,
    // during and after the rename, and between stores.
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            file.store(&bundle_with_id("gen_0"), &raw_key()).unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    let span = (times[2] * 3 / 2).as_micros().max(1) as u64;
    let exe = std::env::current_exe().unwrap();
    let seed = std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64;
    let mut rng = XorShift(seed | 1);
    let mut inside_store = 0;
    let mut kept_old = 0;
    let mut left_temp = 0;
    let temps = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count()
    };
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "bundle::crash::store_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait (by blocking on the pipe) until the child is in its store loop.
        let first = lines
            .by_ref()
            .map(Result::unwrap)
            .find(|l| l.starts_with("begin "))
            .expect("child did not start storing");
        // A random moment: spin rather than sleep, the delay is the point of the test.
        let delay = Duration::from_micros(rng.next() % span);
        let t = Instant::now();
        while t.elapsed() < delay {
            core::hint::spin_loop();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let last = lines
            .map(Result::unwrap)
            .filter(|l| l.starts_with("begin ") || l.starts_with("end "))
            .last()
            .unwrap_or(first);
        let (what, n) = last.split_once(' ').unwrap();
        let n: u64 = n.parse().unwrap();
        let found = generation(&file);
        left_temp += usize::from(temps() > 0);
        if what == "begin" {
            inside_store += 1;
            kept_old += usize::from(found + 1 == n);
            assert!(
                found == n || found + 1 == n,
                "round {round}: killed while storing generation {n}, file holds {found}"
            );
        } else {
            assert_eq!(found, n, "round {round}: killed after storing {n}");
        }
    }
    let last_generation = generation(&file);
    eprintln!(
        "{inside_store} of {ROUNDS} kills landed inside store ({kept_old} left the old bundle); \
         last generation {last_generation}; {left_temp} rounds found a temp file; \
         kill delays 0..{span} µs"
    );
    // Kills before the rename leave temp files; the next store clears them.
    let temps = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count()
    };
    let stray = temps();
    file.store(&bundle_with_id("gen_0"), &raw_key()).unwrap();
    assert_eq!(temps(), 0, "{stray} stray temp files before the last store");
    // The property is only shown if kills really landed inside `store`, on both sides
    // of the rename: some left the old bundle, and the stores made progress.
    assert!(
        inside_store >= ROUNDS / 4,
        "only {inside_store} of {ROUNDS} kills hit a store"
    );
    assert!(kept_old > 0, "no kill landed before a rename");
    assert!(last_generation > 0, "no store ever completed its rename");
    assert!(left_temp > 0, "no kill left a temp file behind");
}
