-- Guests per risk band and country on one scoring day (the latest by default), optionally for one country.
-- @param dt: date = latest | Scoring day YYYY-MM-DD, or latest / latest-N (N days before the latest)
-- @param country: country? | Only this country: CL, PE or CO (null: every country)
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
SELECT m.country, m.country_name, min(s.dt) AS dt,
       count(*) AS guests,
       sum(CASE WHEN s.risk_band = 'alto' THEN 1 ELSE 0 END) AS alto,
       sum(CASE WHEN s.risk_band = 'medio' THEN 1 ELSE 0 END) AS medio,
       sum(CASE WHEN s.risk_band = 'bajo' THEN 1 ELSE 0 END) AS bajo,
       round(avg(CASE WHEN s.risk_band = 'alto' THEN 1.0 ELSE 0.0 END), 4) AS share_alto,
       round(avg(s.churn_probability), 4) AS avg_probability
FROM scored AS s
JOIN malls AS m ON m.mall_id = s.mall_id
WHERE ($country IS NULL OR m.country = $country)
GROUP BY m.country, m.country_name
ORDER BY m.country
