
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * The nginx-rtmp notify hooks ("twitch_rtmp_hooks"): nginx-rtmp POSTs
 * application/x-www-form-urlencoded fields (call, app, name, addr,
 * clientid, ...) to this location over loopback and reads the status.
 *
 *   call=publish         the stream key is checked (looked up by its
 *                        SHA-256, then compared in constant time), the
 *                        channel claimed in Redis (one publisher), the
 *                        broadcast opened; 302 with "Location: <channel>"
 *                        renames the stream, so the key is in no path,
 *                        playlist or log line; 403 refuses
 *   call=update_publish  heartbeat: streams.last_seen_at, the Redis claim;
 *                        403 drops a publisher whose broadcast ended, key
 *                        was rotated or owner suspended
 *   call=publish_done    the broadcast ends, the claim is released
 *   call=play            only loopback clients (the transcoder) may play
 *
 * nginx-rtmp sends the original name (the key) with update_publish and
 * publish_done: those find their broadcast by the RTMP session instead,
 * "<nginx master pid>:<clientid>" on this host (streams.ingest_*).
 *
 * "twitch_rtmp_worker N": nginx-rtmp keeps a stream in the worker that
 * accepted its publisher, and a player (the transcoder) that another
 * worker accepts finds nothing there (rtmp_auto_push copies streams
 * before the on_publish rename, under the key's name).  So one worker
 * takes every RTMP connection: the others stop accepting on nginx-rtmp's
 * listening sockets.  It only relays bytes; the encoding runs in the
 * transcoder processes.
 *
 * Reconciliation: at start-up, broadcasts of this host's earlier (dead)
 * nginx are closed; periodically, close_stale_streams() closes those
 * whose heartbeat stopped anywhere.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <dlfcn.h>

#include "ngx_http_twitch_live.h"
#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_redis.h"


#define NGX_HTTP_TWITCH_RTMP_MAX_BODY   8192
#define NGX_HTTP_TWITCH_RTMP_CLAIM_TTL  "30000"
#define NGX_HTTP_TWITCH_RTMP_STALE      "60 seconds"
#define NGX_HTTP_TWITCH_RTMP_CONTROL    "live:control"

/* how long a publisher waits for its transcoder to be playing */
#define NGX_HTTP_TWITCH_RTMP_PLAY_WAIT  3000
/* then a moment for nginx-rtmp to register that player */
#define NGX_HTTP_TWITCH_RTMP_PLAY_LAG   100


typedef struct {
    ngx_http_request_t                *request;
    ngx_http_twitch_live_conf_t       *lcf;
    ngx_http_twitch_live_loc_conf_t   *llcf;
    ngx_http_twitch_pg_query_t        *query;
    ngx_http_twitch_redis_cmd_t       *cmd;

    ngx_str_t                          call;
    ngx_str_t                          name;
    ngx_str_t                          app;
    ngx_str_t                          addr;
    ngx_str_t                          clientid;

    char                              *key;
    char                              *session;     /* master:clientid */
    char                              *claim;       /* host|master|id */
    char                              *channel_id;
    ngx_str_t                          channel;
    char                              *stream_id;
    ngx_uint_t                         fresh;

    /* a publish waiting for its transcoder's play */
    ngx_queue_t                        pending;
    ngx_event_t                        wait;
    ngx_uint_t                         waiting;
    ngx_uint_t                         played;
} ngx_http_twitch_rtmp_ctx_t;


typedef struct {
    ngx_http_twitch_live_conf_t       *lcf;
    ngx_uint_t                         startup;
} ngx_http_twitch_rtmp_reconcile_t;


static ngx_uint_t ngx_http_twitch_rtmp_loopback(ngx_http_request_t *r);
static void ngx_http_twitch_rtmp_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_twitch_rtmp_field(ngx_http_request_t *r,
    ngx_str_t *form, const char *name, ngx_str_t *value);
static ngx_int_t ngx_http_twitch_rtmp_dispatch(
    ngx_http_twitch_rtmp_ctx_t *ctx);
static ngx_uint_t ngx_http_twitch_rtmp_valid(ngx_str_t *name, size_t min,
    size_t max, ngx_uint_t dash);

#define ngx_http_twitch_rtmp_valid_key(name)                                 \
    ngx_http_twitch_rtmp_valid(name, 32, 128, 1)
#define ngx_http_twitch_rtmp_valid_name(name)                                \
    ngx_http_twitch_rtmp_valid(name, 3, 25, 0)

static ngx_int_t ngx_http_twitch_rtmp_session(
    ngx_http_twitch_rtmp_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_rtmp_publish(
    ngx_http_twitch_rtmp_ctx_t *ctx);
static void ngx_http_twitch_rtmp_publish_key(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_rtmp_publish_claimed(void *data,
    redisReply *reply);
static void ngx_http_twitch_rtmp_publish_live(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_http_twitch_rtmp_update(
    ngx_http_twitch_rtmp_ctx_t *ctx);
static void ngx_http_twitch_rtmp_update_done(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_http_twitch_rtmp_done(ngx_http_twitch_rtmp_ctx_t *ctx);
static void ngx_http_twitch_rtmp_done_done(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_rtmp_release_claim(
    ngx_http_twitch_live_conf_t *lcf, const char *channel_id,
    const char *claim, const char *name);
static ngx_int_t ngx_http_twitch_rtmp_query(ngx_http_twitch_rtmp_ctx_t *ctx,
    ngx_http_twitch_pg_stmt_t *stmt, const char **params,
    ngx_http_twitch_pg_handler_pt handler);
static ngx_int_t ngx_http_twitch_rtmp_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *text, ngx_str_t *location);
static void ngx_http_twitch_rtmp_finish(ngx_http_twitch_rtmp_ctx_t *ctx,
    ngx_uint_t status, const char *text, ngx_str_t *location);
static void ngx_http_twitch_rtmp_cleanup(void *data);
static void ngx_http_twitch_rtmp_reconciled(void *data, PGresult *res,
    ngx_int_t rc);
static char *ngx_http_twitch_rtmp_strdup(ngx_pool_t *pool, const char *s);
static const char *ngx_http_twitch_rtmp_pg_error(PGresult *res, ngx_int_t rc);
static void ngx_http_twitch_rtmp_control(ngx_http_twitch_live_conf_t *lcf,
    const char *fmt, ...);
static void ngx_http_twitch_rtmp_message(void *data, ngx_str_t *channel,
    ngx_str_t *message);
static void ngx_http_twitch_rtmp_played(ngx_str_t *channel);
static void ngx_http_twitch_rtmp_release(ngx_event_t *ev);
static ngx_uint_t ngx_http_twitch_rtmp_spawner(
    ngx_http_twitch_live_conf_t *lcf);


static ngx_queue_t  ngx_http_twitch_rtmp_pending;


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_rtmp_key_stmt = {
    "rtmp_key",
    "SELECT c.id, c.name, c.stream_key, u.suspended_at IS NOT NULL"
    " FROM channels c JOIN users u ON u.id = c.user_id"
    " WHERE c.stream_key_sha256 = stream_key_sha256($1)",
    1, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_rtmp_live_stmt = {
    "rtmp_live",
    "SELECT o_stream_id, o_fresh"
    " FROM live_go_live($1::bigint, $2, $3, $4)",
    4, 0
};

/* the heartbeat, as long as the key and its owner are still good */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_rtmp_update_stmt = {
    "rtmp_update",
    "UPDATE streams s SET last_seen_at = now()"
    " FROM channels c JOIN users u ON u.id = c.user_id"
    " WHERE s.ended_at IS NULL AND s.ingest_host = $1"
    "   AND s.ingest_session = $2 AND c.id = s.channel_id"
    "   AND c.stream_key_sha256 = stream_key_sha256($3)"
    "   AND u.suspended_at IS NULL"
    " RETURNING s.channel_id, s.id",
    3, 0
};

/* ends the session's broadcast; the channel of the session either way */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_rtmp_done_stmt = {
    "rtmp_done",
    "WITH s AS (UPDATE streams"
    "             SET ended_at = greatest(now(), started_at),"
    "                 end_reason = 'publish_done'"
    "           WHERE ended_at IS NULL AND ingest_host = $1"
    "             AND ingest_session = $2"
    "           RETURNING id, channel_id),"
    " c AS (UPDATE channels c"
    "          SET is_live = false, current_viewers = 0,"
    "              thumbnail_url = NULL"
    "         FROM s WHERE c.id = s.channel_id RETURNING c.id)"
    " SELECT st.channel_id, st.id, (SELECT count(*) FROM s),"
    "        lower(ch.name)"
    " FROM streams st JOIN channels ch ON ch.id = st.channel_id"
    " WHERE st.ingest_host = $1 AND st.ingest_session = $2"
    " ORDER BY st.id DESC LIMIT 1",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_rtmp_orphans_stmt = {
    "rtmp_orphans",
    "SELECT o.stream_id, o.channel_id"
    " FROM live_close_orphans($1, $2) o",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_rtmp_stale_stmt = {
    "rtmp_stale",
    "WITH closed AS (SELECT * FROM close_stale_streams('"
    NGX_HTTP_TWITCH_RTMP_STALE "'))"
    " SELECT closed.stream_id, closed.channel_id FROM closed",
    0, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_rtmp_unthumb_stmt = {
    "rtmp_unthumb",
    "UPDATE channels SET thumbnail_url = NULL"
    " WHERE id = $1::bigint AND NOT is_live AND thumbnail_url IS NOT NULL",
    1, 0
};


/*
 * KEYS: live:publisher:<channel>
 * ARGV: our claim "host|master|client", ttl ms, "host|", "host|master|"
 * 1: claimed, 2: taken over from a dead nginx of this host, 0: busy.
 */

static const char  ngx_http_twitch_rtmp_claim_lua[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "if not cur or cur == ARGV[1] then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "if string.sub(cur, 1, #ARGV[3]) == ARGV[3] "
    "   and string.sub(cur, 1, #ARGV[4]) ~= ARGV[4] then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end "
    "return 0";

/* KEYS: live:publisher:<channel>; ARGV: our claim, ttl ms */

static const char  ngx_http_twitch_rtmp_refresh_lua[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "if not cur or cur == ARGV[1] then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return 0";

/*
 * KEYS: live:publisher:<channel>, viewers:chat:<channel>:workers,
 *       viewers:hls:<name>
 * ARGV: the claim to drop ("" drops any), the prefix of a claim to keep
 * ("": none)
 */

static const char  ngx_http_twitch_rtmp_release_lua[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur and (ARGV[1] == '' or cur == ARGV[1]) "
    "   and (ARGV[2] == '' or string.sub(cur, 1, #ARGV[2]) ~= ARGV[2]) then "
    "  redis.call('DEL', KEYS[1]) end "
    "redis.call('HDEL', KEYS[2], '0:0') "
    "if KEYS[3] ~= '' then redis.call('DEL', KEYS[3]) end "
    "return 1";


ngx_int_t
ngx_http_twitch_rtmp_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_pool_cleanup_t          *cln;
    ngx_http_twitch_rtmp_ctx_t  *ctx;

    if (!ngx_http_twitch_rtmp_loopback(r)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "twitch rtmp: hook call from %V refused",
                      &r->connection->addr_text);
        return NGX_HTTP_FORBIDDEN;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_twitch_rtmp_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->lcf = ngx_http_twitch_live_conf();
    ctx->llcf = ngx_http_get_module_loc_conf(r, ngx_http_twitch_live_module);

    if (ctx->lcf == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "twitch rtmp: \"twitch_media_root\" is not set");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_twitch_rtmp_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_twitch_live_module);

    if (r->method != NGX_HTTP_POST) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r->headers_in.content_length_n > NGX_HTTP_TWITCH_RTMP_MAX_BODY) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_twitch_rtmp_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * nginx-rtmp on this host, nobody else: a loopback peer, and no header a
 * reverse proxy in front of this server would add (through such a proxy
 * every client is a loopback peer).
 */

static ngx_uint_t
ngx_http_twitch_rtmp_loopback(ngx_http_request_t *r)
{
    ngx_uint_t            i;
    ngx_list_part_t      *part;
    ngx_table_elt_t      *h;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if ((h[i].key.len == sizeof("X-Forwarded-For") - 1
             && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Forwarded-For",
                                h[i].key.len) == 0)
            || (h[i].key.len == sizeof("X-Real-IP") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Real-IP",
                                   h[i].key.len) == 0)
            || (h[i].key.len == sizeof("Forwarded") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Forwarded",
                                   h[i].key.len) == 0)
            || (h[i].key.len == sizeof("Via") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Via",
                                   h[i].key.len) == 0))
        {
            return 0;
        }
    }

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
        return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
#endif

#if (NGX_HAVE_UNIX_DOMAIN)
    case AF_UNIX:
        return 1;
#endif

    default:
        return 0;
    }
}


static void
ngx_http_twitch_rtmp_body(ngx_http_request_t *r)
{
    size_t                       size;
    u_char                      *p;
    ngx_int_t                    rc;
    ngx_str_t                    form;
    ngx_buf_t                   *b;
    ngx_chain_t                 *cl;
    ngx_http_twitch_rtmp_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_twitch_live_module);

    size = 0;

    if (r->request_body != NULL) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (b->in_file) {
                /* the form is a few hundred bytes: never on disk */
                ngx_http_finalize_request(r,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
                return;
            }

            size += b->last - b->pos;
        }
    }

    if (size > NGX_HTTP_TWITCH_RTMP_MAX_BODY) {
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return;
    }

    p = ngx_pnalloc(r->pool, size + 1);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    form.data = p;

    if (r->request_body != NULL) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    form.len = p - form.data;

    /*
     * nginx-rtmp writes its own fields first and the client's URL
     * arguments last: the first occurrence of a field is nginx-rtmp's.
     */

    if (ngx_http_twitch_rtmp_field(r, &form, "call", &ctx->call) != NGX_OK
        || ngx_http_twitch_rtmp_field(r, &form, "name", &ctx->name) != NGX_OK
        || ngx_http_twitch_rtmp_field(r, &form, "app", &ctx->app) != NGX_OK
        || ngx_http_twitch_rtmp_field(r, &form, "addr", &ctx->addr) != NGX_OK
        || ngx_http_twitch_rtmp_field(r, &form, "clientid", &ctx->clientid)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_twitch_rtmp_dispatch(ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* the first "name=" field of a form, URL-decoded, NUL-terminated */

static ngx_int_t
ngx_http_twitch_rtmp_field(ngx_http_request_t *r, ngx_str_t *form,
    const char *name, ngx_str_t *value)
{
    size_t   len;
    u_char  *p, *last, *end, *dst, *src;

    ngx_str_null(value);

    len = ngx_strlen(name);
    p = form->data;
    last = form->data + form->len;

    while (p < last) {
        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) > len && p[len] == '='
            && ngx_strncmp(p, name, len) == 0)
        {
            p += len + 1;

            dst = ngx_pnalloc(r->pool, end - p + 1);
            if (dst == NULL) {
                return NGX_ERROR;
            }

            value->data = dst;
            src = p;
            ngx_unescape_uri(&dst, &src, end - p, 0);
            value->len = dst - value->data;
            *dst = '\0';

            return NGX_OK;
        }

        p = end + 1;
    }

    value->data = (u_char *) "";

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_rtmp_dispatch(ngx_http_twitch_rtmp_ctx_t *ctx)
{
    ngx_str_t           *call;
    ngx_http_request_t  *r;

    r = ctx->request;
    call = &ctx->call;

#define ngx_http_twitch_rtmp_is(s)                                            \
    (call->len == sizeof(s) - 1 && ngx_strncmp(call->data, s, call->len) == 0)

    if (ngx_http_twitch_rtmp_is("play")) {

        /* only the transcoder, on this host, reads the RTMP streams */

        if (ngx_strcmp(ctx->addr.data, "127.0.0.1") == 0
            || ngx_strcmp(ctx->addr.data, "::1") == 0)
        {
            if (ngx_http_twitch_rtmp_valid_name(&ctx->name)) {
                /* a publisher may wait for this player */
                ngx_http_twitch_rtmp_control(ctx->lcf, "played %V",
                                             &ctx->name);
            }

            return ngx_http_twitch_rtmp_send(r, NGX_HTTP_OK, "ok\n", NULL);
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch rtmp: play from %V refused", &ctx->addr);

        return ngx_http_twitch_rtmp_send(r, NGX_HTTP_FORBIDDEN,
                                         "refused\n", NULL);
    }

    if (!ngx_http_twitch_rtmp_is("publish")
        && !ngx_http_twitch_rtmp_is("update_publish")
        && !ngx_http_twitch_rtmp_is("publish_done"))
    {
        /* play_done, done, update_play, connect ... */
        return ngx_http_twitch_rtmp_send(r, NGX_HTTP_OK, "ok\n", NULL);
    }

    if (ngx_http_twitch_rtmp_session(ctx) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "twitch rtmp: %V without a client id", call);
        return ngx_http_twitch_rtmp_send(r, NGX_HTTP_BAD_REQUEST,
                                         "bad request\n", NULL);
    }

    if (ngx_http_twitch_rtmp_is("publish")) {
        return ngx_http_twitch_rtmp_publish(ctx);
    }

    if (ngx_http_twitch_rtmp_is("update_publish")) {
        return ngx_http_twitch_rtmp_update(ctx);
    }

#undef ngx_http_twitch_rtmp_is

    return ngx_http_twitch_rtmp_done(ctx);
}


/*
 * stream keys are [A-Za-z0-9_-]{32,128} (channels_stream_key_format),
 * channel names [A-Za-z0-9_]{3,25} (channels_name_format)
 */

static ngx_uint_t
ngx_http_twitch_rtmp_valid(ngx_str_t *name, size_t min, size_t max,
    ngx_uint_t dash)
{
    size_t   i;
    u_char   c;

    if (name->len < min || name->len > max) {
        return 0;
    }

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || (dash && c == '-')))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_twitch_rtmp_session(ngx_http_twitch_rtmp_ctx_t *ctx)
{
    size_t                        len;
    u_char                       *p;
    ngx_int_t                     id;
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = ctx->lcf;

    id = (ctx->clientid.len > 0 && ctx->clientid.len <= 18)
         ? ngx_atoi(ctx->clientid.data, ctx->clientid.len) : NGX_ERROR;

    if (id == NGX_ERROR) {
        return NGX_ERROR;
    }

    len = lcf->master.len + 1 + NGX_INT64_LEN + 1;

    p = ngx_pnalloc(ctx->request->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->session = (char *) p;
    (void) ngx_sprintf(p, "%V:%i%Z", &lcf->master, id);

    len = lcf->instance.len + 1 + len;

    p = ngx_pnalloc(ctx->request->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->claim = (char *) p;
    (void) ngx_sprintf(p, "%V|%V|%i%Z", &lcf->instance, &lcf->master, id);

    return NGX_OK;
}


/* call=publish: the stream key */

static ngx_int_t
ngx_http_twitch_rtmp_publish(ngx_http_twitch_rtmp_ctx_t *ctx)
{
    const char          *params[1];
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ctx->app.len != ctx->llcf->app.len
        || ngx_strncmp(ctx->app.data, ctx->llcf->app.data, ctx->app.len)
           != 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch rtmp: publish to application \"%V\" "
                      "from %V refused", &ctx->app, &ctx->addr);
        return ngx_http_twitch_rtmp_send(r, NGX_HTTP_FORBIDDEN,
                                         "refused\n", NULL);
    }

    if (!ngx_http_twitch_rtmp_valid_key(&ctx->name)) {
        /* never log what was sent: it may be someone's key, mistyped */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch rtmp: publish from %V refused: "
                      "malformed stream key", &ctx->addr);
        return ngx_http_twitch_rtmp_send(r, NGX_HTTP_FORBIDDEN,
                                         "refused\n", NULL);
    }

    ctx->key = (char *) ctx->name.data;
    params[0] = ctx->key;

    return ngx_http_twitch_rtmp_query(ctx, &ngx_http_twitch_rtmp_key_stmt,
                                      params,
                                      ngx_http_twitch_rtmp_publish_key);
}


static void
ngx_http_twitch_rtmp_publish_key(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_rtmp_ctx_t *ctx = data;

    size_t                        i, len;
    u_char                       *p, diff;
    const char                   *argv[8];
    const char                   *stored, *reason;
    ngx_http_request_t           *r;
    ngx_http_twitch_live_conf_t  *lcf;
    size_t                        lens[8];

    r = ctx->request;
    lcf = ctx->lcf;
    ctx->query = NULL;

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "twitch rtmp: publish from %V refused: "
                      "the database is unavailable", &ctx->addr);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "unavailable\n", NULL);
        return;
    }

    reason = NULL;

    if (PQntuples(res) != 1) {
        reason = "wrong or rotated stream key";

    } else {
        /* the index found the hash; the key itself in constant time */

        stored = PQgetvalue(res, 0, 2);
        len = PQgetlength(res, 0, 2);
        diff = (len != ctx->name.len || len == 0);

        for (i = 0; len && i < ctx->name.len; i++) {
            diff |= (u_char) (ctx->name.data[i] ^ (u_char) stored[i % len]);
        }

        if (diff) {
            reason = "wrong or rotated stream key";

        } else if (PQgetvalue(res, 0, 3)[0] == 't') {
            reason = "the channel's owner is suspended";
        }
    }

    if (reason != NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch rtmp: publish from %V refused: %s",
                      &ctx->addr, reason);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_FORBIDDEN, "refused\n",
                                    NULL);
        return;
    }

    ctx->channel_id = ngx_http_twitch_rtmp_strdup(r->pool,
                                                 PQgetvalue(res, 0, 0));

    len = PQgetlength(res, 0, 1);
    p = ngx_pnalloc(r->pool, len + 1);

    if (ctx->channel_id == NULL || p == NULL) {
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "error\n", NULL);
        return;
    }

    ngx_memcpy(p, PQgetvalue(res, 0, 1), len + 1);
    ctx->channel.data = p;
    ctx->channel.len = len;

    /* one publisher per channel, across workers and instances */

    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_rtmp_claim_lua;
    argv[2] = "1";
    argv[3] = (char *) ngx_pnalloc(r->pool, sizeof("live:publisher:")
                                            + NGX_INT64_LEN);
    argv[4] = ctx->claim;
    argv[5] = NGX_HTTP_TWITCH_RTMP_CLAIM_TTL;
    argv[6] = (char *) ngx_pnalloc(r->pool, lcf->instance.len + 2);
    argv[7] = (char *) ngx_pnalloc(r->pool, lcf->instance.len
                                            + lcf->master.len + 3);

    if (argv[3] == NULL || argv[6] == NULL || argv[7] == NULL) {
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "error\n", NULL);
        return;
    }

    (void) ngx_sprintf((u_char *) argv[3], "live:publisher:%s%Z",
                       ctx->channel_id);
    (void) ngx_sprintf((u_char *) argv[6], "%V|%Z", &lcf->instance);
    (void) ngx_sprintf((u_char *) argv[7], "%V|%V|%Z", &lcf->instance,
                       &lcf->master);

    for (i = 0; i < 8; i++) {
        lens[i] = ngx_strlen(argv[i]);
    }

    ctx->cmd = ngx_http_twitch_redis_command(lcf->tmcf->redis,
                   ngx_http_twitch_rtmp_publish_claimed, ctx, 8, argv, lens);
    if (ctx->cmd == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "twitch rtmp: publish to \"%V\" refused: "
                      "Redis is unavailable", &ctx->channel);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "unavailable\n", NULL);
    }
}


