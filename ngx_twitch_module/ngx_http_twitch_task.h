
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_TASK_H_INCLUDED_
#define _NGX_HTTP_TWITCH_TASK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_thread_pool.h>


/* runs in a thread of the pool: file system calls, ngx_log_error() only */
typedef void (*ngx_http_twitch_task_work_pt)(void *job, ngx_log_t *log);
/* runs on the event loop afterwards; the job is freed when it returns */
typedef void (*ngx_http_twitch_task_done_pt)(void *job);


/*
 * A zeroed job of size bytes, outside any pool (the thread may outlive
 * the request that asked for it): freed after done(), or with
 * ngx_http_twitch_task_free() when it was never posted.
 */
void *ngx_http_twitch_task_alloc(size_t size, ngx_log_t *log);
void ngx_http_twitch_task_free(void *job);
ngx_int_t ngx_http_twitch_task_post(ngx_thread_pool_t *tp, void *job,
    ngx_http_twitch_task_work_pt work, ngx_http_twitch_task_done_pt done);


#endif /* _NGX_HTTP_TWITCH_TASK_H_INCLUDED_ */
