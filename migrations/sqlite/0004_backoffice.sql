-- The back office: the audit log of staff actions, and stock adjustments.
--
-- The audit log is append-only and chained. Each entry stores the SHA-256 of its own
-- content and of the entry before it, so an entry changed or removed behind the
-- database's back breaks the chain (`securecart audit verify`). audit_head holds the
-- chain's end; appending updates it first, which makes appends take turns.

CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       BIGINT  NOT NULL,
    last_hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, '');

CREATE TABLE audit_log (
    seq           BIGINT  PRIMARY KEY,
    created_at    BIGINT  NOT NULL,
    actor_user_id BIGINT,
    actor_email   TEXT    NOT NULL,
    ip            TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    before_value  TEXT    NOT NULL,
    after_value   TEXT    NOT NULL,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (created_at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log cannot be deleted'); END;

-- Stock changed by hand in the back office, with the reason staff gave.
CREATE TABLE stock_adjustments (
    id            INTEGER PRIMARY KEY,
    product_id    INTEGER NOT NULL REFERENCES products (id),
    delta         BIGINT  NOT NULL CHECK (delta <> 0),
    stock_after   BIGINT  NOT NULL CHECK (stock_after >= 0),
    reason        TEXT    NOT NULL,
    actor_user_id BIGINT,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX stock_adjustments_by_product ON stock_adjustments (product_id, created_at);

-- When the session's user last typed their password again, for sensitive back-office
-- actions (a login counts too: a session starts at login).
ALTER TABLE sessions ADD COLUMN reauthenticated_at BIGINT;

-- How many of each security event (`security.*` in the log) happened per hour, for
-- the dashboard. Counted in memory and added here every minute.
CREATE TABLE security_event_counts (
    hour  BIGINT NOT NULL,
    kind  TEXT   NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (hour, kind)
);

-- Which items a refund paid back, line by line, and whether they went back in stock.
CREATE TABLE refund_lines (
    id            INTEGER PRIMARY KEY,
    payment_id    INTEGER NOT NULL REFERENCES payments (id),
    order_line_id INTEGER NOT NULL REFERENCES order_lines (id),
    quantity      BIGINT  NOT NULL CHECK (quantity > 0),
    restocked     INTEGER NOT NULL CHECK (restocked IN (0, 1))
);
CREATE INDEX refund_lines_by_line ON refund_lines (order_line_id);

CREATE TRIGGER refund_lines_no_update BEFORE UPDATE ON refund_lines
BEGIN SELECT RAISE(ABORT, 'refund lines cannot be changed once written'); END;
CREATE TRIGGER refund_lines_no_delete BEFORE DELETE ON refund_lines
BEGIN SELECT RAISE(ABORT, 'refund lines cannot be deleted'); END;
