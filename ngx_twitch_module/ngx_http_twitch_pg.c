
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * A per-worker pool of non-blocking libpq connections driven by nginx
 * events.
 *
 * Connecting is polled from a timer: PQconnectPoll() may close and reopen
 * its socket (several hosts, SSL negotiation), so the socket is handed to
 * the event loop only once the connection is established.  From then on a
 * level-triggered read event watches it (results, and a server that goes
 * away while the connection is idle), and a write event is added only while
 * libpq has unsent data.
 *
 * Queries wait in a FIFO while every connection is busy; each has a timer
 * covering both the wait and the execution.  A lost connection fails its
 * query, and every waiting one when no connection is left, then reconnects
 * with exponential backoff.  Statements are prepared per connection on
 * first use and prepared again after a reconnect.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_conn.h"


#define NGX_HTTP_TWITCH_PG_POLL_MAX      20


typedef enum {
    NGX_HTTP_TWITCH_PG_DOWN = 0,
    NGX_HTTP_TWITCH_PG_CONNECTING,
    NGX_HTTP_TWITCH_PG_IDLE,
    NGX_HTTP_TWITCH_PG_BUSY
} ngx_http_twitch_pg_state_e;


typedef struct {
    ngx_http_twitch_pg_pool_t      *pool;
    PGconn                         *pg;
    ngx_connection_t               *c;
    ngx_event_t                     timer;
    ngx_msec_t                      backoff;
    ngx_msec_t                      poll;
    ngx_msec_t                      started;
    ngx_http_twitch_pg_state_e      state;
    ngx_uint_t                      preparing;
    ngx_http_twitch_pg_query_t     *query;
    PGresult                       *result;
    ngx_uint_t                      index;
    u_char                          prepared[NGX_HTTP_TWITCH_PG_MAX_STMTS / 8];
} ngx_http_twitch_pg_conn_t;


struct ngx_http_twitch_pg_query_s {
    ngx_queue_t                     queue;
    ngx_http_twitch_pg_pool_t      *pool;
    ngx_http_twitch_pg_conn_t      *conn;
    ngx_http_twitch_pg_stmt_t      *stmt;
    ngx_http_twitch_pg_handler_pt   handler;
    void                           *data;
    ngx_log_t                      *log;
    ngx_event_t                     timer;
    int                             nparams;
    const char                     *params[NGX_HTTP_TWITCH_PG_MAX_PARAMS];
};


struct ngx_http_twitch_pg_pool_s {
    ngx_http_twitch_main_conf_t    *conf;
    ngx_log_t                      *log;
    char                           *conninfo;
    ngx_http_twitch_pg_conn_t      *conns;
    ngx_uint_t                      nconns;
    ngx_queue_t                     waiting;
    ngx_uint_t                      nwaiting;
    ngx_uint_t                      next_stmt_id;
    ngx_uint_t                      down_logged;
    ngx_uint_t                      exiting;
};


static void ngx_http_twitch_pg_connect(ngx_http_twitch_pg_conn_t *conn);
static void ngx_http_twitch_pg_connect_step(ngx_http_twitch_pg_conn_t *conn);
static ngx_int_t ngx_http_twitch_pg_attach(ngx_http_twitch_pg_conn_t *conn);
static void ngx_http_twitch_pg_timer_handler(ngx_event_t *ev);
static void ngx_http_twitch_pg_read_handler(ngx_event_t *ev);
static void ngx_http_twitch_pg_write_handler(ngx_event_t *ev);
static void ngx_http_twitch_pg_fail(ngx_http_twitch_pg_conn_t *conn,
    const char *what);
static void ngx_http_twitch_pg_close(ngx_http_twitch_pg_conn_t *conn);
static void ngx_http_twitch_pg_schedule(ngx_http_twitch_pg_conn_t *conn);
static ngx_int_t ngx_http_twitch_pg_send(ngx_http_twitch_pg_conn_t *conn);
static ngx_int_t ngx_http_twitch_pg_flush(ngx_http_twitch_pg_conn_t *conn);
static void ngx_http_twitch_pg_step_done(ngx_http_twitch_pg_conn_t *conn);
static void ngx_http_twitch_pg_dispatch(ngx_http_twitch_pg_pool_t *pool);
static ngx_http_twitch_pg_conn_t *ngx_http_twitch_pg_idle(
    ngx_http_twitch_pg_pool_t *pool);
