
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Slash commands typed in chat.  "/me" is a chat message (protocol.c);
 * the moderation commands run through the moderation action layer
 * (ngx_http_twitch_modaction.h), exactly as the REST routes do: the layer
 * checks the permissions, writes the database and the audit log and
 * publishes the event that every room follows.
 *
 *   moderators   /ban <user> [reason]      /unban <user>
 *                /timeout <user> [duration] [reason]   /untimeout <user>
 *                /slow [seconds]  /slowoff  /followers [duration]
 *                /followersoff  /subscribers  /subscribersoff
 *                /emoteonly  /emoteonlyoff  /uniquechat  /uniquechatoff
 *                /clear  /delete <messageId>
 *   broadcaster  /mod <user>  /unmod <user>  /vip <user>  /unvip <user>
 *
 * Durations are seconds, or a number with s, m, h, d or w (/followers
 * takes minutes without a unit).  Anything else starting with "/" is an
 * unknown command.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_chat.h"
#include "ngx_http_twitch_modaction.h"


typedef enum {
    NGX_HTTP_TWITCH_CMD_ARG_NONE = 0,
    NGX_HTTP_TWITCH_CMD_ARG_USER,         /* <user> [reason] */
    NGX_HTTP_TWITCH_CMD_ARG_USER_TIME,    /* <user> [duration] [reason] */
    NGX_HTTP_TWITCH_CMD_ARG_SECONDS,      /* [seconds] */
    NGX_HTTP_TWITCH_CMD_ARG_MINUTES,      /* [minutes] */
    NGX_HTTP_TWITCH_CMD_ARG_MESSAGE       /* <messageId> */
} ngx_http_twitch_chat_cmd_arg_e;


typedef struct {
    ngx_str_t                        name;
    ngx_uint_t                       action;
    ngx_http_twitch_chat_cmd_arg_e   arg;
    ngx_uint_t                       owner;     /* broadcaster only */
    ngx_int_t                        def;       /* default seconds */
    const char                      *usage;
} ngx_http_twitch_chat_cmd_t;


static ngx_int_t ngx_http_twitch_chat_cmd_args(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_cmd_t *cmd, ngx_str_t *args,
    ngx_http_twitch_modaction_t *a);
static void ngx_http_twitch_chat_cmd_word(ngx_str_t *args, ngx_str_t *word);
static ngx_int_t ngx_http_twitch_chat_cmd_duration(ngx_str_t *word,
    ngx_int_t unit);
static char *ngx_http_twitch_chat_cmd_cstr(ngx_pool_t *pool, ngx_str_t *s);
static void ngx_http_twitch_chat_cmd_done(void *data, ngx_uint_t status,
    const char *error, ngx_http_twitch_modaction_result_t *result);
static const char *ngx_http_twitch_chat_cmd_code(ngx_uint_t status);


