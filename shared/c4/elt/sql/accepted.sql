-- Candidates that are not duplicates.  Inputs: candidates, duplicates.
SELECT c.*
FROM candidates AS c
LEFT JOIN duplicates AS d ON d.source_file = c.source_file AND d.line_no = c.line_no
WHERE d.line_no IS NULL