static ngx_uint_t ngx_http_twitch_pg_reachable(ngx_http_twitch_pg_pool_t *pool);
static void ngx_http_twitch_pg_fail_waiting(ngx_http_twitch_pg_pool_t *pool);
static void ngx_http_twitch_pg_finish(ngx_http_twitch_pg_query_t *q,
    PGresult *res, ngx_int_t rc);
static void ngx_http_twitch_pg_query_timeout(ngx_event_t *ev);
static void ngx_http_twitch_pg_log_error(ngx_log_t *log, ngx_uint_t level,
    const char *what, const char *msg);
static void ngx_http_twitch_pg_notice(void *arg, const char *message);


ngx_http_twitch_pg_pool_t *
ngx_http_twitch_pg_pool_create(ngx_cycle_t *cycle,
    ngx_http_twitch_main_conf_t *tmcf)
{
    ngx_uint_t                  i;
    ngx_http_twitch_pg_conn_t  *conn;
    ngx_http_twitch_pg_pool_t  *pool;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_twitch_pg_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->conf = tmcf;
    pool->log = cycle->log;
    pool->nconns = tmcf->pg_pool_size;
    ngx_queue_init(&pool->waiting);

    pool->conninfo = ngx_pnalloc(cycle->pool, tmcf->pg_conninfo.len + 1);
    if (pool->conninfo == NULL) {
        return NULL;
    }

    (void) ngx_cpystrn((u_char *) pool->conninfo, tmcf->pg_conninfo.data,
                       tmcf->pg_conninfo.len + 1);

    pool->conns = ngx_pcalloc(cycle->pool,
                              pool->nconns * sizeof(ngx_http_twitch_pg_conn_t));
    if (pool->conns == NULL) {
        return NULL;
    }

    for (i = 0; i < pool->nconns; i++) {
        conn = &pool->conns[i];

        conn->pool = pool;
        conn->index = i;
        conn->timer.handler = ngx_http_twitch_pg_timer_handler;
        conn->timer.data = conn;
        conn->timer.log = pool->log;
        conn->timer.cancelable = 1;

        ngx_http_twitch_pg_connect(conn);
    }

    return pool;
}


void
ngx_http_twitch_pg_pool_destroy(ngx_http_twitch_pg_pool_t *pool)
{
    ngx_uint_t  i;

    if (pool == NULL) {
        return;
    }

    pool->exiting = 1;

    for (i = 0; i < pool->nconns; i++) {
        ngx_http_twitch_pg_close(&pool->conns[i]);

        if (pool->conns[i].timer.timer_set) {
            ngx_del_timer(&pool->conns[i].timer);
        }
    }

    ngx_http_twitch_pg_fail_waiting(pool);
}


ngx_http_twitch_pg_query_t *
ngx_http_twitch_pg_query(ngx_http_twitch_pg_pool_t *pool,
    ngx_http_twitch_pg_stmt_t *stmt, const char **params,
    ngx_http_twitch_pg_handler_pt handler, void *data, ngx_log_t *log)
{
    u_char                      *p;
    size_t                       size, len[NGX_HTTP_TWITCH_PG_MAX_PARAMS];
    ngx_int_t                    i;
    ngx_http_twitch_pg_conn_t   *conn;
    ngx_http_twitch_pg_query_t  *q;

    if (pool == NULL || pool->exiting) {
        return NULL;
    }

    if (stmt->nparams > NGX_HTTP_TWITCH_PG_MAX_PARAMS) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "postgres statement \"%s\" has too many parameters",
                      stmt->name);
        return NULL;
    }

    if (stmt->id == 0) {
        if (pool->next_stmt_id + 1 >= NGX_HTTP_TWITCH_PG_MAX_STMTS) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "postgres statement \"%s\": too many statements",
                          stmt->name);
            return NULL;
        }

        stmt->id = ++pool->next_stmt_id;
    }

    conn = ngx_http_twitch_pg_idle(pool);

    if (conn == NULL) {
        if (!ngx_http_twitch_pg_reachable(pool)) {
            return NULL;
        }

        if (pool->nwaiting >= pool->conf->pg_queue_size) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "postgres wait queue is full (%ui queries)",
                          pool->nwaiting);
            return NULL;
        }
    }

    size = sizeof(ngx_http_twitch_pg_query_t);

    for (i = 0; i < stmt->nparams; i++) {
        len[i] = (params[i] == NULL) ? 0 : ngx_strlen(params[i]) + 1;
        size += len[i];
    }

    q = ngx_alloc(size, log);
    if (q == NULL) {
        return NULL;
    }

    ngx_memzero(q, sizeof(ngx_http_twitch_pg_query_t));

    q->pool = pool;
    q->stmt = stmt;
    q->handler = handler;
    q->data = data;
    q->log = log;
    q->nparams = stmt->nparams;

    p = (u_char *) q + sizeof(ngx_http_twitch_pg_query_t);

    for (i = 0; i < stmt->nparams; i++) {
        if (params[i] == NULL) {
            q->params[i] = NULL;
            continue;
        }

        q->params[i] = (const char *) p;
        p = ngx_cpymem(p, params[i], len[i]);
    }

    q->timer.handler = ngx_http_twitch_pg_query_timeout;
    q->timer.data = q;
    q->timer.log = pool->log;
    q->timer.cancelable = 1;
    ngx_add_timer(&q->timer, pool->conf->pg_query_timeout);

    if (conn == NULL) {
        ngx_queue_insert_tail(&pool->waiting, &q->queue);
        pool->nwaiting++;
        return q;
    }

    conn->query = q;
    q->conn = conn;
    conn->state = NGX_HTTP_TWITCH_PG_BUSY;

    if (ngx_http_twitch_pg_send(conn) != NGX_OK) {
        /* the query is failed (its handler is not called yet: detach) */
        q->handler = NULL;
        ngx_http_twitch_pg_fail(conn, "sending a query");
        return NULL;
    }

    return q;
}


