
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Rooms: one per channel that has chat connections in this worker.
 *
 * A room is created by its first join and destroyed when its last member
 * leaves.  While it exists the worker is subscribed to the Redis channel
 * chat:<channelId>, where chat messages and moderation events arrive from
 * every worker and instance; each is turned into one frame, shared by all
 * the room's sockets.
 *
 * Creating a room loads the channel (owner, chat_settings)
 * and its emotes; a member then loads its standing (moderator, VIP,
 * subscription, follow, ban) and the join history (Redis; merged with
 * PostgreSQL's when Redis has less than 50 messages).  Rooms are
 * refreshed every minute and after a Redis outage (settings, emotes,
 * moderators, VIPs, bans), since events published meanwhile are lost.
 *
 * Viewer counts: every worker reports its members of each room into the
 * Redis hash viewers:chat:<id>:workers (field: the worker,
 * "<hex>:<pid>", value: "<count>:<expiry ms>"; other fields are left
 * alone); a script sums the live fields into viewers:chat:<id> and elects
 * one writer per interval, which stores the total in
 * channels.current_viewers while the channel is live (unless
 * twitch_chat_current_viewers is off, for when the video side stores chat
 * and HLS viewers together).  A worker pushes viewer_update to its sockets
 * when the total changes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


#define NGX_HTTP_TWITCH_CHAT_REFRESH   60000
#define NGX_HTTP_TWITCH_CHAT_KICK      200


typedef struct {
    ngx_http_twitch_chat_worker_t  *worker;
    int64_t                         channel_id;
} ngx_http_twitch_chat_viewer_ctx_t;


static ngx_http_twitch_chat_room_t *ngx_http_twitch_chat_room_create(
    ngx_http_twitch_chat_worker_t *w, int64_t channel_id);
static void ngx_http_twitch_chat_room_destroy(
    ngx_http_twitch_chat_room_t *room);
static void ngx_http_twitch_chat_room_release(
    ngx_http_twitch_chat_room_t *room);
static ngx_int_t ngx_http_twitch_chat_room_load(
    ngx_http_twitch_chat_room_t *room);
static void ngx_http_twitch_chat_room_loaded(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_chat_room_emotes(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_chat_room_roles(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_chat_room_ready(ngx_http_twitch_chat_room_t *room);
static void ngx_http_twitch_chat_room_failed(ngx_http_twitch_chat_room_t *room,
    const char *code, const char *text);
static void ngx_http_twitch_chat_room_message(void *data, ngx_str_t *channel,
    ngx_str_t *message);
static ngx_int_t ngx_http_twitch_chat_member_load(
    ngx_http_twitch_chat_member_t *m);
static void ngx_http_twitch_chat_member_loaded(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_chat_member_reloaded(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_chat_member_fill(ngx_http_twitch_chat_member_t *m,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_chat_member_history(
    ngx_http_twitch_chat_member_t *m);
static void ngx_http_twitch_chat_member_history_redis(void *data,
    redisReply *reply);
static ngx_int_t ngx_http_twitch_chat_member_history_db(
    ngx_http_twitch_chat_member_t *m);
static void ngx_http_twitch_chat_member_history_rows(void *data,
    PGresult *res, ngx_int_t rc);
static void ngx_http_twitch_chat_member_joined(
    ngx_http_twitch_chat_member_t *m, PGresult *rows);
static void ngx_http_twitch_chat_member_remove(
    ngx_http_twitch_chat_member_t *m);
static void ngx_http_twitch_chat_member_cancel(
    ngx_http_twitch_chat_member_t *m);
static void ngx_http_twitch_chat_viewers_update(
    ngx_http_twitch_chat_room_t *room);
static void ngx_http_twitch_chat_viewers_report(
    ngx_http_twitch_chat_worker_t *w, int64_t channel_id, ngx_uint_t count);
static void ngx_http_twitch_chat_viewers_counted(void *data,
    redisReply *reply);
static void ngx_http_twitch_chat_viewers_push(ngx_http_twitch_chat_room_t *room,
    ngx_uint_t total);
static void ngx_http_twitch_chat_viewers_store(
    ngx_http_twitch_chat_worker_t *w, int64_t channel_id, ngx_uint_t total);
static void ngx_http_twitch_chat_kick_handler(ngx_event_t *ev);
static void ngx_http_twitch_chat_redis_state(void *data, ngx_uint_t up);
static void ngx_http_twitch_chat_state_handler(ngx_event_t *ev);
static void ngx_http_twitch_chat_redis_check(ngx_http_twitch_chat_worker_t *w,
    ngx_uint_t settled);
static void ngx_http_twitch_chat_notice_all(ngx_http_twitch_chat_worker_t *w,
    const char *code, const char *text, ngx_uint_t degraded);
static void ngx_http_twitch_chat_room_refresh(
    ngx_http_twitch_chat_room_t *room);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_room_stmt = {
    "chat_room",
    "SELECT c.user_id,"
    " coalesce(s.slow_mode_seconds, 0), coalesce(s.followers_only, false),"
    " coalesce(s.followers_only_minutes, 0),"
    " coalesce(s.subscribers_only, false), coalesce(s.emote_only, false),"
    " coalesce(s.unique_chat, false)"
    " FROM channels c LEFT JOIN chat_settings s ON s.channel_id = c.id"
    " WHERE c.id = $1",
    1, 0
};


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_emotes_stmt = {
    "chat_emotes",
    "SELECT id, code, tier, is_global FROM emotes"
    " WHERE is_global OR channel_id = $1"
    " ORDER BY is_global, id",
    1, 0
};


/* everyone with a role or a ban in the channel, by user id */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_roles_stmt = {
    "chat_roles",
    "SELECT user_id, 'm', 0::bigint FROM channel_moderators"
    " WHERE channel_id = $1"
    " UNION ALL"
    " SELECT user_id, 'v', 0 FROM channel_vips WHERE channel_id = $1"
    " UNION ALL"
    " SELECT user_id, 'b', CASE WHEN expires_at IS NULL THEN -1"
    " ELSE (extract(epoch FROM expires_at) * 1000)::bigint END"
    " FROM channel_bans WHERE channel_id = $1"
    " AND (expires_at IS NULL OR expires_at > now())"
    " ORDER BY 1",
    1, 0
};


/*
 * A user's standing in a channel: broadcaster, moderator, VIP,
 * subscription tier and months, follow time (ms), ban (-1: permanent,
 * else the end of a timeout in ms).
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_member_stmt = {
    "chat_member",
    "SELECT c.user_id = $2,"
    " EXISTS (SELECT 1 FROM channel_moderators m"
    " WHERE m.channel_id = $1 AND m.user_id = $2),"
    " EXISTS (SELECT 1 FROM channel_vips v"
    " WHERE v.channel_id = $1 AND v.user_id = $2),"
    " s.tier,"
    " floor(extract(epoch FROM now() - s.started_at) / 2592000)::integer"
    " + 1,"
    " (SELECT (extract(epoch FROM f.followed_at) * 1000)::bigint"
    " FROM followers f WHERE f.channel_id = $1 AND f.user_id = $2),"
    " (SELECT CASE WHEN b.expires_at IS NULL THEN -1"
    " ELSE (extract(epoch FROM b.expires_at) * 1000)::bigint END"
    " FROM channel_bans b WHERE b.channel_id = $1 AND b.user_id = $2"
    " AND (b.expires_at IS NULL OR b.expires_at > now()))"
    " FROM channels c LEFT JOIN subscriptions s"
    " ON s.channel_id = c.id AND s.user_id = $2 AND s.expires_at > now()"
    " WHERE c.id = $1",
    2, 0
};


/* the join history from PostgreSQL: newest first */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_history_stmt = {
    "chat_history",
    "SELECT m.id, m.channel_id, m.user_id, m.username,"
    " coalesce(u.display_name, m.username), m.message, m.is_action,"
    " m.badges, m.emotes,"
    " (extract(epoch FROM m.created_at) * 1000)::bigint"
    " FROM chat_messages m LEFT JOIN users u ON u.id = m.user_id"
    " WHERE m.channel_id = $1 AND NOT m.is_deleted"
    " ORDER BY m.created_at DESC, m.id DESC LIMIT 50",
    1, 0
};


/* KEYS: the history, the viewer count; {newest first, count or nil} */

static const char  ngx_http_twitch_chat_history_lua[] =
    "return {redis.call('LRANGE', KEYS[1], 0, 49), "
    "redis.call('GET', KEYS[2])}";


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_viewers_stmt = {
    "chat_viewers",
    "UPDATE channels SET current_viewers = $2"
    " WHERE id = $1 AND is_live AND current_viewers <> $2",
    2, 0
};


/*
 * KEYS: viewers:chat:<id>:workers, viewers:chat:<id>,
 *       viewers:chat:<id>:writer
 * ARGV: worker, its count, ttl ms, writer period ms
 * Returns {total, 1 if this worker writes the total to PostgreSQL}.
 */

static const char  ngx_http_twitch_chat_viewers_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local ttl = tonumber(ARGV[3]) "
    "if tonumber(ARGV[2]) > 0 then "
    "  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + ttl)) "
    "else "
    "  redis.call('HDEL', KEYS[1], ARGV[1]) "
    "end "
    "local total = 0 "
    "local all = redis.call('HGETALL', KEYS[1]) "
    "for i = 1, #all, 2 do "
    "  if string.match(all[i], '^%x+:%d+$') then "
    "    local n, e = string.match(all[i + 1], '^(%d+):(%d+)$') "
    "    if n == nil or tonumber(e) < now then "
    "      redis.call('HDEL', KEYS[1], all[i]) "
    "    else "
    "      total = total + tonumber(n) "
    "    end "
    "  end "
    "end "
    "if total > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end "
    "redis.call('SET', KEYS[2], total, 'PX', ttl) "
    "local writer = 0 "
    "if total == 0 or redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', "
    "                             ARGV[4]) then "
    "  writer = 1 "
    "end "
    "return {total, writer}";


void
ngx_http_twitch_chat_rooms_init(ngx_http_twitch_chat_worker_t *w)
{
    ngx_rbtree_init(&w->rooms, &w->sentinel, ngx_rbtree_insert_value);

    w->viewer_timer.handler = ngx_http_twitch_chat_viewer_tick;
    w->viewer_timer.data = w;
    w->viewer_timer.log = w->log;
    w->viewer_timer.cancelable = 1;

    w->kick_timer.handler = ngx_http_twitch_chat_kick_handler;
    w->kick_timer.data = w;
    w->kick_timer.log = w->log;
    w->kick_timer.cancelable = 1;

    w->state_ev.handler = ngx_http_twitch_chat_state_handler;
    w->state_ev.data = w;
    w->state_ev.log = w->log;
    w->state_ev.cancelable = 1;

    ngx_add_timer(&w->viewer_timer, w->conf->viewer_interval);

    if (w->tmcf->redis != NULL) {
        ngx_http_twitch_redis_on_state(w->tmcf->redis,
                                       ngx_http_twitch_chat_redis_state, w);
    }
}


ngx_http_twitch_chat_room_t *
ngx_http_twitch_chat_room_find(ngx_http_twitch_chat_worker_t *w,
    int64_t channel_id)
{
    ngx_rbtree_key_t    key;
    ngx_rbtree_node_t  *node, *sentinel;

    key = (ngx_rbtree_key_t) channel_id;
    node = w->rooms.root;
    sentinel = w->rooms.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        return (ngx_http_twitch_chat_room_t *) node;
    }

    return NULL;
}


ngx_http_twitch_chat_member_t *
ngx_http_twitch_chat_member(ngx_http_twitch_chat_conn_t *cc,
    int64_t channel_id)
{
    ngx_uint_t  i;

    for (i = 0; i < cc->nmembers; i++) {
        if (cc->members[i]->room->channel_id == channel_id) {
            return cc->members[i];
        }
    }

    return NULL;
}


/* NGX_AGAIN: the join goes on (the connection is busy); NGX_OK: answered */

ngx_int_t
ngx_http_twitch_chat_join(ngx_http_twitch_chat_conn_t *cc, int64_t channel_id)
{
    ngx_uint_t                      fresh;
    ngx_queue_t                    *q;
    ngx_http_twitch_chat_room_t    *room;
    ngx_http_twitch_chat_member_t  *m;
    ngx_http_twitch_chat_worker_t  *w;

    w = cc->worker;

    if (ngx_http_twitch_chat_member(cc, channel_id) != NULL) {
        return ngx_http_twitch_chat_error(cc, "already_joined",
                                          "You are already in this chat",
                                          channel_id, -1);
    }

    if (cc->nmembers == NGX_HTTP_TWITCH_CHAT_MAX_ROOMS) {
        return ngx_http_twitch_chat_error(cc, "too_many_rooms",
                                          "Leave a chat before joining "
                                          "another one", channel_id, -1);
    }

    room = ngx_http_twitch_chat_room_find(w, channel_id);
    fresh = 0;

    if (room == NULL) {
        room = ngx_http_twitch_chat_room_create(w, channel_id);
        if (room == NULL) {
            return NGX_ERROR;
        }

        fresh = 1;
    }

    /* members live in the request's pool; a left room's is reused */

    if (!ngx_queue_empty(&cc->free_members)) {
        q = ngx_queue_head(&cc->free_members);
        ngx_queue_remove(q);
        m = ngx_queue_data(q, ngx_http_twitch_chat_member_t, queue);

    } else {
        m = ngx_palloc(cc->request->pool,
                       sizeof(ngx_http_twitch_chat_member_t));
        if (m == NULL) {
            if (fresh) {
                ngx_http_twitch_chat_room_destroy(room);
            }

            return NGX_ERROR;
        }
    }

    ngx_memzero(m, sizeof(ngx_http_twitch_chat_member_t));

    m->room = room;
    m->conn = cc;
    m->followed_at = -1;

    cc->members[cc->nmembers++] = m;
    ngx_queue_insert_tail(&room->joining, &m->queue);

    /* ngx_http_twitch_chat_member_joined() resumes the connection */
    cc->busy = 1;

    if (fresh) {
        if (ngx_http_twitch_chat_room_load(room) != NGX_OK) {
            ngx_http_twitch_chat_room_failed(room, "unavailable",
                                             "Chat is temporarily "
                                             "unavailable, try again");
        }

        return NGX_AGAIN;
    }

    if (room->ready) {
        room->hold++;
        (void) ngx_http_twitch_chat_member_load(m);
        ngx_http_twitch_chat_room_release(room);
    }

    return NGX_AGAIN;
}


/* NGX_DECLINED: not in that room */

ngx_int_t
ngx_http_twitch_chat_leave(ngx_http_twitch_chat_conn_t *cc,
    int64_t channel_id)
{
    ngx_http_twitch_chat_member_t  *m;

    m = ngx_http_twitch_chat_member(cc, channel_id);

    if (m == NULL) {
        return NGX_DECLINED;
    }

    ngx_http_twitch_chat_member_remove(m);

    return NGX_OK;
}


void
ngx_http_twitch_chat_leave_all(ngx_http_twitch_chat_conn_t *cc)
{
    while (cc->nmembers) {
        ngx_http_twitch_chat_member_remove(cc->members[cc->nmembers - 1]);
    }
}


static ngx_http_twitch_chat_room_t *
ngx_http_twitch_chat_room_create(ngx_http_twitch_chat_worker_t *w,
    int64_t channel_id)
{
    u_char                       *p;
    ngx_http_twitch_chat_room_t  *room;

    room = ngx_alloc(sizeof(ngx_http_twitch_chat_room_t)
                     + sizeof("chat:") + 2 * NGX_INT64_LEN + 1, w->log);
    if (room == NULL) {
        return NULL;
    }

    ngx_memzero(room, sizeof(ngx_http_twitch_chat_room_t));

    p = (u_char *) room + sizeof(ngx_http_twitch_chat_room_t);

    room->channel.data = p;
    p = ngx_sprintf(p, "chat:%L", channel_id);
    room->channel.len = p - room->channel.data;
    *p++ = '\0';

    room->id_text.data = p;
    p = ngx_sprintf(p, "%L", channel_id);
    room->id_text.len = p - room->id_text.data;
    *p = '\0';

    room->worker = w;
    room->channel_id = channel_id;
    room->node.key = (ngx_rbtree_key_t) channel_id;

    ngx_queue_init(&room->members);
    ngx_queue_init(&room->joining);

    ngx_rbtree_insert(&w->rooms, &room->node);
    w->nrooms++;

    /* subscribed before the history is read: nothing falls in between */

    if (w->tmcf->redis != NULL
        && ngx_http_twitch_redis_subscribe(w->tmcf->redis, &room->channel,
                                           ngx_http_twitch_chat_room_message,
                                           room)
           != NGX_OK)
    {
        ngx_rbtree_delete(&w->rooms, &room->node);
        w->nrooms--;
        ngx_free(room);
        return NULL;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "chat: room %L created", channel_id);

    return room;
}


/* the last member left (or the room could not load) */

static void
ngx_http_twitch_chat_room_destroy(ngx_http_twitch_chat_room_t *room)
{
    ngx_http_twitch_chat_worker_t  *w;

    if (room->hold) {
        room->doomed = 1;
        return;
    }

    w = room->worker;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "chat: room %L destroyed", room->channel_id);

    if (room->query != NULL) {
        if (w->tmcf->pg != NULL) {
            ngx_http_twitch_pg_cancel(room->query);
        }

        room->query = NULL;
    }

    if (w->tmcf->redis != NULL) {
        ngx_http_twitch_redis_unsubscribe(w->tmcf->redis, &room->channel);

        if (room->ready && !w->exiting
            && ngx_http_twitch_redis_is_up(w->tmcf->redis))
        {
            /* this worker's viewers are gone */
            ngx_http_twitch_chat_viewers_report(w, room->channel_id, 0);
        }
    }

    ngx_rbtree_delete(&w->rooms, &room->node);
    w->nrooms--;

    if (room->emotes_pool != NULL) {
        ngx_destroy_pool(room->emotes_pool);
    }

    ngx_free(room);
}


/* ends a hold on the room: it may have to go now */

static void
ngx_http_twitch_chat_room_release(ngx_http_twitch_chat_room_t *room)
{
    room->hold--;

    if (room->hold == 0 && room->doomed) {
        room->doomed = 0;

        if (room->nmembers == 0 && ngx_queue_empty(&room->joining)) {
            ngx_http_twitch_chat_room_destroy(room);
        }
    }
}


static ngx_int_t
ngx_http_twitch_chat_room_load(ngx_http_twitch_chat_room_t *room)
{
    const char                     *params[1];
    ngx_http_twitch_chat_worker_t  *w;

    w = room->worker;
    params[0] = (const char *) room->id_text.data;

    room->query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                           &ngx_http_twitch_chat_room_stmt,
                                           params,
                                           ngx_http_twitch_chat_room_loaded,
                                           room, w->log);

    if (room->query == NULL) {
        return NGX_ERROR;
    }

    room->loading = 1;

    return NGX_OK;
}


static void
ngx_http_twitch_chat_room_loaded(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_chat_room_t *room = data;

    const char                       *params[1];
    ngx_http_twitch_chat_worker_t    *w;
    ngx_http_twitch_chat_settings_t  *s;

    room->query = NULL;
    w = room->worker;

    if (rc != NGX_OK || PQntuples(res) != 1) {
        room->loading = 0;

        if (room->ready) {
            /* a refresh: keep what the room has */
            return;
        }

        if (rc == NGX_OK) {
            ngx_http_twitch_chat_room_failed(room, "unknown_channel",
                                             "Channel not found");

        } else {
            ngx_http_twitch_chat_room_failed(room, "unavailable",
                                             "Chat is temporarily "
                                             "unavailable, try again");
        }

        return;
    }

    s = &room->settings;

    room->owner_id = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                               PQgetlength(res, 0, 0));
    s->slow = ngx_atoi((u_char *) PQgetvalue(res, 0, 1),
                       PQgetlength(res, 0, 1));
    s->followers_only = (PQgetvalue(res, 0, 2)[0] == 't');
    s->followers_minutes = ngx_atoi((u_char *) PQgetvalue(res, 0, 3),
                                    PQgetlength(res, 0, 3));
    s->subscribers_only = (PQgetvalue(res, 0, 4)[0] == 't');
    s->emote_only = (PQgetvalue(res, 0, 5)[0] == 't');
    s->unique = (PQgetvalue(res, 0, 6)[0] == 't');

    params[0] = (const char *) room->id_text.data;

    room->query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                           &ngx_http_twitch_chat_emotes_stmt,
                                           params,
                                           ngx_http_twitch_chat_room_emotes,
                                           room, w->log);

    if (room->query == NULL) {
        ngx_http_twitch_chat_room_emotes(room, NULL, NGX_DECLINED);
    }
}


static void
ngx_http_twitch_chat_room_emotes(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_chat_room_t *room = data;

    const char                     *params[1];
    ngx_http_twitch_chat_worker_t  *w;

    room->query = NULL;
    w = room->worker;

    if (rc == NGX_OK
        && ngx_http_twitch_chat_emotes_load(room, res) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, w->log, 0,
                      "chat: no memory for the emotes of room %L",
                      room->channel_id);
    }

    if (!room->ready) {
        ngx_http_twitch_chat_room_ready(room);
        return;
    }

    /* a refresh goes on with the roles */

    params[0] = (const char *) room->id_text.data;

    room->query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                           &ngx_http_twitch_chat_roles_stmt,
                                           params,
                                           ngx_http_twitch_chat_room_roles,
                                           room, w->log);

    if (room->query == NULL) {
        room->loading = 0;
    }
}


