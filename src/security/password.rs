//! Password hashing in Django's PBKDF2 format, and the rules a new password must meet.
//!
//! Hashes read `pbkdf2_sha256$<iterations>$<salt>$<base64 digest>`, so a Django user
//! table imports as is. Hashing is slow on purpose; [`Hasher`] runs it on the blocking
//! thread pool under a semaphore so that a storm of logins cannot starve page serving.

use std::fmt;
use std::sync::{Arc, LazyLock};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use tokio::sync::Semaphore;

/// Django 6.0's cost for PBKDF2-SHA256.
pub const DEFAULT_ITERATIONS: u32 = 1_200_000;
/// The lowest cost production mode accepts.
pub const MIN_PRODUCTION_ITERATIONS: u32 = 600_000;
/// A stored hash claiming more work than this is refused rather than computed, so a
/// planted hash cannot make one login cost minutes.
const MAX_ITERATIONS: u32 = 20_000_000;
const ALGORITHM: &str = "pbkdf2_sha256";
const SALT_LEN: usize = 22;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// A password as typed. Its `Debug` never shows it.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(text: impl Into<String>) -> Self {
        Password(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &str, iterations: u32) -> String {
    let salt: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SALT_LEN)
        .map(char::from)
        .collect();
    encode(password, &salt, iterations)
}

fn encode(password: &str, salt: &str, iterations: u32) -> String {
    let digest = derive(password, salt, iterations);
    format!(
        "{ALGORITHM}${iterations}${salt}${}",
        STANDARD.encode(digest)
    )
}

fn derive(password: &str, salt: &str, iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    out
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    /// It matches; `rehash` says the stored cost is below the configured one.
    Yes {
        rehash: bool,
    },
}

/// Checks `password` against a stored hash in constant time. A hash that cannot be
/// parsed never matches.
pub fn verify(password: &str, stored: &str, configured_iterations: u32) -> Verified {
    let mut parts = stored.split('$');
    let (Some(ALGORITHM), Some(iterations), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Verified::No;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return Verified::No;
    };
    if iterations == 0 || iterations > MAX_ITERATIONS || salt.is_empty() {
        return Verified::No;
    }
    let Ok(expected) = STANDARD.decode(expected) else {
        return Verified::No;
    };

    let actual = derive(password, salt, iterations);
    if bool::from(actual.as_slice().ct_eq(expected.as_slice())) {
        Verified::Yes {
            rehash: iterations < configured_iterations,
        }
    } else {
        Verified::No
    }
}

/// Runs hashing off the async threads, a bounded number at a time.
#[derive(Clone, Debug)]
pub struct Hasher {
    iterations: u32,
    permits: Arc<Semaphore>,
}

