
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/admin: site administration, for users whose role is "admin".
 *
 *   GET    /api/admin/users?limit&offset&q=    list and search accounts
 *   PATCH  /api/admin/users/:userId            {role}
 *   POST   /api/admin/users/:userId/suspend    {reason?}
 *   DELETE /api/admin/users/:userId/suspend    lift a suspension
 *   POST   /api/admin/streams/:channelId/end   end a broadcast
 *
 * A suspension sets users.suspended_at, ends the user's open broadcast and
 * every session, and publishes {"type":"user_suspended","userId",
 * "username","channelId","reason"} on the Redis channel "admin", so that
 * the ingest drops a live publish.  The stream keys of a suspended user are
 * refused on publish, and session_user answers 403 for them.  Ending a
 * broadcast publishes {"type":"stream_end_requested","channelId",
 * "streamId"} on "admin".  Every change writes an audit_log row.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_modaction.h"
#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_util.h"


#define NGX_HTTP_TWITCH_ADMIN_Q_MAX      100
#define NGX_HTTP_TWITCH_ADMIN_CHANNEL    "admin"


typedef struct {
    ngx_http_twitch_route_pt    next;   /* once the admin is signed in */
    ngx_http_twitch_route_pt    then;   /* once the event is published */
    char                       *id;
    char                       *limit;
    char                       *offset;
    char                       *q;
    char                       *role;
    char                       *reason;
    char                       *ip;
    PGresult                   *row;
} ngx_http_twitch_admin_t;


typedef struct {
    const char                 *param;
    ngx_http_twitch_pg_stmt_t  *stmt;
    ngx_http_twitch_api_pg_pt   done;
} ngx_http_twitch_admin_by_id_t;


