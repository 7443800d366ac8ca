
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/channels: listings, channel pages, follow, subscribe, stream keys.
 *
 * Every route is one statement.  Names are looked up with
 * lower(name) = lower($1) (the channels_name_lower_key index); a name that
 * cannot be a channel name is a 404 without a query.  Follower and
 * subscriber counts are maintained by triggers in the same transaction as
 * the followers/subscriptions rows, so concurrent follows cannot drift.
 * The stream key is only ever sent to the channel's owner.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_listing.h"
#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_CHANNELS_LIMIT    20
#define NGX_HTTP_TWITCH_IDEMPOTENCY_MAX   128
#define NGX_HTTP_TWITCH_TAGS_MAX          10
#define NGX_HTTP_TWITCH_TAG_LEN           25


typedef struct {
    char                *name;
    char                *limit;
    char                *offset;
    char                *tier;
    char                *key;
    const char          *params[11];
} ngx_http_twitch_channel_t;


static ngx_int_t ngx_http_twitch_channels_list(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channels_live(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channels_list_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_channel_get(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_get_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_get_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_channel_update(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_update_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_update_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_channel_tags(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_json_t *v, const char **json, const char **err);
static ngx_int_t ngx_http_twitch_channel_follow(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_follow_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_follow_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_channel_subscribe(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_subscribe_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_subscribe_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_channel_idempotency_key(
    ngx_http_twitch_ctx_t *ctx, char **key);
static ngx_int_t ngx_http_twitch_channel_stream_key(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_stream_key_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_stream_key_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_channel_people(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_people_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_people_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_channel_signed_in(
    ngx_http_twitch_ctx_t *ctx, ngx_http_twitch_route_pt next);
static ngx_http_twitch_channel_t *ngx_http_twitch_channel_data(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_channel_not_found(
    ngx_http_twitch_ctx_t *ctx);
static char *ngx_http_twitch_channel_addr(ngx_http_twitch_ctx_t *ctx);


/*
 * GET /api/channels/live, benchmarked against pgbench running this SQL
 * (bench/api/stmt_sql.pl reads the literals: no macros here).  The
 * columns are NGX_HTTP_TWITCH_CARD_COLUMNS; the partial index
 * channels_live_viewers_idx gives the order, so the LIMIT stops early.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channels_live_stmt = {
    "channels_live",
    "SELECT c.id, c.name, c.title, c.is_live, c.current_viewers,"
    " c.follower_count, c.thumbnail_url, array_to_json(c.tags),"
    " u.username, u.display_name, u.avatar_url, cat.name, cat.slug"
    " FROM channels c JOIN users u ON u.id = c.user_id"
    " LEFT JOIN categories cat ON cat.id = c.category_id"
    " WHERE c.is_live"
    " ORDER BY c.current_viewers DESC, c.id"
    " LIMIT $1 OFFSET $2",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channels_all_stmt = {
    "channels_all",
    "SELECT " NGX_HTTP_TWITCH_CARD_COLUMNS
    NGX_HTTP_TWITCH_CARD_FROM
    " ORDER BY c.is_live DESC, c.current_viewers DESC, c.id"
    " LIMIT $1 OFFSET $2",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channels_category_stmt = {
    "channels_all_category",
    "SELECT " NGX_HTTP_TWITCH_CARD_COLUMNS
    NGX_HTTP_TWITCH_CARD_FROM
    " WHERE c.category_id = (SELECT k.id FROM categories k"
    "                         WHERE k.slug = lower($3))"
    " ORDER BY c.is_live DESC, c.current_viewers DESC, c.id"
    " LIMIT $1 OFFSET $2",
    3, 0
};

/* $1 name, $2 the caller's id or NULL; the key only for the owner */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channel_get_stmt = {
    "channel_get",
    "SELECT c.id, c.name, c.title, c.description, array_to_json(c.tags),"
    " c.is_live, c.current_viewers, c.follower_count, c.subscriber_count,"
    " c.thumbnail_url, c.offline_banner_url, iso(c.created_at),"
    " u.id, u.username, u.display_name, u.avatar_url, u.bio,"
    " cat.id, cat.name, cat.slug,"
    " EXISTS (SELECT 1 FROM followers f"
    "          WHERE f.user_id = $2 AND f.channel_id = c.id),"
    " s.tier IS NOT NULL, s.tier,"
    " coalesce(c.user_id = $2, false),"
    " CASE WHEN c.user_id = $2 THEN c.stream_key END"
    " FROM channels c JOIN users u ON u.id = c.user_id"
    " LEFT JOIN categories cat ON cat.id = c.category_id"
    " LEFT JOIN subscriptions s ON s.user_id = $2 AND s.channel_id = c.id"
    "                          AND s.expires_at > now()"
    " WHERE lower(c.name) = lower($1)",
    2, 0
};

/*
 * $1 name, $2 caller, $3 caller is admin, then a flag and a value per
 * field: $4/$5 title, $6/$7 description, $8/$9 category id, $10/$11 tags
 * (a JSON array).  An unknown category fails the foreign key (23503).
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channel_update_stmt = {
    "channel_update",
    "WITH t AS (SELECT id, (user_id = $2 OR $3::boolean) AS allowed"
    "             FROM channels WHERE lower(name) = lower($1)),"
    " upd AS (UPDATE channels c"
    "            SET title = CASE WHEN $4::boolean THEN $5::text"
    "                             ELSE c.title END,"
    "                description = CASE WHEN $6::boolean THEN $7::text"
    "                                   ELSE c.description END,"
    "                category_id = CASE WHEN $8::boolean THEN $9::bigint"
    "                                   ELSE c.category_id END,"
    "                tags = CASE WHEN $10::boolean"
    "                            THEN ARRAY(SELECT json_array_elements_text("
    "                                                  $11::json))"
    "                            ELSE c.tags END"
    "           FROM t"
    "          WHERE c.id = t.id AND t.allowed"
    "            AND ($4::boolean OR $6::boolean OR $8::boolean"
    "                 OR $10::boolean)"
    "         RETURNING c.id)"
    " SELECT t.allowed, EXISTS (SELECT 1 FROM upd) FROM t",
    11, 0
};

/*
 * Follow and unfollow lock the channel row first (FOR NO KEY UPDATE): the
 * count trigger updates that row, and an UPDATE that needs a key lock
 * (any UPDATE of channels once a unique index covers a generated column)
 * would otherwise deadlock against the KEY SHARE lock of a concurrent
 * follow's foreign key check.  Follows of one channel queue on the row.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channel_follow_stmt = {
    "channel_follow",
    "WITH c AS (SELECT id FROM channels WHERE lower(name) = lower($1)"
    "           FOR NO KEY UPDATE),"
    " ins AS (INSERT INTO followers (user_id, channel_id)"
    "         SELECT $2, c.id FROM c"
    "         ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT EXISTS (SELECT 1 FROM ins) FROM c",
    2, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channel_unfollow_stmt = {
    "channel_unfollow",
    "WITH c AS (SELECT id FROM channels WHERE lower(name) = lower($1)"
    "           FOR NO KEY UPDATE),"
    " del AS (DELETE FROM followers f USING c"
    "          WHERE f.user_id = $2 AND f.channel_id = c.id RETURNING 1)"
    " SELECT EXISTS (SELECT 1 FROM del) FROM c",
    2, 0
};

/* $1 caller, $2 name, $3 tier, $4 Idempotency-Key or NULL (migration 010) */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channel_subscribe_stmt = {
    "channel_subscribe",
    "SELECT o_status, o_error, o_message, o_expires_at, o_tier, o_replayed"
    " FROM api_subscribe($1, $2, $3, $4)",
    4, 0
};

/* $1 name, $2 caller, $3 client address or NULL */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channel_stream_key_stmt = {
    "channel_stream_key",
    "WITH c AS (SELECT id, user_id = $2 AS owner"
    "             FROM channels WHERE lower(name) = lower($1)),"
    " k AS (UPDATE channels ch SET stream_key = DEFAULT"
    "         FROM c WHERE ch.id = c.id AND c.owner"
    "       RETURNING ch.id, ch.stream_key),"
    " a AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                              channel_id, ip)"
    "       SELECT $2, 'channel.stream_key_rotate', 'channel', k.id::text,"
    "              k.id, $3::inet FROM k)"
    " SELECT c.id, c.owner, k.stream_key FROM c LEFT JOIN k ON k.id = c.id",
    3, 0
};

/*
 * $1 name, $2 caller, $3 caller is admin, $4 limit, $5 offset: the first
 * column says whether the caller may see the list (owner, channel
 * moderator, admin); the list follows, empty unless allowed.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channel_followers_stmt = {
    "channel_followers",
    "WITH c AS (SELECT ch.id, (ch.user_id = $2 OR $3::boolean"
    "                          OR EXISTS (SELECT 1 FROM channel_moderators m"
    "                                      WHERE m.channel_id = ch.id"
    "                                        AND m.user_id = $2)) AS allowed"
    "             FROM channels ch WHERE lower(ch.name) = lower($1))"
    " SELECT c.allowed, l.* FROM c LEFT JOIN LATERAL"
    " (SELECT u.id, u.username, u.display_name, u.avatar_url,"
    "         iso(f.followed_at)"
    "    FROM followers f JOIN users u ON u.id = f.user_id"
    "   WHERE f.channel_id = c.id AND c.allowed"
    "   ORDER BY f.followed_at DESC, f.user_id"
    "   LIMIT $4 OFFSET $5) l ON true",
    5, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_channel_subscribers_stmt = {
    "channel_subscribers",
    "WITH c AS (SELECT ch.id, (ch.user_id = $2 OR $3::boolean"
    "                          OR EXISTS (SELECT 1 FROM channel_moderators m"
    "                                      WHERE m.channel_id = ch.id"
    "                                        AND m.user_id = $2)) AS allowed"
    "             FROM channels ch WHERE lower(ch.name) = lower($1))"
    " SELECT c.allowed, l.* FROM c LEFT JOIN LATERAL"
    " (SELECT u.id, u.username, u.display_name, u.avatar_url, s.tier,"
    "         iso(s.started_at), iso(s.expires_at), s.is_gift"
    "    FROM subscriptions s JOIN users u ON u.id = s.user_id"
    "   WHERE s.channel_id = c.id AND c.allowed AND s.expires_at > now()"
    "   ORDER BY s.started_at DESC, s.user_id"
    "   LIMIT $4 OFFSET $5) l ON true",
    5, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_channel_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "title", NGX_HTTP_TWITCH_F_STR },
    { "description", NGX_HTTP_TWITCH_F_STR },
    { "tags", NGX_HTTP_TWITCH_F_JSON },
    { "isLive", NGX_HTTP_TWITCH_F_BOOL },
    { "viewerCount", NGX_HTTP_TWITCH_F_INT },
    { "followerCount", NGX_HTTP_TWITCH_F_INT },
    { "subscriberCount", NGX_HTTP_TWITCH_F_INT },
    { "thumbnailUrl", NGX_HTTP_TWITCH_F_STR },
    { "offlineBannerUrl", NGX_HTTP_TWITCH_F_STR },
    { "createdAt", NGX_HTTP_TWITCH_F_STR },
    { "user", NGX_HTTP_TWITCH_F_OBJ },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { "bio", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { "category", NGX_HTTP_TWITCH_F_OBJ_NULL },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "slug", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { "isFollowing", NGX_HTTP_TWITCH_F_BOOL },
    { "isSubscribed", NGX_HTTP_TWITCH_F_BOOL },
    { "subscriptionTier", NGX_HTTP_TWITCH_F_INT },
    { "isOwner", NGX_HTTP_TWITCH_F_BOOL },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

/* the columns after the fields above */
#define NGX_HTTP_TWITCH_CHANNEL_COL_OWNER   23
#define NGX_HTTP_TWITCH_CHANNEL_COL_KEY     24

static ngx_http_twitch_field_t  ngx_http_twitch_follower_fields[] = {
    { "userId", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { "followedAt", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_subscriber_fields[] = {
    { "userId", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { "tier", NGX_HTTP_TWITCH_F_INT },
    { "startedAt", NGX_HTTP_TWITCH_F_STR },
    { "expiresAt", NGX_HTTP_TWITCH_F_STR },
    { "isGift", NGX_HTTP_TWITCH_F_BOOL },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


/* "/api/channels/live" comes before "/api/channels/:name" */

ngx_http_twitch_route_t  ngx_http_twitch_channels_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/channels"),
      ngx_http_twitch_channels_list,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/channels/live"),
      ngx_http_twitch_channels_live,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/channels/:name"),
      ngx_http_twitch_channel_get,
      0, 0 },

    { NGX_HTTP_PATCH,
      ngx_string("/api/channels/:name"),
      ngx_http_twitch_channel_update,
      1, 0 },

    { NGX_HTTP_POST,
      ngx_string("/api/channels/:name/follow"),
      ngx_http_twitch_channel_follow,
      0, 1 },

    { NGX_HTTP_DELETE,
      ngx_string("/api/channels/:name/follow"),
      ngx_http_twitch_channel_follow,
      0, 0 },

    { NGX_HTTP_POST,
      ngx_string("/api/channels/:name/subscribe"),
      ngx_http_twitch_channel_subscribe,
      1, 0 },

    { NGX_HTTP_POST,
      ngx_string("/api/channels/:name/stream-key"),
      ngx_http_twitch_channel_stream_key,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/channels/:name/followers"),
      ngx_http_twitch_channel_people,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/channels/:name/subscribers"),
      ngx_http_twitch_channel_people,
      0, 1 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* GET /api/channels?category=<slug>&limit&offset */

static ngx_int_t
ngx_http_twitch_channels_list(ngx_http_twitch_ctx_t *ctx)
{
    u_char                      *p;
    ngx_int_t                    rc;
    ngx_str_t                    slug;
    const char                  *params[3];
    ngx_http_twitch_channel_t   *ch;
    ngx_http_twitch_pg_stmt_t   *stmt;

    ch = ngx_http_twitch_channel_data(ctx);
    if (ch == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_twitch_paging(ctx, NGX_HTTP_TWITCH_CHANNELS_LIMIT,
                                &ch->limit, &ch->offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = ch->limit;
    params[1] = ch->offset;
    params[2] = NULL;
    stmt = &ngx_http_twitch_channels_all_stmt;

    if (ngx_http_arg(ctx->request, (u_char *) "category",
                     sizeof("category") - 1, &slug)
        == NGX_OK
        && slug.len > 0)
    {
        for (p = slug.data; p < slug.data + slug.len; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                  || (*p >= '0' && *p <= '9') || *p == '-'))
            {
                break;
            }
        }

        if (p < slug.data + slug.len || slug.len > 100) {
            ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                          "twitch api: bad category filter");
            return ngx_http_twitch_api_error(ctx->request,
                                             NGX_HTTP_BAD_REQUEST,
                                             "category must be a category "
                                             "slug");
        }

        params[2] = (const char *) ngx_pnalloc(ctx->request->pool,
                                               slug.len + 1);
        if (params[2] == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_cpymem((u_char *) params[2], slug.data, slug.len) = '\0';
        stmt = &ngx_http_twitch_channels_category_stmt;
    }

    return ngx_http_twitch_api_query(ctx, stmt, params,
                                     ngx_http_twitch_channels_list_done);
}


/* GET /api/channels/live?limit&offset */

static ngx_int_t
ngx_http_twitch_channels_live(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                   rc;
    const char                 *params[2];
    ngx_http_twitch_channel_t  *ch;

    ch = ngx_http_twitch_channel_data(ctx);
    if (ch == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_twitch_paging(ctx, NGX_HTTP_TWITCH_CHANNELS_LIMIT,
                                &ch->limit, &ch->offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = ch->limit;
    params[1] = ch->offset;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_channels_live_stmt,
                                     params,
                                     ngx_http_twitch_channels_list_done);
}


static ngx_int_t
ngx_http_twitch_channels_list_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    return ngx_http_twitch_listing_send(ctx, "channels", res, 0,
                                        ngx_http_twitch_listing_card_fields);
}


/* GET /api/channels/:name (session optional) */

static ngx_int_t
ngx_http_twitch_channel_get(ngx_http_twitch_ctx_t *ctx)
{
    ngx_http_twitch_channel_t  *ch;

    ch = ngx_http_twitch_channel_data(ctx);
    if (ch == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ch->name == NULL) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    return ngx_http_twitch_session_user(ctx, 0,
                                        ngx_http_twitch_channel_get_user);
}


static ngx_int_t
ngx_http_twitch_channel_get_user(ngx_http_twitch_ctx_t *ctx)
{
    const char                 *params[2];
    ngx_http_twitch_channel_t  *ch = ctx->data;

    params[0] = ch->name;
    params[1] = ctx->user ? (const char *) ctx->user->id.data : NULL;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_channel_get_stmt,
                                     params,
                                     ngx_http_twitch_channel_get_done);
}


static ngx_int_t
ngx_http_twitch_channel_get_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    int        col;
    yajl_gen   g;
    ngx_int_t  owner;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    owner = PQgetvalue(res, 0, NGX_HTTP_TWITCH_CHANNEL_COL_OWNER)[0] == 't';

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    col = 0;

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "channel");
    (void) yajl_gen_map_open(g);

    if (ngx_http_twitch_emit_fields(ctx->request->pool, g, res, 0,
                                    ngx_http_twitch_channel_fields, &col)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (owner && !PQgetisnull(res, 0, NGX_HTTP_TWITCH_CHANNEL_COL_KEY)) {
        ngx_http_twitch_json_key(g, "streamKey");
        ngx_http_twitch_json_buf(g,
                    (u_char *) PQgetvalue(res, 0,
                                          NGX_HTTP_TWITCH_CHANNEL_COL_KEY),
                    PQgetlength(res, 0, NGX_HTTP_TWITCH_CHANNEL_COL_KEY));
    }

    (void) yajl_gen_map_close(g);
    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


/* PATCH /api/channels/:name {title?, description?, categoryId?, tags?} */

static ngx_int_t
ngx_http_twitch_channel_update(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_channel_signed_in(ctx,
               ngx_http_twitch_channel_update_user);
}


static ngx_int_t
ngx_http_twitch_channel_update_user(ngx_http_twitch_ctx_t *ctx)
{
    char                       *s;
    const char                 *err, **params;
    ngx_http_twitch_json_t     *v;
    ngx_http_twitch_channel_t  *ch = ctx->data;

    if (ch->name == NULL) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    params = ch->params;

    params[0] = ch->name;
    params[1] = (const char *) ctx->user->id.data;
    params[2] = ctx->user->admin ? "true" : "false";

    params[3] = "false";
    params[4] = NULL;
    params[5] = "false";
    params[6] = NULL;
    params[7] = "false";
    params[8] = NULL;
    params[9] = "false";
    params[10] = NULL;

    err = NULL;

    /* title: 1..140 characters, never null */

    v = ngx_http_twitch_json_get(ctx->body, "title");

    if (v != NULL) {
        if (v->type != NGX_HTTP_TWITCH_JSON_STRING) {
            err = "title must be a string";
            goto invalid;
        }

        if (ngx_http_twitch_body_str(ctx, "title", 1, 1, 140, &s, &err)
            != NGX_OK)
        {
            goto invalid;
        }

        params[3] = "true";
        params[4] = s;
    }

    /* description: at most 2000 characters; null removes it */

    v = ngx_http_twitch_json_get(ctx->body, "description");

    if (v != NULL) {
        if (v->type != NGX_HTTP_TWITCH_JSON_NULL) {
            if (ngx_http_twitch_body_str(ctx, "description", 0, 0, 2000, &s,
                                         &err)
                != NGX_OK)
            {
                goto invalid;
            }

            params[6] = s;
        }

        params[5] = "true";
    }

    /* categoryId: an existing category, or null for none */

    v = ngx_http_twitch_json_get(ctx->body, "categoryId");

    if (v != NULL) {
        if (v->type != NGX_HTTP_TWITCH_JSON_NULL) {
            if (v->type != NGX_HTTP_TWITCH_JSON_NUMBER) {
                err = "categoryId must be an integer or null";
                goto invalid;
            }

            if (ngx_http_twitch_body_int(ctx, "categoryId", 0,
                                         -100000000000LL, 100000000000LL,
                                         &s, &err)
                != NGX_OK)
            {
                goto invalid;
            }

            if (s[0] == '-' || s[0] == '0') {
                err = "Unknown category";
                goto invalid;
            }

            params[8] = s;
        }

        params[7] = "true";
    }

    /* tags: an array of at most 10 tags */

    v = ngx_http_twitch_json_get(ctx->body, "tags");

    if (v != NULL) {
        if (ngx_http_twitch_channel_tags(ctx, v, &params[10], &err)
            != NGX_OK)
        {
            if (err == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            goto invalid;
        }

        params[9] = "true";
    }

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_channel_update_stmt,
                                     params,
                                     ngx_http_twitch_channel_update_done);

invalid:

    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "twitch api: channel update refused: %s", err);

    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST, err);
}


/*
 * Tags as a JSON array for the statement: ASCII letters and digits, 1 to
 * 25 each, at most 10, no repeats ignoring case.
 */

static ngx_int_t
ngx_http_twitch_channel_tags(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_json_t *v, const char **json, const char **err)
{
    u_char                  *p, *out;
    size_t                   len;
    yajl_gen                 g;
    const u_char            *buf;
    ngx_http_twitch_json_t  *t, *o;

    *err = NULL;

    if (v->type != NGX_HTTP_TWITCH_JSON_ARRAY) {
        *err = "tags must be an array of strings";
        return NGX_DECLINED;
    }

    if (v->nchildren > NGX_HTTP_TWITCH_TAGS_MAX) {
        *err = "tags must have at most 10 entries";
        return NGX_DECLINED;
    }

    for (t = v->child; t; t = t->next) {

        if (t->type != NGX_HTTP_TWITCH_JSON_STRING) {
            *err = "tags must be an array of strings";
            return NGX_DECLINED;
        }

        if (t->str.len == 0 || t->str.len > NGX_HTTP_TWITCH_TAG_LEN) {
            goto bad_tag;
        }

        for (p = t->str.data; p < t->str.data + t->str.len; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                  || (*p >= '0' && *p <= '9')))
            {
                goto bad_tag;
            }
        }

        for (o = v->child; o != t; o = o->next) {
            if (o->str.len == t->str.len
                && ngx_strncasecmp(o->str.data, t->str.data, t->str.len)
                   == 0)
            {
                *err = "tags must not repeat";
                return NGX_DECLINED;
            }
        }
    }

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_ERROR;
    }

    (void) yajl_gen_array_open(g);

    for (t = v->child; t; t = t->next) {
        ngx_http_twitch_json_str(g, &t->str);
    }

    (void) yajl_gen_array_close(g);

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        return NGX_ERROR;
    }

    out = ngx_pnalloc(ctx->request->pool, len + 1);
    if (out == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(out, buf, len) = '\0';
    *json = (const char *) out;

    return NGX_OK;

bad_tag:

    *err = "each tag must be 1 to 25 letters or digits";
    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_twitch_channel_update_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_channel_t  *ch = ctx->data;

    if (rc == NGX_ERROR
        && ngx_strcmp(ngx_http_twitch_sqlstate(res), "23503") == 0)
    {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: channel update: unknown category");
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         "Unknown category");
    }

    if (rc == NGX_ERROR
        && ngx_strcmp(ngx_http_twitch_sqlstate(res), "23514") == 0)
    {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: channel update refused by \"%s\"",
                      ngx_http_twitch_constraint(res));
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         "invalid channel settings");
    }

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    if (PQgetvalue(res, 0, 0)[0] != 't') {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: user \"%V\" may not update channel "
                      "\"%s\"", &ctx->user->username, ch->name);
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                         "Not authorized");
    }

    if (PQgetvalue(res, 0, 1)[0] == 't') {
        return ngx_http_twitch_send_success(ctx);
    }

    return ngx_http_twitch_send_success_message(ctx, "Nothing to update");
}


/* POST and DELETE /api/channels/:name/follow (route argument: 1, 0) */

static ngx_int_t
ngx_http_twitch_channel_follow(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_channel_signed_in(ctx,
               ngx_http_twitch_channel_follow_user);
}


static ngx_int_t
ngx_http_twitch_channel_follow_user(ngx_http_twitch_ctx_t *ctx)
{
    const char                 *params[2];
    ngx_http_twitch_channel_t  *ch = ctx->data;

    if (ch->name == NULL) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    params[0] = ch->name;
    params[1] = (const char *) ctx->user->id.data;

    return ngx_http_twitch_api_query(ctx,
                                     ctx->route_arg
                                     ? &ngx_http_twitch_channel_follow_stmt
                                     : &ngx_http_twitch_channel_unfollow_stmt,
                                     params,
                                     ngx_http_twitch_channel_follow_done);
}


static ngx_int_t
ngx_http_twitch_channel_follow_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    if (!ctx->route_arg || PQgetvalue(res, 0, 0)[0] == 't') {
        return ngx_http_twitch_send_success(ctx);
    }

    return ngx_http_twitch_send_success_message(ctx, "Already following");
}


/* POST /api/channels/:name/subscribe {tier?} with Idempotency-Key */

static ngx_int_t
ngx_http_twitch_channel_subscribe(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_channel_signed_in(ctx,
               ngx_http_twitch_channel_subscribe_user);
}


static ngx_int_t
ngx_http_twitch_channel_subscribe_user(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                   rc;
    const char                 *err, *params[4];
    ngx_http_twitch_channel_t  *ch = ctx->data;

    if (ch->name == NULL) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    if (ngx_http_twitch_body_int(ctx, "tier", 0, 1, 3, &ch->tier, &err)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: subscribe refused: %s", err);
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         err);
    }

    rc = ngx_http_twitch_channel_idempotency_key(ctx, &ch->key);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: subscribe refused: bad Idempotency-Key");
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                   "Idempotency-Key must be 1 to 128 printable characters");
    }

    params[0] = (const char *) ctx->user->id.data;
    params[1] = ch->name;
    params[2] = ch->tier ? ch->tier : "1";
    params[3] = ch->key;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_channel_subscribe_stmt,
                                     params,
                                     ngx_http_twitch_channel_subscribe_done);
}


