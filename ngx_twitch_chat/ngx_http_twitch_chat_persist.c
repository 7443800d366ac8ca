
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Chat messages and PostgreSQL, without making the chat wait for it.
 *
 * Ids: the worker reserves blocks of ids with reserve_chat_message_ids()
 * (db/README.md) and hands them out as messages are accepted, so the id a
 * client sees is the row's id, the one moderation acts on.  The next block
 * is fetched while half of the current one is left.  A message waits for
 * an id only when the worker has none at all (just started, or the
 * database has been down for a while).
 *
 * Rows: accepted messages queue in the worker and are inserted in batches
 * (at most 200, every twitch_chat_flush_interval or as soon as 100 wait)
 * with INSERT ... ON CONFLICT (id) DO NOTHING, so that a batch can be
 * sent again after a lost connection.  The rows come from the messages'
 * JSON, as broadcast.  While the database is down the queue waits (at
 * most 20000 messages; the oldest go first); when the worker quits, the
 * batches still go out before it exits, unless the database is down.
 *
 * A message deleted (or cleared) before its row exists stays in the
 * queue: the moderation layer left a tombstone (migration 020), so the row
 * is stored as deleted, with who deleted it and when, and never shows as
 * a live message.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


#define NGX_HTTP_TWITCH_CHAT_BATCH        100
#define NGX_HTTP_TWITCH_CHAT_BATCH_MAX    200
#define NGX_HTTP_TWITCH_CHAT_PENDING_MAX  20000
#define NGX_HTTP_TWITCH_CHAT_BACKOFF_MAX  5000


typedef struct {
    ngx_queue_t                     queue;
    int64_t                         id;
    int64_t                         channel_id;
    size_t                          len;
    u_char                         *data;
} ngx_http_twitch_chat_pending_t;


