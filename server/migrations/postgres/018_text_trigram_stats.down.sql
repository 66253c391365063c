DROP VIEW wt_text_trigram_freqs;
DROP FUNCTION IF EXISTS wt_text_trigram_freqs_read();
DROP STATISTICS IF EXISTS template_text_description_trgm;
DROP STATISTICS IF EXISTS template_text_name_trgm;
