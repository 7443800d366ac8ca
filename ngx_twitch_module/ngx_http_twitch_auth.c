
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/auth: register, login, logout, me.
 *
 * Login failures are counted in Redis per client address and per account
 * (login:ip:<addr>, login:user:<name>, 15 minutes); past the limits the
 * answer is 429 with Retry-After, before any password work.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_password.h"
#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_LOGIN_WINDOW     "900"
#define NGX_HTTP_TWITCH_LOGIN_MAX_IP     30
#define NGX_HTTP_TWITCH_LOGIN_MAX_USER   5


typedef struct {
    char        *username;
    char        *email;
    char        *password;
    char        *display_name;
    char        *user_id;
    char        *ip_key;
    char        *user_key;
    PGresult    *row;
} ngx_http_twitch_auth_t;


static ngx_int_t ngx_http_twitch_auth_register(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_auth_login(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_auth_logout(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_auth_me(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_auth_check_username(u_char *p);
static ngx_int_t ngx_http_twitch_auth_check_email(u_char *p);
static ngx_int_t ngx_http_twitch_register_taken(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_register_hashed(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t ok, const char *hash);
static ngx_int_t ngx_http_twitch_register_inserted(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_register_respond(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_login_limits(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply);
static ngx_int_t ngx_http_twitch_login_found(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_login_verified(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t ok, const char *hash);
static ngx_int_t ngx_http_twitch_login_failed(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply);
static ngx_int_t ngx_http_twitch_login_respond(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_logout_done(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_me_user(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_me_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_register_taken_stmt = {
    "register_taken",
    "SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($1)"
    "               OR lower(email) = lower($2))"
    " OR EXISTS (SELECT 1 FROM channels WHERE lower(name) = lower($1))",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_register_stmt = {
    "register",
    "WITH u AS (INSERT INTO users (username, email, password_hash,"
    "                              display_name)"
    "           VALUES ($1, $2, $3, $4)"
    "           RETURNING id, username, email, display_name, role),"
    " c AS (INSERT INTO channels (user_id, name)"
    "       SELECT id, username FROM u RETURNING id)"
    " SELECT u.id, u.username, u.email, u.display_name, u.role"
    " FROM u, c",
    4, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_login_stmt = {
    "login",
    "SELECT id, username, email, display_name, avatar_url, role,"
    " password_hash, suspended_at IS NOT NULL"
    " FROM users WHERE lower(username) = lower($1)",
    1, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_me_stmt = {
    "auth_me",
    "SELECT u.id, u.username, u.email, u.display_name, u.avatar_url, u.role,"
    " c.id, c.stream_key, c.is_live"
    " FROM users u LEFT JOIN channels c ON c.user_id = u.id"
    " WHERE u.id = $1",
    1, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_register_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "email", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "role", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_login_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "email", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { "role", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_me_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "email", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { "role", NGX_HTTP_TWITCH_F_STR },
    { "channel", NGX_HTTP_TWITCH_F_OBJ },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "streamKey", NGX_HTTP_TWITCH_F_STR },
    { "isLive", NGX_HTTP_TWITCH_F_BOOL },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


ngx_http_twitch_route_t  ngx_http_twitch_auth_routes[] = {

    { NGX_HTTP_POST,
      ngx_string("/api/auth/register"),
      ngx_http_twitch_auth_register,
      1, 0 },

    { NGX_HTTP_POST,
      ngx_string("/api/auth/login"),
      ngx_http_twitch_auth_login,
      1, 0 },

    { NGX_HTTP_POST,
      ngx_string("/api/auth/logout"),
      ngx_http_twitch_auth_logout,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/auth/me"),
      ngx_http_twitch_auth_me,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* channel names are paths of the API and the web app */
static const char  *ngx_http_twitch_reserved_names[] = {
    "live", "api", "hls", "ws", "assets", "emotes", "categories", "metrics",
    "browse", "following", "search", "dashboard", "login", "signup",
    "videos", "clip", "clips", "category", "settings", "directory",
    NULL
};


static const char  ngx_http_twitch_login_check_lua[] =
    "local r = {} "
    "for _, k in ipairs(KEYS) do "
    "  r[#r + 1] = tonumber(redis.call('GET', k) or '0') "
    "  r[#r + 1] = redis.call('TTL', k) "
    "end "
    "return r";

static const char  ngx_http_twitch_login_fail_lua[] =
    "for _, k in ipairs(KEYS) do "
    "  redis.call('INCR', k) "
    "  if redis.call('TTL', k) < 0 then redis.call('EXPIRE', k, ARGV[1]) end "
    "end "
    "return 1";


/* POST /api/auth/register */

static ngx_int_t
ngx_http_twitch_auth_register(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                rc;
    const char              *err, *params[2];
    ngx_http_twitch_auth_t  *a;

    a = ngx_pcalloc(ctx->request->pool, sizeof(ngx_http_twitch_auth_t));
    if (a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = a;

    if (ngx_http_twitch_body_str(ctx, "username", 1, 1, 64, &a->username,
                                 &err) != NGX_OK
        || ngx_http_twitch_body_str(ctx, "email", 1, 1, 254, &a->email,
                                    &err) != NGX_OK
        || ngx_http_twitch_body_str(ctx, "password", 1, 1, 128, &a->password,
                                    &err) != NGX_OK
        || ngx_http_twitch_body_str(ctx, "displayName", 0, 1, 50,
                                    &a->display_name, &err) != NGX_OK)
    {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         err);
    }

    rc = ngx_http_twitch_auth_check_username((u_char *) a->username);

    if (rc == NGX_BUSY) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_CONFLICT,
                                         "This username is reserved");
    }

    if (rc != NGX_OK) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                   "username must be 3 to 25 letters, digits or underscores");
    }

    if (ngx_http_twitch_auth_check_email((u_char *) a->email) != NGX_OK) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         "email is not a valid address");
    }

    if (ngx_http_twitch_utf8_len((u_char *) a->password,
                                 ngx_strlen(a->password))
        < 8)
    {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                   "password must be at least 8 characters");
    }

    /* a name that is taken is refused before any password work */

    params[0] = a->username;
    params[1] = a->email;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_register_taken_stmt,
                                     params, ngx_http_twitch_register_taken);
}


static ngx_int_t
ngx_http_twitch_auth_check_username(u_char *p)
{
    size_t        n;
    const char  **r;

    for (n = 0; p[n]; n++) {
        if (!((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z')
              || (p[n] >= '0' && p[n] <= '9') || p[n] == '_'))
        {
            return NGX_DECLINED;
        }
    }

    if (n < 3 || n > 25) {
        return NGX_DECLINED;
    }

    for (r = ngx_http_twitch_reserved_names; *r; r++) {
        if (ngx_strcasecmp(p, (u_char *) *r) == 0) {
            return NGX_BUSY;
        }
    }

    return NGX_OK;
}


/* one "@" with text before it, a dot inside the domain, no spaces */

static ngx_int_t
ngx_http_twitch_auth_check_email(u_char *p)
{
    u_char  *at, *dot, *s;

    at = NULL;
    dot = NULL;

    for (s = p; *s; s++) {
        if (*s <= ' ' || *s == 0x7f || *s == ',' || *s == ';' || *s == '<'
            || *s == '>' || *s == '"')
        {
            return NGX_DECLINED;
        }

        if (*s == '@') {
            if (at != NULL) {
                return NGX_DECLINED;
            }

            at = s;

        } else if (*s == '.' && at != NULL) {
            dot = s;
        }
    }

    if (at == NULL || at == p || dot == NULL || dot == at + 1
        || dot[1] == '\0')
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_register_taken(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_twitch_auth_t  *a = ctx->data;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQgetvalue(res, 0, 0)[0] == 't') {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_CONFLICT,
                                         "Username or email already exists");
    }

    if (ngx_http_twitch_password_hash(ctx, a->password,
                                      ngx_http_twitch_register_hashed)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_register_hashed(ngx_http_twitch_ctx_t *ctx, ngx_uint_t ok,
    const char *hash)
{
    const char              *params[4];
    ngx_http_twitch_auth_t  *a = ctx->data;

    if (!ok) {
        ngx_log_error(NGX_LOG_ALERT, ctx->request->connection->log, 0,
                      "twitch api: password hashing failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = a->username;
    params[1] = a->email;
    params[2] = hash;
    params[3] = a->display_name;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_register_stmt,
                                     params,
                                     ngx_http_twitch_register_inserted);
}


static ngx_int_t
ngx_http_twitch_register_inserted(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_twitch_auth_t  *a = ctx->data;

    if (rc == NGX_ERROR
        && ngx_strcmp(ngx_http_twitch_sqlstate(res), "23505") == 0)
    {
        /* registered meanwhile by a concurrent request */
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_CONFLICT,
                                         "Username or email already exists");
    }

    if (rc != NGX_OK || PQntuples(res) != 1) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    /* the result is cleared when this handler returns: keep a copy */

    a->row = ngx_http_twitch_keep_result(ctx, res);
    if (a->row == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "twitch api: user \"%s\" registered", a->username);

    return ngx_http_twitch_session_start(ctx, PQgetvalue(a->row, 0, 0),
                                         ngx_http_twitch_register_respond);
}


static ngx_int_t
ngx_http_twitch_register_respond(ngx_http_twitch_ctx_t *ctx)
{
    ngx_http_twitch_auth_t  *a = ctx->data;

    return ngx_http_twitch_send_row_status(ctx, NGX_HTTP_CREATED, "user",
                                           a->row,
                                           ngx_http_twitch_register_fields);
}


/* POST /api/auth/login */

static ngx_int_t
ngx_http_twitch_auth_login(ngx_http_twitch_ctx_t *ctx)
{
    u_char                  *p;
    size_t                   lens[5];
    ngx_str_t               *addr;
    const char              *err, *argv[5];
    ngx_http_twitch_auth_t  *a;

    a = ngx_pcalloc(ctx->request->pool, sizeof(ngx_http_twitch_auth_t));
    if (a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = a;

    if (ngx_http_twitch_body_str(ctx, "username", 1, 1, 64, &a->username,
                                 &err) != NGX_OK
        || ngx_http_twitch_body_str(ctx, "password", 1, 1, 128, &a->password,
                                    &err) != NGX_OK)
    {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         err);
    }

    addr = &ctx->request->connection->addr_text;

    a->ip_key = ngx_pnalloc(ctx->request->pool,
                            sizeof("login:ip:") + addr->len);
    a->user_key = ngx_pnalloc(ctx->request->pool,
                              sizeof("login:user:")
                              + ngx_strlen(a->username));
    if (a->ip_key == NULL || a->user_key == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) a->ip_key, "login:ip:%V", addr) = '\0';
    p = ngx_sprintf((u_char *) a->user_key, "login:user:%s", a->username);
    *p = '\0';
    ngx_strlow((u_char *) a->user_key, (u_char *) a->user_key,
               ngx_strlen(a->user_key));

    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_login_check_lua;
    argv[2] = "2";
    argv[3] = a->ip_key;
    argv[4] = a->user_key;

    lens[0] = 4;
    lens[1] = sizeof(ngx_http_twitch_login_check_lua) - 1;
    lens[2] = 1;
    lens[3] = ngx_strlen(argv[3]);
    lens[4] = ngx_strlen(argv[4]);

    if (ngx_http_twitch_api_redis(ctx, ngx_http_twitch_login_limits,
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
ngx_http_twitch_login_limits(ngx_http_twitch_ctx_t *ctx, redisReply *reply)
{
    u_char                  *p;
    long long                n, ttl, wait;
    ngx_uint_t               i;
    const char              *params[1];
    ngx_http_twitch_auth_t  *a = ctx->data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 4)
    {
        return ngx_http_twitch_api_error(ctx->request,
                                         NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "session store unavailable");
    }

    wait = 0;

    for (i = 0; i < 2; i++) {
        n = reply->element[i * 2]->integer;
        ttl = reply->element[i * 2 + 1]->integer;

        if (n >= (i == 0 ? NGX_HTTP_TWITCH_LOGIN_MAX_IP
                         : NGX_HTTP_TWITCH_LOGIN_MAX_USER))
        {
            if (ttl < 1) {
                ttl = 1;
            }

            if (ttl > wait) {
                wait = ttl;
            }
        }
    }

    if (wait) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "twitch api: login attempts for \"%s\" throttled",
                      a->username);

        p = ngx_pnalloc(ctx->request->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_twitch_api_header(ctx->request, "Retry-After", p,
                                       ngx_sprintf(p, "%L", (int64_t) wait)
                                       - p)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_twitch_api_error(ctx->request,
                                         NGX_HTTP_TOO_MANY_REQUESTS,
                   "Too many failed login attempts, try again later");
    }

    params[0] = a->username;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_login_stmt, params,
                                     ngx_http_twitch_login_found);
}


static ngx_int_t
ngx_http_twitch_login_found(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    const char              *hash;
    ngx_http_twitch_auth_t  *a = ctx->data;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    hash = NULL;

    if (PQntuples(res) == 1) {
        a->row = ngx_http_twitch_keep_result(ctx, res);
        if (a->row == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        hash = PQgetvalue(a->row, 0, 6);
    }

    /* an unknown user costs a verification too: no timing oracle */

    if (ngx_http_twitch_password_verify(ctx, a->password, hash,
                                        ngx_http_twitch_login_verified)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_login_verified(ngx_http_twitch_ctx_t *ctx, ngx_uint_t ok,
    const char *hash)
{
    size_t                   lens[6];
    ngx_uint_t               i;
    const char              *argv[6];
    ngx_http_twitch_auth_t  *a = ctx->data;

    if (!ok || a->row == NULL) {
        argv[0] = "EVAL";
        argv[1] = ngx_http_twitch_login_fail_lua;
        argv[2] = "2";
        argv[3] = a->ip_key;
        argv[4] = a->user_key;
        argv[5] = NGX_HTTP_TWITCH_LOGIN_WINDOW;

        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: failed login for \"%s\"", a->username);

        /* answer once counted, so that the next attempt sees the count */

        for (i = 0; i < 6; i++) {
            lens[i] = ngx_strlen(argv[i]);
        }

        if (ngx_http_twitch_api_redis(ctx, ngx_http_twitch_login_failed,
                                      6, argv, lens)
            != NGX_OK)
        {
            return ngx_http_twitch_login_failed(ctx, NULL);
        }

        return NGX_DONE;
    }

    if (PQgetvalue(a->row, 0, 7)[0] == 't') {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                         "Account suspended");
    }

    argv[0] = "DEL";
    argv[1] = a->user_key;
    ngx_http_twitch_redis_fire(ctx->tmcf->redis, 2, argv);

    return ngx_http_twitch_session_start(ctx, PQgetvalue(a->row, 0, 0),
                                         ngx_http_twitch_login_respond);
}


static ngx_int_t
ngx_http_twitch_login_failed(ngx_http_twitch_ctx_t *ctx, redisReply *reply)
{
    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_UNAUTHORIZED,
                                     "Invalid credentials");
}


static ngx_int_t
ngx_http_twitch_login_respond(ngx_http_twitch_ctx_t *ctx)
{
    ngx_http_twitch_auth_t  *a = ctx->data;

    return ngx_http_twitch_send_row(ctx, "user", a->row,
                                    ngx_http_twitch_login_fields);
}


/* POST /api/auth/logout */

static ngx_int_t
ngx_http_twitch_auth_logout(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_session_end(ctx, ngx_http_twitch_logout_done);
}


static ngx_int_t
ngx_http_twitch_logout_done(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_send_success(ctx);
}


/* GET /api/auth/me */

static ngx_int_t
ngx_http_twitch_auth_me(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_session_user(ctx, 1, ngx_http_twitch_me_user);
}


static ngx_int_t
ngx_http_twitch_me_user(ngx_http_twitch_ctx_t *ctx)
{
    const char  *params[1];

    params[0] = (const char *) ctx->user->id.data;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_me_stmt, params,
                                     ngx_http_twitch_me_done);
}


static ngx_int_t
ngx_http_twitch_me_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_UNAUTHORIZED,
                                         "User not found");
    }

    return ngx_http_twitch_send_row(ctx, "user", res,
                                    ngx_http_twitch_me_fields);
}
