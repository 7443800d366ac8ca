-- 020_moderation: deleting chat messages that are not stored yet.
--
-- The chat server broadcasts a message at once and inserts it later, in a
-- batch (see chat_messages in 004_chat).  A moderator may delete a message,
-- or clear the whole chat, before its row exists.  Both actions therefore
-- leave a mark that the insert honours:
--
--   * deleting message N of channel C when no row N exists yet records a
--     tombstone (chat_message_tombstones); the row, once inserted, is
--     stored as deleted;
--   * clearing channel C sets chat_settings.cleared_at; a row inserted
--     later whose created_at (the accept time) is not after cleared_at is
--     stored as deleted.
--
-- The trigger costs two primary-key lookups per inserted message.


ALTER TABLE chat_settings
    ADD COLUMN cleared_at timestamptz,
    ADD COLUMN cleared_by bigint REFERENCES users (id) ON DELETE SET NULL;

COMMENT ON COLUMN chat_settings.cleared_at IS
    'Last time a moderator cleared the chat: every message accepted until then is deleted, including rows inserted later';
COMMENT ON COLUMN chat_settings.cleared_by IS
    'Who cleared the chat last';


CREATE TABLE chat_message_tombstones (
    message_id      bigint      PRIMARY KEY,
    channel_id      bigint      NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    deleted_by      bigint      REFERENCES users (id) ON DELETE SET NULL,
    deleted_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE chat_message_tombstones IS
    'Deletions of chat messages that were not stored yet; applied when the row is inserted, purged after a day';

CREATE INDEX chat_message_tombstones_deleted_idx
    ON chat_message_tombstones (deleted_at);


CREATE FUNCTION chat_messages_apply_deletions() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t_at  timestamptz;
    t_by  bigint;
BEGIN
    IF NEW.is_deleted THEN
        RETURN NEW;
    END IF;

    SELECT deleted_at, deleted_by INTO t_at, t_by
      FROM chat_message_tombstones
     WHERE message_id = NEW.id AND channel_id = NEW.channel_id;

    IF NOT FOUND THEN
        SELECT cleared_at, cleared_by INTO t_at, t_by
          FROM chat_settings
         WHERE channel_id = NEW.channel_id AND cleared_at >= NEW.created_at;
    END IF;

    IF t_at IS NOT NULL THEN
        NEW.is_deleted := true;
        NEW.deleted_at := t_at;
        NEW.deleted_by := t_by;
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER chat_messages_apply_deletions
    BEFORE INSERT ON chat_messages
    FOR EACH ROW EXECUTE FUNCTION chat_messages_apply_deletions();
