
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_REDIS_H_INCLUDED_
#define _NGX_HTTP_TWITCH_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>

#include "ngx_http_twitch_module.h"


typedef struct ngx_http_twitch_redis_cmd_s  ngx_http_twitch_redis_cmd_t;


/* reply is NULL when Redis is unreachable or the command timed out */
typedef void (*ngx_http_twitch_redis_handler_pt)(void *data,
    redisReply *reply);

typedef void (*ngx_http_twitch_redis_message_pt)(void *data,
    ngx_str_t *channel, ngx_str_t *message);

/* called when the subscriber connection goes down (up == 0) or comes back */
typedef void (*ngx_http_twitch_redis_state_pt)(void *data, ngx_uint_t up);


ngx_http_twitch_redis_t *ngx_http_twitch_redis_create(ngx_cycle_t *cycle,
    ngx_http_twitch_main_conf_t *tmcf);
void ngx_http_twitch_redis_destroy(ngx_http_twitch_redis_t *rd);

/*
 * Sends a command on the worker's command connection.  Returns NULL when
 * Redis is down, neither connected nor connecting (the caller answers 503).
 */
ngx_http_twitch_redis_cmd_t *ngx_http_twitch_redis_command(
    ngx_http_twitch_redis_t *rd, ngx_http_twitch_redis_handler_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen);

/* a command whose reply nobody waits for; arguments NUL-terminated */
void ngx_http_twitch_redis_fire(ngx_http_twitch_redis_t *rd, int argc,
    const char **argv);

/* the handler will not be called */
void ngx_http_twitch_redis_cancel(ngx_http_twitch_redis_cmd_t *cmd);

/*
 * One handler per channel on the worker's subscriber connection; the
 * subscription is sent again after every reconnect.
 */
ngx_int_t ngx_http_twitch_redis_subscribe(ngx_http_twitch_redis_t *rd,
    ngx_str_t *channel, ngx_http_twitch_redis_message_pt handler, void *data);
void ngx_http_twitch_redis_unsubscribe(ngx_http_twitch_redis_t *rd,
    ngx_str_t *channel);
void ngx_http_twitch_redis_on_state(ngx_http_twitch_redis_t *rd,
    ngx_http_twitch_redis_state_pt handler, void *data);

/* both connections are up */
ngx_uint_t ngx_http_twitch_redis_is_up(ngx_http_twitch_redis_t *rd);
/* the subscriber connection is up or connecting */
ngx_uint_t ngx_http_twitch_redis_sub_alive(ngx_http_twitch_redis_t *rd);


#endif /* _NGX_HTTP_TWITCH_REDIS_H_INCLUDED_ */
