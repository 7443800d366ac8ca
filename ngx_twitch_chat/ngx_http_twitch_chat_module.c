
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * ngx_http_twitch_chat_module: the WebSocket chat endpoint (twitch_chat).
 *
 * This file holds the directives, the configuration, the per-worker state
 * (created in init_process) and the content handler, which checks the
 * opening handshake and hands the connection over to the chat:
 *
 *   _ws.c        RFC 6455 handshake, frame parser, UTF-8, frames
 *   _conn.c      a chat connection: reading, send queue, ping, close
 *   _identity.c  the session cookie's user at the upgrade
 *   _protocol.c  the JSON protocol (auth, join, leave, chat)
 *   _room.c      rooms, fan-out, Redis subscriptions, viewer counts
 *   _events.c    moderation events from Redis applied to the rooms
 *   _rules.c     rate limits, duplicates, bans, room modes
 *   _emotes.c    emote detection
 *   _persist.c   message ids and batched inserts into PostgreSQL
 *   _relay.c     the workers' messages shared while Redis is down
 *   _commands.c  slash commands through the moderation action layer
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


typedef struct {
    size_t      min;
    size_t      max;
} ngx_http_twitch_chat_bounds_t;


static ngx_int_t ngx_http_twitch_chat_handler(ngx_http_request_t *r);
static void *ngx_http_twitch_chat_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_twitch_chat_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_twitch_chat_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_twitch_chat_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_twitch_chat(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_chat_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_chat_check_bounds(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_twitch_chat_init_process(ngx_cycle_t *cycle);
static void ngx_http_twitch_chat_exit_process(ngx_cycle_t *cycle);


static ngx_http_twitch_chat_bounds_t  ngx_http_twitch_chat_message_bounds = {
    256, 1024 * 1024
};

static ngx_http_twitch_chat_bounds_t  ngx_http_twitch_chat_queue_bounds = {
    4096, 64 * 1024 * 1024
};

static ngx_http_twitch_chat_bounds_t  ngx_http_twitch_chat_time_bounds = {
    100, 3600 * 1000
};

static ngx_conf_post_t  ngx_http_twitch_chat_message_post = {
    ngx_http_twitch_chat_check_bounds
};

static ngx_conf_post_t  ngx_http_twitch_chat_queue_post = {
    ngx_http_twitch_chat_check_bounds
};

static ngx_conf_post_t  ngx_http_twitch_chat_time_post = {
    ngx_http_twitch_chat_check_bounds
};


static ngx_command_t  ngx_http_twitch_chat_commands[] = {

    { ngx_string("twitch_chat"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_twitch_chat,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_chat_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_twitch_chat_loc_conf_t, max_message),
      &ngx_http_twitch_chat_message_post },

    { ngx_string("twitch_chat_send_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_twitch_chat_loc_conf_t, send_queue),
      &ngx_http_twitch_chat_queue_post },

    { ngx_string("twitch_chat_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_twitch_chat_loc_conf_t, ping_interval),
      &ngx_http_twitch_chat_time_post },

    { ngx_string("twitch_chat_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_1MORE,
      ngx_http_twitch_chat_origins,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_chat_viewer_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_chat_main_conf_t, viewer_interval),
      &ngx_http_twitch_chat_time_post },

    { ngx_string("twitch_chat_current_viewers"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_chat_main_conf_t, current_viewers),
      NULL },

    { ngx_string("twitch_chat_flush_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_chat_main_conf_t, flush_interval),
      &ngx_http_twitch_chat_time_post },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_twitch_chat_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_twitch_chat_create_main_conf, /* create main configuration */
    ngx_http_twitch_chat_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_twitch_chat_create_loc_conf,  /* create location configuration */
    ngx_http_twitch_chat_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_twitch_chat_module = {
    NGX_MODULE_V1,
    &ngx_http_twitch_chat_module_ctx,      /* module context */
    ngx_http_twitch_chat_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_twitch_chat_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_twitch_chat_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_twitch_chat_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_twitch_chat_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_twitch_chat_module);

    if (ngx_http_twitch_chat_worker() == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    rc = ngx_http_twitch_chat_ws_handshake(r, conf);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        return ngx_http_twitch_chat_ws_refuse(r, rc);
    }

    return ngx_http_twitch_chat_conn_start(r, conf);
}


ngx_http_twitch_chat_worker_t *
ngx_http_twitch_chat_worker(void)
{
    ngx_http_twitch_chat_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_twitch_chat_module);

    return (cmcf == NULL) ? NULL : cmcf->worker;
}


/* wall-clock time in milliseconds since the epoch */

int64_t
ngx_http_twitch_chat_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


static void *
ngx_http_twitch_chat_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_twitch_chat_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twitch_chat_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cmcf->used = 0;
     *     cmcf->worker = NULL;
     */

    cmcf->viewer_interval = NGX_CONF_UNSET_MSEC;
    cmcf->flush_interval = NGX_CONF_UNSET_MSEC;
    cmcf->current_viewers = NGX_CONF_UNSET;

    return cmcf;
}


static char *
ngx_http_twitch_chat_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_twitch_chat_main_conf_t *cmcf = conf;

    ngx_http_twitch_main_conf_t  *tmcf;

    ngx_conf_init_msec_value(cmcf->viewer_interval, 5000);
    ngx_conf_init_msec_value(cmcf->flush_interval, 500);
    ngx_conf_init_value(cmcf->current_viewers, 1);

    if (!cmcf->used) {
        return NGX_CONF_OK;
    }

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_twitch_module);

    if (tmcf->pg_conninfo.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"twitch_chat\" requires \"twitch_postgres\"");
        return NGX_CONF_ERROR;
    }

    if (tmcf->redis_host.len == 0 && tmcf->redis_unix.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"twitch_chat\" requires \"twitch_redis\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_twitch_chat_relay_zone(cf, cmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_twitch_chat_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_twitch_chat_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twitch_chat_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enabled = NGX_CONF_UNSET;
    conf->max_message = NGX_CONF_UNSET_SIZE;
    conf->send_queue = NGX_CONF_UNSET_SIZE;
    conf->ping_interval = NGX_CONF_UNSET_MSEC;
    conf->origins = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_twitch_chat_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_twitch_chat_loc_conf_t *prev = parent;
    ngx_http_twitch_chat_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);
    ngx_conf_merge_size_value(conf->max_message, prev->max_message, 4096);
    ngx_conf_merge_size_value(conf->send_queue, prev->send_queue,
                              256 * 1024);
    ngx_conf_merge_msec_value(conf->ping_interval, prev->ping_interval,
                              30000);
    ngx_conf_merge_ptr_value(conf->origins, prev->origins, NULL);

    return NGX_CONF_OK;
}


