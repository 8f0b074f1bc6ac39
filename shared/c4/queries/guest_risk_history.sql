-- The churn probability and risk band of one guest on each scoring day.
-- @param customer_id: customer_id | Pseudonymous guest id (hex)
-- @param start_dt: date = first | First scoring day YYYY-MM-DD, or first / latest-N
-- @param end_dt: date = latest | Last scoring day YYYY-MM-DD, or latest / latest-N
WITH scored AS (
    -- the latest score of each guest and day (a guest re-scored the same day counts once)
    SELECT p.customer_id,
           max_by(p.mall_id, p.scored_at) AS mall_id,
           p.dt,
           max_by(p.churn_probability, p.scored_at) AS churn_probability,
           max_by(p.risk_band, p.scored_at) AS risk_band
    FROM churn_predictions AS p
    WHERE p.customer_id = $customer_id
      AND p.dt >= $start_dt
      AND p.dt <= $end_dt
    GROUP BY p.customer_id, p.dt
)
SELECT dt, mall_id, round(churn_probability, 4) AS churn_probability, risk_band
FROM scored
ORDER BY dt
