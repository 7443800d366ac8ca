
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Who is on a chat connection: the user of the session cookie sent with
 * the upgrade (Redis session:<id> -> user id -> users row), resolved once,
 * before the first frame is read.  Without a valid session (no cookie,
 * expired, suspended account, or Redis/PostgreSQL unreachable) the
 * connection is a guest, "Guest_" and six random characters: guests read
 * and cannot send.  What a client claims in its messages never changes
 * this.
 *
 * A signed-in connection checks its session again every two ping
 * intervals: once the session is gone (logout, expiry, an account
 * suspended), the connection is closed with 1008, and the client comes
 * back as whoever its cookie says now.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"
#include "ngx_http_twitch_session.h"


static void ngx_http_twitch_chat_identity_session(void *data,
    redisReply *reply);
static void ngx_http_twitch_chat_identity_user(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_http_twitch_chat_identity_copy(ngx_pool_t *pool,
    ngx_str_t *dst, PGresult *res, int col);
static void ngx_http_twitch_chat_identity_guest(
    ngx_http_twitch_chat_conn_t *cc);
static void ngx_http_twitch_chat_identity_done(
    ngx_http_twitch_chat_conn_t *cc);
static void ngx_http_twitch_chat_session_timer(ngx_event_t *ev);
static void ngx_http_twitch_chat_session_checked(void *data,
    redisReply *reply);


static u_char  ngx_http_twitch_chat_guest_alphabet[] =
    "abcdefghijklmnopqrstuvwxyz0123456789";


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_user_stmt = {
    "chat_user",
    "SELECT id, username, display_name, role,"
    " suspended_at IS NOT NULL"
    " FROM users WHERE id = $1",
    1, 0
};


void
ngx_http_twitch_chat_identify(ngx_http_twitch_chat_conn_t *cc)
{
    size_t                          lens[2];
    ngx_int_t                       rc;
    ngx_str_t                       key;
    const char                     *argv[2];
    ngx_http_twitch_chat_worker_t  *w;

    w = cc->worker;

    rc = ngx_http_twitch_session_key(cc->request, &key);

    if (rc != NGX_OK) {
        ngx_http_twitch_chat_identity_guest(cc);
        return;
    }

    cc->session_key = key;

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (const char *) key.data;
    lens[1] = key.len;

    cc->cmd = ngx_http_twitch_redis_command(w->tmcf->redis,
                                  ngx_http_twitch_chat_identity_session,
                                  cc, 2, argv, lens);

    if (cc->cmd == NULL) {
        ngx_log_error(NGX_LOG_WARN, cc->connection->log, 0,
                      "chat: session store unavailable, "
                      "the client is a guest");
        ngx_http_twitch_chat_identity_guest(cc);
        return;
    }

    cc->busy = 1;
}


static void
ngx_http_twitch_chat_identity_session(void *data, redisReply *reply)
{
    ngx_http_twitch_chat_conn_t *cc = data;

    size_t                          i;
    const char                     *params[1];
    ngx_http_twitch_chat_worker_t  *w;

    cc->cmd = NULL;
    w = cc->worker;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING
        || reply->len == 0 || reply->len > 18)
    {
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_WARN, cc->connection->log, 0,
                          "chat: session lookup failed, "
                          "the client is a guest");
        }

        ngx_http_twitch_chat_identity_guest(cc);
        return;
    }

    for (i = 0; i < reply->len; i++) {
        if (reply->str[i] < '0' || reply->str[i] > '9') {
            ngx_http_twitch_chat_identity_guest(cc);
            return;
        }
    }

    params[0] = reply->str;

    cc->query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                         &ngx_http_twitch_chat_user_stmt,
                                         params,
                                         ngx_http_twitch_chat_identity_user,
                                         cc, cc->connection->log);

    if (cc->query == NULL) {
        ngx_log_error(NGX_LOG_WARN, cc->connection->log, 0,
                      "chat: database unavailable, the client is a guest");
        ngx_http_twitch_chat_identity_guest(cc);
    }
}


