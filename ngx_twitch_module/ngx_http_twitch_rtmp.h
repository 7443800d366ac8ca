
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_RTMP_H_INCLUDED_
#define _NGX_HTTP_TWITCH_RTMP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * POST /api/streams/start and /stop call these once the broadcast row is
 * opened or closed: with "twitch_test_pattern" configured, a generated
 * test pattern with a tone is published with the channel's stream key
 * through the RTMP ingest (so through the hooks, the transcoder and
 * HLS), and stopped again.  Without the directive they do nothing.
 * channel_id and stream_id are decimal text.
 */
void ngx_http_twitch_rtmp_pattern_start(ngx_log_t *log,
    const char *channel_id, const char *stream_id);
void ngx_http_twitch_rtmp_pattern_stop(ngx_log_t *log,
    const char *stream_id);


#endif /* _NGX_HTTP_TWITCH_RTMP_H_INCLUDED_ */
