DROP TRIGGER wt_record_ids_specs_owner;
DROP TRIGGER wt_record_ids_specs_ins;
DROP TRIGGER wt_record_ids_templates_owner;
DROP TRIGGER wt_record_ids_templates_ins;
DROP TABLE wt_record_ids;
