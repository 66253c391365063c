DROP TRIGGER template_tags_counts_au ON template_tags;
DROP TRIGGER template_tags_counts_ad ON template_tags;
DROP TRIGGER template_tags_counts_ai ON template_tags;
DROP FUNCTION wt_tag_counts_follow();
DROP FUNCTION wt_tag_counts_move(TEXT[], templatecategory[], workflowtype[], BIGINT[]);
DROP FUNCTION wt_tag_pair_counts_move(TEXT[], TEXT[], templatecategory[], workflowtype[], BIGINT[]);
DROP INDEX idx_template_tags_uncopied;
DROP TABLE tag_pair_counts;
DROP TABLE tag_counts;
