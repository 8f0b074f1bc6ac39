-- Guests whose churn risk rose the most between two scoring days (by default the latest day and seven days before).
-- @param start_dt: date = latest-7 | Earlier scoring day YYYY-MM-DD, or latest-N
-- @param end_dt: date = latest | Later scoring day YYYY-MM-DD, or latest / latest-N
-- @param mall_id: mall_id? | Only this mall, e.g. CL01 (null: every mall)
-- @param city: city? | Only malls in this city, e.g. Lima (null: every city)
-- @param country: country? | Only malls in this country: CL, PE or CO (null: every country)
-- @param limit: int(1..1000) = 10 | How many guests
WITH scored AS (
    -- the latest score of each guest and day (a guest re-scored the same day counts once)
    SELECT p.customer_id,
           max_by(p.mall_id, p.scored_at) AS mall_id,
           p.dt,
           max_by(p.churn_probability, p.scored_at) AS churn_probability,
           max_by(p.risk_band, p.scored_at) AS risk_band,
           max_by(p.reasons, p.scored_at) AS reasons
    FROM churn_predictions AS p
    WHERE p.dt = $start_dt OR p.dt = $end_dt
    GROUP BY p.customer_id, p.dt
),
latest AS (
    SELECT * FROM scored WHERE dt = $end_dt
),
earlier AS (
    SELECT * FROM scored WHERE dt = $start_dt
),
rises AS (
    SELECT l.customer_id, l.mall_id, m.name AS mall_name, m.country, e.dt AS start_dt, l.dt AS end_dt,
           e.churn_probability AS probability_before, l.churn_probability AS probability_now,
           l.risk_band, l.reasons,
           row_number() OVER (ORDER BY l.churn_probability - e.churn_probability DESC, l.customer_id) AS rise_rank
    FROM latest AS l
    JOIN earlier AS e ON e.customer_id = l.customer_id
    JOIN malls AS m ON m.mall_id = l.mall_id
    WHERE l.churn_probability > e.churn_probability
      AND ($mall_id IS NULL OR l.mall_id = $mall_id)
      AND ($city IS NULL OR m.city = $city)
      AND ($country IS NULL OR m.country = $country)
)
SELECT rise_rank, customer_id, mall_id, mall_name, country, start_dt, end_dt,
       round(probability_before, 4) AS probability_before,
       round(probability_now, 4) AS probability_now,
       round(probability_now - probability_before, 4) AS rise,
       risk_band, reasons
FROM rises
WHERE rise_rank <= $limit
ORDER BY rise_rank
