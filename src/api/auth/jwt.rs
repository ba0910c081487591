//! Access tokens: JWTs signed with HS256, the one algorithm the server accepts.
//!
//! The token says who (`sub`) and until when (`exp`); it never says what the user may
//! do: the role and whether the account is active are read from the database on every
//! request. The `stamp` claim is a digest of the user's security stamp, which changes
//! when the password changes or an admin ends the user's sessions, so that every token
//! issued before dies at once.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::security::secret::ServerSecret;
use crate::security::session::digest;

/// How long an access token is valid.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;

/// Who a token is for: only this API.
pub const AUDIENCE: &str = "securecart-api";

/// The `typ` claim of an access token. Refresh tokens are not JWTs at all.
const ACCESS: &str = "access";

/// The one algorithm, pinned: the header's `alg` must say exactly this.
const ALGORITHM: Algorithm = Algorithm::HS256;

/// Seconds of clock difference tolerated on `exp` and `iat`.
const LEEWAY_SECS: i64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
    typ: String,
    stamp: String,
    /// When the password was last typed (seconds): refreshes carry it unchanged.
    auth_time: i64,
    jti: String,
}

/// What a verified access token establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user_id: i64,
    /// The digest of the security stamp the token was issued under.
    pub stamp: String,
    /// When the password was last typed, seconds.
    pub auth_time: i64,
}

/// Signs and checks access tokens with a key derived from the server secret.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
}

impl AccessTokens {
    pub fn new(secret: &ServerSecret, issuer: &str) -> anyhow::Result<AccessTokens> {
        let key = secret.derive("api.jwt.hs256");
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        validation.validate_exp = true;
        validation.validate_nbf = false;
        let keys_error = |err| anyhow::anyhow!("making the JWT keys: {err}");
        Ok(AccessTokens {
            encoding: EncodingKey::from_secret(&key).map_err(keys_error)?,
            decoding: DecodingKey::from_secret(&key).map_err(keys_error)?,
            validation,
            issuer: issuer.to_owned(),
        })
    }

    /// A token for `user_id` under `security_stamp`, valid [`ACCESS_TTL_SECS`] from `now`,
    /// for a sign-in whose password was typed at `auth_time` (seconds).
    pub fn issue(
        &self,
        user_id: i64,
        security_stamp: &str,
        now: i64,
        auth_time: i64,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + ACCESS_TTL_SECS,
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            typ: ACCESS.to_owned(),
            stamp: stamp_digest(security_stamp),
            auth_time: auth_time.min(now),
            jti: crate::security::session::new_secret(),
        };
        jsonwebtoken::encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .map_err(|err| anyhow::anyhow!("signing an access token: {err}"))
    }

    /// The token's subject if the signature, algorithm, issuer, audience, type and
    /// times all check out at `now`; `None` otherwise, whatever the reason.
    pub fn verify(&self, token: &str, now: i64) -> Option<Verified> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .inspect_err(|err| tracing::debug!(error = %err, "access token refused"))
            .ok()?;
        let claims = data.claims;
        if data.header.alg != ALGORITHM || claims.typ != ACCESS {
            return None;
        }
        // Issued in the future, or for longer than we issue: not one of ours.
        if claims.iat > now + LEEWAY_SECS
            || claims.exp + LEEWAY_SECS < now
            || claims.exp - claims.iat > ACCESS_TTL_SECS
        {
            return None;
        }
        let user_id = claims.sub.parse().ok()?;
        Some(Verified {
            user_id,
            stamp: claims.stamp,
            auth_time: claims.auth_time.min(claims.iat),
        })
    }
}

/// What a token carries of the security stamp: enough to compare, nothing to reuse.
pub fn stamp_digest(security_stamp: &str) -> String {
    digest(security_stamp)[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn now() -> i64 {
        crate::db::time::now_ms() / 1000
    }

    fn tokens() -> AccessTokens {
        AccessTokens::new(&ServerSecret::ephemeral(), "http://shop.example").expect("keys")
    }

    fn parts(token: &str) -> Vec<String> {
        token.split('.').map(str::to_owned).collect()
    }

    fn json_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64")).expect("json")
    }

    fn encode_part(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
    }

    #[test]
    fn a_fresh_token_verifies_until_it_expires() {
        let tokens = tokens();
        let token = tokens.issue(42, "stamp", now(), now()).expect("issue");
        let verified = tokens.verify(&token, now() + 60).expect("valid");
        assert_eq!(verified.user_id, 42);
        assert_eq!(verified.stamp, stamp_digest("stamp"));
        assert!(
            tokens
                .verify(&token, now() + ACCESS_TTL_SECS + 60)
                .is_none()
        );

        // Issued long ago: expired by the clock, whatever the caller says it is.
        let old = tokens
            .issue(
                42,
                "stamp",
                now() - 2 * ACCESS_TTL_SECS,
                now() - 2 * ACCESS_TTL_SECS,
            )
            .expect("issue");
        assert!(tokens.verify(&old, now() - 2 * ACCESS_TTL_SECS).is_none());
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let tokens = tokens();
        let token = tokens.issue(42, "stamp", now(), now()).expect("issue");
        let p = parts(&token);
        for alg in ["none", "None", "HS512", "RS256"] {
            let header = encode_part(&serde_json::json!({ "alg": alg, "typ": "JWT" }));
            for signature in ["", p[2].as_str()] {
                let forged = format!("{header}.{}.{signature}", p[1]);
                assert!(tokens.verify(&forged, now()).is_none(), "{alg}");
            }
        }
    }

    #[test]
    fn altered_claims_with_the_original_signature_are_refused() {
        let tokens = tokens();
        let token = tokens.issue(42, "stamp", now(), now()).expect("issue");
        let p = parts(&token);
        let mut claims = json_part(&p[1]);
        claims["sub"] = "1".into();
        let forged = format!("{}.{}.{}", p[0], encode_part(&claims), p[2]);
        assert!(tokens.verify(&forged, now()).is_none());
    }

    #[test]
    fn another_key_issuer_or_audience_is_refused() {
        let ours = tokens();
        let theirs = tokens();
        let token = theirs.issue(42, "stamp", now(), now()).expect("issue");
        assert!(ours.verify(&token, now()).is_none(), "another key");

        let secret = ServerSecret::ephemeral();
        let a = AccessTokens::new(&secret, "http://a.example").expect("keys");
        let b = AccessTokens::new(&secret, "http://b.example").expect("keys");
        let token = a.issue(42, "stamp", now(), now()).expect("issue");
        assert!(b.verify(&token, now()).is_none(), "another issuer");
    }

    #[test]
    fn tokens_dated_in_the_future_or_living_too_long_are_refused() {
        let tokens = tokens();
        let future = tokens
            .issue(42, "stamp", now() + 3600, now() + 3600)
            .expect("issue");
        assert!(tokens.verify(&future, now()).is_none());
    }
}
