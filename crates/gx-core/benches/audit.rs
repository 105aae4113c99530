//! Audit trail benchmarks (entry hash, signing, chain verification).
fn main() {}
