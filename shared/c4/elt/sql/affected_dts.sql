-- The dt partitions the valid rows of this run fall into.  Inputs: validated.
SELECT DISTINCT CAST(local_date AS VARCHAR) AS dt FROM validated WHERE reason_code IS NULL
