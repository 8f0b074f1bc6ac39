-- Rejected rows for the quarantine: the original values, reason_code and reason.
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
    v.session_id,
    v.customer_id,
    v.mall_id,
    v.zone,
    v.ap_id,
    v.session_start,
    v.session_end,
    v.dwell_minutes,
    v.bytes_down,
    v.bytes_up,
    v.device_os,
    v.login_method,
    v.signal_dbm,
    v.failed_logins,
    {{ingested_at}} AS rejected_at,
    f.fid AS _fid
FROM validated AS v
LEFT JOIN duplicates AS d ON d.source_file = v.source_file AND d.line_no = v.line_no
JOIN batch_files AS f ON f.source_file = v.source_file
WHERE v.reason_code IS NOT NULL OR d.line_no IS NOT NULL
