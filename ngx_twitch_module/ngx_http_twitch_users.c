
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/users and /api/following: profiles and follows.
 *
 * "me" cannot be a username (3 characters at least), so /api/users/me is
 * the signed-in user: GET gives the caller's profile (401 without a
 * session), PATCH edits it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_listing.h"
#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_FOLLOWING_LIMIT  20


static ngx_int_t ngx_http_twitch_user_get(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_user_me(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_user_me_user(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_user_get_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_user_update(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_user_update_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_user_update_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_user_check_avatar(u_char *p, size_t len);
static ngx_int_t ngx_http_twitch_user_following(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_user_my_following(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_user_my_following_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_user_following_query(
    ngx_http_twitch_ctx_t *ctx, ngx_http_twitch_pg_stmt_t *stmt,
    const char *who);
static ngx_int_t ngx_http_twitch_user_following_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_user_not_found(ngx_http_twitch_ctx_t *ctx);


#define NGX_HTTP_TWITCH_USER_COLUMNS                                          \
    "SELECT u.id, u.username, u.display_name, u.avatar_url, u.bio,"           \
    " iso(u.created_at), c.id, c.name, c.follower_count,"                     \
    " c.subscriber_count, c.is_live"                                          \
    " FROM users u LEFT JOIN channels c ON c.user_id = u.id"

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_user_by_name_stmt = {
    "user_by_name",
    NGX_HTTP_TWITCH_USER_COLUMNS
    " WHERE lower(u.username) = lower($1)",
    1, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_user_by_id_stmt = {
    "user_by_id",
    NGX_HTTP_TWITCH_USER_COLUMNS
    " WHERE u.id = $1",
    1, 0
};

/* $1 caller, then a flag and a value per field */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_user_update_stmt = {
    "user_update",
    "UPDATE users"
    "   SET display_name = CASE WHEN $2::boolean THEN $3::text"
    "                           ELSE display_name END,"
    "       bio = CASE WHEN $4::boolean THEN $5::text ELSE bio END,"
    "       avatar_url = CASE WHEN $6::boolean THEN $7::text"
    "                         ELSE avatar_url END"
    " WHERE id = $1 RETURNING id",
    7, 0
};

/*
 * The followed channels of a user, live first, then the newest follows:
 * the user's id first (no row: unknown user), then the list.
 */

#define NGX_HTTP_TWITCH_FOLLOWING_LIST                                        \
    " SELECT w.id, l.* FROM w LEFT JOIN LATERAL"                              \
    " (SELECT c.id, c.name, c.title, c.is_live, c.current_viewers,"           \
    "         c.thumbnail_url, array_to_json(c.tags), iso(f.followed_at),"    \
    "         u.username, u.display_name, u.avatar_url, cat.name, cat.slug"   \
    "    FROM followers f JOIN channels c ON c.id = f.channel_id"             \
    "    JOIN users u ON u.id = c.user_id"                                    \
    "    LEFT JOIN categories cat ON cat.id = c.category_id"                  \
    "   WHERE f.user_id = w.id"                                               \
    "   ORDER BY c.is_live DESC, f.followed_at DESC, c.id"                    \
    "   LIMIT $2 OFFSET $3) l ON true"

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_following_by_name_stmt = {
    "following_by_name",
    "WITH w AS (SELECT id FROM users WHERE lower(username) = lower($1))"
    NGX_HTTP_TWITCH_FOLLOWING_LIST,
    3, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_following_by_id_stmt = {
    "following_by_id",
    "WITH w AS (SELECT $1::bigint AS id)"
    NGX_HTTP_TWITCH_FOLLOWING_LIST,
    3, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_user_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { "bio", NGX_HTTP_TWITCH_F_STR },
    { "createdAt", NGX_HTTP_TWITCH_F_STR },
    { "channel", NGX_HTTP_TWITCH_F_OBJ_NULL },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "followerCount", NGX_HTTP_TWITCH_F_INT },
    { "subscriberCount", NGX_HTTP_TWITCH_F_INT },
    { "isLive", NGX_HTTP_TWITCH_F_BOOL },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_following_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "title", NGX_HTTP_TWITCH_F_STR },
    { "isLive", NGX_HTTP_TWITCH_F_BOOL },
    { "viewerCount", NGX_HTTP_TWITCH_F_INT },
    { "thumbnailUrl", NGX_HTTP_TWITCH_F_STR },
    { "tags", NGX_HTTP_TWITCH_F_JSON },
    { "followedAt", NGX_HTTP_TWITCH_F_STR },
    { "user", NGX_HTTP_TWITCH_F_OBJ },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { "category", NGX_HTTP_TWITCH_F_OBJ_NULL },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "slug", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


/* the "/api/users/me" routes come before "/api/users/:username" */

ngx_http_twitch_route_t  ngx_http_twitch_users_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/users/me"),
      ngx_http_twitch_user_me,
      0, 0 },

    { NGX_HTTP_PATCH,
      ngx_string("/api/users/me"),
      ngx_http_twitch_user_update,
      1, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/users/:username"),
      ngx_http_twitch_user_get,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/users/:username/following"),
      ngx_http_twitch_user_following,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/following"),
      ngx_http_twitch_user_my_following,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* GET /api/users/:username */

static ngx_int_t
ngx_http_twitch_user_get(ngx_http_twitch_ctx_t *ctx)
{
    const char  *params[1];

    params[0] = ngx_http_twitch_listing_name(ctx, 0);

    if (params[0] == NULL) {
        return ngx_http_twitch_user_not_found(ctx);
    }

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_user_by_name_stmt,
                                     params,
                                     ngx_http_twitch_user_get_done);
}


/* GET /api/users/me */

static ngx_int_t
ngx_http_twitch_user_me(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_session_user(ctx, 1, ngx_http_twitch_user_me_user);
}


static ngx_int_t
ngx_http_twitch_user_me_user(ngx_http_twitch_ctx_t *ctx)
{
    const char  *params[1];

    params[0] = (const char *) ctx->user->id.data;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_user_by_id_stmt,
                                     params,
                                     ngx_http_twitch_user_get_done);
}


static ngx_int_t
ngx_http_twitch_user_get_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_user_not_found(ctx);
    }

    return ngx_http_twitch_send_row(ctx, "user", res,
                                    ngx_http_twitch_user_fields);
}


/* PATCH /api/users/me {displayName?, bio?, avatarUrl?} */

static ngx_int_t
ngx_http_twitch_user_update(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_session_user(ctx, 1,
                                        ngx_http_twitch_user_update_user);
}


static ngx_int_t
ngx_http_twitch_user_update_user(ngx_http_twitch_ctx_t *ctx)
{
    u_char                  *p;
    char                    *s;
    ngx_uint_t               blank;
    const char              *err, **params;
    ngx_http_twitch_json_t  *v;

    params = ngx_pcalloc(ctx->request->pool, 7 * sizeof(const char *));
    if (params == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = (const char *) ctx->user->id.data;
    params[1] = "false";
    params[3] = "false";
    params[5] = "false";

    err = NULL;

    /* displayName: 1..50 characters, not blank, no control characters */

    v = ngx_http_twitch_json_get(ctx->body, "displayName");

    if (v != NULL) {
        if (v->type != NGX_HTTP_TWITCH_JSON_STRING) {
            err = "displayName must be a string";
            goto invalid;
        }

        if (ngx_http_twitch_body_str(ctx, "displayName", 1, 1, 50, &s, &err)
            != NGX_OK)
        {
            goto invalid;
        }

        blank = 1;

        for (p = (u_char *) s; *p; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                err = "displayName must not contain control characters";
                goto invalid;
            }

            if (*p != ' ') {
                blank = 0;
            }
        }

        if (blank) {
            err = "displayName must not be blank";
            goto invalid;
        }

        params[1] = "true";
        params[2] = s;
    }

    /* bio: at most 500 characters; null removes it */

    v = ngx_http_twitch_json_get(ctx->body, "bio");

    if (v != NULL) {
        if (v->type != NGX_HTTP_TWITCH_JSON_NULL) {
            if (ngx_http_twitch_body_str(ctx, "bio", 0, 0, 500, &s, &err)
                != NGX_OK)
            {
                goto invalid;
            }

            params[4] = s;
        }

        params[3] = "true";
    }

    /* avatarUrl: an http(s) URL or a path of this site; null removes it */

    v = ngx_http_twitch_json_get(ctx->body, "avatarUrl");

    if (v != NULL) {
        if (v->type != NGX_HTTP_TWITCH_JSON_NULL) {
            if (ngx_http_twitch_body_str(ctx, "avatarUrl", 0, 1, 500, &s,
                                         &err)
                != NGX_OK)
            {
                goto invalid;
            }

            if (ngx_http_twitch_user_check_avatar((u_char *) s,
                                                  ngx_strlen(s))
                != NGX_OK)
            {
                err = "avatarUrl must be an http:// or https:// URL "
                      "or a path starting with /";
                goto invalid;
            }

            params[6] = s;
        }

        params[5] = "true";
    }

    if (params[1][0] == 'f' && params[3][0] == 'f' && params[5][0] == 'f') {
        return ngx_http_twitch_send_success_message(ctx, "Nothing to update");
    }

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_user_update_stmt,
                                     params,
                                     ngx_http_twitch_user_update_done);

invalid:

    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "twitch api: profile update refused: %s", err);

    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST, err);
}


