
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * JSON both ways through yajl: a strict parser that builds a small tree in
 * a pool (yajl's callbacks, with our own nesting limit), and generator
 * helpers.  Nothing here prints JSON by hand.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <yajl/yajl_parse.h>

#include "ngx_http_twitch_json.h"


typedef struct {
    ngx_pool_t                *pool;
    ngx_http_twitch_json_t    *root;
    ngx_http_twitch_json_t    *current;
    ngx_str_t                  key;
    ngx_uint_t                 depth;
    ngx_uint_t                 max_depth;
    const char                *error;
} ngx_http_twitch_json_parser_t;


static ngx_http_twitch_json_t *ngx_http_twitch_json_add(
    ngx_http_twitch_json_parser_t *p, ngx_http_twitch_json_type_e type);
static int ngx_http_twitch_json_on_null(void *ctx);
static int ngx_http_twitch_json_on_bool(void *ctx, int b);
static int ngx_http_twitch_json_on_number(void *ctx, const char *s,
    size_t len);
static int ngx_http_twitch_json_on_string(void *ctx,
    const unsigned char *s, size_t len);
static int ngx_http_twitch_json_on_start_map(void *ctx);
static int ngx_http_twitch_json_on_key(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_twitch_json_on_end(void *ctx);
static int ngx_http_twitch_json_on_start_array(void *ctx);
static int ngx_http_twitch_json_copy(ngx_http_twitch_json_parser_t *p,
    ngx_str_t *dst, const unsigned char *s, size_t len);
static void ngx_http_twitch_json_gen_cleanup(void *data);


static yajl_callbacks  ngx_http_twitch_json_callbacks = {
    ngx_http_twitch_json_on_null,
    ngx_http_twitch_json_on_bool,
    NULL,
    NULL,
    ngx_http_twitch_json_on_number,
    ngx_http_twitch_json_on_string,
    ngx_http_twitch_json_on_start_map,
    ngx_http_twitch_json_on_key,
    ngx_http_twitch_json_on_end,
    ngx_http_twitch_json_on_start_array,
    ngx_http_twitch_json_on_end
};


ngx_int_t
ngx_http_twitch_json_parse(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_uint_t max_depth, ngx_http_twitch_json_t **root, ngx_str_t *err)
{
    size_t                          n;
    u_char                         *msg;
    yajl_handle                     h;
    yajl_status                     st;
    ngx_http_twitch_json_parser_t   p;

    ngx_memzero(&p, sizeof(ngx_http_twitch_json_parser_t));
    p.pool = pool;
    p.max_depth = max_depth;

    h = yajl_alloc(&ngx_http_twitch_json_callbacks, NULL, &p);
    if (h == NULL) {
        return NGX_ERROR;
    }

    st = yajl_parse(h, data, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    if (st == yajl_status_ok) {
        yajl_free(h);

        if (p.root == NULL) {
            ngx_str_set(err, "request body is empty");
            return NGX_DECLINED;
        }

        *root = p.root;
        return NGX_OK;
    }

    if (p.error != NULL) {
        yajl_free(h);

        if (p.error[0] == '\0') {
            return NGX_ERROR;
        }

        err->data = (u_char *) p.error;
        err->len = ngx_strlen(p.error);
        return NGX_DECLINED;
    }

    msg = yajl_get_error(h, 0, data, len);

    if (msg == NULL) {
        yajl_free(h);
        ngx_str_set(err, "invalid JSON");
        return NGX_DECLINED;
    }

    n = ngx_strlen(msg);

    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        n--;
    }

    err->len = sizeof("invalid JSON: ") - 1 + n;
    err->data = ngx_pnalloc(pool, err->len + 1);

    if (err->data != NULL) {
        ngx_memcpy(ngx_cpymem(err->data, "invalid JSON: ",
                              sizeof("invalid JSON: ") - 1),
                   msg, n);
        err->data[err->len] = '\0';

    } else {
        ngx_str_set(err, "invalid JSON");
    }

    yajl_free_error(h, msg);
    yajl_free(h);

    return NGX_DECLINED;
}


ngx_http_twitch_json_t *
ngx_http_twitch_json_get(ngx_http_twitch_json_t *obj, const char *key)
{
    size_t                   len;
    ngx_http_twitch_json_t  *v;

    if (obj == NULL || obj->type != NGX_HTTP_TWITCH_JSON_OBJECT) {
        return NULL;
    }

    len = ngx_strlen(key);

    for (v = obj->child; v; v = v->next) {
        if (v->key.len == len && ngx_strncmp(v->key.data, key, len) == 0) {
            return v;
        }
    }

    return NULL;
}


static ngx_http_twitch_json_t *
ngx_http_twitch_json_add(ngx_http_twitch_json_parser_t *p,
    ngx_http_twitch_json_type_e type)
{
    ngx_http_twitch_json_t  *v, *parent, *m;

    v = ngx_pcalloc(p->pool, sizeof(ngx_http_twitch_json_t));
    if (v == NULL) {
        p->error = "";
        return NULL;
    }

    v->type = type;
    parent = p->current;

    if (parent == NULL) {
        p->root = v;
        return v;
    }

    if (parent->type == NGX_HTTP_TWITCH_JSON_OBJECT) {

        for (m = parent->child; m; m = m->next) {
            if (m->key.len == p->key.len
                && ngx_strncmp(m->key.data, p->key.data, p->key.len) == 0)
            {
                p->error = "duplicate key in JSON object";
                return NULL;
            }
        }

        v->key = p->key;
        ngx_str_null(&p->key);
    }

    v->parent = parent;

    if (parent->last) {
        parent->last->next = v;

    } else {
        parent->child = v;
    }

    parent->last = v;
    parent->nchildren++;

    return v;
}


static int
ngx_http_twitch_json_on_null(void *ctx)
{
    return ngx_http_twitch_json_add(ctx, NGX_HTTP_TWITCH_JSON_NULL) != NULL;
}


static int
ngx_http_twitch_json_on_bool(void *ctx, int b)
{
    ngx_http_twitch_json_t  *v;

    v = ngx_http_twitch_json_add(ctx, NGX_HTTP_TWITCH_JSON_BOOL);
    if (v == NULL) {
        return 0;
    }

    v->boolean = b ? 1 : 0;

    return 1;
}


static int
ngx_http_twitch_json_on_number(void *ctx, const char *s, size_t len)
{
    ngx_http_twitch_json_t  *v;

    v = ngx_http_twitch_json_add(ctx, NGX_HTTP_TWITCH_JSON_NUMBER);
    if (v == NULL) {
        return 0;
    }

    return ngx_http_twitch_json_copy(ctx, &v->str, (u_char *) s, len);
}


static int
ngx_http_twitch_json_on_string(void *ctx, const unsigned char *s, size_t len)
{
    ngx_http_twitch_json_t         *v;
    ngx_http_twitch_json_parser_t  *p = ctx;

    if (ngx_strlchr((u_char *) s, (u_char *) s + len, '\0') != NULL) {
        p->error = "JSON strings must not contain NUL characters";
        return 0;
    }

    v = ngx_http_twitch_json_add(p, NGX_HTTP_TWITCH_JSON_STRING);
    if (v == NULL) {
        return 0;
    }

    return ngx_http_twitch_json_copy(p, &v->str, s, len);
}


static int
ngx_http_twitch_json_on_start_map(void *ctx)
{
    ngx_http_twitch_json_t         *v;
    ngx_http_twitch_json_parser_t  *p = ctx;

    if (++p->depth > p->max_depth) {
        p->error = "JSON nesting is too deep";
        return 0;
    }

    v = ngx_http_twitch_json_add(p, NGX_HTTP_TWITCH_JSON_OBJECT);
    if (v == NULL) {
        return 0;
    }

    p->current = v;

    return 1;
}


static int
ngx_http_twitch_json_on_key(void *ctx, const unsigned char *s, size_t len)
{
    ngx_http_twitch_json_parser_t  *p = ctx;

    if (ngx_strlchr((u_char *) s, (u_char *) s + len, '\0') != NULL) {
        p->error = "JSON strings must not contain NUL characters";
        return 0;
    }

    return ngx_http_twitch_json_copy(p, &p->key, s, len);
}


static int
ngx_http_twitch_json_on_end(void *ctx)
{
    ngx_http_twitch_json_parser_t  *p = ctx;

    p->depth--;
    p->current = p->current->parent;

    return 1;
}


static int
ngx_http_twitch_json_on_start_array(void *ctx)
{
    ngx_http_twitch_json_t         *v;
    ngx_http_twitch_json_parser_t  *p = ctx;

    if (++p->depth > p->max_depth) {
        p->error = "JSON nesting is too deep";
        return 0;
    }

    v = ngx_http_twitch_json_add(p, NGX_HTTP_TWITCH_JSON_ARRAY);
    if (v == NULL) {
        return 0;
    }

    p->current = v;

    return 1;
}


static int
ngx_http_twitch_json_copy(ngx_http_twitch_json_parser_t *p, ngx_str_t *dst,
    const unsigned char *s, size_t len)
{
    dst->data = ngx_pnalloc(p->pool, len + 1);
    if (dst->data == NULL) {
        p->error = "";
        return 0;
    }

    ngx_memcpy(dst->data, s, len);
    dst->data[len] = '\0';
    dst->len = len;

    return 1;
}


void
ngx_http_twitch_json_emit(yajl_gen g, ngx_http_twitch_json_t *v)
{
    ngx_http_twitch_json_t  *c;

    switch (v->type) {

    case NGX_HTTP_TWITCH_JSON_NULL:
        (void) yajl_gen_null(g);
        break;

    case NGX_HTTP_TWITCH_JSON_BOOL:
        (void) yajl_gen_bool(g, v->boolean ? 1 : 0);
        break;

    case NGX_HTTP_TWITCH_JSON_NUMBER:
        (void) yajl_gen_number(g, (const char *) v->str.data, v->str.len);
        break;

    case NGX_HTTP_TWITCH_JSON_STRING:
        (void) yajl_gen_string(g, v->str.data, v->str.len);
        break;

    case NGX_HTTP_TWITCH_JSON_OBJECT:
        (void) yajl_gen_map_open(g);

        for (c = v->child; c; c = c->next) {
            (void) yajl_gen_string(g, c->key.data, c->key.len);
            ngx_http_twitch_json_emit(g, c);
        }

        (void) yajl_gen_map_close(g);
        break;

    case NGX_HTTP_TWITCH_JSON_ARRAY:
        (void) yajl_gen_array_open(g);

        for (c = v->child; c; c = c->next) {
            ngx_http_twitch_json_emit(g, c);
        }

        (void) yajl_gen_array_close(g);
        break;
    }
}


yajl_gen
ngx_http_twitch_json_gen(ngx_pool_t *pool)
{
    yajl_gen             g;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }

    (void) yajl_gen_config(g, yajl_gen_validate_utf8, 1);

    cln->handler = ngx_http_twitch_json_gen_cleanup;
    cln->data = g;

    return g;
}


static void
ngx_http_twitch_json_gen_cleanup(void *data)
{
    yajl_gen_free(data);
}


void
ngx_http_twitch_json_key(yajl_gen g, const char *key)
{
    (void) yajl_gen_string(g, (const unsigned char *) key, ngx_strlen(key));
}


void
ngx_http_twitch_json_cstr(yajl_gen g, const char *s)
{
    if (s == NULL) {
        (void) yajl_gen_null(g);
        return;
    }

    (void) yajl_gen_string(g, (const unsigned char *) s, ngx_strlen(s));
}


void
ngx_http_twitch_json_str(yajl_gen g, ngx_str_t *s)
{
    (void) yajl_gen_string(g, s->data, s->len);
}


void
ngx_http_twitch_json_buf(yajl_gen g, const u_char *s, size_t len)
{
    (void) yajl_gen_string(g, s, len);
}


void
ngx_http_twitch_json_int(yajl_gen g, int64_t n)
{
    (void) yajl_gen_integer(g, (long long) n);
}


void
ngx_http_twitch_json_bool(yajl_gen g, ngx_uint_t b)
{
    (void) yajl_gen_bool(g, b ? 1 : 0);
}


void
ngx_http_twitch_json_null(yajl_gen g)
{
    (void) yajl_gen_null(g);
}