static ngx_int_t ngx_http_twitch_admin_users(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_users_run(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_users_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_admin_role(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_role_run(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_role_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_admin_suspend(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_suspend_run(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_suspend_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_admin_by_id(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_by_id_run(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_unsuspend_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_admin_end_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_admin_published(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply);
static ngx_int_t ngx_http_twitch_admin_suspended(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_ended(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_publish(ngx_http_twitch_ctx_t *ctx,
    yajl_gen g);
static ngx_int_t ngx_http_twitch_admin_start(ngx_http_twitch_ctx_t *ctx,
    const char *param, ngx_http_twitch_route_pt next);
static ngx_int_t ngx_http_twitch_admin_check(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_admin_query_arg(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_admin_t *ad);
static ngx_int_t ngx_http_twitch_admin_respond(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_field_t *fields);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_admin_users_stmt = {
    "admin_users",
    "SELECT id, username, email, display_name, role,"
    " suspended_at IS NOT NULL, iso(created_at)"
    " FROM users"
    " WHERE $1::text IS NULL"
    "    OR strpos(lower(username), lower($1::text)) > 0"
    "    OR strpos(lower(email), lower($1::text)) > 0"
    "    OR strpos(lower(display_name), lower($1::text)) > 0"
    " ORDER BY id LIMIT $2::integer OFFSET $3::integer",
    3, 0
};

/* $1 user, $2 role, $3 admin, $4 ip */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_admin_role_stmt = {
    "admin_role",
    "WITH old AS (SELECT id, role FROM users WHERE id = $1::bigint),"
    " u AS (UPDATE users SET role = $2::text WHERE id = $1::bigint"
    "       RETURNING id, username, role),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               metadata, ip)"
    "        SELECT $3::bigint, 'user.role_change', 'user', u.id::text,"
    "               jsonb_build_object('username', u.username,"
    "                                  'from', old.role, 'to', u.role),"
    "               $4::inet"
    "          FROM u, old)"
    " SELECT id, username, role FROM u",
    4, 0
};

/*
 * $1 user, $2 admin, $3 reason, $4 ip.  Suspending again keeps the first
 * time.  The user's open broadcast ends (end_reason "admin").
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_admin_suspend_stmt = {
    "admin_suspend",
    "WITH u AS (UPDATE users"
    "              SET suspended_at = coalesce(suspended_at, now())"
    "            WHERE id = $1::bigint"
    "           RETURNING id, username, suspended_at),"
    " ch AS (SELECT c.id FROM channels c, u WHERE c.user_id = u.id),"
    " s AS (UPDATE streams s"
    "          SET ended_at = greatest(now(), s.started_at),"
    "              end_reason = 'admin'"
    "         FROM ch WHERE s.channel_id = ch.id AND s.ended_at IS NULL"
    "       RETURNING s.id),"
    " c AS (UPDATE channels c SET is_live = false, current_viewers = 0"
    "         FROM ch WHERE c.id = ch.id AND c.is_live RETURNING c.id),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, reason, metadata, ip)"
    "        SELECT $2::bigint, 'user.suspend', 'user', u.id::text,"
    "               (SELECT id FROM ch), $3::text,"
    "               jsonb_build_object('username', u.username,"
    "                                  'streamId', (SELECT id FROM s)),"
    "               $4::inet"
    "          FROM u)"
    " SELECT u.id, u.username, true, iso(u.suspended_at), ch.id"
    " FROM u LEFT JOIN ch ON true",
    4, 0
};

/* $1 user, $2 admin, $3 ip */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_admin_unsuspend_stmt = {
    "admin_unsuspend",
    "WITH old AS (SELECT id, suspended_at FROM users WHERE id = $1::bigint),"
    " u AS (UPDATE users SET suspended_at = NULL WHERE id = $1::bigint"
    "       RETURNING id, username),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               metadata, ip)"
    "        SELECT $2::bigint, 'user.unsuspend', 'user', u.id::text,"
    "               jsonb_build_object('username', u.username), $3::inet"
    "          FROM u, old WHERE old.suspended_at IS NOT NULL)"
    " SELECT id, username, false, NULL::text FROM u",
    3, 0
};

/*
 * $1 channel, $2 admin, $3 ip.  Codes: 1 no channel, 2 not live.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_admin_end_stmt = {
    "admin_end_stream",
    "WITH ch AS (SELECT id, is_live FROM channels WHERE id = $1::bigint),"
    " s AS (UPDATE streams s"
    "          SET ended_at = greatest(now(), s.started_at),"
    "              end_reason = 'admin'"
    "         FROM ch WHERE s.channel_id = ch.id AND s.ended_at IS NULL"
    "       RETURNING s.id, s.ended_at),"
    " c AS (UPDATE channels c SET is_live = false, current_viewers = 0"
    "         FROM ch WHERE c.id = ch.id AND c.is_live RETURNING c.id),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, metadata, ip)"
    "        SELECT $2::bigint, 'stream.end', 'channel', ch.id::text, ch.id,"
    "               jsonb_build_object('streamId', (SELECT id FROM s)),"
    "               $3::inet"
    "          FROM ch WHERE ch.is_live OR EXISTS (SELECT 1 FROM s))"
    " SELECT CASE WHEN ch.id IS NULL THEN 1"
    "             WHEN s.id IS NULL AND NOT ch.is_live THEN 2"
    "             ELSE 0 END,"
    "        s.id, iso(s.ended_at)"
    " FROM (SELECT 1) AS one LEFT JOIN ch ON true LEFT JOIN s ON true",
    3, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_admin_user_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "email", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "role", NGX_HTTP_TWITCH_F_STR },
    { "suspended", NGX_HTTP_TWITCH_F_BOOL },
    { "createdAt", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_admin_role_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "role", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_END }
};

static ngx_http_twitch_field_t  ngx_http_twitch_admin_suspend_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "suspended", NGX_HTTP_TWITCH_F_BOOL },
    { "suspendedAt", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


/* the statements of ngx_http_twitch_admin_by_id(), by route argument */

static ngx_http_twitch_admin_by_id_t  ngx_http_twitch_admin_by_id_routes[] = {
    { "userId", &ngx_http_twitch_admin_unsuspend_stmt,
      ngx_http_twitch_admin_unsuspend_done },
    { "channelId", &ngx_http_twitch_admin_end_stmt,
      ngx_http_twitch_admin_end_done }
};


ngx_http_twitch_route_t  ngx_http_twitch_admin_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/admin/users"),
      ngx_http_twitch_admin_users,
      0, 0 },

    { NGX_HTTP_PATCH,
      ngx_string("/api/admin/users/:userId"),
      ngx_http_twitch_admin_role,
      1, 0 },

    { NGX_HTTP_POST,
      ngx_string("/api/admin/users/:userId/suspend"),
      ngx_http_twitch_admin_suspend,
      1, 0 },

    { NGX_HTTP_DELETE,
      ngx_string("/api/admin/users/:userId/suspend"),
      ngx_http_twitch_admin_by_id,
      0, 0 },

    { NGX_HTTP_POST,
      ngx_string("/api/admin/streams/:channelId/end"),
      ngx_http_twitch_admin_by_id,
      0, 1 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* GET /api/admin/users?limit&offset&q= */

static ngx_int_t
ngx_http_twitch_admin_users(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_admin_start(ctx, NULL,
                                       ngx_http_twitch_admin_users_run);
}


static ngx_int_t
ngx_http_twitch_admin_users_run(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                 rc;
    const char               *params[3];
    ngx_http_twitch_admin_t  *ad = ctx->data;

    /* NGX_DECLINED: the 400 answer is sent */

    rc = ngx_http_twitch_paging(ctx, 50, &ad->limit, &ad->offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_twitch_admin_query_arg(ctx, ad);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch admin: bad search text");
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                   "q must be at most 100 characters of valid UTF-8");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = ad->q;
    params[1] = ad->limit;
    params[2] = ad->offset;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_admin_users_stmt,
                                     params,
                                     ngx_http_twitch_admin_users_done);
}


static ngx_int_t
ngx_http_twitch_admin_users_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    return ngx_http_twitch_send_rows(ctx, "users", res,
                                     ngx_http_twitch_admin_user_fields);
}


/* PATCH /api/admin/users/:userId {role: user|moderator|admin} */

static ngx_int_t
ngx_http_twitch_admin_role(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_admin_start(ctx, "userId",
                                       ngx_http_twitch_admin_role_run);
}


static ngx_int_t
ngx_http_twitch_admin_role_run(ngx_http_twitch_ctx_t *ctx)
{
    const char               *err, *params[4];
    ngx_http_twitch_admin_t  *ad = ctx->data;

    if (ngx_http_twitch_body_str(ctx, "role", 1, 1, 16, &ad->role, &err)
        != NGX_OK)
    {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         err);
    }

    if (ngx_strcmp(ad->role, "user") != 0
        && ngx_strcmp(ad->role, "moderator") != 0
        && ngx_strcmp(ad->role, "admin") != 0)
    {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                   "role must be user, moderator or admin");
    }

    if (ngx_strcmp(ad->id, ctx->user->id.data) == 0) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         "Cannot change your own role");
    }

    params[0] = ad->id;
    params[1] = ad->role;
    params[2] = (const char *) ctx->user->id.data;
    params[3] = ad->ip;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_admin_role_stmt,
                                     params,
                                     ngx_http_twitch_admin_role_done);
}


static ngx_int_t
ngx_http_twitch_admin_role_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_twitch_admin_t  *ad = ctx->data;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "User not found");
    }

    ngx_log_error(NGX_LOG_NOTICE, ctx->request->connection->log, 0,
                  "twitch admin: %V made user %s a %s",
                  &ctx->user->username, ad->id, ad->role);

    ad->row = res;

    return ngx_http_twitch_admin_respond(ctx,
                                         ngx_http_twitch_admin_role_fields);
}


/* POST /api/admin/users/:userId/suspend {reason?} */

static ngx_int_t
ngx_http_twitch_admin_suspend(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_admin_start(ctx, "userId",
                                       ngx_http_twitch_admin_suspend_run);
}


static ngx_int_t
ngx_http_twitch_admin_suspend_run(ngx_http_twitch_ctx_t *ctx)
{
    const char               *err, *params[4];
    ngx_http_twitch_admin_t  *ad = ctx->data;

    if (ngx_http_twitch_body_str(ctx, "reason", 0, 0,
                                 NGX_HTTP_TWITCH_MOD_MAX_REASON, &ad->reason,
                                 &err)
        != NGX_OK)
    {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         err);
    }

    if (ad->reason != NULL && ad->reason[0] == '\0') {
        ad->reason = NULL;
    }

    if (ngx_strcmp(ad->id, ctx->user->id.data) == 0) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         "Cannot suspend yourself");
    }

    params[0] = ad->id;
    params[1] = (const char *) ctx->user->id.data;
    params[2] = ad->reason;
    params[3] = ad->ip;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_admin_suspend_stmt,
                                     params,
                                     ngx_http_twitch_admin_suspend_done);
}


