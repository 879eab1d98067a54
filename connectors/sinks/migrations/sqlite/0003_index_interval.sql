-- TensionIndexUpdate v2: the uncertainty of a window's share and index (docs/index.md, "Uncertainty").
-- Additive: rows written before keep NULL intervals and evidence, and sparse = 0 (not marked).
ALTER TABLE index_rows ADD COLUMN evidence INTEGER;
ALTER TABLE index_rows ADD COLUMN sparse INTEGER NOT NULL DEFAULT 0;
ALTER TABLE index_rows ADD COLUMN interval_level REAL;
ALTER TABLE index_rows ADD COLUMN share_low REAL;
ALTER TABLE index_rows ADD COLUMN share_high REAL;
ALTER TABLE index_rows ADD COLUMN index_low REAL;
ALTER TABLE index_rows ADD COLUMN index_high REAL;
