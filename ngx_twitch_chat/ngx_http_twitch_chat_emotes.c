
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Emotes in chat messages, found on the server: a word (delimited by
 * spaces or tabs) that is exactly an emote code the sender may use.  The
 * global emotes are for everyone; a channel emote of tier N needs a
 * subscription of tier N or more to that channel (tier 0: everyone), and
 * the broadcaster has all of the channel's emotes.  Positions are code
 * points, "end" exclusive, as chat_messages.emotes documents.
 *
 * A room loads its emotes (the globals and its own) when it is created
 * and again on every refresh.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"


static ngx_http_twitch_chat_emote_t *ngx_http_twitch_chat_emote_lookup(
    ngx_http_twitch_chat_room_t *room, u_char *word, size_t len);
static ngx_uint_t ngx_http_twitch_chat_emote_usable(
    ngx_http_twitch_chat_member_t *m, ngx_http_twitch_chat_emote_t *e);


/* rows of: id, code, tier, is_global */

ngx_int_t
ngx_http_twitch_chat_emotes_load(ngx_http_twitch_chat_room_t *room,
    PGresult *res)
{
    int                            i, n;
    ngx_pool_t                    *pool;
    ngx_array_t                   *emotes;
    ngx_http_twitch_chat_emote_t  *e;

    n = PQntuples(res);

    pool = ngx_create_pool(1024, room->worker->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    emotes = ngx_array_create(pool, n ? n : 1,
                              sizeof(ngx_http_twitch_chat_emote_t));
    if (emotes == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        e = ngx_array_push(emotes);
        if (e == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        e->id = ngx_atoof((u_char *) PQgetvalue(res, i, 0),
                          PQgetlength(res, i, 0));
        e->code.len = PQgetlength(res, i, 1);
        e->code.data = ngx_pnalloc(pool, e->code.len);

        if (e->code.data == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        ngx_memcpy(e->code.data, PQgetvalue(res, i, 1), e->code.len);
        e->tier = ngx_atoi((u_char *) PQgetvalue(res, i, 2),
                           PQgetlength(res, i, 2));
        e->global = (PQgetvalue(res, i, 3)[0] == 't');
    }

    if (room->emotes_pool != NULL) {
        ngx_destroy_pool(room->emotes_pool);
    }

    room->emotes_pool = pool;
    room->emotes = emotes;

    return NGX_OK;
}


/*
 * The emotes of text the member may use, in order; *only: the text is
 * nothing but such emotes (for emote-only mode).
 */

ngx_int_t
ngx_http_twitch_chat_emotes_find(ngx_http_twitch_chat_member_t *m,
    ngx_str_t *text, ngx_array_t *uses, ngx_uint_t *only)
{
    u_char                            *p, *last, *start;
    ngx_uint_t                         cp, cstart, words, all;
    ngx_http_twitch_chat_emote_t      *e;
    ngx_http_twitch_chat_emote_use_t  *u;

    p = text->data;
    last = p + text->len;
    cp = 0;
    words = 0;
    all = 1;

    while (p < last) {

        if (*p == ' ' || *p == '\t') {
            p++;
            cp++;
            continue;
        }

        start = p;
        cstart = cp;

        while (p < last && *p != ' ' && *p != '\t') {
            if ((*p & 0xc0) != 0x80) {
                cp++;
            }

            p++;
        }

        words++;

        e = ngx_http_twitch_chat_emote_lookup(m->room, start, p - start);

        if (e == NULL || !ngx_http_twitch_chat_emote_usable(m, e)) {
            all = 0;
            continue;
        }

        u = ngx_array_push(uses);
        if (u == NULL) {
            return NGX_ERROR;
        }

        u->id = e->id;
        u->code = e->code;
        u->start = cstart;
        u->end = cp;
    }

    *only = (words > 0 && all);

    return NGX_OK;
}


static ngx_http_twitch_chat_emote_t *
ngx_http_twitch_chat_emote_lookup(ngx_http_twitch_chat_room_t *room,
    u_char *word, size_t len)
{
    ngx_uint_t                     i;
    ngx_http_twitch_chat_emote_t  *e;

    if (room->emotes == NULL || len < 2 || len > 25) {
        return NULL;
    }

    e = room->emotes->elts;

    for (i = 0; i < room->emotes->nelts; i++) {
        if (e[i].code.len == len
            && ngx_strncmp(e[i].code.data, word, len) == 0)
        {
            return &e[i];
        }
    }

    return NULL;
}


static ngx_uint_t
ngx_http_twitch_chat_emote_usable(ngx_http_twitch_chat_member_t *m,
    ngx_http_twitch_chat_emote_t *e)
{
    if (e->global || e->tier == 0 || m->broadcaster) {
        return 1;
    }

    return m->sub_tier >= e->tier;
}


/* code points of valid UTF-8 */

size_t
ngx_http_twitch_chat_chars(u_char *p, size_t n)
{
    size_t   count;
    u_char  *last;

    count = 0;

    for (last = p + n; p < last; p++) {
        if ((*p & 0xc0) != 0x80) {
            count++;
        }
    }

    return count;
}
