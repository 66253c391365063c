DROP TRIGGER workflow_templates_tags_au;
CREATE TABLE template_tags_plain (
    template_id VARCHAR(26) NOT NULL REFERENCES workflow_templates (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    tag TEXT NOT NULL,
    PRIMARY KEY (template_id, tag)
);
INSERT INTO template_tags_plain SELECT template_id, tag FROM template_tags;
DROP TABLE template_tags;
ALTER TABLE template_tags_plain RENAME TO template_tags;
CREATE INDEX idx_template_tags_tag ON template_tags (tag, template_id);
