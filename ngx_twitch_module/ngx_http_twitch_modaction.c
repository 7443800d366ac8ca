
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Moderation actions (see ngx_http_twitch_modaction.h for the contract
 * and the events).
 *
 * An operation owns a small pool.  That pool holds the operation itself,
 * its copy of the caller's log, the result and the event JSON, and it is
 * destroyed when the operation ends.  The operation runs one statement,
 * then publishes one or two events, then calls the handler and frees
 * itself.  Cancelling only drops the handler: the statement may already be
 * committing, so the operation goes on, and the chat hears about what the
 * database now says.
 *
 * Every statement answers one row:
 *   code, user id, username, expires_at, and the six room-mode columns;
 * code 0 means done, others index the action's error table.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_twitch_modaction.h"
#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_redis.h"
#include "ngx_http_twitch_json.h"


#define NGX_HTTP_TWITCH_MODACTION_CODES     9
#define NGX_HTTP_TWITCH_MODACTION_ALREADY   7

#define NGX_HTTP_TWITCH_MODACTION_COLS      10


typedef enum {
    NGX_HTTP_TWITCH_MODACTION_KIND_BAN = 0,
    NGX_HTTP_TWITCH_MODACTION_KIND_UNBAN,
    NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_ADD,
    NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_DEL,
    NGX_HTTP_TWITCH_MODACTION_KIND_DELETE,
    NGX_HTTP_TWITCH_MODACTION_KIND_CLEAR,
    NGX_HTTP_TWITCH_MODACTION_KIND_SETTINGS
} ngx_http_twitch_modaction_kind_e;


/* seconds: how the action reads a->seconds */
typedef enum {
    NGX_HTTP_TWITCH_MODACTION_SECS_NONE = 0,
    NGX_HTTP_TWITCH_MODACTION_SECS_BAN,
    NGX_HTTP_TWITCH_MODACTION_SECS_TIMEOUT,
    NGX_HTTP_TWITCH_MODACTION_SECS_SLOW,
    NGX_HTTP_TWITCH_MODACTION_SECS_FOLLOW
} ngx_http_twitch_modaction_secs_e;


typedef struct {
    const char                         *name;
    ngx_http_twitch_modaction_kind_e    kind;
    ngx_http_twitch_modaction_secs_e    secs;
    /* the audit action, the role kind or the room mode */
    const char                         *arg;
    ngx_uint_t                          on;     /* a room mode turned on */
    const char                         *event;
    const char                         *legacy; /* a second event */
    /* the message of each statement code; NULL: not a possible code */
    const char                         *errors[NGX_HTTP_TWITCH_MODACTION_CODES];
} ngx_http_twitch_modaction_def_t;


struct ngx_http_twitch_modaction_op_s {
    ngx_pool_t                            *pool;
    ngx_log_t                              log;
    ngx_http_twitch_main_conf_t           *tmcf;
    ngx_http_twitch_modaction_def_t       *def;
    ngx_uint_t                             action;
    ngx_int_t                              seconds;
    char                                  *reason;
    ngx_http_twitch_modaction_pt           handler;
    void                                  *data;
    ngx_http_twitch_pg_query_t            *query;
    ngx_uint_t                             pending;
    ngx_uint_t                             publish_failed;
    ngx_str_t                              channel;
    ngx_http_twitch_modaction_result_t     result;
};


static const char *ngx_http_twitch_modaction_check(
    ngx_http_twitch_modaction_t *a, ngx_http_twitch_modaction_def_t *def);
static ngx_uint_t ngx_http_twitch_modaction_is_id(const char *s);
static ngx_uint_t ngx_http_twitch_modaction_is_name(const char *s);
static ngx_uint_t ngx_http_twitch_modaction_is_ip(ngx_str_t *addr);
static ngx_uint_t ngx_http_twitch_modaction_is_text(const char *s,
    size_t max);
static ngx_int_t ngx_http_twitch_modaction_params(
    ngx_http_twitch_modaction_op_t *op, ngx_http_twitch_modaction_t *a,
    const char **params);
static u_char *ngx_http_twitch_modaction_log_error(ngx_log_t *log,
    u_char *buf, size_t len);
