-- Risk distribution per mall and scoring day: guests scored, mean churn probability and guests per risk band.
-- @param start_dt: date = first | First scoring day YYYY-MM-DD, or first / latest-N
-- @param end_dt: date = latest | Last scoring day YYYY-MM-DD, or latest / latest-N
-- @param mall_id: mall_id? | Only this mall, e.g. CL01 (null: every mall)
-- @param country: country? | Only malls in this country: CL, PE or CO (null: every country)
WITH scored AS (
    -- the latest score of each guest and day (a guest re-scored the same day counts once)
    SELECT p.customer_id,
           max_by(p.mall_id, p.scored_at) AS mall_id,
           p.dt,
           max_by(p.churn_probability, p.scored_at) AS churn_probability,
           max_by(p.risk_band, p.scored_at) AS risk_band
    FROM churn_predictions AS p
    WHERE p.dt >= $start_dt
      AND p.dt <= $end_dt
      AND ($mall_id IS NULL OR p.mall_id = $mall_id)
    GROUP BY p.customer_id, p.dt
)
SELECT s.dt, s.mall_id, m.name AS mall_name, m.country,
       count(*) AS guests,
       round(avg(s.churn_probability), 4) AS avg_probability,
       sum(CASE WHEN s.risk_band = 'alto' THEN 1 ELSE 0 END) AS alto,
       sum(CASE WHEN s.risk_band = 'medio' THEN 1 ELSE 0 END) AS medio,
       sum(CASE WHEN s.risk_band = 'bajo' THEN 1 ELSE 0 END) AS bajo,
       round(avg(CASE WHEN s.risk_band = 'alto' THEN 1.0 ELSE 0.0 END), 4) AS share_alto
FROM scored AS s
JOIN malls AS m ON m.mall_id = s.mall_id
WHERE ($country IS NULL OR m.country = $country)
GROUP BY s.dt, s.mall_id, m.name, m.country
ORDER BY s.dt, s.mall_id
