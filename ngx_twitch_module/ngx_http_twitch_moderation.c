
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/moderation/:channelId: bans, timeouts, moderators, VIPs, chat
 * modes, message deletion and clearing.
 *
 * Every change goes through the moderation action layer
 * (ngx_http_twitch_modaction.h), the same code the chat's commands use: it
 * checks the caller's rights, writes the state and the audit log in one
 * statement, and publishes the event on chat:<channelId>.  This file reads
 * the request, signs the caller in, and shapes the answer.  The lists are
 * plain queries.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_listing.h"
#include "ngx_http_twitch_modaction.h"
#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_MODERATION_USER_MAX  NGX_MAX_INT_T_VALUE


typedef struct {
    ngx_http_twitch_ctx_t            *ctx;
    ngx_http_twitch_modaction_t       action;
    ngx_http_twitch_modaction_op_t   *op;
    char                             *channel_id;
    char                             *limit;
    char                             *offset;
} ngx_http_twitch_moderation_t;


/*
 * A room mode: {enabled, <key>?}.  With a key, its value (default def,
 * min..max) goes into the action's seconds when the mode is turned on.
 */

typedef struct {
    ngx_uint_t                        on;
    ngx_uint_t                        off;
    const char                       *key;
    ngx_int_t                         def;
    ngx_int_t                         min;
    ngx_int_t                         max;
} ngx_http_twitch_moderation_mode_t;


