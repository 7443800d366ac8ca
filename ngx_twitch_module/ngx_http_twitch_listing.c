
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * What the directory, profile and search routes share: the channel card
 * and category shapes, lists that may be empty under a known parent, and
 * name parameters.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_listing.h"


ngx_http_twitch_field_t  ngx_http_twitch_listing_card_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "title", NGX_HTTP_TWITCH_F_STR },
    { "isLive", NGX_HTTP_TWITCH_F_BOOL },
    { "viewerCount", NGX_HTTP_TWITCH_F_INT },
    { "followerCount", NGX_HTTP_TWITCH_F_INT },
    { "thumbnailUrl", NGX_HTTP_TWITCH_F_STR },
    { "tags", NGX_HTTP_TWITCH_F_JSON },
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


ngx_http_twitch_field_t  ngx_http_twitch_listing_category_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "slug", NGX_HTTP_TWITCH_F_STR },
    { "imageUrl", NGX_HTTP_TWITCH_F_STR },
    { "liveChannels", NGX_HTTP_TWITCH_F_INT },
    { "viewerCount", NGX_HTTP_TWITCH_F_INT },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


ngx_int_t
ngx_http_twitch_listing_emit(ngx_pool_t *pool, yajl_gen g, PGresult *res,
    int first, ngx_http_twitch_field_t *fields)
{
    int  row, rows, col;

    rows = PQntuples(res);

    (void) yajl_gen_array_open(g);

    for (row = 0; row < rows; row++) {

        if (PQgetisnull(res, row, first)) {
            continue;
        }

        col = first;

        (void) yajl_gen_map_open(g);

        if (ngx_http_twitch_emit_fields(pool, g, res, row, fields, &col)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        (void) yajl_gen_map_close(g);
    }

    (void) yajl_gen_array_close(g);

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_listing_send(ngx_http_twitch_ctx_t *ctx, const char *key,
    PGresult *res, int first, ngx_http_twitch_field_t *fields)
{
    yajl_gen  g;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, key);

    if (ngx_http_twitch_listing_emit(ctx->request->pool, g, res, first,
                                     fields)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


char *
ngx_http_twitch_listing_name(ngx_http_twitch_ctx_t *ctx, ngx_uint_t i)
{
    u_char     *p;
    ngx_str_t  *s;

    if (i >= ctx->nparams) {
        return NULL;
    }

    s = &ctx->params[i];

    if (s->len < 3 || s->len > 25) {
        return NULL;
    }

    for (p = s->data; p < s->data + s->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_'))
        {
            return NULL;
        }
    }

    return ngx_http_twitch_param_str(ctx, i, 25);
}
