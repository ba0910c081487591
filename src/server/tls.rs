//! TLS for the shop's own listener: rustls with the ring provider, TLS 1.2 and 1.3 only,
//! ALPN for HTTP/2 and HTTP/1.1, and a certificate that can be replaced while serving.
//!
//! The certificate lives in a [`CertStore`], which rustls asks for it on every
//! handshake. [`watch`] reloads the store on SIGHUP and when the files change on disk,
//! so a renewed certificate is served to new connections while open ones carry on. A
//! file that cannot be read or parsed leaves the old certificate in place.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, version};
use sha2::{Digest as _, Sha256};
use tokio_rustls::TlsAcceptor;

/// How often the certificate files are checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(30);

/// The certificate chain and private key files, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The crypto provider every TLS use in the process shares: ring's.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's TLS configuration around `store`: TLS 1.3 and 1.2 with ring's AEAD
/// suites (all with forward secrecy), the server's suite order, ALPN h2 then http/1.1.
pub fn server_config(store: Arc<CertStore>) -> anyhow::Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .context("choosing the TLS versions")?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

/// Loads the files and returns the acceptor for the listener and the store to watch.
pub fn acceptor(files: &TlsFiles) -> anyhow::Result<(TlsAcceptor, Arc<CertStore>)> {
    let store = Arc::new(CertStore::open(files.clone())?);
    let config = server_config(store.clone())?;
    Ok((TlsAcceptor::from(config), store))
}

/// A certificate and key as loaded, with what the log and the operator want to know.
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    /// SHA-256 of the end-entity certificate, as colon-separated hex.
    pub fingerprint: String,
}

/// Reads and checks a certificate chain and its private key.
pub fn load(files: &TlsFiles) -> anyhow::Result<Loaded> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("reading the certificate {}", files.cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing the certificate {}", files.cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no PEM certificate",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading the private key {}", files.key.display()))?;
    let fingerprint = fingerprint(&chain[0]);
    let key = CertifiedKey::from_der(chain, key, &provider()).with_context(|| {
        format!(
            "{} and {} do not make a usable certificate and key",
            files.cert.display(),
            files.key.display()
        )
    })?;
    Ok(Loaded {
        key: Arc::new(key),
        fingerprint,
    })
}

/// The SHA-256 fingerprint of a DER certificate, as browsers and `openssl x509
/// -fingerprint -sha256` show it.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The certificate being served, replaceable while the server runs.
pub struct CertStore {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times and sizes when they were last loaded.
    seen: Mutex<Option<Stamp>>,
}

type Stamp = [(SystemTime, u64); 2];

impl fmt::Debug for CertStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertStore")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl CertStore {
    /// Loads the files; an error here stops the server from starting.
    pub fn open(files: TlsFiles) -> anyhow::Result<CertStore> {
        let seen = stamp(&files);
        let loaded = load(&files)?;
        tracing::info!(
            event = "tls.certificate_loaded",
            reason = "start",
            fingerprint = loaded.fingerprint,
            cert = %files.cert.display(),
            "TLS certificate loaded"
        );
        Ok(CertStore {
            files,
            current: RwLock::new(loaded.key),
            seen: Mutex::new(seen),
        })
    }

    /// The fingerprint of the certificate now served.
    pub fn fingerprint(&self) -> String {
        self.current
            .read()
            .ok()
            .and_then(|key| key.cert.first().map(|der| fingerprint(der)))
            .unwrap_or_default()
    }

    /// Loads the files again and serves them from the next handshake on; on failure
    /// the old certificate stays. Returns whether a new certificate is now served.
    pub fn reload(&self, reason: &'static str) -> bool {
        let seen = stamp(&self.files);
        match load(&self.files) {
            Ok(loaded) => {
                tracing::info!(
                    event = "tls.certificate_loaded",
                    reason,
                    fingerprint = loaded.fingerprint,
                    cert = %self.files.cert.display(),
                    "TLS certificate reloaded"
                );
                if let Ok(mut current) = self.current.write() {
                    *current = loaded.key;
                }
                if let Ok(mut last) = self.seen.lock() {
                    *last = seen;
                }
                true
            }
            Err(err) => {
                tracing::error!(
                    event = "tls.reload_failed",
                    reason,
                    error = format!("{err:#}"),
                    "TLS certificate not reloaded; still serving the previous one"
                );
                false
            }
        }
    }

    /// Whether the files differ from the ones last loaded.
    fn changed_on_disk(&self) -> bool {
        let now = stamp(&self.files);
        self.seen.lock().map(|last| *last != now).unwrap_or(false)
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|key| key.clone())
    }
}

/// The files' modification times and sizes (following symbolic links, as certbot's
/// and Kubernetes' secret folders use them), or `None` when one cannot be read.
fn stamp(files: &TlsFiles) -> Option<Stamp> {
    let one = |path: &Path| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    };
    Some([one(&files.cert)?, one(&files.key)?])
}

