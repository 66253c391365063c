DROP TRIGGER wt_changes_builtin_stats ON builtin_template_stats;
DROP TRIGGER wt_changes_labels ON template_labels;
DROP TRIGGER wt_changes_ratings ON template_ratings;
DROP TRIGGER wt_changes_specs ON template_specs;
DROP TRIGGER wt_changes_templates ON workflow_templates;
DROP FUNCTION wt_changes_log();
DROP TABLE wt_changes;
