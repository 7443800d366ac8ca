
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Password hashing and verification with libxcrypt's yescrypt.  Both cost
 * tens of milliseconds of CPU, so they run in nginx's thread pool; the
 * thread touches only the task's own memory.  The task outlives a request
 * that goes away meanwhile (it is then freed without a callback).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <crypt.h>

#include "ngx_http_twitch_password.h"


#define NGX_HTTP_TWITCH_PASSWORD_MAX  256


typedef struct {
    ngx_http_twitch_ctx_t         *ctx;
    ngx_http_twitch_password_pt    handler;
    ngx_uint_t                     verify;
    ngx_uint_t                     cancelled;
    ngx_uint_t                     ok;
    char                           password[NGX_HTTP_TWITCH_PASSWORD_MAX];
    char                           setting[CRYPT_OUTPUT_SIZE];
    char                           result[CRYPT_OUTPUT_SIZE];
    struct crypt_data              data;
} ngx_http_twitch_password_job_t;


static ngx_int_t ngx_http_twitch_password_post(ngx_http_twitch_ctx_t *ctx,
    const char *password, const char *hash, ngx_uint_t verify,
    ngx_http_twitch_password_pt handler);
static void ngx_http_twitch_password_thread(void *data, ngx_log_t *log);
static void ngx_http_twitch_password_done(ngx_event_t *ev);


/* the hash of a random password nobody knows */
static const char  ngx_http_twitch_password_dummy[] =
    "$y$j9T$5VRTeDmsGuO5NCTSZIwwR.$DC5Lh3JJjbEhwZSe9ydg69GdcCbDJRRxwbopkf.IJ6.";


ngx_int_t
ngx_http_twitch_password_hash(ngx_http_twitch_ctx_t *ctx,
    const char *password, ngx_http_twitch_password_pt handler)
{
    return ngx_http_twitch_password_post(ctx, password, NULL, 0, handler);
}


ngx_int_t
ngx_http_twitch_password_verify(ngx_http_twitch_ctx_t *ctx,
    const char *password, const char *hash,
    ngx_http_twitch_password_pt handler)
{
    if (hash == NULL) {
        hash = ngx_http_twitch_password_dummy;
    }

    return ngx_http_twitch_password_post(ctx, password, hash, 1, handler);
}


static ngx_int_t
ngx_http_twitch_password_post(ngx_http_twitch_ctx_t *ctx,
    const char *password, const char *hash, ngx_uint_t verify,
    ngx_http_twitch_password_pt handler)
{
    size_t                           len;
    ngx_thread_task_t               *task;
    ngx_http_twitch_password_job_t  *job;

    len = ngx_strlen(password);

    if (len >= NGX_HTTP_TWITCH_PASSWORD_MAX
        || (hash && ngx_strlen(hash) >= CRYPT_OUTPUT_SIZE))
    {
        return NGX_ERROR;
    }

    /* not from the request pool: the thread may outlive the request */

    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_twitch_password_job_t),
                      ctx->request->connection->log);
    if (task == NULL) {
        return NGX_ERROR;
    }

    job = (ngx_http_twitch_password_job_t *) (task + 1);
    task->ctx = job;
    task->handler = ngx_http_twitch_password_thread;
    task->event.handler = ngx_http_twitch_password_done;
    task->event.data = task;
    task->event.log = ngx_cycle->log;

    job->ctx = ctx;
    job->handler = handler;
    job->verify = verify;
    ngx_memcpy(job->password, password, len + 1);

    if (verify) {
        ngx_cpystrn((u_char *) job->setting, (u_char *) hash,
                    CRYPT_OUTPUT_SIZE);

    } else if (crypt_gensalt_rn("$y$", 0, NULL, 0, job->setting,
                                sizeof(job->setting))
               == NULL)
    {
        ngx_log_error(NGX_LOG_ALERT, ctx->request->connection->log,
                      ngx_errno, "crypt_gensalt_rn() failed");
        ngx_free(task);
        return NGX_ERROR;
    }

    if (ngx_thread_task_post(ctx->tmcf->thread_pool, task) != NGX_OK) {
        ngx_free(task);
        return NGX_ERROR;
    }

    ctx->cancel = &job->cancelled;

    return NGX_DONE;
}


/* runs in a thread: no nginx calls but ngx_log_error() */

static void
ngx_http_twitch_password_thread(void *data, ngx_log_t *log)
{
    ngx_http_twitch_password_job_t *job = data;

    char        *out;
    size_t       i, n;
    u_char       diff;

    out = crypt_r(job->password, job->setting, &job->data);

    explicit_bzero(job->password, sizeof(job->password));

    if (out == NULL || out[0] == '*') {
        job->ok = 0;
        return;
    }

    if (!job->verify) {
        ngx_cpystrn((u_char *) job->result, (u_char *) out,
                    sizeof(job->result));
        job->ok = 1;
        return;
    }

    /* constant time over the hash's length */

    n = ngx_strlen(job->setting);

    if (ngx_strlen(out) != n) {
        job->ok = 0;
        return;
    }

    diff = 0;

    for (i = 0; i < n; i++) {
        diff |= (u_char) (out[i] ^ job->setting[i]);
    }

    job->ok = (diff == 0);
}


static void
ngx_http_twitch_password_done(ngx_event_t *ev)
{
    ngx_thread_task_t               *task = ev->data;

    ngx_int_t                        rc;
    ngx_http_twitch_ctx_t           *ctx;
    ngx_http_twitch_password_job_t  *job;

    job = task->ctx;

    if (job->cancelled) {
        ngx_free(task);
        return;
    }

    ctx = job->ctx;
    ctx->cancel = NULL;

    rc = job->handler(ctx, job->ok, job->verify ? NULL : job->result);

    explicit_bzero(job->result, sizeof(job->result));
    ngx_free(task);

    ngx_http_twitch_api_continue(ctx, rc);
}
