-- TensionIndexUpdate v2: the uncertainty of a window's share and index (docs/index.md, "Uncertainty").
-- Additive: rows written before keep NULL intervals and evidence, and sparse = false (not marked).
ALTER TABLE index_rows
    ADD COLUMN evidence BIGINT,
    ADD COLUMN sparse BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN interval_level DOUBLE PRECISION,
    ADD COLUMN share_low DOUBLE PRECISION,
    ADD COLUMN share_high DOUBLE PRECISION,
    ADD COLUMN index_low DOUBLE PRECISION,
    ADD COLUMN index_high DOUBLE PRECISION;
