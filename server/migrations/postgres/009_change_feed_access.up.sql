-- The change feed's access fixes (see feed.rs and the SQLite version of this migration):
-- 1. A label that moves (another version, owner or name) was one row naming the new version
--    with the old version's visibility as `public_before`, so readers of the old version got the
--    new (maybe private) version's id. Now it is two rows: a delete of the old target and a put
--    of the new one. Invariant of every row: `record_id` was readable by others before the
--    change iff `public_before`, after it iff `public_after`.
-- 2. Indexes for the page query `seq > ? AND (owner_id = ? OR public_before OR public_after)`:
--    a user who sees little reads their own rows and the public ones, not all history.
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
        -- Others see a label when they can see the version it points at (catalog::labels). A
        -- label that moves (version, owner or name) is a delete of the old target and a put of
        -- the new one: each row names the version whose visibility it carries.
        IF TG_OP <> 'INSERT' THEN
            old_public := COALESCE((SELECT is_public FROM workflow_templates WHERE id = OLD.template_id), false);
        END IF;
        IF TG_OP = 'DELETE' THEN
            INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'delete', OLD.template_id, OLD.label, OLD.owner_id, old_public, false);
        ELSE
            IF TG_OP = 'UPDATE' AND (OLD.template_id <> NEW.template_id OR OLD.owner_id <> NEW.owner_id OR OLD.label <> NEW.label) THEN
                INSERT INTO wt_changes (kind, op, record_id, label, owner_id, public_before, public_after) VALUES ('label', 'delete', OLD.template_id, OLD.label, OLD.owner_id, old_public, false);
                old_public := false;
            END IF;
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

CREATE INDEX ix_wt_changes_owner_seq ON wt_changes (owner_id, seq);
CREATE INDEX ix_wt_changes_public_seq ON wt_changes (seq) WHERE public_before OR public_after;
