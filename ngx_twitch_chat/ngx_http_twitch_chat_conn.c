
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * A chat connection after the 101 answer.  Like nginx's upgraded proxy
 * connections, the request stays open (r->main->count++) and the chat
 * takes over the connection's read and write handlers; a request cleanup
 * releases everything if nginx ends the request first.
 *
 * Reading: bytes go through the frame parser; a complete text message
 * is handed to the protocol.  While the protocol waits for Redis or
 * PostgreSQL for that message ("busy"), nothing more is parsed: further
 * input stays in the buffer and in the socket, so a connection has at most
 * one step in flight and its messages are handled in order.
 *
 * An idle connection holds no buffers: reads go to the worker's buffer,
 * and only input left over while busy moves to one of the connection's
 * own until it is parsed; a message's buffer is allocated as its frames
 * arrive and freed once it has been handled.
 *
 * Writing: frames are shared, reference-counted buffers; each connection
 * queues references and writes them once per event-loop turn (one posted
 * event of the worker goes through the connections with something new
 * queued) with one send(): several small frames are copied together into
 * the worker's write buffer first (one send() costs less than a writev()
 * of the same bytes); send_chain() only when a large frame is among
 * several.  A connection whose queue would grow past
 * twitch_chat_send_queue is dropped: a reader that falls behind never
 * makes the worker buffer without bound.
 *
 * Liveness: a ping after ping_interval of silence; no data at all for
 * another interval closes the connection.
 *
 * Closing: the close frame is queued (bypassing the limit); when the
 * client started the close, the connection is closed once the echo is
 * written; when the server did, the write side is shut down after the
 * close frame and the connection waits (at most 2 s) for the client to
 * close.  On a graceful shutdown (ngx_close_idle_connections()) every
 * connection gets 1001 this way; the linger timer is not cancelable, so
 * the worker waits for those connections instead of leaving them open.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


#define NGX_HTTP_TWITCH_CHAT_READ_BUDGET   65536
#define NGX_HTTP_TWITCH_CHAT_LINGER        2000
#define NGX_HTTP_TWITCH_CHAT_LINGER_EXIT   1000
#define NGX_HTTP_TWITCH_CHAT_IOV           16
#define NGX_HTTP_TWITCH_CHAT_COALESCE      16384


static void ngx_http_twitch_chat_read_handler(ngx_event_t *rev);
static void ngx_http_twitch_chat_write_handler(ngx_event_t *wev);
static void ngx_http_twitch_chat_write(ngx_http_twitch_chat_conn_t *cc);
static void ngx_http_twitch_chat_read(ngx_http_twitch_chat_conn_t *cc);
static ngx_int_t ngx_http_twitch_chat_keep(ngx_http_twitch_chat_conn_t *cc);
static ngx_int_t ngx_http_twitch_chat_grow(ngx_http_twitch_chat_conn_t *cc);
static ngx_int_t ngx_http_twitch_chat_frame_event(
    ngx_http_twitch_chat_conn_t *cc, ngx_http_twitch_chat_ws_event_t *ev);
static ngx_int_t ngx_http_twitch_chat_flush(ngx_http_twitch_chat_conn_t *cc);
static void ngx_http_twitch_chat_sent(ngx_http_twitch_chat_conn_t *cc,
    off_t sent);
static void ngx_http_twitch_chat_enqueue(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_frame_t *f);
static void ngx_http_twitch_chat_close(ngx_http_twitch_chat_conn_t *cc,
    ngx_uint_t code, const char *reason);
static void ngx_http_twitch_chat_ping_handler(ngx_event_t *ev);
static void ngx_http_twitch_chat_linger_handler(ngx_event_t *ev);
static void ngx_http_twitch_chat_finalize(ngx_http_twitch_chat_conn_t *cc);
static void ngx_http_twitch_chat_release(ngx_http_twitch_chat_conn_t *cc);
static void ngx_http_twitch_chat_cleanup(void *data);


static u_char  ngx_http_twitch_chat_wbuf[NGX_HTTP_TWITCH_CHAT_COALESCE];