static void
ngx_http_twitch_chat_identity_user(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_chat_conn_t *cc = data;

    ngx_pool_t  *pool;

    cc->query = NULL;

    if (rc != NGX_OK || PQntuples(res) != 1
        || PQgetvalue(res, 0, 4)[0] == 't')
    {
        ngx_http_twitch_chat_identity_guest(cc);
        return;
    }

    pool = cc->request->pool;

    if (ngx_http_twitch_chat_identity_copy(pool, &cc->user_id_text, res, 0)
        != NGX_OK
        || ngx_http_twitch_chat_identity_copy(pool, &cc->username, res, 1)
           != NGX_OK
        || ngx_http_twitch_chat_identity_copy(pool, &cc->display_name, res, 2)
           != NGX_OK
        || ngx_http_twitch_chat_identity_copy(pool, &cc->role, res, 3)
           != NGX_OK)
    {
        ngx_http_twitch_chat_identity_guest(cc);
        return;
    }

    cc->user_id = ngx_atoof(cc->user_id_text.data, cc->user_id_text.len);

    if (cc->user_id <= 0) {
        ngx_http_twitch_chat_identity_guest(cc);
        return;
    }

    cc->admin = (cc->role.len == 5
                 && ngx_strncmp(cc->role.data, "admin", 5) == 0);
    cc->global_mod = (cc->role.len == 9
                      && ngx_strncmp(cc->role.data, "moderator", 9) == 0);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cc->connection->log, 0,
                   "chat: user \"%V\"", &cc->username);

    cc->session.handler = ngx_http_twitch_chat_session_timer;
    cc->session.data = cc;
    cc->session.log = cc->connection->log;
    cc->session.cancelable = 1;

    ngx_add_timer(&cc->session, 2 * cc->conf->ping_interval);

    ngx_http_twitch_chat_identity_done(cc);
}


static ngx_int_t
ngx_http_twitch_chat_identity_copy(ngx_pool_t *pool, ngx_str_t *dst,
    PGresult *res, int col)
{
    if (PQgetisnull(res, 0, col)) {
        ngx_str_null(dst);
        return NGX_OK;
    }

    dst->len = PQgetlength(res, 0, col);
    dst->data = ngx_pnalloc(pool, dst->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, PQgetvalue(res, 0, col), dst->len);
    dst->data[dst->len] = '\0';

    return NGX_OK;
}


static void
ngx_http_twitch_chat_identity_guest(ngx_http_twitch_chat_conn_t *cc)
{
    u_char      *p;
    ngx_uint_t   i;

    cc->user_id = 0;
    ngx_str_null(&cc->user_id_text);
    ngx_str_null(&cc->role);
    ngx_str_null(&cc->session_key);

    p = ngx_cpymem(cc->guest, "Guest_", sizeof("Guest_") - 1);

    for (i = 0; i < 6; i++) {
        *p++ = ngx_http_twitch_chat_guest_alphabet[
                   ngx_random() % (sizeof(ngx_http_twitch_chat_guest_alphabet)
                                   - 1)];
    }

    *p = '\0';

    cc->username.data = cc->guest;
    cc->username.len = p - cc->guest;
    cc->display_name = cc->username;

    ngx_http_twitch_chat_identity_done(cc);
}


static void
ngx_http_twitch_chat_identity_done(ngx_http_twitch_chat_conn_t *cc)
{
    cc->identified = 1;

    ngx_http_twitch_chat_identified(cc);

    if (cc->busy) {
        ngx_http_twitch_chat_resume(cc);
    }
}


/* is the session of a signed-in connection still there? */

static void
ngx_http_twitch_chat_session_timer(ngx_event_t *ev)
{
    size_t                          lens[2];
    const char                     *argv[2];
    ngx_http_twitch_chat_conn_t    *cc;
    ngx_http_twitch_chat_worker_t  *w;

    cc = ev->data;
    w = cc->worker;

    if (cc->closing || cc->session_cmd != NULL) {
        return;
    }

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (const char *) cc->session_key.data;
    lens[1] = cc->session_key.len;

    if (ngx_http_twitch_redis_is_up(w->tmcf->redis)) {
        cc->session_cmd = ngx_http_twitch_redis_command(w->tmcf->redis,
                                   ngx_http_twitch_chat_session_checked,
                                   cc, 2, argv, lens);
        if (cc->session_cmd != NULL) {
            return;
        }
    }

    /* Redis cannot tell now: ask again later */
    ngx_add_timer(ev, 2 * cc->conf->ping_interval);
}


static void
ngx_http_twitch_chat_session_checked(void *data, redisReply *reply)
{
    ngx_http_twitch_chat_conn_t *cc = data;

    cc->session_cmd = NULL;

    if (reply != NULL
        && (reply->type == REDIS_REPLY_NIL
            || (reply->type == REDIS_REPLY_STRING
                && ((size_t) reply->len != cc->user_id_text.len
                    || ngx_strncmp(reply->str, cc->user_id_text.data,
                                   reply->len)
                       != 0))))
    {
        ngx_log_error(NGX_LOG_INFO, cc->connection->log, 0,
                      "chat: the session of user \"%V\" ended, closing",
                      &cc->username);

        ngx_http_twitch_chat_close_with(cc, NGX_HTTP_TWITCH_WS_POLICY,
                                        "session ended");
        return;
    }

    ngx_add_timer(&cc->session, 2 * cc->conf->ping_interval);
}
