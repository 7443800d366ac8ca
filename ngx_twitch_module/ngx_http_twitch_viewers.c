
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Viewer counts of live channels ("twitch_hls_viewers on" on the HLS
 * location).
 *
 * nginx serves the HLS files itself; a player fetches its media playlist
 * (<media url><channel>/b<broadcast>/<rung>/live.m3u8) every segment, so
 * each such fetch marks its playback session as watching: ZADD into the
 * Redis sorted set viewers:hls:<channel> (score: the time), and PFADD
 * into viewers:hls:<channel>:views (distinct sessions of the broadcast).  A
 * session is the "v" argument of the URL, else the twitch_vid cookie that
 * master playlists hand out, else the client address and User-Agent.
 *
 * Every twitch_viewers_interval one worker of all instances (a Redis
 * lock) counts, per live channel, the sessions seen within
 * twitch_viewers_window, and folds them into the chat's count: the chat
 * module keeps, per channel, the hash viewers:chat:<id>:workers
 * ("<count>:<expiry ms>" per chat worker) and the total in
 * viewers:chat:<id>, pushes viewer_update to chat clients when the total
 * changes and stores it.  The chat sums the fields named like its workers
 * ("<hex>:<pid>"), so the HLS viewers report as the pseudo-worker "0:0"
 * (no process has pid 0) in that hash: the total, pushed and stored by
 * both sides alike, is HLS viewers and chat connections together.  With
 * "twitch_viewers_chat max" (the default) our field holds the viewers the
 * chat does not already count, so a person with a player and a chat
 * window counts once; with "add" the two add up.  The total goes to
 * channels.current_viewers, its peak to streams.peak_viewers, the
 * distinct sessions to streams.total_views.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_md5.h>

#include "ngx_http_twitch_viewers.h"
#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_redis.h"


#define NGX_HTTP_TWITCH_VIEWERS_COOKIE  "twitch_vid"


typedef struct {
    ngx_http_twitch_live_conf_t    *lcf;
    char                            channel_id[NGX_INT64_LEN + 1];
    char                            stream_id[NGX_INT64_LEN + 1];
} ngx_http_twitch_viewers_ch_t;


static ngx_int_t ngx_http_twitch_viewers_channel(ngx_http_request_t *r,
    ngx_http_twitch_live_conf_t *lcf, ngx_str_t *name, ngx_uint_t *master);
static ngx_int_t ngx_http_twitch_viewers_session(ngx_http_request_t *r,
    u_char *buf);
