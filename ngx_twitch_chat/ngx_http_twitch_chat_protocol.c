
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * The chat's JSON protocol: one JSON object per text message.
 *
 *   client                          server
 *   {"type":"auth"}                 {"type":"auth_success",...}
 *   {"type":"join","channelId":1}   {"type":"joined",...}
 *   {"type":"leave","channelId":1}  {"type":"left","channelId":1}
 *   {"type":"chat","channelId":1,   {"type":"chat",...} to the room
 *    "text":"hi"}                   or {"type":"error","code":...}
 *   {"type":"ping"}                 {"type":"pong"}
 *
 * A chat message goes through the local rules (ban, timeout, room modes,
 * length), takes an id from the worker's block, and then one Redis script
 * applies the shared rules (rate limit, slow mode, duplicates, unique
 * chat), appends it to the room's history and publishes it, atomically.
 * Every worker subscribed to the room (this one included) writes it to
 * its sockets.  Without Redis the same rules run in this worker's memory
 * and the message goes to this worker's sockets directly.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_http_twitch_chat.h"


#define NGX_HTTP_TWITCH_CHAT_MAX_ID   9007199254740991LL


typedef struct {
    ngx_http_twitch_chat_member_t  *member;
    int64_t                         channel_id;
    ngx_str_t                       text;
    ngx_uint_t                      action;
    ngx_array_t                    *emotes;
    int64_t                         id;
    int64_t                         ts;
    ngx_str_t                       payload;
    ngx_str_t                       hash;
    uint32_t                        crc;
    ngx_uint_t                      only;
} ngx_http_twitch_chat_msg_t;


/* a message of the join history, from Redis (value) or a row */

typedef struct {
    int64_t                         id;
    int64_t                         ts;
    ngx_http_twitch_json_t         *value;
    int                             row;
} ngx_http_twitch_chat_hentry_t;


static ngx_int_t ngx_http_twitch_chat_auth(ngx_http_twitch_chat_conn_t *cc);
static ngx_int_t ngx_http_twitch_chat_do_join(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_json_t *root);
static ngx_int_t ngx_http_twitch_chat_do_leave(
    ngx_http_twitch_chat_conn_t *cc, ngx_http_twitch_json_t *root);
static ngx_int_t ngx_http_twitch_chat_chat(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_json_t *root);
static ngx_int_t ngx_http_twitch_chat_chat_id(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_msg_t *msg);
static ngx_int_t ngx_http_twitch_chat_chat_send(
    ngx_http_twitch_chat_conn_t *cc, ngx_http_twitch_chat_msg_t *msg);
static void ngx_http_twitch_chat_chat_checked(void *data, redisReply *reply);
static ngx_int_t ngx_http_twitch_chat_chat_local(
    ngx_http_twitch_chat_conn_t *cc, ngx_http_twitch_chat_msg_t *msg);
static ngx_int_t ngx_http_twitch_chat_payload(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_msg_t *msg);
static ngx_int_t ngx_http_twitch_chat_refuse(ngx_http_twitch_chat_conn_t *cc,
    int64_t channel_id, ngx_http_twitch_chat_refusal_t *rf);
static int64_t ngx_http_twitch_chat_channel_id(ngx_http_twitch_json_t *v);
static ngx_uint_t ngx_http_twitch_chat_is(ngx_http_twitch_json_t *v,
    const char *s);
static void ngx_http_twitch_chat_trim(ngx_str_t *s);
static ngx_uint_t ngx_http_twitch_chat_has_controls(ngx_str_t *s);
static ngx_int_t ngx_http_twitch_chat_emit_history(yajl_gen g,
    ngx_pool_t *pool, ngx_array_t *history, PGresult *rows);
static ngx_int_t ngx_http_twitch_chat_hentry_cmp(const void *one,
    const void *two);
static void ngx_http_twitch_chat_emit_row(yajl_gen g, ngx_pool_t *pool,
    PGresult *rows, int row);
static int64_t ngx_http_twitch_chat_json_int(ngx_http_twitch_json_t *obj,
    const char *key);
static ngx_int_t ngx_http_twitch_chat_emit_raw(yajl_gen g, ngx_pool_t *pool,
    u_char *data, size_t len);


