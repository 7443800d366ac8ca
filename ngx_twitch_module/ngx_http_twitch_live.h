
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * ngx_http_twitch_live_module: live video around nginx-rtmp.  Shared by
 * its files: the configuration, the worker's state and the entry points
 * the module file calls on its timers.
 *
 *   ngx_http_twitch_rtmp.c     nginx-rtmp notify hooks, reconciliation,
 *                              the live:control channel
 *   ngx_http_twitch_transcoder.c  one supervised transcoder per stream
 *   ngx_http_twitch_pattern.c  the server-generated test pattern
 *   ngx_http_twitch_vods.c     VOD rows, retention, GET /api/vods/:id
 *   ngx_http_twitch_clips.c    clips: HLS slices, the MP4 queue, routes
 *   ngx_http_twitch_viewers.c  HLS viewer sessions, viewer counts
 *   ngx_http_twitch_media.c    file work for the thread pool
 *   ngx_http_twitch_task.c     thread pool tasks
 *   ngx_http_twitch_child.c    child processes (ffmpeg, the transcoder)
 *
 * See rtmp-hooks/LIVE.md.
 */


#ifndef _NGX_HTTP_TWITCH_LIVE_H_INCLUDED_
#define _NGX_HTTP_TWITCH_LIVE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include "ngx_http_twitch_module.h"


#define NGX_HTTP_TWITCH_LIVE_VIEWERS_MAX  1
#define NGX_HTTP_TWITCH_LIVE_VIEWERS_ADD  2


typedef struct {
    /* twitch_media_root <dir> [<url prefix>] */
    ngx_str_t                       media_root;     /* no trailing "/" */
    ngx_str_t                       media_url;      /* "/hls/" */
    ngx_str_t                       instance;       /* host name */
    ngx_int_t                       rtmp_worker;    /* -1: every worker */

    ngx_msec_t                      vod_retention;  /* 0: forever */
    ngx_msec_t                      viewers_interval;
    ngx_msec_t                      viewers_window;
    ngx_uint_t                      viewers_chat;

    ngx_array_t                     transcoder;     /* of ngx_str_t */

    ngx_str_t                       ffmpeg;         /* absolute path */
    ngx_str_t                       pattern_url;    /* rtmp://.../live */
    ngx_str_t                       pattern_size;   /* "640x360" */
    ngx_uint_t                      pattern_fps;

    ngx_thread_pool_t              *thread_pool;
    ngx_http_twitch_main_conf_t    *tmcf;

    /* per worker, from init_process */
    ngx_log_t                      *log;
    ngx_str_t                       master;         /* master pid */
    ngx_uint_t                      worker;         /* timers running */
    ngx_uint_t                      exiting;
} ngx_http_twitch_live_conf_t;


typedef struct {
    ngx_str_t                       app;            /* twitch_rtmp_hooks */
    ngx_flag_t                      viewers;        /* twitch_hls_viewers */
} ngx_http_twitch_live_loc_conf_t;


extern ngx_module_t  ngx_http_twitch_live_module;


/* the worker's configuration: NULL unless twitch_media_root is set */
ngx_http_twitch_live_conf_t *ngx_http_twitch_live_conf(void);

/* in the other workers, stops accepting RTMP connections */
void ngx_http_twitch_rtmp_pin(ngx_cycle_t *cycle,
    ngx_http_twitch_live_conf_t *lcf);
/* the content handler of "twitch_rtmp_hooks" */
ngx_int_t ngx_http_twitch_rtmp_handler(ngx_http_request_t *r);
/* a broadcast ended here: its VOD is finalized soon */
void ngx_http_twitch_live_kick_vods(void);
/* a clip waits for its MP4 */
void ngx_http_twitch_live_kick_clips(void);

/* the Redis channel live:control: spawn, end, played, stop messages */
void ngx_http_twitch_rtmp_init(ngx_http_twitch_live_conf_t *lcf);
void ngx_http_twitch_transcoder_spawn(ngx_http_twitch_live_conf_t *lcf,
    ngx_str_t *stream_id, ngx_str_t *session, ngx_str_t *channel);
void ngx_http_twitch_transcoder_end(ngx_http_twitch_live_conf_t *lcf,
    ngx_str_t *session);
void ngx_http_twitch_transcoder_exit(ngx_http_twitch_live_conf_t *lcf);
void ngx_http_twitch_pattern_stop_local(const u_char *stream_id, size_t len);

/* timers of the worker (ngx_http_twitch_live_module.c) call these */
void ngx_http_twitch_rtmp_reconcile(ngx_http_twitch_live_conf_t *lcf,
    ngx_uint_t startup);
void ngx_http_twitch_vods_finalize(ngx_http_twitch_live_conf_t *lcf);
void ngx_http_twitch_vods_expire(ngx_http_twitch_live_conf_t *lcf);
void ngx_http_twitch_clips_queue(ngx_http_twitch_live_conf_t *lcf);
void ngx_http_twitch_pattern_init(ngx_http_twitch_live_conf_t *lcf);
void ngx_http_twitch_pattern_exit(ngx_http_twitch_live_conf_t *lcf);


#endif /* _NGX_HTTP_TWITCH_LIVE_H_INCLUDED_ */