/* a refresh: who is moderator, VIP or banned now */

static void
ngx_http_twitch_chat_room_roles(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_chat_room_t *room = data;

    int                             lo, hi, mid, n;
    int64_t                         uid, v;
    ngx_queue_t                    *q;
    ngx_http_twitch_chat_member_t  *m;

    room->query = NULL;
    room->loading = 0;

    if (rc != NGX_OK) {
        return;
    }

    n = PQntuples(res);

    for (q = ngx_queue_head(&room->members);
         q != ngx_queue_sentinel(&room->members);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_twitch_chat_member_t, queue);

        if (m->conn->user_id == 0) {
            continue;
        }

        m->broadcaster = (m->conn->user_id == room->owner_id);
        m->moderator = 0;
        m->vip = 0;
        m->ban_until = 0;

        /* the rows are sorted by user id: find the first of this user */

        lo = 0;
        hi = n;

        while (lo < hi) {
            mid = (lo + hi) / 2;
            uid = ngx_atoof((u_char *) PQgetvalue(res, mid, 0),
                            PQgetlength(res, mid, 0));

            if (uid < m->conn->user_id) {
                lo = mid + 1;

            } else {
                hi = mid;
            }
        }

        for ( /* void */ ; lo < n; lo++) {
            uid = ngx_atoof((u_char *) PQgetvalue(res, lo, 0),
                            PQgetlength(res, lo, 0));

            if (uid != m->conn->user_id) {
                break;
            }

            switch (PQgetvalue(res, lo, 1)[0]) {

            case 'm':
                m->moderator = 1;
                break;

            case 'v':
                m->vip = 1;
                break;

            default:
                v = ngx_atoof((u_char *) PQgetvalue(res, lo, 2),
                              PQgetlength(res, lo, 2));

                /* "-1" (a permanent ban) does not parse: NGX_ERROR */
                m->ban_until = (v == NGX_ERROR) ? -1 : v;
                break;
            }
        }
    }
}


