//! Tests of the `gx` binary: each command's exit codes and JSON shapes, run for real in
//! temporary directories.

mod cli {
    mod audit;
    mod bundle;
    mod cloud;
    mod demo;
    mod device;
    mod errors;
    mod files;
    mod human;
    mod lifecycle;
    mod online;
    mod operator;
    mod server;
    mod server_keys;
    mod token;
    mod util;
}
