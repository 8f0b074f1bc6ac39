-- Validate and coerce every staged row against the data contract (docs/data-contract.md).
-- Output: one row per staged row with the original values, the typed values and, for a
-- rejected row, reason_code + reason (the first failing check wins).
-- Inputs: staging, unreadable_files, mall_dim, tz_local_hours, tz_utc_hours.
WITH trimmed AS (
    SELECT
        s.*,
        NULLIF(TRIM(s.session_id), '') AS t_session_id,
        NULLIF(TRIM(s.customer_id), '') AS t_customer_id,
        COALESCE(
            NULLIF(TRIM(s.mall_id), ''),
            NULLIF(REGEXP_EXTRACT(s.source_file, 'mall_id=([^/]+)/', 1), '')
        ) AS t_mall_id,
        NULLIF(TRIM(s.zone), '') AS t_zone,
        NULLIF(TRIM(s.ap_id), '') AS t_ap_id,
        NULLIF(TRIM(s.session_start), '') AS t_start,
        NULLIF(TRIM(s.session_end), '') AS t_end,
        NULLIF(TRIM(s.dwell_minutes), '') AS t_dwell,
        NULLIF(TRIM(s.bytes_down), '') AS t_bytes_down,
        NULLIF(TRIM(s.bytes_up), '') AS t_bytes_up,
        NULLIF(TRIM(s.device_os), '') AS t_device_os,
        NULLIF(TRIM(s.login_method), '') AS t_login_method,
        NULLIF(TRIM(s.signal_dbm), '') AS t_signal,
        NULLIF(TRIM(s.failed_logins), '') AS t_failed
    FROM staging AS s
    LEFT JOIN unreadable_files AS u ON u.source_file = s.source_file
    WHERE u.source_file IS NULL
),

parts AS (
    SELECT
        t.*,
        m.timezone AS tz,
        SUBSTR(t.t_start, 12) AS s_rest,
        SUBSTR(t.t_end, 12) AS e_rest,
        CASE WHEN REGEXP_MATCHES(t.t_dwell, '{{num_re}}') THEN TRY_CAST(t.t_dwell AS DOUBLE) END AS n_dwell,
        CASE WHEN REGEXP_MATCHES(t.t_bytes_down, '{{num_re}}') THEN TRY_CAST(t.t_bytes_down AS DOUBLE) END AS n_bytes_down,
        CASE WHEN REGEXP_MATCHES(t.t_bytes_up, '{{num_re}}') THEN TRY_CAST(t.t_bytes_up AS DOUBLE) END AS n_bytes_up,
        CASE WHEN REGEXP_MATCHES(t.t_signal, '{{num_re}}') THEN TRY_CAST(t.t_signal AS DOUBLE) END AS n_signal,
        CASE WHEN REGEXP_MATCHES(t.t_failed, '{{num_re}}') THEN TRY_CAST(t.t_failed AS DOUBLE) END AS n_failed
    FROM trimmed AS t
    LEFT JOIN mall_dim AS m ON m.mall_id = t.t_mall_id
),

-- ISO 8601 split without regular expressions (they dominate the cost on millions of rows):
-- <date>[(T| )<time>[ ][Z|+hh|+hhmm|+hh:mm]]; the offset starts at the last 'Z' or first sign.
split AS (
    SELECT
        p.*,
        CASE WHEN UPPER(SUBSTR(p.s_rest, LENGTH(p.s_rest), 1)) = 'Z' THEN LENGTH(p.s_rest)
            ELSE GREATEST(STRPOS(p.s_rest, '+'), STRPOS(p.s_rest, '-')) END AS s_p,
        CASE WHEN UPPER(SUBSTR(p.e_rest, LENGTH(p.e_rest), 1)) = 'Z' THEN LENGTH(p.e_rest)
            ELSE GREATEST(STRPOS(p.e_rest, '+'), STRPOS(p.e_rest, '-')) END AS e_p
    FROM parts AS p
),

pieces AS (
    SELECT
        x.*,
        TRIM(CASE WHEN x.s_p > 0 THEN SUBSTR(x.s_rest, 1, x.s_p - 1) ELSE x.s_rest END) AS s_time,
        CASE WHEN x.s_p > 0 THEN SUBSTR(x.s_rest, x.s_p) ELSE '' END AS s_off,
        TRIM(CASE WHEN x.e_p > 0 THEN SUBSTR(x.e_rest, 1, x.e_p - 1) ELSE x.e_rest END) AS e_time,
        CASE WHEN x.e_p > 0 THEN SUBSTR(x.e_rest, x.e_p) ELSE '' END AS e_off
    FROM split AS x
),

