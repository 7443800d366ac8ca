
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * The REST API's content handler: finds the route for the URI and method,
 * refuses cross-site state changes, reads and parses a JSON body, runs the
 * route's handler and tracks the PostgreSQL queries and Redis commands a
 * request waits for, so that a request that goes away cancels them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"


#define NGX_HTTP_TWITCH_STATE_CHANGING                                        \
    (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH|NGX_HTTP_DELETE)


typedef struct {
    ngx_uint_t                  method;
    ngx_str_t                   name;
} ngx_http_twitch_method_name_t;


static ngx_http_twitch_route_t *ngx_http_twitch_api_route(
    ngx_http_request_t *r, ngx_http_twitch_ctx_t *ctx, ngx_uint_t *allow);
static ngx_uint_t ngx_http_twitch_api_match(ngx_str_t *pattern,
    ngx_str_t *uri, ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_api_not_allowed(ngx_http_request_t *r,
    ngx_uint_t allow);
static const char *ngx_http_twitch_api_check_csrf(ngx_http_request_t *r);
static ngx_uint_t ngx_http_twitch_api_is_json(ngx_http_request_t *r);
static void ngx_http_twitch_api_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_twitch_api_read_body(ngx_http_request_t *r,
    ngx_http_twitch_ctx_t *ctx, ngx_str_t *body);
static void ngx_http_twitch_api_run(ngx_http_twitch_ctx_t *ctx);
static ngx_http_twitch_op_t *ngx_http_twitch_api_op(
    ngx_http_twitch_ctx_t *ctx);
static void ngx_http_twitch_api_pg_done(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_api_redis_done(void *data, redisReply *reply);
static void ngx_http_twitch_api_cleanup(void *data);


/* the route tables of the feature files, searched in this order */

static ngx_http_twitch_route_t  *ngx_http_twitch_route_tables[] = {
    ngx_http_twitch_health_routes,
    ngx_http_twitch_auth_routes,
    ngx_http_twitch_channels_routes,
    ngx_http_twitch_categories_routes,
    ngx_http_twitch_users_routes,
    ngx_http_twitch_emotes_routes,
    ngx_http_twitch_search_routes,
    ngx_http_twitch_streams_routes,
    ngx_http_twitch_moderation_routes,
    ngx_http_twitch_admin_routes,
    ngx_http_twitch_clips_routes,
    ngx_http_twitch_vods_routes,
    NULL
};


static ngx_http_twitch_method_name_t  ngx_http_twitch_method_names[] = {
    { NGX_HTTP_GET, ngx_string("GET") },
    { NGX_HTTP_HEAD, ngx_string("HEAD") },
    { NGX_HTTP_POST, ngx_string("POST") },
    { NGX_HTTP_PUT, ngx_string("PUT") },
    { NGX_HTTP_PATCH, ngx_string("PATCH") },
    { NGX_HTTP_DELETE, ngx_string("DELETE") },
    { 0, ngx_null_string }
};


ngx_int_t
ngx_http_twitch_api_handler(ngx_http_request_t *r)
{
    off_t                         len;
    ngx_int_t                     rc;
    ngx_uint_t                    allow;
    const char                   *err;
    ngx_pool_cleanup_t           *cln;
    ngx_http_twitch_ctx_t        *ctx;
    ngx_http_twitch_route_t      *route;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_twitch_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->tmcf = ngx_http_get_module_main_conf(r, ngx_http_twitch_module);
    ctx->tlcf = ngx_http_get_module_loc_conf(r, ngx_http_twitch_module);

    ngx_http_set_ctx(r, ctx, ngx_http_twitch_module);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_twitch_api_cleanup;
    cln->data = ctx;

    route = ngx_http_twitch_api_route(r, ctx, &allow);

    if (route == NULL) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (allow) {
            return ngx_http_twitch_api_not_allowed(r, allow);
        }

        return ngx_http_twitch_api_error(r, NGX_HTTP_NOT_FOUND, "Not found");
    }

    ctx->handler = route->handler;
    ctx->with_body = route->body;
    ctx->route_arg = route->arg;

    if (r->method & NGX_HTTP_TWITCH_STATE_CHANGING) {
        err = ngx_http_twitch_api_check_csrf(r);

        if (err != NULL) {
            if (ngx_http_discard_request_body(r) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_twitch_api_error(r, NGX_HTTP_FORBIDDEN, err);
        }
    }

    if (!route->body) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        r->main->count++;
        ngx_http_twitch_api_run(ctx);

        return NGX_DONE;
    }

    len = r->headers_in.content_length_n;

    if (len > (off_t) ctx->tlcf->json_max_body) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_twitch_api_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "request body is too large");
    }

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_twitch_api_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static ngx_http_twitch_route_t *
ngx_http_twitch_api_route(ngx_http_request_t *r, ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t *allow)
{
    ngx_uint_t                 index;
    ngx_http_twitch_route_t   *route, **table;

    *allow = 0;
    index = 0;

    for (table = ngx_http_twitch_route_tables; *table; table++) {

        for (route = *table; route->handler; route++) {

            index++;

            if (!ngx_http_twitch_api_match(&route->path, &r->uri, ctx)) {
                continue;
            }

            if (route->methods & r->method) {
                ctx->route_index = index;
                return route;
            }

            if (*allow == 0) {
                /* a 405 is counted on the first route of the path */
                ctx->route_index = index;
            }

            *allow |= route->methods;
        }
    }

    return NULL;
}