static ngx_int_t
ngx_http_twitch_admin_suspend_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    yajl_gen                  g;
    ngx_http_twitch_admin_t  *ad = ctx->data;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "User not found");
    }

    ad->row = ngx_http_twitch_keep_result(ctx, res);
    if (ad->row == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_NOTICE, ctx->request->connection->log, 0,
                  "twitch admin: %V suspended user %s",
                  &ctx->user->username, ad->id);

    /* every session ends now; session_user refuses the rest anyway */

    (void) ngx_http_twitch_session_revoke_all(ctx, ad->id, NULL);

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "user_suspended");
    ngx_http_twitch_json_key(g, "userId");
    (void) yajl_gen_number(g, PQgetvalue(ad->row, 0, 0),
                           PQgetlength(ad->row, 0, 0));
    ngx_http_twitch_json_key(g, "username");
    ngx_http_twitch_json_cstr(g, PQgetvalue(ad->row, 0, 1));
    ngx_http_twitch_json_key(g, "channelId");

    if (PQgetisnull(ad->row, 0, 4)) {
        ngx_http_twitch_json_null(g);

    } else {
        (void) yajl_gen_number(g, PQgetvalue(ad->row, 0, 4),
                               PQgetlength(ad->row, 0, 4));
    }

    ngx_http_twitch_json_key(g, "reason");
    ngx_http_twitch_json_cstr(g, ad->reason);
    (void) yajl_gen_map_close(g);

    ad->then = ngx_http_twitch_admin_suspended;

    return ngx_http_twitch_admin_publish(ctx, g);
}


