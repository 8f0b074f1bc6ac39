-- Rows per raw file and outcome ('accepted' or a reason code): the new rows given visit ids,
-- and the rows validation rejected or found to be duplicates (the rows of curated_out with
-- _is_new and of rejected_out, counted before those are made).
-- Inputs: visited, validated, duplicates.
SELECT source_file, 'accepted' AS outcome, COUNT(*) AS n
FROM visited
WHERE _is_new
GROUP BY source_file
UNION ALL
SELECT v.source_file, COALESCE(v.reason_code, 'duplicate') AS outcome, COUNT(*) AS n
FROM validated AS v
LEFT JOIN duplicates AS d ON d.source_file = v.source_file AND d.line_no = v.line_no
WHERE v.reason_code IS NOT NULL OR d.line_no IS NOT NULL
GROUP BY v.source_file, COALESCE(v.reason_code, 'duplicate')
