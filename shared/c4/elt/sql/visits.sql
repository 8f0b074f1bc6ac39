-- Visits: a guest's sessions in one mall and local day, where a session starting more than
-- 30 minutes after every earlier session of that day has ended starts a new visit.
-- visit_id = md5(customer_id | mall_id | local_date | first session_id of the visit).
-- Computed over the new rows and the rows already curated in the affected dt partitions.
-- Inputs: accepted, existing.
WITH all_rows AS (
    SELECT
        session_id, customer_id, mall_id, local_date, session_start, session_end, source_file,
        line_no, CAST(NULL AS BIGINT) AS rk
    FROM accepted
    UNION ALL
    SELECT
        session_id, customer_id, mall_id, local_date, session_start, session_end, source_file,
        CAST(NULL AS BIGINT) AS line_no, _rk AS rk
    FROM existing
    WHERE NOT _excluded
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

numbered AS (
    SELECT
        f.*,
        SUM(f.starts_visit) OVER (
            PARTITION BY f.customer_id, f.mall_id, f.local_date
            ORDER BY f.session_start, f.session_id, f.source_file, f.line_no, f.rk
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS visit_no
    FROM flagged AS f
),

firsts AS (
    SELECT
        n.*,
        FIRST_VALUE(n.session_id) OVER (
            PARTITION BY n.customer_id, n.mall_id, n.local_date, n.visit_no
            ORDER BY n.session_start, n.session_id, n.source_file, n.line_no, n.rk
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS first_session
    FROM numbered AS n
)

SELECT
    source_file,
    line_no,
    rk,
    MD5(CONCAT_WS('|', customer_id, COALESCE(mall_id, ''), CAST(local_date AS VARCHAR), first_session))
        AS visit_id
FROM firsts