/// Reloads `store` on SIGHUP, and when its files change (checked every `poll`). Runs
/// until the process ends.
pub async fn watch(store: Arc<CertStore>, poll: Duration) {
    #[cfg(unix)]
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGHUP; watching the files only");
            None
        }
    };
    loop {
        #[cfg(unix)]
        let hung_up = async {
            match hangup.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hung_up = std::future::pending::<()>();

        tokio::select! {
            () = hung_up => {
                store.reload("sighup");
            }
            () = tokio::time::sleep(poll) => {
                if store.changed_on_disk() {
                    store.reload("file_changed");
                }
            }
        }
    }
}

/// The development certificate in `data_dir/tls/`: made once for localhost,
/// 127.0.0.1 and ::1, valid for a year, and made again when it has expired or cannot
/// be read.
pub fn self_signed(data_dir: &Path) -> anyhow::Result<TlsFiles> {
    let dir = data_dir.join("tls");
    let files = TlsFiles {
        cert: dir.join("self-signed.crt"),
        key: dir.join("self-signed.key"),
    };
    if load(&files).is_ok() && !expired(&files.cert) {
        return Ok(files);
    }
    let key = rcgen::KeyPair::generate().context("generating a key pair")?;
    let mut params = rcgen::CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .context("naming the development certificate")?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "SecureCart development");
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .self_signed(&key)
        .context("signing the development certificate")?;

    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // Replace, never append to, whatever was there.
    let _ = std::fs::remove_file(&files.key);
    crate::security::secret::write_private(&files.key, &key.serialize_pem())?;
    std::fs::write(&files.cert, cert.pem())
        .with_context(|| format!("writing {}", files.cert.display()))?;
    tracing::info!(
        event = "tls.self_signed_generated",
        cert = %files.cert.display(),
        "generated a self-signed development certificate"
    );
    Ok(files)
}

/// Whether the first certificate in a PEM file has passed its end date (or cannot be
/// read at all).
fn expired(cert: &Path) -> bool {
    certificate_facts(cert).is_none_or(|facts| facts.not_after <= time::OffsetDateTime::now_utc())
}

/// What the deployment check wants to know of a certificate.
#[derive(Debug, Clone)]
pub struct CertificateFacts {
    pub not_after: time::OffsetDateTime,
    pub self_signed: bool,
    /// DNS names and IP addresses the certificate is valid for.
    pub names: Vec<String>,
}

/// Reads the end-entity certificate of a PEM file.
pub fn certificate_facts(cert: &Path) -> Option<CertificateFacts> {
    let der = CertificateDer::pem_file_iter(cert).ok()?.next()?.ok()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => {
                    names.push(dns.to_ascii_lowercase());
                }
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes)
                            .ok()
                            .map(|b| std::net::IpAddr::from(b).to_string()),
                        16 => <[u8; 16]>::try_from(*bytes)
                            .ok()
                            .map(|b| std::net::IpAddr::from(b).to_string()),
                        _ => None,
                    };
                    names.extend(ip);
                }
                _ => {}
            }
        }
    }
    Some(CertificateFacts {
        not_after: parsed.validity().not_after.to_datetime(),
        self_signed: parsed.subject() == parsed.issuer(),
        names,
    })
}

/// Whether a certificate naming `names` is valid for `host` (one `*.` label allowed).
pub fn covers(names: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    names.iter().any(|name| {
        if let Some(suffix) = name.strip_prefix("*.") {
            host.split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix)
        } else {
            *name == host
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_certificate_is_made_once_and_names_localhost() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = self_signed(dir.path()).expect("generated");
        let first = load(&files).expect("loads").fingerprint;
        let again = self_signed(dir.path()).expect("reused");
        assert_eq!(load(&again).expect("loads").fingerprint, first);

        let facts = certificate_facts(&files.cert).expect("facts");
        assert!(facts.self_signed);
        for name in ["localhost", "127.0.0.1", "::1"] {
            assert!(covers(&facts.names, name), "{name} in {:?}", facts.names);
        }
        let days = (facts.not_after - time::OffsetDateTime::now_utc()).whole_days();
        assert!((360..=366).contains(&days), "{days} days");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&files.key)
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is private");
        }
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let one = tempfile::tempdir().expect("temp dir");
        let two = tempfile::tempdir().expect("temp dir");
        let a = self_signed(one.path()).expect("a");
        let b = self_signed(two.path()).expect("b");
        let mixed = TlsFiles {
            cert: a.cert.clone(),
            key: b.key.clone(),
        };
        assert!(load(&mixed).is_err());
        let garbage = one.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").expect("write");
        assert!(
            load(&TlsFiles {
                cert: garbage,
                key: a.key
            })
            .is_err()
        );
    }

    #[test]
    fn wildcards_cover_one_label() {
        let names = vec!["*.shop.example".to_owned(), "shop.example".to_owned()];
        assert!(covers(&names, "www.shop.example"));
        assert!(covers(&names, "SHOP.example."));
        assert!(!covers(&names, "a.b.shop.example"));
        assert!(!covers(&names, "evilshop.example"));
        assert!(!covers(&names, "other.example"));
    }

    #[test]
    fn fingerprints_look_like_openssls() {
        let print = fingerprint(b"x");
        assert_eq!(print.len(), 32 * 3 - 1);
        assert!(print.split(':').all(|b| b.len() == 2));
    }
}