static ngx_int_t ngx_http_twitch_moderation_grant(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_revoke(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_bans(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_filters(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_mode(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_roles(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_delete_message(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_clear(
    ngx_http_twitch_ctx_t *ctx);

static ngx_http_twitch_moderation_t *ngx_http_twitch_moderation_new(
    ngx_http_twitch_ctx_t *ctx, ngx_uint_t action, ngx_int_t *rc);
static const char *ngx_http_twitch_moderation_target(
    ngx_http_twitch_ctx_t *ctx, ngx_http_twitch_moderation_t *m);
static const char *ngx_http_twitch_moderation_body_user(
    ngx_http_twitch_ctx_t *ctx, ngx_http_twitch_moderation_t *m);
static const char *ngx_http_twitch_moderation_reason(
    ngx_http_twitch_ctx_t *ctx, ngx_http_twitch_moderation_t *m);
static ngx_int_t ngx_http_twitch_moderation_bad(ngx_http_twitch_ctx_t *ctx,
    const char *err);
static ngx_int_t ngx_http_twitch_moderation_start(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_moderation_t *m);
static ngx_int_t ngx_http_twitch_moderation_act(ngx_http_twitch_ctx_t *ctx);
static void ngx_http_twitch_moderation_done(void *data, ngx_uint_t status,
    const char *error, ngx_http_twitch_modaction_result_t *res);
static ngx_int_t ngx_http_twitch_moderation_respond(
    ngx_http_twitch_moderation_t *m, ngx_http_twitch_modaction_result_t *res);
static void ngx_http_twitch_moderation_cleanup(void *data);
static ngx_int_t ngx_http_twitch_moderation_list(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t signed_in, ngx_http_twitch_route_pt next);
static ngx_int_t ngx_http_twitch_moderation_bans_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_bans_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_moderation_filters_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_moderation_roles_run(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_moderation_roles_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_moderation_list_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc,
    const char *key, ngx_http_twitch_field_t *fields);


/*
 * The lists answer a marker column first: "1" (unknown channel), "2" (no
 * right to see it) or "0", then the rows' columns (NULL: an empty list).
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_moderation_bans_stmt = {
    "moderation_bans",
    "WITH ch AS (SELECT id, user_id FROM channels WHERE id = $1::bigint),"
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch, users u"
    "                     WHERE u.id = $2::bigint"
    "                       AND u.suspended_at IS NULL"
    "                       AND (u.id = ch.user_id"
    "                            OR u.role IN ('admin', 'moderator')"
    "                            OR EXISTS (SELECT 1"
    "                                  FROM channel_moderators m"
    "                                 WHERE m.channel_id = ch.id"
    "                                   AND m.user_id = u.id)))"
    "   THEN 2 ELSE 0 END AS code)"
    " SELECT chk.code, l.* FROM chk LEFT JOIN LATERAL"
    " (SELECT u.id, u.username, u.display_name, u.avatar_url, b.reason,"
    "         iso(b.expires_at), iso(b.created_at), bu.username,"
    "         b.expires_at IS NULL"
    "    FROM channel_bans b JOIN users u ON u.id = b.user_id"
    "    LEFT JOIN users bu ON bu.id = b.banned_by"
    "   WHERE chk.code = 0 AND b.channel_id = $1::bigint"
    "     AND (b.expires_at IS NULL OR b.expires_at > now())"
    "   ORDER BY b.created_at DESC, b.user_id"
    "   LIMIT $3::integer OFFSET $4::integer) l ON true",
    4, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_moderation_filters_stmt = {
    "moderation_filters",
    "SELECT s.slow_mode_seconds > 0, s.slow_mode_seconds, s.emote_only,"
    " s.subscribers_only, s.followers_only, s.followers_only_minutes,"
    " s.unique_chat"
    " FROM channels c JOIN chat_settings s ON s.channel_id = c.id"
    " WHERE c.id = $1::bigint",
    1, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_moderation_mods_stmt = {
    "moderation_moderators",
    "SELECT 0, l.* FROM channels c LEFT JOIN LATERAL"
    " (SELECT u.id, u.username, u.display_name, u.avatar_url,"
    "         iso(m.created_at), au.username"
    "    FROM channel_moderators m JOIN users u ON u.id = m.user_id"
    "    LEFT JOIN users au ON au.id = m.added_by"
    "   WHERE m.channel_id = c.id"
    "   ORDER BY m.created_at, m.user_id"
    "   LIMIT $2::integer OFFSET $3::integer) l ON true"
    " WHERE c.id = $1::bigint",
    3, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_moderation_vips_stmt = {
    "moderation_vips",
    "SELECT 0, l.* FROM channels c LEFT JOIN LATERAL"
    " (SELECT u.id, u.username, u.display_name, u.avatar_url,"
    "         iso(v.created_at), au.username"
    "    FROM channel_vips v JOIN users u ON u.id = v.user_id"
    "    LEFT JOIN users au ON au.id = v.added_by"
    "   WHERE v.channel_id = c.id"
    "   ORDER BY v.created_at, v.user_id"
    "   LIMIT $2::integer OFFSET $3::integer) l ON true"
    " WHERE c.id = $1::bigint",
    3, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_moderation_ban_fields[] = {
    { "userId", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { "reason", NGX_HTTP_TWITCH_F_STR },
    { "expiresAt", NGX_HTTP_TWITCH_F_STR },
    { "createdAt", NGX_HTTP_TWITCH_F_STR },
    { "bannedByUsername", NGX_HTTP_TWITCH_F_STR },
    { "isPermanent", NGX_HTTP_TWITCH_F_BOOL },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_moderation_filter_fields[] = {
    { "slowMode", NGX_HTTP_TWITCH_F_OBJ },
    { "enabled", NGX_HTTP_TWITCH_F_BOOL },
    { "durationSeconds", NGX_HTTP_TWITCH_F_INT },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { "emoteOnly", NGX_HTTP_TWITCH_F_BOOL },
    { "subscriberOnly", NGX_HTTP_TWITCH_F_BOOL },
    { "followerOnly", NGX_HTTP_TWITCH_F_OBJ },
    { "enabled", NGX_HTTP_TWITCH_F_BOOL },
    { "durationMinutes", NGX_HTTP_TWITCH_F_INT },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { "uniqueChat", NGX_HTTP_TWITCH_F_BOOL },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_moderation_mod_fields[] = {
    { "userId", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { "addedAt", NGX_HTTP_TWITCH_F_STR },
    { "addedByUsername", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


/* the route argument of the room-mode routes is their index here */

static ngx_http_twitch_moderation_mode_t  ngx_http_twitch_moderation_modes[] = {
    { NGX_HTTP_TWITCH_MOD_SLOW, NGX_HTTP_TWITCH_MOD_SLOW_OFF,
      "durationSeconds", 5, NGX_HTTP_TWITCH_MOD_MIN_SLOW,
      NGX_HTTP_TWITCH_MOD_MAX_SLOW },
    { NGX_HTTP_TWITCH_MOD_EMOTE_ONLY, NGX_HTTP_TWITCH_MOD_EMOTE_ONLY_OFF,
      NULL, 0, 0, 0 },
    { NGX_HTTP_TWITCH_MOD_SUBSCRIBERS, NGX_HTTP_TWITCH_MOD_SUBSCRIBERS_OFF,
      NULL, 0, 0, 0 },
    { NGX_HTTP_TWITCH_MOD_FOLLOWERS, NGX_HTTP_TWITCH_MOD_FOLLOWERS_OFF,
      "durationMinutes", 0, 0, NGX_HTTP_TWITCH_MOD_MAX_FOLLOW_AGE },
    { NGX_HTTP_TWITCH_MOD_UNIQUE, NGX_HTTP_TWITCH_MOD_UNIQUE_OFF,
      NULL, 0, 0, 0 }
};


#define NGX_HTTP_TWITCH_MODERATION_ROUTE(method, path, handler, body, arg)    \
    { method, ngx_string("/api/moderation/:channelId" path), handler, body,  \
      arg }

#define NGX_HTTP_TWITCH_MODERATION_GET  (NGX_HTTP_GET|NGX_HTTP_HEAD)


/*
 * The argument of the grant and revoke routes is the action, that of
 * /moderators and /vips the action that adds to the list.
 */

ngx_http_twitch_route_t  ngx_http_twitch_moderation_routes[] = {

    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/ban",
        ngx_http_twitch_moderation_grant, 1, NGX_HTTP_TWITCH_MOD_BAN),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_DELETE, "/ban/:userId",
        ngx_http_twitch_moderation_revoke, 0, NGX_HTTP_TWITCH_MOD_UNBAN),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_TWITCH_MODERATION_GET, "/bans",
        ngx_http_twitch_moderation_bans, 0, 0),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/timeout",
        ngx_http_twitch_moderation_grant, 1, NGX_HTTP_TWITCH_MOD_TIMEOUT),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_DELETE, "/timeout/:userId",
        ngx_http_twitch_moderation_revoke, 0, NGX_HTTP_TWITCH_MOD_UNTIMEOUT),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_TWITCH_MODERATION_GET,
        "/filters", ngx_http_twitch_moderation_filters, 0, 0),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/filters/slow-mode",
        ngx_http_twitch_moderation_mode, 1, 0),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/filters/emote-only",
        ngx_http_twitch_moderation_mode, 1, 1),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST,
        "/filters/subscriber-only", ngx_http_twitch_moderation_mode, 1, 2),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/filters/follower-only",
        ngx_http_twitch_moderation_mode, 1, 3),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/filters/unique-chat",
        ngx_http_twitch_moderation_mode, 1, 4),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/moderator",
        ngx_http_twitch_moderation_grant, 1, NGX_HTTP_TWITCH_MOD_MOD),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_DELETE, "/moderator/:userId",
        ngx_http_twitch_moderation_revoke, 0, NGX_HTTP_TWITCH_MOD_UNMOD),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_TWITCH_MODERATION_GET,
        "/moderators", ngx_http_twitch_moderation_roles, 0,
        NGX_HTTP_TWITCH_MOD_MOD),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/vip",
        ngx_http_twitch_moderation_grant, 1, NGX_HTTP_TWITCH_MOD_VIP),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_DELETE, "/vip/:userId",
        ngx_http_twitch_moderation_revoke, 0, NGX_HTTP_TWITCH_MOD_UNVIP),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_TWITCH_MODERATION_GET, "/vips",
        ngx_http_twitch_moderation_roles, 0, NGX_HTTP_TWITCH_MOD_VIP),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_DELETE,
        "/message/:messageId", ngx_http_twitch_moderation_delete_message, 1,
        0),
    NGX_HTTP_TWITCH_MODERATION_ROUTE(NGX_HTTP_POST, "/clear",
        ngx_http_twitch_moderation_clear, 0, 0),

    { 0, ngx_null_string, NULL, 0, 0 }
};