naive AS (
    SELECT
        p.*,
        CASE WHEN LENGTH(p.t_start) >= 10 AND SUBSTR(p.t_start, 5, 1) = '-' AND SUBSTR(p.t_start, 8, 1) = '-'
            AND (LENGTH(p.t_start) = 10 OR (SUBSTR(p.t_start, 11, 1) IN ('T', ' ') AND p.s_time <> ''))
            THEN TRY_CAST(SUBSTR(p.t_start, 1, 10) || ' ' || CASE
                WHEN p.s_time = '' THEN '00:00:00'
                WHEN LENGTH(p.s_time) = 5 THEN p.s_time || ':00'
                ELSE SUBSTR(p.s_time, 1, 15) END AS TIMESTAMP)
        END AS s_naive,
        CASE WHEN LENGTH(p.t_end) >= 10 AND SUBSTR(p.t_end, 5, 1) = '-' AND SUBSTR(p.t_end, 8, 1) = '-'
            AND (LENGTH(p.t_end) = 10 OR (SUBSTR(p.t_end, 11, 1) IN ('T', ' ') AND p.e_time <> ''))
            THEN TRY_CAST(SUBSTR(p.t_end, 1, 10) || ' ' || CASE
                WHEN p.e_time = '' THEN '00:00:00'
                WHEN LENGTH(p.e_time) = 5 THEN p.e_time || ':00'
                ELSE SUBSTR(p.e_time, 1, 15) END AS TIMESTAMP)
        END AS e_naive,
        (CASE WHEN SUBSTR(p.s_off, 1, 1) = '-' THEN -1 ELSE 1 END) * CASE
            WHEN UPPER(p.s_off) = 'Z' THEN 0
            WHEN LENGTH(p.s_off) = 3 THEN TRY_CAST(SUBSTR(p.s_off, 2, 2) AS INTEGER) * 3600
            WHEN LENGTH(p.s_off) = 5 THEN TRY_CAST(SUBSTR(p.s_off, 2, 2) AS INTEGER) * 3600
                + TRY_CAST(SUBSTR(p.s_off, 4, 2) AS INTEGER) * 60
            WHEN LENGTH(p.s_off) = 6 AND SUBSTR(p.s_off, 4, 1) = ':'
                THEN TRY_CAST(SUBSTR(p.s_off, 2, 2) AS INTEGER) * 3600
                + TRY_CAST(SUBSTR(p.s_off, 5, 2) AS INTEGER) * 60
        END AS s_off_s,
        (CASE WHEN SUBSTR(p.e_off, 1, 1) = '-' THEN -1 ELSE 1 END) * CASE
            WHEN UPPER(p.e_off) = 'Z' THEN 0
            WHEN LENGTH(p.e_off) = 3 THEN TRY_CAST(SUBSTR(p.e_off, 2, 2) AS INTEGER) * 3600
            WHEN LENGTH(p.e_off) = 5 THEN TRY_CAST(SUBSTR(p.e_off, 2, 2) AS INTEGER) * 3600
                + TRY_CAST(SUBSTR(p.e_off, 4, 2) AS INTEGER) * 60
            WHEN LENGTH(p.e_off) = 6 AND SUBSTR(p.e_off, 4, 1) = ':'
                THEN TRY_CAST(SUBSTR(p.e_off, 2, 2) AS INTEGER) * 3600
                + TRY_CAST(SUBSTR(p.e_off, 5, 2) AS INTEGER) * 60
        END AS e_off_s
    FROM pieces AS p
),

utc AS (
    SELECT
        n.*,
        CASE
            WHEN n.s_off_s IS NOT NULL THEN n.s_naive - TO_SECONDS(n.s_off_s)
            WHEN n.tz IS NULL THEN n.s_naive
            ELSE n.s_naive - TO_SECONDS(ls.offset_seconds)
        END AS s_utc,
        CASE
            WHEN n.e_off_s IS NOT NULL THEN n.e_naive - TO_SECONDS(n.e_off_s)
            WHEN n.tz IS NULL THEN n.e_naive
            ELSE n.e_naive - TO_SECONDS(le.offset_seconds)
        END AS e_utc
    FROM naive AS n
    LEFT JOIN tz_local_hours AS ls
        ON ls.tz = n.tz AND ls.local_hour = DATE_TRUNC('hour', n.s_naive) AND n.s_off_s IS NULL
    LEFT JOIN tz_local_hours AS le
        ON le.tz = n.tz AND le.local_hour = DATE_TRUNC('hour', n.e_naive) AND n.e_off_s IS NULL
),

