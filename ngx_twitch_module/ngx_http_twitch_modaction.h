
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Moderation actions, independent of any HTTP request: the REST routes of
 * /api/moderation and the chat's commands (/ban, /timeout, /slow ...) run
 * them the same way.
 *
 * An action is one SQL statement, which checks the actor's permission,
 * writes the state and an audit_log row, all or nothing.  Then the action's
 * event goes out as JSON with PUBLISH on Redis channel "chat:<channelId>"
 * (slow mode and emote-only also publish a second, legacy event).
 *
 * Permissions.  "Mod access" means the channel owner (channels.user_id), a
 * channel_moderators row, or users.role 'admin' or 'moderator'.  A
 * suspended actor has no rights.
 *   - BAN, UNBAN, TIMEOUT, UNTIMEOUT, DELETE_MESSAGE, CLEAR and the room
 *     modes need mod access;
 *   - nobody can ban or time out the channel owner, or themselves;
 *   - only the owner or an admin can ban or time out a moderator (a
 *     channel moderator, or a user whose role is admin or moderator);
 *   - MOD, UNMOD, VIP and UNVIP are for the owner or an admin only.
 *
 * State.  channel_bans holds bans and timeouts: expires_at NULL means a
 * permanent ban, a set expires_at means a timeout (or a temporary ban).  A
 * permanent ban cannot be turned into a timeout: unban first (409).
 * DELETE_MESSAGE soft-deletes chat_messages rows (is_deleted, deleted_at,
 * deleted_by) by the id that clients see.  CLEAR soft-deletes every
 * message of the channel.  Both succeed even when the message is not
 * stored yet: a tombstone, or chat_settings.cleared_at, makes the later
 * batch insert store the row as deleted (migration 020).  The room modes
 * are the chat_settings columns.
 *
 * Events.  Each is a JSON object with "type" first and camelCase names.
 * Ids are JSON numbers, except message ids, which are strings.  Times are
 * ISO 8601 UTC with milliseconds.  reason is a string or null.
 *
 *   BAN (permanent)     {"type":"user_banned","channelId":1,"userId":7,
 *                        "username":"x","isPermanent":true,"duration":null,
 *                        "expiresAt":null,"reason":"spam"}
 *   BAN (seconds > 0)   user_banned with "isPermanent":false,
 *                        "duration":600,"expiresAt":"2026-...Z"
 *   TIMEOUT             {"type":"user_timeout","channelId":1,"userId":7,
 *                        "username":"x","duration":600,
 *                        "expiresAt":"2026-...Z","reason":null}
 *   UNBAN               {"type":"user_unbanned","channelId":1,"userId":7,
 *                        "username":"x"}
 *   UNTIMEOUT           user_untimeout, the same fields
 *   MOD, UNMOD          moderator_added, moderator_removed, the same fields
 *   VIP, UNVIP          vip_added, vip_removed, the same fields
 *   DELETE_MESSAGE      {"type":"message_deleted","channelId":1,
 *                        "messageId":"201"}
 *   CLEAR               {"type":"chat_cleared","channelId":1}
 *   every room mode     {"type":"chat_settings","channelId":1,
 *                        "slowModeSeconds":0,"followersOnly":false,
 *                        "followersOnlyMinutes":0,"subscribersOnly":false,
 *                        "emoteOnly":false,"uniqueChat":false}
 *     then SLOW, SLOW_OFF also publish {"type":"slow_mode_changed",
 *                        "channelId":1,"enabled":true,"durationSeconds":30}
 *     and EMOTE_ONLY, EMOTE_ONLY_OFF also publish
 *                        {"type":"emote_only_changed","channelId":1,
 *                        "enabled":true}
 *
 * A user that is banned, timed out or banned for a while cannot chat until
 * expiresAt (null: for good).  No event is published when nothing changed:
 * MOD on a moderator, or VIP on a VIP, answers 200 with a note instead.
 * Redis pub/sub delivers at most once.  The database is the truth.
 */


#ifndef _NGX_HTTP_TWITCH_MODACTION_H_INCLUDED_
#define _NGX_HTTP_TWITCH_MODACTION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_twitch_module.h"


#define NGX_HTTP_TWITCH_MOD_MAX_TIMEOUT     1209600
#define NGX_HTTP_TWITCH_MOD_MIN_SLOW        3
#define NGX_HTTP_TWITCH_MOD_MAX_SLOW        120
#define NGX_HTTP_TWITCH_MOD_MAX_FOLLOW_AGE  129600
#define NGX_HTTP_TWITCH_MOD_MAX_REASON      500