ngx_int_t
ngx_http_twitch_chat_message(ngx_http_twitch_chat_conn_t *cc, u_char *data,
    size_t len)
{
    ngx_int_t                rc;
    ngx_str_t                err;
    ngx_msec_t               elapsed;
    ngx_http_twitch_json_t  *root, *type;

    /* a flood of messages of any kind: a burst, then a rate */

    elapsed = ngx_current_msec - cc->bucket_time;

    if (elapsed >= 1000 / NGX_HTTP_TWITCH_CHAT_BUCKET_RATE) {
        cc->bucket = ngx_min(cc->bucket
                             + elapsed * NGX_HTTP_TWITCH_CHAT_BUCKET_RATE
                               / 1000,
                             NGX_HTTP_TWITCH_CHAT_BUCKET);
        cc->bucket_time = ngx_current_msec;
    }

    if (cc->bucket == 0) {
        if (++cc->flood > 50) {
            ngx_log_error(NGX_LOG_INFO, cc->connection->log, 0,
                          "chat: client floods, closing");
            ngx_http_twitch_chat_fail(cc, NGX_HTTP_TWITCH_WS_POLICY);
            return NGX_OK;
        }

        return ngx_http_twitch_chat_error(cc, "rate_limited",
                                          "You are sending messages too "
                                          "quickly", 0, 1);
    }

    cc->bucket--;
    cc->flood = 0;

    cc->tmp = ngx_create_pool(4096, cc->connection->log);
    if (cc->tmp == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_twitch_json_parse(cc->tmp, data, len, 4, &root, &err);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK || root->type != NGX_HTTP_TWITCH_JSON_OBJECT) {
        rc = ngx_http_twitch_chat_error(cc, "invalid_message",
                                        "Invalid message format", 0, -1);
        goto done;
    }

    type = ngx_http_twitch_json_get(root, "type");

    if (ngx_http_twitch_chat_is(type, "chat")) {
        rc = ngx_http_twitch_chat_chat(cc, root);

    } else if (ngx_http_twitch_chat_is(type, "join")) {
        rc = ngx_http_twitch_chat_do_join(cc, root);

    } else if (ngx_http_twitch_chat_is(type, "leave")) {
        rc = ngx_http_twitch_chat_do_leave(cc, root);

    } else if (ngx_http_twitch_chat_is(type, "auth")) {
        rc = ngx_http_twitch_chat_auth(cc);

    } else if (ngx_http_twitch_chat_is(type, "ping")) {
        rc = ngx_http_twitch_chat_notice(cc, NULL, NULL);

    } else {
        rc = ngx_http_twitch_chat_error(cc, "unknown_type",
                                        "Unknown message type", 0, -1);
    }

done:

    /*
     * While busy, the pool lives until the step is over; a step that
     * ended at once (ngx_http_twitch_chat_resume()) destroyed it already.
     */

    if (!cc->busy && cc->tmp != NULL) {
        ngx_destroy_pool(cc->tmp);
        cc->tmp = NULL;
    }

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/* the session's user is known: the client may be told about an outage */

void
ngx_http_twitch_chat_identified(ngx_http_twitch_chat_conn_t *cc)
{
    if (cc->worker->degraded && !cc->degraded_sent) {
        cc->degraded_sent = 1;
        (void) ngx_http_twitch_chat_notice(cc, "chat_degraded",
                                           "Chat is degraded: messages reach "
                                           "this server only");
    }
}


static ngx_int_t
ngx_http_twitch_chat_auth(ngx_http_twitch_chat_conn_t *cc)
{
    ngx_int_t  rc;
    yajl_gen   g;

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        return NGX_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "auth_success");
    ngx_http_twitch_json_key(g, "userId");

    if (cc->user_id) {
        ngx_http_twitch_json_int(g, cc->user_id);
        ngx_http_twitch_json_key(g, "username");
        ngx_http_twitch_json_str(g, &cc->username);
        ngx_http_twitch_json_key(g, "displayName");
        ngx_http_twitch_json_str(g, &cc->display_name);
        ngx_http_twitch_json_key(g, "role");
        ngx_http_twitch_json_str(g, &cc->role);

    } else {
        ngx_http_twitch_json_null(g);
        ngx_http_twitch_json_key(g, "username");
        ngx_http_twitch_json_str(g, &cc->username);
        ngx_http_twitch_json_key(g, "isGuest");
        ngx_http_twitch_json_bool(g, 1);
    }

    (void) yajl_gen_map_close(g);

    rc = ngx_http_twitch_chat_send_json(cc, g);
    yajl_gen_free(g);

    return rc;
}


static ngx_int_t
ngx_http_twitch_chat_do_join(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_json_t *root)
{
    int64_t  id;

    id = ngx_http_twitch_chat_channel_id(
                                 ngx_http_twitch_json_get(root, "channelId"));

    if (id <= 0) {
        return ngx_http_twitch_chat_error(cc, "invalid_message",
                                          "channelId must be a channel id",
                                          0, -1);
    }

    return ngx_http_twitch_chat_join(cc, id);
}