/*
 * The Idempotency-Key (or X-Idempotency-Key) header: NGX_OK with *key
 * NULL when absent, NGX_DECLINED when not 1..128 printable characters.
 */

static ngx_int_t
ngx_http_twitch_channel_idempotency_key(ngx_http_twitch_ctx_t *ctx,
    char **key)
{
    u_char           *p;
    ngx_str_t        *v;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    *key = NULL;
    v = NULL;

    part = &ctx->request->headers_in.headers.part;
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

        if ((h[i].key.len == sizeof("Idempotency-Key") - 1
             && ngx_strncasecmp(h[i].key.data, (u_char *) "Idempotency-Key",
                                sizeof("Idempotency-Key") - 1)
                == 0)
            || (h[i].key.len == sizeof("X-Idempotency-Key") - 1
                && ngx_strncasecmp(h[i].key.data,
                                   (u_char *) "X-Idempotency-Key",
                                   sizeof("X-Idempotency-Key") - 1)
                   == 0))
        {
            v = &h[i].value;
            break;
        }
    }

    if (v == NULL) {
        return NGX_OK;
    }

    if (v->len == 0 || v->len > NGX_HTTP_TWITCH_IDEMPOTENCY_MAX) {
        return NGX_DECLINED;
    }

    for (p = v->data; p < v->data + v->len; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            return NGX_DECLINED;
        }
    }

    *key = ngx_pnalloc(ctx->request->pool, v->len + 1);
    if (*key == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem((u_char *) *key, v->data, v->len) = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_channel_subscribe_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    yajl_gen    g;
    ngx_int_t   status;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        return ngx_http_twitch_db_error(ctx, res, NGX_ERROR);
    }

    status = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                      PQgetlength(res, 0, 0));

    if (status != NGX_HTTP_OK) {
        if (status == NGX_ERROR || PQgetisnull(res, 0, 1)) {
            return ngx_http_twitch_db_error(ctx, res, NGX_ERROR);
        }

        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: subscribe: %s", PQgetvalue(res, 0, 1));

        return ngx_http_twitch_api_error(ctx->request, status,
                                         PQgetvalue(res, 0, 1));
    }

    if (PQgetvalue(res, 0, 5)[0] == 't') {
        if (ngx_http_twitch_api_header(ctx->request, "Idempotent-Replayed",
                                       (u_char *) "true", 4)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* the first answer and its replays are made by this same code */

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "success");
    ngx_http_twitch_json_bool(g, 1);

    if (!PQgetisnull(res, 0, 2)) {
        ngx_http_twitch_json_key(g, "message");
        ngx_http_twitch_json_buf(g, (u_char *) PQgetvalue(res, 0, 2),
                                 PQgetlength(res, 0, 2));
    }

    ngx_http_twitch_json_key(g, "expiresAt");
    ngx_http_twitch_json_buf(g, (u_char *) PQgetvalue(res, 0, 3),
                             PQgetlength(res, 0, 3));
    ngx_http_twitch_json_key(g, "tier");
    (void) yajl_gen_number(g, PQgetvalue(res, 0, 4), PQgetlength(res, 0, 4));
    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


/* POST /api/channels/:name/stream-key (the owner only) */

static ngx_int_t
ngx_http_twitch_channel_stream_key(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_channel_signed_in(ctx,
               ngx_http_twitch_channel_stream_key_user);
}


static ngx_int_t
ngx_http_twitch_channel_stream_key_user(ngx_http_twitch_ctx_t *ctx)
{
    const char                 *params[3];
    ngx_http_twitch_channel_t  *ch = ctx->data;

    if (ch->name == NULL) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    params[0] = ch->name;
    params[1] = (const char *) ctx->user->id.data;
    params[2] = ngx_http_twitch_channel_addr(ctx);

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_channel_stream_key_stmt,
                                     params,
                                     ngx_http_twitch_channel_stream_key_done);
}


