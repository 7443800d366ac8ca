
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * The server-generated test pattern, for people without OBS:
 * POST /api/streams/start publishes testsrc2 with a tone (ffmpeg, x264 +
 * AAC, "-re") with the caller's stream key to the RTMP ingest named by
 * "twitch_test_pattern", so through the same hooks, transcoder and HLS
 * as OBS; POST /api/streams/stop stops it.
 *
 * ffmpeg is a child of the worker that served the start (through the
 * supervisor of ngx_http_twitch_child.c): the stop may reach another
 * worker or instance, so it is published on the Redis channel
 * live:control ("stop <broadcast id>") to which every worker listens
 * (ngx_http_twitch_rtmp.c).
 * A worker that exits stops its publishers; they die with it anyway.
 * ffmpeg's output is discarded: its messages name the RTMP URL, which
 * holds the key.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_twitch_live.h"
#include "ngx_http_twitch_rtmp.h"
#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_redis.h"
#include "ngx_http_twitch_child.h"


#define NGX_HTTP_TWITCH_PATTERN_CONTROL  "live:control"


typedef struct {
    ngx_queue_t                     queue;
    ngx_http_twitch_live_conf_t    *lcf;
    ngx_http_twitch_child_t        *child;
    ngx_uint_t                      running;
    char                            channel_id[NGX_INT64_LEN + 1];
    char                            stream_id[NGX_INT64_LEN + 1];
} ngx_http_twitch_pattern_t;


static void ngx_http_twitch_pattern_key(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_pattern_ended(void *data, ngx_int_t status);
static ngx_uint_t ngx_http_twitch_pattern_id(const char *s);


static ngx_queue_t   ngx_http_twitch_patterns;
static ngx_uint_t    ngx_http_twitch_patterns_init;


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_pattern_key_stmt = {
    "pattern_key",
    "SELECT c.stream_key FROM channels c"
    " JOIN streams s ON s.channel_id = c.id AND s.ended_at IS NULL"
    " WHERE c.id = $1::bigint AND s.id = $2::bigint",
    2, 0
};


void
ngx_http_twitch_pattern_init(ngx_http_twitch_live_conf_t *lcf)
{
    ngx_queue_init(&ngx_http_twitch_patterns);
    ngx_http_twitch_patterns_init = 1;
}


void
ngx_http_twitch_pattern_exit(ngx_http_twitch_live_conf_t *lcf)
{
    /* the test patterns and clip remuxes of this worker */
    ngx_http_twitch_child_stop_all();
}


void
ngx_http_twitch_rtmp_pattern_start(ngx_log_t *log, const char *channel_id,
    const char *stream_id)
{
    const char                   *params[2];
    ngx_http_twitch_pattern_t    *pt;
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = ngx_http_twitch_live_conf();

    if (lcf == NULL || lcf->pattern_url.len == 0 || lcf->exiting
        || !ngx_http_twitch_pattern_id(channel_id)
        || !ngx_http_twitch_pattern_id(stream_id))
    {
        return;
    }

    pt = ngx_calloc(sizeof(ngx_http_twitch_pattern_t), log);
    if (pt == NULL) {
        return;
    }

    pt->lcf = lcf;
    ngx_cpystrn((u_char *) pt->channel_id, (u_char *) channel_id,
                sizeof(pt->channel_id));
    ngx_cpystrn((u_char *) pt->stream_id, (u_char *) stream_id,
                sizeof(pt->stream_id));

    ngx_queue_insert_tail(&ngx_http_twitch_patterns, &pt->queue);

    params[0] = pt->channel_id;
    params[1] = pt->stream_id;

    if (ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                 &ngx_http_twitch_pattern_key_stmt, params,
                                 ngx_http_twitch_pattern_key, pt, lcf->log)
        == NULL)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "twitch pattern: broadcast %s: the database is "
                      "unavailable", stream_id);
        ngx_queue_remove(&pt->queue);
        ngx_free(pt);
    }
}