static ngx_int_t
ngx_http_twitch_chat_do_leave(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_json_t *root)
{
    int64_t    id;
    ngx_int_t  rc;
    yajl_gen   g;

    id = ngx_http_twitch_chat_channel_id(
                                 ngx_http_twitch_json_get(root, "channelId"));

    if (id <= 0) {
        return ngx_http_twitch_chat_error(cc, "invalid_message",
                                          "channelId must be a channel id",
                                          0, -1);
    }

    /* leaving a room one is not in is not an error */

    (void) ngx_http_twitch_chat_leave(cc, id);

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        return NGX_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "left");
    ngx_http_twitch_json_key(g, "channelId");
    ngx_http_twitch_json_int(g, id);
    (void) yajl_gen_map_close(g);

    rc = ngx_http_twitch_chat_send_json(cc, g);
    yajl_gen_free(g);

    return rc;
}


static ngx_int_t
ngx_http_twitch_chat_chat(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_json_t *root)
{
    u_char                          *p, sha[20];
    int64_t                          id;
    ngx_int_t                        rc;
    ngx_str_t                        text;
    ngx_uint_t                       only;
    ngx_sha1_t                       sha1;
    ngx_http_twitch_json_t          *t;
    ngx_http_twitch_chat_msg_t      *msg;
    ngx_http_twitch_chat_member_t   *m;
    ngx_http_twitch_chat_refusal_t   rf;

    id = ngx_http_twitch_chat_channel_id(
                                 ngx_http_twitch_json_get(root, "channelId"));

    t = ngx_http_twitch_json_get(root, "text");

    if (t == NULL) {
        t = ngx_http_twitch_json_get(root, "message");
    }

    if (id <= 0 || t == NULL || t->type != NGX_HTTP_TWITCH_JSON_STRING) {
        return ngx_http_twitch_chat_error(cc, "invalid_message",
                                          "A chat message needs channelId "
                                          "and text", id > 0 ? id : 0, -1);
    }

    m = ngx_http_twitch_chat_member(cc, id);

    if (m == NULL || !m->joined) {
        return ngx_http_twitch_chat_error(cc, "not_joined",
                                          "Join the channel's chat before "
                                          "sending messages", id, -1);
    }

    if (cc->user_id == 0) {
        return ngx_http_twitch_chat_error(cc, "not_authenticated",
                                          "Log in to chat", id, -1);
    }

    text = t->str;
    ngx_http_twitch_chat_trim(&text);

    if (text.len == 0) {
        return ngx_http_twitch_chat_error(cc, "invalid_message",
                                          "The message is empty", id, -1);
    }

    if (ngx_http_twitch_chat_has_controls(&text)) {
        return ngx_http_twitch_chat_error(cc, "invalid_message",
                                          "The message contains control "
                                          "characters", id, -1);
    }

    msg = ngx_pcalloc(cc->tmp, sizeof(ngx_http_twitch_chat_msg_t));
    if (msg == NULL) {
        return NGX_ERROR;
    }

    msg->member = m;
    msg->channel_id = id;

    /* the duplicate rules compare the text as sent, "/me" included */

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, text.data, text.len);
    ngx_sha1_final(sha, &sha1);

    p = ngx_pnalloc(cc->tmp, 41);
    if (p == NULL) {
        return NGX_ERROR;
    }

    msg->hash.data = p;
    msg->hash.len = ngx_hex_dump(p, sha, 20) - p;
    msg->crc = ngx_crc32_long(text.data, text.len);

    if (text.data[0] == '/') {

        if (text.len >= 3 && ngx_strncmp(text.data, "/me", 3) == 0
            && (text.len == 3 || text.data[3] == ' '))
        {
            msg->action = 1;
            text.data += 3;
            text.len -= 3;
            ngx_http_twitch_chat_trim(&text);

            if (text.len == 0) {
                return ngx_http_twitch_chat_error(cc, "invalid_message",
                                                  "Usage: /me <message>",
                                                  id, -1);
            }

        } else {
            return ngx_http_twitch_chat_command(cc, m, &text);
        }
    }

    if (ngx_http_twitch_chat_chars(text.data, text.len)
        > NGX_HTTP_TWITCH_CHAT_MAX_CHARS)
    {
        return ngx_http_twitch_chat_error(cc, "too_long",
                                          "Messages can be at most 500 "
                                          "characters long", id, -1);
    }

    msg->text = text;

    msg->emotes = ngx_array_create(cc->tmp, 4,
                                   sizeof(ngx_http_twitch_chat_emote_use_t));
    if (msg->emotes == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_twitch_chat_emotes_find(m, &text, msg->emotes, &only)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    msg->only = only;
    cc->step = msg;

    rc = ngx_http_twitch_chat_rules_local(m, only, 1, &rf);

    if (rc == NGX_AGAIN) {
        /* read the standing again, then decide */

        if (ngx_http_twitch_chat_member_reload(m, cc) == NGX_OK) {
            cc->busy = 1;
            return NGX_AGAIN;
        }

        rc = ngx_http_twitch_chat_rules_local(m, only, 0, &rf);
    }

    if (rc != NGX_OK) {
        return ngx_http_twitch_chat_refuse(cc, id, &rf);
    }

    return ngx_http_twitch_chat_chat_id(cc, msg);
}


