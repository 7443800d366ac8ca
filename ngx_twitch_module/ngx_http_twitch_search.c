
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * GET /api/search?q=&limit: channels, categories and users whose names
 * (and channel titles, display names) contain q, ignoring case.
 *
 * q is matched literally: "%", "_" and "\" are escaped for LIKE.  An exact
 * name ranks first, then prefix matches, then other substring matches;
 * among equals, live channels come first, then by viewers.  The three
 * lists are three statements run at once; substring matches use the
 * trigram indexes of migration 010 when pg_trgm is available.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_listing.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_SEARCH_LIMIT   10
#define NGX_HTTP_TWITCH_SEARCH_MAX     100
/* bytes of the raw argument: 100 code points of 4 bytes, %-encoded */
#define NGX_HTTP_TWITCH_SEARCH_RAW     (NGX_HTTP_TWITCH_SEARCH_MAX * 12)

#define NGX_HTTP_TWITCH_SEARCH_LISTS   3


typedef struct {
    ngx_uint_t                  pending;
    ngx_int_t                   rc;
    PGresult                   *res[NGX_HTTP_TWITCH_SEARCH_LISTS];
    PGresult                   *error;
} ngx_http_twitch_search_t;


static ngx_int_t ngx_http_twitch_search(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_search_query(ngx_http_twitch_ctx_t *ctx,
    u_char **pattern);
static ngx_int_t ngx_http_twitch_search_channels_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_search_categories_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_search_users_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_search_done(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t i, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_search_respond(ngx_http_twitch_ctx_t *ctx);


/*
 * $1 the LIKE-escaped query, $2 limit.  Each branch of the UNION can use
 * its own trigram index.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_search_channels_stmt = {
    "search_channels",
    "WITH m AS (SELECT id FROM channels"
    "            WHERE name ILIKE '%' || $1 || '%'"
    "           UNION"
    "           SELECT id FROM channels"
    "            WHERE title ILIKE '%' || $1 || '%'"
    "           UNION"
    "           SELECT mc.id FROM channels mc"
    "             JOIN users mu ON mu.id = mc.user_id"
    "            WHERE mu.display_name ILIKE '%' || $1 || '%')"
    " SELECT " NGX_HTTP_TWITCH_CARD_COLUMNS
    NGX_HTTP_TWITCH_CARD_FROM
    " JOIN m ON m.id = c.id"
    " ORDER BY CASE WHEN c.name ILIKE $1 THEN 0"
    "               WHEN c.name ILIKE $1 || '%'"
    "                    OR u.display_name ILIKE $1 || '%'"
    "                    OR c.title ILIKE $1 || '%' THEN 1"
    "               ELSE 2 END,"
    " c.is_live DESC, c.current_viewers DESC, c.follower_count DESC, c.id"
    " LIMIT $2",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_search_categories_stmt = {
    "search_categories",
    "SELECT " NGX_HTTP_TWITCH_CATEGORY_COLUMNS
    NGX_HTTP_TWITCH_CATEGORY_FROM
    " WHERE cat.name ILIKE '%' || $1 || '%'"
    " ORDER BY CASE WHEN cat.name ILIKE $1 THEN 0"
    "               WHEN cat.name ILIKE $1 || '%' THEN 1"
    "               ELSE 2 END,"
    " s.viewers DESC, cat.name, cat.id"
    " LIMIT $2",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_search_users_stmt = {
    "search_users",
    "SELECT id, username, display_name, avatar_url FROM users"
    " WHERE suspended_at IS NULL"
    "   AND (username ILIKE '%' || $1 || '%'"
    "        OR display_name ILIKE '%' || $1 || '%')"
    " ORDER BY CASE WHEN username ILIKE $1 THEN 0"
    "               WHEN username ILIKE $1 || '%'"
    "                    OR display_name ILIKE $1 || '%' THEN 1"
    "               ELSE 2 END,"
    " lower(username), id"
    " LIMIT $2",
    2, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_search_user_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


ngx_http_twitch_route_t  ngx_http_twitch_search_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/search"),
      ngx_http_twitch_search,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


static ngx_http_twitch_pg_stmt_t  *ngx_http_twitch_search_stmts[] = {
    &ngx_http_twitch_search_channels_stmt,
    &ngx_http_twitch_search_categories_stmt,
    &ngx_http_twitch_search_users_stmt
};

static ngx_http_twitch_api_pg_pt  ngx_http_twitch_search_handlers[] = {
    ngx_http_twitch_search_channels_done,
    ngx_http_twitch_search_categories_done,
    ngx_http_twitch_search_users_done
};


static ngx_int_t
ngx_http_twitch_search(ngx_http_twitch_ctx_t *ctx)
{
    u_char                    *pattern;
    ngx_int_t                  rc, limit;
    ngx_uint_t                 i;
    const char                *params[2];
    ngx_http_twitch_search_t  *s;

    rc = ngx_http_twitch_search_query(ctx, &pattern);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: bad search query");
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                   "q must be 1 to 100 characters of text");
    }

    if (ngx_http_twitch_arg_int(ctx, "limit", NGX_HTTP_TWITCH_SEARCH_LIMIT,
                                1, 100, &limit)
        != NGX_OK)
    {
        return NGX_OK;
    }

    s = ngx_pcalloc(ctx->request->pool, sizeof(ngx_http_twitch_search_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->rc = NGX_OK;
    ctx->data = s;

    params[0] = (const char *) pattern;
    params[1] = ngx_http_twitch_itoa(ctx->request->pool, limit);
    if (params[1] == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < NGX_HTTP_TWITCH_SEARCH_LISTS; i++) {
        if (ngx_http_twitch_api_pg(ctx, ngx_http_twitch_search_stmts[i],
                                   params, ngx_http_twitch_search_handlers[i])
            != NGX_OK)
        {
            s->rc = NGX_DECLINED;
            break;
        }

        s->pending++;
    }

    if (s->pending == 0) {
        return ngx_http_twitch_db_error(ctx, NULL, NGX_DECLINED);
    }

    /* answers once every started query is done */

    return NGX_DONE;
}


/*
 * q, decoded ("+" is a space, %XX a byte), valid UTF-8 without control
 * characters, trimmed, 1..100 code points; returned escaped for LIKE.
 */

static ngx_int_t
ngx_http_twitch_search_query(ngx_http_twitch_ctx_t *ctx, u_char **pattern)
{
    u_char     *p, *q, *d, *last, *start, *end;
    size_t      n;
    uint32_t    ch;
    ngx_int_t   hi, lo;
    ngx_str_t   raw;

    if (ngx_http_arg(ctx->request, (u_char *) "q", 1, &raw) != NGX_OK
        || raw.len == 0 || raw.len > NGX_HTTP_TWITCH_SEARCH_RAW)
    {
        return NGX_DECLINED;
    }

    q = ngx_pnalloc(ctx->request->pool, raw.len);
    if (q == NULL) {
        return NGX_ERROR;
    }

    d = q;
    last = raw.data + raw.len;

    for (p = raw.data; p < last; p++) {

        if (*p == '+') {
            *d++ = ' ';
            continue;
        }

        if (*p == '%' && last - p >= 3) {
            hi = ngx_hextoi(p + 1, 1);
            lo = ngx_hextoi(p + 2, 1);

            if (hi != NGX_ERROR && lo != NGX_ERROR) {
                *d++ = (u_char) (hi * 16 + lo);
                p += 2;
                continue;
            }
        }

        *d++ = *p;
    }

    /* valid UTF-8, no control characters (NUL included) */

    n = 0;
    last = d;

    for (p = q; p < last; /* void */) {

        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f) {
                return NGX_DECLINED;
            }

            p++;
            n++;
            continue;
        }

        ch = ngx_utf8_decode(&p, last - p);

        if (ch > 0x10ffff || (ch >= 0xd800 && ch <= 0xdfff)) {
            return NGX_DECLINED;
        }

        n++;
    }

    /* trimmed of spaces */

    start = q;
    end = last;

    while (start < end && *start == ' ') {
        start++;
        n--;
    }

    while (end > start && end[-1] == ' ') {
        end--;
        n--;
    }

    if (n == 0 || n > NGX_HTTP_TWITCH_SEARCH_MAX) {
        return NGX_DECLINED;
    }

    /* "\", "%" and "_" match themselves only */

    d = ngx_pnalloc(ctx->request->pool, 2 * (end - start) + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    *pattern = d;

    for (p = start; p < end; p++) {
        if (*p == '\\' || *p == '%' || *p == '_') {
            *d++ = '\\';
        }

        *d++ = *p;
    }

    *d = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_search_channels_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    return ngx_http_twitch_search_done(ctx, 0, res, rc);
}