static void ngx_http_twitch_modaction_done(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_http_twitch_modaction_copy(ngx_pool_t *pool,
    PGresult *res, int col, ngx_str_t *s);
static ngx_int_t ngx_http_twitch_modaction_read(
    ngx_http_twitch_modaction_op_t *op, PGresult *res);
static ngx_int_t ngx_http_twitch_modaction_event(
    ngx_http_twitch_modaction_op_t *op, const char *type, ngx_str_t *out);
static void ngx_http_twitch_modaction_user_event(
    ngx_http_twitch_modaction_op_t *op, yajl_gen g, const char *type);
static ngx_int_t ngx_http_twitch_modaction_publish(
    ngx_http_twitch_modaction_op_t *op, ngx_str_t *event);
static void ngx_http_twitch_modaction_published(void *data,
    redisReply *reply);
static void ngx_http_twitch_modaction_finish(
    ngx_http_twitch_modaction_op_t *op, ngx_uint_t status,
    const char *error);


/*
 * The statements.  $1 is the channel id, $2 the actor's id.  "a" is the
 * actor with their rights in the channel (no row: unknown or suspended),
 * "t" the target user, "chk" the check's code:
 *   1 no channel, 2 no right, 3 no target, 4 target is the owner,
 *   5 target is the actor, 6 target is a moderator, 7 already so,
 *   8 nothing to undo.
 */

#define NGX_HTTP_TWITCH_MODACTION_ACTOR                                       \
    "WITH ch AS (SELECT id, user_id FROM channels WHERE id = $1::bigint),"    \
    " a AS (SELECT u.id, u.id = ch.user_id AS owner,"                         \
    "              u.role = 'admin' AS admin,"                                \
    "              u.id = ch.user_id OR u.role IN ('admin', 'moderator')"     \
    "              OR EXISTS (SELECT 1 FROM channel_moderators m"             \
    "                          WHERE m.channel_id = ch.id"                    \
    "                            AND m.user_id = u.id) AS mod"                \
    "         FROM ch, users u"                                               \
    "        WHERE u.id = $2::bigint AND u.suspended_at IS NULL),"

#define NGX_HTTP_TWITCH_MODACTION_TARGET                                      \
    " t AS (SELECT u.id, u.username, u.id = ch.user_id AS owner,"             \
    "              u.role IN ('admin', 'moderator')"                          \
    "              OR EXISTS (SELECT 1 FROM channel_moderators m"             \
    "                          WHERE m.channel_id = ch.id"                    \
    "                            AND m.user_id = u.id) AS mod"                \
    "         FROM ch, users u"                                               \
    "        WHERE u.id = $3::bigint"                                         \
    "           OR ($3::bigint IS NULL"                                       \
    "               AND lower(u.username) = lower($4::text))),"

#define NGX_HTTP_TWITCH_MODACTION_NO_MODES                                    \
    " NULL::int, NULL::bool, NULL::int, NULL::bool, NULL::bool, NULL::bool"


/*
 * $3 target id, $4 target name, $5 reason, $6 seconds (NULL: permanent),
 * $7 ip, $8 audit action.  An existing permanent ban is not replaced.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_modaction_ban_stmt = {
    "modaction_ban",
    NGX_HTTP_TWITCH_MODACTION_ACTOR
    NGX_HTTP_TWITCH_MODACTION_TARGET
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN NOT EXISTS (SELECT 1 FROM a WHERE a.mod) THEN 2"
    "   WHEN NOT EXISTS (SELECT 1 FROM t) THEN 3"
    "   WHEN EXISTS (SELECT 1 FROM t WHERE t.owner) THEN 4"
    "   WHEN EXISTS (SELECT 1 FROM a, t WHERE a.id = t.id) THEN 5"
    "   WHEN EXISTS (SELECT 1 FROM a, t"
    "                 WHERE t.mod AND NOT (a.owner OR a.admin)) THEN 6"
    "   ELSE 0 END AS code),"
    " w AS (INSERT INTO channel_bans AS b"
    "              (channel_id, user_id, banned_by, reason, expires_at,"
    "               created_at)"
    "       SELECT $1::bigint, t.id, $2::bigint, $5::text,"
    "              now() + $6::integer * interval '1 second', now()"
    "         FROM t, chk WHERE chk.code = 0"
    "       ON CONFLICT (channel_id, user_id) DO UPDATE"
    "          SET banned_by = excluded.banned_by,"
    "              reason = excluded.reason,"
    "              expires_at = excluded.expires_at,"
    "              created_at = excluded.created_at"
    "        WHERE b.expires_at IS NOT NULL"
    "       RETURNING b.user_id, b.expires_at),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, reason, metadata, ip)"
    "        SELECT $2::bigint, $8::text, 'user', w.user_id::text,"
    "               $1::bigint, $5::text,"
    "               jsonb_build_object('username', t.username,"
    "                                  'durationSeconds', $6::integer),"
    "               $7::inet"
    "          FROM w, t)"
    " SELECT CASE WHEN chk.code = 0 AND w.user_id IS NULL THEN 7"
    "             ELSE chk.code END,"
    "        t.id, t.username, iso(w.expires_at),"
    NGX_HTTP_TWITCH_MODACTION_NO_MODES
    " FROM chk LEFT JOIN t ON true LEFT JOIN w ON true",
    8, 0
};


/*
 * $3 target id, $4 target name, $5 ip, $6 audit action: "chat.unban"
 * lifts bans and timeouts, "chat.untimeout" timeouts only.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_modaction_unban_stmt = {
    "modaction_unban",
    NGX_HTTP_TWITCH_MODACTION_ACTOR
    NGX_HTTP_TWITCH_MODACTION_TARGET
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN NOT EXISTS (SELECT 1 FROM a WHERE a.mod) THEN 2"
    "   WHEN NOT EXISTS (SELECT 1 FROM t) THEN 3"
    "   ELSE 0 END AS code),"
    " w AS (DELETE FROM channel_bans b USING t, chk"
    "        WHERE chk.code = 0 AND b.channel_id = $1::bigint"
    "          AND b.user_id = t.id"
    "          AND (b.expires_at IS NULL OR b.expires_at > now())"
    "          AND ($6::text = 'chat.unban' OR b.expires_at IS NOT NULL)"
    "       RETURNING b.user_id),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, metadata, ip)"
    "        SELECT $2::bigint, $6::text, 'user', w.user_id::text,"
    "               $1::bigint, jsonb_build_object('username', t.username),"
    "               $5::inet"
    "          FROM w, t)"
    " SELECT CASE WHEN chk.code = 0 AND w.user_id IS NULL THEN 8"
    "             ELSE chk.code END,"
    "        t.id, t.username, NULL::text,"
    NGX_HTTP_TWITCH_MODACTION_NO_MODES
    " FROM chk LEFT JOIN t ON true LEFT JOIN w ON true",
    6, 0
};


/* $3 target id, $4 target name, $5 ip, $6 "moderator" or "vip" */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_modaction_role_add_stmt = {
    "modaction_role_add",
    NGX_HTTP_TWITCH_MODACTION_ACTOR
    NGX_HTTP_TWITCH_MODACTION_TARGET
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN NOT EXISTS (SELECT 1 FROM a WHERE a.owner OR a.admin) THEN 2"
    "   WHEN NOT EXISTS (SELECT 1 FROM t) THEN 3"
    "   WHEN EXISTS (SELECT 1 FROM t WHERE t.owner) THEN 4"
    "   ELSE 0 END AS code),"
    " wm AS (INSERT INTO channel_moderators (channel_id, user_id, added_by)"
    "        SELECT $1::bigint, t.id, $2::bigint FROM t, chk"
    "         WHERE chk.code = 0 AND $6::text = 'moderator'"
    "        ON CONFLICT DO NOTHING RETURNING user_id),"
    " wv AS (INSERT INTO channel_vips (channel_id, user_id, added_by)"
    "        SELECT $1::bigint, t.id, $2::bigint FROM t, chk"
    "         WHERE chk.code = 0 AND $6::text = 'vip'"
    "        ON CONFLICT DO NOTHING RETURNING user_id),"
    " w AS (SELECT user_id FROM wm UNION ALL SELECT user_id FROM wv),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, metadata, ip)"
    "        SELECT $2::bigint, 'channel.' || $6::text || '_add', 'user',"
    "               w.user_id::text, $1::bigint,"
    "               jsonb_build_object('username', t.username), $5::inet"
    "          FROM w, t)"
    " SELECT CASE WHEN chk.code = 0 AND w.user_id IS NULL THEN 7"
    "             ELSE chk.code END,"
    "        t.id, t.username, NULL::text,"
    NGX_HTTP_TWITCH_MODACTION_NO_MODES
    " FROM chk LEFT JOIN t ON true LEFT JOIN w ON true",
    6, 0
};


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_modaction_role_del_stmt = {
    "modaction_role_del",
    NGX_HTTP_TWITCH_MODACTION_ACTOR
    NGX_HTTP_TWITCH_MODACTION_TARGET
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN NOT EXISTS (SELECT 1 FROM a WHERE a.owner OR a.admin) THEN 2"
    "   WHEN NOT EXISTS (SELECT 1 FROM t) THEN 3"
    "   ELSE 0 END AS code),"
    " wm AS (DELETE FROM channel_moderators m USING t, chk"
    "         WHERE chk.code = 0 AND $6::text = 'moderator'"
    "           AND m.channel_id = $1::bigint AND m.user_id = t.id"
    "        RETURNING m.user_id),"
    " wv AS (DELETE FROM channel_vips v USING t, chk"
    "         WHERE chk.code = 0 AND $6::text = 'vip'"
    "           AND v.channel_id = $1::bigint AND v.user_id = t.id"
    "        RETURNING v.user_id),"
    " w AS (SELECT user_id FROM wm UNION ALL SELECT user_id FROM wv),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, metadata, ip)"
    "        SELECT $2::bigint, 'channel.' || $6::text || '_remove', 'user',"
    "               w.user_id::text, $1::bigint,"
    "               jsonb_build_object('username', t.username), $5::inet"
    "          FROM w, t)"
    " SELECT CASE WHEN chk.code = 0 AND w.user_id IS NULL THEN 8"
    "             ELSE chk.code END,"
    "        t.id, t.username, NULL::text,"
    NGX_HTTP_TWITCH_MODACTION_NO_MODES
    " FROM chk LEFT JOIN t ON true LEFT JOIN w ON true",
    6, 0
};


/*
 * $3 message id, $4 reason, $5 ip.  A message not stored yet gets a
 * tombstone, which its insert applies (migration 020); tombstones older
 * than a day are purged here.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_modaction_delete_stmt = {
    "modaction_delete",
    NGX_HTTP_TWITCH_MODACTION_ACTOR
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN NOT EXISTS (SELECT 1 FROM a WHERE a.mod) THEN 2"
    "   ELSE 0 END AS code),"
    " w AS (UPDATE chat_messages m"
    "          SET is_deleted = true, deleted_at = now(),"
    "              deleted_by = $2::bigint"
    "         FROM chk"
    "        WHERE chk.code = 0 AND m.id = $3::bigint"
    "          AND m.channel_id = $1::bigint AND NOT m.is_deleted"
    "       RETURNING m.user_id, m.username),"
    " tb AS (INSERT INTO chat_message_tombstones"
    "               (message_id, channel_id, deleted_by)"
    "        SELECT $3::bigint, $1::bigint, $2::bigint FROM chk"
    "         WHERE chk.code = 0"
    "           AND NOT EXISTS (SELECT 1 FROM chat_messages m"
    "                            WHERE m.id = $3::bigint)"
    "        ON CONFLICT (message_id) DO NOTHING),"
    " tp AS (DELETE FROM chat_message_tombstones"
    "         WHERE deleted_at < now() - interval '1 day'),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, reason, metadata, ip)"
    "        SELECT $2::bigint, 'chat.message_delete', 'message',"
    "               $3::bigint::text, $1::bigint, $4::text,"
    "               jsonb_strip_nulls(jsonb_build_object("
    "                   'userId', w.user_id, 'username', w.username)),"
    "               $5::inet"
    "          FROM chk LEFT JOIN w ON true WHERE chk.code = 0)"
    " SELECT chk.code, w.user_id, w.username, NULL::text,"
    NGX_HTTP_TWITCH_MODACTION_NO_MODES
    " FROM chk LEFT JOIN w ON true",
    5, 0
};


/*
 * $3 ip.  Deletes the messages accepted since the previous clear (those
 * before were deleted then, or on insert); chat_settings.cleared_at makes
 * rows inserted later follow.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_modaction_clear_stmt = {
    "modaction_clear",
    NGX_HTTP_TWITCH_MODACTION_ACTOR
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN NOT EXISTS (SELECT 1 FROM a WHERE a.mod) THEN 2"
    "   ELSE 0 END AS code),"
    " prev AS (SELECT cleared_at FROM chat_settings"
    "           WHERE channel_id = $1::bigint),"
    " cs AS (UPDATE chat_settings s"
    "           SET cleared_at = now(), cleared_by = $2::bigint"
    "          FROM chk"
    "         WHERE chk.code = 0 AND s.channel_id = $1::bigint),"
    " w AS (UPDATE chat_messages m"
    "          SET is_deleted = true, deleted_at = now(),"
    "              deleted_by = $2::bigint"
    "         FROM chk"
    "        WHERE chk.code = 0 AND m.channel_id = $1::bigint"
    "          AND m.created_at > coalesce((SELECT cleared_at FROM prev),"
    "                                      '-infinity')"
    "          AND NOT m.is_deleted"
    "       RETURNING 1),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, metadata, ip)"
    "        SELECT $2::bigint, 'chat.clear', 'channel', $1::bigint::text,"
    "               $1::bigint,"
    "               jsonb_build_object('messages',"
    "                                  (SELECT count(*) FROM w)),"
    "               $3::inet"
    "          FROM chk WHERE chk.code = 0)"
    " SELECT chk.code, NULL::bigint, NULL::text, NULL::text,"
    NGX_HTTP_TWITCH_MODACTION_NO_MODES
    " FROM chk",
    3, 0
};


/* $3 the mode, $4 its value (NULL: off), $5 ip */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_modaction_settings_stmt = {
    "modaction_settings",
    NGX_HTTP_TWITCH_MODACTION_ACTOR
    " chk AS (SELECT CASE"
    "   WHEN NOT EXISTS (SELECT 1 FROM ch) THEN 1"
    "   WHEN NOT EXISTS (SELECT 1 FROM a WHERE a.mod) THEN 2"
    "   ELSE 0 END AS code),"
    " w AS (UPDATE chat_settings s SET"
    "   slow_mode_seconds = CASE WHEN $3::text = 'slow'"
    "       THEN coalesce($4::integer, 0) ELSE s.slow_mode_seconds END,"
    "   followers_only = CASE WHEN $3::text = 'followers'"
    "       THEN $4::integer IS NOT NULL ELSE s.followers_only END,"
    "   followers_only_minutes = CASE WHEN $3::text = 'followers'"
    "       THEN coalesce($4::integer, 0) ELSE s.followers_only_minutes END,"
    "   subscribers_only = CASE WHEN $3::text = 'subscribers'"
    "       THEN $4::integer IS NOT NULL ELSE s.subscribers_only END,"
    "   emote_only = CASE WHEN $3::text = 'emote_only'"
    "       THEN $4::integer IS NOT NULL ELSE s.emote_only END,"
    "   unique_chat = CASE WHEN $3::text = 'unique_chat'"
    "       THEN $4::integer IS NOT NULL ELSE s.unique_chat END"
    "   FROM chk WHERE chk.code = 0 AND s.channel_id = $1::bigint"
    "   RETURNING s.slow_mode_seconds, s.followers_only,"
    "             s.followers_only_minutes, s.subscribers_only,"
    "             s.emote_only, s.unique_chat),"
    " au AS (INSERT INTO audit_log (actor_id, action, target_type, target_id,"
    "                               channel_id, metadata, ip)"
    "        SELECT $2::bigint, 'chat.settings', 'channel',"
    "               $1::bigint::text, $1::bigint,"
    "               jsonb_build_object('mode', $3::text,"
    "                                  'value', $4::integer),"
    "               $5::inet"
    "          FROM w)"
    " SELECT CASE WHEN chk.code = 0 AND w.slow_mode_seconds IS NULL THEN 1"
    "             ELSE chk.code END,"
    "        NULL::bigint, NULL::text, NULL::text, w.*"
    " FROM chk LEFT JOIN w ON true",
    5, 0
};


static ngx_http_twitch_pg_stmt_t  *ngx_http_twitch_modaction_stmts[] = {
    &ngx_http_twitch_modaction_ban_stmt,
    &ngx_http_twitch_modaction_unban_stmt,
    &ngx_http_twitch_modaction_role_add_stmt,
    &ngx_http_twitch_modaction_role_del_stmt,
    &ngx_http_twitch_modaction_delete_stmt,
    &ngx_http_twitch_modaction_clear_stmt,
    &ngx_http_twitch_modaction_settings_stmt
};


#define NGX_HTTP_TWITCH_MODACTION_ACCESS                                      \
    NULL, "Channel not found", "Not authorized to moderate this channel"

#define NGX_HTTP_TWITCH_MODACTION_ROOM(name, mode, on, legacy)                \
    { name, NGX_HTTP_TWITCH_MODACTION_KIND_SETTINGS,                          \
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, mode, on, "chat_settings",         \
      legacy, { NGX_HTTP_TWITCH_MODACTION_ACCESS } }


/* indexed by ngx_http_twitch_modaction_e */

static ngx_http_twitch_modaction_def_t  ngx_http_twitch_modaction_defs[] = {

    { "ban", NGX_HTTP_TWITCH_MODACTION_KIND_BAN,
      NGX_HTTP_TWITCH_MODACTION_SECS_BAN, "chat.ban", 0, "user_banned", NULL,
      { NGX_HTTP_TWITCH_MODACTION_ACCESS, "User not found",
        "Cannot ban the channel owner", "Cannot ban yourself",
        "Only the channel owner can ban a moderator",
        "User is already banned", NULL } },

    { "unban", NGX_HTTP_TWITCH_MODACTION_KIND_UNBAN,
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, "chat.unban", 0, "user_unbanned",
      NULL,
      { NGX_HTTP_TWITCH_MODACTION_ACCESS, "User not found", NULL, NULL,
        NULL, NULL, "Ban not found" } },

    { "timeout", NGX_HTTP_TWITCH_MODACTION_KIND_BAN,
      NGX_HTTP_TWITCH_MODACTION_SECS_TIMEOUT, "chat.timeout", 0,
      "user_timeout", NULL,
      { NGX_HTTP_TWITCH_MODACTION_ACCESS, "User not found",
        "Cannot timeout the channel owner", "Cannot timeout yourself",
        "Only the channel owner can timeout a moderator",
        "User is banned: unban them first", NULL } },

    { "untimeout", NGX_HTTP_TWITCH_MODACTION_KIND_UNBAN,
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, "chat.untimeout", 0,
      "user_untimeout", NULL,
      { NGX_HTTP_TWITCH_MODACTION_ACCESS, "User not found", NULL, NULL,
        NULL, NULL, "Timeout not found" } },

    { "mod", NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_ADD,
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, "moderator", 0, "moderator_added",
      NULL,
      { NULL, "Channel not found", "Only channel owner can manage moderators",
        "User not found", "The channel owner cannot be a moderator", NULL,
        NULL, "Already a moderator", NULL } },

    { "unmod", NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_DEL,
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, "moderator", 0,
      "moderator_removed", NULL,
      { NULL, "Channel not found", "Only channel owner can manage moderators",
        "User not found", NULL, NULL, NULL, NULL, "Moderator not found" } },

    { "vip", NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_ADD,
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, "vip", 0, "vip_added", NULL,
      { NULL, "Channel not found", "Only channel owner can manage VIPs",
        "User not found", "The channel owner cannot be a VIP", NULL, NULL,
        "Already a VIP", NULL } },

    { "unvip", NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_DEL,
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, "vip", 0, "vip_removed", NULL,
      { NULL, "Channel not found", "Only channel owner can manage VIPs",
        "User not found", NULL, NULL, NULL, NULL, "VIP not found" } },

    { "delete", NGX_HTTP_TWITCH_MODACTION_KIND_DELETE,
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, NULL, 0, "message_deleted", NULL,
      { NGX_HTTP_TWITCH_MODACTION_ACCESS } },

    { "clear", NGX_HTTP_TWITCH_MODACTION_KIND_CLEAR,
      NGX_HTTP_TWITCH_MODACTION_SECS_NONE, NULL, 0, "chat_cleared", NULL,
      { NGX_HTTP_TWITCH_MODACTION_ACCESS } },

    { "slow", NGX_HTTP_TWITCH_MODACTION_KIND_SETTINGS,
      NGX_HTTP_TWITCH_MODACTION_SECS_SLOW, "slow", 1, "chat_settings",
      "slow_mode_changed", { NGX_HTTP_TWITCH_MODACTION_ACCESS } },

    NGX_HTTP_TWITCH_MODACTION_ROOM("slowoff", "slow", 0,
                                   "slow_mode_changed"),

    { "followers", NGX_HTTP_TWITCH_MODACTION_KIND_SETTINGS,
      NGX_HTTP_TWITCH_MODACTION_SECS_FOLLOW, "followers", 1, "chat_settings",
      NULL, { NGX_HTTP_TWITCH_MODACTION_ACCESS } },

    NGX_HTTP_TWITCH_MODACTION_ROOM("followersoff", "followers", 0, NULL),
    NGX_HTTP_TWITCH_MODACTION_ROOM("subscribers", "subscribers", 1, NULL),
    NGX_HTTP_TWITCH_MODACTION_ROOM("subscribersoff", "subscribers", 0, NULL),
    NGX_HTTP_TWITCH_MODACTION_ROOM("emoteonly", "emote_only", 1,
                                   "emote_only_changed"),
    NGX_HTTP_TWITCH_MODACTION_ROOM("emoteonlyoff", "emote_only", 0,
                                   "emote_only_changed"),
    NGX_HTTP_TWITCH_MODACTION_ROOM("uniquechat", "unique_chat", 1, NULL),
    NGX_HTTP_TWITCH_MODACTION_ROOM("uniquechatoff", "unique_chat", 0, NULL)
};


static ngx_uint_t  ngx_http_twitch_modaction_status[] = {
    NGX_HTTP_OK,                /* 0 done */
    NGX_HTTP_NOT_FOUND,         /* 1 no channel */
    NGX_HTTP_FORBIDDEN,         /* 2 no right */
    NGX_HTTP_NOT_FOUND,         /* 3 no target */
    NGX_HTTP_BAD_REQUEST,       /* 4 target is the owner */
    NGX_HTTP_BAD_REQUEST,       /* 5 target is the actor */
    NGX_HTTP_FORBIDDEN,         /* 6 target is a moderator */
    NGX_HTTP_CONFLICT,          /* 7 already so */
    NGX_HTTP_NOT_FOUND          /* 8 nothing to undo */
};


ngx_http_twitch_modaction_op_t *
ngx_http_twitch_modaction_run(ngx_http_twitch_main_conf_t *tmcf,
    ngx_http_twitch_modaction_t *a, ngx_log_t *log,
    ngx_http_twitch_modaction_pt handler, void *data, ngx_uint_t *status,
    const char **error)
{
    size_t                            len;
    ngx_pool_t                       *pool;
    const char                       *err, *params[8];
    ngx_http_twitch_modaction_op_t   *op;
    ngx_http_twitch_modaction_def_t  *def;

    if (a->action >= NGX_HTTP_TWITCH_MOD_NACTIONS) {
        *status = NGX_HTTP_BAD_REQUEST;
        *error = "unknown moderation action";
        return NULL;
    }

    def = &ngx_http_twitch_modaction_defs[a->action];

    err = ngx_http_twitch_modaction_check(a, def);
    if (err != NULL) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "twitch modaction: %s refused: %s", def->name, err);
        *status = NGX_HTTP_BAD_REQUEST;
        *error = err;
        return NULL;
    }

    /* without Redis the chat would not hear of it: write nothing */

    if (!ngx_http_twitch_redis_is_up(tmcf->redis)) {
        *status = NGX_HTTP_SERVICE_UNAVAILABLE;
        *error = "event bus unavailable";
        return NULL;
    }

    *status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    *error = "internal error";

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return NULL;
    }

    op = ngx_pcalloc(pool, sizeof(ngx_http_twitch_modaction_op_t));
    if (op == NULL) {
        goto failed;
    }

    op->pool = pool;
    op->tmcf = tmcf;
    op->def = def;
    op->action = a->action;
    op->seconds = a->seconds;
    op->handler = handler;
    op->data = data;

    len = ngx_strlen(a->channel_id);
    op->channel.len = len;
    op->channel.data = ngx_pnalloc(pool, len + 1);
    if (op->channel.data == NULL) {
        goto failed;
    }

    ngx_memcpy(op->channel.data, a->channel_id, len + 1);

    if (a->reason != NULL && a->reason[0] != '\0') {
        len = ngx_strlen(a->reason);
        op->reason = ngx_pnalloc(pool, len + 1);
        if (op->reason == NULL) {
            goto failed;
        }

        ngx_memcpy(op->reason, a->reason, len + 1);
    }

    if (def->kind == NGX_HTTP_TWITCH_MODACTION_KIND_DELETE) {
        len = ngx_strlen(a->target_id);
        op->result.message_id.len = len;
        op->result.message_id.data = ngx_pnalloc(pool, len + 1);
        if (op->result.message_id.data == NULL) {
            goto failed;
        }

        ngx_memcpy(op->result.message_id.data, a->target_id, len + 1);
    }

    /* the caller's log may go before us: a copy with our own context */

    op->log = *log;
    op->log.handler = ngx_http_twitch_modaction_log_error;
    op->log.data = op;
    op->log.action = NULL;
    pool->log = &op->log;

    if (ngx_http_twitch_modaction_params(op, a, params) != NGX_OK) {
        goto failed;
    }

    op->query = ngx_http_twitch_pg_query(tmcf->pg,
                                         ngx_http_twitch_modaction_stmts[
                                             def->kind],
                                         params,
                                         ngx_http_twitch_modaction_done, op,
                                         &op->log);
    if (op->query == NULL) {
        *status = NGX_HTTP_SERVICE_UNAVAILABLE;
        *error = "database unavailable";
        goto failed;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "twitch modaction: %s on channel %s started",
                   def->name, a->channel_id);

    return op;