/* the member's standing was read again for the message that waits */

void
ngx_http_twitch_chat_standing_ready(ngx_http_twitch_chat_conn_t *cc)
{
    ngx_int_t                        rc;
    ngx_http_twitch_chat_msg_t      *msg;
    ngx_http_twitch_chat_refusal_t   rf;

    msg = cc->step;

    rc = ngx_http_twitch_chat_rules_local(msg->member, msg->only, 0, &rf);

    if (rc == NGX_OK) {
        rc = ngx_http_twitch_chat_chat_id(cc, msg);

        if (rc == NGX_AGAIN) {
            return;
        }

    } else {
        rc = ngx_http_twitch_chat_refuse(cc, msg->channel_id, &rf);
    }

    if (rc == NGX_ERROR) {
        ngx_http_twitch_chat_fail(cc, NGX_HTTP_TWITCH_WS_INTERNAL);
    }

    ngx_http_twitch_chat_resume(cc);
}


static ngx_int_t
ngx_http_twitch_chat_chat_id(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_msg_t *msg)
{
    ngx_int_t  rc;

    rc = ngx_http_twitch_chat_next_id(cc, &msg->id);

    if (rc == NGX_AGAIN) {
        /* ngx_http_twitch_chat_id_ready() continues */
        cc->busy = 1;
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return ngx_http_twitch_chat_error(cc, "unavailable",
                                          "Chat is temporarily unavailable, "
                                          "try again", msg->channel_id, 1);
    }

    return ngx_http_twitch_chat_chat_send(cc, msg);
}


/* the worker has message ids again (rc NGX_OK), or cannot get any */

void
ngx_http_twitch_chat_id_ready(ngx_http_twitch_chat_conn_t *cc, ngx_int_t rc)
{
    ngx_http_twitch_chat_msg_t  *msg;

    msg = cc->step;

    if (rc == NGX_OK) {
        rc = ngx_http_twitch_chat_chat_id(cc, msg);

        if (rc == NGX_AGAIN) {
            return;
        }

    } else {
        rc = ngx_http_twitch_chat_error(cc, "unavailable",
                                        "Chat is temporarily unavailable, "
                                        "try again", msg->channel_id, 1);
    }

    if (rc == NGX_ERROR) {
        ngx_http_twitch_chat_fail(cc, NGX_HTTP_TWITCH_WS_INTERNAL);
    }

    ngx_http_twitch_chat_resume(cc);
}


static ngx_int_t
ngx_http_twitch_chat_chat_send(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_msg_t *msg)
{
    msg->ts = ngx_http_twitch_chat_now_ms();

    if (ngx_http_twitch_chat_payload(cc, msg) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_twitch_redis_is_up(cc->worker->tmcf->redis)) {

        cc->cmd = ngx_http_twitch_chat_rules_redis(msg->member, &msg->hash,
                                                   msg->id, &msg->payload,
                                            ngx_http_twitch_chat_chat_checked,
                                                   cc);
        if (cc->cmd != NULL) {
            cc->busy = 1;
            return NGX_AGAIN;
        }
    }

    return ngx_http_twitch_chat_chat_local(cc, msg);
}


static void
ngx_http_twitch_chat_chat_checked(void *data, redisReply *reply)
{
    ngx_http_twitch_chat_conn_t *cc = data;

    ngx_int_t                        rc;
    ngx_http_twitch_chat_msg_t      *msg;
    ngx_http_twitch_chat_refusal_t   rf;

    cc->cmd = NULL;
    msg = cc->step;

    rc = ngx_http_twitch_chat_rules_reply(msg->member, reply, &rf);

    if (rc == NGX_OK) {
        /* published: it comes back through the subscription */
        ngx_http_twitch_chat_rules_remember(msg->member, msg->crc);
        ngx_http_twitch_chat_persist(cc->worker, msg->id, msg->channel_id,
                                     &msg->payload);

    } else if (rc == NGX_DECLINED) {
        rc = ngx_http_twitch_chat_refuse(cc, msg->channel_id, &rf);

    } else {
        /* Redis failed under the command: this worker delivers it */
        rc = ngx_http_twitch_chat_chat_local(cc, msg);
    }

    if (rc == NGX_ERROR) {
        ngx_http_twitch_chat_fail(cc, NGX_HTTP_TWITCH_WS_INTERNAL);
    }

    ngx_http_twitch_chat_resume(cc);
}


/*
 * Without Redis: the rules in memory, delivery to this worker's sockets
 * and, through shared memory, to the other workers' (_relay.c).
 */

