
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * ngx_http_twitch_module: directives, configuration and the per-worker
 * PostgreSQL pool and Redis connections of the platform's REST API.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>

#include "ngx_http_twitch_module.h"
#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_redis.h"
#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_metrics.h"


typedef struct {
    ngx_int_t   min;
    ngx_int_t   max;
} ngx_http_twitch_bounds_t;


static void *ngx_http_twitch_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_twitch_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_twitch_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_twitch_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_twitch_postgres(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_set_bounded(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twitch_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_twitch_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_twitch_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_twitch_init_process(ngx_cycle_t *cycle);
static void ngx_http_twitch_exit_process(ngx_cycle_t *cycle);


static ngx_http_twitch_bounds_t  ngx_http_twitch_pool_bounds = { 1, 64 };
static ngx_http_twitch_bounds_t  ngx_http_twitch_queue_bounds = { 0, 100000 };
static ngx_http_twitch_bounds_t  ngx_http_twitch_depth_bounds = { 1, 512 };


static ngx_command_t  ngx_http_twitch_commands[] = {

    { ngx_string("twitch_postgres"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_twitch_postgres,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_postgres_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_twitch_set_bounded,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_main_conf_t, pg_pool_size),
      &ngx_http_twitch_pool_bounds },

    { ngx_string("twitch_postgres_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_twitch_set_bounded,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_main_conf_t, pg_queue_size),
      &ngx_http_twitch_queue_bounds },

    { ngx_string("twitch_postgres_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_main_conf_t, pg_connect_timeout),
      NULL },

    { ngx_string("twitch_postgres_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_main_conf_t, pg_query_timeout),
      NULL },

    { ngx_string("twitch_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_twitch_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_redis_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_main_conf_t, redis_connect_timeout),
      NULL },

    { ngx_string("twitch_redis_command_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_main_conf_t, redis_command_timeout),
      NULL },

    { ngx_string("twitch_session_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_twitch_main_conf_t, session_ttl),
      NULL },

    { ngx_string("twitch_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_twitch_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_twitch_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_json_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_twitch_loc_conf_t, json_max_body),
      NULL },

    { ngx_string("twitch_json_max_depth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_twitch_set_bounded,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_twitch_loc_conf_t, json_max_depth),
      &ngx_http_twitch_depth_bounds },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_twitch_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_twitch_postconfiguration,     /* postconfiguration */

    ngx_http_twitch_create_main_conf,      /* create main configuration */
    ngx_http_twitch_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_twitch_create_loc_conf,       /* create location configuration */
    ngx_http_twitch_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_twitch_module = {
    NGX_MODULE_V1,
    &ngx_http_twitch_module_ctx,           /* module context */
    ngx_http_twitch_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_twitch_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_twitch_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_twitch_main_conf_t *
ngx_http_twitch_get_main_conf(ngx_cycle_t *cycle)
{
    return ngx_http_cycle_get_module_main_conf(cycle, ngx_http_twitch_module);
}


static void *
ngx_http_twitch_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_twitch_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twitch_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tmcf->pg_conninfo = { 0, NULL };
     *     tmcf->redis_host = { 0, NULL };
     *     tmcf->redis_unix = { 0, NULL };
     *     tmcf->api_used = 0;
     *     tmcf->thread_pool = NULL;
     *     tmcf->metrics_zone = NULL;
     *     tmcf->pg = NULL;
     *     tmcf->redis = NULL;
     */

    tmcf->pg_pool_size = NGX_CONF_UNSET_UINT;
    tmcf->pg_queue_size = NGX_CONF_UNSET_UINT;
    tmcf->pg_connect_timeout = NGX_CONF_UNSET_MSEC;
    tmcf->pg_query_timeout = NGX_CONF_UNSET_MSEC;
    tmcf->redis_port = NGX_CONF_UNSET;
    tmcf->redis_connect_timeout = NGX_CONF_UNSET_MSEC;
    tmcf->redis_command_timeout = NGX_CONF_UNSET_MSEC;
    tmcf->session_ttl = NGX_CONF_UNSET_MSEC;
    tmcf->request_id_index = NGX_ERROR;

    return tmcf;
}


static char *
ngx_http_twitch_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_twitch_main_conf_t *tmcf = conf;

    ngx_conf_init_uint_value(tmcf->pg_pool_size, 4);
    ngx_conf_init_uint_value(tmcf->pg_queue_size, 1024);
    ngx_conf_init_msec_value(tmcf->pg_connect_timeout, 3000);
    ngx_conf_init_msec_value(tmcf->pg_query_timeout, 5000);
    ngx_conf_init_value(tmcf->redis_port, 6379);
    ngx_conf_init_msec_value(tmcf->redis_connect_timeout, 3000);
    ngx_conf_init_msec_value(tmcf->redis_command_timeout, 2000);
    ngx_conf_init_msec_value(tmcf->session_ttl, 86400000);

    if (!tmcf->api_used) {
        return NGX_CONF_OK;
    }

    if (tmcf->pg_conninfo.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"twitch_api\" requires \"twitch_postgres\"");
        return NGX_CONF_ERROR;
    }

    if (tmcf->redis_host.len == 0 && tmcf->redis_unix.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"twitch_api\" requires \"twitch_redis\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_twitch_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_twitch_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twitch_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    tlcf->api = NGX_CONF_UNSET;
    tlcf->json_max_body = NGX_CONF_UNSET_SIZE;
    tlcf->json_max_depth = NGX_CONF_UNSET_UINT;

    return tlcf;
}


static char *
ngx_http_twitch_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_twitch_loc_conf_t *prev = parent;
    ngx_http_twitch_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->api, prev->api, 0);
    ngx_conf_merge_size_value(conf->json_max_body, prev->json_max_body,
                              64 * 1024);
    ngx_conf_merge_uint_value(conf->json_max_depth, prev->json_max_depth,
                              32);

    return NGX_CONF_OK;
}


static char *
ngx_http_twitch_postgres(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_main_conf_t *tmcf = conf;

    char               *err;
    ngx_str_t          *value;
    PQconninfoOption   *opts;

    if (tmcf->pg_conninfo.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes a non-empty connection string";
    }

    /* the string was NUL-terminated by the configuration parser */

    err = NULL;
    opts = PQconninfoParse((char *) value[1].data, &err);

    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid connection string in \"%V\": %s",
                           &cmd->name, err ? err : "out of memory");

        if (err) {
            PQfreemem(err);
        }

        return NGX_CONF_ERROR;
    }

    PQconninfoFree(opts);

    tmcf->pg_conninfo = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_twitch_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_main_conf_t *tmcf = conf;

    u_char     *p;
    ngx_str_t  *value;
    ngx_url_t   u;

    if (tmcf->redis_host.data != NULL || tmcf->redis_unix.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        tmcf->redis_unix.data = value[1].data + 5;
        tmcf->redis_unix.len = value[1].len - 5;
        return NGX_CONF_OK;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid address \"%V\" in \"%V\": %s",
                           &value[1], &cmd->name,
                           u.err ? u.err : "cannot parse");
        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for \"%V\" in \"%V\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    /* hiredis takes a numeric host: no name lookup in the workers */

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    tmcf->redis_host.len = ngx_sock_ntop(u.addrs[0].sockaddr,
                                         u.addrs[0].socklen, p,
                                         NGX_SOCKADDR_STRLEN, 0);
    p[tmcf->redis_host.len] = '\0';
    tmcf->redis_host.data = p;
    tmcf->redis_port = u.port;

    if (u.family == AF_INET6 && p[0] == '[') {
        /* ngx_sock_ntop() brackets IPv6 addresses */
        tmcf->redis_host.data++;
        tmcf->redis_host.len -= 2;
        p[tmcf->redis_host.len + 1] = '\0';
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_twitch_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_loc_conf_t *tlcf = conf;

    ngx_str_t                     rid = ngx_string("request_id");
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_twitch_main_conf_t  *tmcf;

    if (tlcf->api != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    tlcf->api = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_twitch_api_handler;

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_twitch_module);
    tmcf->api_used = 1;

    if (tmcf->thread_pool == NULL) {
        /* password hashing runs in the "default" thread pool */
        tmcf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (tmcf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (tmcf->request_id_index == NGX_ERROR) {
        tmcf->request_id_index = ngx_http_get_variable_index(cf, &rid);
        if (tmcf->request_id_index == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_twitch_metrics_add_zone(cf, tmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * ngx_conf_set_num_slot() with bounds, whose error names the directive
 * (ngx_conf_check_num_bounds() does not).  The field is an ngx_uint_t.
 */

static char *
ngx_http_twitch_set_bounded(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                    *p;
    ngx_int_t                  n;
    ngx_str_t                 *value;
    ngx_uint_t                *field;
    ngx_http_twitch_bounds_t  *b;

    field = (ngx_uint_t *) ((char *) conf + cmd->offset);
    b = cmd->post;

    if (*field != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR) {
        return "invalid number";
    }

    if (n < b->min || n > b->max) {
        p = ngx_pnalloc(cf->pool, NGX_INT_T_LEN * 2 + 32);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        (void) ngx_sprintf(p, "value must be between %i and %i%Z",
                           b->min, b->max);
        return (char *) p;
    }

    *field = (ngx_uint_t) n;

    return NGX_CONF_OK;
}


static char *
ngx_http_twitch_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_twitch_main_conf_t  *tmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_twitch_metrics_handler;

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_twitch_module);

    if (ngx_http_twitch_metrics_add_zone(cf, tmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_twitch_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_twitch_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_log_handler(ngx_http_request_t *r)
{
    ngx_http_twitch_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_twitch_module);

    if (ctx != NULL) {
        ngx_http_twitch_metrics_log(r, ctx);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_init_process(ngx_cycle_t *cycle)
{
    ngx_http_twitch_main_conf_t  *tmcf;

    tmcf = ngx_http_twitch_get_main_conf(cycle);

    if (tmcf == NULL) {
        return NGX_OK;
    }

    tmcf->started = ngx_time();

    if (tmcf->pg_conninfo.len) {
        tmcf->pg = ngx_http_twitch_pg_pool_create(cycle, tmcf);
        if (tmcf->pg == NULL) {
            return NGX_ERROR;
        }
    }

    if (tmcf->redis_host.len || tmcf->redis_unix.len) {
        tmcf->redis = ngx_http_twitch_redis_create(cycle, tmcf);
        if (tmcf->redis == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_twitch_metrics_init_process(cycle, tmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_twitch_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_twitch_main_conf_t  *tmcf;

    tmcf = ngx_http_twitch_get_main_conf(cycle);

    if (tmcf == NULL) {
        return;
    }

    ngx_http_twitch_pg_pool_destroy(tmcf->pg);
    tmcf->pg = NULL;

    ngx_http_twitch_redis_destroy(tmcf->redis);
    tmcf->redis = NULL;
}