ngx_int_t
ngx_http_twitch_chat_conn_start(ngx_http_request_t *r,
    ngx_http_twitch_chat_loc_conf_t *conf)
{
    size_t                          n;
    ngx_int_t                       rc;
    ngx_connection_t               *c;
    ngx_http_cleanup_t             *cln;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_twitch_chat_conn_t    *cc;
    ngx_http_twitch_chat_worker_t  *w;

    c = r->connection;
    w = ngx_http_twitch_chat_worker();

    cc = ngx_pcalloc(r->pool, sizeof(ngx_http_twitch_chat_conn_t));
    if (cc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    if (ngx_http_send_special(r, NGX_HTTP_FLUSH) == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* bytes the client sent after the handshake are its first frames */

    n = r->header_in->last - r->header_in->pos;

    if (n) {
        cc->rsize = ngx_max(NGX_HTTP_TWITCH_CHAT_READ_BUF, n);
        cc->rbuf = ngx_alloc(cc->rsize, c->log);
        if (cc->rbuf == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(cc->rbuf, r->header_in->pos, n);
        r->header_in->pos += n;
    }

    cc->rpos = cc->rbuf;
    cc->rlast = cc->rbuf + n;

    ngx_http_twitch_chat_ws_init(&cc->parser, NULL, 0, conf->max_message);

    cc->request = r;
    cc->connection = c;
    cc->conf = conf;
    cc->worker = w;
    cc->out_last = &cc->out;
    ngx_queue_init(&cc->free_members);
    cc->last_read = ngx_current_msec;
    cc->bucket = NGX_HTTP_TWITCH_CHAT_BUCKET;
    cc->bucket_time = ngx_current_msec;

    cln->handler = ngx_http_twitch_chat_cleanup;
    cln->data = cc;

    ngx_http_set_ctx(r, cc, ngx_http_twitch_chat_module);

    /* the request stays open until the chat finalizes it */

    r->main->count++;
    r->keepalive = 0;
    r->lingering_close = 0;

    c->read->handler = ngx_http_twitch_chat_read_handler;
    c->write->handler = ngx_http_twitch_chat_write_handler;
    c->log->action = "serving a chat connection";

    /* closed with 1001 by ngx_close_idle_connections() on shutdown */
    c->idle = 1;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->tcp_nodelay) {
        (void) ngx_tcp_nodelay(c);
    }

    cc->ping.handler = ngx_http_twitch_chat_ping_handler;
    cc->ping.data = cc;
    cc->ping.log = c->log;
    cc->ping.cancelable = 1;

    cc->linger.handler = ngx_http_twitch_chat_linger_handler;
    cc->linger.data = cc;
    cc->linger.log = c->log;

    ngx_queue_insert_tail(&w->conns, &cc->queue);
    w->nconns++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "chat: connection open, %ui in this worker", w->nconns);

    if (ngx_exiting || ngx_terminate) {
        ngx_http_twitch_chat_close(cc, NGX_HTTP_TWITCH_WS_GOING_AWAY,
                                   "server shutting down");
        return NGX_DONE;
    }

    ngx_add_timer(&cc->ping, conf->ping_interval);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        cc->abort = 1;
        ngx_post_event(c->write, &ngx_posted_events);
        return NGX_DONE;
    }

    /* frames are read once the session's user is known */
    ngx_http_twitch_chat_identify(cc);

    if (!cc->busy) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    return NGX_DONE;
}


static void
ngx_http_twitch_chat_read_handler(ngx_event_t *rev)
{
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_twitch_chat_conn_t  *cc;

    c = rev->data;
    r = c->data;
    cc = ngx_http_get_module_ctx(r, ngx_http_twitch_chat_module);

    if (c->close) {
        /*
         * ngx_close_idle_connections() at a graceful shutdown, or the
         * worker_shutdown_timeout (c->error is set as well)
         */
        c->close = 0;
        c->idle = 0;

        if (c->error || cc->close_sent) {
            ngx_http_twitch_chat_finalize(cc);
            return;
        }

        ngx_http_twitch_chat_close(cc, NGX_HTTP_TWITCH_WS_GOING_AWAY,
                                   "server shutting down");
        return;
    }

    ngx_http_twitch_chat_read(cc);
}