static void
ngx_http_twitch_rtmp_publish_claimed(void *data, redisReply *reply)
{
    ngx_http_twitch_rtmp_ctx_t *ctx = data;

    u_char                       *p;
    const char                   *params[4];
    ngx_http_request_t           *r;
    ngx_http_twitch_live_conf_t  *lcf;

    r = ctx->request;
    lcf = ctx->lcf;
    ctx->cmd = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "twitch rtmp: publish to \"%V\" refused: "
                      "Redis is unavailable", &ctx->channel);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "unavailable\n", NULL);
        return;
    }

    if (reply->integer == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch rtmp: publish to \"%V\" from %V refused: "
                      "the channel already has a publisher",
                      &ctx->channel, &ctx->addr);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_CONFLICT, "busy\n", NULL);
        return;
    }

    if (reply->integer == 2) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "twitch rtmp: \"%V\" was claimed by an earlier nginx "
                      "of this host: taken over", &ctx->channel);
    }

    p = ngx_pnalloc(r->pool, lcf->media_url.len + ctx->channel.len
                             + sizeof("/thumb.jpg"));
    if (p == NULL) {
        ngx_http_twitch_rtmp_release_claim(lcf, ctx->channel_id, ctx->claim,
                                           NULL);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "error\n", NULL);
        return;
    }

    (void) ngx_sprintf(p, "%V%V/thumb.jpg%Z", &lcf->media_url,
                       &ctx->channel);

    params[0] = ctx->channel_id;
    params[1] = (const char *) lcf->instance.data;
    params[2] = ctx->session;
    params[3] = (const char *) p;

    if (ngx_http_twitch_rtmp_query(ctx, &ngx_http_twitch_rtmp_live_stmt,
                                   params,
                                   ngx_http_twitch_rtmp_publish_live)
        != NGX_DONE)
    {
        ngx_http_twitch_rtmp_release_claim(lcf, ctx->channel_id, ctx->claim,
                                           NULL);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "unavailable\n", NULL);
    }
}


