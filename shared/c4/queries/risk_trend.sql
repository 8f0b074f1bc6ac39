-- Daily churn-risk trend of a mall, a city, a country or the whole chain: guests scored, mean churn probability and high-risk guests per scoring day.
-- @param start_dt: date = latest-30 | First scoring day YYYY-MM-DD, or latest-N
-- @param end_dt: date = latest | Last scoring day YYYY-MM-DD, or latest / latest-N
-- @param mall_id: mall_id? | Only this mall, e.g. CL01 (null: every mall)
-- @param city: city? | Only malls in this city, e.g. Lima (null: every city)
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
SELECT s.dt,
       count(*) AS guests,
       round(avg(s.churn_probability), 4) AS avg_probability,
       sum(CASE WHEN s.risk_band = 'alto' THEN 1 ELSE 0 END) AS alto,
       round(avg(CASE WHEN s.risk_band = 'alto' THEN 1.0 ELSE 0.0 END), 4) AS share_alto
FROM scored AS s
JOIN malls AS m ON m.mall_id = s.mall_id
WHERE ($city IS NULL OR m.city = $city)
  AND ($country IS NULL OR m.country = $country)
GROUP BY s.dt
ORDER BY s.dt