static void
ngx_http_twitch_chat_read(ngx_http_twitch_chat_conn_t *cc)
{
    size_t                            total;
    ssize_t                           n;
    ngx_int_t                         rc;
    ngx_connection_t                 *c;
    ngx_http_twitch_chat_ws_event_t   ev;

    c = cc->connection;
    total = 0;

    if (cc->rbuf == NULL) {
        /* nothing kept from before: the worker's buffer */
        cc->rbuf = cc->worker->rbuf;
        cc->rsize = NGX_HTTP_TWITCH_CHAT_READ_BUF;
        cc->rpos = cc->rbuf;
        cc->rlast = cc->rbuf;
    }

    for ( ;; ) {

        if (cc->abort) {
            ngx_http_twitch_chat_finalize(cc);
            return;
        }

        while (cc->rpos < cc->rlast && !cc->busy) {

            if (cc->closing && !cc->parse_closing) {
                /* the parser's state is lost: discard the input */
                cc->rpos = cc->rlast;
                break;
            }

            rc = ngx_http_twitch_chat_ws_parse(&cc->parser, &cc->rpos,
                                               cc->rlast, &ev);

            if (rc == NGX_AGAIN) {
                break;
            }

            if (rc == NGX_DONE) {
                /* a message larger than its buffer, within the limit */
                if (ngx_http_twitch_chat_grow(cc) != NGX_OK) {
                    ngx_http_twitch_chat_close(cc,
                                               NGX_HTTP_TWITCH_WS_INTERNAL,
                                               NULL);
                    cc->parse_closing = 0;
                }

                continue;
            }

            if (rc != NGX_OK) {
                if (cc->closing) {
                    cc->parse_closing = 0;
                    continue;
                }

                ngx_log_error(NGX_LOG_INFO, c->log, 0,
                              "chat: client broke the WebSocket protocol, "
                              "closing with %i", rc);

                ngx_http_twitch_chat_close(cc, rc, NULL);
                cc->parse_closing = 0;
                continue;
            }

            if (ev.data == NULL) {
                /* an empty message: no buffer was needed */
                ev.data = (u_char *) "";
            }

            if (ngx_http_twitch_chat_frame_event(cc, &ev) == NGX_DONE) {
                return;
            }

            if (cc->parser.msg != NULL && cc->parser.message == 0) {
                /* the message was handled: its buffer goes */
                ngx_free(cc->parser.msg);
                cc->parser.msg = NULL;
                cc->parser.msg_size = 0;
            }
        }

        if (cc->rpos == cc->rlast) {
            cc->rpos = cc->rbuf;
            cc->rlast = cc->rbuf;
        }

        if (cc->busy) {
            /* the rest waits in the buffer and in the socket */
            break;
        }

        if (cc->rlast == cc->rbuf + cc->rsize) {
            n = cc->rlast - cc->rpos;
            ngx_memmove(cc->rbuf, cc->rpos, n);
            cc->rpos = cc->rbuf;
            cc->rlast = cc->rbuf + n;
        }

        if (total >= NGX_HTTP_TWITCH_CHAT_READ_BUDGET) {
            /* let other connections have their turn */
            ngx_post_event(c->read, &ngx_posted_events);
            break;
        }

        n = c->recv(c, cc->rlast, cc->rbuf + cc->rsize - cc->rlast);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
                ngx_http_twitch_chat_finalize(cc);
                return;
            }

            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            /* the client is gone: what can still be written, is */
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                           "chat: client closed the connection");

            if (cc->out != NULL && n == 0) {
                (void) ngx_http_twitch_chat_flush(cc);
            }

            ngx_http_twitch_chat_finalize(cc);
            return;
        }

        cc->rlast += n;
        total += n;
        cc->last_read = ngx_current_msec;
        cc->ping_sent = 0;
    }

    if (ngx_http_twitch_chat_keep(cc) != NGX_OK) {
        ngx_http_twitch_chat_finalize(cc);
    }
}


/*
 * Between reads the worker's buffer belongs to nobody: unparsed input
 * moves to a buffer of the connection's own, which goes once it is empty.
 */

