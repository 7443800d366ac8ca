
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/streams: the open broadcast of a channel, its past broadcasts
 * (VODs), and starting and stopping a broadcast by hand.
 *
 * POST /api/streams/start and /stop do the broadcast bookkeeping only:
 * they open or close the caller's streams row, and set channels.is_live
 * and current_viewers in the same statement.  They do NOT start or stop a
 * test-pattern publisher yet.  That is a video-side process, and the video
 * engineer hooks it in here.  Until then a started broadcast has no media,
 * and close_stale_streams() ends it once its heartbeat (last_seen_at)
 * goes stale.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_listing.h"
#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_util.h"
#include "ngx_http_twitch_rtmp.h"


#define NGX_HTTP_TWITCH_STREAMS_TITLE_MAX  140


typedef struct {
    char                       *channel_id;
    char                       *limit;
    char                       *offset;
    char                       *title;
    char                       *category_id;
} ngx_http_twitch_streams_t;


static ngx_int_t ngx_http_twitch_streams_get(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_streams_get_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_streams_vods(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_streams_vods_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_streams_start(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_streams_start_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_streams_start_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_streams_stop(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_streams_stop_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_streams_stop_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_http_twitch_streams_t *ngx_http_twitch_streams_new(
    ngx_http_twitch_ctx_t *ctx, ngx_uint_t with_channel, ngx_int_t *rc);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_streams_get_stmt = {
    "streams_get",
    "SELECT s.id, s.title, iso(s.started_at), s.peak_viewers,"
    " s.total_views, c.name, c.is_live, c.current_viewers,"
    " cat.id, cat.name, cat.slug"
    " FROM channels c"
    " JOIN streams s ON s.channel_id = c.id AND s.ended_at IS NULL"
    " LEFT JOIN categories cat ON cat.id = s.category_id"
    " WHERE c.id = $1::bigint",
    1, 0
};

/* the ended broadcasts, newest first, with their recording if any */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_streams_vods_stmt = {
    "streams_vods",
    "SELECT 0, l.* FROM channels c LEFT JOIN LATERAL"
    " (SELECT s.id, s.title, iso(s.started_at), iso(s.ended_at),"
    "         floor(extract(epoch FROM s.ended_at - s.started_at))::bigint,"
    "         s.peak_viewers, s.total_views,"
    "         coalesce(v.thumbnail_url, s.thumbnail_url),"
    "         CASE WHEN v.deleted_at IS NULL THEN v.playlist_url END,"
    "         cat.id, cat.name, cat.slug"
    "    FROM streams s"
    "    LEFT JOIN vods v ON v.stream_id = s.id"
    "    LEFT JOIN categories cat ON cat.id = s.category_id"
    "   WHERE s.channel_id = c.id AND s.ended_at IS NOT NULL"
    "   ORDER BY s.started_at DESC, s.id DESC"
    "   LIMIT $2::integer OFFSET $3::integer) l ON true"
    " WHERE c.id = $1::bigint",
    3, 0
};

/*
 * $1 the caller, $2 title (NULL: keep the channel's), $3 category (NULL:
 * keep).  Codes: 1 no channel, 2 no such category, 3 already live (a
 * concurrent start fails on streams_one_open_per_channel: 23505).
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_streams_start_stmt = {
    "streams_start",
    "WITH ch AS (SELECT id FROM channels WHERE user_id = $1::bigint),"
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN $3::bigint IS NOT NULL"
    "        AND NOT EXISTS (SELECT 1 FROM categories"
    "                         WHERE id = $3::bigint) THEN 2"
    "   WHEN EXISTS (SELECT 1 FROM streams s, ch"
    "                 WHERE s.channel_id = ch.id AND s.ended_at IS NULL)"
    "   THEN 3 ELSE 0 END AS code),"
    " c AS (UPDATE channels c"
    "          SET is_live = true, current_viewers = 0,"
    "              title = coalesce($2::text, c.title),"
    "              category_id = coalesce($3::bigint, c.category_id)"
    "         FROM chk, ch"
    "        WHERE chk.code = 0 AND c.id = ch.id"
    "       RETURNING c.id, c.title, c.category_id),"
    " s AS (INSERT INTO streams (channel_id, title, category_id)"
    "       SELECT id, title, category_id FROM c"
    "       RETURNING id, channel_id, title, category_id, started_at)"
    " SELECT chk.code, s.id, s.channel_id, s.title, iso(s.started_at),"
    "        cat.id, cat.name, cat.slug"
    " FROM chk LEFT JOIN s ON true"
    " LEFT JOIN categories cat ON cat.id = s.category_id",
    3, 0
};

/*
 * $1 the caller.  Closes the open broadcast and takes the channel offline
 * in one statement.  Codes: 1 no channel, 2 not live.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_streams_stop_stmt = {
    "streams_stop",
    "WITH ch AS (SELECT id, is_live FROM channels WHERE user_id = $1::bigint),"
    " s AS (UPDATE streams s"
    "          SET ended_at = greatest(now(), s.started_at),"
    "              end_reason = 'stopped'"
    "         FROM ch"
    "        WHERE s.channel_id = ch.id AND s.ended_at IS NULL"
    "       RETURNING s.id, s.ended_at),"
    " c AS (UPDATE channels c SET is_live = false, current_viewers = 0"
    "         FROM ch WHERE c.id = ch.id AND c.is_live RETURNING c.id)"
    " SELECT CASE WHEN ch.id IS NULL THEN 1"
    "             WHEN s.id IS NULL AND NOT ch.is_live THEN 2"
    "             ELSE 0 END,"
    "        s.id, iso(s.ended_at)"
    " FROM (SELECT 1) AS one LEFT JOIN ch ON true LEFT JOIN s ON true",
    1, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_streams_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "title", NGX_HTTP_TWITCH_F_STR },
    { "startedAt", NGX_HTTP_TWITCH_F_STR },
    { "peakViewers", NGX_HTTP_TWITCH_F_INT },
    { "totalViews", NGX_HTTP_TWITCH_F_INT },
    { "channelName", NGX_HTTP_TWITCH_F_STR },
    { "isLive", NGX_HTTP_TWITCH_F_BOOL },
    { "viewerCount", NGX_HTTP_TWITCH_F_INT },
    { "category", NGX_HTTP_TWITCH_F_OBJ_NULL },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "slug", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_streams_vod_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "title", NGX_HTTP_TWITCH_F_STR },
    { "startedAt", NGX_HTTP_TWITCH_F_STR },
    { "endedAt", NGX_HTTP_TWITCH_F_STR },
    { "duration", NGX_HTTP_TWITCH_F_INT },
    { "peakViewers", NGX_HTTP_TWITCH_F_INT },
    { "totalViews", NGX_HTTP_TWITCH_F_INT },
    { "thumbnailUrl", NGX_HTTP_TWITCH_F_STR },
    { "vodUrl", NGX_HTTP_TWITCH_F_STR },
    { "category", NGX_HTTP_TWITCH_F_OBJ_NULL },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "slug", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_streams_start_fields[] = {
    { NULL, NGX_HTTP_TWITCH_F_SKIP },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "channelId", NGX_HTTP_TWITCH_F_INT },
    { "title", NGX_HTTP_TWITCH_F_STR },
    { "startedAt", NGX_HTTP_TWITCH_F_STR },
    { "category", NGX_HTTP_TWITCH_F_OBJ_NULL },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "slug", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


ngx_http_twitch_route_t  ngx_http_twitch_streams_routes[] = {

    { NGX_HTTP_POST,
      ngx_string("/api/streams/start"),
      ngx_http_twitch_streams_start,
      1, 0 },

    { NGX_HTTP_POST,
      ngx_string("/api/streams/stop"),
      ngx_http_twitch_streams_stop,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/streams/:channelId"),
      ngx_http_twitch_streams_get,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/streams/:channelId/vods"),
      ngx_http_twitch_streams_vods,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* GET /api/streams/:channelId: the channel's open broadcast */

static ngx_int_t
ngx_http_twitch_streams_get(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                   rc;
    const char                 *params[1];
    ngx_http_twitch_streams_t  *st;

    st = ngx_http_twitch_streams_new(ctx, 1, &rc);
    if (st == NULL) {
        return rc;
    }

    params[0] = st->channel_id;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_streams_get_stmt,
                                     params,
                                     ngx_http_twitch_streams_get_done);
}


static ngx_int_t
ngx_http_twitch_streams_get_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "No active stream found");
    }

    return ngx_http_twitch_send_row(ctx, "stream", res,
                                    ngx_http_twitch_streams_fields);
}