static void ngx_http_twitch_viewers_locked(void *data, redisReply *reply);
static void ngx_http_twitch_viewers_live(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_viewers_counted(void *data, redisReply *reply);


/*
 * KEYS: viewers:hls:<name>, viewers:hls:<name>:views
 * ARGV: now is Redis's; the session; ttl ms of the keys
 */

static const char  ngx_http_twitch_viewers_seen_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "redis.call('ZADD', KEYS[1], now, ARGV[1]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "redis.call('PFADD', KEYS[2], ARGV[1]) "
    "redis.call('PEXPIRE', KEYS[2], 86400000) "
    "return 1";

/*
 * KEYS: viewers:hls:<name>, viewers:hls:<name>:views,
 *       viewers:chat:<id>:workers, viewers:chat:<id>
 * ARGV: window ms, ttl ms, "max" or "add"
 * Returns {total, distinct sessions, HLS sessions, chat connections}.
 */

static const char  ngx_http_twitch_viewers_count_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local ttl = tonumber(ARGV[2]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', "
    "           now - tonumber(ARGV[1])) "
    "local hls = redis.call('ZCARD', KEYS[1]) "
    "local chat = 0 "
    "local all = redis.call('HGETALL', KEYS[3]) "
    "for i = 1, #all, 2 do "
    "  if all[i] ~= '0:0' and string.match(all[i], '^%x+:%d+$') then "
    "    local n, e = string.match(all[i + 1], '^(%d+):(%d+)$') "
    "    if n ~= nil and tonumber(e) >= now then chat = chat + tonumber(n) end "
    "  end "
    "end "
    "local mine = hls "
    "if ARGV[3] == 'max' then mine = math.max(0, hls - chat) end "
    "if mine > 0 then "
    "  redis.call('HSET', KEYS[3], '0:0', mine .. ':' .. (now + ttl)) "
    "  if redis.call('PTTL', KEYS[3]) < ttl then "
    "    redis.call('PEXPIRE', KEYS[3], ttl) end "
    "else "
    "  redis.call('HDEL', KEYS[3], '0:0') "
    "end "
    "local total = chat + mine "
    "redis.call('SET', KEYS[4], total, 'PX', ttl) "
    "return {total, redis.call('PFCOUNT', KEYS[2]), hls, chat}";


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_viewers_live_stmt = {
    "viewers_live",
    "SELECT c.id, lower(c.name), s.id FROM channels c"
    " JOIN streams s ON s.channel_id = c.id AND s.ended_at IS NULL"
    " WHERE c.is_live",
    0, 0
};

/* $1 channel, $2 viewers, $3 broadcast, $4 distinct sessions */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_viewers_store_stmt = {
    "viewers_store",
    "WITH c AS (UPDATE channels SET current_viewers = $2::integer"
    "            WHERE id = $1::bigint AND is_live"
    "              AND current_viewers <> $2::integer RETURNING id)"
    " UPDATE streams"
    "    SET peak_viewers = greatest(peak_viewers, $2::integer),"
    "        total_views = greatest(total_views, $4::bigint)"
    "  WHERE id = $3::bigint AND ended_at IS NULL"
    "    AND (peak_viewers < $2::integer OR total_views < $4::bigint)",
    4, 0
};


/* access phase: master playlists hand out a session cookie */

ngx_int_t
ngx_http_twitch_viewers_access(ngx_http_request_t *r)
{
    u_char                           *p;
    ngx_str_t                         name, cookie;
    ngx_uint_t                        master;
    ngx_table_elt_t                  *h;
    ngx_http_twitch_live_conf_t      *lcf;
    ngx_http_twitch_live_loc_conf_t  *llcf;
    u_char                            raw[8];

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_twitch_live_module);
    lcf = ngx_http_twitch_live_conf();

    if (!llcf->viewers || lcf == NULL || r != r->main) {
        return NGX_DECLINED;
    }

    if (ngx_http_twitch_viewers_channel(r, lcf, &name, &master) != NGX_OK
        || !master)
    {
        return NGX_DECLINED;
    }

    cookie.len = sizeof(NGX_HTTP_TWITCH_VIEWERS_COOKIE) - 1;
    cookie.data = (u_char *) NGX_HTTP_TWITCH_VIEWERS_COOKIE;

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &cookie,
                                          &name)
        != NGX_DECLINED)
    {
        return NGX_DECLINED;
    }

    /* 64 random bits, as hex; not a secret */

    *(uint32_t *) raw = (uint32_t) ngx_random();
    *(uint32_t *) (raw + 4) = (uint32_t) ngx_random() ^ (uint32_t) ngx_pid;

    p = ngx_pnalloc(r->pool, sizeof(NGX_HTTP_TWITCH_VIEWERS_COOKIE "=")
                             + 16 + sizeof("; Path=/; SameSite=Lax"));
    if (p == NULL) {
        return NGX_DECLINED;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_DECLINED;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = p;

    p = ngx_cpymem(p, NGX_HTTP_TWITCH_VIEWERS_COOKIE "=",
                   sizeof(NGX_HTTP_TWITCH_VIEWERS_COOKIE "=") - 1);
    p = ngx_hex_dump(p, raw, sizeof(raw));
    p = ngx_cpymem(p, "; Path=/; SameSite=Lax",
                   sizeof("; Path=/; SameSite=Lax") - 1);

    h->value.len = p - h->value.data;

    return NGX_DECLINED;
}


