//! Identifiers of the protocol: `<prefix>_<ULID>` (`bundle_`, `grnt_`, `tok_`, `dev_`, `ag_`).

/// A new `<prefix>_<ULID>` whose time part is `now_ms` and whose random part comes from
/// the system RNG.
pub(crate) fn new_id(prefix: &str, now_ms: u64) -> String {
    let mut random = [0u8; 16];
    // On RNG failure fall back to the thread RNG of `ulid`; an id must never be empty.
    if aws_lc_rs::rand::fill(&mut random).is_err() {
        return format!("{prefix}_{}", ulid::Ulid::new());
    }
    let ulid = ulid::Ulid::from_parts(now_ms, u128::from_be_bytes(random));
    format!("{prefix}_{ulid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_ulids_sorting_by_time() {
        let a = new_id("bundle", 1_000);
        let b = new_id("bundle", 2_000);
        assert!(a.starts_with("bundle_") && a.len() == "bundle_".len() + 26);
        assert!(a < b);
        assert_ne!(new_id("tok", 5), new_id("tok", 5));
    }
}
