
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * RFC 6455 for the chat: the opening handshake (checks, Origin policy,
 * the 101 answer), an incremental frame parser that works on whatever
 * bytes arrived (a frame may come one byte at a time), an incremental
 * UTF-8 validator that fails as soon as an invalid byte arrives (also
 * across fragments), and server frames shared by many connections.
 *
 * The parser decides from a frame's header, before any payload is read:
 * reserved bits, unknown opcodes, unmasked client frames, fragmented or
 * oversized control frames and continuation errors are protocol errors
 * (1002), binary data is refused (1003), and a message that would exceed
 * the size limit is refused (1009) without buffering it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_http_twitch_chat.h"
#include "ngx_http_twitch_api.h"


#define NGX_HTTP_TWITCH_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


typedef struct {
    ngx_uint_t                       status;
    const char                      *message;
} ngx_http_twitch_chat_refusal_text_t;


typedef enum {
    ngx_ws_st_head = 0,
    ngx_ws_st_len,
    ngx_ws_st_ext_len,
    ngx_ws_st_mask,
    ngx_ws_st_payload
} ngx_http_twitch_chat_ws_state_e;


/* indexed by ngx_http_twitch_chat_ws_refusal_e */
static ngx_http_twitch_chat_refusal_text_t  ngx_http_twitch_chat_refusals[] = {
    { NGX_HTTP_OK, "" },
    { NGX_HTTP_NOT_ALLOWED, "WebSocket handshake must use GET" },
    { NGX_HTTP_BAD_REQUEST, "WebSocket handshake needs HTTP/1.1" },
    { NGX_HTTP_BAD_REQUEST, "WebSocket handshake must not have a body" },
    { 426, "WebSocket upgrade required" },
    { 426, "unsupported WebSocket version" },
    { NGX_HTTP_BAD_REQUEST, "invalid Sec-WebSocket-Key" },
    { NGX_HTTP_FORBIDDEN, "Origin not allowed" }
};


static ngx_table_elt_t *ngx_http_twitch_chat_ws_header(ngx_http_request_t *r,
    const char *name);
static ngx_uint_t ngx_http_twitch_chat_ws_token(ngx_str_t *value,
    const char *token);
static ngx_uint_t ngx_http_twitch_chat_ws_origin(ngx_http_request_t *r,
    ngx_http_twitch_chat_loc_conf_t *conf, ngx_str_t *origin);
static ngx_int_t ngx_http_twitch_chat_ws_frame_start(
    ngx_http_twitch_chat_ws_parser_t *p);
static ngx_int_t ngx_http_twitch_chat_ws_frame_end(
    ngx_http_twitch_chat_ws_parser_t *p, ngx_http_twitch_chat_ws_event_t *ev);
static ngx_uint_t ngx_http_twitch_chat_ws_close_code_valid(ngx_uint_t code);


/*
 * Checks the opening handshake.  NGX_OK: the 101 answer's headers are set
 * (ngx_http_twitch_chat_conn_start() sends them); NGX_ERROR: out of
 * memory; otherwise the reason of a refusal, for ..._ws_refuse().
 */

