-- Per raw file: data rows read and whether any row carries each required column.
-- A file none of whose rows has a required column is unreadable as a whole.
SELECT
    source_file,
    COUNT(*) AS rows_in,
    MAX(CASE WHEN has_customer_id THEN 1 ELSE 0 END) AS any_customer_id,
    MAX(CASE WHEN has_session_start THEN 1 ELSE 0 END) AS any_session_start
FROM staging
GROUP BY source_file
