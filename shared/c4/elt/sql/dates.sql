-- Calendar days present in the start/end timestamps (for the hour-level offset tables).
SELECT DISTINCT d FROM (
    SELECT TRY_CAST(SUBSTR(TRIM(session_start), 1, 10) AS DATE) AS d FROM staging
    UNION ALL
    SELECT TRY_CAST(SUBSTR(TRIM(session_end), 1, 10) AS DATE) AS d FROM staging
) AS x
WHERE d IS NOT NULL