static ngx_int_t
ngx_http_twitch_chat_chat_local(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_msg_t *msg)
{
    ngx_http_twitch_chat_refusal_t  rf;

    if (ngx_http_twitch_chat_rules_memory(msg->member, msg->crc, &rf)
        != NGX_OK)
    {
        return ngx_http_twitch_chat_refuse(cc, msg->channel_id, &rf);
    }

    ngx_http_twitch_chat_rules_remember(msg->member, msg->crc);

    if (ngx_http_twitch_chat_room_local(msg->member->room, msg->id,
                                        msg->payload.data, msg->payload.len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_twitch_chat_relay_write(cc->worker, msg->channel_id, msg->id,
                                     &msg->payload);

    ngx_http_twitch_chat_persist(cc->worker, msg->id, msg->channel_id,
                                 &msg->payload);

    return NGX_OK;
}


/*
 * {"type":"chat","id":"123","channelId":1,"userId":7,"username":"x",
 *  "displayName":"X","message":"hi Kappa","action":false,
 *  "badges":[{"type":"subscriber","tier":1,"months":3}],
 *  "emotes":[{"id":1,"code":"Kappa","start":3,"end":8}],
 *  "timestamp":1700000000000}
 */

static ngx_int_t
ngx_http_twitch_chat_payload(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_msg_t *msg)
{
    u_char                            *p;
    size_t                             len;
    yajl_gen                           g;
    ngx_uint_t                         i;
    const u_char                      *buf;
    ngx_http_twitch_chat_emote_use_t  *e;
    u_char                             id[NGX_INT64_LEN];

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        return NGX_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "chat");
    ngx_http_twitch_json_key(g, "id");
    ngx_http_twitch_json_buf(g, id, ngx_sprintf(id, "%L", msg->id) - id);
    ngx_http_twitch_json_key(g, "channelId");
    ngx_http_twitch_json_int(g, msg->channel_id);
    ngx_http_twitch_json_key(g, "userId");
    ngx_http_twitch_json_int(g, cc->user_id);
    ngx_http_twitch_json_key(g, "username");
    ngx_http_twitch_json_str(g, &cc->username);
    ngx_http_twitch_json_key(g, "displayName");
    ngx_http_twitch_json_str(g, &cc->display_name);
    ngx_http_twitch_json_key(g, "message");
    ngx_http_twitch_json_str(g, &msg->text);
    ngx_http_twitch_json_key(g, "action");
    ngx_http_twitch_json_bool(g, msg->action);
    ngx_http_twitch_json_key(g, "badges");
    ngx_http_twitch_chat_emit_badges(g, msg->member);
    ngx_http_twitch_json_key(g, "emotes");
    (void) yajl_gen_array_open(g);

    e = msg->emotes->elts;

    for (i = 0; i < msg->emotes->nelts; i++) {
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "id");
        ngx_http_twitch_json_int(g, e[i].id);
        ngx_http_twitch_json_key(g, "code");
        ngx_http_twitch_json_str(g, &e[i].code);
        ngx_http_twitch_json_key(g, "start");
        ngx_http_twitch_json_int(g, e[i].start);
        ngx_http_twitch_json_key(g, "end");
        ngx_http_twitch_json_int(g, e[i].end);
        (void) yajl_gen_map_close(g);
    }

    (void) yajl_gen_array_close(g);
    ngx_http_twitch_json_key(g, "timestamp");
    ngx_http_twitch_json_int(g, msg->ts);
    (void) yajl_gen_map_close(g);

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        yajl_gen_free(g);
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cc->tmp, len);
    if (p == NULL) {
        yajl_gen_free(g);
        return NGX_ERROR;
    }

    ngx_memcpy(p, buf, len);
    msg->payload.data = p;
    msg->payload.len = len;

    yajl_gen_free(g);

    return NGX_OK;
}


/* [{"type":"broadcaster"},{"type":"subscriber","tier":2,"months":5}...] */

void
ngx_http_twitch_chat_emit_badges(yajl_gen g, ngx_http_twitch_chat_member_t *m)
{
    ngx_http_twitch_chat_conn_t  *cc;

    cc = m->conn;

    (void) yajl_gen_array_open(g);

    if (cc->admin) {
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "type");
        ngx_http_twitch_json_cstr(g, "admin");
        (void) yajl_gen_map_close(g);
    }

    if (m->broadcaster) {
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "type");
        ngx_http_twitch_json_cstr(g, "broadcaster");
        (void) yajl_gen_map_close(g);
    }

    if (m->moderator || cc->global_mod) {
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "type");
        ngx_http_twitch_json_cstr(g, "moderator");
        (void) yajl_gen_map_close(g);
    }

    if (m->vip) {
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "type");
        ngx_http_twitch_json_cstr(g, "vip");
        (void) yajl_gen_map_close(g);
    }

    if (m->sub_tier) {
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "type");
        ngx_http_twitch_json_cstr(g, "subscriber");
        ngx_http_twitch_json_key(g, "tier");
        ngx_http_twitch_json_int(g, m->sub_tier);
        ngx_http_twitch_json_key(g, "months");
        ngx_http_twitch_json_int(g, m->sub_months);
        (void) yajl_gen_map_close(g);
    }

    (void) yajl_gen_array_close(g);
}