impl Hasher {
    /// `concurrency` hashes may run at once; more wait their turn.
    pub fn new(iterations: u32, concurrency: usize) -> Self {
        Hasher {
            iterations,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        let iterations = self.iterations;
        self.run(move || hash(&password, iterations)).await
    }

    /// Verifies against `stored`, or, when there is no account, against a dummy hash
    /// of the same cost, so that the answer takes as long either way.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> anyhow::Result<Verified> {
        let password = password.expose().to_owned();
        let iterations = self.iterations;
        let stored = stored.map(str::to_owned);
        self.run(move || match stored {
            Some(stored) => verify(&password, &stored, iterations),
            None => {
                let _ = derive(&password, "no-such-account-salt", iterations);
                Verified::No
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("the hashing pool is closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("a hashing task failed")
    }
}

/// The ten-thousands of most common passwords (Django's list), lower-cased.
static COMMON: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

/// Why a new password was refused, in words for the person choosing it.
pub fn check_rules(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!(
            "Use at least {MIN_LENGTH} characters. A few words together make a strong, memorable password."
        ));
    }
    if length > MAX_LENGTH {
        return Err(format!("Use at most {MAX_LENGTH} characters."));
    }
    if password.chars().all(|c| c.is_ascii_digit()) {
        return Err("Use more than digits: a password of numbers alone is easy to guess.".into());
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.trim()) {
        return Err(
            "This password is one of the most common ones. Choose something less predictable."
                .into(),
        );
    }
    if similar_to_email(&lower, &email.to_lowercase()) {
        return Err("This password is too similar to your email address.".into());
    }
    Ok(())
}

/// Whether the password contains, or closely resembles, the email or its parts.
fn similar_to_email(password: &str, email: &str) -> bool {
    let local = email.split('@').next().unwrap_or_default();
    let mut parts: Vec<&str> = vec![email, local];
    parts.extend(
        email
            .split(['@', '.', '_', '-', '+'])
            .filter(|p| p.len() >= 4),
    );
    parts.iter().filter(|p| !p.is_empty()).any(|part| {
        (part.len() >= 4 && password.contains(part)) || similarity(password, part) >= 0.7
    })
}

/// 2·(longest common subsequence) / (sum of lengths): 1.0 for equal strings.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut row = vec![0usize; b.len() + 1];
    for ca in &a {
        let mut diagonal = 0;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    2.0 * row[b.len()] as f64 / (a.len() + b.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by Django 5.2.19's `PBKDF2PasswordHasher.encode` (script in the note of
    /// issue 3); kept verbatim so a change in our format cannot go unnoticed.
    const DJANGO_HASHES: [(&str, &str); 2] = [
        (
            "correct horse battery staple",
            "pbkdf2_sha256$1000000$Csj16Tx7FaCiYluM2GgDvC$ly4MrfDXxarol6A3sHyNVOk/h00x6AZulzxtVYwJBRw=",
        ),
        (
            "Ünïcode pässwörd ✓",
            "pbkdf2_sha256$600000$fixedsalt1234567$RsuzXQQhmZCVxZ3k86m+JcwS9BE/5MKAk4D0yDuVQDE=",
        ),
    ];

    #[test]
    fn hashes_made_by_django_verify_unchanged() {
        for (password, stored) in DJANGO_HASHES {
            assert_eq!(
                verify(password, stored, 600_000),
                Verified::Yes { rehash: false },
                "{password}"
            );
            assert_eq!(verify("wrong password", stored, 600_000), Verified::No);
        }
    }

    #[test]
    fn a_hash_below_the_configured_cost_asks_to_be_rehashed() {
        let (password, stored) = DJANGO_HASHES[0];
        assert_eq!(
            verify(password, stored, DEFAULT_ITERATIONS),
            Verified::Yes { rehash: true }
        );
    }

    #[test]
    fn our_hash_matches_an_independent_pbkdf2_computation() {
        // RFC 7914 §11 test vector for PBKDF2-HMAC-SHA256 ("passwd", "salt", c = 1).
        let digest = derive("passwd", "salt", 1);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );

        let stored = hash("a long passphrase", 1_000);
        assert!(stored.starts_with("pbkdf2_sha256$1000$"));
        let salt = stored.split('$').nth(2).expect("salt");
        assert_eq!(salt.len(), SALT_LEN);
        assert_eq!(stored, encode("a long passphrase", salt, 1_000));
        assert_ne!(
            stored,
            hash("a long passphrase", 1_000),
            "each hash has its own salt"
        );
    }

    #[test]
    fn malformed_or_hostile_hashes_never_match() {
        for stored in [
            "",
            "pbkdf2_sha256$1000$salt",
            "md5$1000$salt$abc",
            "pbkdf2_sha256$0$salt$abc=",
            "pbkdf2_sha256$999999999$salt$abc=",
            "pbkdf2_sha256$1000$$abc=",
            "pbkdf2_sha256$1000$salt$not base64!",
            "pbkdf2_sha256$1000$salt$abc=$extra",
        ] {
            assert_eq!(verify("x", stored, 1000), Verified::No, "{stored:?}");
        }
    }

    #[test]
    fn the_password_debug_output_is_redacted() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2hunter2")),
            "Password([redacted])"
        );
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        let email = "jane.doe@example.com";
        let refused = [
            ("short", "at least 10"),
            ("12345678901234", "more than digits"),
            ("1234567890", "more than digits"),
            ("qwertyuiop", "most common"),
            ("Password123", "most common"),
            ("jane.doe@example.com", "similar"),
            ("janedoe2024!", "similar"),
            ("xjane.doex", "similar"),
            (&"a".repeat(129), "at most 128"),
        ];
        for (password, reason) in refused {
            let err = check_rules(password, email).expect_err(password);
            assert!(err.contains(reason), "{password}: {err}");
        }
    }

    #[test]
    fn long_passphrases_and_unusual_passwords_are_accepted() {
        let email = "jane.doe@example.com";
        for password in [
            "correct horse battery staple",
            "T4v!qz-Lm9#pw",
            &"ünïcode ".repeat(16),
        ] {
            assert_eq!(check_rules(password, email), Ok(()), "{password}");
        }
    }
}