static char *
ngx_http_twitch_chat(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_chat_loc_conf_t *tclcf = conf;

    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_twitch_chat_main_conf_t  *cmcf;

    if (tclcf->enabled != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    tclcf->enabled = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_twitch_chat_handler;

    cmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_twitch_chat_module);
    cmcf->used = 1;

    return NGX_CONF_OK;
}


/* twitch_chat_origins http://a.example https://b.example ... | * */

static char *
ngx_http_twitch_chat_origins(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_chat_loc_conf_t *tclcf = conf;

    u_char      *p;
    ngx_str_t   *value, *origin;
    ngx_uint_t   i;

    if (tclcf->origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    tclcf->origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_str_t));
    if (tclcf->origins == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (!(value[i].len == 1 && value[i].data[0] == '*')) {
            p = (u_char *) ngx_strstr(value[i].data, "://");

            if (p == NULL || p == value[i].data
                || p + 3 == value[i].data + value[i].len
                || ngx_strlchr(p + 3, value[i].data + value[i].len, '/')
                   != NULL)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid origin \"%V\" in \"%V\": "
                                   "use scheme://host[:port] or \"*\"",
                                   &value[i], &cmd->name);
                return NGX_CONF_ERROR;
            }
        }

        origin = ngx_array_push(tclcf->origins);
        if (origin == NULL) {
            return NGX_CONF_ERROR;
        }

        *origin = value[i];
    }

    return NGX_CONF_OK;
}


