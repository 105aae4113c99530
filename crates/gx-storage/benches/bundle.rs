//! Benchmarks of the consent bundle file.
fn main() {}
