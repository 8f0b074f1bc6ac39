-- Calendar days (as text) present in the start/end timestamps, for the hour-level offset
-- tables; parsed in Python (invalid ones are ignored there).
SELECT DISTINCT d FROM (
    SELECT SUBSTR(TRIM(session_start), 1, 10) AS d FROM staging
    UNION
    SELECT SUBSTR(TRIM(session_end), 1, 10) AS d FROM staging
) AS x
WHERE d IS NOT NULL
