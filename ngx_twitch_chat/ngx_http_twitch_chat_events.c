
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * What arrives on a room's Redis channel chat:<id>: chat messages (from
 * any worker or instance) and the events of the moderation action layer
 * (ngx_http_twitch_modaction.h).  Each is relayed verbatim to the room's
 * sockets, as one shared frame, after the room has followed it:
 *
 *   user_banned, user_timeout      the user cannot send from now on
 *   user_unbanned, user_untimeout  the user can again
 *   moderator_added/_removed,      badges and exemptions
 *   vip_added/_removed
 *   chat_settings (and the legacy  the room's modes
 *   slow_mode_changed,
 *   emote_only_changed)
 *   message_deleted, chat_cleared  out of the join history (rows not
 *                                  written yet are stored deleted: see
 *                                  _persist.c)
 *
 * A chat message that the room delivered already (it can come back from
 * Redis after this worker delivered it during an outage) is skipped.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


static void ngx_http_twitch_chat_event_apply(ngx_http_twitch_chat_room_t *room,
    ngx_http_twitch_json_t *type, ngx_http_twitch_json_t *root);
static void ngx_http_twitch_chat_event_ban(ngx_http_twitch_chat_room_t *room,
    int64_t user_id, int64_t until);
static void ngx_http_twitch_chat_event_role(ngx_http_twitch_chat_room_t *room,
    int64_t user_id, ngx_uint_t moderator, ngx_uint_t on);
static void ngx_http_twitch_chat_event_prune(ngx_http_twitch_chat_room_t *room,
    const char *field, int64_t value);
static void ngx_http_twitch_chat_event_clear(
    ngx_http_twitch_chat_room_t *room);
static int64_t ngx_http_twitch_chat_event_int(ngx_http_twitch_json_t *root,
    const char *key, int64_t def);
static ngx_int_t ngx_http_twitch_chat_event_bool(ngx_http_twitch_json_t *root,
    const char *key, ngx_int_t def);
static ngx_uint_t ngx_http_twitch_chat_event_is(ngx_http_twitch_json_t *v,
    const char *s);


/*
 * KEYS: a room's history; ARGV: a member of the stored messages ("id" or
 * "userId") and its value.  Removes the messages that match.
 */

static const char  ngx_http_twitch_chat_prune_lua[] =
    "local n = 0 "
    "for _, v in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do "
    "  local ok, m = pcall(cjson.decode, v) "
    "  if ok and type(m) == 'table' "
    "     and tonumber(m[ARGV[1]]) == tonumber(ARGV[2]) then "
    "    n = n + redis.call('LREM', KEYS[1], 0, v) "
    "  end "
    "end "
    "return n";


void
ngx_http_twitch_chat_event(ngx_http_twitch_chat_room_t *room,
    ngx_str_t *message)
{
    int64_t                         id;
    ngx_int_t                       rc;
    ngx_str_t                       err;
    ngx_pool_t                     *pool;
    ngx_http_twitch_json_t         *root, *type;
    ngx_http_twitch_chat_frame_t   *f;
    ngx_http_twitch_chat_worker_t  *w;

    w = room->worker;

    pool = ngx_create_pool(4096, w->log);
    if (pool == NULL) {
        return;
    }

    rc = ngx_http_twitch_json_parse(pool, message->data, message->len, 8,
                                    &root, &err);

    if (rc != NGX_OK || root->type != NGX_HTTP_TWITCH_JSON_OBJECT) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "chat: ignored a malformed message on \"%V\"",
                      &room->channel);
        ngx_destroy_pool(pool);
        return;
    }

    type = ngx_http_twitch_json_get(root, "type");

    if (type == NULL || type->type != NGX_HTTP_TWITCH_JSON_STRING) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "chat: ignored a message without type on \"%V\"",
                      &room->channel);
        ngx_destroy_pool(pool);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "chat")) {
        id = ngx_http_twitch_chat_event_int(root, "id", 0);

        if (id > 0 && room->ready) {
            (void) ngx_http_twitch_chat_room_local(room, id, message->data,
                                                   message->len);
        }

        ngx_destroy_pool(pool);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "chat: event \"%V\" in room %L", &type->str,
                   room->channel_id);

    ngx_http_twitch_chat_event_apply(room, type, root);

    f = ngx_http_twitch_chat_frame(NGX_HTTP_TWITCH_WS_TEXT, message->data,
                                   message->len, w->log);
    if (f != NULL) {
        ngx_http_twitch_chat_room_deliver(room, f);
        ngx_http_twitch_chat_frame_release(f);
    }

    ngx_destroy_pool(pool);
}


