
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_MODULE_H_INCLUDED_
#define _NGX_HTTP_TWITCH_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>


typedef struct ngx_http_twitch_pg_pool_s  ngx_http_twitch_pg_pool_t;
typedef struct ngx_http_twitch_redis_s    ngx_http_twitch_redis_t;


typedef struct {
    ngx_str_t                   pg_conninfo;
    ngx_uint_t                  pg_pool_size;
    ngx_uint_t                  pg_queue_size;
    ngx_msec_t                  pg_connect_timeout;
    ngx_msec_t                  pg_query_timeout;

    ngx_str_t                   redis_host;
    ngx_int_t                   redis_port;
    ngx_str_t                   redis_unix;
    ngx_msec_t                  redis_connect_timeout;
    ngx_msec_t                  redis_command_timeout;

    ngx_flag_t                  api_used;
    ngx_thread_pool_t          *thread_pool;
    ngx_shm_zone_t             *metrics_zone;
    ngx_int_t                   request_id_index;
    ngx_msec_t                  session_ttl;

    /* when this worker started, and its last health round trip */
    time_t                      started;
    ngx_msec_t                  health_checked;
    ngx_uint_t                  health_postgres;
    ngx_uint_t                  health_redis;

    /* per-worker state, created in init_process */
    ngx_http_twitch_pg_pool_t  *pg;
    ngx_http_twitch_redis_t    *redis;
} ngx_http_twitch_main_conf_t;


typedef struct {
    ngx_flag_t                  api;
    size_t                      json_max_body;
    ngx_uint_t                  json_max_depth;
} ngx_http_twitch_loc_conf_t;


ngx_http_twitch_main_conf_t *ngx_http_twitch_get_main_conf(ngx_cycle_t *cycle);


extern ngx_module_t  ngx_http_twitch_module;


#endif /* _NGX_HTTP_TWITCH_MODULE_H_INCLUDED_ */
