DROP TABLE template_labels;