static void
ngx_http_twitch_chat_event_apply(ngx_http_twitch_chat_room_t *room,
    ngx_http_twitch_json_t *type, ngx_http_twitch_json_t *root)
{
    int64_t                           user_id, seconds, id, now;
    ngx_int_t                         b;
    ngx_http_twitch_chat_settings_t  *s;

    s = &room->settings;
    now = ngx_http_twitch_chat_now_ms();
    user_id = ngx_http_twitch_chat_event_int(root, "userId", 0);

    if (ngx_http_twitch_chat_event_is(type, "user_banned")) {
        seconds = ngx_http_twitch_chat_event_int(root, "duration", 0);

        if (ngx_http_twitch_chat_event_bool(root, "isPermanent", 1)
            || seconds <= 0)
        {
            ngx_http_twitch_chat_event_ban(room, user_id, -1);

        } else {
            ngx_http_twitch_chat_event_ban(room, user_id,
                                           now + seconds * 1000);
        }

        /* as on Twitch, the user's lines leave the history */
        ngx_http_twitch_chat_event_prune(room, "userId", user_id);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "user_timeout")) {
        seconds = ngx_http_twitch_chat_event_int(root, "duration", 0);

        if (seconds > 0) {
            ngx_http_twitch_chat_event_ban(room, user_id,
                                           now + seconds * 1000);
        }

        ngx_http_twitch_chat_event_prune(room, "userId", user_id);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "user_unbanned")
        || ngx_http_twitch_chat_event_is(type, "user_untimeout"))
    {
        ngx_http_twitch_chat_event_ban(room, user_id, 0);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "moderator_added")) {
        ngx_http_twitch_chat_event_role(room, user_id, 1, 1);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "moderator_removed")) {
        ngx_http_twitch_chat_event_role(room, user_id, 1, 0);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "vip_added")) {
        ngx_http_twitch_chat_event_role(room, user_id, 0, 1);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "vip_removed")) {
        ngx_http_twitch_chat_event_role(room, user_id, 0, 0);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "message_deleted")) {
        id = ngx_http_twitch_chat_event_int(root, "messageId", 0);

        if (id > 0) {
            ngx_http_twitch_chat_event_prune(room, "id", id);
        }

        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "chat_cleared")) {
        ngx_http_twitch_chat_event_clear(room);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "chat_settings")) {
        s->slow = (ngx_uint_t) ngx_http_twitch_chat_event_int(root,
                                                "slowModeSeconds", s->slow);
        s->followers_only = ngx_http_twitch_chat_event_bool(root,
                                       "followersOnly", s->followers_only);
        s->followers_minutes = (ngx_uint_t) ngx_http_twitch_chat_event_int(
                          root, "followersOnlyMinutes", s->followers_minutes);
        s->subscribers_only = ngx_http_twitch_chat_event_bool(root,
                                   "subscribersOnly", s->subscribers_only);
        s->emote_only = ngx_http_twitch_chat_event_bool(root, "emoteOnly",
                                                        s->emote_only);
        s->unique = ngx_http_twitch_chat_event_bool(root, "uniqueChat",
                                                    s->unique);
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "slow_mode_changed")) {
        b = ngx_http_twitch_chat_event_bool(root, "enabled", 0);
        s->slow = b ? (ngx_uint_t) ngx_http_twitch_chat_event_int(root,
                                              "durationSeconds", s->slow)
                    : 0;
        return;
    }

    if (ngx_http_twitch_chat_event_is(type, "emote_only_changed")) {
        s->emote_only = ngx_http_twitch_chat_event_bool(root, "enabled",
                                                        s->emote_only);
        return;
    }
}


static void
ngx_http_twitch_chat_event_ban(ngx_http_twitch_chat_room_t *room,
    int64_t user_id, int64_t until)
{
    ngx_queue_t                    *q;
    ngx_http_twitch_chat_member_t  *m;

    if (user_id <= 0) {
        return;
    }

    for (q = ngx_queue_head(&room->members);
         q != ngx_queue_sentinel(&room->members);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_twitch_chat_member_t, queue);

        if (m->conn->user_id == user_id) {
            m->ban_until = until;
        }
    }
}


