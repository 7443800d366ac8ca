
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Metrics in Prometheus text format at a location with "twitch_metrics".
 *
 * Every worker adds to counters in a shared memory zone: requests by route
 * and status, a latency histogram per route, and a per-worker slot with
 * the PostgreSQL pool (connections up, in use, queries waiting) and Redis
 * state, refreshed each second.  A scrape is answered by one worker with
 * the sums of all.  The first worker also counts the live sessions in
 * Redis (sessions:active, by expiry) every five seconds.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_metrics.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_METRICS_ROUTES    192
#define NGX_HTTP_TWITCH_METRICS_STATUSES  16
#define NGX_HTTP_TWITCH_METRICS_BUCKETS   10
#define NGX_HTTP_TWITCH_METRICS_WORKERS   64


typedef struct {
    ngx_atomic_t                 pid;
    ngx_atomic_t                 pg_up;
    ngx_atomic_t                 pg_busy;
    ngx_atomic_t                 pg_waiting;
    ngx_atomic_t                 redis_up;
} ngx_http_twitch_metrics_worker_t;


typedef struct {
    ngx_atomic_t                 sessions;
    ngx_atomic_t                 requests[NGX_HTTP_TWITCH_METRICS_ROUTES]
                                         [NGX_HTTP_TWITCH_METRICS_STATUSES];
    ngx_atomic_t                 buckets[NGX_HTTP_TWITCH_METRICS_ROUTES]
                                        [NGX_HTTP_TWITCH_METRICS_BUCKETS];
    ngx_atomic_t                 count[NGX_HTTP_TWITCH_METRICS_ROUTES];
    ngx_atomic_t                 sum_us[NGX_HTTP_TWITCH_METRICS_ROUTES];
    ngx_http_twitch_metrics_worker_t
                                 workers[NGX_HTTP_TWITCH_METRICS_WORKERS];
} ngx_http_twitch_metrics_shm_t;


static ngx_int_t ngx_http_twitch_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_twitch_metrics_status_index(ngx_uint_t status);
static void ngx_http_twitch_metrics_tick(ngx_event_t *ev);
static void ngx_http_twitch_metrics_sessions(void *data, redisReply *reply);
static ngx_int_t ngx_http_twitch_metrics_route_label(ngx_uint_t i,
    ngx_str_t *label, const char **method);


/* the statuses counted one by one; anything else counts as "other" */
static ngx_uint_t  ngx_http_twitch_metrics_statuses[] = {
    200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503,
    504, 0
};

/* histogram bounds in milliseconds */
static ngx_msec_t  ngx_http_twitch_metrics_bounds[] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000
};

static const char  *ngx_http_twitch_metrics_bound_text[] = {
    "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
    "5"
};


ngx_int_t
ngx_http_twitch_metrics_add_zone(ngx_conf_t *cf,
    ngx_http_twitch_main_conf_t *tmcf)
{
    ngx_str_t  name = ngx_string("twitch_metrics");

    if (tmcf->metrics_zone != NULL) {
        return NGX_OK;
    }

    tmcf->metrics_zone = ngx_shared_memory_add(cf, &name,
                             ngx_align(sizeof(ngx_http_twitch_metrics_shm_t)
                                       + 8 * ngx_pagesize, ngx_pagesize),
                             &ngx_http_twitch_module);
    if (tmcf->metrics_zone == NULL) {
        return NGX_ERROR;
    }

    tmcf->metrics_zone->init = ngx_http_twitch_metrics_init_zone;
    tmcf->metrics_zone->data = tmcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                *shpool;
    ngx_http_twitch_metrics_shm_t  *shm;

    if (data != NULL) {
        /* a reload keeps the counters of the running zone */
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_http_twitch_metrics_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    shpool->data = shm;
    shm_zone->data = shm;

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_metrics_init_process(ngx_cycle_t *cycle,
    ngx_http_twitch_main_conf_t *tmcf)
{
    ngx_event_t  *ev;

    if (tmcf->metrics_zone == NULL) {
        return NGX_OK;
    }

    ev = ngx_pcalloc(cycle->pool, sizeof(ngx_event_t));
    if (ev == NULL) {
        return NGX_ERROR;
    }

    ev->handler = ngx_http_twitch_metrics_tick;
    ev->data = tmcf;
    ev->log = cycle->log;
    ev->cancelable = 1;

    ngx_http_twitch_metrics_tick(ev);

    return NGX_OK;
}


static void
ngx_http_twitch_metrics_tick(ngx_event_t *ev)
{
    u_char                             now[NGX_TIME_T_LEN + 1];
    size_t                             lens[5];
    ngx_uint_t                         up, busy, waiting, slot, i;
    const char                        *argv[5];
    ngx_http_twitch_main_conf_t       *tmcf;
    ngx_http_twitch_metrics_shm_t     *shm;
    ngx_http_twitch_metrics_worker_t  *w;

    tmcf = ev->data;
    shm = tmcf->metrics_zone->data;

    slot = (ngx_process == NGX_PROCESS_WORKER) ? ngx_worker : 0;

    if (shm == NULL || slot >= NGX_HTTP_TWITCH_METRICS_WORKERS) {
        return;
    }

    ngx_http_twitch_pg_stats(tmcf->pg, &up, &busy, &waiting);

    w = &shm->workers[slot];
    w->pid = ngx_pid;
    w->pg_up = up;
    w->pg_busy = busy;
    w->pg_waiting = waiting;
    w->redis_up = ngx_http_twitch_redis_is_up(tmcf->redis);

    if (slot == 0 && w->redis_up && (ngx_time() % 5) == 0) {
        argv[0] = "EVAL";
        argv[1] = "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) "
                  "return redis.call('ZCARD', KEYS[1])";
        argv[2] = "1";
        argv[3] = "sessions:active";
        argv[4] = (const char *) now;

        *ngx_sprintf(now, "%T", ngx_time()) = '\0';

        for (i = 0; i < 5; i++) {
            lens[i] = ngx_strlen(argv[i]);
        }

        (void) ngx_http_twitch_redis_command(tmcf->redis,
                                             ngx_http_twitch_metrics_sessions,
                                             shm, 5, argv, lens);
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, 1000);
    }
}


static void
ngx_http_twitch_metrics_sessions(void *data, redisReply *reply)
{
    ngx_http_twitch_metrics_shm_t  *shm = data;

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
        shm->sessions = (ngx_atomic_uint_t) reply->integer;
    }
}


