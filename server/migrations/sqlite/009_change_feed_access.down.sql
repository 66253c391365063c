DROP INDEX ix_wt_changes_public_seq;
DROP INDEX ix_wt_changes_owner_seq;
DROP TRIGGER wt_changes_labels_upd;
CREATE TRIGGER wt_changes_labels_upd AFTER UPDATE ON template_labels FOR EACH ROW BEGIN
    INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'put', NEW.template_id, NEW.label, NEW.owner_id, COALESCE((SELECT is_public FROM workflow_templates WHERE id = OLD.template_id), 0), COALESCE((SELECT is_public FROM workflow_templates WHERE id = NEW.template_id), 0));
END;