/* GET /api/streams/:channelId/vods?limit&offset */

static ngx_int_t
ngx_http_twitch_streams_vods(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                   rc;
    const char                 *params[3];
    ngx_http_twitch_streams_t  *st;

    st = ngx_http_twitch_streams_new(ctx, 1, &rc);
    if (st == NULL) {
        return rc;
    }

    /* NGX_DECLINED: the 400 answer is sent */

    rc = ngx_http_twitch_paging(ctx, 20, &st->limit, &st->offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = st->channel_id;
    params[1] = st->limit;
    params[2] = st->offset;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_streams_vods_stmt,
                                     params,
                                     ngx_http_twitch_streams_vods_done);
}


static ngx_int_t
ngx_http_twitch_streams_vods_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) == 0) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");
    }

    return ngx_http_twitch_listing_send(ctx, "vods", res, 1,
                                        ngx_http_twitch_streams_vod_fields);
}


/*
 * POST /api/streams/start {title?, categoryId?}: opens a broadcast on the
 * caller's channel.  Bookkeeping only, see the top of the file: the
 * test-pattern publisher is not started here yet.
 */

static ngx_int_t
ngx_http_twitch_streams_start(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                   rc;
    const char                 *err;
    ngx_http_twitch_streams_t  *st;

    st = ngx_http_twitch_streams_new(ctx, 0, &rc);
    if (st == NULL) {
        return rc;
    }

    if (ngx_http_twitch_body_str(ctx, "title", 0, 1,
                                 NGX_HTTP_TWITCH_STREAMS_TITLE_MAX,
                                 &st->title, &err)
        != NGX_OK
        || ngx_http_twitch_body_int(ctx, "categoryId", 0, 1,
                                    NGX_MAX_INT_T_VALUE, &st->category_id,
                                    &err)
           != NGX_OK)
    {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         err);
    }

    return ngx_http_twitch_session_user(ctx, 1,
                                        ngx_http_twitch_streams_start_user);
}


