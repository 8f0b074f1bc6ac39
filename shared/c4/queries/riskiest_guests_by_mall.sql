-- The riskiest guests of each mall on one scoring day (the latest by default): the top N per mall, with reasons and retention message.
-- @param dt: date = latest | Scoring day YYYY-MM-DD, or latest / latest-N (N days before the latest)
-- @param mall_id: mall_id? | Only this mall, e.g. CL01 (null: every mall)
-- @param country: country? | Only malls in this country: CL, PE or CO (null: every country)
-- @param limit: int(1..1000) = 10 | How many guests per mall
WITH latest_scores AS (
    SELECT p.customer_id, p.dt, max(p.scored_at) AS scored_at
    FROM churn_predictions AS p
    WHERE p.dt = $dt
    GROUP BY p.customer_id, p.dt
),
scored AS (
    SELECT p.customer_id, p.mall_id, p.dt, p.churn_probability, p.risk_band, p.reasons, p.message
    FROM churn_predictions AS p
    JOIN latest_scores AS ls
      ON ls.customer_id = p.customer_id AND ls.dt = p.dt AND ls.scored_at = p.scored_at
    WHERE p.dt = $dt
),
ranked AS (
    SELECT s.mall_id, m.name AS mall_name, m.country, s.customer_id, s.dt, s.churn_probability,
           s.risk_band, s.reasons, s.message,
           row_number() OVER (PARTITION BY s.mall_id ORDER BY s.churn_probability DESC, s.customer_id) AS mall_rank
    FROM scored AS s
    JOIN malls AS m ON m.mall_id = s.mall_id
    WHERE ($mall_id IS NULL OR s.mall_id = $mall_id)
      AND ($country IS NULL OR m.country = $country)
)
SELECT mall_id, mall_name, country, mall_rank, customer_id, dt,
       round(churn_probability, 4) AS churn_probability, risk_band, reasons, message
FROM ranked
WHERE mall_rank <= $limit
ORDER BY mall_id, mall_rank