static ngx_int_t
ngx_http_twitch_admin_suspended(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_admin_respond(ctx,
                                         ngx_http_twitch_admin_suspend_fields);
}


/* DELETE /api/admin/users/:userId/suspend */

static ngx_int_t
ngx_http_twitch_admin_unsuspend_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_admin_t  *ad = ctx->data;

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "User not found");
    }

    ngx_log_error(NGX_LOG_NOTICE, ctx->request->connection->log, 0,
                  "twitch admin: %V lifted the suspension of user %s",
                  &ctx->user->username, ad->id);

    ad->row = res;

    return ngx_http_twitch_admin_respond(ctx,
                                         ngx_http_twitch_admin_suspend_fields);
}


/*
 * DELETE /api/admin/users/:userId/suspend and POST
 * /api/admin/streams/:channelId/end: one statement with (the id of the
 * path, the admin, the admin's address); the route argument picks it
 */

static ngx_int_t
ngx_http_twitch_admin_by_id(ngx_http_twitch_ctx_t *ctx)
{
    return ngx_http_twitch_admin_start(ctx,
               ngx_http_twitch_admin_by_id_routes[ctx->route_arg].param,
               ngx_http_twitch_admin_by_id_run);
}


static ngx_int_t
ngx_http_twitch_admin_by_id_run(ngx_http_twitch_ctx_t *ctx)
{
    const char                     *params[3];
    ngx_http_twitch_admin_t        *ad = ctx->data;
    ngx_http_twitch_admin_by_id_t  *by;

    by = &ngx_http_twitch_admin_by_id_routes[ctx->route_arg];

    params[0] = ad->id;
    params[1] = (const char *) ctx->user->id.data;
    params[2] = ad->ip;

    return ngx_http_twitch_api_query(ctx, by->stmt, params, by->done);
}


