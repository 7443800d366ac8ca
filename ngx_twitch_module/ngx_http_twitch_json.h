
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_JSON_H_INCLUDED_
#define _NGX_HTTP_TWITCH_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <yajl/yajl_gen.h>


typedef enum {
    NGX_HTTP_TWITCH_JSON_NULL = 0,
    NGX_HTTP_TWITCH_JSON_BOOL,
    NGX_HTTP_TWITCH_JSON_NUMBER,
    NGX_HTTP_TWITCH_JSON_STRING,
    NGX_HTTP_TWITCH_JSON_OBJECT,
    NGX_HTTP_TWITCH_JSON_ARRAY
} ngx_http_twitch_json_type_e;


typedef struct ngx_http_twitch_json_s  ngx_http_twitch_json_t;

/*
 * A parsed JSON value, allocated from a pool.  Members of an object and
 * elements of an array are the "child" list, linked by "next"; a member
 * carries its name in "key".  Numbers keep their text in "str".
 */
struct ngx_http_twitch_json_s {
    ngx_http_twitch_json_type_e   type;
    ngx_uint_t                    boolean;
    ngx_uint_t                    nchildren;
    ngx_str_t                     key;
    ngx_str_t                     str;
    ngx_http_twitch_json_t       *child;
    ngx_http_twitch_json_t       *last;
    ngx_http_twitch_json_t       *next;
    ngx_http_twitch_json_t       *parent;
};


/*
 * Strict parse: one value, no comments, no trailing data, valid UTF-8, no
 * NUL characters in strings, no duplicate keys, nesting at most max_depth.
 * On NGX_DECLINED, err holds a NUL-terminated message for the client.
 */
ngx_int_t ngx_http_twitch_json_parse(ngx_pool_t *pool, u_char *data,
    size_t len, ngx_uint_t max_depth, ngx_http_twitch_json_t **root,
    ngx_str_t *err);

ngx_http_twitch_json_t *ngx_http_twitch_json_get(ngx_http_twitch_json_t *obj,
    const char *key);

/* writes a parsed value back out */
void ngx_http_twitch_json_emit(yajl_gen g, ngx_http_twitch_json_t *v);

/* a generator freed with the pool */
yajl_gen ngx_http_twitch_json_gen(ngx_pool_t *pool);

void ngx_http_twitch_json_key(yajl_gen g, const char *key);
void ngx_http_twitch_json_cstr(yajl_gen g, const char *s);
void ngx_http_twitch_json_str(yajl_gen g, ngx_str_t *s);
void ngx_http_twitch_json_buf(yajl_gen g, const u_char *s, size_t len);
void ngx_http_twitch_json_int(yajl_gen g, int64_t n);
void ngx_http_twitch_json_bool(yajl_gen g, ngx_uint_t b);
void ngx_http_twitch_json_null(yajl_gen g);


#endif /* _NGX_HTTP_TWITCH_JSON_H_INCLUDED_ */