/*
 * "https://host/...", "http://host/..." or "/path" (not "//host", which
 * is another site); no spaces, control characters, quotes, angle
 * brackets or backslashes.
 */

static ngx_int_t
ngx_http_twitch_user_check_avatar(u_char *p, size_t len)
{
    u_char  *s, *last;

    last = p + len;

    for (s = p; s < last; s++) {
        if (*s <= 0x20 || *s == 0x7f || *s == '"' || *s == '<' || *s == '>'
            || *s == '\\' || *s == '\'' || *s == '`')
        {
            return NGX_DECLINED;
        }
    }

    if (len > sizeof("https://") - 1
        && ngx_strncasecmp(p, (u_char *) "https://", sizeof("https://") - 1)
           == 0)
    {
        return (p[sizeof("https://") - 1] != '/') ? NGX_OK : NGX_DECLINED;
    }

    if (len > sizeof("http://") - 1
        && ngx_strncasecmp(p, (u_char *) "http://", sizeof("http://") - 1)
           == 0)
    {
        return (p[sizeof("http://") - 1] != '/') ? NGX_OK : NGX_DECLINED;
    }

    if (len >= 1 && p[0] == '/' && (len == 1 || p[1] != '/')) {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_twitch_user_update_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc == NGX_ERROR
        && ngx_strcmp(ngx_http_twitch_sqlstate(res), "23514") == 0)
    {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: profile update refused by \"%s\"",
                      ngx_http_twitch_constraint(res));
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         "invalid profile");
    }

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_user_not_found(ctx);
    }

    return ngx_http_twitch_send_success(ctx);
}


