-- Pseudonymous guest ids that start with a given hex prefix (at most 20), to resolve a short id.
-- @param prefix: customer_prefix | Start of a pseudonymous guest id (hex, at least 4 characters)
SELECT DISTINCT customer_id
FROM churn_predictions
WHERE starts_with(customer_id, $prefix)
ORDER BY customer_id
LIMIT 20