/* log phase: a live media playlist was served: its session watches */

ngx_int_t
ngx_http_twitch_viewers_log(ngx_http_request_t *r)
{
    u_char                           *p;
    ngx_str_t                         name;
    ngx_uint_t                        master;
    const char                       *argv[7];
    ngx_http_twitch_live_conf_t      *lcf;
    ngx_http_twitch_live_loc_conf_t  *llcf;
    u_char                            session[80], keys[128];

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_twitch_live_module);
    lcf = ngx_http_twitch_live_conf();

    if (!llcf->viewers || lcf == NULL || r != r->main || lcf->exiting) {
        return NGX_OK;
    }

    if (r->headers_out.status != NGX_HTTP_OK
        && r->headers_out.status != NGX_HTTP_NOT_MODIFIED)
    {
        return NGX_OK;
    }

    if (ngx_http_twitch_viewers_channel(r, lcf, &name, &master) != NGX_OK
        || master)
    {
        return NGX_OK;
    }

    if (ngx_http_twitch_viewers_session(r, session) != NGX_OK) {
        return NGX_OK;
    }

    p = keys;
    argv[0] = "EVAL";
    argv[1] = ngx_http_twitch_viewers_seen_lua;
    argv[2] = "2";
    argv[3] = (const char *) p;
    p = ngx_sprintf(p, "viewers:hls:%V%Z", &name);
    ngx_strlow(keys, keys, p - keys);
    argv[4] = (const char *) p;
    p = ngx_sprintf(p, "viewers:hls:%V:views%Z", &name);
    ngx_strlow((u_char *) argv[4], (u_char *) argv[4],
               p - (u_char *) argv[4]);
    argv[5] = (const char *) session;
    argv[6] = "120000";

    ngx_http_twitch_redis_fire(lcf->tmcf->redis, 7, argv);

    return NGX_OK;
}


/*
 * "<media url><channel>/master.m3u8" (master) or
 * "<media url><channel>/b<broadcast>/<rung>/live.m3u8"
 */

static ngx_int_t
ngx_http_twitch_viewers_channel(ngx_http_request_t *r,
    ngx_http_twitch_live_conf_t *lcf, ngx_str_t *name, ngx_uint_t *master)
{
    u_char  *p, *last, *slash;

    p = r->uri.data;
    last = p + r->uri.len;

    if (r->uri.len <= lcf->media_url.len
        || ngx_strncmp(p, lcf->media_url.data, lcf->media_url.len) != 0)
    {
        return NGX_DECLINED;
    }

    p += lcf->media_url.len;

    slash = ngx_strlchr(p, last, '/');

    if (slash == NULL || slash - p < 3 || slash - p > 25) {
        return NGX_DECLINED;
    }

    name->data = p;
    name->len = slash - p;

    for ( /* void */ ; p < slash; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_'))
        {
            return NGX_DECLINED;
        }
    }

    p = slash + 1;

    if ((size_t) (last - p) == sizeof("master.m3u8") - 1
        && ngx_strncmp(p, "master.m3u8", last - p) == 0)
    {
        *master = 1;
        return NGX_OK;
    }

    /* the broadcast's directory, "b<id>/" */

    if (p < last && *p == 'b') {
        for (slash = p + 1; slash < last && *slash >= '0' && *slash <= '9';
             slash++)
        {
            /* void */
        }

        if (slash > p + 1 && slash < last && *slash == '/') {
            p = slash + 1;
        }
    }

    slash = ngx_strlchr(p, last, '/');

    if (slash == NULL || slash == p || slash - p > 16
        || (size_t) (last - slash) != sizeof("/live.m3u8") - 1
        || ngx_strncmp(slash, "/live.m3u8", last - slash) != 0)
    {
        return NGX_DECLINED;
    }

    *master = 0;

    return NGX_OK;
}


/* the playback session: "v:<arg>", "c:<cookie>" or "a:<md5 addr+UA>" */