local_time AS (
    SELECT
        u.*,
        CASE WHEN u.tz IS NULL THEN u.s_naive ELSE u.s_utc + TO_SECONDS(h.offset_seconds) END AS s_local
    FROM utc AS u
    LEFT JOIN tz_utc_hours AS h ON h.tz = u.tz AND h.utc_hour = DATE_TRUNC('hour', u.s_utc)
),

checked AS (
    SELECT
        l.*,
        CASE
            WHEN l.parse_error IS NOT NULL THEN 'malformed'
            WHEN l.t_customer_id IS NULL OR l.t_start IS NULL THEN 'missing_required'
            WHEN l.s_utc IS NULL OR l.s_local IS NULL OR (l.s_off <> '' AND l.s_off_s IS NULL) THEN 'bad_timestamp'
            WHEN l.t_end IS NOT NULL AND (l.e_utc IS NULL OR (l.e_off <> '' AND l.e_off_s IS NULL)) THEN 'bad_timestamp'
            WHEN l.t_dwell IS NOT NULL AND NOT COALESCE(l.n_dwell >= 0 AND l.n_dwell < 1e9, FALSE) THEN 'bad_value'
            WHEN l.t_bytes_down IS NOT NULL
                AND NOT COALESCE(l.n_bytes_down >= 0 AND l.n_bytes_down < 1e18 AND l.n_bytes_down = FLOOR(l.n_bytes_down), FALSE)
                THEN 'bad_value'
            WHEN l.t_bytes_up IS NOT NULL
                AND NOT COALESCE(l.n_bytes_up >= 0 AND l.n_bytes_up < 1e18 AND l.n_bytes_up = FLOOR(l.n_bytes_up), FALSE)
                THEN 'bad_value'
            WHEN l.t_signal IS NOT NULL AND NOT COALESCE(l.n_signal >= -120 AND l.n_signal <= 0, FALSE) THEN 'bad_value'
            WHEN l.t_failed IS NOT NULL
                AND NOT COALESCE(l.n_failed >= 0 AND l.n_failed < 1e9 AND l.n_failed = FLOOR(l.n_failed), FALSE)
                THEN 'bad_value'
            WHEN l.e_utc < l.s_utc THEN 'bad_value'
            WHEN l.s_utc > {{future_limit}} THEN 'future_timestamp'
            WHEN {{reject_unknown_malls}} AND l.t_mall_id IS NOT NULL AND l.tz IS NULL THEN 'unknown_mall'
        END AS reason_code
    FROM local_time AS l
)

