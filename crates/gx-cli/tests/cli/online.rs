//! Fixtures for the person-facing tests: a `gx server run` child with one tenant and a bundle,
//! and a pseudo-terminal for stderr, to see what a person at a terminal would see.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

use super::server::{ServerProcess, start_server};
use super::util::{Gx, arg, json_of};

/// The bundle key every online test stores its bundles with.
pub(crate) const BUNDLE_KEY: &str =
    "abababababababababababababababababababababababababababababababab";

/// A running server with a developer, an agent registered for `read:contacts` and
/// `send:email`, and its CA in `ca.pem`.
pub(crate) struct Online {
    pub(crate) gx: Gx,
    _server: ServerProcess,
    pub(crate) url: String,
    pub(crate) api_key: String,
    pub(crate) agent: String,
}

impl Online {
    pub(crate) fn start() -> Self {
        let gx = Gx::new();
        let tenant = json_of(
            gx.cmd(&[
                "server",
                "init",
                "--db",
                "server.db",
                "--scope",
                "read:contacts",
                "--scope",
                "send:email",
                "--json",
            ]),
            0,
        );
        let (server, url) = start_server(&gx);
        Self {
            api_key: tenant["apiKey"].as_str().expect("api key").to_owned(),
            agent: tenant["agentId"].as_str().expect("agent").to_owned(),
            gx,
            _server: server,
            url,
        }
    }

    /// `gx args` with the API key and the bundle key in the environment.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.gx.cmd(args);
        c.env("GX_API_KEY", &self.api_key)
            .env("GX_BUNDLE_KEY", BUNDLE_KEY);
        c
    }

    /// The path of the server's CA certificate.
    pub(crate) fn ca(&self) -> String {
        arg(&self.gx.path("ca.pem")).to_owned()
    }

    /// `gx bundle create` for `user_1` with `read:contacts`, a 1 h TTL, into `out`.
    pub(crate) fn create_bundle(&self, out: &str) {
        json_of(
            self.cmd(&[
                "bundle",
                "create",
                "--server",
                &self.url,
                "--ca-cert",
                &self.ca(),
                "--agent",
                &self.agent,
                "--user",
                "user_1",
                "--scope",
                "read:contacts",
                "--ttl",
                "1h",
                "--out",
                out,
                "--json",
            ]),
            0,
        );
    }

    /// Appends `n` entries to `log` under the bundle `bundle`.
    pub(crate) fn append(&self, bundle: &str, log: &str, n: u32) {
        for i in 0..n {
            let meta = format!("{{\"i\":{i}}}");
            json_of(
                self.cmd(&[
                    "audit",
                    "append",
                    "--bundle",
                    bundle,
                    "--log",
                    log,
                    "--action",
                    "tool:read_contacts",
                    "--result",
                    "success",
                    "--metadata",
                    &meta,
                    "--json",
                ]),
                0,
            );
        }
    }
}

/// What a run with stderr on a terminal showed: the exit code, stdout (a pipe) and
/// everything written to the terminal.
pub(crate) struct TtyRun {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) terminal: String,
}

/// Runs `cmd` with stdout on a pipe and stderr on a fresh 80x24 pseudo-terminal, so `gx`
/// sees a person's terminal on stderr and a script on stdout.
pub(crate) fn run_with_tty_stderr(cmd: Command) -> TtyRun {
    // assert_cmd's command cannot hand out its std one: rebuild it from its parts.
    let mut std_cmd = StdCommand::new(cmd.get_program());
    std_cmd.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => std_cmd.env(key, v),
            None => std_cmd.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        std_cmd.current_dir(dir);
    }
    let mut cmd = std_cmd;
    let master =
        openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    tcsetwinsize(
        &master,
        Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("window size");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().expect("utf-8 pty name"))
        .expect("open the pty's terminal side");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().expect("spawn gx");
    // The command holds a copy of the terminal side; drop it so the terminal closes when
    // the child exits and the reader below sees the end.
    drop(cmd);
    let mut master = File::from(master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        // Linux answers EIO once the last holder of the terminal side closed it.
        while let Ok(n @ 1..) = master.read(&mut chunk) {
            seen.extend_from_slice(&chunk[..n]);
        }
        seen
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    let status = child.wait().expect("wait for gx");
    let terminal = reader.join().expect("pty reader");
    TtyRun {
        code: status.code(),
        stdout,
        terminal: String::from_utf8_lossy(&terminal).into_owned(),
    }
}

/// A loopback port nothing listens on (bound, then released).
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
