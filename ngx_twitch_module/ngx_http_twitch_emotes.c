
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/emotes: global emotes, a channel's emotes, and what a viewer may
 * use in a channel's chat.  A channel emote of tier N needs an active
 * subscription of tier N or more to that channel ("locked" otherwise);
 * the broadcaster has every emote of the channel.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_listing.h"
#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_util.h"


static ngx_int_t ngx_http_twitch_emotes_global(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_emotes_global_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_emotes_channel(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_emotes_available(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_emotes_available_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_emotes_channel_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_emotes_available_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_emotes_not_found(
    ngx_http_twitch_ctx_t *ctx);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_emotes_global_stmt = {
    "emotes_global",
    "SELECT id, code, image_url, tier, is_global FROM emotes"
    " WHERE channel_id IS NULL ORDER BY code",
    0, 0
};

/* the channel's id first (no row: unknown channel), then its emotes */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_emotes_channel_stmt = {
    "emotes_channel",
    "SELECT k.id, e.id, e.code, e.image_url, e.tier, e.is_global"
    " FROM channels k LEFT JOIN emotes e ON e.channel_id = k.id"
    " WHERE k.id = $1"
    " ORDER BY e.tier, e.code",
    1, 0
};

/* $1 channel id, $2 the caller's id or NULL */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_emotes_available_stmt = {
    "emotes_available",
    "WITH k AS (SELECT c.id, coalesce(c.user_id = $2, false) AS owner,"
    "                  coalesce((SELECT s.tier FROM subscriptions s"
    "                             WHERE s.user_id = $2"
    "                               AND s.channel_id = c.id"
    "                               AND s.expires_at > now()), 0) AS tier"
    "             FROM channels c WHERE c.id = $1)"
    " SELECT k.id, e.id, e.code, e.image_url, e.tier, e.is_global,"
    "        e.tier > k.tier AND NOT k.owner"
    " FROM k LEFT JOIN emotes e"
    "   ON e.channel_id IS NULL OR e.channel_id = k.id"
    " ORDER BY e.is_global DESC, e.tier, e.code",
    2, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_emote_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "code", NGX_HTTP_TWITCH_F_STR },
    { "imageUrl", NGX_HTTP_TWITCH_F_STR },
    { "tier", NGX_HTTP_TWITCH_F_INT },
    { "isGlobal", NGX_HTTP_TWITCH_F_BOOL },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_emote_available_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "code", NGX_HTTP_TWITCH_F_STR },
    { "imageUrl", NGX_HTTP_TWITCH_F_STR },
    { "tier", NGX_HTTP_TWITCH_F_INT },
    { "isGlobal", NGX_HTTP_TWITCH_F_BOOL },
    { "locked", NGX_HTTP_TWITCH_F_BOOL },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


ngx_http_twitch_route_t  ngx_http_twitch_emotes_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/emotes/global"),
      ngx_http_twitch_emotes_global,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/emotes/channel/:channelId"),
      ngx_http_twitch_emotes_channel,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/emotes/available/:channelId"),
      ngx_http_twitch_emotes_available,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* GET /api/emotes/global */

static ngx_int_t
ngx_http_twitch_emotes_global(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_emotes_global_stmt,
                                     NULL,
                                     ngx_http_twitch_emotes_global_done);
}


static ngx_int_t
ngx_http_twitch_emotes_global_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    return ngx_http_twitch_send_rows(ctx, "emotes", res,
                                     ngx_http_twitch_emote_fields);
}


/* GET /api/emotes/channel/:channelId */

static ngx_int_t
ngx_http_twitch_emotes_channel(ngx_http_twitch_ctx_t *ctx)
{
    const char  *params[1];

    params[0] = ngx_http_twitch_param_id(ctx, 0);

    if (params[0] == NULL) {
        return ngx_http_twitch_emotes_not_found(ctx);
    }

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_emotes_channel_stmt,
                                     params,
                                     ngx_http_twitch_emotes_channel_done);
}


static ngx_int_t
ngx_http_twitch_emotes_channel_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) == 0) {
        return ngx_http_twitch_emotes_not_found(ctx);
    }

    return ngx_http_twitch_listing_send(ctx, "emotes", res, 1,
                                        ngx_http_twitch_emote_fields);
}


/* GET /api/emotes/available/:channelId (session optional) */

static ngx_int_t
ngx_http_twitch_emotes_available(ngx_http_twitch_ctx_t *ctx)
{
    ctx->data = ngx_http_twitch_param_id(ctx, 0);

    if (ctx->data == NULL) {
        return ngx_http_twitch_emotes_not_found(ctx);
    }

    return ngx_http_twitch_session_user(ctx, 0,
                                        ngx_http_twitch_emotes_available_user);
}


static ngx_int_t
ngx_http_twitch_emotes_available_user(ngx_http_twitch_ctx_t *ctx)
{
    const char  *params[2];

    params[0] = ctx->data;
    params[1] = ctx->user ? (const char *) ctx->user->id.data : NULL;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_emotes_available_stmt,
                                     params,
                                     ngx_http_twitch_emotes_available_done);
}


static ngx_int_t
ngx_http_twitch_emotes_available_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) == 0) {
        return ngx_http_twitch_emotes_not_found(ctx);
    }

    return ngx_http_twitch_listing_send(ctx, "emotes", res, 1,
                                     ngx_http_twitch_emote_available_fields);
}


static ngx_int_t
ngx_http_twitch_emotes_not_found(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                     "Channel not found");
}