static void
ngx_http_twitch_chat_event_role(ngx_http_twitch_chat_room_t *room,
    int64_t user_id, ngx_uint_t moderator, ngx_uint_t on)
{
    ngx_queue_t                    *q;
    ngx_http_twitch_chat_member_t  *m;

    if (user_id <= 0) {
        return;
    }

    for (q = ngx_queue_head(&room->members);
         q != ngx_queue_sentinel(&room->members);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_twitch_chat_member_t, queue);

        if (m->conn->user_id != user_id) {
            continue;
        }

        if (moderator) {
            m->moderator = on;

        } else {
            m->vip = on;
        }
    }
}


/* removes matching messages from the room's history in Redis */

static void
ngx_http_twitch_chat_event_prune(ngx_http_twitch_chat_room_t *room,
    const char *field, int64_t value)
{
    u_char                         *p;
    ngx_uint_t                      i;
    size_t                          lens[6];
    const char                     *argv[6];
    u_char                          key[sizeof("chat:history:")
                                        + NGX_INT64_LEN];
    u_char                          v[NGX_INT64_LEN + 1];
    ngx_http_twitch_chat_worker_t  *w;

    w = room->worker;

    if (value <= 0 || !ngx_http_twitch_redis_is_up(w->tmcf->redis)) {
        return;
    }

    p = ngx_sprintf(key, "chat:history:%L", room->channel_id);
    *p = '\0';
    p = ngx_sprintf(v, "%L", value);
    *p = '\0';

    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_chat_prune_lua;
    argv[2] = "1";
    argv[3] = (const char *) key;
    argv[4] = field;
    argv[5] = (const char *) v;

    for (i = 0; i < 6; i++) {
        lens[i] = ngx_strlen(argv[i]);
    }

    (void) ngx_http_twitch_redis_command(w->tmcf->redis, NULL, NULL, 6, argv,
                                         lens);
}


static void
ngx_http_twitch_chat_event_clear(ngx_http_twitch_chat_room_t *room)
{
    u_char                         *p;
    size_t                          lens[2];
    const char                     *argv[2];
    u_char                          key[sizeof("chat:history:")
                                        + NGX_INT64_LEN];
    ngx_http_twitch_chat_worker_t  *w;

    w = room->worker;

    if (!ngx_http_twitch_redis_is_up(w->tmcf->redis)) {
        return;
    }

    p = ngx_sprintf(key, "chat:history:%L", room->channel_id);

    argv[0] = "DEL";
    argv[1] = (const char *) key;
    lens[0] = 3;
    lens[1] = p - key;

    (void) ngx_http_twitch_redis_command(w->tmcf->redis, NULL, NULL, 2, argv,
                                         lens);
}


/* a non-negative integer member (a number or a string of digits) */

static int64_t
ngx_http_twitch_chat_event_int(ngx_http_twitch_json_t *root, const char *key,
    int64_t def)
{
    off_t                    n;
    ngx_http_twitch_json_t  *v;

    v = ngx_http_twitch_json_get(root, key);

    if (v == NULL
        || (v->type != NGX_HTTP_TWITCH_JSON_NUMBER
            && v->type != NGX_HTTP_TWITCH_JSON_STRING)
        || v->str.len == 0 || v->str.len > 18)
    {
        return def;
    }

    n = ngx_atoof(v->str.data, v->str.len);

    return (n == NGX_ERROR) ? def : (int64_t) n;
}


static ngx_int_t
ngx_http_twitch_chat_event_bool(ngx_http_twitch_json_t *root, const char *key,
    ngx_int_t def)
{
    ngx_http_twitch_json_t  *v;

    v = ngx_http_twitch_json_get(root, key);

    if (v == NULL || v->type != NGX_HTTP_TWITCH_JSON_BOOL) {
        return def;
    }

    return v->boolean ? 1 : 0;
}


static ngx_uint_t
ngx_http_twitch_chat_event_is(ngx_http_twitch_json_t *v, const char *s)
{
    size_t  len;

    len = ngx_strlen(s);

    return v->str.len == len && ngx_strncmp(v->str.data, s, len) == 0;
}
