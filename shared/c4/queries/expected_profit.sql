-- Expected profit per country of contacting the riskiest share of guests on a scoring day: retained guests times success rate times guest value, minus the offer cost.
-- @param share: float(0.0001..1) = 0.1 | Share of the riskiest guests contacted, e.g. 0.1 for the top 10%
-- @param dt: date = latest | Scoring day YYYY-MM-DD, or latest / latest-N (N days before the latest)
-- @param mall_id: mall_id? | Only this mall, e.g. CL01 (null: every mall)
-- @param city: city? | Only malls in this city (null: every city)
-- @param country: country? | Only malls in this country: CL, PE or CO (null: every country)
-- @param cl_offer_cost: float(0..1000000000) | Cost of one retention offer in Chile (CLP)
-- @param cl_success_rate: float(0..1) | Share of contacted would-be churners that the offer keeps, Chile
-- @param cl_guest_value: float(0..1000000000) | Value of keeping one guest in Chile (CLP)
-- @param pe_offer_cost: float(0..1000000000) | Cost of one retention offer in Peru (PEN)
-- @param pe_success_rate: float(0..1) | Share of contacted would-be churners that the offer keeps, Peru
-- @param pe_guest_value: float(0..1000000000) | Value of keeping one guest in Peru (PEN)
-- @param co_offer_cost: float(0..1000000000) | Cost of one retention offer in Colombia (COP)
-- @param co_success_rate: float(0..1) | Share of contacted would-be churners that the offer keeps, Colombia
-- @param co_guest_value: float(0..1000000000) | Value of keeping one guest in Colombia (COP)
WITH scored AS (
    -- the latest score of each guest and day (a guest re-scored the same day counts once)
    SELECT p.customer_id,
           max_by(p.mall_id, p.scored_at) AS mall_id,
           p.dt,
           max_by(p.churn_probability, p.scored_at) AS churn_probability
    FROM churn_predictions AS p
    WHERE p.dt = $dt
    GROUP BY p.customer_id, p.dt
),
in_scope AS (
    SELECT s.customer_id, m.country, s.dt, s.churn_probability,
           row_number() OVER (ORDER BY s.churn_probability DESC, s.customer_id) AS risk_rank,
           count(*) OVER () AS scope_guests
    FROM scored AS s
    JOIN malls AS m ON m.mall_id = s.mall_id
    WHERE ($mall_id IS NULL OR s.mall_id = $mall_id)
      AND ($city IS NULL OR m.city = $city)
      AND ($country IS NULL OR m.country = $country)
),
contacted AS (
    SELECT country, dt, churn_probability, scope_guests,
           CASE country WHEN 'CL' THEN $cl_offer_cost WHEN 'PE' THEN $pe_offer_cost ELSE $co_offer_cost END AS offer_cost,
           CASE country WHEN 'CL' THEN $cl_success_rate WHEN 'PE' THEN $pe_success_rate ELSE $co_success_rate END AS success_rate,
           CASE country WHEN 'CL' THEN $cl_guest_value WHEN 'PE' THEN $pe_guest_value ELSE $co_guest_value END AS guest_value
    FROM in_scope
    WHERE risk_rank <= CEIL(round($share * scope_guests, 6))
)
SELECT country,
       CASE country WHEN 'CL' THEN 'CLP' WHEN 'PE' THEN 'PEN' ELSE 'COP' END AS currency,
       min(dt) AS dt,
       max(scope_guests) AS guests_in_scope,
       count(*) AS contacted,
       round(avg(churn_probability), 4) AS avg_probability,
       round(sum(churn_probability * success_rate), 2) AS expected_retained,
       round(sum(churn_probability * success_rate * guest_value), 2) AS expected_value,
       round(sum(offer_cost), 2) AS contact_cost,
       round(sum(churn_probability * success_rate * guest_value - offer_cost), 2) AS expected_profit
FROM contacted
GROUP BY country
ORDER BY country