static ngx_int_t
ngx_http_twitch_streams_start_user(ngx_http_twitch_ctx_t *ctx)
{
    const char                 *params[3];
    ngx_http_twitch_streams_t  *st = ctx->data;

    params[0] = (const char *) ctx->user->id.data;
    params[1] = st->title;
    params[2] = st->category_id;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_streams_start_stmt,
                                     params,
                                     ngx_http_twitch_streams_start_done);
}


static ngx_int_t
ngx_http_twitch_streams_start_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    int                  col;
    char                *code;
    yajl_gen             g;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (rc == NGX_ERROR
        && ngx_strcmp(ngx_http_twitch_sqlstate(res), "23505") == 0)
    {
        /* a concurrent start opened the broadcast first */
        code = "3";

    } else if (rc != NGX_OK || PQntuples(res) != 1) {
        return ngx_http_twitch_db_error(ctx, res, rc);

    } else {
        code = PQgetvalue(res, 0, 0);
    }

    switch (code[0]) {

    case '1':
        return ngx_http_twitch_api_error(r, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");

    case '2':
        return ngx_http_twitch_api_error(r, NGX_HTTP_BAD_REQUEST,
                                         "Category not found");

    case '3':
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch api: user %V starts a stream while live",
                      &ctx->user->username);
        return ngx_http_twitch_api_error(r, NGX_HTTP_CONFLICT,
                                         "Already live");

    default:
        break;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "twitch api: user %V started stream %s",
                  &ctx->user->username, PQgetvalue(res, 0, 1));

    /* with "twitch_test_pattern": a generated stream through the ingest */
    ngx_http_twitch_rtmp_pattern_start(r->connection->log,
                                       PQgetvalue(res, 0, 2),
                                       PQgetvalue(res, 0, 1));

    g = ngx_http_twitch_json_gen(r->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "success");
    ngx_http_twitch_json_bool(g, 1);
    ngx_http_twitch_json_key(g, "streamId");
    (void) yajl_gen_number(g, PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1));
    ngx_http_twitch_json_key(g, "stream");
    (void) yajl_gen_map_open(g);

    col = 0;

    if (ngx_http_twitch_emit_fields(r->pool, g, res, 0,
                                    ngx_http_twitch_streams_start_fields,
                                    &col)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_close(g);
    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


/*
 * POST /api/streams/stop: closes the caller's open broadcast
 * (end_reason "stopped") and takes the channel offline.  Bookkeeping
 * only: no publisher is stopped here yet.
 */

static ngx_int_t
ngx_http_twitch_streams_stop(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_http_twitch_streams_t  *st;

    st = ngx_http_twitch_streams_new(ctx, 0, &rc);
    if (st == NULL) {
        return rc;
    }

    return ngx_http_twitch_session_user(ctx, 1,
                                        ngx_http_twitch_streams_stop_user);
}


static ngx_int_t
ngx_http_twitch_streams_stop_user(ngx_http_twitch_ctx_t *ctx)
{
    const char  *params[1];

    params[0] = (const char *) ctx->user->id.data;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_streams_stop_stmt,
                                     params,
                                     ngx_http_twitch_streams_stop_done);
}


