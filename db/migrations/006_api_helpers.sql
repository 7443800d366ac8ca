-- 006_api_helpers: formatting helpers used by the API's statements.

-- A timestamp as the API shows it: ISO 8601 in UTC with milliseconds,
-- e.g. 2026-11-23T22:45:20.123Z (the shape JavaScript's Date produces).
CREATE FUNCTION iso(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
