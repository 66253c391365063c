-- Every id a template or spec ever held (issue 15, `?id=`): a row is added by a trigger in the
-- transaction that inserts the record and is never removed, so the inserting commit itself
-- refuses (as a unique violation) a record of the other kind under the id and any other user's
-- record under an id whose record was deleted (taking a deleted public id that stale
-- references still name). Only the same owner's record of the same kind may come back (an
-- import restoring a backup; the core refuses a `?id=` create of it, a late replay). `owner_id`
-- follows the record's owner.
CREATE TABLE wt_record_ids (
    id VARCHAR(26) NOT NULL PRIMARY KEY,
    kind VARCHAR(8) NOT NULL CHECK (kind IN ('template', 'spec')),
    owner_id VARCHAR(26) NOT NULL
);
INSERT INTO wt_record_ids (id, kind, owner_id) SELECT id, 'template', owner_id FROM workflow_templates WHERE NOT is_builtin;
INSERT INTO wt_record_ids (id, kind, owner_id) SELECT id, 'spec', owner_id FROM template_specs WHERE id NOT IN (SELECT id FROM wt_record_ids);
-- Ids deleted since the change feed began (migration 008).
INSERT INTO wt_record_ids (id, kind, owner_id)
    SELECT record_id, MIN(kind), MIN(owner_id) FROM wt_changes
    WHERE kind IN ('template', 'spec') AND op = 'delete' AND record_id NOT IN (SELECT id FROM wt_record_ids)
    GROUP BY record_id;
CREATE TRIGGER wt_record_ids_templates_ins AFTER INSERT ON workflow_templates FOR EACH ROW WHEN NOT NEW.is_builtin BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: wt_record_ids.id (used by another record)') FROM wt_record_ids WHERE id = NEW.id AND (kind <> 'template' OR owner_id <> NEW.owner_id);
    INSERT OR IGNORE INTO wt_record_ids (id, kind, owner_id) VALUES (NEW.id, 'template', NEW.owner_id);
END;
CREATE TRIGGER wt_record_ids_templates_owner AFTER UPDATE OF owner_id ON workflow_templates FOR EACH ROW WHEN NOT NEW.is_builtin AND OLD.owner_id <> NEW.owner_id BEGIN
    UPDATE wt_record_ids SET owner_id = NEW.owner_id WHERE id = NEW.id;
END;
CREATE TRIGGER wt_record_ids_specs_ins AFTER INSERT ON template_specs FOR EACH ROW BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: wt_record_ids.id (used by another record)') FROM wt_record_ids WHERE id = NEW.id AND (kind <> 'spec' OR owner_id <> NEW.owner_id);
    INSERT OR IGNORE INTO wt_record_ids (id, kind, owner_id) VALUES (NEW.id, 'spec', NEW.owner_id);
END;
CREATE TRIGGER wt_record_ids_specs_owner AFTER UPDATE OF owner_id ON template_specs FOR EACH ROW WHEN OLD.owner_id <> NEW.owner_id BEGIN
    UPDATE wt_record_ids SET owner_id = NEW.owner_id WHERE id = NEW.id;
END;
