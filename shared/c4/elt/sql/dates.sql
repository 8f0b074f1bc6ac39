-- Calendar days (as text) present in the start/end timestamps, for the hour-level offset
-- tables; parsed in Python (invalid ones are ignored there).  One pass over distinct
-- (start, end) day pairs.  TRIM (costly on millions of rows) only for a value that does not
-- start with a digit: trimming the end changes the first ten characters only of a value too
-- short to be a day.
SELECT DISTINCT
    SUBSTR(CASE WHEN SUBSTR(session_start, 1, 1) BETWEEN '0' AND '9' THEN session_start
        ELSE TRIM(session_start) END, 1, 10) AS s,
    SUBSTR(CASE WHEN SUBSTR(session_end, 1, 1) BETWEEN '0' AND '9' THEN session_end
        ELSE TRIM(session_end) END, 1, 10) AS e
FROM staging
