-- The distinct raw customer ids of the valid rows (pseudonymised once each).  Inputs: validated.
SELECT DISTINCT t_customer_id AS raw_id FROM validated WHERE reason_code IS NULL
