
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * ngx_http_twitch_chat_module: the WebSocket chat endpoint.  It checks the
 * RFC 6455 opening handshake; the chat protocol itself is not served yet,
 * so a valid handshake is answered 503.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


static ngx_int_t ngx_http_twitch_chat_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_twitch_chat_refuse(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *message);
static ngx_table_elt_t *ngx_http_twitch_chat_header(ngx_http_request_t *r,
    const char *name);
static ngx_uint_t ngx_http_twitch_chat_has_token(ngx_str_t *value,
    const char *token);
static void *ngx_http_twitch_chat_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_twitch_chat_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_twitch_chat(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_http_twitch_chat_commands[] = {

    { ngx_string("twitch_chat"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_twitch_chat,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("twitch_chat_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_twitch_chat_loc_conf_t, max_message),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_twitch_chat_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_twitch_chat_create_loc_conf,  /* create location configuration */
    ngx_http_twitch_chat_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_twitch_chat_module = {
    NGX_MODULE_V1,
    &ngx_http_twitch_chat_module_ctx,      /* module context */
    ngx_http_twitch_chat_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_twitch_chat_handler(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_str_t         msg;
    ngx_table_elt_t  *upgrade, *connection, *version, *key;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (r->method != NGX_HTTP_GET) {
        ngx_str_set(&msg, "{\"error\":\"WebSocket handshake must use GET\"}");
        return ngx_http_twitch_chat_refuse(r, NGX_HTTP_NOT_ALLOWED, &msg);
    }

    upgrade = ngx_http_twitch_chat_header(r, "Upgrade");
    connection = ngx_http_twitch_chat_header(r, "Connection");

    if (upgrade == NULL || connection == NULL
        || !ngx_http_twitch_chat_has_token(&upgrade->value, "websocket")
        || !ngx_http_twitch_chat_has_token(&connection->value, "upgrade"))
    {
        ngx_str_set(&msg, "{\"error\":\"WebSocket upgrade required\"}");
        return ngx_http_twitch_chat_refuse(r, 426, &msg);
    }

    version = ngx_http_twitch_chat_header(r, "Sec-WebSocket-Version");

    if (version == NULL || version->value.len != 2
        || ngx_strncmp(version->value.data, "13", 2) != 0)
    {
        ngx_str_set(&msg,
                    "{\"error\":\"unsupported WebSocket version\"}");
        return ngx_http_twitch_chat_refuse(r, 426, &msg);
    }

    key = ngx_http_twitch_chat_header(r, "Sec-WebSocket-Key");

    /* 16 random bytes, base64-encoded */

    if (key == NULL || key->value.len != 24
        || key->value.data[22] != '=' || key->value.data[23] != '=')
    {
        ngx_str_set(&msg, "{\"error\":\"invalid Sec-WebSocket-Key\"}");
        return ngx_http_twitch_chat_refuse(r, NGX_HTTP_BAD_REQUEST, &msg);
    }

    ngx_str_set(&msg, "{\"error\":\"chat is not available yet\"}");

    return ngx_http_twitch_chat_refuse(r, NGX_HTTP_SERVICE_UNAVAILABLE, &msg);
}


static ngx_int_t
ngx_http_twitch_chat_refuse(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *message)
{
    ngx_int_t    rc;
    ngx_buf_t   *b;
    ngx_chain_t  out;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = message->data;
    b->last = message->data + message->len;
    b->memory = 1;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    r->headers_out.status = status;
    r->headers_out.content_length_n = message->len;
    ngx_str_set(&r->headers_out.content_type, "application/json");

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}


static ngx_table_elt_t *
ngx_http_twitch_chat_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* a comma-separated header value contains the token, case-insensitively */

static ngx_uint_t
ngx_http_twitch_chat_has_token(ngx_str_t *value, const char *token)
{
    size_t   len;
    u_char  *p, *last, *start;

    len = ngx_strlen(token);
    p = value->data;
    last = p + value->len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void *
ngx_http_twitch_chat_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_twitch_chat_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twitch_chat_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enabled = NGX_CONF_UNSET;
    conf->max_message = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_twitch_chat_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_twitch_chat_loc_conf_t *prev = parent;
    ngx_http_twitch_chat_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);
    ngx_conf_merge_size_value(conf->max_message, prev->max_message, 4096);

    return NGX_CONF_OK;
}


static char *
ngx_http_twitch_chat(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twitch_chat_loc_conf_t *tclcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (tclcf->enabled != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    tclcf->enabled = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_twitch_chat_handler;

    return NGX_CONF_OK;
}
