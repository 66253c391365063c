ALTER TABLE usage_totals DROP COLUMN cost_sum;
