-- First and last scoring day of churn_predictions and the number of scoring days (relative dates resolve against the last day).
SELECT min(dt) AS first_dt, max(dt) AS last_dt, count(DISTINCT dt) AS scoring_days
FROM churn_predictions