/* the members of a chat_settings event */

void
ngx_http_twitch_chat_emit_settings(yajl_gen g,
    ngx_http_twitch_chat_settings_t *s)
{
    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "slowModeSeconds");
    ngx_http_twitch_json_int(g, s->slow);
    ngx_http_twitch_json_key(g, "followersOnly");
    ngx_http_twitch_json_bool(g, s->followers_only);
    ngx_http_twitch_json_key(g, "followersOnlyMinutes");
    ngx_http_twitch_json_int(g, s->followers_minutes);
    ngx_http_twitch_json_key(g, "subscribersOnly");
    ngx_http_twitch_json_bool(g, s->subscribers_only);
    ngx_http_twitch_json_key(g, "emoteOnly");
    ngx_http_twitch_json_bool(g, s->emote_only);
    ngx_http_twitch_json_key(g, "uniqueChat");
    ngx_http_twitch_json_bool(g, s->unique);
    (void) yajl_gen_map_close(g);
}


/*
 * {"type":"joined","channelId":1,"recentMessages":[...oldest first...],
 *  "viewerCount":3,"settings":{...},"badges":[...]}
 * History comes from Redis and/or PostgreSQL (..._emit_history()).
 */

ngx_int_t
ngx_http_twitch_chat_send_joined(ngx_http_twitch_chat_member_t *m,
    ngx_array_t *history, PGresult *rows)
{
    ngx_int_t                     rc;
    yajl_gen                      g;
    ngx_pool_t                   *pool;
    ngx_http_twitch_chat_room_t  *room;

    room = m->room;

    pool = ngx_create_pool(4096, m->conn->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "joined");
    ngx_http_twitch_json_key(g, "channelId");
    ngx_http_twitch_json_int(g, room->channel_id);
    ngx_http_twitch_json_key(g, "recentMessages");

    rc = ngx_http_twitch_chat_emit_history(g, pool, history, rows);

    /*
     * The count the room's members were told (the next report corrects
     * it for everyone at once); a new room starts from the shared count
     * read with the history.
     */

    if (!room->viewers_known && room->viewers_sent == 0) {
        room->viewers_sent = ngx_max(room->nmembers, m->viewers_hint);
    }

    if (rc == NGX_OK) {
        ngx_http_twitch_json_key(g, "viewerCount");
        ngx_http_twitch_json_int(g, room->viewers_sent);
        ngx_http_twitch_json_key(g, "settings");
        ngx_http_twitch_chat_emit_settings(g, &room->settings);
        ngx_http_twitch_json_key(g, "badges");
        ngx_http_twitch_chat_emit_badges(g, m);
        (void) yajl_gen_map_close(g);

        rc = ngx_http_twitch_chat_send_json(m->conn, g);
    }

    yajl_gen_free(g);
    ngx_destroy_pool(pool);

    if (rc == NGX_OK) {
        ngx_http_twitch_chat_send_now(m->conn);
    }

    return rc;
}


/*
 * The join history: the messages Redis keeps (newest first) and the rows
 * of PostgreSQL (newest first), merged without duplicates, the last 50 in
 * (timestamp, id) order.
 */