/*
 * POST /:channelId/{ban,timeout,moderator,vip} {userId}; a ban takes
 * {durationSeconds?, reason?}, a timeout {durationSeconds, reason?}
 */

static ngx_int_t
ngx_http_twitch_moderation_grant(ngx_http_twitch_ctx_t *ctx)
{
    char                          *secs;
    ngx_int_t                      rc;
    ngx_uint_t                     timeout;
    const char                    *err;
    ngx_http_twitch_moderation_t  *m;

    m = ngx_http_twitch_moderation_new(ctx, ctx->route_arg, &rc);
    if (m == NULL) {
        return rc;
    }

    err = ngx_http_twitch_moderation_body_user(ctx, m);
    if (err != NULL) {
        return ngx_http_twitch_moderation_bad(ctx, err);
    }

    timeout = (ctx->route_arg == NGX_HTTP_TWITCH_MOD_TIMEOUT);

    if (timeout || ctx->route_arg == NGX_HTTP_TWITCH_MOD_BAN) {

        if (ngx_http_twitch_body_int(ctx, "durationSeconds", timeout, 1,
                                     NGX_HTTP_TWITCH_MOD_MAX_TIMEOUT, &secs,
                                     &err)
            != NGX_OK)
        {
            return ngx_http_twitch_moderation_bad(ctx, err);
        }

        m->action.seconds = (secs == NULL) ? 0 : ngx_atoi((u_char *) secs,
                                                          ngx_strlen(secs));

        err = ngx_http_twitch_moderation_reason(ctx, m);
        if (err != NULL) {
            return ngx_http_twitch_moderation_bad(ctx, err);
        }
    }

    return ngx_http_twitch_moderation_start(ctx, m);
}


