-- Carts, checkout drafts, orders and payments.
--
-- A cart belongs to a signed-in user or to a visitor's session (and goes with it).
-- Orders, their lines, their status history and their payments are a ledger: the
-- triggers below refuse to change or delete what was written, and an order's status
-- may only move along the pipeline that src/orders/status.rs also enforces.

CREATE TABLE carts (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    session_id_hash TEXT    UNIQUE REFERENCES sessions (id_hash) ON DELETE CASCADE,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    CHECK ((user_id IS NULL) <> (session_id_hash IS NULL))
);

CREATE TABLE cart_lines (
    cart_id    INTEGER NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    quantity   BIGINT  NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at   BIGINT  NOT NULL,
    PRIMARY KEY (cart_id, product_id)
);

-- The shipping details between the checkout's two steps, and the one-time token of
-- the payment form (its SHA-256) with the total that form showed.
CREATE TABLE checkout_drafts (
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    ship_name        TEXT    NOT NULL,
    ship_line1       TEXT    NOT NULL,
    ship_line2       TEXT    NOT NULL,
    ship_city        TEXT    NOT NULL,
    ship_postal_code TEXT    NOT NULL,
    ship_country     TEXT    NOT NULL,
    token_hash       TEXT,
    token_total_minor BIGINT,
    updated_at       BIGINT  NOT NULL
);

CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    reference           TEXT    NOT NULL UNIQUE,
    user_id             INTEGER REFERENCES users (id) ON DELETE SET NULL,
    email               TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('pending_payment', 'paid', 'processing',
                            'shipped', 'delivered', 'cancelled', 'refunded', 'payment_failed')),
    currency            TEXT    NOT NULL,
    item_count          BIGINT  NOT NULL CHECK (item_count > 0),
    subtotal_minor      BIGINT  NOT NULL CHECK (subtotal_minor >= 0),
    shipping_minor      BIGINT  NOT NULL CHECK (shipping_minor >= 0),
    total_minor         BIGINT  NOT NULL CHECK (total_minor = subtotal_minor + shipping_minor),
    checkout_token_hash TEXT    NOT NULL UNIQUE,
    ship_name           TEXT    NOT NULL,
    ship_line1          TEXT    NOT NULL,
    ship_line2          TEXT    NOT NULL,
    ship_city           TEXT    NOT NULL,
    ship_postal_code    TEXT    NOT NULL,
    ship_country        TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE INDEX orders_by_user ON orders (user_id, created_at);
CREATE INDEX orders_by_status ON orders (status, created_at);

CREATE TABLE order_lines (
    id               INTEGER PRIMARY KEY,
    order_id         INTEGER NOT NULL REFERENCES orders (id),
    product_id       INTEGER NOT NULL REFERENCES products (id),
    sku              TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    unit_price_minor BIGINT  NOT NULL CHECK (unit_price_minor >= 0),
    quantity         BIGINT  NOT NULL CHECK (quantity > 0),
    line_total_minor BIGINT  NOT NULL CHECK (line_total_minor = unit_price_minor * quantity)
);
CREATE INDEX order_lines_by_order ON order_lines (order_id);

-- Each status an order has been in, when, and who moved it there. The actor is kept
-- as a number, not a foreign key: the history outlives the account.
CREATE TABLE order_events (
    id            INTEGER PRIMARY KEY,
    order_id      INTEGER NOT NULL REFERENCES orders (id),
    status        TEXT    NOT NULL,
    actor_kind    TEXT    NOT NULL CHECK (actor_kind IN ('customer', 'staff', 'system')),
    actor_user_id BIGINT,
    note          TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL
);
CREATE INDEX order_events_by_order ON order_events (order_id);

-- Every call to the gateway and its outcome. Card data is limited to the brand and
-- the last four digits.
CREATE TABLE payments (
    id                INTEGER PRIMARY KEY,
    order_id          INTEGER NOT NULL REFERENCES orders (id),
    kind              TEXT    NOT NULL CHECK (kind IN ('charge', 'refund')),
    outcome           TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'declined', 'failed')),
    amount_minor      BIGINT  NOT NULL CHECK (amount_minor >= 0),
    currency          TEXT    NOT NULL,
    gateway_reference TEXT,
    card_brand        TEXT    NOT NULL,
    card_last4        TEXT    NOT NULL CHECK (length(card_last4) = 4),
    failure           TEXT    NOT NULL DEFAULT '',
    created_at        BIGINT  NOT NULL
);
CREATE INDEX payments_by_order ON payments (order_id);

CREATE TRIGGER order_lines_no_update BEFORE UPDATE ON order_lines
BEGIN SELECT RAISE(ABORT, 'order lines cannot be changed once written'); END;
CREATE TRIGGER order_lines_no_delete BEFORE DELETE ON order_lines
BEGIN SELECT RAISE(ABORT, 'order lines cannot be deleted'); END;

CREATE TRIGGER order_events_no_update BEFORE UPDATE ON order_events
BEGIN SELECT RAISE(ABORT, 'order history cannot be changed'); END;
CREATE TRIGGER order_events_no_delete BEFORE DELETE ON order_events
BEGIN SELECT RAISE(ABORT, 'order history cannot be deleted'); END;

CREATE TRIGGER payments_no_update BEFORE UPDATE ON payments
BEGIN SELECT RAISE(ABORT, 'payments cannot be changed once written'); END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN SELECT RAISE(ABORT, 'payments cannot be deleted'); END;

CREATE TRIGGER orders_no_delete BEFORE DELETE ON orders
BEGIN SELECT RAISE(ABORT, 'orders cannot be deleted'); END;

CREATE TRIGGER orders_amounts_fixed BEFORE UPDATE ON orders
WHEN NEW.id IS NOT OLD.id
  OR NEW.reference IS NOT OLD.reference
  OR NEW.currency IS NOT OLD.currency
  OR NEW.item_count IS NOT OLD.item_count
  OR NEW.subtotal_minor IS NOT OLD.subtotal_minor
  OR NEW.shipping_minor IS NOT OLD.shipping_minor
  OR NEW.total_minor IS NOT OLD.total_minor
  OR NEW.checkout_token_hash IS NOT OLD.checkout_token_hash
  OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'an order''s amounts cannot be changed once written'); END;

CREATE TRIGGER orders_status_pipeline BEFORE UPDATE OF status ON orders
WHEN NEW.status IS NOT OLD.status
  AND (OLD.status || '>' || NEW.status) NOT IN (
    'pending_payment>paid', 'pending_payment>payment_failed',
    'paid>processing', 'paid>cancelled', 'paid>refunded',
    'processing>shipped', 'processing>cancelled', 'processing>refunded',
    'shipped>delivered', 'shipped>refunded',
    'delivered>refunded')
BEGIN SELECT RAISE(ABORT, 'this status change is not in the order pipeline'); END;
