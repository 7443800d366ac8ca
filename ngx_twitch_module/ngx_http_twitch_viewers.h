
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_VIEWERS_H_INCLUDED_
#define _NGX_HTTP_TWITCH_VIEWERS_H_INCLUDED_


#include "ngx_http_twitch_live.h"


/* access phase: a viewer-session cookie on live master playlists */
ngx_int_t ngx_http_twitch_viewers_access(ngx_http_request_t *r);
/* log phase: a live media playlist fetch counts its session */
ngx_int_t ngx_http_twitch_viewers_log(ngx_http_request_t *r);
/* every twitch_viewers_interval: the counts of the live channels */
void ngx_http_twitch_viewers_report(ngx_http_twitch_live_conf_t *lcf);


#endif /* _NGX_HTTP_TWITCH_VIEWERS_H_INCLUDED_ */
