
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_CHILD_H_INCLUDED_
#define _NGX_HTTP_TWITCH_CHILD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct ngx_http_twitch_child_s  ngx_http_twitch_child_t;

/*
 * The program ended: status is its exit code (>= 0), minus the signal
 * that killed it, or NGX_ERROR when that is unknown (its supervisor was
 * killed).  The child is freed when the handler returns.
 */
typedef void (*ngx_http_twitch_child_pt)(void *data, ngx_int_t status);


/*
 * Runs path with argv (argv[0] included, NULL-terminated) in the
 * background.  stdin is /dev/null; stdout and stderr go to output (a
 * file, appended to) or /dev/null.  The program dies with the worker.
 */
ngx_http_twitch_child_t *ngx_http_twitch_child_spawn(const char *path,
    char *const *argv, const char *output, ngx_http_twitch_child_pt handler,
    void *data, ngx_log_t *log);

/* SIGTERM to the program; the handler still runs when it has ended */
void ngx_http_twitch_child_stop(ngx_http_twitch_child_t *child);

/* the handler will not be called (the program keeps running) */
void ngx_http_twitch_child_forget(ngx_http_twitch_child_t *child);

/* the worker exits: every program is asked to stop */
void ngx_http_twitch_child_stop_all(void);


#endif /* _NGX_HTTP_TWITCH_CHILD_H_INCLUDED_ */
