//! `gx server …`: the server's shared command line ([`gx_server::cli`]), with gx's error
//! report (a stable code and a next step).

use std::process::ExitCode;

use gx_server::ServerError;
use gx_server::cli::{ServerCommand, execute};

use crate::failure::{chain_text, fail};

/// The next step to suggest when a server command fails with `code`.
fn hint(serving: bool, code: &str) -> &'static str {
    match code {
        "ALREADY_INITIALISED" => "pass --force to overwrite an initialised database",
        "NOT_INITIALISED" => "create the database first with `gx server init --db DB`",
        "KEK_MISSING" | "KEY_DECRYPTION" | "KEK_FILE" => {
            "supply the key-encryption key the signing keys were sealed with (GX_SERVER_KEK or --kek-file)"
        }
        "UNKNOWN_API_KEY" => "list the key ids with `gx server key list --db DB`",
        "AMBIGUOUS_DEVELOPER" => "pass --developer DEV_ID (see `gx server key list`)",
        "INVALID_CONFIG" => "check the flags against `gx server <command> --help`",
        _ if serving => "check the address, the TLS files and the database",
        _ => "check the database path and its permissions",
    }
}

pub(crate) fn run(command: ServerCommand) -> anyhow::Result<ExitCode> {
    let serving = matches!(command, ServerCommand::Run(_));
    match execute(command) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => match e
            .chain()
            .find_map(|c| c.downcast_ref::<ServerError>())
            .map(ServerError::code)
        {
            Some(code) => Err(fail(code, chain_text(&e), hint(serving, code))),
            None => Err(e),
        },
    }
}