static void ngx_http_twitch_chat_reserve(ngx_http_twitch_chat_worker_t *w);
static void ngx_http_twitch_chat_reserved(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_chat_id_timer(ngx_event_t *ev);
static void ngx_http_twitch_chat_flush(ngx_http_twitch_chat_worker_t *w);
static void ngx_http_twitch_chat_flushed(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_chat_flush_timer(ngx_event_t *ev);
static void ngx_http_twitch_chat_flush_guard(ngx_event_t *ev);
static void ngx_http_twitch_chat_flush_later(ngx_http_twitch_chat_worker_t *w,
    ngx_msec_t delay);
static void ngx_http_twitch_chat_pending_free(ngx_queue_t *queue,
    ngx_uint_t *n);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_reserve_stmt = {
    "chat_reserve_ids",
    "SELECT first_id, last_id FROM reserve_chat_message_ids()",
    0, 0
};


/*
 * $1: a JSON array of chat messages as broadcast.  A message of a channel
 * deleted meanwhile is skipped; an author deleted meanwhile becomes NULL.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_chat_insert_stmt = {
    "chat_insert",
    "INSERT INTO chat_messages (id, channel_id, stream_id, user_id,"
    " username, message, badges, emotes, is_action, created_at)"
    " SELECT (m->>'id')::bigint, (m->>'channelId')::bigint,"
    " (SELECT s.id FROM streams s"
    " WHERE s.channel_id = (m->>'channelId')::bigint"
    " AND s.ended_at IS NULL),"
    " (SELECT u.id FROM users u WHERE u.id = (m->>'userId')::bigint),"
    " m->>'username', m->>'message',"
    " coalesce(m->'badges', '[]'), coalesce(m->'emotes', '[]'),"
    " coalesce((m->>'action')::boolean, false),"
    " to_timestamp((m->>'timestamp')::bigint / 1000.0)"
    " FROM jsonb_array_elements($1::jsonb) AS m"
    " WHERE EXISTS (SELECT 1 FROM channels c"
    " WHERE c.id = (m->>'channelId')::bigint)"
    " ON CONFLICT (id) DO NOTHING",
    1, 0
};


void
ngx_http_twitch_chat_persist_init(ngx_http_twitch_chat_worker_t *w)
{
    ngx_queue_init(&w->id_waiters);
    ngx_queue_init(&w->pending);
    ngx_queue_init(&w->flushing);

    w->id_timer.handler = ngx_http_twitch_chat_id_timer;
    w->id_timer.data = w;
    w->id_timer.log = w->log;
    w->id_timer.cancelable = 1;

    w->flush_timer.handler = ngx_http_twitch_chat_flush_timer;
    w->flush_timer.data = w;
    w->flush_timer.log = w->log;

    w->flush_guard.handler = ngx_http_twitch_chat_flush_guard;
    w->flush_guard.data = w;
    w->flush_guard.log = w->log;

    /* the first block, before the first message */
    ngx_http_twitch_chat_reserve(w);
}


/*
 * NGX_OK: *id is the message's id; NGX_AGAIN: the connection waits for a
 * block (ngx_http_twitch_chat_id_ready() is called); NGX_ERROR: none can
 * be had now.
 */

ngx_int_t
ngx_http_twitch_chat_next_id(ngx_http_twitch_chat_conn_t *cc, int64_t *id)
{
    ngx_http_twitch_chat_worker_t  *w;

    w = cc->worker;

    if (w->next_id == 0 || w->next_id > w->last_id) {

        if (w->spare_first) {
            w->next_id = w->spare_first;
            w->last_id = w->spare_last;
            w->spare_first = 0;
            w->spare_last = 0;

        } else {
            w->next_id = 0;
        }
    }

    if (w->next_id) {
        *id = w->next_id++;

        if (w->spare_first == 0
            && w->last_id - w->next_id < NGX_HTTP_TWITCH_CHAT_BATCH / 2)
        {
            ngx_http_twitch_chat_reserve(w);
        }

        return NGX_OK;
    }

    ngx_http_twitch_chat_reserve(w);

    if (w->id_query == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_insert_tail(&w->id_waiters, &cc->id_wait);
    cc->id_waiting = 1;

    return NGX_AGAIN;
}


void
ngx_http_twitch_chat_id_cancel(ngx_http_twitch_chat_conn_t *cc)
{
    if (cc->id_waiting) {
        ngx_queue_remove(&cc->id_wait);
        cc->id_waiting = 0;
    }
}


static void
ngx_http_twitch_chat_reserve(ngx_http_twitch_chat_worker_t *w)
{
    if (w->id_query != NULL || w->exiting || w->tmcf->pg == NULL) {
        return;
    }

    w->id_query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                           &ngx_http_twitch_chat_reserve_stmt,
                                           NULL,
                                           ngx_http_twitch_chat_reserved,
                                           w, w->log);

    if (w->id_query == NULL && !w->id_timer.timer_set) {
        ngx_add_timer(&w->id_timer, 1000);
    }
}


static void
ngx_http_twitch_chat_reserved(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_chat_worker_t *w = data;

    int64_t                       first, last;
    ngx_queue_t                  *q;
    ngx_http_twitch_chat_conn_t  *cc;

    w->id_query = NULL;

    first = 0;
    last = 0;

    if (rc == NGX_OK && PQntuples(res) == 1) {
        first = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                          PQgetlength(res, 0, 0));
        last = ngx_atoof((u_char *) PQgetvalue(res, 0, 1),
                         PQgetlength(res, 0, 1));
    }

    if (first <= 0 || last < first) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "chat: cannot reserve message ids, retrying");

        if (!w->id_timer.timer_set) {
            ngx_add_timer(&w->id_timer, 1000);
        }

    } else if (w->next_id == 0 || w->next_id > w->last_id) {
        w->next_id = first;
        w->last_id = last;

    } else {
        w->spare_first = first;
        w->spare_last = last;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "chat: message ids %L..%L reserved", first, last);

    while (!ngx_queue_empty(&w->id_waiters)) {
        q = ngx_queue_head(&w->id_waiters);
        ngx_queue_remove(q);

        cc = ngx_queue_data(q, ngx_http_twitch_chat_conn_t, id_wait);
        cc->id_waiting = 0;

        ngx_http_twitch_chat_id_ready(cc, (first > 0) ? NGX_OK : NGX_ERROR);
    }
}


static void
ngx_http_twitch_chat_id_timer(ngx_event_t *ev)
{
    ngx_http_twitch_chat_worker_t *w = ev->data;

    if (w->next_id == 0 || w->next_id > w->last_id || w->spare_first == 0) {
        ngx_http_twitch_chat_reserve(w);
    }
}


/* an accepted message, to be written with the next batch */

