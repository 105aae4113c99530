//! Repository checks that run as ordinary tests: every Rust file states its purpose, and
//! the `gx` binary is built without test-only features.

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
}