/* POST /api/admin/streams/:channelId/end */

static ngx_int_t
ngx_http_twitch_admin_end_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    char                     *code;
    yajl_gen                  g;
    ngx_http_twitch_admin_t  *ad = ctx->data;

    if (rc != NGX_OK || PQntuples(res) != 1) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    code = PQgetvalue(res, 0, 0);

    if (code[0] == '1') {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");
    }

    if (code[0] == '2') {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "No active stream found");
    }

    ad->row = ngx_http_twitch_keep_result(ctx, res);
    if (ad->row == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_NOTICE, ctx->request->connection->log, 0,
                  "twitch admin: %V ended the stream of channel %s",
                  &ctx->user->username, ad->id);

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, "stream_end_requested");
    ngx_http_twitch_json_key(g, "channelId");
    (void) yajl_gen_number(g, ad->id, ngx_strlen(ad->id));
    ngx_http_twitch_json_key(g, "streamId");

    if (PQgetisnull(ad->row, 0, 1)) {
        ngx_http_twitch_json_null(g);

    } else {
        (void) yajl_gen_number(g, PQgetvalue(ad->row, 0, 1),
                               PQgetlength(ad->row, 0, 1));
    }

    (void) yajl_gen_map_close(g);

    ad->then = ngx_http_twitch_admin_ended;

    return ngx_http_twitch_admin_publish(ctx, g);
}


static ngx_int_t
ngx_http_twitch_admin_ended(ngx_http_twitch_ctx_t *ctx)
{
    yajl_gen                  g;
    ngx_http_twitch_admin_t  *ad = ctx->data;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "success");
    ngx_http_twitch_json_bool(g, 1);
    ngx_http_twitch_json_key(g, "streamId");

    if (PQgetisnull(ad->row, 0, 1)) {
        ngx_http_twitch_json_null(g);

    } else {
        (void) yajl_gen_number(g, PQgetvalue(ad->row, 0, 1),
                               PQgetlength(ad->row, 0, 1));
    }

    ngx_http_twitch_json_key(g, "endedAt");

    if (PQgetisnull(ad->row, 0, 2)) {
        ngx_http_twitch_json_null(g);

    } else {
        ngx_http_twitch_json_cstr(g, PQgetvalue(ad->row, 0, 2));
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}


/*
 * PUBLISH admin <event>, then ad->then(ctx).  The change is already
 * written: a failed publish is logged and the answer is still 200.
 */

static ngx_int_t
ngx_http_twitch_admin_publish(ngx_http_twitch_ctx_t *ctx, yajl_gen g)
{
    size_t         len, lens[3];
    const char    *argv[3];
    const u_char  *buf;

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0] = "PUBLISH";
    lens[0] = sizeof("PUBLISH") - 1;
    argv[1] = NGX_HTTP_TWITCH_ADMIN_CHANNEL;
    lens[1] = sizeof(NGX_HTTP_TWITCH_ADMIN_CHANNEL) - 1;
    argv[2] = (const char *) buf;
    lens[2] = len;

    if (ngx_http_twitch_api_redis(ctx, ngx_http_twitch_admin_published, 3,
                                  argv, lens)
        != NGX_OK)
    {
        return ngx_http_twitch_admin_published(ctx, NULL);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_twitch_admin_published(ngx_http_twitch_ctx_t *ctx,
    redisReply *reply)
{
    ngx_http_twitch_admin_t  *ad = ctx->data;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "twitch admin: event not published on \""
                      NGX_HTTP_TWITCH_ADMIN_CHANNEL "\"");
    }

    return ad->then(ctx);
}


