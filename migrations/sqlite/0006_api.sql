-- The JSON API: refresh tokens (stored only as SHA-256 digests, grouped in families so
-- that a reused token revokes every token descended from the same login) and the
-- Idempotency-Key of each API checkout.

CREATE TABLE api_refresh_tokens (
    id             INTEGER PRIMARY KEY,
    token_hash     TEXT    NOT NULL UNIQUE,
    family         TEXT    NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    security_stamp TEXT    NOT NULL,
    -- When the family's password was typed (ms): carried into every access token it
    -- mints, so that sensitive actions can ask for a recent one.
    authenticated_at BIGINT NOT NULL,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used_at        BIGINT,
    revoked_at     BIGINT
);
CREATE INDEX api_refresh_tokens_by_family ON api_refresh_tokens (family);
CREATE INDEX api_refresh_tokens_by_user ON api_refresh_tokens (user_id);
CREATE INDEX api_refresh_tokens_by_expiry ON api_refresh_tokens (expires_at);

CREATE TABLE api_idempotency_keys (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash     TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (user_id, key_hash)
);
CREATE INDEX api_idempotency_keys_by_age ON api_idempotency_keys (created_at);