/* DELETE /:channelId/{ban,timeout,moderator,vip}/:userId */

static ngx_int_t
ngx_http_twitch_moderation_revoke(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                      rc;
    const char                    *err;
    ngx_http_twitch_moderation_t  *m;

    m = ngx_http_twitch_moderation_new(ctx, ctx->route_arg, &rc);
    if (m == NULL) {
        return rc;
    }

    err = ngx_http_twitch_moderation_target(ctx, m);
    if (err != NULL) {
        return ngx_http_twitch_moderation_bad(ctx, err);
    }

    return ngx_http_twitch_moderation_start(ctx, m);
}


/* GET /:channelId/bans?limit&offset: the active bans and timeouts */

static ngx_int_t
ngx_http_twitch_moderation_bans(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_moderation_list(ctx, 1,
               ngx_http_twitch_moderation_bans_user);
}


static ngx_int_t
ngx_http_twitch_moderation_bans_user(ngx_http_twitch_ctx_t *ctx)
{
    const char                    *params[4];
    ngx_http_twitch_moderation_t  *m = ctx->data;

    params[0] = m->channel_id;
    params[1] = (const char *) ctx->user->id.data;
    params[2] = m->limit;
    params[3] = m->offset;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_moderation_bans_stmt,
                                     params,
                                     ngx_http_twitch_moderation_bans_done);
}


static ngx_int_t
ngx_http_twitch_moderation_bans_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    return ngx_http_twitch_moderation_list_done(ctx, res, rc, "bans",
               ngx_http_twitch_moderation_ban_fields);
}


/* GET /:channelId/filters (public) */

static ngx_int_t
ngx_http_twitch_moderation_filters(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                      rc;
    const char                    *params[1];
    ngx_http_twitch_moderation_t  *m;

    m = ngx_http_twitch_moderation_new(ctx, NGX_HTTP_TWITCH_MOD_NACTIONS,
                                       &rc);
    if (m == NULL) {
        return rc;
    }

    params[0] = m->channel_id;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_moderation_filters_stmt,
                                     params,
                                     ngx_http_twitch_moderation_filters_done);
}


static ngx_int_t
ngx_http_twitch_moderation_filters_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");
    }

    return ngx_http_twitch_send_row(ctx, "filters", res,
                                    ngx_http_twitch_moderation_filter_fields);
}


/* GET /:channelId/moderators and /vips ?limit&offset (public) */

static ngx_int_t
ngx_http_twitch_moderation_roles(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_moderation_list(ctx, 0,
               ngx_http_twitch_moderation_roles_run);
}


static ngx_int_t
ngx_http_twitch_moderation_roles_run(ngx_http_twitch_ctx_t *ctx)
{
    const char                    *params[3];
    ngx_http_twitch_pg_stmt_t     *stmt;
    ngx_http_twitch_moderation_t  *m = ctx->data;

    params[0] = m->channel_id;
    params[1] = m->limit;
    params[2] = m->offset;

    stmt = (ctx->route_arg == NGX_HTTP_TWITCH_MOD_MOD)
           ? &ngx_http_twitch_moderation_mods_stmt
           : &ngx_http_twitch_moderation_vips_stmt;

    return ngx_http_twitch_api_query(ctx, stmt, params,
                                     ngx_http_twitch_moderation_roles_done);
}


