-- Back to 016: the content table takes any document again (the query then counts a document
-- without its template; see 017_text_docs_guard.up.sql).
DROP TRIGGER template_search_docs_template_bu;
DROP TRIGGER template_search_docs_template_bi;
