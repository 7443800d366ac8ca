-- 040_live_ingest: what the RTMP ingest, the VOD finalizer and the clip
-- worker of ngx_http_twitch_live_module keep in the database.
--
--   * channels.stream_key_sha256: the publish hook looks a channel up by
--     the SHA-256 of the presented key (an index), then compares the full
--     key in constant time in C;
--   * streams.ingest_*: which nginx (host, master, worker, RTMP client)
--     publishes a broadcast, so that on_update / on_publish_done find it
--     without the key, and a restarted nginx closes what its dead
--     predecessor left open;
--   * clips.media_dir / mp4_*: where a clip's files are, and the queue of
--     MP4 remuxes (claimed with FOR UPDATE SKIP LOCKED).


-- ---------------------------------------------------------------------------
-- channels: the key's hash, maintained by PostgreSQL itself
-- ---------------------------------------------------------------------------

-- The UTF-8 bytes of a key, hashed.  convert_to() is only STABLE (an
-- encoding name is looked up); UTF8 never changes meaning, so this
-- wrapper may be IMMUTABLE, as a generated column requires.
CREATE FUNCTION stream_key_sha256(p_key text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256(convert_to(p_key, 'UTF8'))
$$;

ALTER TABLE channels
    ADD COLUMN stream_key_sha256 bytea
        GENERATED ALWAYS AS (stream_key_sha256(stream_key)) STORED;

COMMENT ON COLUMN channels.stream_key_sha256 IS
    'SHA-256 of stream_key (generated): the publish hook''s lookup key; the full key is then compared in constant time';

-- Not UNIQUE: stream_key is unique already, and a unique index here would
-- make every UPDATE of channels take a key lock that deadlocks with the
-- foreign-key checks of concurrent follows and subscriptions.
CREATE INDEX channels_stream_key_sha256_idx
    ON channels (stream_key_sha256);


-- ---------------------------------------------------------------------------
-- streams: the ingest session that feeds a broadcast
-- ---------------------------------------------------------------------------

ALTER TABLE streams
    ADD COLUMN ingest_host     text,
    ADD COLUMN ingest_session  text,
    ADD COLUMN ingested_at     timestamptz,
    ADD CONSTRAINT streams_ingest_host_length
        CHECK (ingest_host IS NULL OR char_length(ingest_host) <= 255),
    ADD CONSTRAINT streams_ingest_session_format
        CHECK (ingest_session IS NULL
               OR ingest_session ~ '^[0-9]{1,10}:[0-9]{1,20}$');

COMMENT ON COLUMN streams.ingest_host IS
    'Host name of the nginx whose RTMP publisher feeds (fed) the broadcast; NULL: never had media';
COMMENT ON COLUMN streams.ingest_session IS
    '"<nginx master pid>:<RTMP client id>" of the current publisher on ingest_host';
COMMENT ON COLUMN streams.ingested_at IS
    'When media first arrived (the first accepted on_publish); NULL for a broadcast without media';

-- on_update / on_publish_done find the broadcast of their RTMP session
CREATE INDEX streams_ingest_session_idx
    ON streams (ingest_session) WHERE ingest_session IS NOT NULL;
-- the VOD finalizer: ended broadcasts that had media
CREATE INDEX streams_ingested_ended_idx
    ON streams (ended_at) WHERE ingested_at IS NOT NULL;


-- Opens the channel's broadcast for a publisher that passed the key check,
-- or takes over the open one (started by POST /api/streams/start, or left
-- by a publisher that reconnects before the reconciler closed it).  Marks
-- the channel live with its live thumbnail.  fresh: the broadcast had no
-- media before (its viewer statistics start from zero).
CREATE FUNCTION live_go_live(p_channel bigint, p_host text, p_session text,
                             p_thumbnail text,
                             OUT o_stream_id bigint, OUT o_fresh boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ingested  timestamptz;
BEGIN
    FOR i IN 1 .. 2 LOOP
        SELECT s.id, s.ingested_at INTO o_stream_id, v_ingested
          FROM streams s
         WHERE s.channel_id = p_channel AND s.ended_at IS NULL
           FOR UPDATE;

        IF FOUND THEN
            UPDATE streams s
               SET last_seen_at = now(),
                   ingest_host = p_host,
                   ingest_session = p_session,
                   ingested_at = coalesce(s.ingested_at, now())
             WHERE s.id = o_stream_id;

            o_fresh := v_ingested IS NULL;
            EXIT;
        END IF;

        BEGIN
            INSERT INTO streams (channel_id, title, category_id, ingest_host,
                                 ingest_session, ingested_at)
            SELECT c.id, c.title, c.category_id, p_host, p_session, now()
              FROM channels c
             WHERE c.id = p_channel
            RETURNING id INTO o_stream_id;

            o_fresh := true;
            EXIT;

        EXCEPTION WHEN unique_violation THEN
            /* opened concurrently (POST /api/streams/start): take it over */
            NULL;
        END;
    END LOOP;

    IF o_stream_id IS NULL THEN
        RETURN;
    END IF;

    UPDATE channels c
       SET is_live = true,
           thumbnail_url = p_thumbnail
     WHERE c.id = p_channel;
END
$$;

COMMENT ON FUNCTION live_go_live(bigint, text, text, text) IS
    'on_publish: open or take over the channel''s broadcast for an RTMP session, channel live';


-- Ends the broadcasts fed by publishers of this host that belong to
-- another (dead) nginx master: run when an nginx starts, so that a crash
-- never leaves a channel live until the heartbeat reconciler notices.
CREATE FUNCTION live_close_orphans(p_host text, p_master text)
RETURNS TABLE (stream_id bigint, channel_id bigint)
LANGUAGE sql VOLATILE AS $$
    WITH closed AS (
        UPDATE streams s
           SET ended_at = greatest(s.last_seen_at, s.started_at),
               end_reason = 'reconciled'
         WHERE s.ended_at IS NULL
           AND s.ingest_host = p_host
           AND split_part(s.ingest_session, ':', 1) <> p_master
     RETURNING s.id, s.channel_id
    ), offline AS (
        UPDATE channels c
           SET is_live = false, current_viewers = 0, thumbnail_url = NULL
          FROM closed
         WHERE c.id = closed.channel_id
     RETURNING c.id
    )
    SELECT closed.id, closed.channel_id FROM closed
$$;

COMMENT ON FUNCTION live_close_orphans(text, text) IS
    'nginx start-up: end the broadcasts of this host''s earlier (crashed) nginx masters';


-- ---------------------------------------------------------------------------
-- clips: files and the MP4 queue
-- ---------------------------------------------------------------------------

ALTER TABLE clips
    ADD COLUMN media_dir       text,
    ADD COLUMN mp4_claimed_at  timestamptz,
    ADD COLUMN mp4_attempts    integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT clips_media_dir_format
        CHECK (media_dir IS NULL
               OR (char_length(media_dir) BETWEEN 1 AND 200
                   AND media_dir ~ '^[A-Za-z0-9_]+/clips/[A-Za-z0-9_-]+$')),
    ADD CONSTRAINT clips_mp4_attempts_nonneg
        CHECK (mp4_attempts >= 0);

COMMENT ON COLUMN clips.media_dir IS
    'Directory of the clip''s files (playlists, linked segments, thumbnail, MP4), relative to the media root';
COMMENT ON COLUMN clips.mp4_claimed_at IS
    'When a worker started the MP4 remux; a claim older than a few minutes is retried';
COMMENT ON COLUMN clips.mp4_attempts IS
    'MP4 remux attempts so far; the clip is failed after three';
