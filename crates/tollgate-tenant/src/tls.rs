//! HTTPS: the configuration, a generated local CA and certificate (rcgen), and the listener
//! that completes TLS handshakes (tokio-rustls) before axum sees a connection.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, PublicKeyData as _,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::{ConfigError, TenantError};

/// The common name of the generated CA.
const CA_NAME: &str = "Tollgate local tenant CA";
/// The generated CA's and certificate's lifetime.
const LIFETIME: Duration = Duration::from_secs(365 * 86_400);
/// A kept CA with less than this left is replaced by a new one.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The CA certificate to trust (public), in the state directory or a temporary one.
pub(crate) const CA_FILE: &str = "ca.pem";
/// The server's certificate (public).
const CERT_FILE: &str = "cert.pem";
/// The CA's private key (0600, state directory only).
const CA_KEY_FILE: &str = "ca-key.pem";
/// The server certificate's private key (0600, state directory only).
const CERT_KEY_FILE: &str = "cert-key.pem";
/// The CA's validity and names, to rebuild it from its key (state directory only).
const CA_INFO_FILE: &str = "ca.json";

/// How the tenant serves HTTPS ([`TenantConfig::with_tls`](crate::TenantConfig::with_tls)).
///
/// Generated ([`TlsConfig::generated`], TOML `[tls]` with no fields, CLI `--tls`): the tenant
/// makes a local CA ("Tollgate local tenant CA", name-constrained to `localhost`, the
/// loopback addresses and the issuer's host) and a certificate signed by it for `localhost`,
/// `127.0.0.1`, `::1` and the issuer's host, valid for a year. With a state directory the CA
/// and its key are kept there (`ca.pem`, `ca-key.pem`) and reused while valid, so a client
/// trusts the same `ca.pem` across restarts; without one they live in a temporary directory
/// removed when the tenant stops. From files ([`TlsConfig::from_pem_files`], TOML `cert` and
/// `key`, CLI `--tls-cert`/`--tls-key`): the certificate chain and key as given.
///
/// ```
/// use tollgate_tenant::{TenantConfig, TlsConfig};
///
/// let from_toml = TenantConfig::from_toml_str("[tls]\n")?;
/// assert!(from_toml.tls().is_some_and(TlsConfig::is_generated));
/// let files = TlsConfig::from_pem_files("cert.pem", "key.pem");
/// assert!(!files.is_generated());
/// # Ok::<(), tollgate_tenant::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain PEM (server certificate first).
    cert: Option<PathBuf>,
    /// The private key PEM (PKCS#8, PKCS#1 or SEC1).
    key: Option<PathBuf>,
}

impl TlsConfig {
    /// A local CA and certificate made by the tenant.
    pub fn generated() -> Self {
        Self::default()
    }

    /// A certificate chain and its private key from PEM files.
    pub fn from_pem_files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: Some(cert.into()),
            key: Some(key.into()),
        }
    }

    /// Whether the tenant makes its own CA and certificate.
    pub fn is_generated(&self) -> bool {
        self.cert.is_none() && self.key.is_none()
    }

    /// The file paths, for resolving them relative to a configuration file.
    pub(crate) fn paths_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        self.cert.iter_mut().chain(&mut self.key)
    }

    /// Files come as a pair.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let empty = |p: &Option<PathBuf>| p.as_ref().is_some_and(|p| p.as_os_str().is_empty());
        if self.cert.is_some() != self.key.is_some() || empty(&self.cert) || empty(&self.key) {
            return Err(ConfigError::TlsFilesIncomplete);
        }
        Ok(())
    }
}

/// What a TLS tenant serves with and tells its clients to trust.
pub(crate) struct TlsMaterial {
    pub(crate) acceptor: TlsAcceptor,
    /// The PEM a client trusts: the generated CA, or the configured certificate chain.
    pub(crate) ca_pem: String,
    pub(crate) ca_pem_path: PathBuf,
    /// Base64 SHA-256 of the server certificate's SubjectPublicKeyInfo (Chromium's
    /// `--ignore-certificate-errors-spki-list`), when the key could be read.
    pub(crate) spki_sha256: Option<String>,
    /// A temporary directory to remove when the tenant stops.
    pub(crate) temp_dir: Option<PathBuf>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem_path", &self.ca_pem_path)
            .field("spki_sha256", &self.spki_sha256)
            .finish_non_exhaustive()
    }
}

