-- Every id a template or spec ever held (issue 15, `?id=`): a row is added by a trigger in the
-- transaction that inserts the record and is never removed, so the inserting commit itself
-- refuses (unique_violation) a record of the other kind under the id and any other user's
-- record under an id whose record was deleted (taking a deleted public id that stale
-- references still name). Only the same owner's record of the same kind may come back (an
-- import restoring a backup; the core refuses a `?id=` create of it, a late replay). Two
-- transactions inserting one id meet at the primary key: the second waits for the first.
-- `owner_id` follows the record's owner.
CREATE TABLE wt_record_ids (
    id VARCHAR(26) NOT NULL,
    kind VARCHAR(8) NOT NULL,
    owner_id VARCHAR(26) NOT NULL,
    CONSTRAINT wt_record_ids_pkey PRIMARY KEY (id),
    CONSTRAINT check_wt_record_ids_kind CHECK (kind IN ('template', 'spec'))
);
INSERT INTO wt_record_ids (id, kind, owner_id) SELECT id, 'template', owner_id FROM workflow_templates WHERE NOT is_builtin;
INSERT INTO wt_record_ids (id, kind, owner_id) SELECT id, 'spec', owner_id FROM template_specs WHERE id NOT IN (SELECT id FROM wt_record_ids);
-- Ids deleted since the change feed began (migration 008).
INSERT INTO wt_record_ids (id, kind, owner_id)
    SELECT record_id, MIN(kind), MIN(owner_id) FROM wt_changes
    WHERE kind IN ('template', 'spec') AND op = 'delete' AND record_id NOT IN (SELECT id FROM wt_record_ids)
    GROUP BY record_id;
CREATE FUNCTION wt_record_ids_put() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO wt_record_ids AS r (id, kind, owner_id) VALUES (NEW.id, TG_ARGV[0], NEW.owner_id)
            ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id WHERE r.kind = EXCLUDED.kind AND r.owner_id = EXCLUDED.owner_id;
        IF NOT FOUND THEN
            RAISE unique_violation USING MESSAGE = 'id ' || NEW.id || ' was used by another record';
        END IF;
    ELSIF OLD.owner_id <> NEW.owner_id THEN
        UPDATE wt_record_ids SET owner_id = NEW.owner_id WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER wt_record_ids_templates AFTER INSERT OR UPDATE OF owner_id ON workflow_templates FOR EACH ROW WHEN (NOT NEW.is_builtin) EXECUTE FUNCTION wt_record_ids_put('template');
CREATE TRIGGER wt_record_ids_specs AFTER INSERT OR UPDATE OF owner_id ON template_specs FOR EACH ROW EXECUTE FUNCTION wt_record_ids_put('spec');
