//! Starting, running and stopping a server: [`Server::start`] → [`RunningServer`].
//!
//! The accept loop runs on the caller's tokio runtime; every connection is its own task.
//! [`RunningServer::shutdown`] stops accepting, lets open requests finish (up to
//! [`Timeouts::shutdown_grace`](crate::Timeouts::shutdown_grace)) and returns.

use core::net::SocketAddr;
use std::sync::{Arc, RwLock};

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admission::Admission;
use crate::body::BodyBudget;
use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::init::open_initialised;
use crate::issuer::KeyRing;
use crate::state::AppState;
use crate::store::Store;
use crate::{conn, tls};

/// The entry point: `Server::start(config).await`.
#[derive(Debug)]
pub struct Server;

/// A server accepting connections. Dropping it without [`shutdown`](Self::shutdown)
/// stops the accept loop too, but without waiting for open requests.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    base_url: String,
    ca_pem: Option<String>,
    state: Arc<AppState>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Opens (and migrates) the database, loads the signing keys (rotating when the month
    /// changed), sets up TLS, binds `config.listen` and starts serving.
    ///
    /// # Errors
    /// [`ServerError`] when plain HTTP is asked for off loopback, the database was never
    /// initialised ([`ServerError::NotInitialised`]: `init` first) or cannot be opened, the
    /// signing keys do not load (sealed without the right key-encryption key), TLS
    /// material is unusable, or the address cannot be bound.
    pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
        if config.connections.max == 0 || config.connections.per_ip == 0 {
            return Err(ServerError::InvalidConfig(
                "connection limits must be at least 1",
            ));
        }
        let tls = tls::setup(&config.tls, config.listen)?;
        let db = config.db.clone();
        let now = config.clock.now().as_millis();
        let kek = config.kek.clone();
        let (store, ring) = tokio::task::spawn_blocking(move || {
            let store = open_initialised(&db)?;
            let ring = KeyRing::load_or_rotate(&*store, now, kek.as_ref())?;
            Ok::<_, ServerError>((store, ring))
        })
        .await
        .map_err(|_| ServerError::Task)??;
        if config.kek.is_none() {
            tracing::warn!(
                "signing keys are stored unencrypted; set GX_SERVER_KEK or --kek-file to seal them"
            );
        }

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(ServerError::Bind)?;
        let local_addr = listener.local_addr().map_err(ServerError::Bind)?;
        let scheme = if tls.acceptor.is_some() {
            "https"
        } else {
            "http"
        };
        let host = match local_addr.ip() {
            ip if ip.is_unspecified() => String::from("127.0.0.1"),
            core::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        let base_url = format!("{scheme}://{host}:{}", local_addr.port());
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| base_url.clone())
            .trim_end_matches('/')
            .to_owned();

        let store: Arc<dyn Store> = store;
        let state = Arc::new(AppState {
            store,
            keys: RwLock::new(Arc::new(ring)),
            kek: config.kek.clone(),
            clock: Arc::clone(&config.clock),
            limits: config.rate_limits,
            storage_quota: config.storage_quota,
            public_url,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            tls.acceptor,
            Arc::clone(&state),
            config,
            stopped,
        ));
        tracing::info!(%local_addr, url = %base_url, "gx-server listening");
        Ok(RunningServer {
            local_addr,
            base_url,
            ca_pem: tls.ca_pem,
            state,
            stop,
            task: Some(task),
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<AppState>,
    config: ServerConfig,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let admission = Admission::new(config.connections);
    let budget = BodyBudget::new(config.body_memory, config.timeouts.body_read);
    let mut maintenance = tokio::time::interval(
        config
            .key_maintenance
            .max(core::time::Duration::from_millis(10)),
    );
    maintenance.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate; start already did what it would do.
    maintenance.tick().await;
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            _ = maintenance.tick() => {
                // Rotation on a timer: a server left running rotates when the month changes
                // and forgets keys past the token lifetime, without a restart.
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    if let Err(e) = state.maintain_keys().await {
                        tracing::error!(code = e.code(), error = %e, "signing-key maintenance failed");
                    }
                });
            }
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => match admission.admit(peer.ip()) {
                    Ok(permit) => {
                        let fut = conn::serve(tcp, acceptor.clone(), Arc::clone(&state), Arc::clone(&budget), config.timeouts, graceful.watcher());
                        tokio::spawn(async move {
                            fut.await;
                            drop(permit);
                        });
                    }
                    Err(refusal) => {
                        // Closed before any TLS work: a refused connection costs one accept.
                        drop(tcp);
                        admission.report(refusal, peer.ip());
                    }
                },
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(core::time::Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    if tokio::time::timeout(config.timeouts.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
    tracing::info!("gx-server stopped");
}

impl RunningServer {
    /// The bound address (the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `https://127.0.0.1:<port>` (or `http://` for plain HTTP): where this process serves.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The URL written into tokens (`iss`) and `syncEndpoint`: the configured public URL,
    /// else [`base_url`](Self::base_url).
    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    /// The development CA certificate (PEM) clients must trust, in self-signed mode.
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Rotates the RS256 signing key now: new tokens use a new `kid`, and the old public
    /// key stays in the JWKS for the longest token lifetime. Returns the new `kid`.
    ///
    /// # Errors
    /// [`ServerError`] when key generation or the store fails.
    pub async fn rotate_signing_key(&self) -> Result<String, ServerError> {
        self.state.rotate_keys().await
    }

    /// Stops accepting connections, waits for open requests (up to the grace period),
    /// and returns once the accept loop has ended.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