ngx_int_t
ngx_http_twitch_chat_ws_handshake(ngx_http_request_t *r,
    ngx_http_twitch_chat_loc_conf_t *conf)
{
    u_char            *p;
    size_t             len;
    ngx_str_t          decoded, accept, src;
    ngx_sha1_t         sha1;
    ngx_table_elt_t   *upgrade, *connection, *version, *key, *origin;
    u_char             raw[24], hash[20];

    if (r->method != NGX_HTTP_GET) {
        return NGX_HTTP_TWITCH_WS_NOT_GET;
    }

    if (r->http_version != NGX_HTTP_VERSION_11 || r != r->main) {
        return NGX_HTTP_TWITCH_WS_NOT_HTTP11;
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return NGX_HTTP_TWITCH_WS_BODY;
    }

    upgrade = ngx_http_twitch_chat_ws_header(r, "Upgrade");
    connection = ngx_http_twitch_chat_ws_header(r, "Connection");

    if (upgrade == NULL || connection == NULL
        || !ngx_http_twitch_chat_ws_token(&upgrade->value, "websocket")
        || !ngx_http_twitch_chat_ws_token(&connection->value, "upgrade"))
    {
        return NGX_HTTP_TWITCH_WS_NO_UPGRADE;
    }

    version = ngx_http_twitch_chat_ws_header(r, "Sec-WebSocket-Version");

    if (version == NULL || version->value.len != 2
        || ngx_strncmp(version->value.data, "13", 2) != 0)
    {
        return NGX_HTTP_TWITCH_WS_VERSION;
    }

    key = ngx_http_twitch_chat_ws_header(r, "Sec-WebSocket-Key");

    if (key == NULL || key->value.len != 24) {
        return NGX_HTTP_TWITCH_WS_KEY;
    }

    /* 16 bytes, base64-encoded */

    src = key->value;
    decoded.data = raw;

    if (ngx_decode_base64(&decoded, &src) != NGX_OK || decoded.len != 16) {
        return NGX_HTTP_TWITCH_WS_KEY;
    }

    origin = ngx_http_twitch_chat_ws_header(r, "Origin");

    if (origin != NULL
        && !ngx_http_twitch_chat_ws_origin(r, conf, &origin->value))
    {
        return NGX_HTTP_TWITCH_WS_ORIGIN;
    }

    /* the answer: Sec-WebSocket-Accept = base64(SHA1(key + GUID)) */

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, key->value.data, key->value.len);
    ngx_sha1_update(&sha1, NGX_HTTP_TWITCH_WS_GUID,
                    sizeof(NGX_HTTP_TWITCH_WS_GUID) - 1);
    ngx_sha1_final(hash, &sha1);

    len = ngx_base64_encoded_length(sizeof(hash));

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    accept.data = p;
    src.data = hash;
    src.len = sizeof(hash);
    ngx_encode_base64(&accept, &src);

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;
    r->lingering_close = 0;

    if (ngx_http_twitch_api_header(r, "Upgrade", (u_char *) "websocket", 9)
        != NGX_OK
        || ngx_http_twitch_api_header(r, "Sec-WebSocket-Accept",
                                      accept.data, accept.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* answers a refused handshake: its status, a JSON error and the headers */

ngx_int_t
ngx_http_twitch_chat_ws_refuse(ngx_http_request_t *r, ngx_int_t reason)
{
    size_t         len;
    ngx_int_t      rc;
    ngx_buf_t     *b;
    yajl_gen       g;
    ngx_uint_t     status;
    const char    *msg;
    ngx_chain_t    out;
    const u_char  *buf;

    status = ngx_http_twitch_chat_refusals[reason].status;
    msg = ngx_http_twitch_chat_refusals[reason].message;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "chat: handshake refused with %ui: %s", status, msg);

    if (reason == NGX_HTTP_TWITCH_WS_NOT_GET
        && ngx_http_twitch_api_header(r, "Allow", (u_char *) "GET", 3)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == 426
        && (ngx_http_twitch_api_header(r, "Upgrade",
                                       (u_char *) "websocket", 9)
            != NGX_OK
            || ngx_http_twitch_api_header(r, "Sec-WebSocket-Version",
                                          (u_char *) "13", 2)
               != NGX_OK))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    g = ngx_http_twitch_json_gen(r->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "error");
    ngx_http_twitch_json_cstr(g, msg);
    (void) yajl_gen_map_close(g);

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, buf, len);
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    r->keepalive = 0;
    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}


static ngx_table_elt_t *
ngx_http_twitch_chat_ws_header(ngx_http_request_t *r, const char *name)
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
ngx_http_twitch_chat_ws_token(ngx_str_t *value, const char *token)
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


/*
 * The Origin policy (cross-site WebSocket hijacking): with
 * twitch_chat_origins, one of the listed origins ("*": any); without, the
 * origin's host must be the request's Host.  A request without Origin is
 * not from a browser page and is accepted.
 */