void
ngx_http_twitch_metrics_log(ngx_http_request_t *r,
    ngx_http_twitch_ctx_t *ctx)
{
    ngx_uint_t                      route, s, i;
    ngx_msec_t                      ms;
    ngx_time_t                     *tp;
    ngx_http_twitch_metrics_shm_t  *shm;

    if (ctx->tmcf->metrics_zone == NULL) {
        return;
    }

    shm = ctx->tmcf->metrics_zone->data;
    if (shm == NULL) {
        return;
    }

    route = ctx->route_index;
    if (route >= NGX_HTTP_TWITCH_METRICS_ROUTES) {
        route = 0;
    }

    s = ngx_http_twitch_metrics_status_index(r->headers_out.status);
    (void) ngx_atomic_fetch_add(&shm->requests[route][s], 1);

    tp = ngx_timeofday();
    ms = (ngx_msec_t) ((tp->sec - r->start_sec) * 1000
                       + (tp->msec - r->start_msec));

    for (i = 0; i < NGX_HTTP_TWITCH_METRICS_BUCKETS; i++) {
        if (ms <= ngx_http_twitch_metrics_bounds[i]) {
            (void) ngx_atomic_fetch_add(&shm->buckets[route][i], 1);
        }
    }

    (void) ngx_atomic_fetch_add(&shm->count[route], 1);
    (void) ngx_atomic_fetch_add(&shm->sum_us[route], ms * 1000);
}


static ngx_uint_t
ngx_http_twitch_metrics_status_index(ngx_uint_t status)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_twitch_metrics_statuses[i]; i++) {
        if (ngx_http_twitch_metrics_statuses[i] == status) {
            return i;
        }
    }

    return i;
}


/* route 0 is a request no route matched */