static ngx_int_t
ngx_http_twitch_search_categories_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    return ngx_http_twitch_search_done(ctx, 1, res, rc);
}


static ngx_int_t
ngx_http_twitch_search_users_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    return ngx_http_twitch_search_done(ctx, 2, res, rc);
}


static ngx_int_t
ngx_http_twitch_search_done(ngx_http_twitch_ctx_t *ctx, ngx_uint_t i,
    PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_search_t  *s = ctx->data;

    s->pending--;

    if (rc != NGX_OK) {
        if (s->rc == NGX_OK || rc == NGX_DECLINED) {
            s->rc = rc;
            s->error = (res && rc == NGX_ERROR)
                       ? ngx_http_twitch_keep_result(ctx, res) : NULL;
        }

    } else if (s->rc == NGX_OK) {
        s->res[i] = ngx_http_twitch_keep_result(ctx, res);
        if (s->res[i] == NULL) {
            s->rc = NGX_ERROR;
        }
    }

    if (s->pending) {
        return NGX_DONE;
    }

    return ngx_http_twitch_search_respond(ctx);
}


static ngx_int_t
ngx_http_twitch_search_respond(ngx_http_twitch_ctx_t *ctx)
{
    yajl_gen                   g;
    ngx_pool_t                *pool;
    ngx_http_twitch_search_t  *s = ctx->data;

    if (s->rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, s->error, s->rc);
    }

    pool = ctx->request->pool;

    g = ngx_http_twitch_json_gen(pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);

    ngx_http_twitch_json_key(g, "channels");

    if (ngx_http_twitch_listing_emit(pool, g, s->res[0], 0,
                                     ngx_http_twitch_listing_card_fields)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_twitch_json_key(g, "categories");

    if (ngx_http_twitch_listing_emit(pool, g, s->res[1], 0,
                                     ngx_http_twitch_listing_category_fields)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_twitch_json_key(g, "users");

    if (ngx_http_twitch_listing_emit(pool, g, s->res[2], 0,
                                     ngx_http_twitch_search_user_fields)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}
