-- The change feed (issue 15): one row per committed write of a template, spec, rating, label or
-- built-in's statistics, appended by triggers in the writing transaction itself, with what the
-- feed's access rule needs (the record's owner, whether it was public before and after), so
-- `GET /v1/changes` filters by visibility in SQL. Cursor = `seq`.
--
-- Cursor safety: sequence values are taken before commit and commit out of order, so a reader
-- of `seq > cursor` could pass a row that commits later. Every transaction that appends here
-- holds the transaction-level advisory lock 7774002 (the server's writes take it first thing,
-- see store.rs `commit`; the triggers take it too, a no-op when held), so change rows are
-- numbered and committed one transaction at a time: `seq` order is commit order and every
-- row below the highest committed `seq` is already committed.
CREATE TABLE wt_changes (
    seq BIGSERIAL NOT NULL,
    kind VARCHAR(16) NOT NULL,
    op VARCHAR(8) NOT NULL,
    record_id VARCHAR(26) NOT NULL,
    label VARCHAR(64),
    owner_id VARCHAR(26) NOT NULL,
    public_before BOOLEAN NOT NULL,
    public_after BOOLEAN NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT wt_changes_pkey PRIMARY KEY (seq),
    CONSTRAINT check_wt_changes_kind CHECK (kind IN ('template', 'spec', 'rating', 'label', 'builtin_stats')),
    CONSTRAINT check_wt_changes_op CHECK (op IN ('put', 'delete'))
);

CREATE FUNCTION wt_changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_public BOOLEAN := false;
    new_public BOOLEAN := false;
BEGIN
    IF TG_TABLE_NAME = 'workflow_templates' THEN
        -- The built-ins' shadow rows are the server's own bookkeeping, not records.
        IF (TG_OP = 'DELETE' AND OLD.is_builtin) OR (TG_OP <> 'DELETE' AND NEW.is_builtin) THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock(7774002);
    IF TG_TABLE_NAME = 'workflow_templates' THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('template', 'delete', OLD.id, OLD.owner_id, OLD.is_public, false);
            RETURN NULL;
        END IF;
        IF TG_OP = 'UPDATE' THEN
            old_public := OLD.is_public;
            IF OLD.owner_id <> NEW.owner_id THEN
                INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('template', 'delete', OLD.id, OLD.owner_id, OLD.is_public, false);
                old_public := false;
            END IF;
        END IF;
        INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('template', 'put', NEW.id, NEW.owner_id, old_public, NEW.is_public);
    ELSIF TG_TABLE_NAME = 'template_specs' THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('spec', 'delete', OLD.id, OLD.owner_id, false, false);
        ELSE
            INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('spec', 'put', NEW.id, NEW.owner_id, false, false);
        END IF;
    ELSIF TG_TABLE_NAME = 'template_ratings' THEN
        -- A rating row is its rater's alone; the template's aggregate is a template change.
        IF TG_OP = 'DELETE' THEN
            INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('rating', 'delete', OLD.template_id, OLD.user_id, false, false);
        ELSE
            INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('rating', 'put', NEW.template_id, NEW.user_id, false, false);
        END IF;
    ELSIF TG_TABLE_NAME = 'template_labels' THEN
        -- Others see a label when they can see the version it points at (catalog::labels).
        IF TG_OP <> 'INSERT' THEN
            old_public := COALESCE((SELECT is_public FROM workflow_templates WHERE id = OLD.template_id), false);
        END IF;
        IF TG_OP = 'DELETE' THEN
            INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'delete', OLD.template_id, OLD.label, OLD.owner_id, old_public, false);
        ELSE
            new_public := COALESCE((SELECT is_public FROM workflow_templates WHERE id = NEW.template_id), false);
            INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'put', NEW.template_id, NEW.label, NEW.owner_id, old_public, new_public);
        END IF;
    ELSIF TG_TABLE_NAME = 'builtin_template_stats' THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('builtin_stats', 'delete', OLD.id, '00000000000000000000000000', true, true);
        ELSE
            INSERT INTO wt_changes (kind, op, record_id, owner_id, public_before, public_after) VALUES ('builtin_stats', 'put', NEW.id, '00000000000000000000000000', true, true);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER wt_changes_templates AFTER INSERT OR UPDATE OR DELETE ON workflow_templates FOR EACH ROW EXECUTE FUNCTION wt_changes_log();
CREATE TRIGGER wt_changes_specs AFTER INSERT OR UPDATE OR DELETE ON template_specs FOR EACH ROW EXECUTE FUNCTION wt_changes_log();
CREATE TRIGGER wt_changes_ratings AFTER INSERT OR UPDATE OR DELETE ON template_ratings FOR EACH ROW EXECUTE FUNCTION wt_changes_log();
CREATE TRIGGER wt_changes_labels AFTER INSERT OR UPDATE OR DELETE ON template_labels FOR EACH ROW EXECUTE FUNCTION wt_changes_log();
CREATE TRIGGER wt_changes_builtin_stats AFTER INSERT OR UPDATE OR DELETE ON builtin_template_stats FOR EACH ROW EXECUTE FUNCTION wt_changes_log();