static ngx_int_t
ngx_http_twitch_viewers_session(ngx_http_request_t *r, u_char *buf)
{
    u_char     *p;
    size_t      i;
    ngx_md5_t   md5;
    ngx_str_t   v, cookie;
    u_char      hash[16];

    if (ngx_http_arg(r, (u_char *) "v", 1, &v) == NGX_OK
        && v.len >= 8 && v.len <= 64)
    {
        for (i = 0; i < v.len; i++) {
            if (!((v.data[i] >= 'a' && v.data[i] <= 'z')
                  || (v.data[i] >= 'A' && v.data[i] <= 'Z')
                  || (v.data[i] >= '0' && v.data[i] <= '9')
                  || v.data[i] == '_' || v.data[i] == '-'))
            {
                break;
            }
        }

        if (i == v.len) {
            (void) ngx_sprintf(buf, "v:%V%Z", &v);
            return NGX_OK;
        }
    }

    cookie.len = sizeof(NGX_HTTP_TWITCH_VIEWERS_COOKIE) - 1;
    cookie.data = (u_char *) NGX_HTTP_TWITCH_VIEWERS_COOKIE;

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &cookie,
                                          &v)
        != NGX_DECLINED
        && v.len >= 8 && v.len <= 32)
    {
        for (i = 0; i < v.len; i++) {
            if (!((v.data[i] >= 'a' && v.data[i] <= 'f')
                  || (v.data[i] >= '0' && v.data[i] <= '9')))
            {
                break;
            }
        }

        if (i == v.len) {
            (void) ngx_sprintf(buf, "c:%V%Z", &v);
            return NGX_OK;
        }
    }

    ngx_md5_init(&md5);
    ngx_md5_update(&md5, r->connection->addr_text.data,
                   r->connection->addr_text.len);

    if (r->headers_in.user_agent) {
        ngx_md5_update(&md5, "|", 1);
        ngx_md5_update(&md5, r->headers_in.user_agent->value.data,
                       ngx_min(r->headers_in.user_agent->value.len, 512));
    }

    ngx_md5_final(hash, &md5);

    p = ngx_cpymem(buf, "a:", 2);
    p = ngx_hex_dump(p, hash, 8);
    *p = '\0';

    return NGX_OK;
}


/* every interval, in every worker: one of them counts */

void
ngx_http_twitch_viewers_report(ngx_http_twitch_live_conf_t *lcf)
{
    size_t       lens[6];
    ngx_uint_t   i;
    const char  *argv[6];
    u_char       owner[NGX_INT64_LEN * 2 + 2], ttl[NGX_INT64_LEN + 1];

    if (lcf->exiting) {
        return;
    }

    (void) ngx_sprintf(owner, "%V:%P%Z", &lcf->master, ngx_pid);
    (void) ngx_sprintf(ttl, "%M%Z", lcf->viewers_interval - 200);

    argv[0] = "SET";
    argv[1] = "viewers:hls:lock";
    argv[2] = (const char *) owner;
    argv[3] = "NX";
    argv[4] = "PX";
    argv[5] = (const char *) ttl;

    for (i = 0; i < 6; i++) {
        lens[i] = ngx_strlen(argv[i]);
    }

    (void) ngx_http_twitch_redis_command(lcf->tmcf->redis,
                                         ngx_http_twitch_viewers_locked,
                                         lcf, 6, argv, lens);
}


static void
ngx_http_twitch_viewers_locked(void *data, redisReply *reply)
{
    ngx_http_twitch_live_conf_t *lcf = data;

    if (reply == NULL || reply->type != REDIS_REPLY_STATUS || lcf->exiting) {
        return;
    }

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_viewers_live_stmt,
                                    NULL, ngx_http_twitch_viewers_live, lcf,
                                    lcf->log);
}