static ngx_int_t
ngx_http_twitch_channel_stream_key_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    size_t                      lens[3];
    yajl_gen                    g;
    const char                 *argv[3];
    ngx_http_twitch_channel_t  *ch = ctx->data;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    if (PQgetvalue(res, 0, 1)[0] != 't' || PQgetisnull(res, 0, 2)) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: user \"%V\" may not rotate the stream "
                      "key of \"%s\"", &ctx->user->username, ch->name);
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                         "Not authorized");
    }

    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "twitch api: stream key of channel %s rotated",
                  PQgetvalue(res, 0, 0));

    /* live sessions on the old key are dropped by the video side */

    argv[0] = "PUBLISH";
    argv[1] = "stream_key_rotated";
    argv[2] = PQgetvalue(res, 0, 0);

    lens[0] = sizeof("PUBLISH") - 1;
    lens[1] = sizeof("stream_key_rotated") - 1;
    lens[2] = PQgetlength(res, 0, 0);

    if (ngx_http_twitch_redis_command(ctx->tmcf->redis, NULL, NULL, 3, argv,
                                      lens)
        == NULL)
    {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "twitch api: stream key rotation of channel %s "
                      "not published: redis is down", PQgetvalue(res, 0, 0));
    }

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "streamKey");
    ngx_http_twitch_json_buf(g, (u_char *) PQgetvalue(res, 0, 2),
                             PQgetlength(res, 0, 2));
    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


