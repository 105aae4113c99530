//! Tests of the `gx` binary: each command's exit codes and JSON shapes, run for real in
//! temporary directories.

mod cli {
    mod audit;
    mod bundle;
    mod cloud;
    mod demo;
    mod device;
    mod files;
    mod lifecycle;
    mod operator;
    mod server;
    mod server_keys;
    mod token;
    mod util;
}