static ngx_int_t
ngx_http_twitch_moderation_roles_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    return ngx_http_twitch_moderation_list_done(ctx, res, rc,
               (ctx->route_arg == NGX_HTTP_TWITCH_MOD_MOD) ? "moderators"
                                                            : "vips",
               ngx_http_twitch_moderation_mod_fields);
}


/*
 * DELETE /:channelId/message/:messageId {reason?}: the id is the one the
 * chat broadcast; the message may not be stored yet (see modaction.h).
 */

static ngx_int_t
ngx_http_twitch_moderation_delete_message(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                      rc;
    const char                    *err;
    ngx_http_twitch_moderation_t  *m;

    m = ngx_http_twitch_moderation_new(ctx,
                                       NGX_HTTP_TWITCH_MOD_DELETE_MESSAGE,
                                       &rc);
    if (m == NULL) {
        return rc;
    }

    m->action.target_id = ngx_http_twitch_param_id(ctx, 1);

    if (m->action.target_id == NULL) {
        return ngx_http_twitch_moderation_bad(ctx,
                   "messageId must be a positive integer");
    }

    err = ngx_http_twitch_moderation_reason(ctx, m);
    if (err != NULL) {
        return ngx_http_twitch_moderation_bad(ctx, err);
    }

    return ngx_http_twitch_moderation_start(ctx, m);
}


/* POST /:channelId/clear */

static ngx_int_t
ngx_http_twitch_moderation_clear(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_http_twitch_moderation_t  *m;

    m = ngx_http_twitch_moderation_new(ctx, NGX_HTTP_TWITCH_MOD_CLEAR, &rc);
    if (m == NULL) {
        return rc;
    }

    return ngx_http_twitch_moderation_start(ctx, m);
}


/*
 * The request's moderation state with the channel id of the path; NULL
 * when the answer is already made (*rc).
 */

static ngx_http_twitch_moderation_t *
ngx_http_twitch_moderation_new(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t action, ngx_int_t *rc)
{
    ngx_http_twitch_moderation_t  *m;

    m = ngx_pcalloc(ctx->request->pool, sizeof(ngx_http_twitch_moderation_t));
    if (m == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NULL;
    }

    m->ctx = ctx;
    m->action.action = action;
    ctx->data = m;

    m->channel_id = ngx_http_twitch_param_id(ctx, 0);

    if (m->channel_id == NULL) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: bad channel id \"%V\"", &ctx->params[0]);
        *rc = ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                  "channelId must be a positive integer");
        return NULL;
    }

    m->action.channel_id = m->channel_id;

    return m;
}


/* the user id of the path (:userId) */

static const char *
ngx_http_twitch_moderation_target(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_moderation_t *m)
{
    m->action.target_id = ngx_http_twitch_param_id(ctx, 1);

    if (m->action.target_id == NULL) {
        return "userId must be a positive integer";
    }

    return NULL;
}


/* the user id of the body ("userId"), checked before any access check */

static const char *
ngx_http_twitch_moderation_body_user(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_moderation_t *m)
{
    char        *id;
    const char  *err;

    if (ngx_http_twitch_body_int(ctx, "userId", 1, 1,
                                 NGX_HTTP_TWITCH_MODERATION_USER_MAX, &id,
                                 &err)
        != NGX_OK)
    {
        return err;
    }

    m->action.target_id = id;

    return NULL;
}


static const char *
ngx_http_twitch_moderation_reason(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_moderation_t *m)
{
    char        *reason;
    const char  *err;

    if (ngx_http_twitch_body_str(ctx, "reason", 0, 0,
                                 NGX_HTTP_TWITCH_MOD_MAX_REASON, &reason,
                                 &err)
        != NGX_OK)
    {
        return err;
    }

    m->action.reason = reason;

    return NULL;
}


/* a 400 for bad input (a client mistake: logged at info) */

static ngx_int_t
ngx_http_twitch_moderation_bad(ngx_http_twitch_ctx_t *ctx, const char *err)
{
    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "twitch moderation: bad request: %s", err);

    return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST, err);
}


/* POST /:channelId/filters/<mode> {enabled, <key>?} */