/// What a kept CA was made with.
#[derive(Debug, Serialize, Deserialize)]
struct CaInfo {
    not_before: i64,
    not_after: i64,
    names: Vec<String>,
}

/// Loads or makes the certificate. `hosts` are the names the certificate must cover (besides
/// `localhost` and the loopback addresses); blocking file I/O, run it off the runtime.
pub(crate) fn prepare(
    tls: &crate::TlsConfig,
    state_dir: Option<&Path>,
    hosts: &[String],
) -> Result<TlsMaterial, TenantError> {
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => from_files(cert, key),
        _ => generate(state_dir, hosts),
    }
}

fn tls_error(reason: impl std::fmt::Display) -> TenantError {
    TenantError::Tls {
        reason: reason.to_string(),
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> TenantError + '_ {
    move |source| TenantError::TlsFile {
        path: path.to_path_buf(),
        reason: source.to_string(),
    }
}

fn from_files(cert: &Path, key: &Path) -> Result<TlsMaterial, TenantError> {
    let cert_pem = std::fs::read_to_string(cert).map_err(io_error(cert))?;
    let key_pem = std::fs::read_to_string(key).map_err(io_error(key))?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TenantError::TlsFile {
            path: cert.to_path_buf(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TenantError::TlsFile {
            path: cert.to_path_buf(),
            reason: "no CERTIFICATE block".to_owned(),
        });
    }
    let private =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| TenantError::TlsFile {
            path: key.to_path_buf(),
            reason: e.to_string(),
        })?;
    let spki = KeyPair::from_pem(&key_pem).ok().map(|k| spki_hash(&k));
    Ok(TlsMaterial {
        acceptor: acceptor(chain, private)?,
        ca_pem: cert_pem,
        ca_pem_path: cert.to_path_buf(),
        spki_sha256: spki,
        temp_dir: None,
    })
}

fn spki_hash(key: &KeyPair) -> String {
    let digest = sha2::Sha256::digest(key.subject_public_key_info());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

fn acceptor(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, TenantError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The names the CA permits and the certificate carries.
fn names(hosts: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    for host in hosts {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if !names.contains(&host) {
            names.push(host);
        }
    }
    names
}

fn ca_params(info: &CaInfo) -> Result<CertificateParams, TenantError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut permitted = Vec::new();
    for name in &info.names {
        permitted.push(match name.parse::<std::net::IpAddr>() {
            // Every loopback name maps to one of these; a non-loopback literal is refused
            // before this.
            Ok(std::net::IpAddr::V4(_)) => {
                GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 0], 8))
            }
            Ok(std::net::IpAddr::V6(ip)) => {
                GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(ip.octets(), 128))
            }
            Err(_) => GeneralSubtree::DnsName(name.clone()),
        });
    }
    permitted.dedup();
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    params.not_before = time::OffsetDateTime::from_unix_timestamp(info.not_before)
        .map_err(|e| tls_error(format!("CA start date: {e}")))?;
    params.not_after = time::OffsetDateTime::from_unix_timestamp(info.not_after)
        .map_err(|e| tls_error(format!("CA end date: {e}")))?;
    Ok(params)
}

