//! TLS for the listener: certificate files, or a generated development CA and leaf.
//!
//! The development certificate: an ECDSA P-256 CA ("gx-server development CA") and a
//! leaf for `localhost`, `127.0.0.1` and `::1` (plus the listening IP when it is a
//! specific one) signed by it. Clients trust the CA PEM, never the leaf, so the leaf is
//! made fresh at every start. When the CA certificate is written to a file
//! (`--self-signed CA_OUT`), its private key is kept beside it (`CA_OUT.key`, mode 0600,
//! created once): a restart signs the new leaf with the same CA key and subject, so the
//! `ca.pem` devices were given keeps working. Without `CA_OUT` the CA lives only in memory
//! and a restart makes a new one.

use core::net::SocketAddr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig as RustlsConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;
use zeroize::Zeroizing;

use crate::config::TlsMode;
use crate::error::ServerError;

/// The acceptor to use (none for plain HTTP) and the CA clients must trust, if generated.
pub(crate) struct TlsSetup {
    pub(crate) acceptor: Option<TlsAcceptor>,
    pub(crate) ca_pem: Option<String>,
}

pub(crate) fn setup(mode: &TlsMode, listen: SocketAddr) -> Result<TlsSetup, ServerError> {
    match mode {
        TlsMode::PlainHttp => {
            if !listen.ip().is_loopback() {
                return Err(ServerError::PlainHttpNotLoopback(listen));
            }
            Ok(TlsSetup {
                acceptor: None,
                ca_pem: None,
            })
        }
        TlsMode::Files { cert, key } => {
            let certs = read_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| ServerError::TlsFiles(key.clone(), e.to_string()))?;
            Ok(TlsSetup {
                acceptor: Some(acceptor(certs, key)?),
                ca_pem: None,
            })
        }
        TlsMode::SelfSigned { ca_out } => {
            let ca_key = match ca_out {
                Some(path) => dev_ca_key(&dev_ca_key_path(path))?,
                None => KeyPair::generate().map_err(ServerError::CertGeneration)?,
            };
            let (certs, key, ca_pem) = self_signed(listen, ca_key)?;
            if let Some(path) = ca_out {
                std::fs::write(path, &ca_pem).map_err(|e| ServerError::WriteCa(path.clone(), e))?;
            }
            Ok(TlsSetup {
                acceptor: Some(acceptor(certs, key)?),
                ca_pem: Some(ca_pem),
            })
        }
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    let err =
        |e: rustls_pki_types::pem::Error| ServerError::TlsFiles(path.to_owned(), e.to_string());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    if certs.is_empty() {
        return Err(ServerError::TlsFiles(
            path.to_owned(),
            String::from("no certificate in the file"),
        ));
    }
    Ok(certs)
}

fn acceptor(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, ServerError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = RustlsConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ServerError::Tls)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(ServerError::Tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

type CertAndKey = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String);

/// Where the development CA's private key is kept: `CA_OUT` with `.key` appended.
pub(crate) fn dev_ca_key_path(ca_out: &Path) -> PathBuf {
    let mut name = ca_out.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// The development CA's key: read from `path` when it exists, else generated and written
/// there (created new, mode 0600, synced), so every later start signs with the same CA.
fn dev_ca_key(path: &Path) -> Result<KeyPair, ServerError> {
    let fail = |why: String| ServerError::DevCaKey(path.to_owned(), why);
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            return KeyPair::from_pem(&pem)
                .map_err(|_| fail(String::from("is not a PEM private key")));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(format!("cannot be read: {e}"))),
    }
    let key = KeyPair::generate().map_err(ServerError::CertGeneration)?;
    let pem = Zeroizing::new(key.serialize_pem());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| fail(format!("cannot be created: {e}")))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| fail(format!("cannot be written: {e}")))?;
    Ok(key)
}

fn self_signed(listen: SocketAddr, ca_key: KeyPair) -> Result<CertAndKey, ServerError> {
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(ServerError::CertGeneration)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gx-server development CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, ca_key).map_err(ServerError::CertGeneration)?;

    let mut names = vec![
        String::from("localhost"),
        String::from("127.0.0.1"),
        String::from("::1"),
    ];
    let ip = listen.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    let leaf_key = KeyPair::generate().map_err(ServerError::CertGeneration)?;
    let mut leaf_params = CertificateParams::new(names).map_err(ServerError::CertGeneration)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf = leaf_params
        .signed_by(&leaf_key, &*ca)
        .map_err(ServerError::CertGeneration)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    Ok((vec![leaf.der().clone(), ca.der().clone()], key, ca.pem()))
}
