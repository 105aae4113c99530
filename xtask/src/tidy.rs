//! Repository checks that run as ordinary tests: every Rust file states its purpose,
//! comments and manifests cite no ticket numbers, and the `gx` binary is built without
//! test-only features.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" || name == "fuzz" {
                continue;
            }
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Every `.rs` file opens with a `//!` line saying what it is for (rust-analyzer's tidy rule).
    #[test]
    fn every_rust_file_opens_with_a_module_doc() {
        let root = super::super::project_root().unwrap();
        let mut files = Vec::new();
        for top in ["crates", "xtask", "examples"] {
            rust_files(&root.join(top), &mut files);
        }
        assert!(files.len() > 3, "tidy found too few files: {files:?}");
        let missing: Vec<_> = files
            .iter()
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                !text.trim_start().starts_with("//!")
            })
            .collect();
        assert!(
            missing.is_empty(),
            "these files do not open with a `//!` doc line: {missing:?}"
        );
    }

    /// `cargo tree -e <edges>` of one package with its features, as lines.
    fn feature_tree(package: &str, edges: &str) -> String {
        let root = super::super::project_root().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let out = std::process::Command::new(cargo)
            .current_dir(root)
            .args([
                "tree",
                "--offline",
                "-p",
                package,
                "-e",
                edges,
                "--prefix",
                "none",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The fuzz harness (`gx_server::fuzzing`, feature `_fuzzing`) is compiled only for
    /// fuzz/ and gx-server's own tests: no normal dependency path of `gx` turns it on.
    #[test]
    fn the_gx_binary_carries_no_fuzz_harness() {
        // The check can see the feature: gx-server's tests turn it on.
        let with_tests = feature_tree("gx-server", "features");
        assert!(
            with_tests.contains("gx-server feature \"_fuzzing\""),
            "cargo tree no longer shows gx-server's test feature:\n{with_tests}"
        );
        let shipped = feature_tree("gx-cli", "normal,features");
        let test_only: Vec<&str> = shipped
            .lines()
            .filter(|l| l.contains("feature \"_"))
            .collect();
        assert!(
            test_only.is_empty(),
            "the gx binary is built with test-only features: {test_only:?}"
        );
    }

    /// Files of `dir` (recursively, skipping `target` and hidden entries) ending in one of
    /// `exts`.
    fn files_with(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if path.is_dir() {
                files_with(&path, exts, out);
            } else if path
                .extension()
                .is_some_and(|e| exts.iter().any(|x| e == *x))
            {
                out.push(path);
            }
        }
    }

    /// No "issue #N" in Rust files or manifests: a reader has the code, not the tracker,
    /// so a comment says the reason instead of a ticket number.
    #[test]
    fn no_ticket_numbers_in_code_or_manifests() {
        let root = super::super::project_root().unwrap();
        let mut files = Vec::new();
        for top in ["crates", "xtask", "fuzz", "firmware", "examples"] {
            files_with(&root.join(top), &["rs", "toml"], &mut files);
        }
        for top in ["Cargo.toml", "deny.toml", "rustfmt.toml"] {
            files.push(root.join(top));
        }
        // Written in two parts so that this file does not match itself.
        let needle = format!("{}{}", "issue", " #");
        let mut found = Vec::new();
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            let lower = text.to_lowercase();
            for (at, _) in lower.match_indices(&needle) {
                let rest = &lower[at + needle.len()..];
                if rest.starts_with(|c: char| c.is_ascii_digit()) {
                    let line = lower[..at].matches('\n').count() + 1;
                    found.push(format!("{}:{line}", f.display()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "ticket numbers in code or manifests (write the reason instead): {found:?}"
        );
    }
}