static void
ngx_http_twitch_chat_room_ready(ngx_http_twitch_chat_room_t *room)
{
    ngx_queue_t                    *q, *next;
    ngx_http_twitch_chat_member_t  *m;

    room->ready = 1;
    room->loading = 0;
    room->refreshed = ngx_current_msec;

    /* the members may leave or fail while this runs: hold the room */

    room->hold++;

    for (q = ngx_queue_head(&room->joining);
         q != ngx_queue_sentinel(&room->joining);
         q = next)
    {
        next = ngx_queue_next(q);
        m = ngx_queue_data(q, ngx_http_twitch_chat_member_t, queue);

        if (m->query == NULL && m->cmd == NULL) {
            (void) ngx_http_twitch_chat_member_load(m);
        }
    }

    ngx_http_twitch_chat_room_release(room);
}


/* the room cannot load: every member waiting is told, the room goes */

static void
ngx_http_twitch_chat_room_failed(ngx_http_twitch_chat_room_t *room,
    const char *code, const char *text)
{
    ngx_queue_t                    *q;
    ngx_http_twitch_chat_conn_t    *cc;
    ngx_http_twitch_chat_member_t  *m;

    room->hold++;

    while (!ngx_queue_empty(&room->joining)) {
        q = ngx_queue_head(&room->joining);
        m = ngx_queue_data(q, ngx_http_twitch_chat_member_t, queue);
        cc = m->conn;

        if (ngx_http_twitch_chat_error(cc, code, text, room->channel_id, -1)
            == NGX_ERROR)
        {
            ngx_http_twitch_chat_fail(cc, NGX_HTTP_TWITCH_WS_INTERNAL);
        }

        ngx_http_twitch_chat_member_remove(m);
        ngx_http_twitch_chat_resume(cc);
    }

    ngx_http_twitch_chat_room_release(room);
}