void
ngx_http_twitch_pg_cancel(ngx_http_twitch_pg_query_t *q)
{
    q->handler = NULL;
    q->data = NULL;
    q->log = q->pool->log;

    if (q->conn != NULL) {
        /* running: freed when its result arrives */
        return;
    }

    ngx_queue_remove(&q->queue);
    q->pool->nwaiting--;

    if (q->timer.timer_set) {
        ngx_del_timer(&q->timer);
    }

    ngx_free(q);
}


ngx_uint_t
ngx_http_twitch_pg_is_up(ngx_http_twitch_pg_pool_t *pool)
{
    ngx_uint_t  i;

    if (pool == NULL) {
        return 0;
    }

    for (i = 0; i < pool->nconns; i++) {
        if (pool->conns[i].state == NGX_HTTP_TWITCH_PG_IDLE
            || pool->conns[i].state == NGX_HTTP_TWITCH_PG_BUSY)
        {
            return 1;
        }
    }

    return 0;
}


void
ngx_http_twitch_pg_stats(ngx_http_twitch_pg_pool_t *pool, ngx_uint_t *up,
    ngx_uint_t *busy, ngx_uint_t *waiting)
{
    ngx_uint_t  i;

    *up = 0;
    *busy = 0;
    *waiting = 0;

    if (pool == NULL) {
        return;
    }

    for (i = 0; i < pool->nconns; i++) {
        if (pool->conns[i].state == NGX_HTTP_TWITCH_PG_IDLE) {
            (*up)++;

        } else if (pool->conns[i].state == NGX_HTTP_TWITCH_PG_BUSY) {
            (*up)++;
            (*busy)++;
        }
    }

    *waiting = pool->nwaiting;
}


static void
ngx_http_twitch_pg_connect(ngx_http_twitch_pg_conn_t *conn)
{
    ngx_http_twitch_pg_pool_t  *pool;

    pool = conn->pool;

    conn->pg = PQconnectStart(pool->conninfo);

    if (conn->pg == NULL) {
        ngx_log_error(NGX_LOG_ALERT, pool->log, 0,
                      "postgres: PQconnectStart() failed: out of memory");
        ngx_http_twitch_pg_schedule(conn);
        return;
    }

    if (PQstatus(conn->pg) == CONNECTION_BAD
        || PQsetnonblocking(conn->pg, 1) != 0)
    {
        ngx_http_twitch_pg_fail(conn, "connecting");
        return;
    }

    /* libpq would print notices and asynchronous errors to stderr */
    (void) PQsetNoticeProcessor(conn->pg, ngx_http_twitch_pg_notice, conn);

    conn->state = NGX_HTTP_TWITCH_PG_CONNECTING;
    conn->started = ngx_current_msec;
    conn->poll = 1;

    ngx_http_twitch_pg_connect_step(conn);
}