ngx_uint_t
ngx_http_twitch_api_route_count(void)
{
    ngx_uint_t                 n;
    ngx_http_twitch_route_t   *route, **table;

    n = 0;

    for (table = ngx_http_twitch_route_tables; *table; table++) {
        for (route = *table; route->handler; route++) {
            n++;
        }
    }

    return n;
}


ngx_http_twitch_route_t *
ngx_http_twitch_api_route_at(ngx_uint_t i)
{
    ngx_uint_t                 n;
    ngx_http_twitch_route_t   *route, **table;

    n = 0;

    for (table = ngx_http_twitch_route_tables; *table; table++) {
        for (route = *table; route->handler; route++) {
            if (++n == i) {
                return route;
            }
        }
    }

    return NULL;
}


/* "/api/channels/:name/follow": a ":" segment captures one URI segment */

static ngx_uint_t
ngx_http_twitch_api_match(ngx_str_t *pattern, ngx_str_t *uri,
    ngx_http_twitch_ctx_t *ctx)
{
    u_char  *p, *pe, *u, *ue, *ps, *us;

    p = pattern->data;
    pe = p + pattern->len;
    u = uri->data;
    ue = u + uri->len;

    ctx->nparams = 0;

    while (p < pe && u < ue) {

        if (*p != ':') {
            if (*p != *u) {
                return 0;
            }

            p++;
            u++;
            continue;
        }

        ps = p;

        while (p < pe && *p != '/') {
            p++;
        }

        us = u;

        while (u < ue && *u != '/') {
            u++;
        }

        if (u == us || p == ps + 1
            || ctx->nparams == NGX_HTTP_TWITCH_API_MAX_PARAMS)
        {
            return 0;
        }

        ctx->params[ctx->nparams].data = us;
        ctx->params[ctx->nparams].len = u - us;
        ctx->nparams++;
    }

    return p == pe && u == ue;
}


static ngx_int_t
ngx_http_twitch_api_not_allowed(ngx_http_request_t *r, ngx_uint_t allow)
{
    u_char                         *p;
    ngx_table_elt_t                *h;
    ngx_http_twitch_method_name_t  *m;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("GET, HEAD, POST, PUT, PATCH, DELETE"));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = p;

    for (m = ngx_http_twitch_method_names; m->method; m++) {
        if (!(allow & m->method)) {
            continue;
        }

        if (p != h->value.data) {
            *p++ = ',';
            *p++ = ' ';
        }

        p = ngx_cpymem(p, m->name.data, m->name.len);
    }

    h->value.len = p - h->value.data;

    return ngx_http_twitch_api_error(r, NGX_HTTP_NOT_ALLOWED,
                                     "Method not allowed");
}


/*
 * A cookie-authenticated JSON API refuses state changes that a foreign
 * page could send: such requests must say they carry JSON (a simple
 * cross-site form cannot) and, when the browser names an Origin, come
 * from this very host.
 */

