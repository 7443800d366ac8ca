
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * GET /api/health: a real round trip to PostgreSQL (SELECT 1 through the
 * pool) and to Redis (PING on the command connection, and the subscriber
 * connection up or reconnecting), both at once; 200 when both answer,
 * else 503 naming what is down.
 *
 * A worker makes at most one round trip per second: within a second of
 * the last one, the answer is its result, still subject to the current
 * state of the connections (a lost server is down at once).  Load
 * balancers polling health thus cost the back ends nothing.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"


#define NGX_HTTP_TWITCH_HEALTH_FRESH  1000
#define NGX_HTTP_TWITCH_VERSION       "0.1.0"


typedef enum {
    NGX_HTTP_TWITCH_HEALTH_API = 0,
    NGX_HTTP_TWITCH_HEALTH_DETAIL,
    NGX_HTTP_TWITCH_HEALTH_READY
} ngx_http_twitch_health_kind_e;


typedef struct {
    ngx_http_twitch_health_kind_e  kind;
    ngx_uint_t                     pending;
    ngx_uint_t                     postgres;
    ngx_uint_t                     redis;
} ngx_http_twitch_health_t;


static ngx_int_t ngx_http_twitch_health_api(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_health_detail(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_health_ready(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_health_live(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_health_check(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_health_kind_e kind);
static void ngx_http_twitch_health_timestamp(yajl_gen g);
static ngx_int_t ngx_http_twitch_health_pg_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_health_redis_done(
    ngx_http_twitch_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_http_twitch_health_checked(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_health_respond(ngx_http_twitch_ctx_t *ctx);


ngx_http_twitch_route_t  ngx_http_twitch_health_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/health"),
      ngx_http_twitch_health_api,
      0, 0 },

    /* the original platform's operational probes, outside /api */

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/health"),
      ngx_http_twitch_health_detail,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/health/ready"),
      ngx_http_twitch_health_ready,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/health/live"),
      ngx_http_twitch_health_live,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_health_stmt = {
    "health", "SELECT 1", 0, 0
};


static ngx_int_t
ngx_http_twitch_health_api(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_health_check(ctx, NGX_HTTP_TWITCH_HEALTH_API);
}


static ngx_int_t
ngx_http_twitch_health_detail(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_health_check(ctx, NGX_HTTP_TWITCH_HEALTH_DETAIL);
}


static ngx_int_t
ngx_http_twitch_health_ready(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_health_check(ctx, NGX_HTTP_TWITCH_HEALTH_READY);
}


/* the worker runs: no back end is asked */

static ngx_int_t
ngx_http_twitch_health_live(ngx_http_twitch_ctx_t *ctx)
{
    yajl_gen  g;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "status");
    ngx_http_twitch_json_cstr(g, "alive");
    ngx_http_twitch_health_timestamp(g);
    ngx_http_twitch_json_key(g, "uptime_seconds");
    ngx_http_twitch_json_int(g, ngx_time() - ctx->tmcf->started);
    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


static ngx_int_t
ngx_http_twitch_health_check(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_health_kind_e kind)
{
    const char                *argv[1];
    size_t                     lens[1];
    ngx_http_twitch_health_t  *h;

    h = ngx_pcalloc(ctx->request->pool, sizeof(ngx_http_twitch_health_t));
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = h;
    h->kind = kind;

    if (ctx->tmcf->health_checked
        && ngx_current_msec - ctx->tmcf->health_checked
           < NGX_HTTP_TWITCH_HEALTH_FRESH)
    {
        h->postgres = ctx->tmcf->health_postgres
                      && ngx_http_twitch_pg_is_up(ctx->tmcf->pg);
        h->redis = ctx->tmcf->health_redis
                   && ngx_http_twitch_redis_is_up(ctx->tmcf->redis);

        return ngx_http_twitch_health_respond(ctx);
    }

    if (ngx_http_twitch_api_pg(ctx, &ngx_http_twitch_health_stmt, NULL,
                               ngx_http_twitch_health_pg_done)
        == NGX_OK)
    {
        h->pending++;
    }

    argv[0] = "PING";
    lens[0] = sizeof("PING") - 1;

    if (ngx_http_twitch_api_redis(ctx, ngx_http_twitch_health_redis_done,
                                  1, argv, lens)
        == NGX_OK)
    {
        h->pending++;
    }

    if (h->pending == 0) {
        return ngx_http_twitch_health_checked(ctx);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_health_pg_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_twitch_health_t  *h = ctx->data;

    h->postgres = (rc == NGX_OK && PQntuples(res) == 1);

    if (--h->pending == 0) {
        return ngx_http_twitch_health_checked(ctx);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_health_redis_done(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply)
{
    ngx_http_twitch_health_t  *h = ctx->data;

    h->redis = reply != NULL
               && reply->type == REDIS_REPLY_STATUS
               && ngx_strcmp(reply->str, "PONG") == 0
               && ngx_http_twitch_redis_sub_alive(ctx->tmcf->redis);

    if (--h->pending == 0) {
        return ngx_http_twitch_health_checked(ctx);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_health_checked(ngx_http_twitch_ctx_t *ctx)
{
    ngx_http_twitch_health_t  *h = ctx->data;

    ctx->tmcf->health_checked = ngx_current_msec;
    ctx->tmcf->health_postgres = h->postgres;
    ctx->tmcf->health_redis = h->redis;

    return ngx_http_twitch_health_respond(ctx);
}


static ngx_int_t
ngx_http_twitch_health_respond(ngx_http_twitch_ctx_t *ctx)
{
    yajl_gen                   g;
    ngx_uint_t                 ok;
    ngx_http_twitch_health_t  *h = ctx->data;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ok = h->postgres && h->redis;

    if (!ok) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "twitch health: postgres %s, redis %s",
                      h->postgres ? "up" : "down", h->redis ? "up" : "down");
    }

    (void) yajl_gen_map_open(g);

    switch (h->kind) {

    case NGX_HTTP_TWITCH_HEALTH_DETAIL:
        ngx_http_twitch_json_key(g, "status");
        ngx_http_twitch_json_cstr(g, ok ? "healthy" : "degraded");
        ngx_http_twitch_json_key(g, "version");
        ngx_http_twitch_json_cstr(g, NGX_HTTP_TWITCH_VERSION);
        ngx_http_twitch_json_key(g, "instance");
        ngx_http_twitch_json_buf(g, ngx_cycle->hostname.data,
                                 ngx_cycle->hostname.len);
        ngx_http_twitch_json_key(g, "uptime_seconds");
        ngx_http_twitch_json_int(g, ngx_time() - ctx->tmcf->started);
        ngx_http_twitch_json_key(g, "checks");
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "postgres");
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "status");
        ngx_http_twitch_json_cstr(g, h->postgres ? "up" : "down");
        (void) yajl_gen_map_close(g);
        ngx_http_twitch_json_key(g, "redis");
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "status");
        ngx_http_twitch_json_cstr(g, h->redis ? "up" : "down");
        (void) yajl_gen_map_close(g);
        (void) yajl_gen_map_close(g);
        ngx_http_twitch_health_timestamp(g);
        break;

    case NGX_HTTP_TWITCH_HEALTH_READY:
        ngx_http_twitch_json_key(g, "status");
        ngx_http_twitch_json_cstr(g, ok ? "ready" : "not ready");

        if (!ok) {
            ngx_http_twitch_json_key(g, "checks");
            (void) yajl_gen_map_open(g);
            ngx_http_twitch_json_key(g, "postgres");
            ngx_http_twitch_json_cstr(g, h->postgres ? "up" : "down");
            ngx_http_twitch_json_key(g, "redis");
            ngx_http_twitch_json_cstr(g, h->redis ? "up" : "down");
            (void) yajl_gen_map_close(g);
        }

        ngx_http_twitch_health_timestamp(g);
        break;

    default: /* NGX_HTTP_TWITCH_HEALTH_API */
        ngx_http_twitch_json_key(g, "status");
        ngx_http_twitch_json_cstr(g, ok ? "ok" : "unavailable");
        ngx_http_twitch_json_key(g, "postgres");
        ngx_http_twitch_json_cstr(g, h->postgres ? "up" : "down");
        ngx_http_twitch_json_key(g, "redis");
        ngx_http_twitch_json_cstr(g, h->redis ? "up" : "down");
        break;
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx,
                                    ok ? NGX_HTTP_OK
                                       : NGX_HTTP_SERVICE_UNAVAILABLE,
                                    g);
}


static void
ngx_http_twitch_health_timestamp(yajl_gen g)
{
    u_char      buf[sizeof("1970-01-01T00:00:00.000Z")];
    ngx_tm_t    tm;
    ngx_time_t  *tp;

    tp = ngx_timeofday();
    ngx_gmtime(tp->sec, &tm);

    (void) ngx_sprintf(buf, "%4d-%02d-%02dT%02d:%02d:%02d.%03MZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                       tp->msec);

    ngx_http_twitch_json_key(g, "timestamp");
    ngx_http_twitch_json_buf(g, buf, sizeof(buf) - 1);
}