static void
ngx_http_twitch_pg_connect_step(ngx_http_twitch_pg_conn_t *conn)
{
    ngx_http_twitch_pg_pool_t        *pool;
    PostgresPollingStatusType   st;

    pool = conn->pool;

    st = PQconnectPoll(conn->pg);

    switch (st) {

    case PGRES_POLLING_FAILED:
        ngx_http_twitch_pg_fail(conn, "connecting");
        return;

    case PGRES_POLLING_OK:
        if (ngx_http_twitch_pg_attach(conn) != NGX_OK) {
            ngx_http_twitch_pg_fail(conn, "attaching");
            return;
        }

        conn->state = NGX_HTTP_TWITCH_PG_IDLE;
        conn->backoff = 0;
        ngx_memzero(conn->prepared, sizeof(conn->prepared));

        if (pool->down_logged) {
            pool->down_logged = 0;
            ngx_log_error(NGX_LOG_NOTICE, pool->log, 0,
                          "postgres connection restored");
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                       "twitch pg: connection #%ui up", conn->index);

        ngx_http_twitch_pg_dispatch(pool);
        return;

    default:
        break;
    }

    if (ngx_current_msec - conn->started >= pool->conf->pg_connect_timeout) {
        ngx_log_error((pool->down_logged ? NGX_LOG_INFO : NGX_LOG_ERR),
                      pool->log, 0, "postgres connect timed out");
        pool->down_logged = 1;
        ngx_http_twitch_pg_close(conn);
        ngx_http_twitch_pg_schedule(conn);
        return;
    }

    /* poll again soon: 1, 2, 4 ... 20 ms */

    ngx_add_timer(&conn->timer, conn->poll);

    conn->poll = ngx_min(conn->poll * 2, NGX_HTTP_TWITCH_PG_POLL_MAX);
}