static ngx_http_twitch_chat_cmd_t  ngx_http_twitch_chat_cmds[] = {

    { ngx_string("ban"), NGX_HTTP_TWITCH_MOD_BAN,
      NGX_HTTP_TWITCH_CMD_ARG_USER, 0, 0,
      "Usage: /ban <user> [reason]" },

    { ngx_string("unban"), NGX_HTTP_TWITCH_MOD_UNBAN,
      NGX_HTTP_TWITCH_CMD_ARG_USER, 0, 0,
      "Usage: /unban <user>" },

    { ngx_string("timeout"), NGX_HTTP_TWITCH_MOD_TIMEOUT,
      NGX_HTTP_TWITCH_CMD_ARG_USER_TIME, 0, 600,
      "Usage: /timeout <user> [duration] [reason]" },

    { ngx_string("untimeout"), NGX_HTTP_TWITCH_MOD_UNTIMEOUT,
      NGX_HTTP_TWITCH_CMD_ARG_USER, 0, 0,
      "Usage: /untimeout <user>" },

    { ngx_string("slow"), NGX_HTTP_TWITCH_MOD_SLOW,
      NGX_HTTP_TWITCH_CMD_ARG_SECONDS, 0, 30,
      "Usage: /slow [seconds], 3 to 120" },

    { ngx_string("slowoff"), NGX_HTTP_TWITCH_MOD_SLOW_OFF,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /slowoff" },

    { ngx_string("followers"), NGX_HTTP_TWITCH_MOD_FOLLOWERS,
      NGX_HTTP_TWITCH_CMD_ARG_MINUTES, 0, 0,
      "Usage: /followers [minutes]" },

    { ngx_string("followersoff"), NGX_HTTP_TWITCH_MOD_FOLLOWERS_OFF,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /followersoff" },

    { ngx_string("subscribers"), NGX_HTTP_TWITCH_MOD_SUBSCRIBERS,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /subscribers" },

    { ngx_string("subscribersoff"), NGX_HTTP_TWITCH_MOD_SUBSCRIBERS_OFF,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /subscribersoff" },

    { ngx_string("emoteonly"), NGX_HTTP_TWITCH_MOD_EMOTE_ONLY,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /emoteonly" },

    { ngx_string("emoteonlyoff"), NGX_HTTP_TWITCH_MOD_EMOTE_ONLY_OFF,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /emoteonlyoff" },

    { ngx_string("uniquechat"), NGX_HTTP_TWITCH_MOD_UNIQUE,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /uniquechat" },

    { ngx_string("uniquechatoff"), NGX_HTTP_TWITCH_MOD_UNIQUE_OFF,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /uniquechatoff" },

    { ngx_string("clear"), NGX_HTTP_TWITCH_MOD_CLEAR,
      NGX_HTTP_TWITCH_CMD_ARG_NONE, 0, 0, "Usage: /clear" },

    { ngx_string("delete"), NGX_HTTP_TWITCH_MOD_DELETE_MESSAGE,
      NGX_HTTP_TWITCH_CMD_ARG_MESSAGE, 0, 0,
      "Usage: /delete <messageId>" },

    { ngx_string("mod"), NGX_HTTP_TWITCH_MOD_MOD,
      NGX_HTTP_TWITCH_CMD_ARG_USER, 1, 0, "Usage: /mod <user>" },

    { ngx_string("unmod"), NGX_HTTP_TWITCH_MOD_UNMOD,
      NGX_HTTP_TWITCH_CMD_ARG_USER, 1, 0, "Usage: /unmod <user>" },

    { ngx_string("vip"), NGX_HTTP_TWITCH_MOD_VIP,
      NGX_HTTP_TWITCH_CMD_ARG_USER, 1, 0, "Usage: /vip <user>" },

    { ngx_string("unvip"), NGX_HTTP_TWITCH_MOD_UNVIP,
      NGX_HTTP_TWITCH_CMD_ARG_USER, 1, 0, "Usage: /unvip <user>" },

    { ngx_null_string, 0, 0, 0, 0, NULL }
};


/* text starts with "/" and is not "/me" */

ngx_int_t
ngx_http_twitch_chat_command(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_member_t *m, ngx_str_t *text)
{
    u_char                       *p;
    ngx_str_t                     name, args;
    ngx_uint_t                    status, privileged;
    const char                   *error;
    ngx_http_twitch_chat_cmd_t   *cmd;
    ngx_http_twitch_modaction_t   a;
    u_char                        buf[64];

    args.data = text->data + 1;
    args.len = text->len - 1;

    ngx_http_twitch_chat_cmd_word(&args, &name);

    for (cmd = ngx_http_twitch_chat_cmds; cmd->name.len; cmd++) {
        if (cmd->name.len == name.len
            && ngx_strncasecmp(cmd->name.data, name.data, name.len) == 0)
        {
            break;
        }
    }

    if (cmd->name.len == 0) {
        p = ngx_snprintf(buf, sizeof(buf) - 1, "Unknown command: /%V",
                         &name);
        *p = '\0';

        return ngx_http_twitch_chat_error(cc, "unknown_command",
                                          (char *) buf,
                                          m->room->channel_id, -1);
    }

    /* a first check here; the action layer decides */

    privileged = ngx_http_twitch_chat_privileged(m);

    if ((cmd->owner && !m->broadcaster && !cc->admin)
        || (!cmd->owner && !privileged))
    {
        return ngx_http_twitch_chat_error(cc, "forbidden",
                                          cmd->owner
                                          ? "Only the broadcaster can do "
                                            "that"
                                          : "Only moderators can do that",
                                          m->room->channel_id, -1);
    }

    ngx_memzero(&a, sizeof(ngx_http_twitch_modaction_t));

    a.action = cmd->action;
    a.channel_id = (const char *) m->room->id_text.data;
    a.actor_id = (const char *) cc->user_id_text.data;
    a.seconds = cmd->def;
    a.ip = ngx_http_twitch_modaction_ip(cc->tmp,
                                        &cc->connection->addr_text);

    if (ngx_http_twitch_chat_cmd_args(cc, cmd, &args, &a) != NGX_OK) {
        return ngx_http_twitch_chat_error(cc, "invalid_command", cmd->usage,
                                          m->room->channel_id, -1);
    }

    cc->modop = ngx_http_twitch_modaction_run(cc->worker->tmcf, &a,
                                              cc->connection->log,
                                              ngx_http_twitch_chat_cmd_done,
                                              cc, &status, &error);

    if (cc->modop == NULL) {
        return ngx_http_twitch_chat_error(cc,
                                      ngx_http_twitch_chat_cmd_code(status),
                                      error, m->room->channel_id, -1);
    }

    cc->step = m->room;
    cc->busy = 1;

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_twitch_chat_cmd_args(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_cmd_t *cmd, ngx_str_t *args,
    ngx_http_twitch_modaction_t *a)
{
    size_t     i;
    ngx_int_t  n;
    ngx_str_t  word, rest;

    switch (cmd->arg) {

    case NGX_HTTP_TWITCH_CMD_ARG_NONE:
        return (args->len == 0) ? NGX_OK : NGX_ERROR;

    case NGX_HTTP_TWITCH_CMD_ARG_SECONDS:
    case NGX_HTTP_TWITCH_CMD_ARG_MINUTES:

        ngx_http_twitch_chat_cmd_word(args, &word);

        if (args->len) {
            return NGX_ERROR;
        }

        if (word.len) {
            n = ngx_http_twitch_chat_cmd_duration(&word,
                                  (cmd->arg == NGX_HTTP_TWITCH_CMD_ARG_MINUTES)
                                  ? 60 : 1);
            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (cmd->arg == NGX_HTTP_TWITCH_CMD_ARG_MINUTES) {
                /* the layer takes minutes */
                if (n % 60) {
                    return NGX_ERROR;
                }

                n /= 60;
            }

            a->seconds = n;
        }

        return NGX_OK;

    case NGX_HTTP_TWITCH_CMD_ARG_MESSAGE:

        ngx_http_twitch_chat_cmd_word(args, &word);

        if (args->len || word.len == 0 || word.len > 18) {
            return NGX_ERROR;
        }

        for (i = 0; i < word.len; i++) {
            if (word.data[i] < '0' || word.data[i] > '9') {
                return NGX_ERROR;
            }
        }

        a->target_id = ngx_http_twitch_chat_cmd_cstr(cc->tmp, &word);

        return (a->target_id != NULL) ? NGX_OK : NGX_ERROR;

    default: /* a user, maybe a duration, maybe a reason */

        ngx_http_twitch_chat_cmd_word(args, &word);

        if (word.len && word.data[0] == '@') {
            word.data++;
            word.len--;
        }

        if (word.len < 3 || word.len > 25) {
            return NGX_ERROR;
        }

        for (i = 0; i < word.len; i++) {
            if (!((word.data[i] >= 'a' && word.data[i] <= 'z')
                  || (word.data[i] >= 'A' && word.data[i] <= 'Z')
                  || (word.data[i] >= '0' && word.data[i] <= '9')
                  || word.data[i] == '_'))
            {
                return NGX_ERROR;
            }
        }

        a->target_name = ngx_http_twitch_chat_cmd_cstr(cc->tmp, &word);
        if (a->target_name == NULL) {
            return NGX_ERROR;
        }

        if (cmd->arg == NGX_HTTP_TWITCH_CMD_ARG_USER_TIME && args->len) {
            rest = *args;
            ngx_http_twitch_chat_cmd_word(args, &word);

            n = ngx_http_twitch_chat_cmd_duration(&word, 1);

            if (n == NGX_ERROR) {
                /* no duration: all of it is the reason */
                *args = rest;

            } else {
                a->seconds = n;
            }
        }

        if (cmd->action == NGX_HTTP_TWITCH_MOD_BAN
            || cmd->action == NGX_HTTP_TWITCH_MOD_TIMEOUT)
        {
            if (args->len) {
                a->reason = ngx_http_twitch_chat_cmd_cstr(cc->tmp, args);
                if (a->reason == NULL) {
                    return NGX_ERROR;
                }
            }

            return NGX_OK;
        }

        return (args->len == 0) ? NGX_OK : NGX_ERROR;
    }
}


/* the next word of args into word; args keeps the rest, trimmed */

static void
ngx_http_twitch_chat_cmd_word(ngx_str_t *args, ngx_str_t *word)
{
    u_char  *p, *last;

    p = args->data;
    last = p + args->len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    word->data = p;

    while (p < last && *p != ' ' && *p != '\t') {
        p++;
    }

    word->len = p - word->data;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    args->data = p;
    args->len = last - p;
}


/* "90", "90s", "10m", "2h", "1d", "1w": seconds (a bare number: units) */

static ngx_int_t
ngx_http_twitch_chat_cmd_duration(ngx_str_t *word, ngx_int_t unit)
{
    size_t     len;
    ngx_int_t  n;

    len = word->len;

    if (len == 0 || len > 9) {
        return NGX_ERROR;
    }

    switch (word->data[len - 1]) {
    case 's':
        unit = 1;
        len--;
        break;
    case 'm':
        unit = 60;
        len--;
        break;
    case 'h':
        unit = 3600;
        len--;
        break;
    case 'd':
        unit = 86400;
        len--;
        break;
    case 'w':
        unit = 604800;
        len--;
        break;
    }

    n = ngx_atoi(word->data, len);

    if (n == NGX_ERROR || n > 100000000 / unit) {
        return NGX_ERROR;
    }

    return n * unit;
}


static char *
ngx_http_twitch_chat_cmd_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, s->data, s->len) = '\0';

    return (char *) p;
}


static void
ngx_http_twitch_chat_cmd_done(void *data, ngx_uint_t status,
    const char *error, ngx_http_twitch_modaction_result_t *result)
{
    ngx_http_twitch_chat_conn_t *cc = data;

    ngx_int_t                     rc;
    ngx_http_twitch_chat_room_t  *room;

    cc->modop = NULL;

    /* the member keeps the room while the connection waits */
    room = cc->step;

    rc = NGX_OK;

    if (status != NGX_HTTP_OK) {
        rc = ngx_http_twitch_chat_error(cc,
                                        ngx_http_twitch_chat_cmd_code(status),
                                        error, room->channel_id, -1);

    } else {
        if (result->changed && !result->published && result->event.len) {
            /* Redis lost the event: this worker's room follows anyway */
            ngx_http_twitch_chat_event(room, &result->event);
        }

        if (result->note.len) {
            rc = ngx_http_twitch_chat_notice(cc, "command_note",
                                             (char *) result->note.data);
        }
    }

    if (rc == NGX_ERROR) {
        ngx_http_twitch_chat_fail(cc, NGX_HTTP_TWITCH_WS_INTERNAL);
    }

    ngx_http_twitch_chat_resume(cc);
}


static const char *
ngx_http_twitch_chat_cmd_code(ngx_uint_t status)
{
    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        return "command_refused";

    case NGX_HTTP_FORBIDDEN:
        return "forbidden";

    case NGX_HTTP_NOT_FOUND:
        return "not_found";

    case NGX_HTTP_CONFLICT:
        return "conflict";

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return "unavailable";

    default:
        return "internal_error";
    }
}


void
ngx_http_twitch_chat_command_cancel(ngx_http_twitch_chat_conn_t *cc)
{
    if (cc->modop != NULL) {
        if (cc->worker->tmcf->pg != NULL) {
            ngx_http_twitch_modaction_cancel(cc->modop);
        }

        cc->modop = NULL;
    }
}