void
ngx_http_twitch_chat_persist(ngx_http_twitch_chat_worker_t *w, int64_t id,
    int64_t channel_id, ngx_str_t *payload)
{
    ngx_queue_t                     *q;
    ngx_http_twitch_chat_pending_t  *pm;

    if (w->npending >= NGX_HTTP_TWITCH_CHAT_PENDING_MAX) {
        q = ngx_queue_head(&w->pending);
        ngx_queue_remove(q);
        ngx_free(ngx_queue_data(q, ngx_http_twitch_chat_pending_t, queue));
        w->npending--;

        if (w->dropped++ % 1000 == 0) {
            ngx_log_error(NGX_LOG_ERR, w->log, 0,
                          "chat: %ui messages could not be saved: "
                          "the database is unreachable", w->dropped);
        }
    }

    pm = ngx_alloc(sizeof(ngx_http_twitch_chat_pending_t) + payload->len,
                   w->log);
    if (pm == NULL) {
        return;
    }

    pm->id = id;
    pm->channel_id = channel_id;
    pm->len = payload->len;
    pm->data = (u_char *) pm + sizeof(ngx_http_twitch_chat_pending_t);
    ngx_memcpy(pm->data, payload->data, payload->len);

    ngx_queue_insert_tail(&w->pending, &pm->queue);
    w->npending++;

    if (w->npending >= NGX_HTTP_TWITCH_CHAT_BATCH) {
        ngx_http_twitch_chat_flush(w);
        return;
    }

    ngx_http_twitch_chat_flush_later(w, w->conf->flush_interval);
}


static void
ngx_http_twitch_chat_flush(ngx_http_twitch_chat_worker_t *w)
{
    u_char                          *param;
    size_t                           len;
    ngx_str_t                        err;
    ngx_uint_t                       n;
    yajl_gen                         g;
    ngx_pool_t                      *pool;
    ngx_queue_t                     *q;
    const char                      *params[1];
    const u_char                    *buf;
    ngx_http_twitch_json_t          *v;
    ngx_http_twitch_chat_pending_t  *pm;

    if (w->flush_query != NULL || ngx_queue_empty(&w->pending)
        || w->tmcf->pg == NULL)
    {
        return;
    }

    if (w->flush_timer.timer_set) {
        ngx_del_timer(&w->flush_timer);
    }

    pool = ngx_create_pool(16384, w->log);
    if (pool == NULL) {
        ngx_http_twitch_chat_flush_later(w, 1000);
        return;
    }

    g = ngx_http_twitch_chat_gen();
    if (g == NULL) {
        ngx_destroy_pool(pool);
        ngx_http_twitch_chat_flush_later(w, 1000);
        return;
    }

    (void) yajl_gen_array_open(g);

    for (n = 0; n < NGX_HTTP_TWITCH_CHAT_BATCH_MAX
                && !ngx_queue_empty(&w->pending);
         n++)
    {
        q = ngx_queue_head(&w->pending);
        ngx_queue_remove(q);
        w->npending--;

        ngx_queue_insert_tail(&w->flushing, q);
        w->nflushing++;

        pm = ngx_queue_data(q, ngx_http_twitch_chat_pending_t, queue);

        if (ngx_http_twitch_json_parse(pool, pm->data, pm->len, 8, &v, &err)
            == NGX_OK)
        {
            ngx_http_twitch_json_emit(g, v);
        }
    }

    (void) yajl_gen_array_close(g);

    param = NULL;

    if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
        param = ngx_pnalloc(pool, len + 1);

        if (param != NULL) {
            *ngx_cpymem(param, buf, len) = '\0';
        }
    }

    yajl_gen_free(g);

    if (param != NULL) {
        params[0] = (const char *) param;

        w->flush_query = ngx_http_twitch_pg_query(w->tmcf->pg,
                                           &ngx_http_twitch_chat_insert_stmt,
                                           params,
                                           ngx_http_twitch_chat_flushed,
                                           w, w->log);
    }

    ngx_destroy_pool(pool);

    if (w->flush_query == NULL) {
        ngx_http_twitch_chat_flushed(w, NULL, NGX_DECLINED);
        return;
    }

    /* not cancelable: a worker that quits waits for the batch */
    ngx_add_timer(&w->flush_guard,
                  w->tmcf->pg_query_timeout + 1000);
}