static ngx_int_t
ngx_http_twitch_moderation_mode(ngx_http_twitch_ctx_t *ctx)
{
    char                               *enabled, *value;
    ngx_int_t                           rc;
    const char                         *err;
    ngx_http_twitch_moderation_t       *m;
    ngx_http_twitch_moderation_mode_t  *mode;

    mode = &ngx_http_twitch_moderation_modes[ctx->route_arg];

    m = ngx_http_twitch_moderation_new(ctx, mode->off, &rc);
    if (m == NULL) {
        return rc;
    }

    if (ngx_http_twitch_body_bool(ctx, "enabled", 1, &enabled, &err)
        != NGX_OK)
    {
        return ngx_http_twitch_moderation_bad(ctx, err);
    }

    value = NULL;

    if (mode->key != NULL
        && ngx_http_twitch_body_int(ctx, mode->key, 0, mode->min, mode->max,
                                    &value, &err)
           != NGX_OK)
    {
        return ngx_http_twitch_moderation_bad(ctx, err);
    }

    if (enabled[0] == 't') {
        m->action.action = mode->on;
        m->action.seconds = (value == NULL)
                            ? mode->def : ngx_atoi((u_char *) value,
                                                   ngx_strlen(value));
    }

    return ngx_http_twitch_moderation_start(ctx, m);
}


static ngx_int_t
ngx_http_twitch_moderation_start(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_moderation_t *m)
{
    return ngx_http_twitch_session_user(ctx, 1,
                                        ngx_http_twitch_moderation_act);
}


/* signed in: run the action as this user */

static ngx_int_t
ngx_http_twitch_moderation_act(ngx_http_twitch_ctx_t *ctx)
{
    ngx_uint_t                     status;
    const char                    *error;
    ngx_pool_cleanup_t            *cln;
    ngx_http_request_t            *r;
    ngx_http_twitch_moderation_t  *m = ctx->data;

    r = ctx->request;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    m->action.actor_id = (const char *) ctx->user->id.data;
    m->action.ip = ngx_http_twitch_modaction_ip(r->pool,
                                                &r->connection->addr_text);

    m->op = ngx_http_twitch_modaction_run(ctx->tmcf, &m->action,
                                          r->connection->log,
                                          ngx_http_twitch_moderation_done, m,
                                          &status, &error);
    if (m->op == NULL) {
        return ngx_http_twitch_api_error(r, status, error);
    }

    cln->handler = ngx_http_twitch_moderation_cleanup;
    cln->data = m;

    return NGX_DONE;
}


static void
ngx_http_twitch_moderation_done(void *data, ngx_uint_t status,
    const char *error, ngx_http_twitch_modaction_result_t *res)
{
    ngx_http_twitch_moderation_t  *m = data;

    ngx_int_t               rc;
    ngx_http_twitch_ctx_t  *ctx;

    ctx = m->ctx;
    m->op = NULL;

    if (status != NGX_HTTP_OK) {
        rc = ngx_http_twitch_api_error(ctx->request, status, error);

    } else {
        rc = ngx_http_twitch_moderation_respond(m, res);
    }

    ngx_http_twitch_api_continue(ctx, rc);
}


