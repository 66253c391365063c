DROP TABLE usage_totals;
