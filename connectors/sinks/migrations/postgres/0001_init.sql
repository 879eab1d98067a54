-- PostgreSQL store, first version: the same tables and columns as the SQLite store, with native
-- types (timestamptz, jsonb, boolean) and the value rules as CHECK constraints.
CREATE TABLE items (
    item_id TEXT PRIMARY KEY,
    title TEXT NOT NULL CHECK (title <> ''),
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    published_at TIMESTAMPTZ NOT NULL,
    categories JSONB NOT NULL,
    scores JSONB NOT NULL,
    tension DOUBLE PRECISION NOT NULL CONSTRAINT items_tension_range CHECK (tension BETWEEN -1 AND 1),
    direction TEXT NOT NULL CONSTRAINT items_direction CHECK (direction IN ('escalation', 'deescalation', 'neutral')),
    cues JSONB NOT NULL,
    actors JSONB NOT NULL,
    classifier_version TEXT NOT NULL,
    classified_at TIMESTAMPTZ NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX items_published ON items (published_at);

CREATE TABLE item_categories (
    item_id TEXT NOT NULL REFERENCES items (item_id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (item_id, category)
);
CREATE INDEX item_categories_cat ON item_categories (category, published_at);

CREATE TABLE index_rows (
    category TEXT NOT NULL,
    window_kind TEXT NOT NULL,
    window_size_s BIGINT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    n_total BIGINT NOT NULL,
    n_category BIGINT NOT NULL,
    n_escalating BIGINT NOT NULL,
    n_deescalating BIGINT NOT NULL,
    share DOUBLE PRECISION,
    "index" DOUBLE PRECISION,
    signed_mean DOUBLE PRECISION,
    balance DOUBLE PRECISION,
    final BOOLEAN NOT NULL,
    top_items JSONB NOT NULL,
    emitted_at TIMESTAMPTZ NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (category, window_kind, window_size_s, window_start),
    CONSTRAINT index_rows_window_counts CHECK (window_end > window_start AND n_total >= 0 AND n_category >= 0
                                               AND n_escalating >= 0 AND n_deescalating >= 0)
);
CREATE INDEX index_rows_window ON index_rows (window_kind, window_size_s, window_start);

CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    rule TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    message TEXT NOT NULL,
    items JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT alerts_window CHECK (window_end > window_start)
);
CREATE INDEX alerts_created ON alerts (created_at);
