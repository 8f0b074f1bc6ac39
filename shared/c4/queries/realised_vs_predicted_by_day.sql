-- Realised versus predicted churn per scoring day and mall, for predictions whose horizon has passed (no visit in the horizon_days after the scoring day = churned).
-- @param horizon_days: int(1..365) | Prediction horizon in days (from the champion model card)
-- @param start_dt: date = first | First scoring day YYYY-MM-DD, or first / latest-N
-- @param end_dt: date = latest | Last scoring day YYYY-MM-DD, or latest / latest-N
-- @param mall_id: mall_id? | Only this mall, e.g. CL01 (null: every mall)
-- @param country: country? | Only malls in this country: CL, PE or CO (null: every country)
WITH last_visit_day AS (
    SELECT max(dt) AS max_dt FROM sessions
),
predictions AS (
    -- the latest score of each guest and day (a guest re-scored the same day counts once)
    SELECT p.customer_id,
           max_by(p.mall_id, p.scored_at) AS mall_id,
           p.dt,
           max_by(p.churn_probability, p.scored_at) AS churn_probability,
           max_by(p.risk_band, p.scored_at) AS risk_band,
           max(CAST(CAST(CAST(p.dt AS DATE) + INTERVAL '1' DAY * $horizon_days AS DATE) AS VARCHAR)) AS horizon_end
    FROM churn_predictions AS p
    WHERE CAST(CAST(CAST(p.dt AS DATE) + INTERVAL '1' DAY * $horizon_days AS DATE) AS VARCHAR)
          <= (SELECT max_dt FROM last_visit_day)
      AND p.dt >= $start_dt
      AND p.dt <= $end_dt
      AND ($mall_id IS NULL OR p.mall_id = $mall_id)
    GROUP BY p.customer_id, p.dt
),
visit_days AS (
    SELECT DISTINCT customer_id, dt FROM sessions WHERE customer_id IS NOT NULL
),
outcomes AS (
    SELECT pr.customer_id, pr.mall_id, pr.dt, pr.churn_probability, pr.risk_band, count(v.dt) AS return_days
    FROM predictions AS pr
    LEFT JOIN visit_days AS v
      ON v.customer_id = pr.customer_id AND v.dt > pr.dt AND v.dt <= pr.horizon_end
    GROUP BY pr.customer_id, pr.mall_id, pr.dt, pr.churn_probability, pr.risk_band
)
SELECT o.dt, o.mall_id, m.name AS mall_name, m.country,
       count(*) AS predictions,
       round(avg(o.churn_probability), 4) AS predicted_churn_rate,
       round(avg(CASE WHEN o.return_days = 0 THEN 1.0 ELSE 0.0 END), 4) AS realised_churn_rate,
       sum(CASE WHEN o.risk_band = 'alto' THEN 1 ELSE 0 END) AS alto,
       round(avg(CASE WHEN o.risk_band = 'alto' THEN (CASE WHEN o.return_days = 0 THEN 1.0 ELSE 0.0 END) END), 4)
           AS realised_churn_rate_alto
FROM outcomes AS o
JOIN malls AS m ON m.mall_id = o.mall_id
WHERE ($country IS NULL OR m.country = $country)
GROUP BY o.dt, o.mall_id, m.name, m.country
ORDER BY o.dt, o.mall_id
