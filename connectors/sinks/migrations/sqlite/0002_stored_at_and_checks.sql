-- When the sink last wrote each row (UTC, ISO 8601), and the value rules PostgreSQL enforces
-- with CHECK constraints. SQLite cannot add CHECKs to a table, so triggers raise the same error.
ALTER TABLE items ADD COLUMN stored_at TEXT;
ALTER TABLE index_rows ADD COLUMN stored_at TEXT;
ALTER TABLE alerts ADD COLUMN stored_at TEXT;

CREATE TRIGGER items_checks_insert BEFORE INSERT ON items
WHEN NEW.tension NOT BETWEEN -1 AND 1 OR NEW.direction NOT IN ('escalation', 'deescalation', 'neutral')
     OR NEW.title = ''
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: items_tension_direction_title'); END;
CREATE TRIGGER items_checks_update BEFORE UPDATE ON items
WHEN NEW.tension NOT BETWEEN -1 AND 1 OR NEW.direction NOT IN ('escalation', 'deescalation', 'neutral')
     OR NEW.title = ''
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: items_tension_direction_title'); END;
CREATE TRIGGER index_rows_checks_insert BEFORE INSERT ON index_rows
WHEN NEW.window_end <= NEW.window_start OR NEW.n_total < 0 OR NEW.n_category < 0
     OR NEW.n_escalating < 0 OR NEW.n_deescalating < 0
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: index_rows_window_counts'); END;
CREATE TRIGGER index_rows_checks_update BEFORE UPDATE ON index_rows
WHEN NEW.window_end <= NEW.window_start OR NEW.n_total < 0 OR NEW.n_category < 0
     OR NEW.n_escalating < 0 OR NEW.n_deescalating < 0
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: index_rows_window_counts'); END;
CREATE TRIGGER alerts_checks_insert BEFORE INSERT ON alerts
WHEN NEW.window_end <= NEW.window_start
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: alerts_window'); END;
CREATE TRIGGER alerts_checks_update BEFORE UPDATE ON alerts
WHEN NEW.window_end <= NEW.window_start
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: alerts_window'); END;