static ngx_int_t
ngx_http_twitch_moderation_respond(ngx_http_twitch_moderation_t *m,
    ngx_http_twitch_modaction_result_t *res)
{
    yajl_gen                g;
    ngx_http_twitch_ctx_t  *ctx;

    ctx = m->ctx;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "success");
    ngx_http_twitch_json_bool(g, 1);

    switch (m->action.action) {

    case NGX_HTTP_TWITCH_MOD_BAN:
        ngx_http_twitch_json_key(g, "ban");
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "userId");
        (void) yajl_gen_number(g, (char *) res->user_id.data,
                               res->user_id.len);
        ngx_http_twitch_json_key(g, "channelId");
        (void) yajl_gen_number(g, (char *) res->channel_id.data,
                               res->channel_id.len);
        ngx_http_twitch_json_key(g, "expiresAt");

        if (res->expires_at.len) {
            ngx_http_twitch_json_str(g, &res->expires_at);

        } else {
            ngx_http_twitch_json_null(g);
        }

        ngx_http_twitch_json_key(g, "isPermanent");
        ngx_http_twitch_json_bool(g, res->expires_at.len == 0);
        (void) yajl_gen_map_close(g);
        break;

    case NGX_HTTP_TWITCH_MOD_TIMEOUT:
        ngx_http_twitch_json_key(g, "timeout");
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "userId");
        (void) yajl_gen_number(g, (char *) res->user_id.data,
                               res->user_id.len);
        ngx_http_twitch_json_key(g, "channelId");
        (void) yajl_gen_number(g, (char *) res->channel_id.data,
                               res->channel_id.len);
        ngx_http_twitch_json_key(g, "durationSeconds");
        ngx_http_twitch_json_int(g, res->seconds);
        ngx_http_twitch_json_key(g, "expiresAt");
        ngx_http_twitch_json_str(g, &res->expires_at);
        (void) yajl_gen_map_close(g);
        break;

    case NGX_HTTP_TWITCH_MOD_MOD:
    case NGX_HTTP_TWITCH_MOD_VIP:
        if (res->note.len) {
            ngx_http_twitch_json_key(g, "message");
            ngx_http_twitch_json_str(g, &res->note);
        }

        break;

    case NGX_HTTP_TWITCH_MOD_SLOW:
    case NGX_HTTP_TWITCH_MOD_SLOW_OFF:
        ngx_http_twitch_json_key(g, "slowMode");
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "enabled");
        ngx_http_twitch_json_bool(g, res->slow_mode_seconds > 0);
        ngx_http_twitch_json_key(g, "durationSeconds");
        ngx_http_twitch_json_int(g, res->slow_mode_seconds);
        (void) yajl_gen_map_close(g);
        break;

    case NGX_HTTP_TWITCH_MOD_FOLLOWERS:
    case NGX_HTTP_TWITCH_MOD_FOLLOWERS_OFF:
        ngx_http_twitch_json_key(g, "followerOnly");
        (void) yajl_gen_map_open(g);
        ngx_http_twitch_json_key(g, "enabled");
        ngx_http_twitch_json_bool(g, res->followers_only);
        ngx_http_twitch_json_key(g, "durationMinutes");
        ngx_http_twitch_json_int(g, res->followers_only_minutes);
        (void) yajl_gen_map_close(g);
        break;

    case NGX_HTTP_TWITCH_MOD_EMOTE_ONLY:
    case NGX_HTTP_TWITCH_MOD_EMOTE_ONLY_OFF:
        ngx_http_twitch_json_key(g, "emoteOnly");
        ngx_http_twitch_json_bool(g, res->emote_only);
        break;

    case NGX_HTTP_TWITCH_MOD_SUBSCRIBERS:
    case NGX_HTTP_TWITCH_MOD_SUBSCRIBERS_OFF:
        ngx_http_twitch_json_key(g, "subscriberOnly");
        ngx_http_twitch_json_bool(g, res->subscribers_only);
        break;

    case NGX_HTTP_TWITCH_MOD_UNIQUE:
    case NGX_HTTP_TWITCH_MOD_UNIQUE_OFF:
        ngx_http_twitch_json_key(g, "uniqueChat");
        ngx_http_twitch_json_bool(g, res->unique_chat);
        break;

    default: /* unban, untimeout, unmod, unvip, delete, clear */
        break;
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


/* the request goes away first: the action goes on without it */

static void
ngx_http_twitch_moderation_cleanup(void *data)
{
    ngx_http_twitch_moderation_t  *m = data;

    if (m->op != NULL) {
        ngx_http_twitch_modaction_cancel(m->op);
        m->op = NULL;
    }
}


/* a list: channel id and paging, then next() (signed in when asked) */

static ngx_int_t
ngx_http_twitch_moderation_list(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t signed_in, ngx_http_twitch_route_pt next)
{
    ngx_int_t                      rc;
    ngx_http_twitch_moderation_t  *m;

    m = ngx_http_twitch_moderation_new(ctx, NGX_HTTP_TWITCH_MOD_NACTIONS,
                                       &rc);
    if (m == NULL) {
        return rc;
    }

    /* NGX_DECLINED: the 400 answer is sent */

    rc = ngx_http_twitch_paging(ctx, 100, &m->limit, &m->offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (signed_in) {
        return ngx_http_twitch_session_user(ctx, 1, next);
    }

    return next(ctx);
}


static ngx_int_t
ngx_http_twitch_moderation_list_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc, const char *key,
    ngx_http_twitch_field_t *fields)
{
    char  *code;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    code = (PQntuples(res) > 0) ? PQgetvalue(res, 0, 0) : "1";

    if (code[0] == '1') {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");
    }

    if (code[0] == '2') {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                         "Not authorized to moderate "
                                         "this channel");
    }

    return ngx_http_twitch_listing_send(ctx, key, res, 1, fields);
}
