-- The curated rows to write, one output file per (dt, _key): _key is the batch stream
-- ("raw-sessions" for raw/sessions/) or the file id of a single raw file.  A file is rewritten
-- whole when it gets new rows, when visit ids of its rows change, or when it held rows of a raw
-- file processed again (those are replaced).
-- Inputs: visited, existing.
WITH touched AS (
    SELECT DISTINCT dt, _key FROM visited
    WHERE _is_new OR old_visit_id IS NULL OR old_visit_id <> visit_id
    UNION
    SELECT dt, _key FROM existing WHERE _excluded
)

SELECT
    v.session_id, v.customer_id, v.mall_id, v.zone, v.session_start, v.session_end, v.local_date,
    v.local_hour, v.dwell_minutes, v.bytes_down, v.bytes_up, v.device_os, v.login_method, v.signal_dbm,
    v.failed_logins,
    v.visit_id, v.source_file, v.ingested_at, v.dt, v._key, v._is_new
FROM visited AS v
JOIN touched AS t ON t.dt = v.dt AND t._key = v._key
