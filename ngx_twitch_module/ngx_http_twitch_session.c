
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Sessions: a random 256-bit id (base64url, 43 characters) in an
 * HttpOnly, SameSite=Lax cookie named "session"; Redis holds
 * session:<id> -> user id with a TTL, sessions:active, a sorted set of the
 * ids by expiry time (the sessions metric), and user_sessions:<uid>, the set of
 * a user's sessions, so that a suspension can end all of them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sys/random.h>

#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_SESSION_LEN  43


static ngx_int_t ngx_http_twitch_session_cookie(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_http_twitch_session_get_done(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply);
static ngx_int_t ngx_http_twitch_session_user_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_session_suspended_done(
    ngx_http_twitch_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_http_twitch_session_anonymous(
    ngx_http_twitch_ctx_t *ctx, ngx_uint_t status, const char *error);
static ngx_int_t ngx_http_twitch_session_set_done(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply);
static ngx_int_t ngx_http_twitch_session_del_done(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply);
static ngx_int_t ngx_http_twitch_session_set_cookie(
    ngx_http_twitch_ctx_t *ctx, ngx_str_t *id, ngx_uint_t clear);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_session_user_stmt = {
    "session_user",
    "SELECT id, username, email, display_name, avatar_url, role,"
    " suspended_at IS NOT NULL"
    " FROM users WHERE id = $1",
    1, 0
};


static const char  ngx_http_twitch_session_end_lua[] =
    "local u = redis.call('GET', KEYS[1]) "
    "if u then redis.call('SREM', 'user_sessions:' .. u, ARGV[1]) end "
    "redis.call('ZREM', 'sessions:active', ARGV[1]) "
    "redis.call('DEL', KEYS[1]) "
    "return 1";

static const char  ngx_http_twitch_session_revoke_lua[] =
    "local ids = redis.call('SMEMBERS', KEYS[1]) "
    "for _, id in ipairs(ids) do "
    "  redis.call('DEL', 'session:' .. id) "
    "  redis.call('ZREM', 'sessions:active', id) "
    "end "
    "redis.call('DEL', KEYS[1]) "
    "return #ids";


ngx_int_t
ngx_http_twitch_session_user(ngx_http_twitch_ctx_t *ctx, ngx_uint_t required,
    ngx_http_twitch_route_pt next)
{
    ngx_str_t    id;
    u_char      *key;
    size_t       lens[2];
    const char  *argv[2];

    ctx->next = next;
    ctx->required = required;
    ctx->user = NULL;

    if (ngx_http_twitch_session_cookie(ctx->request, &id) != NGX_OK) {
        return ngx_http_twitch_session_anonymous(ctx, NGX_HTTP_UNAUTHORIZED,
                                                 "Not authenticated");
    }

    if (id.len != NGX_HTTP_TWITCH_SESSION_LEN) {
        return ngx_http_twitch_session_anonymous(ctx, NGX_HTTP_UNAUTHORIZED,
                                                 "Session expired");
    }

    key = ngx_pnalloc(ctx->request->pool, sizeof("session:") - 1 + id.len);
    if (key == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ngx_cpymem(key, "session:", sizeof("session:") - 1),
               id.data, id.len);

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (const char *) key;
    lens[1] = sizeof("session:") - 1 + id.len;

    if (ngx_http_twitch_api_redis(ctx, ngx_http_twitch_session_get_done,
                                  2, argv, lens)
        != NGX_OK)
    {
        return ngx_http_twitch_session_anonymous(ctx,
                                                 NGX_HTTP_SERVICE_UNAVAILABLE,
                                                 "session store unavailable");
    }

    return NGX_DONE;
}


/*
 * The base64url alphabet only: anything else cannot be one of our ids
 * and is not sent to Redis.
 */

static ngx_int_t
ngx_http_twitch_session_cookie(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char     *p;
    ngx_str_t   name = ngx_string("session");

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name, id)
        == NGX_DECLINED)
    {
        return NGX_DECLINED;
    }

    for (p = id->data; p < id->data + id->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
        {
            id->len = 0;
            break;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_session_key(ngx_http_request_t *r, ngx_str_t *key)
{
    ngx_str_t  id;

    if (ngx_http_twitch_session_cookie(r, &id) != NGX_OK
        || id.len != NGX_HTTP_TWITCH_SESSION_LEN)
    {
        return NGX_DECLINED;
    }

    key->len = sizeof("session:") - 1 + id.len;
    key->data = ngx_pnalloc(r->pool, key->len + 1);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(ngx_cpymem(key->data, "session:", sizeof("session:") - 1),
                id.data, id.len) = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_session_get_done(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply)
{
    u_char      *p;
    const char  *params[1];

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        return ngx_http_twitch_session_anonymous(ctx,
                                                 NGX_HTTP_SERVICE_UNAVAILABLE,
                                                 "session store unavailable");
    }

    if (reply->type != REDIS_REPLY_STRING || reply->len == 0
        || reply->len > 18)
    {
        return ngx_http_twitch_session_anonymous(ctx, NGX_HTTP_UNAUTHORIZED,
                                                 "Session expired");
    }

    for (p = (u_char *) reply->str; *p; p++) {
        if (*p < '0' || *p > '9') {
            return ngx_http_twitch_session_anonymous(ctx,
                                                     NGX_HTTP_UNAUTHORIZED,
                                                     "Session expired");
        }
    }

    params[0] = reply->str;

    if (ngx_http_twitch_api_pg(ctx, &ngx_http_twitch_session_user_stmt,
                               params, ngx_http_twitch_session_user_done)
        != NGX_OK)
    {
        return ngx_http_twitch_session_anonymous(ctx,
                                                 NGX_HTTP_SERVICE_UNAVAILABLE,
                                                 "database unavailable");
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_session_user_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    ngx_str_t                id;
    ngx_uint_t               i;
    ngx_pool_t              *pool;
    ngx_str_t               *fields[6];
    ngx_http_twitch_user_t  *u;

    if (rc != NGX_OK) {
        if (!ctx->required) {
            return ctx->next(ctx);
        }

        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_session_anonymous(ctx, NGX_HTTP_UNAUTHORIZED,
                                                 "User not found");
    }

    if (PQgetvalue(res, 0, 6)[0] == 't') {
        /*
         * suspended: the session must not outlive the suspension, and is
         * gone before the answer leaves, whichever worker asks next
         */
        if (ngx_http_twitch_session_cookie(ctx->request, &id) == NGX_OK
            && ngx_http_twitch_session_revoke_all(ctx, PQgetvalue(res, 0, 0),
                   ngx_http_twitch_session_suspended_done)
               == NGX_DONE)
        {
            return NGX_DONE;
        }

        return ngx_http_twitch_session_anonymous(ctx, NGX_HTTP_FORBIDDEN,
                                                 "Account suspended");
    }

    pool = ctx->request->pool;

    u = ngx_pcalloc(pool, sizeof(ngx_http_twitch_user_t));
    if (u == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    fields[0] = &u->id;
    fields[1] = &u->username;
    fields[2] = &u->email;
    fields[3] = &u->display_name;
    fields[4] = &u->avatar_url;
    fields[5] = &u->role;

    for (i = 0; i < 6; i++) {
        if (PQgetisnull(res, 0, i)) {
            continue;
        }

        fields[i]->len = PQgetlength(res, 0, i);
        fields[i]->data = ngx_pnalloc(pool, fields[i]->len + 1);
        if (fields[i]->data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(fields[i]->data, PQgetvalue(res, 0, i), fields[i]->len);
        fields[i]->data[fields[i]->len] = '\0';
    }

    u->admin = (u->role.len == 5
                && ngx_strncmp(u->role.data, "admin", 5) == 0);

    if (ngx_http_twitch_session_cookie(ctx->request, &u->session) != NGX_OK)
    {
        ngx_str_null(&u->session);
    }

    ctx->user = u;

    return ctx->next(ctx);
}


static ngx_int_t
ngx_http_twitch_session_suspended_done(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply)
{
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "twitch session: the sessions of a suspended user"
                      " could not be revoked");
    }

    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                     "Account suspended");
}


static ngx_int_t
ngx_http_twitch_session_anonymous(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t status, const char *error)
{
    if (!ctx->required && status != NGX_HTTP_FORBIDDEN) {
        ctx->user = NULL;
        return ctx->next(ctx);
    }

    return ngx_http_twitch_api_error(ctx->request, status, error);
}


ngx_int_t
ngx_http_twitch_session_start(ngx_http_twitch_ctx_t *ctx,
    const char *user_id, ngx_http_twitch_route_pt next)
{
    u_char              *p, *key, *set, *ttl, *expiry;
    ngx_str_t           *id, src;
    size_t               lens[5];
    const char          *argv[5];
    u_char               rnd[32];
    ngx_http_request_t  *r;

    r = ctx->request;
    ctx->next = next;

    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      "getrandom() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    id = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (id == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    id->data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(sizeof(rnd)));
    if (id->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    src.data = rnd;
    src.len = sizeof(rnd);
    ngx_encode_base64url(id, &src);
    ngx_explicit_memzero(rnd, sizeof(rnd));

    key = ngx_pnalloc(r->pool, sizeof("session:") + id->len);
    set = ngx_pnalloc(r->pool, sizeof("user_sessions:") + NGX_INT64_LEN);
    ttl = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
    expiry = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1);
    if (key == NULL || set == NULL || ttl == NULL || expiry == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(key, "session:", sizeof("session:") - 1);
    *ngx_cpymem(p, id->data, id->len) = '\0';
    *ngx_sprintf(set, "user_sessions:%s", user_id) = '\0';
    *ngx_sprintf(ttl, "%M", ctx->tmcf->session_ttl / 1000) = '\0';

    /* the set of the user's sessions first: replies come in order */

    argv[0] = "SADD";
    argv[1] = (const char *) set;
    argv[2] = (const char *) key + sizeof("session:") - 1;
    ngx_http_twitch_redis_fire(ctx->tmcf->redis, 3, argv);

    argv[0] = "EXPIRE";
    argv[2] = (const char *) ttl;
    ngx_http_twitch_redis_fire(ctx->tmcf->redis, 3, argv);

    *ngx_sprintf(expiry, "%T", ngx_time() + ctx->tmcf->session_ttl / 1000)
        = '\0';

    argv[0] = "ZADD";
    argv[1] = "sessions:active";
    argv[2] = (const char *) expiry;
    argv[3] = (const char *) key + sizeof("session:") - 1;
    ngx_http_twitch_redis_fire(ctx->tmcf->redis, 4, argv);

    argv[0] = "SET";
    argv[1] = (const char *) key;
    argv[2] = user_id;
    argv[3] = "EX";
    argv[4] = (const char *) ttl;

    lens[0] = 3;
    lens[1] = ngx_strlen(argv[1]);
    lens[2] = ngx_strlen(argv[2]);
    lens[3] = 2;
    lens[4] = ngx_strlen(argv[4]);

    if (ngx_http_twitch_api_redis(ctx, ngx_http_twitch_session_set_done,
                                  5, argv, lens)
        != NGX_OK)
    {
        return ngx_http_twitch_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "session store unavailable");
    }

    ctx->session_id = id;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_session_set_done(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply)
{
    if (reply == NULL || reply->type != REDIS_REPLY_STATUS) {
        return ngx_http_twitch_api_error(ctx->request,
                                         NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "session store unavailable");
    }

    if (ngx_http_twitch_session_set_cookie(ctx, ctx->session_id, 0)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ctx->next(ctx);
}


ngx_int_t
ngx_http_twitch_session_end(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_route_pt next)
{
    u_char      *key;
    ngx_str_t    id;
    size_t       lens[5];
    const char  *argv[5];

    ctx->next = next;

    if (ngx_http_twitch_session_set_cookie(ctx, NULL, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_twitch_session_cookie(ctx->request, &id) != NGX_OK
        || id.len != NGX_HTTP_TWITCH_SESSION_LEN)
    {
        return next(ctx);
    }

    key = ngx_pnalloc(ctx->request->pool, sizeof("session:") + id.len);
    if (key == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_cpymem(ngx_cpymem(key, "session:", sizeof("session:") - 1),
                id.data, id.len) = '\0';

    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_session_end_lua;
    argv[2] = "1";
    argv[3] = (const char *) key;
    argv[4] = (const char *) key + sizeof("session:") - 1;

    lens[0] = 4;
    lens[1] = sizeof(ngx_http_twitch_session_end_lua) - 1;
    lens[2] = 1;
    lens[3] = ngx_strlen(argv[3]);
    lens[4] = id.len;

    if (ngx_http_twitch_api_redis(ctx, ngx_http_twitch_session_del_done,
                                  5, argv, lens)
        != NGX_OK)
    {
        return ngx_http_twitch_api_error(ctx->request,
                                         NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "session store unavailable");
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_session_del_done(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply)
{
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        /* the session may still be valid: do not claim it ended */
        return ngx_http_twitch_api_error(ctx->request,
                                         NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "session store unavailable");
    }

    return ctx->next(ctx);
}


ngx_int_t
ngx_http_twitch_session_revoke_all(ngx_http_twitch_ctx_t *ctx,
    const char *user_id, ngx_http_twitch_api_redis_pt handler)
{
    u_char      *set;
    const char  *argv[4];

    set = ngx_pnalloc(ctx->request->pool,
                      sizeof("user_sessions:") + ngx_strlen(user_id));
    if (set == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(set, "user_sessions:%s", user_id) = '\0';

    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_session_revoke_lua;
    argv[2] = "1";
    argv[3] = (const char *) set;

    if (handler == NULL) {
        ngx_http_twitch_redis_fire(ctx->tmcf->redis, 4, argv);
        return NGX_OK;
    }

    return (ngx_http_twitch_api_redis(ctx, handler, 4, argv, NULL) == NGX_OK)
           ? NGX_DONE : NGX_ERROR;
}


static ngx_int_t
ngx_http_twitch_session_set_cookie(ngx_http_twitch_ctx_t *ctx, ngx_str_t *id,
    ngx_uint_t clear)
{
    u_char              *p, *v;
    size_t               len;
    ngx_http_request_t  *r;

    r = ctx->request;

    len = sizeof("session=; Path=/; Max-Age=; HttpOnly; SameSite=Lax; Secure")
          + NGX_HTTP_TWITCH_SESSION_LEN + NGX_INT64_LEN;

    v = ngx_pnalloc(r->pool, len);
    if (v == NULL) {
        return NGX_ERROR;
    }

    if (clear) {
        p = ngx_sprintf(v, "session=; Path=/; Max-Age=0");

    } else {
        p = ngx_sprintf(v, "session=%V; Path=/; Max-Age=%M", id,
                        ctx->tmcf->session_ttl / 1000);
    }

    p = ngx_cpymem(p, "; HttpOnly; SameSite=Lax",
                   sizeof("; HttpOnly; SameSite=Lax") - 1);

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }
#endif

    return ngx_http_twitch_api_header(r, "Set-Cookie", v, p - v);
}
