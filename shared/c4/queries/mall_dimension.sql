-- The malls of the chain: id, name, short name, country and city (the chat resolves mall and city names against it).
SELECT mall_id, name, short_name, country, country_name, city
FROM malls
ORDER BY mall_id
