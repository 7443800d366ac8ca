
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_CONN_H_INCLUDED_
#define _NGX_HTTP_TWITCH_CONN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


#define NGX_HTTP_TWITCH_BACKOFF_MIN  100
#define NGX_HTTP_TWITCH_BACKOFF_MAX  3000


/*
 * Client libraries (libpq, hiredis) own their sockets; these wrap such a
 * socket in an nginx connection for the event loop, and release the
 * wrapper without closing the socket.  "closed": the library already
 * closed the socket (it has left the epoll set).
 */
ngx_connection_t *ngx_http_twitch_conn_wrap(ngx_socket_t fd, ngx_log_t *log,
    void *data, ngx_event_handler_pt read, ngx_event_handler_pt write);
void ngx_http_twitch_conn_release(ngx_connection_t *c, ngx_uint_t closed);

/* the next reconnect delay: 100 ms, doubling, at most 3 s */
ngx_msec_t ngx_http_twitch_backoff(ngx_msec_t previous);


#endif /* _NGX_HTTP_TWITCH_CONN_H_INCLUDED_ */