/* GET /api/channels/:name/followers and /subscribers (route arg: 0, 1) */

static ngx_int_t
ngx_http_twitch_channel_people(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_channel_signed_in(ctx,
               ngx_http_twitch_channel_people_user);
}


static ngx_int_t
ngx_http_twitch_channel_people_user(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                   rc;
    const char                 *params[5];
    ngx_http_twitch_pg_stmt_t  *stmt;
    ngx_http_twitch_channel_t  *ch = ctx->data;

    if (ch->name == NULL) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    rc = ngx_http_twitch_paging(ctx, NGX_HTTP_TWITCH_CHANNELS_LIMIT,
                                &ch->limit, &ch->offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = ch->name;
    params[1] = (const char *) ctx->user->id.data;
    params[2] = ctx->user->admin ? "true" : "false";
    params[3] = ch->limit;
    params[4] = ch->offset;

    stmt = ctx->route_arg ? &ngx_http_twitch_channel_subscribers_stmt
                           : &ngx_http_twitch_channel_followers_stmt;

    return ngx_http_twitch_api_query(ctx, stmt, params,
                                     ngx_http_twitch_channel_people_done);
}


static ngx_int_t
ngx_http_twitch_channel_people_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_channel_t  *ch = ctx->data;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) == 0) {
        return ngx_http_twitch_channel_not_found(ctx);
    }

    if (PQgetvalue(res, 0, 0)[0] != 't') {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: user \"%V\" may not list the %s of "
                      "\"%s\"", &ctx->user->username,
                      ctx->route_arg ? "subscribers" : "followers",
                      ch->name);
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                         "Not authorized");
    }

    if (ctx->route_arg) {
        return ngx_http_twitch_listing_send(ctx, "subscribers", res, 1,
                                         ngx_http_twitch_subscriber_fields);
    }

    return ngx_http_twitch_listing_send(ctx, "followers", res, 1,
                                        ngx_http_twitch_follower_fields);
}