failed:

    ngx_destroy_pool(pool);

    return NULL;
}


static const char *
ngx_http_twitch_modaction_check(ngx_http_twitch_modaction_t *a,
    ngx_http_twitch_modaction_def_t *def)
{
    ngx_int_t  s;
    ngx_str_t  ip;

    if (!ngx_http_twitch_modaction_is_id(a->channel_id)) {
        return "invalid channel id";
    }

    if (!ngx_http_twitch_modaction_is_id(a->actor_id)) {
        return "invalid actor id";
    }

    switch (def->kind) {

    case NGX_HTTP_TWITCH_MODACTION_KIND_DELETE:
        if (a->target_id == NULL) {
            return "a message id is required";
        }

        if (!ngx_http_twitch_modaction_is_id(a->target_id)) {
            return "invalid message id";
        }

        break;

    case NGX_HTTP_TWITCH_MODACTION_KIND_CLEAR:
    case NGX_HTTP_TWITCH_MODACTION_KIND_SETTINGS:
        break;

    default:
        if (a->target_id != NULL) {
            if (!ngx_http_twitch_modaction_is_id(a->target_id)) {
                return "invalid user id";
            }

        } else if (a->target_name != NULL) {
            if (!ngx_http_twitch_modaction_is_name(a->target_name)) {
                return "invalid username";
            }

        } else {
            return "a target user is required";
        }

        break;
    }

    s = a->seconds;

    switch (def->secs) {

    case NGX_HTTP_TWITCH_MODACTION_SECS_BAN:
        if (s < 0 || s > NGX_HTTP_TWITCH_MOD_MAX_TIMEOUT) {
            return "ban duration must be from 1 to 1209600 seconds";
        }

        break;

    case NGX_HTTP_TWITCH_MODACTION_SECS_TIMEOUT:
        if (s < 1 || s > NGX_HTTP_TWITCH_MOD_MAX_TIMEOUT) {
            return "timeout duration must be from 1 to 1209600 seconds";
        }

        break;

    case NGX_HTTP_TWITCH_MODACTION_SECS_SLOW:
        if (s < NGX_HTTP_TWITCH_MOD_MIN_SLOW
            || s > NGX_HTTP_TWITCH_MOD_MAX_SLOW)
        {
            return "slow mode must be from 3 to 120 seconds";
        }

        break;

    case NGX_HTTP_TWITCH_MODACTION_SECS_FOLLOW:
        if (s < 0 || s > NGX_HTTP_TWITCH_MOD_MAX_FOLLOW_AGE) {
            return "follow age must be from 0 to 129600 minutes";
        }

        break;

    default:
        break;
    }

    if (a->reason != NULL
        && !ngx_http_twitch_modaction_is_text(a->reason,
                                              NGX_HTTP_TWITCH_MOD_MAX_REASON))
    {
        return "reason must be valid text of at most 500 characters";
    }

    if (a->ip != NULL) {
        ip.data = (u_char *) a->ip;
        ip.len = ngx_strlen(a->ip);

        if (!ngx_http_twitch_modaction_is_ip(&ip)) {
            return "invalid client address";
        }
    }

    return NULL;
}


