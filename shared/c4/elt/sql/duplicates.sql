-- Exact duplicates: same session_id and content as an earlier row of this run ('batch') or
-- as a row already curated in an affected dt partition ('curated').  The first occurrence in
-- (source_file, line_no) order is kept.  Inputs: candidates, existing.
WITH multi AS (
    SELECT session_id FROM candidates GROUP BY session_id HAVING COUNT(*) > 1
),

ranked AS (
    SELECT
        c.source_file,
        c.line_no,
        ROW_NUMBER() OVER (
            PARTITION BY c.session_id, c.customer_id, c.mall_id, c.zone, c.session_start, c.session_end,
                c.dwell_minutes, c.bytes_down, c.bytes_up, c.device_os, c.login_method, c.signal_dbm,
                c.failed_logins
            ORDER BY c.source_file, c.line_no
        ) AS rn
    FROM candidates AS c
    WHERE c.session_id IN (SELECT m.session_id FROM multi AS m)
),

found AS (
    SELECT source_file, line_no, 'batch' AS dup_of FROM ranked WHERE rn > 1
    UNION ALL
    SELECT c.source_file, c.line_no, 'curated' AS dup_of
    FROM candidates AS c
    JOIN existing AS e
        ON NOT e._excluded
        AND e.session_id = c.session_id
        AND e.customer_id = c.customer_id
        AND e.session_start = c.session_start
        AND e.mall_id IS NOT DISTINCT FROM c.mall_id
        AND e.zone IS NOT DISTINCT FROM c.zone
        AND e.session_end IS NOT DISTINCT FROM c.session_end
        AND e.dwell_minutes IS NOT DISTINCT FROM c.dwell_minutes
        AND e.bytes_down IS NOT DISTINCT FROM c.bytes_down
        AND e.bytes_up IS NOT DISTINCT FROM c.bytes_up
        AND e.device_os IS NOT DISTINCT FROM c.device_os
        AND e.login_method IS NOT DISTINCT FROM c.login_method
        AND e.signal_dbm IS NOT DISTINCT FROM c.signal_dbm
        AND e.failed_logins IS NOT DISTINCT FROM c.failed_logins
)

SELECT source_file, line_no, MIN(dup_of) AS dup_of
FROM found
GROUP BY source_file, line_no
