-- Change of each mall's mean churn probability between two scoring days (by default the latest day and seven days before); most improved first.
-- @param start_dt: date = latest-7 | Earlier scoring day YYYY-MM-DD, or latest-N
-- @param end_dt: date = latest | Later scoring day YYYY-MM-DD, or latest / latest-N
-- @param country: country? | Only malls in this country: CL, PE or CO (null: every country)
-- @param worst_first: int(0..1) = 0 | 0: most improved (largest drop) first; 1: most worsened first
WITH scored AS (
    -- the latest score of each guest and day (a guest re-scored the same day counts once)
    SELECT p.customer_id,
           max_by(p.mall_id, p.scored_at) AS mall_id,
           p.dt,
           max_by(p.churn_probability, p.scored_at) AS churn_probability,
           max_by(p.risk_band, p.scored_at) AS risk_band
    FROM churn_predictions AS p
    WHERE p.dt = $start_dt OR p.dt = $end_dt
    GROUP BY p.customer_id, p.dt
),
per_mall AS (
    SELECT s.mall_id,
           avg(CASE WHEN s.dt = $start_dt THEN s.churn_probability END) AS avg_before,
           avg(CASE WHEN s.dt = $end_dt THEN s.churn_probability END) AS avg_now,
           avg(CASE WHEN s.dt = $start_dt THEN (CASE WHEN s.risk_band = 'alto' THEN 1.0 ELSE 0.0 END) END) AS alto_before,
           avg(CASE WHEN s.dt = $end_dt THEN (CASE WHEN s.risk_band = 'alto' THEN 1.0 ELSE 0.0 END) END) AS alto_now,
           min(CASE WHEN s.dt = $start_dt THEN s.dt END) AS start_dt,
           max(CASE WHEN s.dt = $end_dt THEN s.dt END) AS end_dt
    FROM scored AS s
    GROUP BY s.mall_id
)
SELECT pm.mall_id, m.name AS mall_name, m.country, pm.start_dt, pm.end_dt,
       round(pm.avg_before, 4) AS avg_probability_before,
       round(pm.avg_now, 4) AS avg_probability_now,
       round(pm.avg_now - pm.avg_before, 4) AS change,
       round(pm.alto_before, 4) AS share_alto_before,
       round(pm.alto_now, 4) AS share_alto_now
FROM per_mall AS pm
JOIN malls AS m ON m.mall_id = pm.mall_id
WHERE pm.avg_before IS NOT NULL AND pm.avg_now IS NOT NULL
  AND ($country IS NULL OR m.country = $country)
ORDER BY CASE WHEN $worst_first = 1 THEN pm.avg_before - pm.avg_now ELSE pm.avg_now - pm.avg_before END, pm.mall_id
