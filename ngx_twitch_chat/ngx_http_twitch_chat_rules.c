
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * The rules a chat message must pass, each refusal with a code:
 *
 *   local, from the member's standing (computed at join, updated by the
 *   moderation events): banned, timed_out, subscribers_only,
 *   followers_only, emote_only;
 *
 *   shared by every worker and instance, in one Redis script that also
 *   stores and publishes an accepted message: rate_limited (20 messages
 *   per 30 s per user and channel, 100 for the broadcaster and
 *   moderators), slow_mode, duplicate (the same text from the same user
 *   within 30 s), unique_chat (the same text from anybody in the room
 *   within 10 minutes while the mode is on).
 *
 * The broadcaster, channel moderators and the platform's admins and
 * global moderators are exempt from the room modes; VIPs from slow mode
 * and the followers/subscribers-only modes.  While Redis is down the
 * shared rules run in this worker's memory instead.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


#define NGX_HTTP_TWITCH_CHAT_HISTORY_TTL  "604800000"


static void ngx_http_twitch_chat_rules_set(
    ngx_http_twitch_chat_refusal_t *rf, const char *code, int64_t retry_ms,
    const char *fmt, ...);


/*
 * KEYS: rate zset, duplicate key, slow-mode key, unique key, history list
 * ARGV: limit, window, slow ms, duplicate window, unique window, pub/sub
 *       channel, payload, history length, message id, history ttl
 * Returns {0, 0} when the message was accepted, stored and published,
 * else {rule, milliseconds to wait}: 1 rate, 2 slow, 3 duplicate, 4 unique.
 */

static const char  ngx_http_twitch_chat_rules_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local win = tonumber(ARGV[2]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win) "
    "if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then "
    "  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES') "
    "  return {1, tonumber(first[2]) + win - now} "
    "end "
    "local slow = tonumber(ARGV[3]) "
    "if slow > 0 then "
    "  local left = redis.call('PTTL', KEYS[3]) "
    "  if left > 0 then return {2, left} end "
    "end "
    "local dup = redis.call('PTTL', KEYS[2]) "
    "if dup > 0 then return {3, dup} end "
    "local uniq = tonumber(ARGV[5]) "
    "if uniq > 0 and redis.call('EXISTS', KEYS[4]) == 1 then "
    "  return {4, 0} "
    "end "
    "redis.call('ZADD', KEYS[1], now, ARGV[9]) "
    "redis.call('PEXPIRE', KEYS[1], win) "
    "redis.call('SET', KEYS[2], '1', 'PX', ARGV[4]) "
    "if slow > 0 then redis.call('SET', KEYS[3], '1', 'PX', slow) end "
    "if uniq > 0 then redis.call('SET', KEYS[4], '1', 'PX', uniq) end "
    "redis.call('LPUSH', KEYS[5], ARGV[7]) "
    "redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[8]) - 1) "
    "redis.call('PEXPIRE', KEYS[5], ARGV[10]) "
    "redis.call('PUBLISH', ARGV[6], ARGV[7]) "
    "return {0, 0}";


ngx_uint_t
ngx_http_twitch_chat_privileged(ngx_http_twitch_chat_member_t *m)
{
    return m->broadcaster || m->moderator || m->conn->admin
           || m->conn->global_mod;
}


/*
 * NGX_OK, or NGX_DECLINED with the refusal in *rf.  NGX_AGAIN (only with
 * may_reload): the refusal may be out of date (a follow or subscription
 * made after the join, a standing that could not be read): read the
 * member's standing again, then ask again without may_reload.
 */

