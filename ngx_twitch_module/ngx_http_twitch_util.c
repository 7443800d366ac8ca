
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Helpers shared by the route handlers: result rows to JSON through field
 * tables, query and path arguments, JSON body fields, database errors.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_util.h"


static void ngx_http_twitch_result_cleanup(void *data);
static char *ngx_http_twitch_strdup0(ngx_pool_t *pool, ngx_str_t *s);
static int ngx_http_twitch_field_columns(ngx_http_twitch_field_t *f,
    ngx_http_twitch_field_t **end);
static ngx_int_t ngx_http_twitch_body_field(ngx_http_twitch_ctx_t *ctx,
    const char *key, ngx_uint_t required, ngx_http_twitch_json_type_e type,
    const char *what, ngx_http_twitch_json_t **v, const char **err);


ngx_int_t
ngx_http_twitch_emit_row(ngx_pool_t *pool, yajl_gen g, PGresult *res,
    int row, ngx_http_twitch_field_t *fields)
{
    int        col;
    ngx_int_t  rc;

    col = 0;

    (void) yajl_gen_map_open(g);
    rc = ngx_http_twitch_emit_fields(pool, g, res, row, fields, &col);
    (void) yajl_gen_map_close(g);

    return rc;
}


ngx_int_t
ngx_http_twitch_emit_fields(ngx_pool_t *pool, yajl_gen g, PGresult *res,
    int row, ngx_http_twitch_field_t *fields, int *col)
{
    char                     *v;
    int                       len, n;
    ngx_str_t                 err;
    ngx_http_twitch_json_t   *json;
    ngx_http_twitch_field_t  *f, *end;

    for (f = fields; f->type != NGX_HTTP_TWITCH_F_END; f++) {

        if (f->type == NGX_HTTP_TWITCH_F_CLOSE) {
            (void) yajl_gen_map_close(g);
            continue;
        }

        if (f->type == NGX_HTTP_TWITCH_F_SKIP) {
            (*col)++;
            continue;
        }

        ngx_http_twitch_json_key(g, f->key);

        if (f->type == NGX_HTTP_TWITCH_F_OBJ) {
            (void) yajl_gen_map_open(g);
            continue;
        }

        if (f->type == NGX_HTTP_TWITCH_F_OBJ_NULL) {
            if (!PQgetisnull(res, row, *col)) {
                (void) yajl_gen_map_open(g);
                continue;
            }

            ngx_http_twitch_json_null(g);

            /* skip the object's fields and its CLOSE */
            n = ngx_http_twitch_field_columns(f + 1, &end);
            *col += n;
            f = end;
            continue;
        }

        if (PQgetisnull(res, row, *col)) {
            ngx_http_twitch_json_null(g);
            (*col)++;
            continue;
        }

        v = PQgetvalue(res, row, *col);
        len = PQgetlength(res, row, *col);
        (*col)++;

        switch (f->type) {

        case NGX_HTTP_TWITCH_F_INT:
            (void) yajl_gen_number(g, v, len);
            break;

        case NGX_HTTP_TWITCH_F_BOOL:
            ngx_http_twitch_json_bool(g, v[0] == 't');
            break;

        case NGX_HTTP_TWITCH_F_JSON:
            if (ngx_http_twitch_json_parse(pool, (u_char *) v, len, 64,
                                           &json, &err)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            ngx_http_twitch_json_emit(g, json);
            break;

        default: /* NGX_HTTP_TWITCH_F_STR */
            ngx_http_twitch_json_buf(g, (u_char *) v, len);
            break;
        }
    }

    return NGX_OK;
}


/* columns taken by the fields of an object, up to its CLOSE */

static int
ngx_http_twitch_field_columns(ngx_http_twitch_field_t *f,
    ngx_http_twitch_field_t **end)
{
    int         n;
    ngx_uint_t  depth;

    n = 0;
    depth = 0;

    for ( /* void */ ; f->type != NGX_HTTP_TWITCH_F_END; f++) {

        switch (f->type) {

        case NGX_HTTP_TWITCH_F_OBJ:
        case NGX_HTTP_TWITCH_F_OBJ_NULL:
            depth++;
            break;

        case NGX_HTTP_TWITCH_F_CLOSE:
            if (depth == 0) {
                *end = f;
                return n;
            }

            depth--;
            break;

        default:
            n++;
            break;
        }
    }

    *end = f - 1;

    return n;
}


ngx_int_t
ngx_http_twitch_emit_rows(ngx_pool_t *pool, yajl_gen g, PGresult *res,
    ngx_http_twitch_field_t *fields)
{
    int  row, rows;

    rows = PQntuples(res);

    (void) yajl_gen_array_open(g);

    for (row = 0; row < rows; row++) {
        if (ngx_http_twitch_emit_row(pool, g, res, row, fields) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    (void) yajl_gen_array_close(g);

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_send_rows(ngx_http_twitch_ctx_t *ctx, const char *key,
    PGresult *res, ngx_http_twitch_field_t *fields)
{
    yajl_gen  g;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, key);

    if (ngx_http_twitch_emit_rows(ctx->request->pool, g, res, fields)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


ngx_int_t
ngx_http_twitch_send_row(ngx_http_twitch_ctx_t *ctx, const char *key,
    PGresult *res, ngx_http_twitch_field_t *fields)
{
    return ngx_http_twitch_send_row_status(ctx, NGX_HTTP_OK, key, res,
                                           fields);
}


ngx_int_t
ngx_http_twitch_send_row_status(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t status, const char *key, PGresult *res,
    ngx_http_twitch_field_t *fields)
{
    yajl_gen  g;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, key);

    if (ngx_http_twitch_emit_row(ctx->request->pool, g, res, 0, fields)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, status, g);
}


PGresult *
ngx_http_twitch_keep_result(ngx_http_twitch_ctx_t *ctx, PGresult *res)
{
    PGresult            *copy;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(ctx->request->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    copy = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    if (copy == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_twitch_result_cleanup;
    cln->data = copy;

    return copy;
}


static void
ngx_http_twitch_result_cleanup(void *data)
{
    PQclear(data);
}


ngx_int_t
ngx_http_twitch_send_success(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_send_success_message(ctx, NULL);
}


ngx_int_t
ngx_http_twitch_send_success_message(ngx_http_twitch_ctx_t *ctx,
    const char *message)
{
    yajl_gen  g;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "success");
    ngx_http_twitch_json_bool(g, 1);

    if (message != NULL) {
        ngx_http_twitch_json_key(g, "message");
        ngx_http_twitch_json_cstr(g, message);
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


ngx_int_t
ngx_http_twitch_db_error(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_request_t  *r;

    r = ctx->request;

    if (rc == NGX_DECLINED) {
        return ngx_http_twitch_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "database unavailable");
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "twitch api: statement failed: %s %s",
                  ngx_http_twitch_sqlstate(res),
                  res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                        ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                        : ""
                      : "");

    return ngx_http_twitch_api_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal error");
}


const char *
ngx_http_twitch_sqlstate(PGresult *res)
{
    char  *s;

    if (res == NULL) {
        return "";
    }

    s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return s ? s : "";
}


const char *
ngx_http_twitch_constraint(PGresult *res)
{
    char  *s;

    if (res == NULL) {
        return "";
    }

    s = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

    return s ? s : "";
}


ngx_int_t
ngx_http_twitch_arg_int(ngx_http_twitch_ctx_t *ctx, const char *name,
    ngx_int_t def, ngx_int_t min, ngx_int_t max, ngx_int_t *out)
{
    ngx_int_t            n;
    ngx_str_t            value;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &value)
        != NGX_OK)
    {
        *out = def;
        return NGX_OK;
    }

    n = (value.len > 0 && value.len <= 9) ? ngx_atoi(value.data, value.len)
                                          : NGX_ERROR;

    if (n == NGX_ERROR || n < min || n > max) {
        (void) ngx_http_twitch_api_error(r, NGX_HTTP_BAD_REQUEST,
                   ngx_http_twitch_msg(ctx,
                       (max == NGX_MAX_INT32_VALUE)
                       ? "%s must be an integer of at least %i"
                       : "%s must be an integer from %i to %i",
                       name, min, max));
        return NGX_DECLINED;
    }

    *out = n;

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_paging(ngx_http_twitch_ctx_t *ctx, ngx_int_t def,
    char **limit, char **offset)
{
    ngx_int_t  l, o;

    if (ngx_http_twitch_arg_int(ctx, "limit", def, 1, 100, &l) != NGX_OK
        || ngx_http_twitch_arg_int(ctx, "offset", 0, 0, NGX_MAX_INT32_VALUE,
                                   &o)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    *limit = ngx_http_twitch_itoa(ctx->request->pool, l);
    *offset = ngx_http_twitch_itoa(ctx->request->pool, o);

    if (*limit == NULL || *offset == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


char *
ngx_http_twitch_param_id(ngx_http_twitch_ctx_t *ctx, ngx_uint_t i)
{
    u_char     *p;
    ngx_str_t  *s;

    if (i >= ctx->nparams) {
        return NULL;
    }

    s = &ctx->params[i];

    if (s->len == 0 || s->len > 18 || s->data[0] == '0') {
        return NULL;
    }

    for (p = s->data; p < s->data + s->len; p++) {
        if (*p < '0' || *p > '9') {
            return NULL;
        }
    }

    return ngx_http_twitch_strdup0(ctx->request->pool, s);
}


char *
ngx_http_twitch_param_str(ngx_http_twitch_ctx_t *ctx, ngx_uint_t i,
    size_t max)
{
    ngx_str_t  *s;

    if (i >= ctx->nparams) {
        return NULL;
    }

    s = &ctx->params[i];

    if (s->len == 0 || s->len > max
        || ngx_strlchr(s->data, s->data + s->len, '\0') != NULL)
    {
        return NULL;
    }

    return ngx_http_twitch_strdup0(ctx->request->pool, s);
}


static ngx_int_t
ngx_http_twitch_body_field(ngx_http_twitch_ctx_t *ctx, const char *key,
    ngx_uint_t required, ngx_http_twitch_json_type_e type, const char *what,
    ngx_http_twitch_json_t **v, const char **err)
{
    *v = ngx_http_twitch_json_get(ctx->body, key);

    if (*v == NULL || (*v)->type == NGX_HTTP_TWITCH_JSON_NULL) {
        *v = NULL;

        if (required) {
            *err = ngx_http_twitch_msg(ctx, "%s is required", key);
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if ((*v)->type != type) {
        *err = ngx_http_twitch_msg(ctx, "%s must be %s", key, what);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_body_str(ngx_http_twitch_ctx_t *ctx, const char *key,
    ngx_uint_t required, size_t min, size_t max, char **out,
    const char **err)
{
    size_t                   n;
    ngx_int_t                rc;
    ngx_http_twitch_json_t  *v;

    *out = NULL;

    rc = ngx_http_twitch_body_field(ctx, key, required,
                                    NGX_HTTP_TWITCH_JSON_STRING, "a string",
                                    &v, err);
    if (rc != NGX_OK || v == NULL) {
        return rc;
    }

    n = ngx_http_twitch_utf8_len(v->str.data, v->str.len);

    if (n < min) {
        *err = (min == 1)
               ? ngx_http_twitch_msg(ctx, "%s must not be empty", key)
               : ngx_http_twitch_msg(ctx, "%s must be at least %uz "
                                     "characters", key, min);
        return NGX_DECLINED;
    }

    if (n > max) {
        *err = ngx_http_twitch_msg(ctx, "%s must be at most %uz characters",
                                   key, max);
        return NGX_DECLINED;
    }

    /* the parser NUL-terminates strings */
    *out = (char *) v->str.data;

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_body_int(ngx_http_twitch_ctx_t *ctx, const char *key,
    ngx_uint_t required, int64_t min, int64_t max, char **out,
    const char **err)
{
    u_char                  *p;
    int64_t                  n;
    ngx_int_t                rc;
    ngx_uint_t               neg;
    ngx_http_twitch_json_t  *v;

    *out = NULL;

    rc = ngx_http_twitch_body_field(ctx, key, required,
                                    NGX_HTTP_TWITCH_JSON_NUMBER,
                                    "an integer", &v, err);
    if (rc != NGX_OK || v == NULL) {
        return rc;
    }

    p = v->str.data;
    neg = (*p == '-');

    if (neg) {
        p++;
    }

    n = 0;

    for ( /* void */ ; p < v->str.data + v->str.len; p++) {
        if (*p < '0' || *p > '9' || n > 100000000000LL) {
            n = -1;
            break;
        }

        n = n * 10 + (*p - '0');
    }

    if (n < 0) {
        *err = ngx_http_twitch_msg(ctx, "%s must be an integer", key);
        return NGX_DECLINED;
    }

    if (neg) {
        n = -n;
    }

    if (n < min || n > max) {
        *err = ngx_http_twitch_msg(ctx, "%s must be from %L to %L", key,
                                   min, max);
        return NGX_DECLINED;
    }

    *out = ngx_http_twitch_itoa(ctx->request->pool, n);

    return (*out == NULL) ? NGX_ERROR : NGX_OK;
}


ngx_int_t
ngx_http_twitch_body_bool(ngx_http_twitch_ctx_t *ctx, const char *key,
    ngx_uint_t required, char **out, const char **err)
{
    ngx_int_t                rc;
    ngx_http_twitch_json_t  *v;

    *out = NULL;

    rc = ngx_http_twitch_body_field(ctx, key, required,
                                    NGX_HTTP_TWITCH_JSON_BOOL, "a boolean",
                                    &v, err);
    if (rc != NGX_OK || v == NULL) {
        return rc;
    }

    *out = v->boolean ? "true" : "false";

    return NGX_OK;
}


size_t
ngx_http_twitch_utf8_len(u_char *p, size_t n)
{
    size_t   len;
    u_char  *last;

    len = 0;

    for (last = p + n; p < last; p++) {
        if ((*p & 0xc0) != 0x80) {
            len++;
        }
    }

    return len;
}


const char *
ngx_http_twitch_msg(ngx_http_twitch_ctx_t *ctx, const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;

    p = ngx_pnalloc(ctx->request->pool, 256);
    if (p == NULL) {
        return "invalid request";
    }

    va_start(args, fmt);
    last = ngx_vslprintf(p, p + 255, fmt, args);
    va_end(args);

    *last = '\0';

    return (const char *) p;
}


char *
ngx_http_twitch_itoa(ngx_pool_t *pool, int64_t n)
{
    u_char  *p;

    p = ngx_pnalloc(pool, NGX_INT64_LEN + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_sprintf(p, "%L", n) = '\0';

    return (char *) p;
}


static char *
ngx_http_twitch_strdup0(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, s->data, s->len) = '\0';

    return (char *) p;
}