static void
ngx_http_twitch_chat_room_message(void *data, ngx_str_t *channel,
    ngx_str_t *message)
{
    ngx_http_twitch_chat_room_t *room = data;

    ngx_http_twitch_chat_event(room, message);
}


/* the member's standing, then the history, then "joined" */

static ngx_int_t
ngx_http_twitch_chat_member_load(ngx_http_twitch_chat_member_t *m)
{
    const char                     *params[2];
    ngx_http_twitch_chat_conn_t    *cc;
    ngx_http_twitch_chat_worker_t  *w;

    cc = m->conn;
    w = cc->worker;

    if (cc->user_id == 0) {
        return ngx_http_twitch_chat_member_history(m);
    }

    params[0] = (const char *) m->room->id_text.data;
    params[1] = (const char *) cc->user_id_text.data;

    m->query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                        &ngx_http_twitch_chat_member_stmt,
                                        params,
                                        ngx_http_twitch_chat_member_loaded,
                                        m, cc->connection->log);

    if (m->query != NULL) {
        return NGX_AGAIN;
    }

    m->stale = 1;

    return ngx_http_twitch_chat_member_history(m);
}


static void
ngx_http_twitch_chat_member_loaded(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_chat_member_t *m = data;

    ngx_http_twitch_chat_room_t  *room;

    m->query = NULL;
    room = m->room;

    ngx_http_twitch_chat_member_fill(m, res, rc);

    room->hold++;
    (void) ngx_http_twitch_chat_member_history(m);
    ngx_http_twitch_chat_room_release(room);
}