static ngx_uint_t
ngx_http_twitch_chat_ws_origin(ngx_http_request_t *r,
    ngx_http_twitch_chat_loc_conf_t *conf, ngx_str_t *origin)
{
    u_char      *p, *host_start;
    size_t       len, scheme;
    ngx_str_t   *allowed, host;
    ngx_uint_t   i;

    if (conf->origins != NULL) {
        allowed = conf->origins->elts;

        for (i = 0; i < conf->origins->nelts; i++) {
            if (allowed[i].len == 1 && allowed[i].data[0] == '*') {
                return 1;
            }

            if (allowed[i].len == origin->len
                && ngx_strncasecmp(allowed[i].data, origin->data,
                                   origin->len)
                   == 0)
            {
                return 1;
            }
        }

        return 0;
    }

    if (r->headers_in.host == NULL) {
        return 0;
    }

    host = r->headers_in.host->value;

    if (origin->len > 7
        && ngx_strncasecmp(origin->data, (u_char *) "http://", 7) == 0)
    {
        scheme = 7;

    } else if (origin->len > 8
               && ngx_strncasecmp(origin->data, (u_char *) "https://", 8)
                  == 0)
    {
        scheme = 8;

    } else {
        return 0;
    }

    host_start = origin->data + scheme;
    len = origin->len - scheme;

    if (ngx_strlchr(host_start, host_start + len, '/') != NULL) {
        return 0;
    }

    if (len == host.len && ngx_strncasecmp(host_start, host.data, len) == 0) {
        return 1;
    }

    /* "Host: example.com:80" and "Origin: http://example.com" */

    p = (scheme == 7) ? (u_char *) ":80" : (u_char *) ":443";

    if (host.len == len + ngx_strlen(p)
        && ngx_strncasecmp(host_start, host.data, len) == 0
        && ngx_strncmp(host.data + len, p, ngx_strlen(p)) == 0)
    {
        return 1;
    }

    return 0;
}


/* msg: a buffer of msg_size bytes; msg_max: the limit of a message */

void
ngx_http_twitch_chat_ws_init(ngx_http_twitch_chat_ws_parser_t *p, u_char *msg,
    size_t msg_size, size_t msg_max)
{
    ngx_memzero(p, sizeof(ngx_http_twitch_chat_ws_parser_t));

    p->state = ngx_ws_st_head;
    p->msg = msg;
    p->msg_size = msg_size;
    p->msg_max = msg_max;
}


/*
 * Consumes bytes from *pos up to last.  Returns NGX_OK with an event (a
 * complete text message, a ping, a pong or a close), NGX_AGAIN when every
 * byte was consumed without completing one, NGX_DONE when the message
 * buffer must first grow to p->need bytes (then call again), or a close
 * code (>= 1000) when the client broke the protocol.  A text message's
 * data stays valid until the next call.
 */

ngx_int_t
ngx_http_twitch_chat_ws_parse(ngx_http_twitch_chat_ws_parser_t *p,
    u_char **pos, u_char *last, ngx_http_twitch_chat_ws_event_t *ev)
{
    u_char     *b, *dst;
    size_t      n, i, off;
    ngx_int_t   rc;

    b = *pos;

    while (b < last) {

        switch (p->state) {

        case ngx_ws_st_head:
            p->fin = (*b & 0x80) ? 1 : 0;
            p->opcode = *b & 0x0f;

            if (*b & 0x70) {
                /* no extension was negotiated */
                *pos = b + 1;
                return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
            }

            b++;
            p->state = ngx_ws_st_len;
            break;

        case ngx_ws_st_len:
            if (!(*b & 0x80)) {
                /* a client must mask every frame */
                *pos = b + 1;
                return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
            }

            p->len = *b & 0x7f;
            b++;

            if (p->len == 126) {
                p->len = 0;
                p->len_bytes = 2;
                p->state = ngx_ws_st_ext_len;

            } else if (p->len == 127) {
                p->len = 0;
                p->len_bytes = 8;
                p->state = ngx_ws_st_ext_len;

            } else {
                p->mask_bytes = 0;
                p->state = ngx_ws_st_mask;
            }

            break;

        case ngx_ws_st_ext_len:
            if (p->len_bytes == 8 && (*b & 0x80)) {
                /* the most significant bit must be 0 */
                *pos = b + 1;
                return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
            }

            p->len = (p->len << 8) | *b;
            b++;

            if (--p->len_bytes == 0) {
                p->mask_bytes = 0;
                p->state = ngx_ws_st_mask;
            }

            break;

        case ngx_ws_st_mask:
            p->mask[p->mask_bytes++] = *b++;

            if (p->mask_bytes < 4) {
                break;
            }

            rc = ngx_http_twitch_chat_ws_frame_start(p);

            if (rc != NGX_OK && rc != NGX_DONE) {
                *pos = b;
                return rc;
            }

            p->left = p->len;
            p->state = ngx_ws_st_payload;

            if (rc == NGX_DONE) {
                *pos = b;
                return NGX_DONE;
            }

            if (p->left == 0) {
                *pos = b;
                rc = ngx_http_twitch_chat_ws_frame_end(p, ev);
                if (rc != NGX_AGAIN) {
                    return rc;
                }
            }

            break;

        default: /* ngx_ws_st_payload */

            n = (size_t) ngx_min((uint64_t) (last - b), p->left);
            off = (size_t) (p->len - p->left);

            if (p->opcode >= NGX_HTTP_TWITCH_WS_CLOSE) {
                dst = p->ctl + p->ctl_len;
                p->ctl_len += n;

            } else {
                dst = p->msg + p->msg_len;
                p->msg_len += n;
            }

            for (i = 0; i < n; i++) {
                dst[i] = b[i] ^ p->mask[(off + i) & 3];
            }

            b += n;
            p->left -= n;

            if (p->opcode < NGX_HTTP_TWITCH_WS_CLOSE
                && ngx_http_twitch_chat_utf8(&p->utf8, dst, n) != NGX_OK)
            {
                /* fail fast, not at the end of the message */
                *pos = b;
                return NGX_HTTP_TWITCH_WS_INVALID_DATA;
            }

            if (p->left == 0) {
                *pos = b;
                rc = ngx_http_twitch_chat_ws_frame_end(p, ev);
                if (rc != NGX_AGAIN) {
                    return rc;
                }
            }

            break;
        }
    }

    *pos = b;

    return NGX_AGAIN;
}


