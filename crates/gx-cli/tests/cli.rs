//! Tests of the `gx` binary: each command's exit codes and JSON shapes, run for real in
//! temporary directories.

mod cli {
    mod audit;
    mod bundle;
    mod demo;
    mod errors;
    mod human;
    mod online;
    mod server;
    mod token;
    mod util;
}
