-- Visits: a guest's sessions in one mall and local day, where a session starting more than
-- 30 minutes after every earlier session of that day has ended starts a new visit.
-- visit_id = md5(customer_id | mall_id | local_date | first session_id of the visit).
-- Computed over the new rows and the rows already curated in the affected dt partitions.
-- New rows are the candidates that are not duplicates (read here, not copied to a table of
-- their own first).  Only the (guest, mall, day) groups that can change enter the windows:
-- those with a candidate row or with a row of a raw file processed again (replaced); a
-- curated row of any other group keeps its visit_id (a day file holding a million rows is
-- not re-sorted for a file of a few new guests); one without a visit_id is recomputed.
-- Output: every row (new and already curated) with all curated columns and its visit_id.
-- Inputs: candidates, duplicates, existing, batch_files.
WITH changed AS (
    SELECT DISTINCT c.customer_id, COALESCE(c.mall_id, '') AS mall_key, c.local_date
    FROM candidates AS c
    UNION
    SELECT x.customer_id, COALESCE(x.mall_id, '') AS mall_key, x.local_date
    FROM existing AS x
    WHERE x._excluded
),

kept AS (
    SELECT e.*, g.customer_id IS NOT NULL OR e.visit_id IS NULL AS _changed
    FROM existing AS e
    LEFT JOIN changed AS g
        ON g.customer_id = e.customer_id AND g.mall_key = COALESCE(e.mall_id, '') AND g.local_date = e.local_date
    WHERE NOT e._excluded
),

all_rows AS (
    SELECT
        a.session_id, a.customer_id, a.mall_id, a.zone, a.session_start, a.session_end,
        a.local_date, a.local_hour, a.dwell_minutes, a.bytes_down, a.bytes_up,
        a.device_os, a.login_method, a.signal_dbm, a.failed_logins,
        a.source_file, a.line_no, {{ingested_at}} AS ingested_at, CAST(a.local_date AS VARCHAR) AS dt,
        f.fkey AS _key, TRUE AS _is_new, CAST(NULL AS VARCHAR) AS old_visit_id, CAST(NULL AS BIGINT) AS rk
    FROM candidates AS a
    JOIN batch_files AS f ON f.source_file = a.source_file
    LEFT JOIN duplicates AS d ON d.source_file = a.source_file AND d.line_no = a.line_no
    WHERE d.line_no IS NULL
    UNION ALL
    SELECT
        e.session_id, e.customer_id, e.mall_id, e.zone, e.session_start, e.session_end,
        e.local_date, e.local_hour, e.dwell_minutes, e.bytes_down, e.bytes_up,
        e.device_os, e.login_method, e.signal_dbm, e.failed_logins,
        e.source_file, CAST(NULL AS BIGINT) AS line_no, e.ingested_at, e.dt, e._key, FALSE AS _is_new,
        e.visit_id AS old_visit_id, e._rk AS rk
    FROM kept AS e
    WHERE e._changed
),

ordered AS (
    SELECT
        r.*,
        MAX(COALESCE(r.session_end, r.session_start)) OVER (
            PARTITION BY r.customer_id, r.mall_id, r.local_date
            ORDER BY r.session_start, r.session_id, r.source_file, r.line_no, r.rk
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS prev_end
    FROM all_rows AS r
),

flagged AS (
    SELECT
        o.*,
        CASE WHEN o.prev_end IS NULL
            OR DATE_DIFF('microsecond', o.prev_end, o.session_start) > {{gap_us}}
            THEN 1 ELSE 0 END AS starts_visit
    FROM ordered AS o
),

firsts AS (
    -- the id of the session that started the current visit: the last visit start so far
    SELECT
        f.*,
        LAST_VALUE(CASE WHEN f.starts_visit = 1 THEN f.session_id END IGNORE NULLS) OVER (
            PARTITION BY f.customer_id, f.mall_id, f.local_date
            ORDER BY f.session_start, f.session_id, f.source_file, f.line_no, f.rk
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS first_session
    FROM flagged AS f
)

SELECT
    session_id, customer_id, mall_id, zone, session_start, session_end, local_date, local_hour,
    dwell_minutes, bytes_down, bytes_up, device_os, login_method, signal_dbm, failed_logins,
    MD5(CONCAT_WS('|', customer_id, COALESCE(mall_id, ''), CAST(local_date AS VARCHAR), first_session))
        AS visit_id,
    source_file, ingested_at, dt, _key, _is_new, old_visit_id
FROM firsts
UNION ALL
SELECT
    k.session_id, k.customer_id, k.mall_id, k.zone, k.session_start, k.session_end, k.local_date,
    k.local_hour, k.dwell_minutes, k.bytes_down, k.bytes_up, k.device_os, k.login_method, k.signal_dbm,
    k.failed_logins, k.visit_id, k.source_file, k.ingested_at, k.dt, k._key, FALSE AS _is_new,
    k.visit_id AS old_visit_id
FROM kept AS k
WHERE NOT k._changed
