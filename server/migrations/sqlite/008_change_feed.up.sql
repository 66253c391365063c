-- The change feed (issue 15): one row per committed write of a template, spec, rating, label or
-- built-in's statistics, appended by triggers in the writing transaction itself, with what the
-- feed's access rule needs (the record's owner, whether it was public before and after), so
-- `GET /v1/changes` filters by visibility in SQL. Cursor = `seq`. SQLite serialises writers
-- (`BEGIN IMMEDIATE`), so `seq` order is commit order; AUTOINCREMENT never reuses a number.
CREATE TABLE wt_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('template', 'spec', 'rating', 'label', 'builtin_stats')),
    op VARCHAR(8) NOT NULL CHECK (op IN ('put', 'delete')),
    record_id VARCHAR(26) NOT NULL,
    label VARCHAR(64),
    owner_id VARCHAR(26) NOT NULL,
    public_before BOOLEAN NOT NULL,
    public_after BOOLEAN NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- The built-ins' shadow rows are the server's own bookkeeping, not records.
CREATE TRIGGER wt_changes_templates_ins AFTER INSERT ON workflow_templates FOR EACH ROW WHEN NOT NEW.is_builtin BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('template', 'put', NEW.id, NULL, NEW.owner_id, 0, NEW.is_public);
END;
CREATE TRIGGER wt_changes_templates_upd AFTER UPDATE ON workflow_templates FOR EACH ROW WHEN NOT NEW.is_builtin BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('template', 'put', NEW.id, NULL, NEW.owner_id, CASE WHEN OLD.owner_id = NEW.owner_id THEN OLD.is_public ELSE 0 END, NEW.is_public);
END;
-- Created after _upd: SQLite fires the newest trigger first, so the old owner's delete comes first.
CREATE TRIGGER wt_changes_templates_owner AFTER UPDATE ON workflow_templates FOR EACH ROW WHEN NOT NEW.is_builtin AND OLD.owner_id <> NEW.owner_id BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('template', 'delete', OLD.id, NULL, OLD.owner_id, OLD.is_public, 0);
END;
CREATE TRIGGER wt_changes_templates_del AFTER DELETE ON workflow_templates FOR EACH ROW WHEN NOT OLD.is_builtin BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('template', 'delete', OLD.id, NULL, OLD.owner_id, OLD.is_public, 0);
END;
CREATE TRIGGER wt_changes_specs_ins AFTER INSERT ON template_specs FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('spec', 'put', NEW.id, NULL, NEW.owner_id, 0, 0);
END;
CREATE TRIGGER wt_changes_specs_upd AFTER UPDATE ON template_specs FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('spec', 'put', NEW.id, NULL, NEW.owner_id, 0, 0);
END;
CREATE TRIGGER wt_changes_specs_del AFTER DELETE ON template_specs FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('spec', 'delete', OLD.id, NULL, OLD.owner_id, 0, 0);
END;
-- A rating row is its rater's alone; the template's aggregate is a template change.
CREATE TRIGGER wt_changes_ratings_ins AFTER INSERT ON template_ratings FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('rating', 'put', NEW.template_id, NULL, NEW.user_id, 0, 0);
END;
CREATE TRIGGER wt_changes_ratings_upd AFTER UPDATE ON template_ratings FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('rating', 'put', NEW.template_id, NULL, NEW.user_id, 0, 0);
END;
CREATE TRIGGER wt_changes_ratings_del AFTER DELETE ON template_ratings FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('rating', 'delete', OLD.template_id, NULL, OLD.user_id, 0, 0);
END;
-- Others see a label when they can see the version it points at (catalog::labels).
CREATE TRIGGER wt_changes_labels_ins AFTER INSERT ON template_labels FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'put', NEW.template_id, NEW.label, NEW.owner_id, 0, COALESCE((SELECT is_public FROM workflow_templates WHERE id = NEW.template_id), 0));
END;
CREATE TRIGGER wt_changes_labels_upd AFTER UPDATE ON template_labels FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'put', NEW.template_id, NEW.label, NEW.owner_id, COALESCE((SELECT is_public FROM workflow_templates WHERE id = OLD.template_id), 0), COALESCE((SELECT is_public FROM workflow_templates WHERE id = NEW.template_id), 0));
END;
CREATE TRIGGER wt_changes_labels_del AFTER DELETE ON template_labels FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'delete', OLD.template_id, OLD.label, OLD.owner_id, COALESCE((SELECT is_public FROM workflow_templates WHERE id = OLD.template_id), 0), 0);
END;
CREATE TRIGGER wt_changes_builtin_stats_ins AFTER INSERT ON builtin_template_stats FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('builtin_stats', 'put', NEW.id, NULL, '00000000000000000000000000', 1, 1);
END;
CREATE TRIGGER wt_changes_builtin_stats_upd AFTER UPDATE ON builtin_template_stats FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('builtin_stats', 'put', NEW.id, NULL, '00000000000000000000000000', 1, 1);
END;
CREATE TRIGGER wt_changes_builtin_stats_del AFTER DELETE ON builtin_template_stats FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('builtin_stats', 'delete', OLD.id, NULL, '00000000000000000000000000', 1, 1);
END;
