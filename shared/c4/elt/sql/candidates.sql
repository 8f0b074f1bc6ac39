-- Rows that passed validation, typed, with the pseudonymised customer_id and a session_id
-- (a deterministic hash of the row's content when the source has none).
-- Inputs: validated, pseudonyms.
SELECT
    v.source_file,
    v.line_no,
    COALESCE(v.t_session_id, MD5(CONCAT_WS('|',
        p.pseudo_id, COALESCE(v.t_mall_id, ''), COALESCE(v.t_zone, ''), COALESCE(v.t_ap_id, ''),
        v.t_start, COALESCE(v.t_end, ''), COALESCE(v.t_dwell, ''), COALESCE(v.t_bytes_down, ''),
        COALESCE(v.t_bytes_up, ''), COALESCE(v.t_device_os, ''), COALESCE(v.t_login_method, ''),
        COALESCE(v.t_signal, ''), COALESCE(v.t_failed, '')))) AS session_id,
    p.pseudo_id AS customer_id,
    v.t_mall_id AS mall_id,
    v.t_zone AS zone,
    v.session_start_utc AS session_start,
    v.session_end_utc AS session_end,
    v.local_date,
    v.local_hour,
    v.dwell_value AS dwell_minutes,
    v.bytes_down_value AS bytes_down,
    v.bytes_up_value AS bytes_up,
    v.t_device_os AS device_os,
    v.t_login_method AS login_method,
    v.signal_value AS signal_dbm,
    v.failed_value AS failed_logins
FROM validated AS v
JOIN pseudonyms AS p ON p.raw_id = v.t_customer_id
WHERE v.reason_code IS NULL