/* the header of a frame is complete: may its payload come? */

static ngx_int_t
ngx_http_twitch_chat_ws_frame_start(ngx_http_twitch_chat_ws_parser_t *p)
{
    switch (p->opcode) {

    case NGX_HTTP_TWITCH_WS_CLOSE:
    case NGX_HTTP_TWITCH_WS_PING:
    case NGX_HTTP_TWITCH_WS_PONG:

        if (!p->fin || p->len > 125) {
            return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
        }

        p->ctl_len = 0;
        return NGX_OK;

    case NGX_HTTP_TWITCH_WS_CONT:

        if (p->message == 0) {
            return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
        }

        break;

    case NGX_HTTP_TWITCH_WS_TEXT:
    case NGX_HTTP_TWITCH_WS_BINARY:

        if (p->message != 0) {
            /* a new message while one is still open */
            return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
        }

        if (p->opcode == NGX_HTTP_TWITCH_WS_BINARY) {
            return NGX_HTTP_TWITCH_WS_UNSUPPORTED;
        }

        p->message = p->opcode;
        p->msg_len = 0;
        p->utf8 = 0;
        break;

    default:
        /* reserved opcodes */
        return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
    }

    /* the limit is checked before the payload is read */

    if (p->len > p->msg_max - p->msg_len) {
        return NGX_HTTP_TWITCH_WS_TOO_BIG;
    }

    if (p->len > p->msg_size - p->msg_len) {
        /* the caller gives a larger buffer first */
        p->need = p->msg_len + (size_t) p->len;
        return NGX_DONE;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_chat_ws_frame_end(ngx_http_twitch_chat_ws_parser_t *p,
    ngx_http_twitch_chat_ws_event_t *ev)
{
    uint32_t  state;

    p->state = ngx_ws_st_head;

    if (p->opcode >= NGX_HTTP_TWITCH_WS_CLOSE) {
        ev->opcode = p->opcode;
        ev->data = p->ctl;
        ev->len = p->ctl_len;
        ev->code = 0;

        if (p->opcode != NGX_HTTP_TWITCH_WS_CLOSE) {
            return NGX_OK;
        }

        if (p->ctl_len == 0) {
            ev->code = NGX_HTTP_TWITCH_WS_NO_STATUS;
            return NGX_OK;
        }

        if (p->ctl_len == 1) {
            return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
        }

        ev->code = (p->ctl[0] << 8) | p->ctl[1];
        ev->data = p->ctl + 2;
        ev->len = p->ctl_len - 2;

        if (!ngx_http_twitch_chat_ws_close_code_valid(ev->code)) {
            return NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR;
        }

        state = 0;

        if (ngx_http_twitch_chat_utf8(&state, ev->data, ev->len) != NGX_OK
            || state != 0)
        {
            return NGX_HTTP_TWITCH_WS_INVALID_DATA;
        }

        return NGX_OK;
    }

    if (!p->fin) {
        return NGX_AGAIN;
    }

    /* the message is complete */

    if (p->utf8 != 0) {
        /* it ends inside a code point */
        return NGX_HTTP_TWITCH_WS_INVALID_DATA;
    }

    ev->opcode = p->message;
    ev->data = p->msg;
    ev->len = p->msg_len;
    ev->code = 0;

    p->message = 0;

    return NGX_OK;
}


/*
 * Close codes a peer may send (RFC 6455 7.4 and the IANA registry):
 * 1000-1003, 1007-1014, and 3000-4999 for libraries and applications.
 */

static ngx_uint_t
ngx_http_twitch_chat_ws_close_code_valid(ngx_uint_t code)
{
    if (code >= 1000 && code <= 1003) {
        return 1;
    }

    if (code >= 1007 && code <= 1014) {
        return 1;
    }

    return code >= 3000 && code <= 4999;
}


/*
 * An incremental UTF-8 validator (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).  The state carries the bytes still
 * expected and the range allowed for the next one, so a code point may
 * be split anywhere.  NGX_ERROR at the first byte that cannot be valid.
 */

ngx_int_t
ngx_http_twitch_chat_utf8(uint32_t *state, u_char *p, size_t n)
{
    u_char    c, *last;
    uint32_t  need, lo, hi;

    need = *state & 0xff;
    lo = (*state >> 8) & 0xff;
    hi = (*state >> 16) & 0xff;

    for (last = p + n; p < last; p++) {
        c = *p;

        if (need) {
            if (c < lo || c > hi) {
                return NGX_ERROR;
            }

            need--;
            lo = 0x80;
            hi = 0xbf;
            continue;
        }

        if (c < 0x80) {
            continue;
        }

        lo = 0x80;
        hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;

        } else if (c == 0xe0) {
            need = 2;
            lo = 0xa0;

        } else if (c == 0xed) {
            /* no surrogates */
            need = 2;
            hi = 0x9f;

        } else if (c >= 0xe1 && c <= 0xef) {
            need = 2;

        } else if (c == 0xf0) {
            need = 3;
            lo = 0x90;

        } else if (c >= 0xf1 && c <= 0xf3) {
            need = 3;

        } else if (c == 0xf4) {
            need = 3;
            hi = 0x8f;

        } else {
            return NGX_ERROR;
        }
    }

    *state = need | (need ? (lo << 8) | (hi << 16) : 0);

    return NGX_OK;
}


/*
 * An unmasked server frame, shared by reference counting: it is created
 * with one reference for its creator, each connection that queues it takes
 * one, and every holder calls ..._frame_release().
 */

ngx_http_twitch_chat_frame_t *
ngx_http_twitch_chat_frame(ngx_uint_t opcode, u_char *data, size_t len,
    ngx_log_t *log)
{
    u_char                        *p;
    size_t                         head;
    ngx_http_twitch_chat_frame_t  *f;

    head = (len < 126) ? 2 : (len < 65536) ? 4 : 10;

    f = ngx_alloc(sizeof(ngx_http_twitch_chat_frame_t) + head + len, log);
    if (f == NULL) {
        return NULL;
    }

    f->refs = 1;
    f->len = head + len;
    f->data = (u_char *) f + sizeof(ngx_http_twitch_chat_frame_t);

    p = f->data;
    *p++ = (u_char) (0x80 | opcode);

    if (len < 126) {
        *p++ = (u_char) len;

    } else if (len < 65536) {
        *p++ = 126;
        *p++ = (u_char) (len >> 8);
        *p++ = (u_char) len;

    } else {
        *p++ = 127;
        *p++ = 0;
        *p++ = 0;
        *p++ = 0;
        *p++ = 0;
        *p++ = (u_char) ((uint32_t) len >> 24);
        *p++ = (u_char) (len >> 16);
        *p++ = (u_char) (len >> 8);
        *p++ = (u_char) len;
    }

    if (len) {
        ngx_memcpy(p, data, len);
    }

    return f;
}


/* a text frame of what g generated */

ngx_http_twitch_chat_frame_t *
ngx_http_twitch_chat_frame_json(yajl_gen g, ngx_log_t *log)
{
    size_t          len;
    const u_char   *buf;

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        return NULL;
    }

    return ngx_http_twitch_chat_frame(NGX_HTTP_TWITCH_WS_TEXT, (u_char *) buf,
                                      len, log);
}


/* drops one reference; the last one frees the frame */

void
ngx_http_twitch_chat_frame_release(ngx_http_twitch_chat_frame_t *f)
{
    if (f == NULL) {
        return;
    }

    if (f->refs > 1) {
        f->refs--;
        return;
    }

    ngx_free(f);
}
