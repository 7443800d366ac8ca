
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/emotes: global and channel emotes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_util.h"


ngx_http_twitch_route_t  ngx_http_twitch_emotes_routes[] = {

    { 0, ngx_null_string, NULL, 0 }
};
