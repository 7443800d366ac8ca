
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Sockets of client libraries on the nginx event loop.  Events are
 * level-triggered: the libraries read what they choose per call, so an
 * edge-triggered event could leave data unread with no new edge.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_twitch_conn.h"


ngx_connection_t *
ngx_http_twitch_conn_wrap(ngx_socket_t fd, ngx_log_t *log, void *data,
    ngx_event_handler_pt read, ngx_event_handler_pt write)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(fd, log);
    if (c == NULL) {
        return NULL;
    }

    c->data = data;
    c->read->handler = read;
    c->write->handler = write;
    c->read->log = log;
    c->write->log = log;

    return c;
}


void
ngx_http_twitch_conn_release(ngx_connection_t *c, ngx_uint_t closed)
{
    ngx_uint_t  flags;

    flags = closed ? NGX_CLOSE_EVENT : 0;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


ngx_msec_t
ngx_http_twitch_backoff(ngx_msec_t previous)
{
    if (previous == 0) {
        return NGX_HTTP_TWITCH_BACKOFF_MIN;
    }

    return ngx_min(previous * 2, NGX_HTTP_TWITCH_BACKOFF_MAX);
}
