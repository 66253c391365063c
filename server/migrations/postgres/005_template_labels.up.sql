-- Labels (SPEC section 6, issue 14): a name such as `production` pointing at one version of a
-- lineage (owner + case-insensitive name). One row per (owner, name key, label), so moving a
-- label is one conditional update of one row (`rev`). A label's version cannot be deleted (the
-- core refuses with HAS_LABELS; the foreign key makes a dangling row impossible here too).
CREATE TABLE template_labels (
    owner_id VARCHAR(26) NOT NULL,
    name_key TEXT NOT NULL,
    label VARCHAR(64) NOT NULL,
    template_id VARCHAR(26) NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    rev BIGINT NOT NULL DEFAULT 1,
    CONSTRAINT template_labels_pkey PRIMARY KEY (owner_id, name_key, label),
    CONSTRAINT template_labels_template_id_fkey FOREIGN KEY (template_id) REFERENCES workflow_templates (id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT check_template_labels_version CHECK (version >= 1)
);
CREATE INDEX idx_template_labels_template_id ON template_labels (template_id);