/* the request's state, with the channel name of the path (or NULL) */

static ngx_http_twitch_channel_t *
ngx_http_twitch_channel_data(ngx_http_twitch_ctx_t *ctx)
{
    ngx_http_twitch_channel_t  *ch;

    ch = ngx_pcalloc(ctx->request->pool, sizeof(ngx_http_twitch_channel_t));
    if (ch == NULL) {
        return NULL;
    }

    ch->name = ngx_http_twitch_listing_name(ctx, 0);
    ctx->data = ch;

    return ch;
}


/* the request's state, then next(ctx) once the user is signed in */

static ngx_int_t
ngx_http_twitch_channel_signed_in(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_route_pt next)
{
    if (ngx_http_twitch_channel_data(ctx) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_twitch_session_user(ctx, 1, next);
}


static ngx_int_t
ngx_http_twitch_channel_not_found(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                     "Channel not found");
}


/* the client's address for audit_log.ip, or NULL */

static char *
ngx_http_twitch_channel_addr(ngx_http_twitch_ctx_t *ctx)
{
    u_char            *p;
    ngx_connection_t  *c;

    c = ctx->request->connection;

    if (c->sockaddr == NULL
        || (c->sockaddr->sa_family != AF_INET
#if (NGX_HAVE_INET6)
            && c->sockaddr->sa_family != AF_INET6
#endif
           )
        || c->addr_text.len == 0 || c->addr_text.len > NGX_SOCKADDR_STRLEN)
    {
        return NULL;
    }

    p = ngx_pnalloc(ctx->request->pool, c->addr_text.len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, c->addr_text.data, c->addr_text.len) = '\0';

    return (char *) p;
}