static void
ngx_http_twitch_rtmp_publish_live(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_rtmp_ctx_t *ctx = data;

    u_char                       *p;
    const char                   *argv[2];
    ngx_http_request_t           *r;
    ngx_http_twitch_live_conf_t  *lcf;

    r = ctx->request;
    lcf = ctx->lcf;
    ctx->query = NULL;

    if (rc != NGX_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "twitch rtmp: cannot open a broadcast of \"%V\": %s",
                      &ctx->channel,
                      ngx_http_twitch_rtmp_pg_error(res, rc));
        ngx_http_twitch_rtmp_release_claim(lcf, ctx->channel_id, ctx->claim,
                                           NULL);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "unavailable\n", NULL);
        return;
    }

    ctx->stream_id = ngx_http_twitch_rtmp_strdup(r->pool,
                                                PQgetvalue(res, 0, 0));
    ctx->fresh = (PQgetvalue(res, 0, 1)[0] == 't');

    if (ctx->stream_id == NULL) {
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "error\n", NULL);
        return;
    }

    if (ctx->fresh) {
        /* a new broadcast: its distinct viewers count from zero */

        p = ngx_pnalloc(r->pool, sizeof("viewers:hls::views")
                                 + ctx->channel.len);
        if (p != NULL) {
            (void) ngx_sprintf(p, "viewers:hls:%V:views%Z", &ctx->channel);
            ngx_strlow(p, p, ngx_strlen(p));

            argv[0] = "DEL";
            argv[1] = (const char *) p;
            ngx_http_twitch_redis_fire(lcf->tmcf->redis, 2, argv);
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "twitch rtmp: \"%V\" is live from %V (broadcast %s%s)",
                  &ctx->channel, &ctx->addr, ctx->stream_id,
                  ctx->fresh ? "" : ", resumed");

    if (lcf->transcoder.nelts == 0) {
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_MOVED_TEMPORARILY, NULL,
                                    &ctx->channel);
        return;
    }

    /*
     * The RTMP worker starts the transcoder, whose play waits for the
     * stream; the publisher is let in once it plays, so that the first
     * keyframe is transcoded too.
     */

    ngx_http_twitch_rtmp_control(lcf, "spawn %s %s %V", ctx->stream_id,
                                 ctx->session, &ctx->channel);

    ctx->wait.handler = ngx_http_twitch_rtmp_release;
    ctx->wait.data = ctx;
    ctx->wait.log = r->connection->log;
    ctx->waiting = 1;

    ngx_queue_insert_tail(&ngx_http_twitch_rtmp_pending, &ctx->pending);
    ngx_add_timer(&ctx->wait, NGX_HTTP_TWITCH_RTMP_PLAY_WAIT);
}


