//! Repository checks that run as ordinary tests: every Rust file states its purpose.

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
}
