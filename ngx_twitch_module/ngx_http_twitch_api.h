
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_API_H_INCLUDED_
#define _NGX_HTTP_TWITCH_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_gen.h>

#include "ngx_http_twitch_module.h"
#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_redis.h"
#include "ngx_http_twitch_json.h"


#define NGX_HTTP_TWITCH_API_MAX_PARAMS  4
#define NGX_HTTP_TWITCH_API_MAX_OPS     4


typedef struct ngx_http_twitch_ctx_s  ngx_http_twitch_ctx_t;

/*
 * A route handler returns NGX_DONE while it waits for PostgreSQL or Redis
 * (it then ends the request with ngx_http_twitch_api_finalize()), or the
 * result of ngx_http_twitch_api_send()/_error().
 */
typedef ngx_int_t (*ngx_http_twitch_route_pt)(ngx_http_twitch_ctx_t *ctx);

typedef void (*ngx_http_twitch_api_pg_pt)(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
typedef void (*ngx_http_twitch_api_redis_pt)(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply);


typedef struct {
    ngx_http_twitch_ctx_t          *ctx;
    ngx_http_twitch_pg_query_t     *query;
    ngx_http_twitch_redis_cmd_t    *cmd;
    ngx_http_twitch_api_pg_pt       pg_handler;
    ngx_http_twitch_api_redis_pt    redis_handler;
} ngx_http_twitch_op_t;


struct ngx_http_twitch_ctx_s {
    ngx_http_request_t             *request;
    ngx_http_twitch_main_conf_t    *tmcf;
    ngx_http_twitch_loc_conf_t     *tlcf;
    ngx_http_twitch_route_pt        handler;
    ngx_uint_t                      with_body;
    ngx_str_t                       params[NGX_HTTP_TWITCH_API_MAX_PARAMS];
    ngx_uint_t                      nparams;
    ngx_http_twitch_json_t         *body;
    ngx_http_twitch_op_t            ops[NGX_HTTP_TWITCH_API_MAX_OPS];
    void                           *data;
};


ngx_int_t ngx_http_twitch_api_handler(ngx_http_request_t *r);

/* starts a query/command for the request; NGX_DECLINED when unavailable */
ngx_int_t ngx_http_twitch_api_pg(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_pg_stmt_t *stmt, const char **params,
    ngx_http_twitch_api_pg_pt handler);
ngx_int_t ngx_http_twitch_api_redis(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_api_redis_pt handler, int argc, const char **argv,
    const size_t *argvlen);

ngx_int_t ngx_http_twitch_api_send(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t status, yajl_gen g);
ngx_int_t ngx_http_twitch_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *message);
void ngx_http_twitch_api_finalize(ngx_http_twitch_ctx_t *ctx, ngx_int_t rc);


#endif /* _NGX_HTTP_TWITCH_API_H_INCLUDED_ */