static ngx_int_t
ngx_http_twitch_metrics_route_label(ngx_uint_t i, ngx_str_t *label,
    const char **method)
{
    ngx_http_twitch_route_t  *route;

    if (i == 0) {
        ngx_str_set(label, "unmatched");
        *method = "any";
        return NGX_OK;
    }

    route = ngx_http_twitch_api_route_at(i);
    if (route == NULL) {
        return NGX_DECLINED;
    }

    *label = route->path;

    *method = (route->methods & NGX_HTTP_GET) ? "GET"
              : (route->methods & NGX_HTTP_POST) ? "POST"
              : (route->methods & NGX_HTTP_PUT) ? "PUT"
              : (route->methods & NGX_HTTP_PATCH) ? "PATCH"
              : (route->methods & NGX_HTTP_DELETE) ? "DELETE"
              : "other";

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_metrics_handler(ngx_http_request_t *r)
{
    u_char                             *p;
    size_t                              size;
    ngx_int_t                           rc;
    ngx_str_t                           label;
    const char                         *method;
    ngx_buf_t                          *b;
    ngx_uint_t                          i, j, k, nroutes;
    ngx_uint_t                          up, busy, waiting, redis, workers;
    ngx_chain_t                         out;
    ngx_atomic_uint_t                   v, sum;
    ngx_http_twitch_main_conf_t        *tmcf;
    ngx_http_twitch_metrics_shm_t      *shm;
    ngx_http_twitch_metrics_worker_t   *w;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_twitch_module);

    if (tmcf->metrics_zone == NULL || tmcf->metrics_zone->data == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    shm = tmcf->metrics_zone->data;
    nroutes = ngx_http_twitch_api_route_count() + 1;

    if (nroutes > NGX_HTTP_TWITCH_METRICS_ROUTES) {
        nroutes = NGX_HTTP_TWITCH_METRICS_ROUTES;
    }

    size = 4096 + nroutes * (NGX_HTTP_TWITCH_METRICS_STATUSES
                             + NGX_HTTP_TWITCH_METRICS_BUCKETS + 4) * 160;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    p = ngx_slprintf(p, b->end,
                     "# HELP twitch_http_requests_total API requests by "
                     "route and status.\n"
                     "# TYPE twitch_http_requests_total counter\n");

    for (i = 0; i < nroutes; i++) {
        if (ngx_http_twitch_metrics_route_label(i, &label, &method)
            != NGX_OK)
        {
            continue;
        }

        for (j = 0; j < NGX_HTTP_TWITCH_METRICS_STATUSES; j++) {
            v = shm->requests[i][j];
            if (v == 0) {
                continue;
            }

            p = ngx_slprintf(p, b->end,
                             "twitch_http_requests_total{method=\"%s\","
                             "route=\"%V\",status=\"", method, &label);

            if (ngx_http_twitch_metrics_statuses[j]) {
                p = ngx_slprintf(p, b->end, "%ui\"} %uA\n",
                                 ngx_http_twitch_metrics_statuses[j], v);

            } else {
                p = ngx_slprintf(p, b->end, "other\"} %uA\n", v);
            }
        }
    }

    p = ngx_slprintf(p, b->end,
                     "# HELP twitch_http_request_duration_seconds API "
                     "latency by route.\n"
                     "# TYPE twitch_http_request_duration_seconds "
                     "histogram\n");

    for (i = 0; i < nroutes; i++) {
        if (shm->count[i] == 0
            || ngx_http_twitch_metrics_route_label(i, &label, &method)
               != NGX_OK)
        {
            continue;
        }

        for (k = 0; k < NGX_HTTP_TWITCH_METRICS_BUCKETS; k++) {
            p = ngx_slprintf(p, b->end,
                             "twitch_http_request_duration_seconds_bucket"
                             "{method=\"%s\",route=\"%V\",le=\"%s\"} %uA\n",
                             method, &label,
                             ngx_http_twitch_metrics_bound_text[k],
                             shm->buckets[i][k]);
        }

        sum = shm->sum_us[i];

        p = ngx_slprintf(p, b->end,
                         "twitch_http_request_duration_seconds_bucket"
                         "{method=\"%s\",route=\"%V\",le=\"+Inf\"} %uA\n"
                         "twitch_http_request_duration_seconds_sum"
                         "{method=\"%s\",route=\"%V\"} %uA.%06uA\n"
                         "twitch_http_request_duration_seconds_count"
                         "{method=\"%s\",route=\"%V\"} %uA\n",
                         method, &label, shm->count[i],
                         method, &label, sum / 1000000, sum % 1000000,
                         method, &label, shm->count[i]);
    }

    up = 0;
    busy = 0;
    waiting = 0;
    redis = 0;
    workers = 0;

    for (i = 0; i < NGX_HTTP_TWITCH_METRICS_WORKERS; i++) {
        w = &shm->workers[i];

        /* slots of workers that exited stay until a new one takes them */
        if (w->pid == 0 || (kill((ngx_pid_t) w->pid, 0) != 0)) {
            continue;
        }

        workers++;
        up += w->pg_up;
        busy += w->pg_busy;
        waiting += w->pg_waiting;
        redis += w->redis_up;
    }

    p = ngx_slprintf(p, b->end,
                     "# HELP twitch_postgres_connections PostgreSQL "
                     "connections up in the workers' pools.\n"
                     "# TYPE twitch_postgres_connections gauge\n"
                     "twitch_postgres_connections %ui\n"
                     "# HELP twitch_postgres_connections_in_use Connections "
                     "running a query.\n"
                     "# TYPE twitch_postgres_connections_in_use gauge\n"
                     "twitch_postgres_connections_in_use %ui\n"
                     "# HELP twitch_postgres_queries_waiting Queries waiting "
                     "for a connection.\n"
                     "# TYPE twitch_postgres_queries_waiting gauge\n"
                     "twitch_postgres_queries_waiting %ui\n"
                     "# HELP twitch_redis_up Workers connected to Redis "
                     "(both connections).\n"
                     "# TYPE twitch_redis_up gauge\n"
                     "twitch_redis_up %ui\n"
                     "# HELP twitch_workers Worker processes reporting.\n"
                     "# TYPE twitch_workers gauge\n"
                     "twitch_workers %ui\n"
                     "# HELP twitch_sessions_active Signed-in sessions.\n"
                     "# TYPE twitch_sessions_active gauge\n"
                     "twitch_sessions_active %uA\n",
                     up, busy, waiting, redis, workers, shm->sessions);

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