/// The CA kept in `dir` when it is readable, valid long enough and covers `names`.
fn kept_ca(dir: &Path, names: &[String], now: i64) -> Option<(CaInfo, KeyPair, String)> {
    let info: CaInfo = serde_json::from_slice(&std::fs::read(dir.join(CA_INFO_FILE)).ok()?).ok()?;
    let renew = i64::try_from(RENEW_BEFORE.as_secs()).ok()?;
    if info.not_after - renew < now || !names.iter().all(|n| info.names.contains(n)) {
        tracing::info!(
            "the kept local CA expires soon or does not cover the issuer's host: making a new one"
        );
        return None;
    }
    let key = KeyPair::from_pem(&std::fs::read_to_string(dir.join(CA_KEY_FILE)).ok()?).ok()?;
    let pem = std::fs::read_to_string(dir.join(CA_FILE)).ok()?;
    Some((info, key, pem))
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn generate(state_dir: Option<&Path>, hosts: &[String]) -> Result<TlsMaterial, TenantError> {
    let names = names(hosts);
    let now = now_unix();
    let lifetime = i64::try_from(LIFETIME.as_secs()).unwrap_or(i64::MAX / 2);
    let (dir, temp_dir) = match state_dir {
        Some(dir) => (dir.to_path_buf(), None),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "tollgate-tenant-tls-{}-{}",
                std::process::id(),
                crate::random::hex(8)
            ));
            crate::persist::create_dir(&dir).map_err(io_error(&dir))?;
            (dir.clone(), Some(dir))
        }
    };
    let kept = state_dir.and_then(|d| kept_ca(d, &names, now));
    let (info, ca_key, ca_pem, fresh_ca) = match kept {
        Some((info, key, pem)) => (info, key, pem, false),
        None => {
            let info = CaInfo {
                not_before: now - 3600,
                not_after: now + lifetime,
                names: names.clone(),
            };
            let key = KeyPair::generate().map_err(tls_error)?;
            let cert = ca_params(&info)?.self_signed(&key).map_err(tls_error)?;
            (info, key, cert.pem(), true)
        }
    };
    let ca_not_after = info.not_after;
    let issuer = Issuer::new(ca_params(&info)?, ca_key);

    // The server key is kept too, so its SPKI hash (for Chromium) survives a restart.
    let kept_key = state_dir
        .filter(|_| !fresh_ca)
        .and_then(|d| std::fs::read_to_string(d.join(CERT_KEY_FILE)).ok())
        .and_then(|pem| KeyPair::from_pem(&pem).ok());
    let leaf_key = match kept_key {
        Some(key) => key,
        None => KeyPair::generate().map_err(tls_error)?,
    };
    let mut params = CertificateParams::new(names).map_err(tls_error)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = time::OffsetDateTime::from_unix_timestamp(now - 3600).map_err(tls_error)?;
    params.not_after =
        time::OffsetDateTime::from_unix_timestamp((now + lifetime).min(ca_not_after))
            .map_err(tls_error)?;
    let leaf = params.signed_by(&leaf_key, &issuer).map_err(tls_error)?;

    let write =
        |name: &str, text: &str| crate::persist::write_atomically(&dir.join(name), text.as_bytes());
    write(CA_FILE, &ca_pem)?;
    write(CERT_FILE, &leaf.pem())?;
    if state_dir.is_some() {
        write(CA_KEY_FILE, &issuer.key().serialize_pem())?;
        write(CERT_KEY_FILE, &leaf_key.serialize_pem())?;
        let info = serde_json::to_vec_pretty(&info).map_err(tls_error)?;
        crate::persist::write_atomically(&dir.join(CA_INFO_FILE), &info)?;
    }

    let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(tls_error)?;
    let chain = vec![leaf.der().clone(), ca_der];
    let private = PrivateKeyDer::try_from(leaf_key.serialize_der()).map_err(tls_error)?;
    Ok(TlsMaterial {
        acceptor: acceptor(chain, private)?,
        ca_pem,
        ca_pem_path: dir.join(CA_FILE),
        spki_sha256: Some(spki_hash(&leaf_key)),
        temp_dir,
    })
}

/// A listener whose connections have completed a TLS handshake. Handshakes run in their own
/// tasks, so a slow or silent client holds up no one else; a failed one (plain HTTP, an
/// untrusted certificate) just closes that connection.
#[derive(Debug)]
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    pub(crate) fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::debug!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%error, %peer, "TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accepting task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
