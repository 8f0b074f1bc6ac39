-- Rows per raw file and outcome ('accepted' or a reason code).
-- Inputs: curated_out, rejected_out.
SELECT source_file, 'accepted' AS outcome, COUNT(*) AS n
FROM curated_out
WHERE _is_new
GROUP BY source_file
UNION ALL
SELECT source_file, reason_code AS outcome, COUNT(*) AS n
FROM rejected_out
GROUP BY source_file, reason_code
