-- Every pseudonymous guest id that has a prediction (the chat resolves guest ids and prefixes against it).
SELECT DISTINCT customer_id
FROM churn_predictions
ORDER BY customer_id