ngx_int_t
ngx_http_twitch_chat_rules_local(ngx_http_twitch_chat_member_t *m,
    ngx_uint_t only_emotes, ngx_uint_t may_reload,
    ngx_http_twitch_chat_refusal_t *rf)
{
    int64_t                           now, age, need;
    ngx_http_twitch_chat_settings_t  *s;

    now = ngx_http_twitch_chat_now_ms();
    s = &m->room->settings;

    /* at most one reading every 2 s per member */

    may_reload = may_reload
                 && (m->reloaded == 0
                     || ngx_current_msec - m->reloaded >= 2000);

    if (m->stale) {
        if (may_reload) {
            return NGX_AGAIN;
        }

        ngx_http_twitch_chat_rules_set(rf, "unavailable", 1000,
                                       "Chat is temporarily unavailable, "
                                       "try again");
        return NGX_DECLINED;
    }

    if (m->ban_until == -1) {
        ngx_http_twitch_chat_rules_set(rf, "banned", -1,
                                       "You are banned from this channel's "
                                       "chat");
        return NGX_DECLINED;
    }

    if (m->ban_until > now) {
        ngx_http_twitch_chat_rules_set(rf, "timed_out", m->ban_until - now,
                                       "You are timed out for %L more "
                                       "seconds",
                                       (m->ban_until - now + 999) / 1000);
        return NGX_DECLINED;
    }

    if (ngx_http_twitch_chat_privileged(m)) {
        return NGX_OK;
    }

    if (s->subscribers_only && !m->vip && m->sub_tier == 0) {
        if (may_reload) {
            return NGX_AGAIN;
        }

        ngx_http_twitch_chat_rules_set(rf, "subscribers_only", -1,
                                       "This room is in subscribers-only "
                                       "mode: subscribe to chat");
        return NGX_DECLINED;
    }

    if (s->followers_only && !m->vip) {

        if (m->followed_at < 0) {
            if (may_reload) {
                return NGX_AGAIN;
            }

            ngx_http_twitch_chat_rules_set(rf, "followers_only", -1,
                                           "This room is in followers-only "
                                           "mode: follow the channel to "
                                           "chat");
            return NGX_DECLINED;
        }

        age = now - m->followed_at;
        need = (int64_t) s->followers_minutes * 60000;

        if (age < need) {
            ngx_http_twitch_chat_rules_set(rf, "followers_only", need - age,
                                           "This room is in followers-only "
                                           "mode: you can chat once you "
                                           "have followed for %ui minutes",
                                           s->followers_minutes);
            return NGX_DECLINED;
        }
    }

    if (s->emote_only && !only_emotes) {
        ngx_http_twitch_chat_rules_set(rf, "emote_only", -1,
                                       "This room is in emote-only mode: "
                                       "messages may contain emotes only");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the shared rules, stored and published in one step */

ngx_http_twitch_redis_cmd_t *
ngx_http_twitch_chat_rules_redis(ngx_http_twitch_chat_member_t *m,
    ngx_str_t *hash, int64_t id, ngx_str_t *payload,
    ngx_http_twitch_redis_handler_pt handler, void *data)
{
    u_char                           *p;
    ngx_uint_t                        privileged, i;
    ngx_http_twitch_chat_conn_t      *cc;
    ngx_http_twitch_chat_room_t      *room;
    ngx_http_twitch_chat_settings_t  *s;
    size_t                            lens[18];
    const char                       *argv[18];

    room = m->room;
    cc = m->conn;
    s = &room->settings;
    privileged = ngx_http_twitch_chat_privileged(m);

    p = ngx_pnalloc(cc->tmp, 6 * NGX_INT64_LEN + 3 * hash->len
                             + 4 * cc->user_id_text.len + 128);
    if (p == NULL) {
        return NULL;
    }

    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_chat_rules_lua;
    argv[2] = "5";

    /* KEYS */

    argv[3] = (char *) p;
    p = ngx_sprintf(p, "chat:rate:%L:%V%Z", room->channel_id,
                    &cc->user_id_text);

    argv[4] = (char *) p;
    p = ngx_sprintf(p, "chat:dup:%L:%V:%V%Z", room->channel_id,
                    &cc->user_id_text, hash);

    argv[5] = (char *) p;
    p = ngx_sprintf(p, "chat:slow:%L:%V%Z", room->channel_id,
                    &cc->user_id_text);

    argv[6] = (char *) p;
    p = ngx_sprintf(p, "chat:uniq:%L:%V%Z", room->channel_id, hash);

    argv[7] = (char *) p;
    p = ngx_sprintf(p, "chat:history:%L%Z", room->channel_id);

    /* ARGV */

    argv[8] = privileged ? "100" : "20";
    argv[9] = "30000";

    argv[10] = (char *) p;
    p = ngx_sprintf(p, "%ui%Z", (privileged || m->vip) ? 0 : s->slow * 1000);

    argv[11] = "30000";
    argv[12] = (s->unique && !privileged) ? "600000" : "0";
    argv[13] = (char *) room->channel.data;
    argv[14] = (char *) payload->data;
    argv[15] = "50";

    argv[16] = (char *) p;
    p = ngx_sprintf(p, "%L%Z", id);

    argv[17] = NGX_HTTP_TWITCH_CHAT_HISTORY_TTL;

    for (i = 0; i < 18; i++) {
        lens[i] = ngx_strlen(argv[i]);
    }

    lens[14] = payload->len;

    return ngx_http_twitch_redis_command(room->worker->tmcf->redis, handler,
                                         data, 18, argv, lens);
}


/*
 * The script's answer: NGX_OK (accepted and published), NGX_DECLINED (a
 * refusal in *rf), NGX_ERROR (no answer: Redis is down).
 */

ngx_int_t
ngx_http_twitch_chat_rules_reply(ngx_http_twitch_chat_member_t *m,
    redisReply *reply, ngx_http_twitch_chat_refusal_t *rf)
{
    long long  rule, ms;

    if (reply == NULL) {
        return NGX_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, m->conn->connection->log, 0,
                          "chat: rules script failed: %*s",
                          reply->len, reply->str);
        }

        return NGX_ERROR;
    }

    rule = reply->element[0]->integer;
    ms = reply->element[1]->integer;

    switch (rule) {

    case 0:
        return NGX_OK;

    case 1:
        ngx_http_twitch_chat_rules_set(rf, "rate_limited", ms,
                                       "You are sending messages too "
                                       "quickly: at most %s messages in 30 "
                                       "seconds",
                                       ngx_http_twitch_chat_privileged(m)
                                       ? "100" : "20");
        return NGX_DECLINED;

    case 2:
        ngx_http_twitch_chat_rules_set(rf, "slow_mode", ms,
                                       "Slow mode is on: you can send "
                                       "another message in %L seconds",
                                       (int64_t) (ms + 999) / 1000);
        return NGX_DECLINED;

    case 3:
        ngx_http_twitch_chat_rules_set(rf, "duplicate", ms,
                                       "Your message is identical to one "
                                       "you sent less than 30 seconds ago");
        return NGX_DECLINED;

    default:
        ngx_http_twitch_chat_rules_set(rf, "unique_chat", -1,
                                       "This room is in unique-chat mode: "
                                       "this message was sent recently");
        return NGX_DECLINED;
    }
}