static ngx_int_t
ngx_http_twitch_pg_attach(ngx_http_twitch_pg_conn_t *conn)
{
    int  fd;

    fd = PQsocket(conn->pg);
    if (fd < 0) {
        return NGX_ERROR;
    }

    conn->c = ngx_http_twitch_conn_wrap(fd, conn->pool->log, conn,
                                        ngx_http_twitch_pg_read_handler,
                                        ngx_http_twitch_pg_write_handler);
    if (conn->c == NULL) {
        return NGX_ERROR;
    }

    if (ngx_add_event(conn->c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_twitch_pg_timer_handler(ngx_event_t *ev)
{
    ngx_http_twitch_pg_conn_t  *conn;

    conn = ev->data;

    if (conn->pool->exiting) {
        return;
    }

    switch (conn->state) {

    case NGX_HTTP_TWITCH_PG_DOWN:
        ngx_http_twitch_pg_connect(conn);
        break;

    case NGX_HTTP_TWITCH_PG_CONNECTING:
        ngx_http_twitch_pg_connect_step(conn);
        break;

    default:
        break;
    }
}


static void
ngx_http_twitch_pg_read_handler(ngx_event_t *ev)
{
    PGresult                   *res;
    PGnotify                   *n;
    ngx_connection_t           *c;
    ngx_http_twitch_pg_conn_t  *conn;

    c = ev->data;
    conn = c->data;

    if (PQconsumeInput(conn->pg) == 0) {
        ngx_http_twitch_pg_fail(conn, "reading");
        return;
    }

    while ((n = PQnotifies(conn->pg)) != NULL) {
        PQfreemem(n);
    }

    if (conn->state != NGX_HTTP_TWITCH_PG_BUSY) {
        if (PQstatus(conn->pg) == CONNECTION_BAD) {
            ngx_http_twitch_pg_fail(conn, "reading");
        }

        return;
    }

    while (!PQisBusy(conn->pg)) {
        res = PQgetResult(conn->pg);

        if (res == NULL) {
            ngx_http_twitch_pg_step_done(conn);
            return;
        }

        if (conn->result != NULL) {
            PQclear(conn->result);
        }

        conn->result = res;
    }

    if (PQstatus(conn->pg) == CONNECTION_BAD) {
        ngx_http_twitch_pg_fail(conn, "reading");
    }
}


static void
ngx_http_twitch_pg_write_handler(ngx_event_t *ev)
{
    ngx_connection_t           *c;
    ngx_http_twitch_pg_conn_t  *conn;

    c = ev->data;
    conn = c->data;

    if (ngx_http_twitch_pg_flush(conn) != NGX_OK) {
        ngx_http_twitch_pg_fail(conn, "writing");
    }
}


static ngx_int_t
ngx_http_twitch_pg_send(ngx_http_twitch_pg_conn_t *conn)
{
    int                          rc;
    u_char                       name[32];
    ngx_uint_t                   id;
    ngx_http_twitch_pg_query_t  *q;

    q = conn->query;
    id = q->stmt->id;

    ngx_sprintf(name, "tw%ui%Z", id);

    if (conn->prepared[id / 8] & (1 << (id % 8))) {
        conn->preparing = 0;
        rc = PQsendQueryPrepared(conn->pg, (char *) name, q->nparams,
                                 q->params, NULL, NULL, 0);

    } else {
        conn->preparing = 1;
        rc = PQsendPrepare(conn->pg, (char *) name, q->stmt->sql,
                           q->nparams, NULL);
    }

    if (rc == 0) {
        return NGX_ERROR;
    }

    return ngx_http_twitch_pg_flush(conn);
}


static ngx_int_t
ngx_http_twitch_pg_flush(ngx_http_twitch_pg_conn_t *conn)
{
    int                rc;
    ngx_connection_t  *c;

    c = conn->c;

    rc = PQflush(conn->pg);

    if (rc == -1) {
        return NGX_ERROR;
    }

    if (rc == 1) {
        if (!c->write->active) {
            if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        return NGX_OK;
    }

    if (c->write->active) {
        if (ngx_del_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_twitch_pg_step_done(ngx_http_twitch_pg_conn_t *conn)
{
    ngx_int_t                    rc;
    ngx_uint_t                   id;
    PGresult                    *res;
    ExecStatusType               st;
    ngx_http_twitch_pg_pool_t   *pool;
    ngx_http_twitch_pg_query_t  *q;

    pool = conn->pool;
    q = conn->query;
    res = conn->result;
    conn->result = NULL;

    st = (res == NULL) ? PGRES_FATAL_ERROR : PQresultStatus(res);

    if (conn->preparing && st == PGRES_COMMAND_OK) {
        PQclear(res);

        id = q->stmt->id;
        conn->prepared[id / 8] |= (u_char) (1 << (id % 8));

        if (ngx_http_twitch_pg_send(conn) != NGX_OK) {
            ngx_http_twitch_pg_fail(conn, "sending a query");
        }

        return;
    }

    rc = (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) ? NGX_OK
                                                          : NGX_ERROR;

    if (rc == NGX_ERROR) {
        ngx_http_twitch_pg_log_error(q->log, NGX_LOG_INFO, q->stmt->name,
                                     res ? PQresultErrorMessage(res)
                                         : "no result");
    }

    conn->query = NULL;
    conn->preparing = 0;
    conn->state = NGX_HTTP_TWITCH_PG_IDLE;
    q->conn = NULL;

    ngx_http_twitch_pg_finish(q, res, rc);

    if (res != NULL) {
        PQclear(res);
    }

    ngx_http_twitch_pg_dispatch(pool);
}


static void
ngx_http_twitch_pg_dispatch(ngx_http_twitch_pg_pool_t *pool)
{
    ngx_queue_t                 *qn;
    ngx_http_twitch_pg_conn_t   *conn;
    ngx_http_twitch_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)) {

        conn = ngx_http_twitch_pg_idle(pool);
        if (conn == NULL) {
            return;
        }

        qn = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(qn);
        pool->nwaiting--;

        q = ngx_queue_data(qn, ngx_http_twitch_pg_query_t, queue);

        conn->query = q;
        q->conn = conn;
        conn->state = NGX_HTTP_TWITCH_PG_BUSY;

        if (ngx_http_twitch_pg_send(conn) != NGX_OK) {
            ngx_http_twitch_pg_fail(conn, "sending a query");
        }
    }
}


static ngx_http_twitch_pg_conn_t *
ngx_http_twitch_pg_idle(ngx_http_twitch_pg_pool_t *pool)
{
    ngx_uint_t  i;

    for (i = 0; i < pool->nconns; i++) {
        if (pool->conns[i].state == NGX_HTTP_TWITCH_PG_IDLE) {
            return &pool->conns[i];
        }
    }

    return NULL;
}


static ngx_uint_t
ngx_http_twitch_pg_reachable(ngx_http_twitch_pg_pool_t *pool)
{
    ngx_uint_t  i;

    for (i = 0; i < pool->nconns; i++) {
        if (pool->conns[i].state != NGX_HTTP_TWITCH_PG_DOWN) {
            return 1;
        }
    }

    return 0;
}


static void
ngx_http_twitch_pg_fail(ngx_http_twitch_pg_conn_t *conn, const char *what)
{
    ngx_http_twitch_pg_pool_t  *pool;

    pool = conn->pool;

    ngx_http_twitch_pg_log_error(pool->log,
                                 pool->down_logged ? NGX_LOG_INFO
                                                   : NGX_LOG_ERR,
                                 what,
                                 conn->pg ? PQerrorMessage(conn->pg)
                                          : "no connection");
    pool->down_logged = 1;

    ngx_http_twitch_pg_close(conn);
    ngx_http_twitch_pg_schedule(conn);

    if (!ngx_http_twitch_pg_reachable(pool)) {
        ngx_http_twitch_pg_fail_waiting(pool);
    }
}


static void
ngx_http_twitch_pg_close(ngx_http_twitch_pg_conn_t *conn)
{
    ngx_connection_t            *c;
    ngx_http_twitch_pg_query_t  *q;

    c = conn->c;

    if (c != NULL) {
        /* libpq closes its socket itself after a read or write error */
        ngx_http_twitch_conn_release(c, conn->pg == NULL
                                        || PQsocket(conn->pg) != c->fd);
        conn->c = NULL;
    }

    if (conn->pg != NULL) {
        PQfinish(conn->pg);
        conn->pg = NULL;
    }

    if (conn->result != NULL) {
        PQclear(conn->result);
        conn->result = NULL;
    }

    if (conn->timer.timer_set) {
        ngx_del_timer(&conn->timer);
    }

    conn->state = NGX_HTTP_TWITCH_PG_DOWN;
    conn->preparing = 0;

    q = conn->query;
    conn->query = NULL;

    if (q != NULL) {
        q->conn = NULL;
        ngx_http_twitch_pg_finish(q, NULL, NGX_DECLINED);
    }
}


static void
ngx_http_twitch_pg_schedule(ngx_http_twitch_pg_conn_t *conn)
{
    if (conn->pool->exiting) {
        return;
    }

    conn->backoff = ngx_http_twitch_backoff(conn->backoff);

    conn->state = NGX_HTTP_TWITCH_PG_DOWN;

    if (conn->timer.timer_set) {
        ngx_del_timer(&conn->timer);
    }

    ngx_add_timer(&conn->timer, conn->backoff);
}


static void
ngx_http_twitch_pg_fail_waiting(ngx_http_twitch_pg_pool_t *pool)
{
    ngx_queue_t                 *qn;
    ngx_http_twitch_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)) {
        qn = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(qn);
        pool->nwaiting--;

        q = ngx_queue_data(qn, ngx_http_twitch_pg_query_t, queue);
        ngx_http_twitch_pg_finish(q, NULL, NGX_DECLINED);
    }
}


/* calls the handler (unless cancelled) and frees the query */

static void
ngx_http_twitch_pg_finish(ngx_http_twitch_pg_query_t *q, PGresult *res,
    ngx_int_t rc)
{
    if (q->timer.timer_set) {
        ngx_del_timer(&q->timer);
    }

    if (q->handler != NULL && !q->pool->exiting) {
        q->handler(q->data, res, rc);
    }

    ngx_free(q);
}


static void
ngx_http_twitch_pg_query_timeout(ngx_event_t *ev)
{
    ngx_http_twitch_pg_conn_t   *conn;
    ngx_http_twitch_pg_query_t  *q;

    q = ev->data;

    ngx_log_error(NGX_LOG_ERR, q->log, 0,
                  "postgres query \"%s\" timed out after %M ms",
                  q->stmt->name, q->pool->conf->pg_query_timeout);

    conn = q->conn;

    if (conn == NULL) {
        ngx_queue_remove(&q->queue);
        q->pool->nwaiting--;
        ngx_http_twitch_pg_finish(q, NULL, NGX_DECLINED);
        return;
    }

    /*
     * The statement still runs on the server: the connection is dropped
     * (which fails the query) and a fresh one is opened at once.
     */

    ngx_http_twitch_pg_close(conn);
    conn->backoff = 0;

    if (!conn->pool->exiting) {
        ngx_add_timer(&conn->timer, 1);
    }
}


static void
ngx_http_twitch_pg_log_error(ngx_log_t *log, ngx_uint_t level,
    const char *what, const char *msg)
{
    size_t  len;

    len = ngx_strlen(msg);

    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }

    ngx_log_error(level, log, 0, "postgres %s failed: %*s", what, len, msg);
}


static void
ngx_http_twitch_pg_notice(void *arg, const char *message)
{
    ngx_http_twitch_pg_conn_t  *conn = arg;

    size_t  len;

    len = ngx_strlen(message);

    while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == ' ')) {
        len--;
    }

    ngx_log_error(NGX_LOG_INFO, conn->pool->log, 0, "postgres says: %*s",
                  len, message);
}