static void
ngx_http_twitch_viewers_live(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_live_conf_t *lcf = data;

    int                            i, n;
    u_char                        *p;
    size_t                         lens[10];
    ngx_uint_t                     j;
    const char                    *argv[10];
    ngx_http_twitch_viewers_ch_t  *ch;
    u_char                         keys[256], window[NGX_INT64_LEN + 1],
                                   ttl[NGX_INT64_LEN + 1];

    if (rc != NGX_OK || lcf->exiting) {
        return;
    }

    (void) ngx_sprintf(window, "%M%Z", lcf->viewers_window);
    (void) ngx_sprintf(ttl, "%M%Z", ngx_max(3 * lcf->viewers_interval,
                                            3000));

    n = PQntuples(res);

    for (i = 0; i < n; i++) {

        if ((size_t) PQgetlength(res, i, 0) > NGX_INT64_LEN
            || PQgetlength(res, i, 1) > 25
            || (size_t) PQgetlength(res, i, 2) > NGX_INT64_LEN)
        {
            continue;
        }

        ch = ngx_calloc(sizeof(ngx_http_twitch_viewers_ch_t), lcf->log);
        if (ch == NULL) {
            return;
        }

        ch->lcf = lcf;
        ngx_memcpy(ch->channel_id, PQgetvalue(res, i, 0),
                   PQgetlength(res, i, 0));
        ngx_memcpy(ch->stream_id, PQgetvalue(res, i, 2),
                   PQgetlength(res, i, 2));

        p = keys;
        argv[0] = "EVAL";
        argv[1] = ngx_http_twitch_viewers_count_lua;
        argv[2] = "4";
        argv[3] = (const char *) p;
        p = ngx_sprintf(p, "viewers:hls:%s%Z", PQgetvalue(res, i, 1));
        argv[4] = (const char *) p;
        p = ngx_sprintf(p, "viewers:hls:%s:views%Z", PQgetvalue(res, i, 1));
        argv[5] = (const char *) p;
        p = ngx_sprintf(p, "viewers:chat:%s:workers%Z", ch->channel_id);
        argv[6] = (const char *) p;
        p = ngx_sprintf(p, "viewers:chat:%s%Z", ch->channel_id);
        argv[7] = (const char *) window;
        argv[8] = (const char *) ttl;
        argv[9] = (lcf->viewers_chat == NGX_HTTP_TWITCH_LIVE_VIEWERS_ADD)
                  ? "add" : "max";

        for (j = 0; j < 10; j++) {
            lens[j] = ngx_strlen(argv[j]);
        }

        if (ngx_http_twitch_redis_command(lcf->tmcf->redis,
                                          ngx_http_twitch_viewers_counted,
                                          ch, 10, argv, lens)
            == NULL)
        {
            ngx_free(ch);
            return;
        }
    }
}


static void
ngx_http_twitch_viewers_counted(void *data, redisReply *reply)
{
    ngx_http_twitch_viewers_ch_t *ch = data;

    const char                   *params[4];
    ngx_http_twitch_live_conf_t  *lcf;
    u_char                        total[NGX_INT64_LEN + 1],
                                  views[NGX_INT64_LEN + 1];

    lcf = ch->lcf;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 4
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_INTEGER
        || lcf->exiting)
    {
        ngx_free(ch);
        return;
    }

    (void) ngx_sprintf(total, "%L%Z", (int64_t) reply->element[0]->integer);
    (void) ngx_sprintf(views, "%L%Z", (int64_t) reply->element[1]->integer);

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, lcf->log, 0,
                   "twitch viewers: channel %s: %s (hls %L, chat %L), "
                   "%s sessions", ch->channel_id, total,
                   (int64_t) reply->element[2]->integer,
                   (int64_t) reply->element[3]->integer, views);

    params[0] = ch->channel_id;
    params[1] = (const char *) total;
    params[2] = ch->stream_id;
    params[3] = (const char *) views;

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_viewers_store_stmt,
                                    params, NULL, NULL, lcf->log);

    ngx_free(ch);
}
