-- The latest prediction of one guest (on or before a scoring day): churn probability, risk band, reasons in plain words and retention message.
-- @param customer_id: customer_id | Pseudonymous guest id (hex)
-- @param dt: date = latest | Latest scoring day to consider YYYY-MM-DD, or latest / latest-N
SELECT p.customer_id, p.mall_id, m.name AS mall_name, m.country, p.dt,
       round(p.churn_probability, 4) AS churn_probability, p.risk_band, p.reasons, p.message, p.model_version
FROM churn_predictions AS p
JOIN malls AS m ON m.mall_id = p.mall_id
WHERE p.customer_id = $customer_id
  AND p.dt <= $dt
ORDER BY p.dt DESC, p.scored_at DESC, p.mall_id
LIMIT 1