/*
 * Reads a member's standing again, for a message refused with what the
 * join read (waiter: the connection whose message waits for it; it goes
 * on in ngx_http_twitch_chat_standing_ready()).  NGX_DECLINED: not now.
 */

ngx_int_t
ngx_http_twitch_chat_member_reload(ngx_http_twitch_chat_member_t *m,
    ngx_http_twitch_chat_conn_t *waiter)
{
    const char                     *params[2];
    ngx_http_twitch_chat_conn_t    *cc;
    ngx_http_twitch_chat_worker_t  *w;

    cc = m->conn;
    w = cc->worker;

    if (!m->joined || m->query != NULL || m->cmd != NULL
        || cc->user_id == 0)
    {
        return NGX_DECLINED;
    }

    params[0] = (const char *) m->room->id_text.data;
    params[1] = (const char *) cc->user_id_text.data;

    m->query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                        &ngx_http_twitch_chat_member_stmt,
                                        params,
                                        ngx_http_twitch_chat_member_reloaded,
                                        m, cc->connection->log);
    if (m->query == NULL) {
        return NGX_DECLINED;
    }

    m->reloaded = ngx_current_msec;
    m->waiter = waiter;

    return NGX_OK;
}


static void
ngx_http_twitch_chat_member_reloaded(void *data, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_twitch_chat_member_t *m = data;

    ngx_http_twitch_chat_conn_t  *waiter;

    m->query = NULL;

    ngx_http_twitch_chat_member_fill(m, res, rc);

    waiter = m->waiter;
    m->waiter = NULL;

    if (waiter != NULL) {
        ngx_http_twitch_chat_standing_ready(waiter);
    }
}


static void
ngx_http_twitch_chat_member_fill(ngx_http_twitch_chat_member_t *m,
    PGresult *res, ngx_int_t rc)
{
    char  *v;

    if (rc != NGX_OK || PQntuples(res) != 1) {
        m->stale = 1;
        return;
    }

    m->stale = 0;
    m->broadcaster = (PQgetvalue(res, 0, 0)[0] == 't');
    m->moderator = (PQgetvalue(res, 0, 1)[0] == 't');
    m->vip = (PQgetvalue(res, 0, 2)[0] == 't');

    if (PQgetisnull(res, 0, 3)) {
        m->sub_tier = 0;
        m->sub_months = 0;

    } else {
        m->sub_tier = ngx_atoi((u_char *) PQgetvalue(res, 0, 3),
                               PQgetlength(res, 0, 3));
        m->sub_months = ngx_atoi((u_char *) PQgetvalue(res, 0, 4),
                                 PQgetlength(res, 0, 4));
    }

    m->followed_at = PQgetisnull(res, 0, 5)
                     ? -1
                     : ngx_atoof((u_char *) PQgetvalue(res, 0, 5),
                                 PQgetlength(res, 0, 5));

    if (PQgetisnull(res, 0, 6)) {
        m->ban_until = 0;

    } else {
        v = PQgetvalue(res, 0, 6);
        m->ban_until = (v[0] == '-')
                       ? -1
                       : ngx_atoof((u_char *) v, PQgetlength(res, 0, 6));
    }
}


static ngx_int_t
ngx_http_twitch_chat_member_history(ngx_http_twitch_chat_member_t *m)
{
    u_char                         *p;
    size_t                          lens[5];
    const char                     *argv[5];
    u_char                          keys[sizeof("chat:history:")
                                         + sizeof("viewers:chat:")
                                         + 2 * NGX_INT64_LEN];
    ngx_http_twitch_chat_worker_t  *w;

    w = m->conn->worker;

    if (ngx_http_twitch_redis_is_up(w->tmcf->redis)) {
        argv[0] = "EVAL";
        argv[1] = ngx_http_twitch_chat_history_lua;
        argv[2] = "2";

        p = keys;
        argv[3] = (const char *) p;
        p = ngx_sprintf(p, "chat:history:%L%Z", m->room->channel_id);
        argv[4] = (const char *) p;
        p = ngx_sprintf(p, "viewers:chat:%L%Z", m->room->channel_id);

        lens[0] = 4;
        lens[1] = sizeof(ngx_http_twitch_chat_history_lua) - 1;
        lens[2] = 1;
        lens[3] = ngx_strlen(argv[3]);
        lens[4] = ngx_strlen(argv[4]);

        m->cmd = ngx_http_twitch_redis_command(w->tmcf->redis,
                                   ngx_http_twitch_chat_member_history_redis,
                                   m, 5, argv, lens);
        if (m->cmd != NULL) {
            return NGX_AGAIN;
        }
    }

    return ngx_http_twitch_chat_member_history_db(m);
}


