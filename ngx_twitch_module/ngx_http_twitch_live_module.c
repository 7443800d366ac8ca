
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * ngx_http_twitch_live_module: the directives of live video (RTMP hooks,
 * media files, VOD retention, viewer counts, the test pattern) and the
 * worker timers that keep the broadcast records, VODs, clips and viewer
 * counts right.  Built into ngx_http_twitch_module.so, after
 * ngx_http_twitch_module, whose PostgreSQL pool and Redis connections it
 * uses.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_live.h"
#include "ngx_http_twitch_viewers.h"


#define NGX_HTTP_TWITCH_LIVE_RECONCILE  15000
#define NGX_HTTP_TWITCH_LIVE_VODS       5000
#define NGX_HTTP_TWITCH_LIVE_EXPIRE     60000
#define NGX_HTTP_TWITCH_LIVE_CLIPS      15000


typedef struct {
    ngx_event_t                    reconcile;
    ngx_event_t                    vods;
    ngx_event_t                    expire;
    ngx_event_t                    viewers;
    ngx_event_t                    clips;
    ngx_uint_t                     reconciled;
    ngx_uint_t                     periodic;
} ngx_http_twitch_live_timers_t;


static void *ngx_http_twitch_live_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_twitch_live_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_twitch_live_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_twitch_live_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_twitch_live_media_root(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_twitch_live_retention(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_twitch_live_viewers_chat(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_twitch_live_ffmpeg(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_live_pattern(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_live_hooks(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_live_transcoder(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_twitch_live_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_twitch_live_init_process(ngx_cycle_t *cycle);
static void ngx_http_twitch_live_exit_process(ngx_cycle_t *cycle);
static void ngx_http_twitch_live_timer(ngx_event_t *ev,
    ngx_event_handler_pt handler, ngx_msec_t delay);
static void ngx_http_twitch_live_reconcile_handler(ngx_event_t *ev);
static void ngx_http_twitch_live_vods_handler(ngx_event_t *ev);
static void ngx_http_twitch_live_expire_handler(ngx_event_t *ev);
static void ngx_http_twitch_live_viewers_handler(ngx_event_t *ev);
static void ngx_http_twitch_live_clips_handler(ngx_event_t *ev);
static void ngx_http_twitch_live_rearm(ngx_event_t *ev, ngx_msec_t delay);


static ngx_http_twitch_live_conf_t    *ngx_http_twitch_live_worker_conf;
static ngx_http_twitch_live_timers_t   ngx_http_twitch_live_timers;


static ngx_conf_enum_t  ngx_http_twitch_live_chat_modes[] = {
    { ngx_string("max"), NGX_HTTP_TWITCH_LIVE_VIEWERS_MAX },
    { ngx_string("add"), NGX_HTTP_TWITCH_LIVE_VIEWERS_ADD },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_twitch_live_commands[] = {

    { ngx_string("twitch_media_root"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_twitch_live_media_root,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_rtmp_worker"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_live_conf_t, rtmp_worker),
      NULL },

    { ngx_string("twitch_live_instance"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_live_conf_t, instance),
      NULL },

    { ngx_string("twitch_vod_retention"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_twitch_live_retention,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_viewers_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_live_conf_t, viewers_interval),
      NULL },

    { ngx_string("twitch_viewers_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_live_conf_t, viewers_window),
      NULL },

    { ngx_string("twitch_viewers_chat"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_twitch_live_viewers_chat,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_live_conf_t, viewers_chat),
      &ngx_http_twitch_live_chat_modes },

    { ngx_string("twitch_ffmpeg"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_twitch_live_ffmpeg,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_test_pattern"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_twitch_live_pattern,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_transcoder"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_twitch_live_transcoder,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_rtmp_hooks"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_twitch_live_hooks,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_hls_viewers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_twitch_live_loc_conf_t, viewers),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_twitch_live_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_twitch_live_postconfiguration, /* postconfiguration */

    ngx_http_twitch_live_create_main_conf, /* create main configuration */
    ngx_http_twitch_live_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_twitch_live_create_loc_conf,  /* create location configuration */
    ngx_http_twitch_live_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_twitch_live_module = {
    NGX_MODULE_V1,
    &ngx_http_twitch_live_module_ctx,      /* module context */
    ngx_http_twitch_live_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_twitch_live_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_twitch_live_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_twitch_live_conf_t *
ngx_http_twitch_live_conf(void)
{
    return ngx_http_twitch_live_worker_conf;
}


static void *
ngx_http_twitch_live_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twitch_live_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->media_root = { 0, NULL };
     *     lcf->media_url = { 0, NULL };
     *     lcf->instance = { 0, NULL };
     *     lcf->ffmpeg = { 0, NULL };
     *     lcf->pattern_url = { 0, NULL };
     *     lcf->pattern_size = { 0, NULL };
     *     lcf->thread_pool = NULL;
     */

    lcf->rtmp_worker = NGX_CONF_UNSET;
    lcf->vod_retention = NGX_CONF_UNSET_MSEC;
    lcf->viewers_interval = NGX_CONF_UNSET_MSEC;
    lcf->viewers_window = NGX_CONF_UNSET_MSEC;
    lcf->viewers_chat = NGX_CONF_UNSET_UINT;
    lcf->pattern_fps = NGX_CONF_UNSET_UINT;

    return lcf;
}


static char *
ngx_http_twitch_live_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_twitch_live_conf_t *lcf = conf;

    /* 14 days, as Twitch keeps past broadcasts */
    ngx_conf_init_msec_value(lcf->vod_retention, 14 * 86400 * 1000);
    ngx_conf_init_msec_value(lcf->viewers_interval, 5000);
    ngx_conf_init_msec_value(lcf->viewers_window, 20000);
    ngx_conf_init_uint_value(lcf->viewers_chat,
                             NGX_HTTP_TWITCH_LIVE_VIEWERS_MAX);
    ngx_conf_init_uint_value(lcf->pattern_fps, 30);
    ngx_conf_init_value(lcf->rtmp_worker, -1);

    if (lcf->ffmpeg.len == 0) {
        ngx_str_set(&lcf->ffmpeg, "/usr/bin/ffmpeg");
    }

    if (lcf->instance.len == 0) {
        /* the host name, NUL-terminated: a query parameter */
        lcf->instance.data = ngx_pnalloc(cf->pool,
                                         cf->cycle->hostname.len + 1);
        if (lcf->instance.data == NULL) {
            return NGX_CONF_ERROR;
        }

        lcf->instance.len = cf->cycle->hostname.len;
        ngx_memcpy(lcf->instance.data, cf->cycle->hostname.data,
                   lcf->instance.len);
        lcf->instance.data[lcf->instance.len] = '\0';
    }

    if (lcf->instance.len == 0 || lcf->instance.len > 200) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"twitch_live_instance\" must be 1 to 200 "
                           "bytes");
        return NGX_CONF_ERROR;
    }

    if (lcf->viewers_interval < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"twitch_viewers_interval\" must be at least 1s");
        return NGX_CONF_ERROR;
    }

    if (lcf->viewers_window < lcf->viewers_interval) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"twitch_viewers_window\" must not be shorter "
                           "than \"twitch_viewers_interval\"");
        return NGX_CONF_ERROR;
    }

    if (lcf->media_root.len == 0) {
        return NGX_CONF_OK;
    }

    lcf->tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_twitch_module);

    if (lcf->tmcf->pg_conninfo.len == 0
        || (lcf->tmcf->redis_host.len == 0 && lcf->tmcf->redis_unix.len == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"twitch_media_root\" requires "
                           "\"twitch_postgres\" and \"twitch_redis\"");
        return NGX_CONF_ERROR;
    }

    /* file work and clip slicing run in the "default" thread pool */

    lcf->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (lcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_twitch_live_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_twitch_live_loc_conf_t  *llcf;

    llcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twitch_live_loc_conf_t));
    if (llcf == NULL) {
        return NULL;
    }

    llcf->viewers = NGX_CONF_UNSET;

    return llcf;
}


static char *
ngx_http_twitch_live_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_twitch_live_loc_conf_t *prev = parent;
    ngx_http_twitch_live_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->viewers, prev->viewers, 0);

    return NGX_CONF_OK;
}


/* twitch_media_root <dir> [<url prefix>] */

static char *
ngx_http_twitch_live_media_root(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_twitch_live_conf_t *lcf = conf;

    ngx_str_t  *value;

    if (lcf->media_root.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    lcf->media_root = value[1];

    if (ngx_conf_full_name(cf->cycle, &lcf->media_root, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    while (lcf->media_root.len > 1
           && lcf->media_root.data[lcf->media_root.len - 1] == '/')
    {
        lcf->media_root.len--;
    }

    if (lcf->media_root.len > 512) {
        return "takes a directory of at most 512 bytes";
    }

    ngx_str_set(&lcf->media_url, "/hls/");

    if (cf->args->nelts == 3) {
        lcf->media_url = value[2];

        if (lcf->media_url.len < 2 || lcf->media_url.len > 64
            || lcf->media_url.data[0] != '/'
            || lcf->media_url.data[lcf->media_url.len - 1] != '/')
        {
            return "takes a URL prefix that starts and ends with \"/\"";
        }
    }

    return NGX_CONF_OK;
}


/* twitch_vod_retention <time> | off */

static char *
ngx_http_twitch_live_retention(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_twitch_live_conf_t *lcf = conf;

    ngx_str_t  *value;

    if (lcf->vod_retention != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->vod_retention = 0;
        return NGX_CONF_OK;
    }

    lcf->vod_retention = ngx_parse_time(&value[1], 0);

    if (lcf->vod_retention == (ngx_msec_t) NGX_ERROR
        || lcf->vod_retention == 0)
    {
        return "takes a time such as \"14d\", or \"off\"";
    }

    return NGX_CONF_OK;
}


/* twitch_viewers_chat max | add (ngx_conf_set_enum_slot's error would
 * not name the directive) */

static char *
ngx_http_twitch_live_viewers_chat(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_twitch_live_conf_t *lcf = conf;

    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    if (lcf->viewers_chat != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = cmd->post; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcmp(e->name.data, value[1].data) == 0)
        {
            lcf->viewers_chat = e->value;
            return NGX_CONF_OK;
        }
    }

    return "takes \"max\" or \"add\"";
}


/* twitch_ffmpeg <absolute path> */

static char *
ngx_http_twitch_live_ffmpeg(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_live_conf_t *lcf = conf;

    ngx_str_t  *value;

    if (lcf->ffmpeg.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].data[0] != '/') {
        return "takes an absolute path";
    }

    lcf->ffmpeg = value[1];

    return NGX_CONF_OK;
}


/* twitch_test_pattern rtmp://127.0.0.1:1935/live [WxH] [fps] */

static char *
ngx_http_twitch_live_pattern(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_live_conf_t *lcf = conf;

    u_char     *p, *last;
    ngx_int_t   n;
    ngx_str_t  *value;

    if (lcf->pattern_url.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len < sizeof("rtmp://") || value[1].len > 200
        || ngx_strncmp(value[1].data, "rtmp://", 7) != 0
        || value[1].data[value[1].len - 1] == '/')
    {
        return "takes the RTMP URL of the application, "
               "like rtmp://127.0.0.1:1935/live";
    }

    lcf->pattern_url = value[1];
    ngx_str_set(&lcf->pattern_size, "640x360");

    if (cf->args->nelts >= 3) {
        p = value[2].data;
        last = p + value[2].len;

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

        if (p == value[2].data || p == last || *p != 'x' || p + 1 == last
            || ngx_atoi(value[2].data, p - value[2].data) > 4096
            || ngx_atoi(p + 1, last - p - 1) == NGX_ERROR
            || ngx_atoi(p + 1, last - p - 1) > 4096
            || value[2].len > 9)
        {
            return "takes a picture size like 640x360";
        }

        lcf->pattern_size = value[2];
    }

    if (cf->args->nelts == 4) {
        n = ngx_atoi(value[3].data, value[3].len);

        if (n < 1 || n > 60) {
            return "takes a frame rate from 1 to 60";
        }

        lcf->pattern_fps = n;
    }

    return NGX_CONF_OK;
}


/*
 * twitch_transcoder <program> <rtmp application url> [<log dir>]
 *                   [<options>...]: the per-stream transcoder supervisor
 * (rtmp-hooks/twitch_live.sh), run as
 *   <program> <channel> <broadcast> <rtmp url> <media root> [<log dir>]
 *             [<options>...]
 */

static char *
ngx_http_twitch_live_transcoder(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_twitch_live_conf_t *lcf = conf;

    ngx_str_t   *value, *a;
    ngx_uint_t   i;

    if (lcf->transcoder.nelts) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].data[0] != '/') {
        return "takes the absolute path of the program first";
    }

    if (value[2].len < sizeof("rtmp://")
        || ngx_strncmp(value[2].data, "rtmp://", 7) != 0)
    {
        return "takes the RTMP URL of the application second";
    }

    if (cf->args->nelts > 24) {
        return "takes at most 22 options";
    }

    if (ngx_array_init(&lcf->transcoder, cf->pool, cf->args->nelts,
                       sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        a = ngx_array_push(&lcf->transcoder);
        if (a == NULL) {
            return NGX_CONF_ERROR;
        }

        /* the configuration parser NUL-terminates every argument */
        *a = value[i];
    }

    return NGX_CONF_OK;
}


/* twitch_rtmp_hooks [<application>]: where OBS publishes (live) */

static char *
ngx_http_twitch_live_hooks(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_live_loc_conf_t *llcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL || llcf->app.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_str_set(&llcf->app, "live");

    if (cf->args->nelts == 2) {
        llcf->app = value[1];
    }

    clcf->handler = ngx_http_twitch_rtmp_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_twitch_live_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_twitch_viewers_access;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_twitch_viewers_log;

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_live_init_process(ngx_cycle_t *cycle)
{
    u_char                         *p;
    ngx_pid_t                       master;
    ngx_http_twitch_live_conf_t    *lcf;
    ngx_http_twitch_live_timers_t  *t;

    lcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_twitch_live_module);

    if (lcf == NULL) {
        return NGX_OK;
    }

    if (lcf->rtmp_worker >= 0) {
        ngx_http_twitch_rtmp_pin(cycle, lcf);
    }

    if (lcf->media_root.len == 0) {
        return NGX_OK;
    }

    lcf->log = cycle->log;

    /*
     * The master's pid names this nginx's RTMP sessions: it stays the same
     * across reloads, so only broadcasts of an earlier (dead) master of
     * this host are orphans.
     */

    master = (ngx_process == NGX_PROCESS_WORKER) ? getppid() : ngx_pid;

    p = ngx_pnalloc(cycle->pool, NGX_INT64_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    lcf->master.data = p;
    lcf->master.len = ngx_sprintf(p, "%P%Z", master) - p - 1;
    lcf->worker = 1;

    ngx_http_twitch_live_worker_conf = lcf;

    ngx_http_twitch_rtmp_init(lcf);
    ngx_http_twitch_pattern_init(lcf);

    t = &ngx_http_twitch_live_timers;
    ngx_memzero(t, sizeof(ngx_http_twitch_live_timers_t));

    if (ngx_worker == 0 || ngx_process != NGX_PROCESS_WORKER) {
        t->periodic = 1;

        /* the first run closes what a crashed predecessor left open */
        ngx_http_twitch_live_timer(&t->reconcile,
                                   ngx_http_twitch_live_reconcile_handler,
                                   500);
        ngx_http_twitch_live_timer(&t->vods,
                                   ngx_http_twitch_live_vods_handler, 2000);
        ngx_http_twitch_live_timer(&t->expire,
                                   ngx_http_twitch_live_expire_handler,
                                   5000);
    }

    ngx_http_twitch_live_timer(&t->viewers,
                               ngx_http_twitch_live_viewers_handler,
                               lcf->viewers_interval);
    ngx_http_twitch_live_timer(&t->clips, ngx_http_twitch_live_clips_handler,
                               3000 + 500 * (ngx_msec_t) (ngx_worker % 8));

    return NGX_OK;
}


static void
ngx_http_twitch_live_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = ngx_http_twitch_live_worker_conf;

    if (lcf == NULL) {
        return;
    }

    lcf->exiting = 1;

    ngx_http_twitch_transcoder_exit(lcf);
    ngx_http_twitch_pattern_exit(lcf);

    ngx_http_twitch_live_worker_conf = NULL;
}


static void
ngx_http_twitch_live_timer(ngx_event_t *ev, ngx_event_handler_pt handler,
    ngx_msec_t delay)
{
    ev->handler = handler;
    ev->data = ngx_http_twitch_live_worker_conf;
    ev->log = ngx_cycle->log;
    ev->cancelable = 1;

    ngx_add_timer(ev, delay);
}


static void
ngx_http_twitch_live_rearm(ngx_event_t *ev, ngx_msec_t delay)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (ngx_http_twitch_live_worker_conf == NULL) {
        return;
    }

    ngx_add_timer(ev, delay);
}


static void
ngx_http_twitch_live_reconcile_handler(ngx_event_t *ev)
{
    ngx_http_twitch_live_conf_t  *lcf = ev->data;

    ngx_http_twitch_rtmp_reconcile(lcf,
                                   !ngx_http_twitch_live_timers.reconciled);
    ngx_http_twitch_live_timers.reconciled = 1;

    ngx_http_twitch_live_rearm(ev, NGX_HTTP_TWITCH_LIVE_RECONCILE);
}


static void
ngx_http_twitch_live_vods_handler(ngx_event_t *ev)
{
    ngx_http_twitch_live_conf_t  *lcf = ev->data;

    ngx_http_twitch_vods_finalize(lcf);

    if (!ev->timer_set && ngx_http_twitch_live_timers.periodic) {
        ngx_http_twitch_live_rearm(ev, NGX_HTTP_TWITCH_LIVE_VODS);
    }
}


static void
ngx_http_twitch_live_expire_handler(ngx_event_t *ev)
{
    ngx_http_twitch_live_conf_t  *lcf = ev->data;

    ngx_http_twitch_vods_expire(lcf);

    ngx_http_twitch_live_rearm(ev, NGX_HTTP_TWITCH_LIVE_EXPIRE);
}


static void
ngx_http_twitch_live_viewers_handler(ngx_event_t *ev)
{
    ngx_http_twitch_live_conf_t  *lcf = ev->data;

    ngx_http_twitch_viewers_report(lcf);

    ngx_http_twitch_live_rearm(ev, lcf->viewers_interval);
}


static void
ngx_http_twitch_live_clips_handler(ngx_event_t *ev)
{
    ngx_http_twitch_live_conf_t  *lcf = ev->data;

    ngx_http_twitch_clips_queue(lcf);

    if (!ev->timer_set) {
        ngx_http_twitch_live_rearm(ev, NGX_HTTP_TWITCH_LIVE_CLIPS);
    }
}


/* a broadcast ended in this worker: finalize its VOD in a second */

void
ngx_http_twitch_live_kick_vods(void)
{
    ngx_event_t  *ev;

    if (ngx_http_twitch_live_worker_conf == NULL) {
        return;
    }

    ev = &ngx_http_twitch_live_timers.vods;

    if (ev->handler == NULL) {
        /* a worker that does not finalize periodically */
        ngx_http_twitch_live_timer(ev, ngx_http_twitch_live_vods_handler,
                                   1000);
        return;
    }

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    ngx_add_timer(ev, 1000);
}


void
ngx_http_twitch_live_kick_clips(void)
{
    ngx_event_t  *ev;

    if (ngx_http_twitch_live_worker_conf == NULL) {
        return;
    }

    ev = &ngx_http_twitch_live_timers.clips;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    ngx_add_timer(ev, 10);
}