-- Original values are kept for rejected rows only (the quarantine); accepted rows need the
-- trimmed ones.
SELECT
    c.source_file,
    c.line_no,
    c.raw_line,
    CASE WHEN c.reason_code IS NOT NULL THEN c.session_id END AS session_id,
    CASE WHEN c.reason_code IS NOT NULL THEN c.customer_id END AS customer_id,
    CASE WHEN c.reason_code IS NOT NULL THEN c.mall_id END AS mall_id,
    CASE WHEN c.reason_code IS NOT NULL THEN c.zone END AS zone,
    CASE WHEN c.reason_code IS NOT NULL THEN c.ap_id END AS ap_id,
    CASE WHEN c.reason_code IS NOT NULL THEN c.session_start END AS session_start,
    CASE WHEN c.reason_code IS NOT NULL THEN c.session_end END AS session_end,
    CASE WHEN c.reason_code IS NOT NULL THEN c.dwell_minutes END AS dwell_minutes,
    CASE WHEN c.reason_code IS NOT NULL THEN c.bytes_down END AS bytes_down,
    CASE WHEN c.reason_code IS NOT NULL THEN c.bytes_up END AS bytes_up,
    CASE WHEN c.reason_code IS NOT NULL THEN c.device_os END AS device_os,
    CASE WHEN c.reason_code IS NOT NULL THEN c.login_method END AS login_method,
    CASE WHEN c.reason_code IS NOT NULL THEN c.signal_dbm END AS signal_dbm,
    CASE WHEN c.reason_code IS NOT NULL THEN c.failed_logins END AS failed_logins,
    c.reason_code,
    CASE c.reason_code
        WHEN 'malformed' THEN 'cannot parse the line: ' || c.parse_error
        WHEN 'missing_required' THEN CASE WHEN c.t_customer_id IS NULL
            THEN 'customer_id is empty' ELSE 'session_start is empty' END
        WHEN 'bad_timestamp' THEN CASE WHEN c.s_utc IS NULL OR c.s_local IS NULL OR (c.s_off <> '' AND c.s_off_s IS NULL)
            THEN 'session_start is not an ISO 8601 date/time: ' || c.t_start
            ELSE 'session_end is not an ISO 8601 date/time: ' || c.t_end END
        WHEN 'bad_value' THEN CASE
            WHEN c.t_dwell IS NOT NULL AND NOT COALESCE(c.n_dwell >= 0 AND c.n_dwell < 1e9, FALSE)
                THEN 'dwell_minutes is negative or not a number: ' || c.t_dwell
            WHEN c.t_bytes_down IS NOT NULL AND NOT COALESCE(c.n_bytes_down >= 0 AND c.n_bytes_down < 1e18
                AND c.n_bytes_down = FLOOR(c.n_bytes_down), FALSE)
                THEN 'bytes_down is not a non-negative integer: ' || c.t_bytes_down
            WHEN c.t_bytes_up IS NOT NULL AND NOT COALESCE(c.n_bytes_up >= 0 AND c.n_bytes_up < 1e18
                AND c.n_bytes_up = FLOOR(c.n_bytes_up), FALSE)
                THEN 'bytes_up is not a non-negative integer: ' || c.t_bytes_up
            WHEN c.t_signal IS NOT NULL AND NOT COALESCE(c.n_signal >= -120 AND c.n_signal <= 0, FALSE)
                THEN 'signal_dbm is outside [-120, 0] or not a number: ' || c.t_signal
            WHEN c.t_failed IS NOT NULL AND NOT COALESCE(c.n_failed >= 0 AND c.n_failed < 1e9
                AND c.n_failed = FLOOR(c.n_failed), FALSE)
                THEN 'failed_logins is not a non-negative integer: ' || c.t_failed
            ELSE 'session_end ' || c.t_end || ' is before session_start ' || c.t_start END
        WHEN 'future_timestamp' THEN 'session_start ' || c.t_start
            || ' is more than one day after the reference time {{reference}}'
        WHEN 'unknown_mall' THEN 'mall_id ' || c.t_mall_id || ' is not in the mall dimension'
    END AS reason,
    c.t_session_id,
    c.t_customer_id,
    c.t_mall_id,
    c.t_zone,
    c.t_ap_id,
    c.t_start,
    c.t_end,
    c.t_dwell,
    c.t_bytes_down,
    c.t_bytes_up,
    c.t_device_os,
    c.t_login_method,
    c.t_signal,
    c.t_failed,
    c.tz IS NOT NULL AS known_mall,
    c.s_utc AS session_start_utc,
    CASE WHEN c.reason_code IS NULL THEN COALESCE(c.e_utc, CASE WHEN c.t_end IS NULL AND c.n_dwell IS NOT NULL
        THEN c.s_utc + TO_SECONDS(c.n_dwell * 60) END) END AS session_end_utc,
    CAST(c.s_local AS DATE) AS local_date,
    CASE WHEN c.s_time <> '' THEN CAST(HOUR(c.s_local) AS INTEGER) END AS local_hour,
    CASE WHEN c.reason_code IS NULL THEN COALESCE(c.n_dwell, CASE WHEN c.e_utc IS NOT NULL
        THEN DATE_DIFF('microsecond', c.s_utc, c.e_utc) / 60000000.0 END) END AS dwell_value,
    CASE WHEN c.reason_code IS NULL THEN TRY_CAST(c.n_bytes_down AS BIGINT) END AS bytes_down_value,
    CASE WHEN c.reason_code IS NULL THEN TRY_CAST(c.n_bytes_up AS BIGINT) END AS bytes_up_value,
    c.n_signal AS signal_value,
    CASE WHEN c.reason_code IS NULL THEN TRY_CAST(c.n_failed AS INTEGER) END AS failed_value
FROM checked AS c