static ngx_int_t
ngx_http_twitch_chat_keep(ngx_http_twitch_chat_conn_t *cc)
{
    u_char  *buf;
    size_t   n;

    n = cc->rlast - cc->rpos;

    if (cc->rbuf != cc->worker->rbuf) {

        if (n == 0) {
            ngx_free(cc->rbuf);
            cc->rbuf = NULL;
        }

        return NGX_OK;
    }

    if (n == 0) {
        cc->rbuf = NULL;
        return NGX_OK;
    }

    buf = ngx_alloc(NGX_HTTP_TWITCH_CHAT_READ_BUF, cc->connection->log);
    if (buf == NULL) {
        cc->rbuf = NULL;
        return NGX_ERROR;
    }

    ngx_memcpy(buf, cc->rpos, n);

    cc->rbuf = buf;
    cc->rsize = NGX_HTTP_TWITCH_CHAT_READ_BUF;
    cc->rpos = buf;
    cc->rlast = buf + n;

    return NGX_OK;
}


/*
 * A message buffer of at least parser.need bytes, with what was received
 * so far; it doubles at least, so that many small fragments do not make
 * as many copies.
 */

static ngx_int_t
ngx_http_twitch_chat_grow(ngx_http_twitch_chat_conn_t *cc)
{
    u_char                            *buf;
    size_t                             size;
    ngx_http_twitch_chat_ws_parser_t  *p;

    p = &cc->parser;

    size = ngx_max(p->need, ngx_min(2 * p->msg_size, p->msg_max));

    buf = ngx_alloc(size, cc->connection->log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    if (p->msg_len) {
        ngx_memcpy(buf, p->msg, p->msg_len);
    }

    if (p->msg != NULL) {
        ngx_free(p->msg);
    }

    p->msg = buf;
    p->msg_size = size;

    return NGX_OK;
}


/* NGX_DONE: the connection was finalized */

static ngx_int_t
ngx_http_twitch_chat_frame_event(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_ws_event_t *ev)
{
    ngx_int_t                      rc;
    ngx_uint_t                     code;
    ngx_http_twitch_chat_frame_t  *f;

    switch (ev->opcode) {

    case NGX_HTTP_TWITCH_WS_PING:

        if (cc->closing) {
            return NGX_OK;
        }

        f = ngx_http_twitch_chat_frame(NGX_HTTP_TWITCH_WS_PONG, ev->data,
                                       ev->len, cc->connection->log);
        if (f == NULL) {
            ngx_http_twitch_chat_close(cc, NGX_HTTP_TWITCH_WS_INTERNAL, NULL);
            return NGX_OK;
        }

        (void) ngx_http_twitch_chat_send(cc, f);
        ngx_http_twitch_chat_frame_release(f);

        return NGX_OK;

    case NGX_HTTP_TWITCH_WS_PONG:
        return NGX_OK;

    case NGX_HTTP_TWITCH_WS_CLOSE:

        cc->close_received = 1;

        if (cc->close_sent) {
            /* the answer to our close */
            if (cc->out == NULL) {
                ngx_http_twitch_chat_finalize(cc);
                return NGX_DONE;
            }

            return NGX_OK;
        }

        /* echo the code; an empty close frame is answered empty */

        code = (ev->code == NGX_HTTP_TWITCH_WS_NO_STATUS) ? 0 : ev->code;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cc->connection->log, 0,
                       "chat: client closed with %ui", ev->code);

        ngx_http_twitch_chat_close(cc, code, NULL);
        return NGX_OK;

    default: /* text */

        if (cc->closing) {
            return NGX_OK;
        }

        rc = ngx_http_twitch_chat_message(cc, ev->data, ev->len);

        if (rc == NGX_ERROR) {
            ngx_http_twitch_chat_close(cc, NGX_HTTP_TWITCH_WS_INTERNAL, NULL);
        }

        return NGX_OK;
    }
}


static void
ngx_http_twitch_chat_write_handler(ngx_event_t *wev)
{
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_twitch_chat_conn_t  *cc;

    c = wev->data;
    r = c->data;
    cc = ngx_http_get_module_ctx(r, ngx_http_twitch_chat_module);

    ngx_http_twitch_chat_write(cc);
}


/* the worker's posted event: every connection given frames in this turn */

