DROP TRIGGER wt_record_ids_specs ON template_specs;
DROP TRIGGER wt_record_ids_templates ON workflow_templates;
DROP FUNCTION wt_record_ids_put();
DROP TABLE wt_record_ids;