static void
ngx_http_twitch_chat_member_history_redis(void *data, redisReply *reply)
{
    ngx_http_twitch_chat_member_t *m = data;

    size_t                        i;
    ngx_str_t                    *e;
    redisReply                   *list, *count;
    ngx_http_twitch_chat_room_t  *room;

    m->cmd = NULL;
    room = m->room;
    list = NULL;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements == 2)
    {
        list = reply->element[0];
        count = reply->element[1];

        if (count->type == REDIS_REPLY_STRING) {
            /* the shared count, without this member yet */
            m->viewers_hint = ngx_atoi((u_char *) count->str, count->len)
                              + 1;
        }
    }

    /* the reply goes when this returns: keep a copy of the messages */

    if (list != NULL && list->type == REDIS_REPLY_ARRAY
        && list->elements > 0)
    {
        m->history = ngx_array_create(m->conn->tmp, list->elements,
                                      sizeof(ngx_str_t));

        for (i = 0; m->history != NULL && i < list->elements; i++) {
            if (list->element[i]->type != REDIS_REPLY_STRING) {
                continue;
            }

            e = ngx_array_push(m->history);
            if (e == NULL) {
                m->history = NULL;
                break;
            }

            e->len = list->element[i]->len;
            e->data = ngx_pnalloc(m->conn->tmp, e->len);

            if (e->data == NULL) {
                m->history = NULL;
                break;
            }

            ngx_memcpy(e->data, list->element[i]->str, e->len);
        }
    }

    room->hold++;

    if (m->history != NULL
        && m->history->nelts >= NGX_HTTP_TWITCH_CHAT_HISTORY)
    {
        ngx_http_twitch_chat_member_joined(m, NULL);

    } else {
        /*
         * Redis has less than a full history (a quiet room, or Redis lost
         * it): PostgreSQL has the rest; both are merged
         */
        (void) ngx_http_twitch_chat_member_history_db(m);
    }

    ngx_http_twitch_chat_room_release(room);
}


static ngx_int_t
ngx_http_twitch_chat_member_history_db(ngx_http_twitch_chat_member_t *m)
{
    const char                     *params[1];
    ngx_http_twitch_chat_worker_t  *w;

    w = m->conn->worker;
    params[0] = (const char *) m->room->id_text.data;

    m->query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                        &ngx_http_twitch_chat_history_stmt,
                                        params,
                                     ngx_http_twitch_chat_member_history_rows,
                                        m, m->conn->connection->log);

    if (m->query != NULL) {
        return NGX_AGAIN;
    }

    ngx_http_twitch_chat_member_joined(m, NULL);

    return NGX_OK;
}


static void
ngx_http_twitch_chat_member_history_rows(void *data, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_twitch_chat_member_t *m = data;

    ngx_http_twitch_chat_room_t  *room;

    m->query = NULL;
    room = m->room;

    room->hold++;
    ngx_http_twitch_chat_member_joined(m, (rc == NGX_OK) ? res : NULL);
    ngx_http_twitch_chat_room_release(room);
}


static void
ngx_http_twitch_chat_member_joined(ngx_http_twitch_chat_member_t *m,
    PGresult *rows)
{
    ngx_http_twitch_chat_conn_t  *cc;
    ngx_http_twitch_chat_room_t  *room;

    cc = m->conn;
    room = m->room;

    ngx_queue_remove(&m->queue);
    ngx_queue_insert_tail(&room->members, &m->queue);
    m->joined = 1;
    room->nmembers++;

    if (ngx_http_twitch_chat_send_joined(m, m->history, rows) == NGX_ERROR)
    {
        ngx_http_twitch_chat_fail(cc, NGX_HTTP_TWITCH_WS_INTERNAL);
    }

    m->history = NULL;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cc->connection->log, 0,
                   "chat: joined room %L, %ui members here",
                   room->channel_id, room->nmembers);

    ngx_http_twitch_chat_viewers_kick(room);
    ngx_http_twitch_chat_resume(cc);
}


static void
ngx_http_twitch_chat_member_remove(ngx_http_twitch_chat_member_t *m)
{
    ngx_uint_t                    i;
    ngx_http_twitch_chat_conn_t  *cc;
    ngx_http_twitch_chat_room_t  *room;

    cc = m->conn;
    room = m->room;

    ngx_http_twitch_chat_member_cancel(m);

    ngx_queue_remove(&m->queue);

    if (m->joined) {
        room->nmembers--;
    }

    for (i = 0; i < cc->nmembers; i++) {
        if (cc->members[i] == m) {
            cc->members[i] = cc->members[--cc->nmembers];
            break;
        }
    }

    if (m->sent != NULL) {
        ngx_free(m->sent);
    }

    ngx_queue_insert_head(&cc->free_members, &m->queue);

    if (room->nmembers == 0 && ngx_queue_empty(&room->joining)) {
        ngx_http_twitch_chat_room_destroy(room);
        return;
    }

    ngx_http_twitch_chat_viewers_kick(room);
}


static void
ngx_http_twitch_chat_member_cancel(ngx_http_twitch_chat_member_t *m)
{
    ngx_http_twitch_chat_worker_t  *w;

    w = m->conn->worker;

    if (m->query != NULL) {
        if (w->tmcf->pg != NULL) {
            ngx_http_twitch_pg_cancel(m->query);
        }

        m->query = NULL;
    }

    if (m->cmd != NULL) {
        if (w->tmcf->redis != NULL) {
            ngx_http_twitch_redis_cancel(m->cmd);
        }

        m->cmd = NULL;
    }
}


/* one frame, queued on every member's connection */

void
ngx_http_twitch_chat_room_deliver(ngx_http_twitch_chat_room_t *room,
    ngx_http_twitch_chat_frame_t *f)
{
    ngx_queue_t                    *q;
    ngx_http_twitch_chat_member_t  *m;

    for (q = ngx_queue_head(&room->members);
         q != ngx_queue_sentinel(&room->members);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_twitch_chat_member_t, queue);
        (void) ngx_http_twitch_chat_send(m->conn, f);
    }
}


/*
 * A chat message for this worker's sockets, unless the room delivered it
 * already (a message can come from Redis and from this worker's fallback).
 */

ngx_int_t
ngx_http_twitch_chat_room_local(ngx_http_twitch_chat_room_t *room, int64_t id,
    u_char *payload, size_t len)
{
    ngx_uint_t                     i, n;
    ngx_http_twitch_chat_frame_t  *f;

    n = ngx_min(room->nseen, NGX_HTTP_TWITCH_CHAT_SEEN);

    for (i = 0; i < n; i++) {
        if (room->seen[i] == id) {
            return NGX_OK;
        }
    }

    room->seen[room->nseen++ % NGX_HTTP_TWITCH_CHAT_SEEN] = id;

    f = ngx_http_twitch_chat_frame(NGX_HTTP_TWITCH_WS_TEXT, payload, len,
                                   room->worker->log);
    if (f == NULL) {
        return NGX_ERROR;
    }

    ngx_http_twitch_chat_room_deliver(room, f);
    ngx_http_twitch_chat_frame_release(f);

    return NGX_OK;
}


/* refreshes every ready room: settings, emotes, roles */

