-- Rejected rows for the quarantine: the original values (for duplicates, the trimmed values),
-- reason_code and reason.
-- Inputs: validated, duplicates, batch_files.
SELECT
    v.source_file,
    v.line_no,
    COALESCE(v.reason_code, 'duplicate') AS reason_code,
    CASE
        WHEN v.reason_code IS NOT NULL THEN v.reason
        WHEN d.dup_of = 'batch' THEN 'same session_id and content as an earlier row of this run'
        ELSE 'same session_id and content as a row already curated'
    END AS reason,
    v.raw_line,
    CASE WHEN v.reason_code IS NULL THEN v.t_session_id ELSE v.session_id END AS session_id,
    CASE WHEN v.reason_code IS NULL THEN v.t_customer_id ELSE v.customer_id END AS customer_id,
    CASE WHEN v.reason_code IS NULL THEN v.t_mall_id ELSE v.mall_id END AS mall_id,
    CASE WHEN v.reason_code IS NULL THEN v.t_zone ELSE v.zone END AS zone,
    CASE WHEN v.reason_code IS NULL THEN v.t_ap_id ELSE v.ap_id END AS ap_id,
    CASE WHEN v.reason_code IS NULL THEN v.t_start ELSE v.session_start END AS session_start,
    CASE WHEN v.reason_code IS NULL THEN v.t_end ELSE v.session_end END AS session_end,
    CASE WHEN v.reason_code IS NULL THEN v.t_dwell ELSE v.dwell_minutes END AS dwell_minutes,
    CASE WHEN v.reason_code IS NULL THEN v.t_bytes_down ELSE v.bytes_down END AS bytes_down,
    CASE WHEN v.reason_code IS NULL THEN v.t_bytes_up ELSE v.bytes_up END AS bytes_up,
    CASE WHEN v.reason_code IS NULL THEN v.t_device_os ELSE v.device_os END AS device_os,
    CASE WHEN v.reason_code IS NULL THEN v.t_login_method ELSE v.login_method END AS login_method,
    CASE WHEN v.reason_code IS NULL THEN v.t_signal ELSE v.signal_dbm END AS signal_dbm,
    CASE WHEN v.reason_code IS NULL THEN v.t_failed ELSE v.failed_logins END AS failed_logins,
    {{ingested_at}} AS rejected_at,
    f.fid AS _fid
FROM validated AS v
LEFT JOIN duplicates AS d ON d.source_file = v.source_file AND d.line_no = v.line_no
JOIN batch_files AS f ON f.source_file = v.source_file
WHERE v.reason_code IS NOT NULL OR d.line_no IS NOT NULL