void
ngx_http_twitch_chat_write_all(ngx_event_t *ev)
{
    ngx_queue_t                    *q;
    ngx_http_twitch_chat_conn_t    *cc;
    ngx_http_twitch_chat_worker_t  *w;

    w = ev->data;

    while (!ngx_queue_empty(&w->writable)) {
        q = ngx_queue_head(&w->writable);
        ngx_queue_remove(q);

        cc = ngx_queue_data(q, ngx_http_twitch_chat_conn_t, writable);
        cc->write_queued = 0;

        ngx_http_twitch_chat_write(cc);
    }
}


static void
ngx_http_twitch_chat_write(ngx_http_twitch_chat_conn_t *cc)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;

    c = cc->connection;

    if (cc->abort) {
        ngx_http_twitch_chat_finalize(cc);
        return;
    }

    rc = ngx_http_twitch_chat_flush(cc);

    if (rc == NGX_ERROR) {
        ngx_http_twitch_chat_finalize(cc);
        return;
    }

    if (rc == NGX_AGAIN || !cc->close_sent) {
        return;
    }

    /* the close frame is out */

    if (cc->close_received) {
        ngx_http_twitch_chat_finalize(cc);
        return;
    }

    if (!cc->shut) {
        cc->shut = 1;

#if (NGX_SSL)
        if (c->ssl == NULL)
#endif
        {
            if (shutdown(c->fd, SHUT_WR) == -1) {
                ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, ngx_socket_errno,
                               "chat: shutdown() failed");
            }
        }
    }
}


/* NGX_OK: the queue is empty; NGX_AGAIN: the socket is full */

static ngx_int_t
ngx_http_twitch_chat_flush(ngx_http_twitch_chat_conn_t *cc)
{
    off_t                         sent;
    size_t                        size;
    u_char                       *data, *p;
    ssize_t                       k;
    ngx_uint_t                    n;
    ngx_buf_t                     b[NGX_HTTP_TWITCH_CHAT_IOV];
    ngx_chain_t                   cl[NGX_HTTP_TWITCH_CHAT_IOV], *rest;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_twitch_chat_out_t   *o;

    r = cc->request;
    c = cc->connection;

    if (c->error) {
        return NGX_ERROR;
    }

    if (r->out != NULL || c->buffered) {
        /* the rest of the 101 answer, still held by nginx's filters */

        if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (r->out != NULL || c->buffered) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }
    }

    while (cc->out != NULL) {

        o = cc->out;
        data = o->frame->data + cc->out_sent;
        size = o->frame->len - cc->out_sent;

        if (o->next == NULL
            || size + o->next->frame->len <= NGX_HTTP_TWITCH_CHAT_COALESCE)
        {
            if (o->next != NULL) {
                /* several small frames, the busy case: one buffer */

                p = ngx_cpymem(ngx_http_twitch_chat_wbuf, data, size);

                for (o = o->next;
                     o != NULL
                     && size + o->frame->len <= NGX_HTTP_TWITCH_CHAT_COALESCE;
                     o = o->next)
                {
                    p = ngx_cpymem(p, o->frame->data, o->frame->len);
                    size += o->frame->len;
                }

                data = ngx_http_twitch_chat_wbuf;
            }

            k = c->send(c, data, size);

            if (k == NGX_ERROR) {
                c->error = 1;
                ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                               "chat: writing failed");
                return NGX_ERROR;
            }

            if (k > 0) {
                ngx_http_twitch_chat_sent(cc, k);
            }

            if (k <= 0 || (size_t) k < size) {
                /* NGX_AGAIN (or nothing), or a part */
                if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                    return NGX_ERROR;
                }

                return NGX_AGAIN;
            }

            continue;
        }

        /* a large frame among several */

        n = 0;

        for (o = cc->out; o != NULL && n < NGX_HTTP_TWITCH_CHAT_IOV;
             o = o->next)
        {
            ngx_memzero(&b[n], sizeof(ngx_buf_t));

            b[n].pos = o->frame->data + (n == 0 ? cc->out_sent : 0);
            b[n].last = o->frame->data + o->frame->len;
            b[n].start = b[n].pos;
            b[n].end = b[n].last;
            b[n].memory = 1;

            cl[n].buf = &b[n];
            cl[n].next = NULL;

            if (n > 0) {
                cl[n - 1].next = &cl[n];
            }

            n++;
        }

        sent = c->sent;

        rest = c->send_chain(c, cl, 0);

        if (rest == NGX_CHAIN_ERROR) {
            c->error = 1;
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                           "chat: writing failed");
            return NGX_ERROR;
        }

        ngx_http_twitch_chat_sent(cc, c->sent - sent);

        if (rest != NULL) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }
    }

    return NGX_OK;
}


