
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * The workers of one nginx without Redis: while Redis is down, a message
 * accepted by a worker is delivered to that worker's sockets at once and
 * written to a ring of slots in shared memory; the other workers read
 * the ring every 50 ms (only while Redis is down) and deliver what is
 * new to their own rooms.  So an outage splits the chat by instance, not
 * by worker.
 *
 * A slot holds one message (at most NGX_HTTP_TWITCH_CHAT_RELAY_SLOT
 * bytes; a larger one stays in its worker).  A reader that falls more
 * than the ring behind skips what was overwritten; messages older than
 * 10 s are not delivered (a worker that notices the outage late does not
 * replay old traffic).  A message that also came through Redis is
 * delivered once (the rooms remember the ids they delivered).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


#define NGX_HTTP_TWITCH_CHAT_RELAY_SLOTS   128
#define NGX_HTTP_TWITCH_CHAT_RELAY_SLOT    16384
#define NGX_HTTP_TWITCH_CHAT_RELAY_POLL    50
#define NGX_HTTP_TWITCH_CHAT_RELAY_MAX_AGE 10000


typedef struct {
    uint64_t                        seq;
    int64_t                         channel_id;
    int64_t                         id;
    int64_t                         time;          /* ms, wall clock */
    ngx_pid_t                       pid;
    size_t                          len;
    u_char                          data[NGX_HTTP_TWITCH_CHAT_RELAY_SLOT];
} ngx_http_twitch_chat_relay_slot_t;


/* a slot's copy, taken under the lock */

typedef struct {
    int64_t                         channel_id;
    int64_t                         id;
    size_t                          len;
    u_char                         *data;
} ngx_http_twitch_chat_relay_msg_t;


struct ngx_http_twitch_chat_relay_s {
    uint64_t                        next_seq;
    ngx_http_twitch_chat_relay_slot_t
                                    slots[NGX_HTTP_TWITCH_CHAT_RELAY_SLOTS];
};


static ngx_int_t ngx_http_twitch_chat_relay_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_twitch_chat_relay_poll(ngx_event_t *ev);


/* the shared zone, added at configuration time when the chat is used */

