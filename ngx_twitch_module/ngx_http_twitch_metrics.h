
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_METRICS_H_INCLUDED_
#define _NGX_HTTP_TWITCH_METRICS_H_INCLUDED_


#include "ngx_http_twitch_api.h"


ngx_int_t ngx_http_twitch_metrics_add_zone(ngx_conf_t *cf,
    ngx_http_twitch_main_conf_t *tmcf);
ngx_int_t ngx_http_twitch_metrics_init_process(ngx_cycle_t *cycle,
    ngx_http_twitch_main_conf_t *tmcf);
/* counts a finished API request (log phase) */
void ngx_http_twitch_metrics_log(ngx_http_request_t *r,
    ngx_http_twitch_ctx_t *ctx);
/* the content handler of "twitch_metrics" */
ngx_int_t ngx_http_twitch_metrics_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_TWITCH_METRICS_H_INCLUDED_ */