/* the shared rules, in this worker's memory while Redis is down */

ngx_int_t
ngx_http_twitch_chat_rules_memory(ngx_http_twitch_chat_member_t *m,
    uint32_t hash, ngx_http_twitch_chat_refusal_t *rf)
{
    ngx_msec_t                        now, oldest, age;
    ngx_uint_t                        i, n, count, limit, privileged;
    ngx_http_twitch_chat_sent_t      *sent;
    ngx_http_twitch_chat_room_t      *room;
    ngx_http_twitch_chat_settings_t  *s;

    now = ngx_current_msec;
    room = m->room;
    s = &room->settings;
    sent = m->sent;
    privileged = ngx_http_twitch_chat_privileged(m);
    limit = privileged ? NGX_HTTP_TWITCH_CHAT_RATE_MOD
                       : NGX_HTTP_TWITCH_CHAT_RATE_USER;

    n = sent ? ngx_min(sent->nsent, NGX_HTTP_TWITCH_CHAT_RATE_MOD) : 0;
    count = 0;
    oldest = 0;

    /* oldest: the age of the oldest message inside the window */

    for (i = 0; i < n; i++) {
        age = now - sent->sent[i];

        if (age < NGX_HTTP_TWITCH_CHAT_RATE_WINDOW) {
            count++;
            oldest = ngx_max(oldest, age);
        }
    }

    if (count >= limit) {
        ngx_http_twitch_chat_rules_set(rf, "rate_limited",
                                       NGX_HTTP_TWITCH_CHAT_RATE_WINDOW
                                       - oldest,
                                       "You are sending messages too "
                                       "quickly: at most %ui messages in 30 "
                                       "seconds", limit);
        return NGX_DECLINED;
    }

    if (s->slow && !privileged && !m->vip && sent && sent->nsent
        && now - sent->last_sent < s->slow * 1000)
    {
        age = s->slow * 1000 - (now - sent->last_sent);
        ngx_http_twitch_chat_rules_set(rf, "slow_mode", age,
                                       "Slow mode is on: you can send "
                                       "another message in %M seconds",
                                       (age + 999) / 1000);
        return NGX_DECLINED;
    }

    n = sent ? ngx_min(sent->ndup, 4) : 0;

    for (i = 0; i < n; i++) {
        if (sent->dup_hash[i] == hash
            && now - sent->dup_time[i] < NGX_HTTP_TWITCH_CHAT_DUP_WINDOW)
        {
            ngx_http_twitch_chat_rules_set(rf, "duplicate",
                                           NGX_HTTP_TWITCH_CHAT_DUP_WINDOW
                                           - (now - sent->dup_time[i]),
                                           "Your message is identical to "
                                           "one you sent less than 30 "
                                           "seconds ago");
            return NGX_DECLINED;
        }
    }

    if (s->unique && !privileged) {
        n = ngx_min(room->nunique, NGX_HTTP_TWITCH_CHAT_UNIQUE_LOCAL);

        for (i = 0; i < n; i++) {
            if (room->unique_hash[i] == hash
                && now - room->unique_time[i]
                   < NGX_HTTP_TWITCH_CHAT_UNIQUE_WINDOW)
            {
                ngx_http_twitch_chat_rules_set(rf, "unique_chat", -1,
                                               "This room is in unique-chat "
                                               "mode: this message was sent "
                                               "recently");
                return NGX_DECLINED;
            }
        }
    }

    return NGX_OK;
}