static ngx_int_t
ngx_http_twitch_streams_stop_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    char                *code;
    yajl_gen             g;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (rc != NGX_OK || PQntuples(res) != 1) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    code = PQgetvalue(res, 0, 0);

    if (code[0] == '1') {
        return ngx_http_twitch_api_error(r, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");
    }

    if (code[0] == '2') {
        return ngx_http_twitch_api_error(r, NGX_HTTP_CONFLICT, "Not live");
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "twitch api: user %V stopped stream %s",
                  &ctx->user->username,
                  PQgetisnull(res, 0, 1) ? "(none)" : PQgetvalue(res, 0, 1));

    if (!PQgetisnull(res, 0, 1)) {
        ngx_http_twitch_rtmp_pattern_stop(r->connection->log,
                                          PQgetvalue(res, 0, 1));
    }

    g = ngx_http_twitch_json_gen(r->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "success");
    ngx_http_twitch_json_bool(g, 1);
    ngx_http_twitch_json_key(g, "streamId");

    if (PQgetisnull(res, 0, 1)) {
        ngx_http_twitch_json_null(g);

    } else {
        (void) yajl_gen_number(g, PQgetvalue(res, 0, 1),
                               PQgetlength(res, 0, 1));
    }

    ngx_http_twitch_json_key(g, "endedAt");

    if (PQgetisnull(res, 0, 2)) {
        ngx_http_twitch_json_null(g);

    } else {
        ngx_http_twitch_json_buf(g, (u_char *) PQgetvalue(res, 0, 2),
                                 PQgetlength(res, 0, 2));
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


/*
 * The request's state; with_channel: the channel id of the path.  NULL
 * when the answer is already made (*rc).
 */

static ngx_http_twitch_streams_t *
ngx_http_twitch_streams_new(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t with_channel, ngx_int_t *rc)
{
    ngx_http_twitch_streams_t  *st;

    st = ngx_pcalloc(ctx->request->pool, sizeof(ngx_http_twitch_streams_t));
    if (st == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NULL;
    }

    ctx->data = st;

    if (!with_channel) {
        return st;
    }

    st->channel_id = ngx_http_twitch_param_id(ctx, 0);

    if (st->channel_id == NULL) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: bad channel id \"%V\"", &ctx->params[0]);
        *rc = ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                  "channelId must be a positive integer");
        return NULL;
    }

    return st;
}
