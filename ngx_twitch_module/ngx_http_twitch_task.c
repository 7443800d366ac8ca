
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * File work of the live features (VOD playlists, clip slices, deletions)
 * runs in nginx's thread pool, never on the event loop.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_twitch_task.h"


typedef struct {
    ngx_thread_task_t               task;
    ngx_http_twitch_task_work_pt    work;
    ngx_http_twitch_task_done_pt    done;
    ngx_log_t                      *log;
} ngx_http_twitch_task_t;


#define ngx_http_twitch_task_size                                            \
    ngx_align(sizeof(ngx_http_twitch_task_t), 16)

#define ngx_http_twitch_task_of(job)                                          \
    ((ngx_http_twitch_task_t *) ((u_char *) (job) - ngx_http_twitch_task_size))


static void ngx_http_twitch_task_run(void *data, ngx_log_t *log);
static void ngx_http_twitch_task_done(ngx_event_t *ev);


void *
ngx_http_twitch_task_alloc(size_t size, ngx_log_t *log)
{
    u_char                  *p;
    ngx_http_twitch_task_t  *t;

    p = ngx_calloc(ngx_http_twitch_task_size + size, log);
    if (p == NULL) {
        return NULL;
    }

    t = (ngx_http_twitch_task_t *) p;
    t->log = log;

    return p + ngx_http_twitch_task_size;
}


void
ngx_http_twitch_task_free(void *job)
{
    ngx_free(ngx_http_twitch_task_of(job));
}


ngx_int_t
ngx_http_twitch_task_post(ngx_thread_pool_t *tp, void *job,
    ngx_http_twitch_task_work_pt work, ngx_http_twitch_task_done_pt done)
{
    ngx_http_twitch_task_t  *t;

    t = ngx_http_twitch_task_of(job);

    t->work = work;
    t->done = done;
    t->task.ctx = t;
    t->task.handler = ngx_http_twitch_task_run;
    t->task.event.handler = ngx_http_twitch_task_done;
    t->task.event.data = t;
    t->task.event.log = ngx_cycle->log;

    return ngx_thread_task_post(tp, &t->task);
}


static void
ngx_http_twitch_task_run(void *data, ngx_log_t *log)
{
    ngx_http_twitch_task_t  *t = data;

    t->work((u_char *) t + ngx_http_twitch_task_size, log);
}


static void
ngx_http_twitch_task_done(ngx_event_t *ev)
{
    ngx_http_twitch_task_t  *t = ev->data;

    t->done((u_char *) t + ngx_http_twitch_task_size);

    ngx_free(t);
}