/* drops what was written from the queue */

static void
ngx_http_twitch_chat_sent(ngx_http_twitch_chat_conn_t *cc, off_t sent)
{
    size_t                        left;
    ngx_http_twitch_chat_out_t   *o;

    while (sent > 0 && cc->out != NULL) {
        o = cc->out;
        left = o->frame->len - cc->out_sent;

        if ((off_t) left > sent) {
            cc->out_sent += (size_t) sent;
            return;
        }

        sent -= left;
        cc->out_sent = 0;
        cc->out_bytes -= o->frame->len;

        cc->out = o->next;

        if (cc->out == NULL) {
            cc->out_last = &cc->out;
        }

        ngx_http_twitch_chat_frame_release(o->frame);

        o->frame = NULL;
        o->next = cc->free_out;
        cc->free_out = o;
    }
}


/*
 * Queues a frame for the client.  NGX_DECLINED: the connection is closing;
 * NGX_ERROR: the queue is over the limit, the connection is dropped (at
 * the next turn of the event loop: callers may be iterating over rooms).
 */

ngx_int_t
ngx_http_twitch_chat_send(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_frame_t *f)
{
    if (cc->close_sent || cc->abort || cc->released) {
        return NGX_DECLINED;
    }

    if (cc->out_bytes + f->len > cc->conf->send_queue) {
        ngx_log_error(NGX_LOG_INFO, cc->connection->log, 0,
                      "chat: client does not read fast enough "
                      "(%uz bytes queued), dropping it", cc->out_bytes);

        cc->abort = 1;
        ngx_post_event(cc->connection->write, &ngx_posted_events);
        return NGX_ERROR;
    }

    ngx_http_twitch_chat_enqueue(cc, f);

    return NGX_OK;
}


static void
ngx_http_twitch_chat_enqueue(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_frame_t *f)
{
    ngx_http_twitch_chat_out_t     *o;
    ngx_http_twitch_chat_worker_t  *w;

    o = cc->free_out;

    if (o != NULL) {
        cc->free_out = o->next;

    } else {
        o = ngx_palloc(cc->request->pool, sizeof(ngx_http_twitch_chat_out_t));
        if (o == NULL) {
            cc->abort = 1;
            ngx_post_event(cc->connection->write, &ngx_posted_events);
            return;
        }
    }

    f->refs++;

    o->frame = f;
    o->next = NULL;

    *cc->out_last = o;
    cc->out_last = &o->next;
    cc->out_bytes += f->len;

    if (!cc->write_queued) {
        w = cc->worker;

        cc->write_queued = 1;
        ngx_queue_insert_tail(&w->writable, &cc->writable);

        if (!w->write_ev.posted) {
            ngx_post_event(&w->write_ev, &ngx_posted_events);
        }
    }
}


/*
 * Writes the queue now rather than at the end of the event loop's turn:
 * for a large answer to one client (the join history), whose frame is
 * then freed at once instead of after every join of the same turn.
 */

void
ngx_http_twitch_chat_send_now(ngx_http_twitch_chat_conn_t *cc)
{
    if (cc->out == NULL || cc->abort || cc->released) {
        return;
    }

    if (ngx_http_twitch_chat_flush(cc) == NGX_ERROR) {
        cc->abort = 1;
        ngx_post_event(cc->connection->write, &ngx_posted_events);
    }
}


