
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_CHAT_H_INCLUDED_
#define _NGX_HTTP_TWITCH_CHAT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_flag_t   enabled;
    size_t       max_message;
} ngx_http_twitch_chat_loc_conf_t;


extern ngx_module_t  ngx_http_twitch_chat_module;


#endif /* _NGX_HTTP_TWITCH_CHAT_H_INCLUDED_ */
