-- SQLite store, first version (the tables the demo already reads). IF NOT EXISTS so that
-- stores created before migrations were tracked take this version as already applied.
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    published_at TEXT NOT NULL,
    categories TEXT NOT NULL,
    scores TEXT NOT NULL,
    tension REAL NOT NULL,
    direction TEXT NOT NULL,
    cues TEXT NOT NULL,
    actors TEXT NOT NULL,
    classifier_version TEXT NOT NULL,
    classified_at TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_published ON items(published_at);
CREATE TABLE IF NOT EXISTS item_categories (
    item_id TEXT NOT NULL,
    category TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (item_id, category)
);
CREATE INDEX IF NOT EXISTS item_categories_cat ON item_categories(category, published_at);
CREATE TABLE IF NOT EXISTS index_rows (
    category TEXT NOT NULL,
    window_kind TEXT NOT NULL,
    window_size_s INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    n_total INTEGER NOT NULL,
    n_category INTEGER NOT NULL,
    n_escalating INTEGER NOT NULL,
    n_deescalating INTEGER NOT NULL,
    share REAL,
    "index" REAL,
    signed_mean REAL,
    balance REAL,
    final INTEGER NOT NULL,
    top_items TEXT NOT NULL,
    emitted_at TEXT NOT NULL,
    PRIMARY KEY (category, window_kind, window_size_s, window_start)
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    rule TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    message TEXT NOT NULL,
    items TEXT NOT NULL,
    created_at TEXT NOT NULL
);
