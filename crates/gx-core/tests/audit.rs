//! Integration tests of the audit trail: one binary, modules in `tests/audit/`.

mod audit {
    mod chain;
    mod differential;
    mod fast;
    mod line;
    mod vectors;
}