static void
ngx_http_twitch_chat_flushed(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_chat_worker_t *w = data;

    ngx_queue_t  *q;

    w->flush_query = NULL;

    if (w->flush_guard.timer_set) {
        ngx_del_timer(&w->flush_guard);
    }

    if (rc == NGX_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, w->log, 0,
                       "chat: %ui messages saved", w->nflushing);

        w->flush_backoff = 0;
        ngx_http_twitch_chat_pending_free(&w->flushing, &w->nflushing);

    } else if (rc == NGX_ERROR) {
        /* the statement failed: retrying cannot help */
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "chat: %ui messages could not be saved: %s",
                      w->nflushing,
                      res ? PQresultErrorMessage(res) : "unknown error");

        ngx_http_twitch_chat_pending_free(&w->flushing, &w->nflushing);

    } else {
        /* the database is unreachable: the batch goes back, in order */

        while (!ngx_queue_empty(&w->flushing)) {
            q = ngx_queue_last(&w->flushing);
            ngx_queue_remove(q);
            ngx_queue_insert_head(&w->pending, q);
            w->npending++;
        }

        w->nflushing = 0;

        if (ngx_exiting || w->exiting) {
            ngx_log_error(NGX_LOG_WARN, w->log, 0,
                          "chat: %ui messages were not saved: the database "
                          "is unreachable and the worker exits",
                          w->npending);

            ngx_http_twitch_chat_pending_free(&w->pending, &w->npending);
            return;
        }

        w->flush_backoff = (w->flush_backoff == 0)
                           ? 200
                           : ngx_min(w->flush_backoff * 2,
                                     NGX_HTTP_TWITCH_CHAT_BACKOFF_MAX);

        ngx_http_twitch_chat_flush_later(w, w->flush_backoff);
        return;
    }

    if (w->npending >= NGX_HTTP_TWITCH_CHAT_BATCH || ngx_exiting) {
        ngx_http_twitch_chat_flush(w);

    } else if (w->npending) {
        ngx_http_twitch_chat_flush_later(w, w->conf->flush_interval);
    }
}


static void
ngx_http_twitch_chat_flush_timer(ngx_event_t *ev)
{
    ngx_http_twitch_chat_flush(ev->data);
}


/* the query outlived its own timeout by far: it is not coming back */

static void
ngx_http_twitch_chat_flush_guard(ngx_event_t *ev)
{
    ngx_http_twitch_chat_worker_t *w = ev->data;

    ngx_log_error(NGX_LOG_WARN, w->log, 0,
                  "chat: no answer to a batch of %ui messages",
                  w->nflushing);
}


/*
 * The flush timer is not cancelable: a worker that quits stays until the
 * queue is written (or found impossible to write).
 */

static void
ngx_http_twitch_chat_flush_later(ngx_http_twitch_chat_worker_t *w,
    ngx_msec_t delay)
{
    if (w->flush_query != NULL || w->flush_timer.timer_set || w->exiting) {
        return;
    }

    ngx_add_timer(&w->flush_timer, delay);
}


static void
ngx_http_twitch_chat_pending_free(ngx_queue_t *queue, ngx_uint_t *n)
{
    ngx_queue_t  *q;

    while (!ngx_queue_empty(queue)) {
        q = ngx_queue_head(queue);
        ngx_queue_remove(q);
        ngx_free(ngx_queue_data(q, ngx_http_twitch_chat_pending_t, queue));
    }

    *n = 0;
}


void
ngx_http_twitch_chat_persist_exit(ngx_http_twitch_chat_worker_t *w)
{
    if (w->npending + w->nflushing) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "chat: %ui messages were not saved before exit",
                      w->npending + w->nflushing);
    }

    ngx_http_twitch_chat_pending_free(&w->pending, &w->npending);
    ngx_http_twitch_chat_pending_free(&w->flushing, &w->nflushing);

    if (w->flush_timer.timer_set) {
        ngx_del_timer(&w->flush_timer);
    }

    if (w->flush_guard.timer_set) {
        ngx_del_timer(&w->flush_guard);
    }

    if (w->id_timer.timer_set) {
        ngx_del_timer(&w->id_timer);
    }

    while (!ngx_queue_empty(&w->id_waiters)) {
        ngx_queue_remove(ngx_queue_head(&w->id_waiters));
    }

    w->id_query = NULL;
    w->flush_query = NULL;
}
