-- 030_chat_actions: "/me" messages.
--
-- The chat server (ngx_twitch_chat) broadcasts "/me waves" as the message
-- "waves" with "action": true, and stores it the same way: the text
-- without the command, and this flag.  History (the chat's join history
-- from PostgreSQL, VOD chat replay) shows such a row as an action.

ALTER TABLE chat_messages
    ADD COLUMN is_action boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN chat_messages.is_action IS
    'Sent with /me: shown as an action (the command itself is not in message)';