/* GET /api/users/:username/following?limit&offset (public) */

static ngx_int_t
ngx_http_twitch_user_following(ngx_http_twitch_ctx_t *ctx)
{
    char  *name;

    name = ngx_http_twitch_listing_name(ctx, 0);

    if (name == NULL) {
        return ngx_http_twitch_user_not_found(ctx);
    }

    return ngx_http_twitch_user_following_query(ctx,
                                    &ngx_http_twitch_following_by_name_stmt,
                                    name);
}


/* GET /api/following?limit&offset: the caller's */

static ngx_int_t
ngx_http_twitch_user_my_following(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_session_user(ctx, 1,
                                      ngx_http_twitch_user_my_following_user);
}


static ngx_int_t
ngx_http_twitch_user_my_following_user(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_user_following_query(ctx,
                                      &ngx_http_twitch_following_by_id_stmt,
                                      (const char *) ctx->user->id.data);
}


static ngx_int_t
ngx_http_twitch_user_following_query(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_pg_stmt_t *stmt, const char *who)
{
    char        *limit, *offset;
    ngx_int_t    rc;
    const char  *params[3];

    rc = ngx_http_twitch_paging(ctx, NGX_HTTP_TWITCH_FOLLOWING_LIMIT,
                                &limit, &offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = who;
    params[1] = limit;
    params[2] = offset;

    return ngx_http_twitch_api_query(ctx, stmt, params,
                                     ngx_http_twitch_user_following_done);
}


static ngx_int_t
ngx_http_twitch_user_following_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) == 0) {
        return ngx_http_twitch_user_not_found(ctx);
    }

    return ngx_http_twitch_listing_send(ctx, "following", res, 1,
                                        ngx_http_twitch_following_fields);
}


static ngx_int_t
ngx_http_twitch_user_not_found(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                     "User not found");
}
