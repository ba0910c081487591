-- The catalogue: categories and products, plus a small key/value table for facts
-- about the database itself (for example, that the demo catalogue was loaded).

CREATE TABLE app_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE categories (
    id         INTEGER PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    sku         TEXT    NOT NULL UNIQUE,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    price_minor BIGINT  NOT NULL CHECK (price_minor >= 0),
    stock       BIGINT  NOT NULL CHECK (stock >= 0),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    image       TEXT,
    category_id INTEGER REFERENCES categories (id),
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE INDEX products_listing ON products (active, created_at);
CREATE INDEX products_by_category ON products (category_id, active);
CREATE INDEX products_by_price ON products (active, price_minor);
CREATE INDEX products_by_name ON products (active, name);