typedef enum {
    NGX_HTTP_TWITCH_MOD_BAN = 0,
    NGX_HTTP_TWITCH_MOD_UNBAN,
    NGX_HTTP_TWITCH_MOD_TIMEOUT,
    NGX_HTTP_TWITCH_MOD_UNTIMEOUT,
    NGX_HTTP_TWITCH_MOD_MOD,
    NGX_HTTP_TWITCH_MOD_UNMOD,
    NGX_HTTP_TWITCH_MOD_VIP,
    NGX_HTTP_TWITCH_MOD_UNVIP,
    NGX_HTTP_TWITCH_MOD_DELETE_MESSAGE,
    NGX_HTTP_TWITCH_MOD_CLEAR,
    NGX_HTTP_TWITCH_MOD_SLOW,
    NGX_HTTP_TWITCH_MOD_SLOW_OFF,
    NGX_HTTP_TWITCH_MOD_FOLLOWERS,
    NGX_HTTP_TWITCH_MOD_FOLLOWERS_OFF,
    NGX_HTTP_TWITCH_MOD_SUBSCRIBERS,
    NGX_HTTP_TWITCH_MOD_SUBSCRIBERS_OFF,
    NGX_HTTP_TWITCH_MOD_EMOTE_ONLY,
    NGX_HTTP_TWITCH_MOD_EMOTE_ONLY_OFF,
    NGX_HTTP_TWITCH_MOD_UNIQUE,
    NGX_HTTP_TWITCH_MOD_UNIQUE_OFF,
    NGX_HTTP_TWITCH_MOD_NACTIONS
} ngx_http_twitch_modaction_e;


/*
 * What to do.  Strings are NUL-terminated.  The run() call copies what it
 * needs, so they need not outlive it.
 */
typedef struct {
    ngx_uint_t      action;       /* ngx_http_twitch_modaction_e */
    const char     *channel_id;   /* decimal */
    const char     *actor_id;     /* decimal: who acts (checked here) */
    /*
     * The target user's id (decimal), or NULL when target_name is given.
     * For DELETE_MESSAGE, the message id (decimal).
     */
    const char     *target_id;
    const char     *target_name;  /* username, any case */
    /*
     * BAN: 0 = permanent, else a ban of 1..1209600 s;
     * TIMEOUT: 1..1209600 s; SLOW: 3..120 s between messages;
     * FOLLOWERS: minimum follow age, 0..129600 minutes; others: unused.
     */
    ngx_int_t       seconds;
    const char     *reason;       /* NULL or up to 500 characters */
    const char     *ip;           /* client address for the audit log, */
                                  /* or NULL (ngx_http_twitch_modaction_ip) */
} ngx_http_twitch_modaction_t;


/*
 * The outcome, for status 200.  Strings are NUL-terminated (empty when
 * not applicable) and valid during the handler only.
 */
typedef struct {
    ngx_str_t       channel_id;
    ngx_str_t       user_id;            /* the target user */
    ngx_str_t       username;
    ngx_str_t       message_id;         /* DELETE_MESSAGE */
    ngx_str_t       expires_at;         /* BAN, TIMEOUT; empty: permanent */
    ngx_int_t       seconds;            /* BAN, TIMEOUT: 0 = permanent */
    ngx_str_t       note;               /* e.g. "Already a moderator" */
    ngx_uint_t      changed;            /* the state changed; events due */
    ngx_uint_t      published;          /* every event reached Redis */
    ngx_str_t       event;              /* the JSON of the main event */

    /* the room modes after a room-mode action */
    ngx_int_t       slow_mode_seconds;  /* 0: off */
    ngx_uint_t      followers_only;
    ngx_int_t       followers_only_minutes;
    ngx_uint_t      subscribers_only;
    ngx_uint_t      emote_only;
    ngx_uint_t      unique_chat;
} ngx_http_twitch_modaction_result_t;


typedef struct ngx_http_twitch_modaction_op_s  ngx_http_twitch_modaction_op_t;


/*
 * Called once, when the action is done.  status 200 with result, or else
 * the error text and result NULL:
 *   400  the action is not possible (e.g. "Cannot ban the channel owner")
 *   403  the actor may not do it
 *   404  unknown channel or user, nothing to undo ("Ban not found")
 *   409  the state forbids it ("User is already banned")
 *   500  an unexpected database error (logged)
 *   503  the database was unreachable
 * After a 200, a PUBLISH that failed is logged, and result->published is
 * 0.  The state is written all the same.  The operation is freed when the
 * handler returns.
 */
typedef void (*ngx_http_twitch_modaction_pt)(void *data, ngx_uint_t status,
    const char *error, ngx_http_twitch_modaction_result_t *result);


/*
 * Starts an action.  Returns the operation, or NULL when it cannot start.
 * Then *status and *error (a static string) say why: 400 bad input, 503
 * database or Redis unreachable, 500 out of memory.  The handler is never
 * called from within run().  log is only read during the call: the
 * operation logs through its own copy.
 */
ngx_http_twitch_modaction_op_t *ngx_http_twitch_modaction_run(
    ngx_http_twitch_main_conf_t *tmcf, ngx_http_twitch_modaction_t *a,
    ngx_log_t *log, ngx_http_twitch_modaction_pt handler, void *data,
    ngx_uint_t *status, const char **error);

/*
 * The caller went away: the handler will not be called.  Safe at any time
 * until the handler runs, including from inside it.  An action already
 * sent to the database still completes and publishes its event, so that
 * the chat and the database agree.
 */
void ngx_http_twitch_modaction_cancel(ngx_http_twitch_modaction_op_t *op);

/* "ban", "timeout", "slow" ... for logs */
const char *ngx_http_twitch_modaction_name(ngx_uint_t action);

/*
 * addr (e.g. c->addr_text) as a NUL-terminated copy in pool when it is an
 * IPv4 or IPv6 address that audit_log.ip accepts, else NULL.
 */
char *ngx_http_twitch_modaction_ip(ngx_pool_t *pool, ngx_str_t *addr);


#endif /* _NGX_HTTP_TWITCH_MODACTION_H_INCLUDED_ */