/* a positive decimal that fits a bigint */

static ngx_uint_t
ngx_http_twitch_modaction_is_id(const char *s)
{
    size_t  n;

    if (s == NULL || s[0] < '1' || s[0] > '9') {
        return 0;
    }

    for (n = 1; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 18) {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ngx_http_twitch_modaction_is_name(const char *s)
{
    size_t  n;

    for (n = 0; s[n]; n++) {
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')
              || (s[n] >= '0' && s[n] <= '9') || s[n] == '_')
            || n >= 25)
        {
            return 0;
        }
    }

    return n > 0;
}


/* an address as c->addr_text gives it: hex digits, dots, colons */

static ngx_uint_t
ngx_http_twitch_modaction_is_ip(ngx_str_t *addr)
{
    u_char      c;
    ngx_uint_t  i;

    if (addr->len < 2 || addr->len > NGX_INET6_ADDRSTRLEN) {
        return 0;
    }

    for (i = 0; i < addr->len; i++) {
        c = addr->data[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
              || (c >= 'A' && c <= 'F') || c == '.' || c == ':'))
        {
            return 0;
        }
    }

    return 1;
}


/* valid UTF-8 of at most max code points */

static ngx_uint_t
ngx_http_twitch_modaction_is_text(const char *s, size_t max)
{
    u_char    *p, *last;
    size_t     n;
    uint32_t   c;

    p = (u_char *) s;
    last = p + ngx_strlen(s);

    for (n = 0; p < last; n++) {
        if (n >= max) {
            return 0;
        }

        if (*p < 0x80) {
            p++;
            continue;
        }

        c = ngx_utf8_decode(&p, last - p);

        if (c > 0x10ffff) {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_twitch_modaction_params(ngx_http_twitch_modaction_op_t *op,
    ngx_http_twitch_modaction_t *a, const char **params)
{
    char                             *secs;
    ngx_http_twitch_modaction_def_t  *def;

    def = op->def;

    secs = ngx_pnalloc(op->pool, NGX_INT_T_LEN + 1);
    if (secs == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf((u_char *) secs, "%i", a->seconds) = '\0';

    params[0] = (const char *) op->channel.data;
    params[1] = a->actor_id;

    switch (def->kind) {

    case NGX_HTTP_TWITCH_MODACTION_KIND_BAN:
        params[2] = a->target_id;
        params[3] = a->target_name;
        params[4] = op->reason;
        params[5] = (a->seconds > 0) ? secs : NULL;
        params[6] = a->ip;
        params[7] = def->arg;
        break;

    case NGX_HTTP_TWITCH_MODACTION_KIND_UNBAN:
    case NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_ADD:
    case NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_DEL:
        params[2] = a->target_id;
        params[3] = a->target_name;
        params[4] = a->ip;
        params[5] = def->arg;
        break;

    case NGX_HTTP_TWITCH_MODACTION_KIND_DELETE:
        params[2] = a->target_id;
        params[3] = op->reason;
        params[4] = a->ip;
        break;

    case NGX_HTTP_TWITCH_MODACTION_KIND_CLEAR:
        params[2] = a->ip;
        break;

    default: /* NGX_HTTP_TWITCH_MODACTION_KIND_SETTINGS */
        params[2] = def->arg;

        if (!def->on) {
            params[3] = NULL;

        } else if (def->secs == NGX_HTTP_TWITCH_MODACTION_SECS_NONE) {
            params[3] = "1";

        } else {
            params[3] = secs;
        }

        params[4] = a->ip;
        break;
    }

    return NGX_OK;
}


static u_char *
ngx_http_twitch_modaction_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_http_twitch_modaction_op_t  *op = log->data;

    return ngx_snprintf(buf, len,
                        " while running moderation action \"%s\""
                        " on channel %V", op->def->name, &op->channel);
}


void
ngx_http_twitch_modaction_cancel(ngx_http_twitch_modaction_op_t *op)
{
    op->handler = NULL;
    op->data = NULL;
}


const char *
ngx_http_twitch_modaction_name(ngx_uint_t action)
{
    if (action >= NGX_HTTP_TWITCH_MOD_NACTIONS) {
        return "unknown";
    }

    return ngx_http_twitch_modaction_defs[action].name;
}


char *
ngx_http_twitch_modaction_ip(ngx_pool_t *pool, ngx_str_t *addr)
{
    u_char  *p;

    if (!ngx_http_twitch_modaction_is_ip(addr)) {
        return NULL;
    }

    p = ngx_pnalloc(pool, addr->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, addr->data, addr->len) = '\0';

    return (char *) p;
}


static void
ngx_http_twitch_modaction_done(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_modaction_op_t  *op = data;

    ngx_int_t                         code;
    ngx_str_t                         event;
    const char                       *error;
    ngx_http_twitch_modaction_def_t  *def;

    op->query = NULL;
    def = op->def;

    if (rc == NGX_DECLINED) {
        ngx_http_twitch_modaction_finish(op, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "database unavailable");
        return;
    }

    if (rc != NGX_OK || PQntuples(res) != 1
        || PQnfields(res) != NGX_HTTP_TWITCH_MODACTION_COLS)
    {
        ngx_log_error(NGX_LOG_ERR, &op->log, 0,
                      "twitch modaction: statement failed: %s %s",
                      res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                            ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                            : ""
                          : "",
                      res ? PQresultErrorMessage(res) : "");
        ngx_http_twitch_modaction_finish(op, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         "internal error");
        return;
    }

    code = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                    PQgetlength(res, 0, 0));

    if (code < 0 || code >= NGX_HTTP_TWITCH_MODACTION_CODES
        || (code > 0 && def->errors[code] == NULL))
    {
        ngx_log_error(NGX_LOG_ALERT, &op->log, 0,
                      "twitch modaction: unexpected check code %i", code);
        ngx_http_twitch_modaction_finish(op, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         "internal error");
        return;
    }

    if (ngx_http_twitch_modaction_read(op, res) != NGX_OK) {
        ngx_http_twitch_modaction_finish(op, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         "internal error");
        return;
    }

    if (code == NGX_HTTP_TWITCH_MODACTION_ALREADY
        && (def->kind == NGX_HTTP_TWITCH_MODACTION_KIND_ROLE_ADD))
    {
        /* nothing changed: a note, no event */
        op->result.note.data = (u_char *) def->errors[code];
        op->result.note.len = ngx_strlen(def->errors[code]);
        ngx_http_twitch_modaction_finish(op, NGX_HTTP_OK, NULL);
        return;
    }

    if (code != 0) {
        error = def->errors[code];

        ngx_log_error(NGX_LOG_INFO, &op->log, 0,
                      "twitch modaction: %s refused: %s", def->name, error);

        ngx_http_twitch_modaction_finish(op,
                                         ngx_http_twitch_modaction_status[code],
                                         error);
        return;
    }

    op->result.changed = 1;

    ngx_log_error(NGX_LOG_INFO, &op->log, 0,
                  "twitch modaction: %s done%s%V", def->name,
                  op->result.username.len ? ", user " : "",
                  &op->result.username);

    if (ngx_http_twitch_modaction_event(op, def->event, &op->result.event)
        != NGX_OK
        || ngx_http_twitch_modaction_publish(op, &op->result.event)
           != NGX_OK)
    {
        op->publish_failed = 1;
    }

    if (def->legacy != NULL) {
        if (ngx_http_twitch_modaction_event(op, def->legacy, &event)
            != NGX_OK
            || ngx_http_twitch_modaction_publish(op, &event) != NGX_OK)
        {
            op->publish_failed = 1;
        }
    }

    if (op->pending == 0) {
        ngx_http_twitch_modaction_finish(op, NGX_HTTP_OK, NULL);
    }
}


/* a column as a NUL-terminated string in the pool; NULL: empty */

static ngx_int_t
ngx_http_twitch_modaction_copy(ngx_pool_t *pool, PGresult *res, int col,
    ngx_str_t *s)
{
    if (PQgetisnull(res, 0, col)) {
        s->len = 0;
        s->data = (u_char *) "";
        return NGX_OK;
    }

    s->len = PQgetlength(res, 0, col);
    s->data = ngx_pnalloc(pool, s->len + 1);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s->data, PQgetvalue(res, 0, col), s->len);
    s->data[s->len] = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_modaction_read(ngx_http_twitch_modaction_op_t *op,
    PGresult *res)
{
    ngx_http_twitch_modaction_result_t  *r;

    r = &op->result;

    r->channel_id = op->channel;

    if (r->message_id.data == NULL) {
        r->message_id.data = (u_char *) "";
    }

    r->note.data = (u_char *) "";
    r->event.data = (u_char *) "";

    if (ngx_http_twitch_modaction_copy(op->pool, res, 1, &r->user_id)
        != NGX_OK
        || ngx_http_twitch_modaction_copy(op->pool, res, 2, &r->username)
           != NGX_OK
        || ngx_http_twitch_modaction_copy(op->pool, res, 3, &r->expires_at)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (op->def->kind == NGX_HTTP_TWITCH_MODACTION_KIND_BAN) {
        r->seconds = op->seconds;
    }

    if (!PQgetisnull(res, 0, 4)) {
        r->slow_mode_seconds = ngx_atoi((u_char *) PQgetvalue(res, 0, 4),
                                        PQgetlength(res, 0, 4));
        r->followers_only = (PQgetvalue(res, 0, 5)[0] == 't');
        r->followers_only_minutes = ngx_atoi(
                                        (u_char *) PQgetvalue(res, 0, 6),
                                        PQgetlength(res, 0, 6));
        r->subscribers_only = (PQgetvalue(res, 0, 7)[0] == 't');
        r->emote_only = (PQgetvalue(res, 0, 8)[0] == 't');
        r->unique_chat = (PQgetvalue(res, 0, 9)[0] == 't');
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_twitch_modaction_event(ngx_http_twitch_modaction_op_t *op,
    const char *type, ngx_str_t *out)
{
    size_t                               len;
    yajl_gen                             g;
    const u_char                        *buf;
    ngx_http_twitch_modaction_result_t  *r;

    r = &op->result;

    g = ngx_http_twitch_json_gen(op->pool);
    if (g == NULL) {
        return NGX_ERROR;
    }

    (void) yajl_gen_map_open(g);

    ngx_http_twitch_json_key(g, "type");
    ngx_http_twitch_json_cstr(g, type);
    ngx_http_twitch_json_key(g, "channelId");
    (void) yajl_gen_number(g, (char *) r->channel_id.data, r->channel_id.len);

    switch (op->action) {

    case NGX_HTTP_TWITCH_MOD_BAN:
    case NGX_HTTP_TWITCH_MOD_TIMEOUT:
        ngx_http_twitch_modaction_user_event(op, g, type);
        break;

    case NGX_HTTP_TWITCH_MOD_DELETE_MESSAGE:
        ngx_http_twitch_json_key(g, "messageId");
        ngx_http_twitch_json_str(g, &r->message_id);
        break;

    case NGX_HTTP_TWITCH_MOD_CLEAR:
        break;

    case NGX_HTTP_TWITCH_MOD_SLOW:
    case NGX_HTTP_TWITCH_MOD_SLOW_OFF:
        if (ngx_strcmp(type, "slow_mode_changed") == 0) {
            ngx_http_twitch_json_key(g, "enabled");
            ngx_http_twitch_json_bool(g, r->slow_mode_seconds > 0);
            ngx_http_twitch_json_key(g, "durationSeconds");
            ngx_http_twitch_json_int(g, r->slow_mode_seconds);
            break;
        }

        /* fall through */

    case NGX_HTTP_TWITCH_MOD_EMOTE_ONLY:
    case NGX_HTTP_TWITCH_MOD_EMOTE_ONLY_OFF:
        if (ngx_strcmp(type, "emote_only_changed") == 0) {
            ngx_http_twitch_json_key(g, "enabled");
            ngx_http_twitch_json_bool(g, r->emote_only);
            break;
        }

        /* fall through */

    case NGX_HTTP_TWITCH_MOD_FOLLOWERS:
    case NGX_HTTP_TWITCH_MOD_FOLLOWERS_OFF:
    case NGX_HTTP_TWITCH_MOD_SUBSCRIBERS:
    case NGX_HTTP_TWITCH_MOD_SUBSCRIBERS_OFF:
    case NGX_HTTP_TWITCH_MOD_UNIQUE:
    case NGX_HTTP_TWITCH_MOD_UNIQUE_OFF:
        ngx_http_twitch_json_key(g, "slowModeSeconds");
        ngx_http_twitch_json_int(g, r->slow_mode_seconds);
        ngx_http_twitch_json_key(g, "followersOnly");
        ngx_http_twitch_json_bool(g, r->followers_only);
        ngx_http_twitch_json_key(g, "followersOnlyMinutes");
        ngx_http_twitch_json_int(g, r->followers_only_minutes);
        ngx_http_twitch_json_key(g, "subscribersOnly");
        ngx_http_twitch_json_bool(g, r->subscribers_only);
        ngx_http_twitch_json_key(g, "emoteOnly");
        ngx_http_twitch_json_bool(g, r->emote_only);
        ngx_http_twitch_json_key(g, "uniqueChat");
        ngx_http_twitch_json_bool(g, r->unique_chat);
        break;

    default: /* unban, untimeout, (un)mod, (un)vip */
        ngx_http_twitch_modaction_user_event(op, g, NULL);
        break;
    }

    (void) yajl_gen_map_close(g);

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        ngx_log_error(NGX_LOG_ALERT, &op->log, 0,
                      "twitch modaction: incomplete \"%s\" event", type);
        return NGX_ERROR;
    }

    /* the generator lives as long as the pool */

    out->data = (u_char *) buf;
    out->len = len;

    return NGX_OK;
}


/* userId, username and, for bans and timeouts, the ban's terms */

static void
ngx_http_twitch_modaction_user_event(ngx_http_twitch_modaction_op_t *op,
    yajl_gen g, const char *type)
{
    ngx_http_twitch_modaction_result_t  *r;

    r = &op->result;

    ngx_http_twitch_json_key(g, "userId");
    (void) yajl_gen_number(g, (char *) r->user_id.data, r->user_id.len);
    ngx_http_twitch_json_key(g, "username");
    ngx_http_twitch_json_str(g, &r->username);

    if (type == NULL) {
        return;
    }

    if (op->action == NGX_HTTP_TWITCH_MOD_BAN) {
        ngx_http_twitch_json_key(g, "isPermanent");
        ngx_http_twitch_json_bool(g, r->seconds == 0);
    }

    ngx_http_twitch_json_key(g, "duration");

    if (r->seconds > 0) {
        ngx_http_twitch_json_int(g, r->seconds);

    } else {
        ngx_http_twitch_json_null(g);
    }

    ngx_http_twitch_json_key(g, "expiresAt");

    if (r->expires_at.len) {
        ngx_http_twitch_json_str(g, &r->expires_at);

    } else {
        ngx_http_twitch_json_null(g);
    }

    ngx_http_twitch_json_key(g, "reason");
    ngx_http_twitch_json_cstr(g, op->reason);
}


static ngx_int_t
ngx_http_twitch_modaction_publish(ngx_http_twitch_modaction_op_t *op,
    ngx_str_t *event)
{
    u_char                       *channel;
    size_t                        lens[3];
    const char                   *argv[3];
    ngx_http_twitch_redis_cmd_t  *cmd;

    channel = ngx_pnalloc(op->pool, sizeof("chat:") + op->channel.len);
    if (channel == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(channel, "chat:%V", &op->channel) = '\0';

    argv[0] = "PUBLISH";
    lens[0] = sizeof("PUBLISH") - 1;
    argv[1] = (const char *) channel;
    lens[1] = ngx_strlen(channel);
    argv[2] = (const char *) event->data;
    lens[2] = event->len;

    cmd = ngx_http_twitch_redis_command(op->tmcf->redis,
                                        ngx_http_twitch_modaction_published,
                                        op, 3, argv, lens);
    if (cmd == NULL) {
        ngx_log_error(NGX_LOG_WARN, &op->log, 0,
                      "twitch modaction: cannot publish on \"%s\": "
                      "redis is down", channel);
        return NGX_ERROR;
    }

    op->pending++;

    return NGX_OK;
}


static void
ngx_http_twitch_modaction_published(void *data, redisReply *reply)
{
    ngx_http_twitch_modaction_op_t  *op = data;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_WARN, &op->log, 0,
                      "twitch modaction: event of \"%s\" not published",
                      op->def->name);
        op->publish_failed = 1;
    }

    if (--op->pending == 0) {
        ngx_http_twitch_modaction_finish(op, NGX_HTTP_OK, NULL);
    }
}


/* calls the handler (unless cancelled) and frees the operation */

static void
ngx_http_twitch_modaction_finish(ngx_http_twitch_modaction_op_t *op,
    ngx_uint_t status, const char *error)
{
    void                          *data;
    ngx_http_twitch_modaction_pt   handler;

    handler = op->handler;
    data = op->data;

    op->handler = NULL;
    op->data = NULL;

    if (handler != NULL) {
        op->result.published = op->result.changed && !op->publish_failed;

        handler(data, status, error,
                (status == NGX_HTTP_OK) ? &op->result : NULL);
    }

    ngx_destroy_pool(op->pool);
}