static void
ngx_http_twitch_pattern_key(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_pattern_t *pt = data;

    size_t                        len;
    char                         *argv[40];
    ngx_uint_t                    n;
    ngx_http_twitch_live_conf_t  *lcf;
    u_char                        src[128], url[512], gop[16];

    lcf = pt->lcf;

    if (rc != NGX_OK || PQntuples(res) != 1 || lcf->exiting) {
        ngx_log_error(NGX_LOG_WARN, lcf->log, 0,
                      "twitch pattern: broadcast %s ended before its test "
                      "pattern started", pt->stream_id);
        ngx_queue_remove(&pt->queue);
        ngx_free(pt);
        return;
    }

    len = PQgetlength(res, 0, 0);

    if (len > 128 || lcf->pattern_url.len + len + 2 > sizeof(url)) {
        ngx_queue_remove(&pt->queue);
        ngx_free(pt);
        return;
    }

    (void) ngx_sprintf(src, "testsrc2=size=%V:rate=%ui%Z",
                       &lcf->pattern_size, lcf->pattern_fps);
    (void) ngx_sprintf(gop, "%ui%Z", 2 * lcf->pattern_fps);
    (void) ngx_sprintf(url, "%V/%*s%Z", &lcf->pattern_url, len,
                       PQgetvalue(res, 0, 0));

    n = 0;
    argv[n++] = "ffmpeg";
    argv[n++] = "-nostdin";
    argv[n++] = "-hide_banner";
    argv[n++] = "-loglevel";
    argv[n++] = "quiet";
    argv[n++] = "-re";
    argv[n++] = "-f";
    argv[n++] = "lavfi";
    argv[n++] = "-i";
    argv[n++] = (char *) src;
    argv[n++] = "-f";
    argv[n++] = "lavfi";
    argv[n++] = "-i";
    argv[n++] = "sine=frequency=440:beep_factor=2:sample_rate=48000";
    argv[n++] = "-c:v";
    argv[n++] = "libx264";
    argv[n++] = "-preset";
    argv[n++] = "ultrafast";
    argv[n++] = "-tune";
    argv[n++] = "zerolatency";
    argv[n++] = "-pix_fmt";
    argv[n++] = "yuv420p";
    argv[n++] = "-g";
    argv[n++] = (char *) gop;
    argv[n++] = "-keyint_min";
    argv[n++] = (char *) gop;
    argv[n++] = "-sc_threshold";
    argv[n++] = "0";
    argv[n++] = "-b:v";
    argv[n++] = "800k";
    argv[n++] = "-c:a";
    argv[n++] = "aac";
    argv[n++] = "-b:a";
    argv[n++] = "96k";
    argv[n++] = "-f";
    argv[n++] = "flv";
    argv[n++] = (char *) url;
    argv[n] = NULL;

    /* the arguments are copied by fork(): url is wiped right after */

    pt->child = ngx_http_twitch_child_spawn((char *) lcf->ffmpeg.data, argv,
                                            NULL,
                                            ngx_http_twitch_pattern_ended,
                                            pt, lcf->log);

    explicit_bzero(url, sizeof(url));

    if (pt->child == NULL) {
        ngx_queue_remove(&pt->queue);
        ngx_free(pt);
        return;
    }

    pt->running = 1;

    ngx_log_error(NGX_LOG_INFO, lcf->log, 0,
                  "twitch pattern: publishing a test pattern for broadcast "
                  "%s of channel %s", pt->stream_id, pt->channel_id);
}


static void
ngx_http_twitch_pattern_ended(void *data, ngx_int_t status)
{
    ngx_http_twitch_pattern_t *pt = data;

    ngx_log_error(NGX_LOG_INFO, pt->lcf->log, 0,
                  "twitch pattern: the test pattern of broadcast %s ended "
                  "(status %i)", pt->stream_id, status);

    ngx_queue_remove(&pt->queue);
    ngx_free(pt);
}


void
ngx_http_twitch_rtmp_pattern_stop(ngx_log_t *log, const char *stream_id)
{
    size_t                        len;
    const char                   *argv[3];
    u_char                        msg[NGX_INT64_LEN + 8];
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = ngx_http_twitch_live_conf();

    if (lcf == NULL || lcf->pattern_url.len == 0
        || !ngx_http_twitch_pattern_id(stream_id))
    {
        return;
    }

    len = ngx_strlen(stream_id);

    ngx_http_twitch_pattern_stop_local((u_char *) stream_id, len);

    /* the publisher may run in another worker or instance */

    (void) ngx_sprintf(msg, "stop %s%Z", stream_id);

    argv[0] = "PUBLISH";
    argv[1] = NGX_HTTP_TWITCH_PATTERN_CONTROL;
    argv[2] = (const char *) msg;

    ngx_http_twitch_redis_fire(lcf->tmcf->redis, 3, argv);
}


/* "stop <broadcast>" on live:control (ngx_http_twitch_rtmp.c) */

void
ngx_http_twitch_pattern_stop_local(const u_char *stream_id, size_t len)
{
    ngx_queue_t                *q;
    ngx_http_twitch_pattern_t  *pt;

    if (!ngx_http_twitch_patterns_init) {
        return;
    }

    for (q = ngx_queue_head(&ngx_http_twitch_patterns);
         q != ngx_queue_sentinel(&ngx_http_twitch_patterns);
         q = ngx_queue_next(q))
    {
        pt = ngx_queue_data(q, ngx_http_twitch_pattern_t, queue);

        if (pt->running && ngx_strlen(pt->stream_id) == len
            && ngx_strncmp(pt->stream_id, stream_id, len) == 0)
        {
            ngx_log_error(NGX_LOG_INFO, pt->lcf->log, 0,
                          "twitch pattern: stopping the test pattern of "
                          "broadcast %s", pt->stream_id);
            pt->running = 0;
            ngx_http_twitch_child_stop(pt->child);
        }
    }
}


static ngx_uint_t
ngx_http_twitch_pattern_id(const char *s)
{
    size_t  i;

    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= NGX_INT64_LEN - 1) {
            return 0;
        }
    }

    return i > 0;
}