ngx_int_t
ngx_http_twitch_chat_send_json(ngx_http_twitch_chat_conn_t *cc, yajl_gen g)
{
    ngx_int_t                      rc;
    ngx_http_twitch_chat_frame_t  *f;

    f = ngx_http_twitch_chat_frame_json(g, cc->connection->log);
    if (f == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_twitch_chat_send(cc, f);
    ngx_http_twitch_chat_frame_release(f);

    return (rc == NGX_ERROR) ? NGX_DECLINED : NGX_OK;
}


/*
 * Starts the closing handshake: code 0 sends an empty close frame.  After
 * a protocol error the parser cannot find the client's close frame any
 * more (parse_closing is cleared by the caller).
 */

static void
ngx_http_twitch_chat_close(ngx_http_twitch_chat_conn_t *cc, ngx_uint_t code,
    const char *reason)
{
    u_char                         buf[125];
    size_t                         len;
    ngx_msec_t                     linger;
    ngx_http_twitch_chat_frame_t  *f;

    if (cc->close_sent || cc->abort || cc->released) {
        return;
    }

    len = 0;

    if (code) {
        buf[0] = (u_char) (code >> 8);
        buf[1] = (u_char) code;
        len = 2;

        if (reason != NULL) {
            len += ngx_min(ngx_strlen(reason), sizeof(buf) - 2);
            ngx_memcpy(buf + 2, reason, len - 2);
        }
    }

    cc->closing = 1;
    cc->close_sent = 1;
    cc->parse_closing = 1;
    cc->connection->idle = 0;

    if (cc->ping.timer_set) {
        ngx_del_timer(&cc->ping);
    }

    if (cc->session.timer_set) {
        ngx_del_timer(&cc->session);
    }

    /* not cancelable: a graceful shutdown waits for the close handshake */

    linger = (ngx_exiting || ngx_terminate) ? NGX_HTTP_TWITCH_CHAT_LINGER_EXIT
                                            : NGX_HTTP_TWITCH_CHAT_LINGER;
    ngx_add_timer(&cc->linger, linger);

    f = ngx_http_twitch_chat_frame(NGX_HTTP_TWITCH_WS_CLOSE, buf, len,
                                   cc->connection->log);
    if (f == NULL) {
        cc->abort = 1;
        ngx_post_event(cc->connection->write, &ngx_posted_events);
        return;
    }

    ngx_http_twitch_chat_enqueue(cc, f);
    ngx_http_twitch_chat_frame_release(f);
}


/* a close with code (and reason), from outside this file */

void
ngx_http_twitch_chat_fail(ngx_http_twitch_chat_conn_t *cc, ngx_uint_t code)
{
    ngx_http_twitch_chat_close(cc, code, NULL);
}


void
ngx_http_twitch_chat_close_with(ngx_http_twitch_chat_conn_t *cc,
    ngx_uint_t code, const char *reason)
{
    ngx_http_twitch_chat_close(cc, code, reason);
}


/* the asynchronous step of the connection is over: read again */

void
ngx_http_twitch_chat_resume(ngx_http_twitch_chat_conn_t *cc)
{
    cc->busy = 0;
    cc->step = NULL;

    if (cc->tmp != NULL) {
        ngx_destroy_pool(cc->tmp);
        cc->tmp = NULL;
    }

    if (cc->released || cc->abort) {
        return;
    }

    ngx_post_event(cc->connection->read, &ngx_posted_events);
}


static void
ngx_http_twitch_chat_ping_handler(ngx_event_t *ev)
{
    ngx_msec_t                     elapsed, interval;
    ngx_http_twitch_chat_conn_t   *cc;
    ngx_http_twitch_chat_frame_t  *f;

    cc = ev->data;

    if (cc->closing) {
        return;
    }

    interval = cc->conf->ping_interval;
    elapsed = ngx_current_msec - cc->last_read;

    if (elapsed < interval) {
        ngx_add_timer(ev, interval - elapsed);
        return;
    }

    if (cc->ping_sent) {
        ngx_log_error(NGX_LOG_INFO, cc->connection->log, 0,
                      "chat: client did not answer a ping in %M ms, "
                      "closing", interval);

        ngx_http_twitch_chat_close(cc, NGX_HTTP_TWITCH_WS_GOING_AWAY,
                                   "ping timeout");
        return;
    }

    f = ngx_http_twitch_chat_frame(NGX_HTTP_TWITCH_WS_PING, NULL, 0,
                                   cc->connection->log);
    if (f != NULL) {
        (void) ngx_http_twitch_chat_send(cc, f);
        ngx_http_twitch_chat_frame_release(f);
    }

    cc->ping_sent = 1;
    ngx_add_timer(ev, interval);
}


static void
ngx_http_twitch_chat_linger_handler(ngx_event_t *ev)
{
    ngx_http_twitch_chat_conn_t  *cc;

    cc = ev->data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, cc->connection->log, 0,
                   "chat: closing handshake timed out");

    ngx_http_twitch_chat_finalize(cc);
}


