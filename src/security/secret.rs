//! The server secret (`SECURECART_SECRET_KEY`) and the keys derived from it.
//!
//! One secret is configured; each use gets its own key, derived with HMAC-SHA256 over
//! a purpose label, so that a key leaked from one use says nothing about another. In
//! development the secret is generated once into the data folder; production must be
//! given one.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::config::RunMode;

/// Fewest bytes a configured secret may have.
pub const MIN_LEN: usize = 32;

/// The file in the data folder that keeps a generated development secret.
const FILE_NAME: &str = "secret.key";

/// The server secret. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct ServerSecret(Arc<[u8]>);

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

impl ServerSecret {
    /// The configured secret; without one, the development secret in `data_dir`
    /// (generated on first use). Production refuses to run without a configured one.
    pub fn load(
        configured: Option<&str>,
        data_dir: &Path,
        run_mode: RunMode,
    ) -> anyhow::Result<ServerSecret> {
        if let Some(text) = configured.filter(|t| !t.is_empty()) {
            anyhow::ensure!(
                text.len() >= MIN_LEN,
                "SECURECART_SECRET_KEY must be at least {MIN_LEN} bytes"
            );
            return Ok(ServerSecret(Arc::from(text.as_bytes())));
        }
        anyhow::ensure!(
            run_mode == RunMode::Development,
            "SECURECART_SECRET_KEY must be set in production (at least {MIN_LEN} random bytes, \
             e.g. `openssl rand -base64 48`)"
        );
        let path = data_dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= MIN_LEN => {
                return Ok(ServerSecret(Arc::from(text.trim().as_bytes())));
            }
            Ok(_) => anyhow::bail!("{} is too short; delete it to regenerate", path.display()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        }
        let text = crate::security::session::new_secret();
        write_private(&path, &text)?;
        tracing::info!(
            event = "config.secret_generated",
            path = %path.display(),
            "generated a development server secret"
        );
        Ok(ServerSecret(Arc::from(text.as_bytes())))
    }

    /// A random secret that lives as long as the process: for tests and for commands
    /// that sign nothing.
    pub fn ephemeral() -> ServerSecret {
        ServerSecret(Arc::from(rand::random::<[u8; 32]>().as_slice()))
    }

    /// The key for one purpose, e.g. `"api.jwt"`.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = Self::mac(&self.0);
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// HMAC-SHA256 of `message` under the key for `purpose`, as hex.
    pub fn sign_hex(&self, purpose: &str, message: &[u8]) -> String {
        let mut mac = Self::mac(&self.derive(purpose));
        mac.update(message);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn mac(key: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        <Hmac<Sha256> as hmac::Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
    }
}

/// Where development keeps its generated secret.
pub fn development_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(FILE_NAME)
}

/// Writes a new file that only its owner may read.
pub(crate) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_gets_its_own_key() {
        let secret = ServerSecret(Arc::from(b"0123456789abcdef0123456789abcdef".as_slice()));
        assert_ne!(secret.derive("api.jwt"), secret.derive("api.idempotency"));
        assert_eq!(secret.derive("api.jwt"), secret.derive("api.jwt"));
        assert_eq!(format!("{secret:?}"), "ServerSecret(..)");
    }

    #[test]
    fn development_generates_a_secret_once_and_production_demands_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = ServerSecret::load(None, dir.path(), RunMode::Development).expect("first");
        let again = ServerSecret::load(None, dir.path(), RunMode::Development).expect("again");
        assert_eq!(first.derive("x"), again.derive("x"));

        assert!(ServerSecret::load(None, dir.path(), RunMode::Production).is_err());
        assert!(ServerSecret::load(Some("short"), dir.path(), RunMode::Production).is_err());
        let long = "k".repeat(MIN_LEN);
        assert!(ServerSecret::load(Some(&long), dir.path(), RunMode::Production).is_ok());
    }
}
