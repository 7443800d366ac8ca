
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * One transcoder per live stream, supervised for the stream's life
 * ("twitch_transcoder <wrapper> <rtmp app url> <log dir> [options]").
 *
 * The RTMP worker ("twitch_rtmp_worker", where nginx-rtmp holds every
 * stream) starts it when the publish hook asks (Redis live:control
 * "spawn <broadcast> <session> <channel>"), before the publisher is let
 * in: the transcoder's play waits for the stream (idle_streams on) and
 * gets it from its first keyframe, so the first segment is complete two
 * seconds later.  The wrapper (rtmp-hooks/twitch_live.sh) restarts a
 * crashed transcoder with the same broadcast id (the playlists continue
 * after an EXT-X-DISCONTINUITY); this file starts the wrapper again when
 * it ends while its broadcast is still live on that session, and stops
 * it (SIGTERM: the playlists get EXT-X-ENDLIST) when the publish ends
 * ("end <session>"), or with the worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_twitch_live.h"
#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_child.h"


#define NGX_HTTP_TWITCH_TRANSCODER_RESPAWN   1000
#define NGX_HTTP_TWITCH_TRANSCODER_BURST     5
#define NGX_HTTP_TWITCH_TRANSCODER_MAX_ARGS  32


typedef struct {
    ngx_queue_t                     queue;
    ngx_http_twitch_live_conf_t    *lcf;
    ngx_http_twitch_child_t        *child;
    ngx_event_t                     respawn;
    ngx_uint_t                      ended;
    ngx_uint_t                      checking;
    ngx_uint_t                      starts;
    ngx_msec_t                      since;
    char                            stream_id[NGX_INT64_LEN + 1];
    char                            session[2 * NGX_INT64_LEN + 2];
    u_char                          channel[32];
} ngx_http_twitch_transcoder_t;


static ngx_int_t ngx_http_twitch_transcoder_run(
    ngx_http_twitch_transcoder_t *tc);
