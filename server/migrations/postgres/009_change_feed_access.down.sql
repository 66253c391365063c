DROP INDEX ix_wt_changes_public_seq;
DROP INDEX ix_wt_changes_owner_seq;
-- migration 008's function
CREATE OR REPLACE FUNCTION wt_changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
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