ngx_int_t
ngx_http_twitch_chat_relay_zone(ngx_conf_t *cf,
    ngx_http_twitch_chat_main_conf_t *cmcf)
{
    ngx_str_t  name = ngx_string("twitch_chat_relay");

    cmcf->relay_zone = ngx_shared_memory_add(cf, &name,
                                 sizeof(ngx_http_twitch_chat_relay_t)
                                 + 64 * 1024,
                                 &ngx_http_twitch_chat_module);
    if (cmcf->relay_zone == NULL) {
        return NGX_ERROR;
    }

    cmcf->relay_zone->init = ngx_http_twitch_chat_relay_init_zone;
    cmcf->relay_zone->noreuse = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_chat_relay_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                *shpool;
    ngx_http_twitch_chat_relay_t   *relay;

    if (data) {
        /* a reload keeps the ring */
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    relay = ngx_slab_alloc(shpool, sizeof(ngx_http_twitch_chat_relay_t));
    if (relay == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(relay, sizeof(ngx_http_twitch_chat_relay_t));

    shpool->data = relay;
    shm_zone->data = relay;

    return NGX_OK;
}


void
ngx_http_twitch_chat_relay_start(ngx_http_twitch_chat_worker_t *w)
{
    ngx_slab_pool_t  *shpool;

    if (w->conf->relay_zone == NULL || w->conf->relay_zone->data == NULL) {
        return;
    }

    w->relay = w->conf->relay_zone->data;
    shpool = (ngx_slab_pool_t *) w->conf->relay_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);
    w->relay_seq = w->relay->next_seq;
    ngx_shmtx_unlock(&shpool->mutex);

    w->relay_timer.handler = ngx_http_twitch_chat_relay_poll;
    w->relay_timer.data = w;
    w->relay_timer.log = w->log;
    w->relay_timer.cancelable = 1;
}


/* a message this worker delivered without Redis, for its siblings */

void
ngx_http_twitch_chat_relay_write(ngx_http_twitch_chat_worker_t *w,
    int64_t channel_id, int64_t id, ngx_str_t *payload)
{
    ngx_slab_pool_t                    *shpool;
    ngx_http_twitch_chat_relay_slot_t  *slot;

    if (w->relay == NULL) {
        return;
    }

    if (payload->len > NGX_HTTP_TWITCH_CHAT_RELAY_SLOT) {
        ngx_log_error(NGX_LOG_INFO, w->log, 0,
                      "chat: a message of %uz bytes stays in this worker",
                      payload->len);
        return;
    }

    shpool = (ngx_slab_pool_t *) w->conf->relay_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    slot = &w->relay->slots[w->relay->next_seq
                            % NGX_HTTP_TWITCH_CHAT_RELAY_SLOTS];

    slot->seq = w->relay->next_seq++;
    slot->channel_id = channel_id;
    slot->id = id;
    slot->time = ngx_http_twitch_chat_now_ms();
    slot->pid = ngx_pid;
    slot->len = payload->len;
    ngx_memcpy(slot->data, payload->data, payload->len);

    ngx_shmtx_unlock(&shpool->mutex);

    /* the siblings may not have noticed the outage yet: read soon */
    ngx_http_twitch_chat_relay_watch(w, 1);
}


/* read the ring while Redis is down (on), or stop (off) */

void
ngx_http_twitch_chat_relay_watch(ngx_http_twitch_chat_worker_t *w,
    ngx_uint_t on)
{
    if (w->relay == NULL) {
        return;
    }

    if (on) {
        if (!w->relay_timer.timer_set && !w->exiting) {
            ngx_add_timer(&w->relay_timer, NGX_HTTP_TWITCH_CHAT_RELAY_POLL);
        }

        return;
    }

    if (w->relay_timer.timer_set) {
        ngx_del_timer(&w->relay_timer);
    }
}


static void
ngx_http_twitch_chat_relay_poll(ngx_event_t *ev)
{
    int64_t                             now;
    uint64_t                            seq, next;
    ngx_uint_t                          n, i;
    ngx_pool_t                         *pool;
    ngx_slab_pool_t                    *shpool;
    ngx_http_twitch_chat_room_t        *room;
    ngx_http_twitch_chat_worker_t      *w;
    ngx_http_twitch_chat_relay_msg_t   *msgs;
    ngx_http_twitch_chat_relay_slot_t  *slot;

    w = ev->data;

    if (w->exiting) {
        return;
    }

    pool = ngx_create_pool(4096, w->log);
    if (pool == NULL) {
        ngx_add_timer(ev, NGX_HTTP_TWITCH_CHAT_RELAY_POLL);
        return;
    }

    msgs = ngx_palloc(pool, NGX_HTTP_TWITCH_CHAT_RELAY_SLOTS
                            * sizeof(ngx_http_twitch_chat_relay_msg_t));
    if (msgs == NULL) {
        ngx_destroy_pool(pool);
        ngx_add_timer(ev, NGX_HTTP_TWITCH_CHAT_RELAY_POLL);
        return;
    }

    shpool = (ngx_slab_pool_t *) w->conf->relay_zone->shm.addr;
    now = ngx_http_twitch_chat_now_ms();
    n = 0;

    ngx_shmtx_lock(&shpool->mutex);

    next = w->relay->next_seq;
    seq = w->relay_seq;

    if (next - seq > NGX_HTTP_TWITCH_CHAT_RELAY_SLOTS) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "chat: %uL relayed messages were overwritten before "
                      "this worker read them",
                      next - seq - NGX_HTTP_TWITCH_CHAT_RELAY_SLOTS);
        seq = next - NGX_HTTP_TWITCH_CHAT_RELAY_SLOTS;
    }

    for ( /* void */ ; seq < next; seq++) {
        slot = &w->relay->slots[seq % NGX_HTTP_TWITCH_CHAT_RELAY_SLOTS];

        if (slot->seq != seq || slot->pid == ngx_pid
            || now - slot->time > NGX_HTTP_TWITCH_CHAT_RELAY_MAX_AGE)
        {
            continue;
        }

        msgs[n].data = ngx_pnalloc(pool, slot->len);
        if (msgs[n].data == NULL) {
            break;
        }

        ngx_memcpy(msgs[n].data, slot->data, slot->len);
        msgs[n].len = slot->len;
        msgs[n].channel_id = slot->channel_id;
        msgs[n].id = slot->id;
        n++;
    }

    w->relay_seq = seq;

    ngx_shmtx_unlock(&shpool->mutex);

    /* delivered outside the lock */

    for (i = 0; i < n; i++) {
        room = ngx_http_twitch_chat_room_find(w, msgs[i].channel_id);

        if (room != NULL && room->ready) {
            (void) ngx_http_twitch_chat_room_local(room, msgs[i].id,
                                                   msgs[i].data,
                                                   msgs[i].len);
        }
    }

    ngx_destroy_pool(pool);

    if (!w->redis_up || w->degraded) {
        ngx_add_timer(ev, NGX_HTTP_TWITCH_CHAT_RELAY_POLL);
    }
}