static ngx_int_t
ngx_http_twitch_chat_emit_history(yajl_gen g, ngx_pool_t *pool,
    ngx_array_t *history, PGresult *rows)
{
    int                               row, nrows;
    ngx_str_t                         err, *h;
    ngx_uint_t                        i, k, n, first;
    ngx_http_twitch_json_t           *v;
    ngx_http_twitch_chat_hentry_t    *e, entry;

    n = (history ? history->nelts : 0) + (rows ? PQntuples(rows) : 0);

    e = ngx_palloc(pool, (n ? n : 1) * sizeof(ngx_http_twitch_chat_hentry_t));
    if (e == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    if (history != NULL) {
        h = history->elts;

        for (i = 0; i < history->nelts; i++) {
            if (ngx_http_twitch_json_parse(pool, h[i].data, h[i].len, 8, &v,
                                           &err)
                != NGX_OK)
            {
                continue;
            }

            e[n].id = ngx_http_twitch_chat_json_int(v, "id");
            e[n].ts = ngx_http_twitch_chat_json_int(v, "timestamp");
            e[n].value = v;
            e[n].row = -1;
            n++;
        }
    }

    nrows = rows ? PQntuples(rows) : 0;

    for (row = 0; row < nrows; row++) {
        entry.id = ngx_atoof((u_char *) PQgetvalue(rows, row, 0),
                             PQgetlength(rows, row, 0));

        for (k = 0; k < n; k++) {
            if (e[k].id == entry.id) {
                break;
            }
        }

        if (k < n) {
            continue;
        }

        e[n].id = entry.id;
        e[n].ts = ngx_atoof((u_char *) PQgetvalue(rows, row, 9),
                            PQgetlength(rows, row, 9));
        e[n].value = NULL;
        e[n].row = row;
        n++;
    }

    ngx_sort(e, n, sizeof(ngx_http_twitch_chat_hentry_t),
             ngx_http_twitch_chat_hentry_cmp);

    first = (n > NGX_HTTP_TWITCH_CHAT_HISTORY)
            ? n - NGX_HTTP_TWITCH_CHAT_HISTORY : 0;

    (void) yajl_gen_array_open(g);

    for (i = first; i < n; i++) {
        if (e[i].value != NULL) {
            ngx_http_twitch_json_emit(g, e[i].value);

        } else {
            ngx_http_twitch_chat_emit_row(g, pool, rows, e[i].row);
        }
    }

    (void) yajl_gen_array_close(g);

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_chat_hentry_cmp(const void *one, const void *two)
{
    const ngx_http_twitch_chat_hentry_t  *a = one;
    const ngx_http_twitch_chat_hentry_t  *b = two;

    if (a->ts != b->ts) {
        return (a->ts < b->ts) ? -1 : 1;
    }

    if (a->id != b->id) {
        return (a->id < b->id) ? -1 : 1;
    }

    return 0;
}


/*
 * A stored row as a live chat message: id, channel_id, user_id,
 * username, display_name, message, is_action, badges, emotes,
 * created_at (ms)
 */

static void
ngx_http_twitch_chat_emit_row(yajl_gen g, ngx_pool_t *pool, PGresult *rows,
    int row)
{
    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "chat");
    ngx_http_twitch_json_key(g, "id");
    ngx_http_twitch_json_cstr(g, PQgetvalue(rows, row, 0));
    ngx_http_twitch_json_key(g, "channelId");
    ngx_http_twitch_json_int(g, ngx_atoof((u_char *) PQgetvalue(rows, row, 1),
                                          PQgetlength(rows, row, 1)));
    ngx_http_twitch_json_key(g, "userId");

    if (PQgetisnull(rows, row, 2)) {
        ngx_http_twitch_json_null(g);

    } else {
        ngx_http_twitch_json_int(g,
                                 ngx_atoof((u_char *) PQgetvalue(rows, row, 2),
                                           PQgetlength(rows, row, 2)));
    }

    ngx_http_twitch_json_key(g, "username");
    ngx_http_twitch_json_cstr(g, PQgetvalue(rows, row, 3));
    ngx_http_twitch_json_key(g, "displayName");
    ngx_http_twitch_json_cstr(g, PQgetvalue(rows, row, 4));
    ngx_http_twitch_json_key(g, "message");
    ngx_http_twitch_json_cstr(g, PQgetvalue(rows, row, 5));
    ngx_http_twitch_json_key(g, "action");
    ngx_http_twitch_json_bool(g, PQgetvalue(rows, row, 6)[0] == 't');
    ngx_http_twitch_json_key(g, "badges");

    if (ngx_http_twitch_chat_emit_raw(g, pool,
                                      (u_char *) PQgetvalue(rows, row, 7),
                                      PQgetlength(rows, row, 7))
        != NGX_OK)
    {
        (void) yajl_gen_array_open(g);
        (void) yajl_gen_array_close(g);
    }

    ngx_http_twitch_json_key(g, "emotes");

    if (ngx_http_twitch_chat_emit_raw(g, pool,
                                      (u_char *) PQgetvalue(rows, row, 8),
                                      PQgetlength(rows, row, 8))
        != NGX_OK)
    {
        (void) yajl_gen_array_open(g);
        (void) yajl_gen_array_close(g);
    }

    ngx_http_twitch_json_key(g, "timestamp");
    ngx_http_twitch_json_int(g, ngx_atoof((u_char *) PQgetvalue(rows, row, 9),
                                          PQgetlength(rows, row, 9)));
    (void) yajl_gen_map_close(g);
}


/* a non-negative integer member: a number or a string of digits */

static int64_t
ngx_http_twitch_chat_json_int(ngx_http_twitch_json_t *obj, const char *key)
{
    off_t                    n;
    ngx_http_twitch_json_t  *v;

    v = ngx_http_twitch_json_get(obj, key);

    if (v == NULL
        || (v->type != NGX_HTTP_TWITCH_JSON_NUMBER
            && v->type != NGX_HTTP_TWITCH_JSON_STRING)
        || v->str.len == 0 || v->str.len > 18)
    {
        return 0;
    }

    n = ngx_atoof(v->str.data, v->str.len);

    return (n == NGX_ERROR) ? 0 : (int64_t) n;
}


/*
 * Writes a stored JSON document (a history entry) through the parser and
 * the generator.  NGX_DECLINED: it is not valid JSON and was skipped.
 */

static ngx_int_t
ngx_http_twitch_chat_emit_raw(yajl_gen g, ngx_pool_t *pool, u_char *data,
    size_t len)
{
    ngx_int_t                rc;
    ngx_str_t                err;
    ngx_http_twitch_json_t  *v;

    rc = ngx_http_twitch_json_parse(pool, data, len, 8, &v, &err);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_twitch_json_emit(g, v);

    return NGX_OK;
}


/*
 * {"type":"error","code":"slow_mode","message":"...","channelId":1,
 *  "retryAfter":5}; channel_id 0 and retry_after -1 are left out.
 */

ngx_int_t
ngx_http_twitch_chat_error(ngx_http_twitch_chat_conn_t *cc, const char *code,
    const char *message, int64_t channel_id, int64_t retry_after)
{
    ngx_int_t  rc;
    yajl_gen   g;

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        return NGX_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "error");
    ngx_http_twitch_json_key(g, "code");
    ngx_http_twitch_json_cstr(g, code);
    ngx_http_twitch_json_key(g, "message");
    ngx_http_twitch_json_cstr(g, message);

    if (channel_id > 0) {
        ngx_http_twitch_json_key(g, "channelId");
        ngx_http_twitch_json_int(g, channel_id);
    }

    if (retry_after >= 0) {
        ngx_http_twitch_json_key(g, "retryAfter");
        ngx_http_twitch_json_int(g, retry_after);
    }

    (void) yajl_gen_map_close(g);

    rc = ngx_http_twitch_chat_send_json(cc, g);
    yajl_gen_free(g);

    return rc;
}


