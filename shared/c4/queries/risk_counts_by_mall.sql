-- Guests per risk band and mall on one scoring day (the latest by default), optionally for one city or country.
-- @param dt: date = latest | Scoring day YYYY-MM-DD, or latest / latest-N (N days before the latest)
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
    WHERE p.dt = $dt
    GROUP BY p.customer_id, p.dt
)
SELECT s.mall_id, m.name AS mall_name, m.country, min(s.dt) AS dt,
       count(*) AS guests,
       sum(CASE WHEN s.risk_band = 'alto' THEN 1 ELSE 0 END) AS alto,
       sum(CASE WHEN s.risk_band = 'medio' THEN 1 ELSE 0 END) AS medio,
       sum(CASE WHEN s.risk_band = 'bajo' THEN 1 ELSE 0 END) AS bajo,
       round(avg(CASE WHEN s.risk_band = 'alto' THEN 1.0 ELSE 0.0 END), 4) AS share_alto,
       round(avg(s.churn_probability), 4) AS avg_probability
FROM scored AS s
JOIN malls AS m ON m.mall_id = s.mall_id
WHERE ($mall_id IS NULL OR s.mall_id = $mall_id)
  AND ($city IS NULL OR m.city = $city)
  AND ($country IS NULL OR m.country = $country)
GROUP BY s.mall_id, m.name, m.country
ORDER BY alto DESC, s.mall_id
