DROP VIEW wt_text_trigram_freqs;
DROP STATISTICS IF EXISTS template_text_description_trgm;
DROP STATISTICS IF EXISTS template_text_name_trgm;
