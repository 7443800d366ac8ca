
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


/*
 * A route: methods (NGX_HTTP_GET|...), a path pattern where a ":name"
 * segment captures one URI segment into ctx->params[], the handler, and
 * whether a JSON body is read (ctx->body) before the handler runs, and an
 * argument the handler reads as ctx->route_arg, so that one handler can
 * serve a family of routes.  Each feature file exports a table ending with
 * an entry whose handler is NULL.
 */
typedef struct {
    ngx_uint_t                  methods;
    ngx_str_t                   path;
    ngx_http_twitch_route_pt    handler;
    ngx_uint_t                  body;
    ngx_uint_t                  arg;
} ngx_http_twitch_route_t;


extern ngx_http_twitch_route_t  ngx_http_twitch_health_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_auth_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_channels_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_categories_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_users_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_emotes_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_search_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_streams_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_moderation_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_admin_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_clips_routes[];
extern ngx_http_twitch_route_t  ngx_http_twitch_vods_routes[];

/*
 * Completion handlers return what a route handler returns: NGX_DONE while
 * the request still waits, else the response's rc (the request is then
 * finalized for them).
 */
typedef ngx_int_t (*ngx_http_twitch_api_pg_pt)(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
typedef ngx_int_t (*ngx_http_twitch_api_redis_pt)(
    ngx_http_twitch_ctx_t *ctx, redisReply *reply);


typedef struct {
    ngx_str_t                       id;
    ngx_str_t                       username;
    ngx_str_t                       email;
    ngx_str_t                       display_name;
    ngx_str_t                       avatar_url;
    ngx_str_t                       role;
    ngx_uint_t                      admin;
    ngx_str_t                       session;
} ngx_http_twitch_user_t;


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
    ngx_uint_t                      route_arg;
    ngx_uint_t                      route_index;
    ngx_str_t                       params[NGX_HTTP_TWITCH_API_MAX_PARAMS];
    ngx_uint_t                      nparams;
    ngx_http_twitch_json_t         *body;
    ngx_http_twitch_op_t            ops[NGX_HTTP_TWITCH_API_MAX_OPS];
    ngx_http_twitch_user_t         *user;
    ngx_http_twitch_route_pt        next;
    ngx_uint_t                      required;
    ngx_str_t                      *session_id;
    ngx_uint_t                     *cancel;
    void                           *data;
};


ngx_int_t ngx_http_twitch_api_handler(ngx_http_request_t *r);
/* the routes, numbered from 1 in table order (metrics labels) */
ngx_uint_t ngx_http_twitch_api_route_count(void);
ngx_http_twitch_route_t *ngx_http_twitch_api_route_at(ngx_uint_t i);

/* starts a query/command for the request; NGX_DECLINED when unavailable */
ngx_int_t ngx_http_twitch_api_pg(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_pg_stmt_t *stmt, const char **params,
    ngx_http_twitch_api_pg_pt handler);
/* ngx_http_twitch_api_pg(), or 503 when the database is unavailable */
ngx_int_t ngx_http_twitch_api_query(ngx_http_twitch_ctx_t *ctx,
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
/* finalizes unless rc is NGX_DONE */
void ngx_http_twitch_api_continue(ngx_http_twitch_ctx_t *ctx, ngx_int_t rc);
/* adds a response header (name and value must outlive the request) */
ngx_int_t ngx_http_twitch_api_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len);


#endif /* _NGX_HTTP_TWITCH_API_H_INCLUDED_ */
