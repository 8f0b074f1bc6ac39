-- The curated rows to write, one output file per (dt, _key): _key is the batch stream
-- ("raw-sessions" for raw/sessions/) or the file id of a single raw file.  A file is rewritten
-- whole when it gets new rows, when visit ids of its rows change, or when it held rows of a raw
-- file processed again (those are replaced).
-- Inputs: accepted, visit_ids, existing, batch_files.
WITH new_rows AS (
    SELECT
        a.session_id, a.customer_id, a.mall_id, a.zone, a.session_start, a.session_end,
        a.local_date, a.local_hour, a.dwell_minutes, a.bytes_down, a.bytes_up, a.device_os,
        a.login_method, a.signal_dbm, a.failed_logins, v.visit_id, a.source_file,
        {{ingested_at}} AS ingested_at,
        CAST(a.local_date AS VARCHAR) AS dt,
        f.fkey AS _key,
        TRUE AS _is_new
    FROM accepted AS a
    JOIN visit_ids AS v ON v.source_file = a.source_file AND v.line_no = a.line_no
    JOIN batch_files AS f ON f.source_file = a.source_file
),

old_rows AS (
    SELECT
        e.session_id, e.customer_id, e.mall_id, e.zone, e.session_start, e.session_end,
        e.local_date, e.local_hour, e.dwell_minutes, e.bytes_down, e.bytes_up, e.device_os,
        e.login_method, e.signal_dbm, e.failed_logins, v.visit_id, e.source_file,
        e.ingested_at, e.dt, e._key,
        e.visit_id IS NULL OR v.visit_id <> e.visit_id AS _changed
    FROM existing AS e
    JOIN visit_ids AS v ON v.rk = e._rk
    WHERE NOT e._excluded
),

touched AS (
    SELECT dt, _key FROM new_rows
    UNION
    SELECT dt, _key FROM old_rows WHERE _changed
    UNION
    SELECT dt, _key FROM existing WHERE _excluded
)

SELECT * FROM new_rows
UNION ALL
SELECT
    o.session_id, o.customer_id, o.mall_id, o.zone, o.session_start, o.session_end,
    o.local_date, o.local_hour, o.dwell_minutes, o.bytes_down, o.bytes_up, o.device_os,
    o.login_method, o.signal_dbm, o.failed_logins, o.visit_id, o.source_file, o.ingested_at,
    o.dt, o._key, FALSE AS _is_new
FROM old_rows AS o
JOIN touched AS t ON t.dt = o.dt AND t._key = o._key