/* an accepted message, for the memory rules */

void
ngx_http_twitch_chat_rules_remember(ngx_http_twitch_chat_member_t *m,
    uint32_t hash)
{
    ngx_uint_t                    i;
    ngx_http_twitch_chat_sent_t  *sent;
    ngx_http_twitch_chat_room_t  *room;

    room = m->room;

    if (m->sent == NULL) {
        /* members who never send keep no such memory */
        m->sent = ngx_calloc(sizeof(ngx_http_twitch_chat_sent_t),
                             m->conn->connection->log);
    }

    sent = m->sent;

    if (sent != NULL) {
        i = sent->nsent++ % NGX_HTTP_TWITCH_CHAT_RATE_MOD;
        sent->sent[i] = ngx_current_msec;
        sent->last_sent = ngx_current_msec;

        i = sent->ndup % 4;
        sent->dup_hash[i] = hash;
        sent->dup_time[i] = ngx_current_msec;
        sent->ndup++;
    }

    i = room->nunique % NGX_HTTP_TWITCH_CHAT_UNIQUE_LOCAL;
    room->unique_hash[i] = hash;
    room->unique_time[i] = ngx_current_msec;
    room->nunique++;
}


static void
ngx_http_twitch_chat_rules_set(ngx_http_twitch_chat_refusal_t *rf,
    const char *code, int64_t retry_ms, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    rf->code = code;
    rf->retry_after = (retry_ms < 0) ? -1 : (retry_ms + 999) / 1000;

    va_start(args, fmt);
    p = ngx_vslprintf(rf->buf, rf->buf + sizeof(rf->buf) - 1, fmt, args);
    va_end(args);

    *p = '\0';
    rf->text = (const char *) rf->buf;
}
