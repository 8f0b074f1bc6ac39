-- Curated rows already in the affected dt partitions; rows of the raw files being processed
-- again are flagged _excluded (they are replaced, not compared against).
-- Inputs: existing_all (curated rows + dt, _key = output file name, _rk = row key), batch_files.
SELECT e.*, b.source_file IS NOT NULL AS _excluded
FROM existing_all AS e
LEFT JOIN batch_files AS b ON b.source_file = e.source_file AND b.fkey = e._key