/* the publish is let in, renamed to the channel: the key goes no further */

static void
ngx_http_twitch_rtmp_release(ngx_event_t *ev)
{
    ngx_http_twitch_rtmp_ctx_t *ctx = ev->data;

    ngx_queue_remove(&ctx->pending);
    ctx->waiting = 0;

    if (!ctx->played) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "twitch rtmp: the transcoder of \"%V\" is not "
                      "playing yet: letting the publisher in",
                      &ctx->channel);
    }

    ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_MOVED_TEMPORARILY, NULL,
                                &ctx->channel);
}


/* "played <channel>": the waiting publish of that channel goes on */

static void
ngx_http_twitch_rtmp_played(ngx_str_t *channel)
{
    ngx_queue_t                 *q;
    ngx_http_twitch_rtmp_ctx_t  *ctx;

    for (q = ngx_queue_head(&ngx_http_twitch_rtmp_pending);
         q != ngx_queue_sentinel(&ngx_http_twitch_rtmp_pending);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_http_twitch_rtmp_ctx_t, pending);

        if (ctx->played || ctx->channel.len != channel->len
            || ngx_strncasecmp(ctx->channel.data, channel->data,
                               channel->len)
               != 0)
        {
            continue;
        }

        ctx->played = 1;

        ngx_del_timer(&ctx->wait);
        ngx_add_timer(&ctx->wait, NGX_HTTP_TWITCH_RTMP_PLAY_LAG);
    }
}