/* the post handler of the bounded slots: the error names the directive */

static char *
ngx_http_twitch_chat_check_bounds(ngx_conf_t *cf, void *post, void *data)
{
    u_char                         *p;
    size_t                          v;
    const char                     *unit;
    ngx_conf_post_t                *cp = post;
    ngx_http_twitch_chat_bounds_t  *b;

    if (cp == &ngx_http_twitch_chat_message_post) {
        b = &ngx_http_twitch_chat_message_bounds;
        v = *(size_t *) data;
        unit = "bytes";

    } else if (cp == &ngx_http_twitch_chat_queue_post) {
        b = &ngx_http_twitch_chat_queue_bounds;
        v = *(size_t *) data;
        unit = "bytes";

    } else {
        b = &ngx_http_twitch_chat_time_bounds;
        v = *(ngx_msec_t *) data;
        unit = "ms";
    }

    if (v >= b->min && v <= b->max) {
        return NGX_CONF_OK;
    }

    p = ngx_pnalloc(cf->pool, 2 * NGX_SIZE_T_LEN + 48);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_sprintf(p, "value must be between %uz and %uz %s%Z",
                       b->min, b->max, unit);

    return (char *) p;
}


static ngx_int_t
ngx_http_twitch_chat_init_process(ngx_cycle_t *cycle)
{
    u_char                            *p;
    ngx_http_twitch_chat_worker_t     *w;
    ngx_http_twitch_chat_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_twitch_chat_module);

    if (cmcf == NULL || !cmcf->used) {
        return NGX_OK;
    }

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_twitch_chat_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->conf = cmcf;
    w->tmcf = ngx_http_twitch_get_main_conf(cycle);
    w->log = cycle->log;

    /* a name for this worker in the shared viewer counts */

    p = ngx_pnalloc(cycle->pool, NGX_INT_T_LEN * 3 + 3);
    if (p == NULL) {
        return NGX_ERROR;
    }

    w->id.data = p;
    w->id.len = ngx_sprintf(p, "%08xD%08xD:%P", (uint32_t) ngx_random(),
                            (uint32_t) ngx_random(), ngx_pid)
                - p;
    w->id.data[w->id.len] = '\0';

    w->rbuf = ngx_pnalloc(cycle->pool, NGX_HTTP_TWITCH_CHAT_READ_BUF);
    if (w->rbuf == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&w->conns);
    ngx_queue_init(&w->writable);

    w->write_ev.handler = ngx_http_twitch_chat_write_all;
    w->write_ev.data = w;
    w->write_ev.log = w->log;

    ngx_http_twitch_chat_relay_start(w);
    ngx_http_twitch_chat_rooms_init(w);
    ngx_http_twitch_chat_persist_init(w);

    cmcf->worker = w;

    return NGX_OK;
}


/*
 * The worker exits: ngx_http_twitch_module's exit_process ran first, so
 * PostgreSQL and Redis are gone; what is left is closed without them.
 */

static void
ngx_http_twitch_chat_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_twitch_chat_worker_t     *w;
    ngx_http_twitch_chat_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_twitch_chat_module);

    if (cmcf == NULL || cmcf->worker == NULL) {
        return;
    }

    w = cmcf->worker;
    w->exiting = 1;

    ngx_http_twitch_chat_abort_all(w);
    ngx_http_twitch_chat_rooms_exit(w);
    ngx_http_twitch_chat_persist_exit(w);

    cmcf->worker = NULL;
}