void
ngx_http_twitch_chat_rooms_refresh(ngx_http_twitch_chat_worker_t *w)
{
    ngx_rbtree_node_t            *node;
    ngx_http_twitch_chat_room_t  *room;

    if (w->rooms.root == w->rooms.sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(w->rooms.root, w->rooms.sentinel);
         node != NULL;
         node = ngx_rbtree_next(&w->rooms, node))
    {
        room = (ngx_http_twitch_chat_room_t *) node;
        ngx_http_twitch_chat_room_refresh(room);
    }
}


static void
ngx_http_twitch_chat_room_refresh(ngx_http_twitch_chat_room_t *room)
{
    if (!room->ready || room->loading || room->query != NULL) {
        return;
    }

    room->refreshed = ngx_current_msec;

    (void) ngx_http_twitch_chat_room_load(room);
}


/* a member came or went: the counts are sent again soon */

void
ngx_http_twitch_chat_viewers_kick(ngx_http_twitch_chat_room_t *room)
{
    ngx_http_twitch_chat_worker_t  *w;

    w = room->worker;
    room->kicked = 1;

    if (!w->kick_timer.timer_set && !w->exiting) {
        ngx_add_timer(&w->kick_timer, NGX_HTTP_TWITCH_CHAT_KICK);
    }
}


static void
ngx_http_twitch_chat_kick_handler(ngx_event_t *ev)
{
    ngx_rbtree_node_t              *node;
    ngx_http_twitch_chat_room_t    *room;
    ngx_http_twitch_chat_worker_t  *w;

    w = ev->data;

    if (w->rooms.root == w->rooms.sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(w->rooms.root, w->rooms.sentinel);
         node != NULL;
         node = ngx_rbtree_next(&w->rooms, node))
    {
        room = (ngx_http_twitch_chat_room_t *) node;

        if (room->kicked) {
            room->kicked = 0;
            ngx_http_twitch_chat_viewers_update(room);
        }
    }
}


/* every viewer_interval: counts, room refreshes, the Redis state */

void
ngx_http_twitch_chat_viewer_tick(ngx_event_t *ev)
{
    ngx_rbtree_node_t              *node;
    ngx_http_twitch_chat_room_t    *room;
    ngx_http_twitch_chat_worker_t  *w;

    w = ev->data;

    if (ngx_exiting || w->exiting) {
        return;
    }

    ngx_http_twitch_chat_redis_check(w, 1);

    if (w->rooms.root != w->rooms.sentinel) {

        for (node = ngx_rbtree_min(w->rooms.root, w->rooms.sentinel);
             node != NULL;
             node = ngx_rbtree_next(&w->rooms, node))
        {
            room = (ngx_http_twitch_chat_room_t *) node;

            room->kicked = 0;
            ngx_http_twitch_chat_viewers_update(room);

            if (ngx_current_msec - room->refreshed
                >= NGX_HTTP_TWITCH_CHAT_REFRESH)
            {
                ngx_http_twitch_chat_room_refresh(room);
            }
        }
    }

    ngx_add_timer(ev, w->conf->viewer_interval);
}


static void
ngx_http_twitch_chat_viewers_update(ngx_http_twitch_chat_room_t *room)
{
    ngx_http_twitch_chat_worker_t  *w;

    w = room->worker;

    if (!room->ready) {
        return;
    }

    if (ngx_http_twitch_redis_is_up(w->tmcf->redis)) {
        ngx_http_twitch_chat_viewers_report(w, room->channel_id,
                                            room->nmembers);
        return;
    }

    /* without Redis: this worker's own count */
    ngx_http_twitch_chat_viewers_push(room, room->nmembers);
}


static void
ngx_http_twitch_chat_viewers_report(ngx_http_twitch_chat_worker_t *w,
    int64_t channel_id, ngx_uint_t count)
{
    u_char                             *p, *buf;
    ngx_uint_t                          i;
    ngx_msec_t                          ttl;
    size_t                              lens[10];
    const char                         *argv[10];
    ngx_http_twitch_chat_viewer_ctx_t  *ctx;

    ctx = ngx_alloc(sizeof(ngx_http_twitch_chat_viewer_ctx_t)
                    + 3 * (sizeof("viewers:chat::workers") + NGX_INT64_LEN)
                    + 3 * NGX_INT64_LEN + 8, w->log);
    if (ctx == NULL) {
        return;
    }

    ctx->worker = w;
    ctx->channel_id = channel_id;

    /* a worker that stops reporting drops out after three intervals */
    ttl = ngx_max(3 * w->conf->viewer_interval, 3000);

    buf = (u_char *) ctx + sizeof(ngx_http_twitch_chat_viewer_ctx_t);
    p = buf;

    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_chat_viewers_lua;
    argv[2] = "3";

    argv[3] = (char *) p;
    p = ngx_sprintf(p, "viewers:chat:%L:workers%Z", channel_id);
    argv[4] = (char *) p;
    p = ngx_sprintf(p, "viewers:chat:%L%Z", channel_id);
    argv[5] = (char *) p;
    p = ngx_sprintf(p, "viewers:chat:%L:writer%Z", channel_id);

    argv[6] = (char *) w->id.data;      /* NUL-terminated */

    argv[7] = (char *) p;
    p = ngx_sprintf(p, "%ui%Z", count);
    argv[8] = (char *) p;
    p = ngx_sprintf(p, "%M%Z", ttl);
    argv[9] = (char *) p;
    p = ngx_sprintf(p, "%M%Z", w->conf->viewer_interval);

    for (i = 0; i < 10; i++) {
        lens[i] = ngx_strlen(argv[i]);
    }

    if (ngx_http_twitch_redis_command(w->tmcf->redis,
                                      ngx_http_twitch_chat_viewers_counted,
                                      ctx, 10, argv, lens)
        == NULL)
    {
        ngx_free(ctx);
    }
}


static void
ngx_http_twitch_chat_viewers_counted(void *data, redisReply *reply)
{
    ngx_http_twitch_chat_viewer_ctx_t *ctx = data;

    int64_t                         channel_id;
    ngx_uint_t                      total, writer;
    ngx_http_twitch_chat_room_t    *room;
    ngx_http_twitch_chat_worker_t  *w;

    w = ctx->worker;
    channel_id = ctx->channel_id;
    ngx_free(ctx);

    if (w->exiting) {
        return;
    }

    room = ngx_http_twitch_chat_room_find(w, channel_id);

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        if (room != NULL && room->ready) {
            ngx_http_twitch_chat_viewers_push(room, room->nmembers);
        }

        return;
    }

    total = (ngx_uint_t) reply->element[0]->integer;
    writer = (ngx_uint_t) reply->element[1]->integer;

    if (room != NULL && room->ready) {
        ngx_http_twitch_chat_viewers_push(room, total);
    }

    if (writer && w->conf->current_viewers) {
        ngx_http_twitch_chat_viewers_store(w, channel_id, total);
    }
}


