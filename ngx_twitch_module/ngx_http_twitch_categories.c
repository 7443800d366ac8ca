
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/categories: the category directory, one category, and the live
 * channels of a category.  Live channel and viewer counts are computed
 * from channels on each request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_listing.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_CATEGORIES_LIMIT  50
#define NGX_HTTP_TWITCH_CHANNELS_LIMIT    20
#define NGX_HTTP_TWITCH_SLUG_MAX          100


static ngx_int_t ngx_http_twitch_categories_list(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_categories_list_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_category_get(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_category_get_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_category_channels(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_category_channels_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static char *ngx_http_twitch_category_slug(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_category_not_found(
    ngx_http_twitch_ctx_t *ctx);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_categories_stmt = {
    "categories_list",
    "SELECT " NGX_HTTP_TWITCH_CATEGORY_COLUMNS
    NGX_HTTP_TWITCH_CATEGORY_FROM
    " ORDER BY s.viewers DESC, cat.name, cat.id"
    " LIMIT $1 OFFSET $2",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_category_stmt = {
    "category_get",
    "SELECT " NGX_HTTP_TWITCH_CATEGORY_COLUMNS
    NGX_HTTP_TWITCH_CATEGORY_FROM
    " WHERE cat.slug = lower($1)",
    1, 0
};

/* the category's id, then its live channels (none: one row of NULLs) */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_category_channels_stmt = {
    "category_channels",
    "WITH k AS (SELECT id FROM categories WHERE slug = lower($1))"
    " SELECT k.id, l.* FROM k LEFT JOIN LATERAL"
    " (SELECT " NGX_HTTP_TWITCH_CARD_COLUMNS
    NGX_HTTP_TWITCH_CARD_FROM
    "   WHERE c.category_id = k.id AND c.is_live"
    "   ORDER BY c.current_viewers DESC, c.id"
    "   LIMIT $2 OFFSET $3) l ON true",
    3, 0
};


ngx_http_twitch_route_t  ngx_http_twitch_categories_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/categories"),
      ngx_http_twitch_categories_list,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/categories/:slug"),
      ngx_http_twitch_category_get,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/categories/:slug/channels"),
      ngx_http_twitch_category_channels,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* GET /api/categories?limit&offset */

static ngx_int_t
ngx_http_twitch_categories_list(ngx_http_twitch_ctx_t *ctx)
{
    char        *limit, *offset;
    ngx_int_t    rc;
    const char  *params[2];

    rc = ngx_http_twitch_paging(ctx, NGX_HTTP_TWITCH_CATEGORIES_LIMIT,
                                &limit, &offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = limit;
    params[1] = offset;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_categories_stmt,
                                     params,
                                     ngx_http_twitch_categories_list_done);
}


static ngx_int_t
ngx_http_twitch_categories_list_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    return ngx_http_twitch_listing_send(ctx, "categories", res, 0,
                                    ngx_http_twitch_listing_category_fields);
}


/* GET /api/categories/:slug */

static ngx_int_t
ngx_http_twitch_category_get(ngx_http_twitch_ctx_t *ctx)
{
    const char  *params[1];

    params[0] = ngx_http_twitch_category_slug(ctx);

    if (params[0] == NULL) {
        return ngx_http_twitch_category_not_found(ctx);
    }

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_category_stmt,
                                     params,
                                     ngx_http_twitch_category_get_done);
}


static ngx_int_t
ngx_http_twitch_category_get_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_category_not_found(ctx);
    }

    return ngx_http_twitch_send_row(ctx, "category", res,
                                    ngx_http_twitch_listing_category_fields);
}


/* GET /api/categories/:slug/channels?limit&offset: live channels only */

static ngx_int_t
ngx_http_twitch_category_channels(ngx_http_twitch_ctx_t *ctx)
{
    char        *limit, *offset;
    ngx_int_t    rc;
    const char  *params[3];

    params[0] = ngx_http_twitch_category_slug(ctx);

    if (params[0] == NULL) {
        return ngx_http_twitch_category_not_found(ctx);
    }

    rc = ngx_http_twitch_paging(ctx, NGX_HTTP_TWITCH_CHANNELS_LIMIT,
                                &limit, &offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[1] = limit;
    params[2] = offset;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_category_channels_stmt,
                                     params,
                                     ngx_http_twitch_category_channels_done);
}


static ngx_int_t
ngx_http_twitch_category_channels_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) == 0) {
        return ngx_http_twitch_category_not_found(ctx);
    }

    return ngx_http_twitch_listing_send(ctx, "channels", res, 1,
                                        ngx_http_twitch_listing_card_fields);
}


/* the slug of the path when it can be one (letters, digits, "-"), or NULL */

static char *
ngx_http_twitch_category_slug(ngx_http_twitch_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t  *s;

    if (ctx->nparams < 1) {
        return NULL;
    }

    s = &ctx->params[0];

    if (s->len == 0 || s->len > NGX_HTTP_TWITCH_SLUG_MAX) {
        return NULL;
    }

    for (p = s->data; p < s->data + s->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-'))
        {
            return NULL;
        }
    }

    return ngx_http_twitch_param_str(ctx, 0, NGX_HTTP_TWITCH_SLUG_MAX);
}


static ngx_int_t
ngx_http_twitch_category_not_found(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                     "Category not found");
}
