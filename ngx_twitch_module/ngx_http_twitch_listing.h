
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_LISTING_H_INCLUDED_
#define _NGX_HTTP_TWITCH_LISTING_H_INCLUDED_


#include "ngx_http_twitch_util.h"


/*
 * The channel card of the directory pages ("CH"): the columns, in the
 * order of ngx_http_twitch_listing_card_fields, over the FROM clause
 * (channels c, their owner u, their category cat).  The channels_live
 * statement of ngx_http_twitch_channels.c spells them out (the benchmark
 * reads its literals): keep the two in step.
 */
#define NGX_HTTP_TWITCH_CARD_COLUMNS                                          \
    "c.id, c.name, c.title, c.is_live, c.current_viewers,"                    \
    " c.follower_count, c.thumbnail_url, array_to_json(c.tags),"              \
    " u.username, u.display_name, u.avatar_url, cat.name, cat.slug"

#define NGX_HTTP_TWITCH_CARD_FROM                                             \
    " FROM channels c JOIN users u ON u.id = c.user_id"                       \
    " LEFT JOIN categories cat ON cat.id = c.category_id"

/*
 * The category item ("CAT"): live channels and their viewers are counted
 * from channels on each request (through channels_category_live_idx).
 */
#define NGX_HTTP_TWITCH_CATEGORY_COLUMNS                                      \
    "cat.id, cat.name, cat.slug, cat.image_url, s.live, s.viewers"

#define NGX_HTTP_TWITCH_CATEGORY_FROM                                         \
    " FROM categories cat CROSS JOIN LATERAL"                                 \
    " (SELECT count(*) AS live,"                                              \
    "         coalesce(sum(lc.current_viewers), 0) AS viewers"                \
    "    FROM channels lc"                                                    \
    "   WHERE lc.category_id = cat.id AND lc.is_live) s"


extern ngx_http_twitch_field_t  ngx_http_twitch_listing_card_fields[];
extern ngx_http_twitch_field_t  ngx_http_twitch_listing_category_fields[];


/*
 * [{...}, ...]: one object per row whose column "first" is not NULL, made
 * from the columns from "first" on.  Statements that must tell "unknown
 * parent" (no row) from "empty list" (one row of NULLs) select a marker
 * column before the list's columns and LEFT JOIN the list.
 */
ngx_int_t ngx_http_twitch_listing_emit(ngx_pool_t *pool, yajl_gen g,
    PGresult *res, int first, ngx_http_twitch_field_t *fields);
/* {"<key>": [...]} sent with 200 */
ngx_int_t ngx_http_twitch_listing_send(ngx_http_twitch_ctx_t *ctx,
    const char *key, PGresult *res, int first,
    ngx_http_twitch_field_t *fields);

/*
 * Path parameter i when it can be a user or channel name (3 to 25
 * letters, digits or underscores), NUL-terminated; else NULL.
 */
char *ngx_http_twitch_listing_name(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t i);


#endif /* _NGX_HTTP_TWITCH_LISTING_H_INCLUDED_ */