/* {"type":"viewer_update","channelId":1,"viewerCount":3} when it changed */

static void
ngx_http_twitch_chat_viewers_push(ngx_http_twitch_chat_room_t *room,
    ngx_uint_t total)
{
    yajl_gen                       g;
    ngx_http_twitch_chat_frame_t  *f;

    room->viewers_known = 1;

    if (total == room->viewers_sent) {
        return;
    }

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        return;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "viewer_update");
    ngx_http_twitch_json_key(g, "channelId");
    ngx_http_twitch_json_int(g, room->channel_id);
    ngx_http_twitch_json_key(g, "viewerCount");
    ngx_http_twitch_json_int(g, total);
    (void) yajl_gen_map_close(g);

    f = ngx_http_twitch_chat_frame_json(g, room->worker->log);
    yajl_gen_free(g);

    if (f == NULL) {
        return;
    }

    room->viewers_sent = total;

    ngx_http_twitch_chat_room_deliver(room, f);
    ngx_http_twitch_chat_frame_release(f);
}


/* channels.current_viewers of a live channel */

static void
ngx_http_twitch_chat_viewers_store(ngx_http_twitch_chat_worker_t *w,
    int64_t channel_id, ngx_uint_t total)
{
    const char  *params[2];
    u_char       id[NGX_INT64_LEN + 1], count[NGX_INT64_LEN + 1];

    *ngx_sprintf(id, "%L", channel_id) = '\0';
    *ngx_sprintf(count, "%ui", total) = '\0';

    params[0] = (const char *) id;
    params[1] = (const char *) count;

    (void) ngx_http_twitch_pg_query(w->tmcf->pg,
                                    &ngx_http_twitch_chat_viewers_stmt,
                                    params, NULL, NULL, w->log);
}


static void
ngx_http_twitch_chat_redis_state(void *data, ngx_uint_t up)
{
    ngx_http_twitch_chat_worker_t *w = data;

    if (!up) {
        ngx_http_twitch_chat_redis_check(w, 1);
        return;
    }

    /* the command connection may still be connecting */

    if (!w->state_ev.timer_set && !w->exiting) {
        w->state_tries = 0;
        ngx_add_timer(&w->state_ev, 50);
    }
}


static void
ngx_http_twitch_chat_state_handler(ngx_event_t *ev)
{
    ngx_http_twitch_chat_worker_t *w = ev->data;

    ngx_http_twitch_chat_redis_check(w, 0);

    if (!w->redis_up && ++w->state_tries < 50 && !ngx_exiting) {
        ngx_add_timer(ev, 100);
    }
}


/*
 * Tells the clients when Redis goes away (messages then reach this
 * worker's sockets only) and when it is back; "settled": a Redis that is
 * down now counts as an outage even if it was never up.
 */

static void
ngx_http_twitch_chat_redis_check(ngx_http_twitch_chat_worker_t *w,
    ngx_uint_t settled)
{
    ngx_uint_t  up;

    if (w->exiting || w->tmcf->redis == NULL) {
        return;
    }

    up = ngx_http_twitch_redis_is_up(w->tmcf->redis);

    if (up) {
        if (w->redis_up) {
            return;
        }

        w->redis_up = 1;

        if (w->degraded) {
            w->degraded = 0;

            ngx_log_error(NGX_LOG_NOTICE, w->log, 0,
                          "chat: Redis is back, rooms are shared again");

            ngx_http_twitch_chat_notice_all(w, "chat_restored",
                                            "Chat is back to normal", 0);
            ngx_http_twitch_chat_relay_watch(w, 0);

            /* events published during the outage are lost */
            ngx_http_twitch_chat_rooms_refresh(w);
        }

        return;
    }

    if (!w->redis_up && !settled) {
        return;
    }

    w->redis_up = 0;

    if (!w->degraded) {
        w->degraded = 1;

        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "chat: Redis is unreachable, messages reach this "
                      "worker's clients only");

        ngx_http_twitch_chat_notice_all(w, "chat_degraded",
                                        "Chat is degraded: messages reach "
                                        "this server only", 1);
    }

    /* the siblings' messages come through shared memory meanwhile */
    ngx_http_twitch_chat_relay_watch(w, 1);
}


static void
ngx_http_twitch_chat_notice_all(ngx_http_twitch_chat_worker_t *w,
    const char *code, const char *text, ngx_uint_t degraded)
{
    yajl_gen                       g;
    ngx_queue_t                   *q;
    ngx_http_twitch_chat_conn_t   *cc;
    ngx_http_twitch_chat_frame_t  *f;

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        return;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "notice");
    ngx_http_twitch_json_key(g, "code");
    ngx_http_twitch_json_cstr(g, code);
    ngx_http_twitch_json_key(g, "message");
    ngx_http_twitch_json_cstr(g, text);
    (void) yajl_gen_map_close(g);

    f = ngx_http_twitch_chat_frame_json(g, w->log);
    yajl_gen_free(g);

    if (f == NULL) {
        return;
    }

    for (q = ngx_queue_head(&w->conns);
         q != ngx_queue_sentinel(&w->conns);
         q = ngx_queue_next(q))
    {
        cc = ngx_queue_data(q, ngx_http_twitch_chat_conn_t, queue);

        if (!cc->identified || cc->degraded_sent == degraded) {
            continue;
        }

        cc->degraded_sent = degraded;
        (void) ngx_http_twitch_chat_send(cc, f);
    }

    ngx_http_twitch_chat_frame_release(f);
}


/* the worker exits: the rooms go without Redis and PostgreSQL */

void
ngx_http_twitch_chat_rooms_exit(ngx_http_twitch_chat_worker_t *w)
{
    ngx_rbtree_node_t            *node;
    ngx_http_twitch_chat_room_t  *room;

    while (w->rooms.root != w->rooms.sentinel) {
        node = ngx_rbtree_min(w->rooms.root, w->rooms.sentinel);
        room = (ngx_http_twitch_chat_room_t *) node;

        room->hold = 0;
        room->query = NULL;
        ngx_http_twitch_chat_room_destroy(room);
    }

    if (w->viewer_timer.timer_set) {
        ngx_del_timer(&w->viewer_timer);
    }

    if (w->kick_timer.timer_set) {
        ngx_del_timer(&w->kick_timer);
    }

    if (w->state_ev.timer_set) {
        ngx_del_timer(&w->state_ev);
    }

    ngx_http_twitch_chat_relay_watch(w, 0);
}