/* the worker exits: close every connection now, without I/O */

void
ngx_http_twitch_chat_abort_all(ngx_http_twitch_chat_worker_t *w)
{
    ngx_queue_t                  *q;
    ngx_http_twitch_chat_conn_t  *cc;

    while (!ngx_queue_empty(&w->conns)) {
        q = ngx_queue_head(&w->conns);
        cc = ngx_queue_data(q, ngx_http_twitch_chat_conn_t, queue);
        ngx_http_twitch_chat_finalize(cc);
    }
}


static void
ngx_http_twitch_chat_finalize(ngx_http_twitch_chat_conn_t *cc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = cc->request;
    c = cc->connection;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0, "chat: closing connection");

    ngx_http_twitch_chat_release(cc);

    /* the request's last reference: as ngx_http_close_request() does */

    r->main->count = 0;

    ngx_http_free_request(r, 0);
    ngx_http_close_connection(c);
}


/* lets go of rooms, pending steps and queued frames; runs once */

static void
ngx_http_twitch_chat_release(ngx_http_twitch_chat_conn_t *cc)
{
    ngx_http_twitch_chat_out_t     *o;
    ngx_http_twitch_chat_worker_t  *w;

    if (cc->released) {
        return;
    }

    cc->released = 1;
    w = cc->worker;

    ngx_http_twitch_chat_command_cancel(cc);
    ngx_http_twitch_chat_id_cancel(cc);

    if (cc->cmd != NULL) {
        if (w->tmcf->redis != NULL) {
            ngx_http_twitch_redis_cancel(cc->cmd);
        }

        cc->cmd = NULL;
    }

    if (cc->query != NULL) {
        if (w->tmcf->pg != NULL) {
            ngx_http_twitch_pg_cancel(cc->query);
        }

        cc->query = NULL;
    }

    if (cc->session_cmd != NULL) {
        if (w->tmcf->redis != NULL) {
            ngx_http_twitch_redis_cancel(cc->session_cmd);
        }

        cc->session_cmd = NULL;
    }

    if (cc->session.timer_set) {
        ngx_del_timer(&cc->session);
    }

    ngx_http_twitch_chat_leave_all(cc);

    if (cc->write_queued) {
        cc->write_queued = 0;
        ngx_queue_remove(&cc->writable);
    }

    while (cc->out != NULL) {
        o = cc->out;
        cc->out = o->next;
        ngx_http_twitch_chat_frame_release(o->frame);
    }

    if (cc->parser.msg != NULL) {
        ngx_free(cc->parser.msg);
        cc->parser.msg = NULL;
        cc->parser.msg_size = 0;
    }

    if (cc->rbuf != NULL && cc->rbuf != w->rbuf) {
        ngx_free(cc->rbuf);
    }

    cc->rbuf = NULL;
    cc->rpos = NULL;
    cc->rlast = NULL;

    cc->out_last = &cc->out;
    cc->out_bytes = 0;

    if (cc->ping.timer_set) {
        ngx_del_timer(&cc->ping);
    }

    if (cc->linger.timer_set) {
        ngx_del_timer(&cc->linger);
    }

    if (cc->tmp != NULL) {
        ngx_destroy_pool(cc->tmp);
        cc->tmp = NULL;
    }

    ngx_queue_remove(&cc->queue);
    w->nconns--;
}


static void
ngx_http_twitch_chat_cleanup(void *data)
{
    ngx_http_twitch_chat_conn_t  *cc = data;

    ngx_http_twitch_chat_release(cc);
}
