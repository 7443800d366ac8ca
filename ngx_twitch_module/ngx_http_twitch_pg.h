
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_PG_H_INCLUDED_
#define _NGX_HTTP_TWITCH_PG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <libpq-fe.h>

#include "ngx_http_twitch_module.h"


#define NGX_HTTP_TWITCH_PG_MAX_STMTS    256
#define NGX_HTTP_TWITCH_PG_MAX_PARAMS   16


/*
 * A statement of the platform.  Statements are prepared lazily on each
 * pooled connection the first time they run there, and prepared again
 * after a reconnect.  "id" is assigned by the pool on first use.
 */
typedef struct {
    const char                  *name;
    const char                  *sql;
    int                          nparams;
    ngx_uint_t                   id;
} ngx_http_twitch_pg_stmt_t;


typedef struct ngx_http_twitch_pg_query_s  ngx_http_twitch_pg_query_t;


/*
 * Result handler.  rc is
 *   NGX_OK        the statement ran; res is its result (tuples or command),
 *   NGX_ERROR     the server refused the statement; res holds the error
 *                 (PQresultErrorField() gives the SQLSTATE),
 *   NGX_DECLINED  the database was unreachable or the query timed out;
 *                 res is NULL.
 * res is cleared by the pool when the handler returns.
 */
typedef void (*ngx_http_twitch_pg_handler_pt)(void *data, PGresult *res,
    ngx_int_t rc);


ngx_http_twitch_pg_pool_t *ngx_http_twitch_pg_pool_create(ngx_cycle_t *cycle,
    ngx_http_twitch_main_conf_t *tmcf);
void ngx_http_twitch_pg_pool_destroy(ngx_http_twitch_pg_pool_t *pool);

/*
 * Runs stmt with params (text format, NUL-terminated strings or NULL for
 * SQL NULL).  Returns NULL when no connection can take the query now
 * (database down or the wait queue full): the caller answers 503.
 */
ngx_http_twitch_pg_query_t *ngx_http_twitch_pg_query(
    ngx_http_twitch_pg_pool_t *pool, ngx_http_twitch_pg_stmt_t *stmt,
    const char **params, ngx_http_twitch_pg_handler_pt handler, void *data,
    ngx_log_t *log);

/* the handler will not be called; the query's resources are released */
void ngx_http_twitch_pg_cancel(ngx_http_twitch_pg_query_t *q);

ngx_uint_t ngx_http_twitch_pg_is_up(ngx_http_twitch_pg_pool_t *pool);
void ngx_http_twitch_pg_stats(ngx_http_twitch_pg_pool_t *pool,
    ngx_uint_t *up, ngx_uint_t *busy, ngx_uint_t *waiting);


#endif /* _NGX_HTTP_TWITCH_PG_H_INCLUDED_ */