/*
 * The request's state with the id of the path parameter "param" (if any),
 * then an admin session, then next(ctx).
 */

static ngx_int_t
ngx_http_twitch_admin_start(ngx_http_twitch_ctx_t *ctx, const char *param,
    ngx_http_twitch_route_pt next)
{
    ngx_http_request_t       *r;
    ngx_http_twitch_admin_t  *ad;

    r = ctx->request;

    ad = ngx_pcalloc(r->pool, sizeof(ngx_http_twitch_admin_t));
    if (ad == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = ad;
    ad->next = next;
    ad->ip = ngx_http_twitch_modaction_ip(r->pool, &r->connection->addr_text);

    if (param != NULL) {
        ad->id = ngx_http_twitch_param_id(ctx, 0);

        if (ad->id == NULL) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "twitch admin: bad %s \"%V\"", param,
                          &ctx->params[0]);
            return ngx_http_twitch_api_error(r, NGX_HTTP_BAD_REQUEST,
                       ngx_http_twitch_msg(ctx,
                                           "%s must be a positive integer",
                                           param));
        }
    }

    return ngx_http_twitch_session_user(ctx, 1, ngx_http_twitch_admin_check);
}


static ngx_int_t
ngx_http_twitch_admin_check(ngx_http_twitch_ctx_t *ctx)
{
    ngx_http_twitch_admin_t  *ad = ctx->data;

    if (!ctx->user->admin) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch admin: user %V is not an admin",
                      &ctx->user->username);
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                         "Admin access required");
    }

    return ad->next(ctx);
}


/*
 * "q": a substring of the username, email or display name; at most 100
 * characters of valid UTF-8 ("+" and %XX decoded).  NGX_DECLINED: bad.
 */

static ngx_int_t
ngx_http_twitch_admin_query_arg(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_admin_t *ad)
{
    u_char     *p, *dst, *src, *last;
    uint32_t    c;
    ngx_str_t   value;

    if (ngx_http_arg(ctx->request, (u_char *) "q", 1, &value) != NGX_OK
        || value.len == 0)
    {
        return NGX_OK;
    }

    if (value.len > NGX_HTTP_TWITCH_ADMIN_Q_MAX * 12) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(ctx->request->pool, value.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (src = value.data, dst = p; src < value.data + value.len; src++) {
        *dst++ = (*src == '+') ? ' ' : *src;
    }

    src = p;
    dst = p;
    ngx_unescape_uri(&dst, &src, value.len, 0);
    last = dst;
    *last = '\0';

    if (ngx_strlen(p) != (size_t) (last - p)
        || ngx_http_twitch_utf8_len(p, last - p)
           > NGX_HTTP_TWITCH_ADMIN_Q_MAX)
    {
        return NGX_DECLINED;
    }

    for (src = p; src < last; /* void */) {
        if (*src < 0x80) {
            src++;
            continue;
        }

        c = ngx_utf8_decode(&src, last - src);

        if (c > 0x10ffff) {
            return NGX_DECLINED;
        }
    }

    ad->q = (p == last) ? NULL : (char *) p;

    return NGX_OK;
}


/* {"success":true,"user":{row 0}} */

static ngx_int_t
ngx_http_twitch_admin_respond(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_field_t *fields)
{
    yajl_gen                  g;
    ngx_http_twitch_admin_t  *ad = ctx->data;

    g = ngx_http_twitch_json_gen(ctx->request->pool);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_open(g);
    ngx_http_twitch_json_key(g, "success");
    ngx_http_twitch_json_bool(g, 1);
    ngx_http_twitch_json_key(g, "user");

    if (ngx_http_twitch_emit_row(ctx->request->pool, g, ad->row, 0, fields)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) yajl_gen_map_close(g);

    return ngx_http_twitch_api_send(ctx, NGX_HTTP_OK, g);
}