/* {"type":"notice","code":...,"message":...}; no code: {"type":"pong"} */

ngx_int_t
ngx_http_twitch_chat_notice(ngx_http_twitch_chat_conn_t *cc, const char *code,
    const char *message)
{
    ngx_int_t  rc;
    yajl_gen   g;

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        return NGX_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");

    if (code == NULL) {
        ngx_http_twitch_json_cstr(g, "pong");

    } else {
        ngx_http_twitch_json_cstr(g, "notice");
        ngx_http_twitch_json_key(g, "code");
        ngx_http_twitch_json_cstr(g, code);
        ngx_http_twitch_json_key(g, "message");
        ngx_http_twitch_json_cstr(g, message);
    }

    (void) yajl_gen_map_close(g);

    rc = ngx_http_twitch_chat_send_json(cc, g);
    yajl_gen_free(g);

    return rc;
}


static ngx_int_t
ngx_http_twitch_chat_refuse(ngx_http_twitch_chat_conn_t *cc,
    int64_t channel_id, ngx_http_twitch_chat_refusal_t *rf)
{
    return ngx_http_twitch_chat_error(cc, rf->code, rf->text, channel_id,
                                      rf->retry_after);
}


/* a channel id: a JSON number or a string of digits, 1 .. 2^53 - 1 */

static int64_t
ngx_http_twitch_chat_channel_id(ngx_http_twitch_json_t *v)
{
    size_t   i;
    int64_t  n;

    if (v == NULL
        || (v->type != NGX_HTTP_TWITCH_JSON_NUMBER
            && v->type != NGX_HTTP_TWITCH_JSON_STRING)
        || v->str.len == 0 || v->str.len > 16)
    {
        return 0;
    }

    n = 0;

    for (i = 0; i < v->str.len; i++) {
        if (v->str.data[i] < '0' || v->str.data[i] > '9') {
            return 0;
        }

        n = n * 10 + (v->str.data[i] - '0');
    }

    return (n <= NGX_HTTP_TWITCH_CHAT_MAX_ID) ? n : 0;
}


static ngx_uint_t
ngx_http_twitch_chat_is(ngx_http_twitch_json_t *v, const char *s)
{
    size_t  len;

    if (v == NULL || v->type != NGX_HTTP_TWITCH_JSON_STRING) {
        return 0;
    }

    len = ngx_strlen(s);

    return v->str.len == len && ngx_strncmp(v->str.data, s, len) == 0;
}


static void
ngx_http_twitch_chat_trim(ngx_str_t *s)
{
    while (s->len && (s->data[0] == ' ' || s->data[0] == '\t')) {
        s->data++;
        s->len--;
    }

    while (s->len
           && (s->data[s->len - 1] == ' ' || s->data[s->len - 1] == '\t'))
    {
        s->len--;
    }
}


/* C0 controls (tabs included, they are trimmed at the ends) and DEL */

static ngx_uint_t
ngx_http_twitch_chat_has_controls(ngx_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < 0x20 || s->data[i] == 0x7f) {
            return 1;
        }
    }

    return 0;
}


/* a generator freed by the caller (yajl_gen_free) */

yajl_gen
ngx_http_twitch_chat_gen(void)
{
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }

    (void) yajl_gen_config(g, yajl_gen_validate_utf8, 1);

    return g;
}