/* call=update_publish: the heartbeat */

static ngx_int_t
ngx_http_twitch_rtmp_update(ngx_http_twitch_rtmp_ctx_t *ctx)
{
    const char          *params[3];
    ngx_http_request_t  *r;

    r = ctx->request;

    if (!ngx_http_twitch_rtmp_valid_key(&ctx->name)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch rtmp: update of session %s refused: "
                      "malformed stream key", ctx->session);
        return ngx_http_twitch_rtmp_send(r, NGX_HTTP_FORBIDDEN,
                                         "refused\n", NULL);
    }

    params[0] = (const char *) ctx->lcf->instance.data;
    params[1] = ctx->session;
    params[2] = (const char *) ctx->name.data;

    return ngx_http_twitch_rtmp_query(ctx, &ngx_http_twitch_rtmp_update_stmt,
                                      params,
                                      ngx_http_twitch_rtmp_update_done);
}


static void
ngx_http_twitch_rtmp_update_done(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_rtmp_ctx_t *ctx = data;

    u_char                       *p;
    const char                   *argv[6];
    ngx_http_request_t           *r;
    ngx_http_twitch_live_conf_t  *lcf;

    r = ctx->request;
    lcf = ctx->lcf;
    ctx->query = NULL;

    if (rc != NGX_OK) {
        /* a database hiccup does not drop live streams */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "twitch rtmp: heartbeat of session %s not stored: %s",
                      ctx->session,
                      ngx_http_twitch_rtmp_pg_error(res, rc));
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_OK, "ok\n", NULL);
        return;
    }

    if (PQntuples(res) != 1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch rtmp: publisher of session %s dropped: its "
                      "broadcast ended, the key was rotated or the owner "
                      "suspended", ctx->session);
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_FORBIDDEN, "refused\n",
                                    NULL);
        return;
    }

    p = ngx_pnalloc(r->pool, sizeof("live:publisher:") + NGX_INT64_LEN);

    if (p != NULL) {
        (void) ngx_sprintf(p, "live:publisher:%s%Z", PQgetvalue(res, 0, 0));

        argv[0] = "EVAL";
        argv[1] = ngx_http_twitch_rtmp_refresh_lua;
        argv[2] = "1";
        argv[3] = (const char *) p;
        argv[4] = ctx->claim;
        argv[5] = NGX_HTTP_TWITCH_RTMP_CLAIM_TTL;

        ngx_http_twitch_redis_fire(lcf->tmcf->redis, 6, argv);
    }

    ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_OK, "ok\n", NULL);
}


