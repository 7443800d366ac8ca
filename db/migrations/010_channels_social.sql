-- 010_channels_social: indexes for the directory and search routes, and
-- the subscribe flow (subscription upsert + Idempotency-Key) as one call.


-- ---------------------------------------------------------------------------
-- directory: "all channels" of one category, live first by viewers
-- (GET /api/channels?category=<slug>)
-- ---------------------------------------------------------------------------

CREATE INDEX channels_category_listing_idx
    ON channels (category_id, is_live DESC, current_viewers DESC, id);


-- ---------------------------------------------------------------------------
-- search: substring matches (ILIKE '%q%') on names, titles and display
-- names use trigram indexes when pg_trgm is available (it is a trusted
-- extension of PostgreSQL's contrib: the database owner may create it).
-- Without it the search still works, with sequential scans.
-- ---------------------------------------------------------------------------

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions
                WHERE name = 'pg_trgm')
    THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;

        CREATE INDEX channels_name_trgm_idx
            ON channels USING gin (name gin_trgm_ops);
        CREATE INDEX channels_title_trgm_idx
            ON channels USING gin (title gin_trgm_ops);
        CREATE INDEX users_username_trgm_idx
            ON users USING gin (username gin_trgm_ops);
        CREATE INDEX users_display_name_trgm_idx
            ON users USING gin (display_name gin_trgm_ops);
        CREATE INDEX categories_name_trgm_idx
            ON categories USING gin (name gin_trgm_ops);
    ELSE
        RAISE NOTICE 'pg_trgm is not available: search uses sequential scans';
    END IF;
END
$$;


-- ---------------------------------------------------------------------------
-- api_subscribe: POST /api/channels/:name/subscribe in one statement.
--
--   SELECT * FROM api_subscribe(user_id, channel_name, tier, idempotency_key)
--
-- Without an active subscription (none, or expired) it subscribes for 30
-- days at p_tier; with an active one at a lower tier it upgrades (a new
-- 30-day period at the higher tier); otherwise it answers "Already
-- subscribed" with the current tier and expiry.
--
-- With p_key (the Idempotency-Key header), the key row is inserted first:
--   - inserted: the work is done and the response stored in the row, all in
--     this transaction;
--   - the key exists (a concurrent first request waits on the row until it
--     commits): for the same channel and tier the stored response is
--     returned (o_replayed), else 422.  A key older than 24 hours that the
--     periodic purge has not removed yet counts as new.
-- Only successful answers are stored: an unknown channel gives 404 before
-- any key is recorded.
--
-- Returns o_status (200, 404, 409, 422), o_error (the message of a non-200
-- answer), o_message ("Already subscribed" or NULL), o_expires_at (ISO
-- 8601 text), o_tier, o_channel_id, o_replayed.
-- ---------------------------------------------------------------------------

CREATE FUNCTION api_subscribe(p_user_id bigint, p_channel text,
                              p_tier integer, p_key text,
                              OUT o_status integer, OUT o_error text,
                              OUT o_message text, OUT o_expires_at text,
                              OUT o_tier integer, OUT o_channel_id bigint,
                              OUT o_replayed boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_endpoint  text;
    v_hash      text;
    v_key       idempotency_keys%ROWTYPE;
    v_sub       subscriptions%ROWTYPE;
    v_response  jsonb;
BEGIN
    o_replayed := false;

    /*
     * The row lock comes first: the count trigger updates this row, and a
     * key-locking UPDATE of channels would otherwise deadlock against the
     * KEY SHARE lock of a concurrent subscriber's foreign key check.
     */
    SELECT c.id INTO o_channel_id
      FROM channels c
     WHERE lower(c.name) = lower(p_channel)
       FOR NO KEY UPDATE;

    IF NOT FOUND THEN
        o_status := 404;
        o_error := 'Channel not found';
        RETURN;
    END IF;

    v_endpoint := 'subscribe:' || o_channel_id;
    v_hash := 'tier=' || p_tier;

    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (user_id, key, endpoint, request_hash)
        VALUES (p_user_id, p_key, v_endpoint, v_hash)
        ON CONFLICT DO NOTHING;

        IF NOT FOUND THEN
            SELECT * INTO v_key
              FROM idempotency_keys k
             WHERE k.user_id = p_user_id AND k.key = p_key
               FOR UPDATE;

            IF NOT FOUND THEN
                /* deleted meanwhile by the expiry job: a rare race */
                o_status := 409;
                o_error := 'Idempotency-Key is being processed, retry';
                RETURN;
            END IF;

            IF v_key.created_at < now() - interval '24 hours' THEN
                /* an expired key (not purged yet) starts afresh */
                UPDATE idempotency_keys k
                   SET endpoint = v_endpoint, request_hash = v_hash,
                       status_code = NULL, response = NULL,
                       created_at = now()
                 WHERE k.user_id = p_user_id AND k.key = p_key;

            ELSE
                o_replayed := true;

                IF v_key.endpoint <> v_endpoint
                   OR v_key.request_hash IS DISTINCT FROM v_hash
                THEN
                    o_status := 422;
                    o_error := 'Idempotency-Key reused with a different '
                               'request';
                    RETURN;
                END IF;

                IF v_key.response IS NULL THEN
                    o_status := 409;
                    o_error := 'Idempotency-Key is being processed, retry';
                    RETURN;
                END IF;

                o_status := v_key.status_code;
                o_message := v_key.response ->> 'message';
                o_expires_at := v_key.response ->> 'expiresAt';
                o_tier := (v_key.response ->> 'tier')::integer;
                RETURN;
            END IF;
        END IF;
    END IF;

    INSERT INTO subscriptions AS s (user_id, channel_id, tier)
    VALUES (p_user_id, o_channel_id, p_tier)
    ON CONFLICT (user_id, channel_id) DO UPDATE
       SET tier = EXCLUDED.tier,
           started_at = now(),
           expires_at = now() + interval '30 days',
           is_gift = false,
           gifted_by = NULL
     WHERE s.expires_at <= now() OR s.tier < EXCLUDED.tier
    RETURNING s.* INTO v_sub;

    IF NOT FOUND THEN
        /* active at this tier or higher; the row is locked by the upsert */
        SELECT * INTO v_sub
          FROM subscriptions s
         WHERE s.user_id = p_user_id AND s.channel_id = o_channel_id;

        o_message := 'Already subscribed';
    END IF;

    o_status := 200;
    o_expires_at := iso(v_sub.expires_at);
    o_tier := v_sub.tier;

    IF p_key IS NOT NULL THEN
        v_response := jsonb_build_object('success', true,
                                         'expiresAt', o_expires_at,
                                         'tier', o_tier);

        IF o_message IS NOT NULL THEN
            v_response := v_response || jsonb_build_object('message',
                                                           o_message);
        END IF;

        UPDATE idempotency_keys k
           SET status_code = o_status, response = v_response
         WHERE k.user_id = p_user_id AND k.key = p_key;
    END IF;
END
$$;

COMMENT ON FUNCTION api_subscribe(bigint, text, integer, text) IS
    'POST /api/channels/:name/subscribe: subscribe/renew/upgrade with Idempotency-Key replay, one statement';
