
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_UTIL_H_INCLUDED_
#define _NGX_HTTP_TWITCH_UTIL_H_INCLUDED_


#include "ngx_http_twitch_api.h"


/*
 * A JSON shape for the columns of a result row, consumed in order: each
 * field takes one column, except the markers that open and close a nested
 * object.  OBJ_NULL writes null instead of the object when the object's
 * first column is NULL.
 */
typedef enum {
    NGX_HTTP_TWITCH_F_END = 0,
    NGX_HTTP_TWITCH_F_STR,
    NGX_HTTP_TWITCH_F_INT,
    NGX_HTTP_TWITCH_F_BOOL,
    NGX_HTTP_TWITCH_F_JSON,
    NGX_HTTP_TWITCH_F_OBJ,
    NGX_HTTP_TWITCH_F_OBJ_NULL,
    NGX_HTTP_TWITCH_F_CLOSE,
    NGX_HTTP_TWITCH_F_SKIP
} ngx_http_twitch_field_type_e;


typedef struct {
    const char                    *key;
    ngx_http_twitch_field_type_e   type;
} ngx_http_twitch_field_t;


/* {...} for one row */
ngx_int_t ngx_http_twitch_emit_row(ngx_pool_t *pool, yajl_gen g,
    PGresult *res, int row, ngx_http_twitch_field_t *fields);
/* the members of one row into an object the caller opened */
ngx_int_t ngx_http_twitch_emit_fields(ngx_pool_t *pool, yajl_gen g,
    PGresult *res, int row, ngx_http_twitch_field_t *fields, int *col);
/* [{...}, ...] for every row */
ngx_int_t ngx_http_twitch_emit_rows(ngx_pool_t *pool, yajl_gen g,
    PGresult *res, ngx_http_twitch_field_t *fields);

/* {"<key>": [rows]} sent with 200 */
ngx_int_t ngx_http_twitch_send_rows(ngx_http_twitch_ctx_t *ctx,
    const char *key, PGresult *res, ngx_http_twitch_field_t *fields);
/* {"<key>": {row 0}} sent with 200, or with status */
ngx_int_t ngx_http_twitch_send_row(ngx_http_twitch_ctx_t *ctx,
    const char *key, PGresult *res, ngx_http_twitch_field_t *fields);
ngx_int_t ngx_http_twitch_send_row_status(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t status, const char *key, PGresult *res,
    ngx_http_twitch_field_t *fields);
/* a copy of res that lives as long as the request */
PGresult *ngx_http_twitch_keep_result(ngx_http_twitch_ctx_t *ctx,
    PGresult *res);

/* {"success":true}, and {"success":true,"message":"..."} */
ngx_int_t ngx_http_twitch_send_success(ngx_http_twitch_ctx_t *ctx);
ngx_int_t ngx_http_twitch_send_success_message(ngx_http_twitch_ctx_t *ctx,
    const char *message);

/*
 * The answer for a failed query: 503 when the database is unreachable,
 * else 500 (logged).
 */
ngx_int_t ngx_http_twitch_db_error(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
/* the SQLSTATE of an error result ("23505" ...), or "" */
const char *ngx_http_twitch_sqlstate(PGresult *res);
/* the constraint a violation names, or "" */
const char *ngx_http_twitch_constraint(PGresult *res);

/* "limit"/"offset" style query arguments; NGX_DECLINED: 400 was sent */
ngx_int_t ngx_http_twitch_arg_int(ngx_http_twitch_ctx_t *ctx,
    const char *name, ngx_int_t def, ngx_int_t min, ngx_int_t max,
    ngx_int_t *out);
/* limit (1..100, default def) and offset (>= 0) as NUL-terminated text */
ngx_int_t ngx_http_twitch_paging(ngx_http_twitch_ctx_t *ctx, ngx_int_t def,
    char **limit, char **offset);

/* path parameter i as a NUL-terminated positive integer; else NULL */
char *ngx_http_twitch_param_id(ngx_http_twitch_ctx_t *ctx, ngx_uint_t i);
/* path parameter i NUL-terminated, at most max bytes; else NULL */
char *ngx_http_twitch_param_str(ngx_http_twitch_ctx_t *ctx, ngx_uint_t i,
    size_t max);

/*
 * Body fields.  NGX_OK: *out set (NULL when absent and not required);
 * NGX_DECLINED: the 400 answer's message is in *err.
 */
ngx_int_t ngx_http_twitch_body_str(ngx_http_twitch_ctx_t *ctx,
    const char *key, ngx_uint_t required, size_t min, size_t max,
    char **out, const char **err);
ngx_int_t ngx_http_twitch_body_int(ngx_http_twitch_ctx_t *ctx,
    const char *key, ngx_uint_t required, int64_t min, int64_t max,
    char **out, const char **err);
ngx_int_t ngx_http_twitch_body_bool(ngx_http_twitch_ctx_t *ctx,
    const char *key, ngx_uint_t required, char **out, const char **err);

/* number of code points in valid UTF-8 */
size_t ngx_http_twitch_utf8_len(u_char *p, size_t n);
/* an error message built in the request pool */
const char *ngx_http_twitch_msg(ngx_http_twitch_ctx_t *ctx, const char *fmt,
    ...);
char *ngx_http_twitch_itoa(ngx_pool_t *pool, int64_t n);


#endif /* _NGX_HTTP_TWITCH_UTIL_H_INCLUDED_ */