/* call=publish_done: the broadcast ends */

static ngx_int_t
ngx_http_twitch_rtmp_done(ngx_http_twitch_rtmp_ctx_t *ctx)
{
    const char  *params[2];

    params[0] = (const char *) ctx->lcf->instance.data;
    params[1] = ctx->session;

    return ngx_http_twitch_rtmp_query(ctx, &ngx_http_twitch_rtmp_done_stmt,
                                      params,
                                      ngx_http_twitch_rtmp_done_done);
}


static void
ngx_http_twitch_rtmp_done_done(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_rtmp_ctx_t *ctx = data;

    ngx_http_request_t  *r;

    r = ctx->request;
    ctx->query = NULL;

    if (rc != NGX_OK) {
        /* the heartbeat stops: the reconciler closes it within a minute */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "twitch rtmp: end of session %s not stored: %s",
                      ctx->session,
                      ngx_http_twitch_rtmp_pg_error(res, rc));
        ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_OK, "ok\n", NULL);
        return;
    }

    if (PQntuples(res) == 1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch rtmp: \"%s\" stopped publishing "
                      "(broadcast %s%s)", PQgetvalue(res, 0, 3),
                      PQgetvalue(res, 0, 1),
                      PQgetvalue(res, 0, 2)[0] == '0'
                      ? ", already ended" : " ended");

        ngx_http_twitch_rtmp_release_claim(ctx->lcf, PQgetvalue(res, 0, 0),
                                           ctx->claim,
                                           PQgetvalue(res, 0, 3));
        ngx_http_twitch_live_kick_vods();
    }

    /* the transcoder ends its playlists */
    ngx_http_twitch_rtmp_control(ctx->lcf, "end %s", ctx->session);

    ngx_http_twitch_rtmp_finish(ctx, NGX_HTTP_OK, "ok\n", NULL);
}