static const char *
ngx_http_twitch_api_check_csrf(ngx_http_request_t *r)
{
    u_char           *p, *last;
    ngx_str_t         origin, host;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;
    ngx_uint_t        i;

    if (!ngx_http_twitch_api_is_json(r)) {
        return "state-changing requests must be sent with "
               "Content-Type: application/json";
    }

    ngx_str_null(&origin);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Origin") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin",
                               sizeof("Origin") - 1) == 0)
        {
            origin = h[i].value;
            break;
        }
    }

    if (origin.len == 0) {
        return NULL;
    }

    p = ngx_strlcasestrn(origin.data, origin.data + origin.len,
                         (u_char *) "://", 3 - 1);

    if (p == NULL || r->headers_in.host == NULL) {
        goto cross_site;
    }

    p += 3;
    last = origin.data + origin.len;
    host = r->headers_in.host->value;

    if ((size_t) (last - p) == host.len
        && ngx_strncasecmp(p, host.data, host.len) == 0)
    {
        return NULL;
    }

cross_site:

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "twitch api: cross-site request from origin \"%V\" refused",
                  &origin);

    return "cross-site request refused";
}


static ngx_uint_t
ngx_http_twitch_api_is_json(ngx_http_request_t *r)
{
    size_t      len;
    ngx_str_t  *ct;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    ct = &r->headers_in.content_type->value;
    len = sizeof("application/json") - 1;

    if (ct->len < len
        || ngx_strncasecmp(ct->data, (u_char *) "application/json", len)
           != 0)
    {
        return 0;
    }

    return ct->len == len || ct->data[len] == ';' || ct->data[len] == ' ';
}


static void
ngx_http_twitch_api_body_handler(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_str_t               body, err;
    ngx_http_twitch_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_twitch_module);

    rc = ngx_http_twitch_api_read_body(r, ctx, &body);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_http_twitch_api_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                      "request body is too large"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (body.len == 0) {
        ngx_http_twitch_api_run(ctx);
        return;
    }

    rc = ngx_http_twitch_json_parse(r->pool, body.data, body.len,
                                    ctx->tlcf->json_max_depth, &ctx->body,
                                    &err);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "twitch api: bad request body: %V", &err);

        ngx_http_finalize_request(r,
            ngx_http_twitch_api_error(r, NGX_HTTP_BAD_REQUEST,
                                      (char *) err.data));
        return;
    }

    if (ctx->body->type != NGX_HTTP_TWITCH_JSON_OBJECT) {
        ngx_http_finalize_request(r,
            ngx_http_twitch_api_error(r, NGX_HTTP_BAD_REQUEST,
                                      "request body must be a JSON object"));
        return;
    }

    ngx_http_twitch_api_run(ctx);
}


/*
 * Gathers the body into one buffer; NGX_DECLINED when it is too large.
 * A body larger than client_body_buffer_size was written to a temporary
 * file by nginx; it is read back here (bounded by twitch_json_max_body,
 * so a page-cache read of at most that many bytes).
 */

static ngx_int_t
ngx_http_twitch_api_read_body(ngx_http_request_t *r,
    ngx_http_twitch_ctx_t *ctx, ngx_str_t *body)
{
    off_t         size;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        size += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    if (size > (off_t) ctx->tlcf->json_max_body) {
        return NGX_DECLINED;
    }

    if (size == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "twitch api: cannot read the request body "
                          "from \"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}


static void
ngx_http_twitch_api_run(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ctx->handler(ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(ctx->request, rc);
    }
}


void
ngx_http_twitch_api_finalize(ngx_http_twitch_ctx_t *ctx, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = ctx->request->connection;

    ngx_http_finalize_request(ctx->request, rc);
    ngx_http_run_posted_requests(c);
}


static ngx_http_twitch_op_t *
ngx_http_twitch_api_op(ngx_http_twitch_ctx_t *ctx)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_TWITCH_API_MAX_OPS; i++) {
        if (ctx->ops[i].query == NULL && ctx->ops[i].cmd == NULL) {
            ngx_memzero(&ctx->ops[i], sizeof(ngx_http_twitch_op_t));
            ctx->ops[i].ctx = ctx;
            return &ctx->ops[i];
        }
    }

    ngx_log_error(NGX_LOG_ALERT, ctx->request->connection->log, 0,
                  "twitch api: too many operations in one request");

    return NULL;
}