static void ngx_http_twitch_transcoder_ended(void *data, ngx_int_t status);
static void ngx_http_twitch_transcoder_respawn(ngx_event_t *ev);
static void ngx_http_twitch_transcoder_checked(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_transcoder_free(ngx_http_twitch_transcoder_t *tc);


static ngx_queue_t  ngx_http_twitch_transcoders;
static ngx_uint_t   ngx_http_twitch_transcoders_init;


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_transcoder_live_stmt = {
    "transcoder_live",
    "SELECT 1 FROM streams WHERE id = $1::bigint AND ended_at IS NULL"
    " AND ingest_host = $2 AND ingest_session = $3",
    3, 0
};


void
ngx_http_twitch_transcoder_spawn(ngx_http_twitch_live_conf_t *lcf,
    ngx_str_t *stream_id, ngx_str_t *session, ngx_str_t *channel)
{
    ngx_queue_t                   *q;
    ngx_http_twitch_transcoder_t  *tc;

    if (lcf->transcoder.nelts == 0 || lcf->exiting || ngx_exiting
        || stream_id->len > NGX_INT64_LEN
        || session->len >= 2 * NGX_INT64_LEN + 2
        || channel->len < 3 || channel->len > 25)
    {
        return;
    }

    if (!ngx_http_twitch_transcoders_init) {
        ngx_queue_init(&ngx_http_twitch_transcoders);
        ngx_http_twitch_transcoders_init = 1;
    }

    for (q = ngx_queue_head(&ngx_http_twitch_transcoders);
         q != ngx_queue_sentinel(&ngx_http_twitch_transcoders);
         q = ngx_queue_next(q))
    {
        tc = ngx_queue_data(q, ngx_http_twitch_transcoder_t, queue);

        if (tc->ended) {
            continue;
        }

        if (ngx_strlen(tc->session) == session->len
            && ngx_strncmp(tc->session, session->data, session->len) == 0)
        {
            /* the same publish, asked twice */
            return;
        }

        if (ngx_strlen(tc->channel) == channel->len
            && ngx_strncasecmp(tc->channel, channel->data, channel->len)
               == 0)
        {
            /* the channel's previous publisher is gone */
            tc->ended = 1;

            if (tc->child) {
                ngx_http_twitch_child_stop(tc->child);
            }
        }
    }

    tc = ngx_calloc(sizeof(ngx_http_twitch_transcoder_t), lcf->log);
    if (tc == NULL) {
        return;
    }

    tc->lcf = lcf;
    ngx_memcpy(tc->stream_id, stream_id->data, stream_id->len);
    ngx_memcpy(tc->session, session->data, session->len);
    ngx_memcpy(tc->channel, channel->data, channel->len);
    tc->since = ngx_current_msec;

    tc->respawn.handler = ngx_http_twitch_transcoder_respawn;
    tc->respawn.data = tc;
    tc->respawn.log = lcf->log;
    tc->respawn.cancelable = 1;

    ngx_queue_insert_tail(&ngx_http_twitch_transcoders, &tc->queue);

    if (ngx_http_twitch_transcoder_run(tc) != NGX_OK) {
        ngx_queue_remove(&tc->queue);
        ngx_free(tc);
    }
}


static ngx_int_t
ngx_http_twitch_transcoder_run(ngx_http_twitch_transcoder_t *tc)
{
    char                         *argv[NGX_HTTP_TWITCH_TRANSCODER_MAX_ARGS];
    ngx_str_t                    *a;
    ngx_uint_t                    i, n;
    ngx_http_twitch_live_conf_t  *lcf;
    u_char                        root[NGX_MAX_PATH];

    lcf = tc->lcf;
    a = lcf->transcoder.elts;

    if (lcf->media_root.len >= NGX_MAX_PATH
        || lcf->transcoder.nelts + 4 >= NGX_HTTP_TWITCH_TRANSCODER_MAX_ARGS)
    {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(root, "%V%Z", &lcf->media_root);

    /* <wrapper> <channel> <broadcast> <rtmp url> <media> <logs> [opts] */

    n = 0;
    argv[n++] = (char *) a[0].data;
    argv[n++] = (char *) tc->channel;
    argv[n++] = tc->stream_id;
    argv[n++] = (char *) a[1].data;
    argv[n++] = (char *) root;

    for (i = 2; i < lcf->transcoder.nelts; i++) {
        argv[n++] = (char *) a[i].data;
    }

    argv[n] = NULL;

    tc->child = ngx_http_twitch_child_spawn((char *) a[0].data, argv, NULL,
                                            ngx_http_twitch_transcoder_ended,
                                            tc, lcf->log);
    if (tc->child == NULL) {
        return NGX_ERROR;
    }

    tc->starts++;

    ngx_log_error(NGX_LOG_INFO, lcf->log, 0,
                  "twitch transcoder: started for \"%s\", broadcast %s",
                  tc->channel, tc->stream_id);

    return NGX_OK;
}


static void
ngx_http_twitch_transcoder_ended(void *data, ngx_int_t status)
{
    ngx_http_twitch_transcoder_t *tc = data;

    ngx_msec_t                    delay;
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = tc->lcf;
    tc->child = NULL;

    if (tc->ended || lcf->exiting) {
        ngx_log_error(NGX_LOG_INFO, lcf->log, 0,
                      "twitch transcoder: \"%s\" done (broadcast %s)",
                      tc->channel, tc->stream_id);
        ngx_http_twitch_transcoder_free(tc);
        return;
    }

    /* a crash loop backs off: 1 s, then 10 s after a burst */

    if (ngx_current_msec - tc->since > 60000) {
        tc->since = ngx_current_msec;
        tc->starts = 0;
    }

    delay = (tc->starts < NGX_HTTP_TWITCH_TRANSCODER_BURST)
            ? NGX_HTTP_TWITCH_TRANSCODER_RESPAWN : 10000;

    ngx_log_error(NGX_LOG_WARN, lcf->log, 0,
                  "twitch transcoder: \"%s\" exited (status %i) while "
                  "broadcast %s may be live: checking in %M ms",
                  tc->channel, status, tc->stream_id, delay);

    ngx_add_timer(&tc->respawn, delay);
}


static void
ngx_http_twitch_transcoder_respawn(ngx_event_t *ev)
{
    ngx_http_twitch_transcoder_t *tc = ev->data;

    const char                   *params[3];
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = tc->lcf;

    if (tc->ended || lcf->exiting) {
        ngx_http_twitch_transcoder_free(tc);
        return;
    }

    /* only while the broadcast is still fed by this publisher */

    params[0] = tc->stream_id;
    params[1] = (const char *) lcf->instance.data;
    params[2] = tc->session;

    tc->checking = 1;

    if (ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                 &ngx_http_twitch_transcoder_live_stmt,
                                 params, ngx_http_twitch_transcoder_checked,
                                 tc, lcf->log)
        == NULL)
    {
        tc->checking = 0;
        ngx_add_timer(&tc->respawn, 5000);
    }
}


static void
ngx_http_twitch_transcoder_checked(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_transcoder_t *tc = data;

    tc->checking = 0;

    if (tc->ended || tc->lcf->exiting) {
        ngx_http_twitch_transcoder_free(tc);
        return;
    }

    if (rc != NGX_OK) {
        ngx_add_timer(&tc->respawn, 5000);
        return;
    }

    if (PQntuples(res) != 1) {
        ngx_log_error(NGX_LOG_INFO, tc->lcf->log, 0,
                      "twitch transcoder: broadcast %s of \"%s\" is over",
                      tc->stream_id, tc->channel);
        ngx_http_twitch_transcoder_free(tc);
        return;
    }

    if (ngx_http_twitch_transcoder_run(tc) != NGX_OK) {
        ngx_add_timer(&tc->respawn, 5000);
    }
}


/* "end <session>": the publish is over */

void
ngx_http_twitch_transcoder_end(ngx_http_twitch_live_conf_t *lcf,
    ngx_str_t *session)
{
    ngx_queue_t                   *q, *next;
    ngx_http_twitch_transcoder_t  *tc;

    if (!ngx_http_twitch_transcoders_init) {
        return;
    }

    for (q = ngx_queue_head(&ngx_http_twitch_transcoders);
         q != ngx_queue_sentinel(&ngx_http_twitch_transcoders);
         q = next)
    {
        next = ngx_queue_next(q);
        tc = ngx_queue_data(q, ngx_http_twitch_transcoder_t, queue);

        if (tc->ended || ngx_strlen(tc->session) != session->len
            || ngx_strncmp(tc->session, session->data, session->len) != 0)
        {
            continue;
        }

        tc->ended = 1;

        if (tc->child) {
            ngx_log_error(NGX_LOG_INFO, lcf->log, 0,
                          "twitch transcoder: stopping \"%s\" (broadcast %s)",
                          tc->channel, tc->stream_id);
            ngx_http_twitch_child_stop(tc->child);

        } else if (!tc->checking) {
            ngx_http_twitch_transcoder_free(tc);
        }
    }
}


/* the worker exits: the wrappers were stopped with every child */

void
ngx_http_twitch_transcoder_exit(ngx_http_twitch_live_conf_t *lcf)
{
    ngx_queue_t                   *q;
    ngx_http_twitch_transcoder_t  *tc;

    if (!ngx_http_twitch_transcoders_init) {
        return;
    }

    for (q = ngx_queue_head(&ngx_http_twitch_transcoders);
         q != ngx_queue_sentinel(&ngx_http_twitch_transcoders);
         q = ngx_queue_next(q))
    {
        tc = ngx_queue_data(q, ngx_http_twitch_transcoder_t, queue);
        tc->ended = 1;

        if (tc->respawn.timer_set) {
            ngx_del_timer(&tc->respawn);
        }
    }
}


static void
ngx_http_twitch_transcoder_free(ngx_http_twitch_transcoder_t *tc)
{
    if (tc->respawn.timer_set) {
        ngx_del_timer(&tc->respawn);
    }

    ngx_queue_remove(&tc->queue);
    ngx_free(tc);
}