/*
 * Drops a channel's publisher claim (when it is still "claim", or any
 * claim when claim is NULL), its HLS viewer count and chat field.
 */

static void
ngx_http_twitch_rtmp_release_claim(ngx_http_twitch_live_conf_t *lcf,
    const char *channel_id, const char *claim, const char *name)
{
    u_char       *p;
    size_t        len;
    const char   *argv[8];
    u_char        buf[256];

    len = ngx_strlen(channel_id);

    if (len > NGX_INT64_LEN || (name && ngx_strlen(name) > 64)) {
        return;
    }

    p = buf;

    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_rtmp_release_lua;
    argv[2] = "3";
    argv[3] = (const char *) p;
    p = ngx_sprintf(p, "live:publisher:%s%Z", channel_id);
    argv[4] = (const char *) p;
    p = ngx_sprintf(p, "viewers:chat:%s:workers%Z", channel_id);
    argv[5] = (const char *) p;

    if (name != NULL) {
        p = ngx_sprintf(p, "viewers:hls:%s%Z", name);

    } else {
        *p++ = '\0';
    }

    argv[6] = claim ? claim : "";
    argv[7] = "";

    ngx_http_twitch_redis_fire(lcf->tmcf->redis, 8, argv);
}


static ngx_int_t
ngx_http_twitch_rtmp_query(ngx_http_twitch_rtmp_ctx_t *ctx,
    ngx_http_twitch_pg_stmt_t *stmt, const char **params,
    ngx_http_twitch_pg_handler_pt handler)
{
    ngx_http_request_t  *r;

    r = ctx->request;

    ctx->query = ngx_http_twitch_pg_query(ctx->lcf->tmcf->pg, stmt, params,
                                          handler, ctx, r->connection->log);

    if (ctx->query == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "twitch rtmp: %V refused: the database is unavailable",
                      &ctx->call);
        return ngx_http_twitch_rtmp_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "unavailable\n", NULL);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_rtmp_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *text, ngx_str_t *location)
{
    size_t            len;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    if (location != NULL) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value = *location;
        r->headers_out.location = h;
    }

    if (text == NULL) {
        text = "";
    }

    len = ngx_strlen(text);

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) text;
    b->last = (u_char *) text + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static void
ngx_http_twitch_rtmp_finish(ngx_http_twitch_rtmp_ctx_t *ctx,
    ngx_uint_t status, const char *text, ngx_str_t *location)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ngx_http_finalize_request(r, ngx_http_twitch_rtmp_send(r, status, text,
                                                           location));
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_twitch_rtmp_cleanup(void *data)
{
    ngx_http_twitch_rtmp_ctx_t *ctx = data;

    if (ctx->waiting) {
        ngx_queue_remove(&ctx->pending);
        ctx->waiting = 0;

        if (ctx->wait.timer_set) {
            ngx_del_timer(&ctx->wait);
        }
    }

    if (ctx->query) {
        ngx_http_twitch_pg_cancel(ctx->query);
        ctx->query = NULL;
    }

    if (ctx->cmd) {
        ngx_http_twitch_redis_cancel(ctx->cmd);
        ctx->cmd = NULL;
    }
}


/*
 * startup: the broadcasts that an earlier nginx master of this host left
 * open (it crashed, or was killed) end now; else the broadcasts whose
 * heartbeat stopped for a minute, anywhere.
 */

void
ngx_http_twitch_rtmp_reconcile(ngx_http_twitch_live_conf_t *lcf,
    ngx_uint_t startup)
{
    const char                        *params[2];
    ngx_http_twitch_rtmp_reconcile_t  *rec;

    rec = ngx_calloc(sizeof(ngx_http_twitch_rtmp_reconcile_t), lcf->log);
    if (rec == NULL) {
        return;
    }

    rec->lcf = lcf;
    rec->startup = startup;

    params[0] = (const char *) lcf->instance.data;
    params[1] = (const char *) lcf->master.data;

    if (ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                 startup ? &ngx_http_twitch_rtmp_orphans_stmt
                                         : &ngx_http_twitch_rtmp_stale_stmt,
                                 params, ngx_http_twitch_rtmp_reconciled,
                                 rec, lcf->log)
        == NULL)
    {
        ngx_free(rec);
    }
}


static void
ngx_http_twitch_rtmp_reconciled(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_rtmp_reconcile_t *rec = data;

    int                           i, n;
    u_char                       *p;
    const char                   *params[1], *argv[8];
    ngx_http_twitch_live_conf_t  *lcf;
    u_char                        keep[256], keys[128];

    lcf = rec->lcf;

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, lcf->log, 0,
                      "twitch rtmp: reconciliation failed: %s",
                      ngx_http_twitch_rtmp_pg_error(res, rc));
        ngx_free(rec);
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        ngx_log_error(NGX_LOG_NOTICE, lcf->log, 0,
                      "twitch rtmp: broadcast %s of channel %s closed: %s",
                      PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                      rec->startup ? "left open by an earlier nginx"
                                   : "its heartbeat stopped");

        if (lcf->exiting || (size_t) PQgetlength(res, i, 1) > NGX_INT64_LEN
            || lcf->instance.len + lcf->master.len > 200)
        {
            continue;
        }

        /* the claim of the dead publisher goes too (not ours) */

        p = keys;
        argv[0] = "EVAL";
        argv[1] = ngx_http_twitch_rtmp_release_lua;
        argv[2] = "3";
        argv[3] = (const char *) p;
        p = ngx_sprintf(p, "live:publisher:%s%Z", PQgetvalue(res, i, 1));
        argv[4] = (const char *) p;
        p = ngx_sprintf(p, "viewers:chat:%s:workers%Z",
                        PQgetvalue(res, i, 1));
        argv[5] = (const char *) p;
        *p = '\0';
        argv[6] = "";

        if (rec->startup) {
            (void) ngx_sprintf(keep, "%V|%V|%Z", &lcf->instance,
                               &lcf->master);
            argv[7] = (const char *) keep;

        } else {
            argv[7] = "";
        }

        ngx_http_twitch_redis_fire(lcf->tmcf->redis, 8, argv);

        params[0] = PQgetvalue(res, i, 1);
        (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                        &ngx_http_twitch_rtmp_unthumb_stmt,
                                        params, NULL, NULL, lcf->log);
    }

    if (n > 0) {
        ngx_http_twitch_live_kick_vods();
    }

    ngx_free(rec);
}