ngx_int_t
ngx_http_twitch_api_pg(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_pg_stmt_t *stmt, const char **params,
    ngx_http_twitch_api_pg_pt handler)
{
    ngx_http_twitch_op_t  *op;

    op = ngx_http_twitch_api_op(ctx);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->pg_handler = handler;
    op->query = ngx_http_twitch_pg_query(ctx->tmcf->pg, stmt, params,
                                         ngx_http_twitch_api_pg_done, op,
                                         ctx->request->connection->log);

    return (op->query == NULL) ? NGX_DECLINED : NGX_OK;
}


ngx_int_t
ngx_http_twitch_api_query(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_pg_stmt_t *stmt, const char **params,
    ngx_http_twitch_api_pg_pt handler)
{
    if (ngx_http_twitch_api_pg(ctx, stmt, params, handler) != NGX_OK) {
        return ngx_http_twitch_api_error(ctx->request,
                                         NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "database unavailable");
    }

    return NGX_DONE;
}


ngx_int_t
ngx_http_twitch_api_redis(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_api_redis_pt handler, int argc, const char **argv,
    const size_t *argvlen)
{
    ngx_http_twitch_op_t  *op;

    op = ngx_http_twitch_api_op(ctx);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->redis_handler = handler;
    op->cmd = ngx_http_twitch_redis_command(ctx->tmcf->redis,
                                            ngx_http_twitch_api_redis_done,
                                            op, argc, argv, argvlen);

    return (op->cmd == NULL) ? NGX_DECLINED : NGX_OK;
}


static void
ngx_http_twitch_api_pg_done(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_op_t  *op = data;

    op->query = NULL;
    ngx_http_twitch_api_continue(op->ctx, op->pg_handler(op->ctx, res, rc));
}


static void
ngx_http_twitch_api_redis_done(void *data, redisReply *reply)
{
    ngx_http_twitch_op_t  *op = data;

    op->cmd = NULL;
    ngx_http_twitch_api_continue(op->ctx,
                                 op->redis_handler(op->ctx, reply));
}


void
ngx_http_twitch_api_continue(ngx_http_twitch_ctx_t *ctx, ngx_int_t rc)
{
    if (rc != NGX_DONE) {
        ngx_http_twitch_api_finalize(ctx, rc);
    }
}


ngx_int_t
ngx_http_twitch_api_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


static void
ngx_http_twitch_api_cleanup(void *data)
{
    ngx_http_twitch_ctx_t  *ctx = data;

    ngx_uint_t  i;

    if (ctx->cancel != NULL) {
        /* a thread task still runs: it frees itself when done */
        *ctx->cancel = 1;
        ctx->cancel = NULL;
    }

    for (i = 0; i < NGX_HTTP_TWITCH_API_MAX_OPS; i++) {

        if (ctx->ops[i].query) {
            ngx_http_twitch_pg_cancel(ctx->ops[i].query);
            ctx->ops[i].query = NULL;
        }

        if (ctx->ops[i].cmd) {
            ngx_http_twitch_redis_cancel(ctx->ops[i].cmd);
            ctx->ops[i].cmd = NULL;
        }
    }
}


ngx_int_t
ngx_http_twitch_api_send(ngx_http_twitch_ctx_t *ctx, ngx_uint_t status,
    yajl_gen g)
{
    size_t               len;
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_chain_t          out;
    ngx_table_elt_t     *h;
    const u_char               *buf;
    ngx_http_request_t         *r;
    ngx_http_variable_value_t  *rid;

    r = ctx->request;

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok || len == 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "twitch api: incomplete JSON response");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    if (ctx->tmcf->request_id_index != NGX_ERROR) {
        rid = ngx_http_get_indexed_variable(r, ctx->tmcf->request_id_index);

        if (rid != NULL && !rid->not_found
            && ngx_http_twitch_api_header(r, "X-Request-Id", rid->data,
                                          rid->len)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* the generator, and so buf, lives until the request pool goes */

    b->pos = (u_char *) buf;
    b->last = (u_char *) buf + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_twitch_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *message)
{
    yajl_gen                g;
    ngx_http_twitch_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_twitch_module);
    if (ctx == NULL) {
        return status;
    }

    g = ngx_http_twitch_json_gen(r->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "error");
    ngx_http_twitch_json_cstr(g, message);
    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, status, g);
}
