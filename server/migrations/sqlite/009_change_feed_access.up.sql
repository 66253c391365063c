-- The change feed's access fixes (see feed.rs):
-- 1. A label row that moves (another version, owner or name) was one row naming the new version
--    with the old version's visibility as `public_before`, so readers of the old version got the
--    new (maybe private) version's id. Now such a move is two rows, each naming the version whose
--    visibility it carries: a delete of the old target and a put of the new one. Invariant of
--    every row: `record_id` was readable by others before the change iff `public_before`, after
--    it iff `public_after`.
-- 2. Indexes for the page query `seq > ? AND (owner_id = ? OR public_before OR public_after)`:
--    a user who sees little reads their own rows and the public ones, not all history.
DROP TRIGGER wt_changes_labels_upd;
CREATE TRIGGER wt_changes_labels_upd AFTER UPDATE ON template_labels FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after)
        SELECT 'label', 'delete', OLD.template_id, OLD.label, OLD.owner_id, COALESCE((SELECT is_public FROM workflow_templates WHERE id = OLD.template_id), 0), 0
        WHERE OLD.template_id <> NEW.template_id OR OLD.owner_id <> NEW.owner_id OR OLD.label <> NEW.label;
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'put', NEW.template_id, NEW.label, NEW.owner_id,
        CASE WHEN OLD.template_id = NEW.template_id AND OLD.owner_id = NEW.owner_id AND OLD.label = NEW.label THEN COALESCE((SELECT is_public FROM workflow_templates WHERE id = NEW.template_id), 0) ELSE 0 END,
        COALESCE((SELECT is_public FROM workflow_templates WHERE id = NEW.template_id), 0));
END;
CREATE INDEX ix_wt_changes_owner_seq ON wt_changes (owner_id, seq);
CREATE INDEX ix_wt_changes_public_seq ON wt_changes (seq) WHERE public_before OR public_after;