static char *
ngx_http_twitch_rtmp_strdup(ngx_pool_t *pool, const char *s)
{
    size_t   len;
    u_char  *p;

    len = ngx_strlen(s);

    p = ngx_pnalloc(pool, len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len + 1);

    return (char *) p;
}


void
ngx_http_twitch_rtmp_pin(ngx_cycle_t *cycle, ngx_http_twitch_live_conf_t *lcf)
{
    void              *rtmp;
    ngx_uint_t         i, n;
    ngx_listening_t   *ls;
    ngx_connection_t  *c;

    if (ngx_process != NGX_PROCESS_WORKER
        || ngx_worker == (ngx_uint_t) lcf->rtmp_worker)
    {
        return;
    }

    /* nginx-rtmp's listening sockets are those its connections start on */

    rtmp = dlsym(RTLD_DEFAULT, "ngx_rtmp_init_connection");

    if (rtmp == NULL) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "twitch rtmp: \"twitch_rtmp_worker\" is set but "
                      "nginx-rtmp is not loaded");
        return;
    }

    ls = cycle->listening.elts;
    n = 0;

    for (i = 0; i < cycle->listening.nelts; i++) {

        if ((void *) ls[i].handler != rtmp) {
            continue;
        }

        c = ls[i].connection;

        if (c == NULL) {
            continue;
        }

        /* the socket stays open (nginx closes it at exit), unwatched */

        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
        ls[i].connection = NULL;
        n++;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "twitch rtmp: worker %ui leaves %ui RTMP listeners",
                   ngx_worker, n);
}


/* live:control, every worker and instance: see the file's top */

void
ngx_http_twitch_rtmp_init(ngx_http_twitch_live_conf_t *lcf)
{
    ngx_str_t  channel = ngx_string(NGX_HTTP_TWITCH_RTMP_CONTROL);

    ngx_queue_init(&ngx_http_twitch_rtmp_pending);

    if (ngx_http_twitch_redis_subscribe(lcf->tmcf->redis, &channel,
                                        ngx_http_twitch_rtmp_message, lcf)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, lcf->log, 0,
                      "twitch rtmp: cannot subscribe to \"%V\"", &channel);
    }
}


static void
ngx_http_twitch_rtmp_control(ngx_http_twitch_live_conf_t *lcf,
    const char *fmt, ...)
{
    u_char      *p;
    va_list      args;
    const char  *argv[3];
    u_char       msg[256];

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg) - 1, fmt, args);
    va_end(args);

    *p = '\0';

    argv[0] = "PUBLISH";
    argv[1] = NGX_HTTP_TWITCH_RTMP_CONTROL;
    argv[2] = (const char *) msg;

    ngx_http_twitch_redis_fire(lcf->tmcf->redis, 3, argv);
}


static void
ngx_http_twitch_rtmp_message(void *data, ngx_str_t *channel,
    ngx_str_t *message)
{
    ngx_http_twitch_live_conf_t *lcf = data;

    u_char     *p, *last;
    ngx_str_t   word[4];
    ngx_uint_t  n;

    /* "<command> <arg> ..." */

    p = message->data;
    last = p + message->len;

    for (n = 0; n < 4 && p < last; n++) {
        word[n].data = p;

        while (p < last && *p != ' ') {
            p++;
        }

        word[n].len = p - word[n].data;
        p++;
    }

    if (n < 2 || lcf->exiting) {
        return;
    }

#define ngx_http_twitch_rtmp_cmd(s)                                           \
    (word[0].len == sizeof(s) - 1                                             \
     && ngx_strncmp(word[0].data, s, sizeof(s) - 1) == 0)

    if (ngx_http_twitch_rtmp_cmd("played") && n == 2) {
        ngx_http_twitch_rtmp_played(&word[1]);

    } else if (ngx_http_twitch_rtmp_cmd("spawn") && n == 4) {
        if (ngx_http_twitch_rtmp_spawner(lcf)) {
            ngx_http_twitch_transcoder_spawn(lcf, &word[1], &word[2],
                                             &word[3]);
        }

    } else if (ngx_http_twitch_rtmp_cmd("end") && n == 2) {
        ngx_http_twitch_transcoder_end(lcf, &word[1]);

    } else if (ngx_http_twitch_rtmp_cmd("stop") && n == 2) {
        ngx_http_twitch_pattern_stop_local(word[1].data, word[1].len);
    }

#undef ngx_http_twitch_rtmp_cmd
}


/* the worker that holds the RTMP streams starts their transcoders */

static ngx_uint_t
ngx_http_twitch_rtmp_spawner(ngx_http_twitch_live_conf_t *lcf)
{
    if (ngx_process != NGX_PROCESS_WORKER) {
        return 1;
    }

    return ngx_worker == (ngx_uint_t) ngx_max(lcf->rtmp_worker, 0);
}


/* why a statement failed, for the log */

static const char *
ngx_http_twitch_rtmp_pg_error(PGresult *res, ngx_int_t rc)
{
    const char  *msg;

    if (rc != NGX_ERROR || res == NULL) {
        return "the database is unavailable";
    }

    msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    return msg ? msg : "the statement failed";
}
