
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_HEALTH_H_INCLUDED_
#define _NGX_HTTP_TWITCH_HEALTH_H_INCLUDED_


#include "ngx_http_twitch_api.h"


ngx_int_t ngx_http_twitch_health_handler(ngx_http_twitch_ctx_t *ctx);


#endif /* _NGX_HTTP_TWITCH_HEALTH_H_INCLUDED_ */
