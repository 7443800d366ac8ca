
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_CHAT_H_INCLUDED_
#define _NGX_HTTP_TWITCH_CHAT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_gen.h>

#include "ngx_http_twitch_module.h"
#include "ngx_http_twitch_pg.h"
#include "ngx_http_twitch_redis.h"
#include "ngx_http_twitch_json.h"


/* messages of any kind from one connection: a burst, then a rate */
#define NGX_HTTP_TWITCH_CHAT_BUCKET          120
#define NGX_HTTP_TWITCH_CHAT_BUCKET_RATE     20
/* the worker's read buffer, and a connection's while it keeps input */
#define NGX_HTTP_TWITCH_CHAT_READ_BUF        4096
/* rooms one connection may be in at once */
#define NGX_HTTP_TWITCH_CHAT_MAX_ROOMS       5
/* messages in the join history */
#define NGX_HTTP_TWITCH_CHAT_HISTORY         50
/* code points of a chat message */
#define NGX_HTTP_TWITCH_CHAT_MAX_CHARS       500
/* rate limit: messages per window per user per channel */
#define NGX_HTTP_TWITCH_CHAT_RATE_WINDOW     30000
#define NGX_HTTP_TWITCH_CHAT_RATE_USER       20
#define NGX_HTTP_TWITCH_CHAT_RATE_MOD        100
/* the same text from the same user */
#define NGX_HTTP_TWITCH_CHAT_DUP_WINDOW      30000
/* unique-chat mode: the same text from anybody in the room */
#define NGX_HTTP_TWITCH_CHAT_UNIQUE_WINDOW   600000
/* local memory of the unique-chat rule while Redis is down */
#define NGX_HTTP_TWITCH_CHAT_UNIQUE_LOCAL    128
/* message ids a room remembers to deliver a message only once */
#define NGX_HTTP_TWITCH_CHAT_SEEN            128


/* RFC 6455 opcodes and close codes */

#define NGX_HTTP_TWITCH_WS_CONT              0x0
#define NGX_HTTP_TWITCH_WS_TEXT              0x1
#define NGX_HTTP_TWITCH_WS_BINARY            0x2
#define NGX_HTTP_TWITCH_WS_CLOSE             0x8
#define NGX_HTTP_TWITCH_WS_PING              0x9
#define NGX_HTTP_TWITCH_WS_PONG              0xa

#define NGX_HTTP_TWITCH_WS_NORMAL            1000
#define NGX_HTTP_TWITCH_WS_GOING_AWAY        1001
#define NGX_HTTP_TWITCH_WS_PROTOCOL_ERROR    1002
#define NGX_HTTP_TWITCH_WS_UNSUPPORTED       1003
#define NGX_HTTP_TWITCH_WS_NO_STATUS         1005
#define NGX_HTTP_TWITCH_WS_INVALID_DATA      1007
#define NGX_HTTP_TWITCH_WS_POLICY            1008
#define NGX_HTTP_TWITCH_WS_TOO_BIG           1009
#define NGX_HTTP_TWITCH_WS_INTERNAL          1011


/* why a handshake is refused */

typedef enum {
    NGX_HTTP_TWITCH_WS_ACCEPT = 0,
    NGX_HTTP_TWITCH_WS_NOT_GET,
    NGX_HTTP_TWITCH_WS_NOT_HTTP11,
    NGX_HTTP_TWITCH_WS_BODY,
    NGX_HTTP_TWITCH_WS_NO_UPGRADE,
    NGX_HTTP_TWITCH_WS_VERSION,
    NGX_HTTP_TWITCH_WS_KEY,
    NGX_HTTP_TWITCH_WS_ORIGIN
} ngx_http_twitch_chat_ws_refusal_e;


typedef struct ngx_http_twitch_chat_worker_s  ngx_http_twitch_chat_worker_t;
typedef struct ngx_http_twitch_chat_conn_s    ngx_http_twitch_chat_conn_t;
typedef struct ngx_http_twitch_chat_room_s    ngx_http_twitch_chat_room_t;
typedef struct ngx_http_twitch_chat_member_s  ngx_http_twitch_chat_member_t;
typedef struct ngx_http_twitch_chat_out_s     ngx_http_twitch_chat_out_t;
typedef struct ngx_http_twitch_chat_relay_s   ngx_http_twitch_chat_relay_t;


typedef struct {
    ngx_msec_t                       viewer_interval;
    ngx_msec_t                       flush_interval;
    ngx_flag_t                       current_viewers;
    ngx_flag_t                       used;
    ngx_shm_zone_t                  *relay_zone;
    ngx_http_twitch_chat_worker_t   *worker;
} ngx_http_twitch_chat_main_conf_t;


typedef struct {
    ngx_flag_t                       enabled;
    size_t                           max_message;
    size_t                           send_queue;
    ngx_msec_t                       ping_interval;
    ngx_array_t                     *origins;       /* of ngx_str_t */
} ngx_http_twitch_chat_loc_conf_t;


/* a server frame shared by every connection it is queued on */

typedef struct {
    ngx_uint_t                       refs;
    size_t                           len;
    u_char                          *data;
} ngx_http_twitch_chat_frame_t;


struct ngx_http_twitch_chat_out_s {
    ngx_http_twitch_chat_frame_t    *frame;
    ngx_http_twitch_chat_out_t      *next;
};


/* the incremental frame parser of one connection */

typedef struct {
    ngx_uint_t                       state;
    ngx_uint_t                       fin;
    ngx_uint_t                       opcode;
    ngx_uint_t                       len_bytes;
    uint64_t                         len;
    uint64_t                         left;
    u_char                           mask[4];
    ngx_uint_t                       mask_bytes;

    /* the data message being received (opcode, 0: none) */
    ngx_uint_t                       message;
    uint32_t                         utf8;
    u_char                          *msg;
    size_t                           msg_len;
    size_t                           msg_size;      /* of the buffer */
    size_t                           msg_max;       /* the limit */
    size_t                           need;

    /* the control frame being received */
    u_char                           ctl[125];
    size_t                           ctl_len;
} ngx_http_twitch_chat_ws_parser_t;


typedef struct {
    ngx_uint_t                       opcode;
    u_char                          *data;
    size_t                           len;
    ngx_uint_t                       code;
} ngx_http_twitch_chat_ws_event_t;


/* what a member sent, for the rules while Redis is down */

typedef struct {
    ngx_msec_t                       last_sent;
    ngx_msec_t                       sent[NGX_HTTP_TWITCH_CHAT_RATE_MOD];
    ngx_uint_t                       nsent;
    uint32_t                         dup_hash[4];
    ngx_msec_t                       dup_time[4];
    ngx_uint_t                       ndup;
} ngx_http_twitch_chat_sent_t;


/* a user's standing in one room, computed at join and on events */

struct ngx_http_twitch_chat_member_s {
    ngx_queue_t                      queue;         /* room; or free */
    ngx_http_twitch_chat_room_t     *room;
    ngx_http_twitch_chat_conn_t     *conn;
    ngx_uint_t                       joined;
    ngx_http_twitch_pg_query_t      *query;
    ngx_http_twitch_redis_cmd_t     *cmd;

    unsigned                         broadcaster:1;
    unsigned                         moderator:1;
    unsigned                         vip:1;
    unsigned                         stale:1;
    ngx_msec_t                       reloaded;
    ngx_http_twitch_chat_conn_t     *waiter;

    ngx_uint_t                       sub_tier;
    ngx_uint_t                       sub_months;
    int64_t                          followed_at;   /* ms; -1: not */
    int64_t                          ban_until;     /* ms; -1: perm. */
    ngx_uint_t                       viewers_hint;
    ngx_array_t                     *history;       /* while joining */

    /* rules while Redis is down: from the first accepted message on */
    ngx_http_twitch_chat_sent_t     *sent;
};


typedef struct {
    int64_t                          id;
    ngx_str_t                        code;
    ngx_uint_t                       tier;
    ngx_uint_t                       global;
} ngx_http_twitch_chat_emote_t;


typedef struct {
    ngx_uint_t                       slow;            /* seconds */
    ngx_uint_t                       followers_only;
    ngx_uint_t                       followers_minutes;
    ngx_uint_t                       subscribers_only;
    ngx_uint_t                       emote_only;
    ngx_uint_t                       unique;
} ngx_http_twitch_chat_settings_t;


struct ngx_http_twitch_chat_room_s {
    ngx_rbtree_node_t                node;          /* key: channel id */
    ngx_http_twitch_chat_worker_t   *worker;
    int64_t                          channel_id;
    ngx_str_t                        channel;       /* "chat:<id>" */
    ngx_str_t                        id_text;
    ngx_uint_t                       ready;
    ngx_uint_t                       loading;
    ngx_uint_t                       hold;          /* do not free yet */
    ngx_uint_t                       doomed;
    ngx_uint_t                       kicked;
    ngx_http_twitch_pg_query_t      *query;
    ngx_pool_t                      *emotes_pool;

    int64_t                          owner_id;
    ngx_http_twitch_chat_settings_t  settings;
    ngx_array_t                     *emotes;

    ngx_queue_t                      members;       /* joined */
    ngx_queue_t                      joining;
    ngx_uint_t                       nmembers;

    ngx_uint_t                       viewers_sent;  /* told members */
    ngx_uint_t                       viewers_known;
    ngx_msec_t                       refreshed;

    int64_t                          seen[NGX_HTTP_TWITCH_CHAT_SEEN];
    ngx_uint_t                       nseen;

    uint32_t                         unique_hash[
                                         NGX_HTTP_TWITCH_CHAT_UNIQUE_LOCAL];
    ngx_msec_t                       unique_time[
                                         NGX_HTTP_TWITCH_CHAT_UNIQUE_LOCAL];
    ngx_uint_t                       nunique;
};


struct ngx_http_twitch_chat_conn_s {
    ngx_queue_t                      queue;         /* worker->conns */
    ngx_http_request_t              *request;
    ngx_connection_t                *connection;
    ngx_http_twitch_chat_loc_conf_t *conf;
    ngx_http_twitch_chat_worker_t   *worker;

    /* identity, from the session cookie */
    int64_t                          user_id;       /* 0: guest */
    ngx_str_t                        user_id_text;
    ngx_str_t                        username;
    ngx_str_t                        display_name;
    ngx_str_t                        role;
    unsigned                         admin:1;
    unsigned                         global_mod:1;
    unsigned                         identified:1;
    u_char                           guest[sizeof("Guest_xxxxxx")];
    ngx_str_t                        session_key;
    ngx_event_t                      session;
    ngx_http_twitch_redis_cmd_t     *session_cmd;

    /*
     * reading: rbuf is the worker's buffer while a read is handled, the
     * connection's own while it keeps input (busy), else NULL
     */
    ngx_http_twitch_chat_ws_parser_t parser;
    u_char                          *rbuf;
    u_char                          *rpos;
    u_char                          *rlast;
    size_t                           rsize;
    ngx_msec_t                       last_read;
    ngx_msec_t                       bucket_time;
    ngx_uint_t                       bucket;
    ngx_uint_t                       flood;

    /* writing: frames shared with other connections */
    ngx_http_twitch_chat_out_t      *out;
    ngx_http_twitch_chat_out_t     **out_last;
    ngx_http_twitch_chat_out_t      *free_out;
    size_t                           out_bytes;
    size_t                           out_sent;      /* of the first one */
    ngx_queue_t                      writable;      /* worker->writable */

    ngx_event_t                      ping;
    ngx_event_t                      linger;

    /* one asynchronous step at a time */
    ngx_uint_t                       busy;
    ngx_pool_t                      *tmp;           /* of that step */
    void                            *step;
    ngx_http_twitch_redis_cmd_t     *cmd;
    ngx_http_twitch_pg_query_t      *query;
    void                            *modop;
    ngx_queue_t                      id_wait;

    ngx_http_twitch_chat_member_t   *members[NGX_HTTP_TWITCH_CHAT_MAX_ROOMS];
    ngx_uint_t                       nmembers;
    ngx_queue_t                      free_members;  /* to reuse */

    unsigned                         close_sent:1;
    unsigned                         close_received:1;
    unsigned                         closing:1;     /* no more input */
    unsigned                         parse_closing:1;
    unsigned                         shut:1;
    unsigned                         abort:1;       /* drop at once */
    unsigned                         released:1;
    unsigned                         degraded_sent:1;
    unsigned                         write_queued:1;
    unsigned                         ping_sent:1;
    unsigned                         id_waiting:1;  /* in worker->id_waiters */
};


struct ngx_http_twitch_chat_worker_s {
    ngx_http_twitch_chat_main_conf_t *conf;
    ngx_http_twitch_main_conf_t     *tmcf;
    ngx_log_t                       *log;

    ngx_str_t                        id;            /* unique per worker */
    u_char                          *rbuf;          /* shared by reads */

    ngx_rbtree_t                     rooms;
    ngx_rbtree_node_t                sentinel;
    ngx_uint_t                       nrooms;
    ngx_queue_t                      conns;
    ngx_uint_t                       nconns;

    /* connections with frames queued in this turn of the event loop */
    ngx_queue_t                      writable;
    ngx_event_t                      write_ev;

    ngx_uint_t                       redis_up;
    ngx_uint_t                       degraded;
    ngx_event_t                      state_ev;
    ngx_uint_t                       state_tries;
    ngx_event_t                      viewer_timer;
    ngx_event_t                      kick_timer;
    ngx_uint_t                       exiting;

    /* message ids: the block in use */
    int64_t                          next_id;
    int64_t                          last_id;
    int64_t                          spare_first;
    int64_t                          spare_last;
    ngx_http_twitch_pg_query_t      *id_query;
    ngx_queue_t                      id_waiters;
    ngx_event_t                      id_timer;

    /* the other workers' messages while Redis is down */
    ngx_http_twitch_chat_relay_t    *relay;
    uint64_t                         relay_seq;
    ngx_event_t                      relay_timer;

    /* messages not yet in PostgreSQL */
    ngx_queue_t                      pending;
    ngx_uint_t                       npending;
    ngx_queue_t                      flushing;
    ngx_uint_t                       nflushing;
    ngx_http_twitch_pg_query_t      *flush_query;
    ngx_event_t                      flush_timer;
    ngx_event_t                      flush_guard;
    ngx_msec_t                       flush_backoff;
    ngx_uint_t                       dropped;
};


/* ngx_http_twitch_chat_module.c */

ngx_http_twitch_chat_worker_t *ngx_http_twitch_chat_worker(void);
int64_t ngx_http_twitch_chat_now_ms(void);

/* ngx_http_twitch_chat_ws.c */

ngx_int_t ngx_http_twitch_chat_ws_handshake(ngx_http_request_t *r,
    ngx_http_twitch_chat_loc_conf_t *conf);
ngx_int_t ngx_http_twitch_chat_ws_refuse(ngx_http_request_t *r,
    ngx_int_t reason);
void ngx_http_twitch_chat_ws_init(ngx_http_twitch_chat_ws_parser_t *p,
    u_char *msg, size_t msg_size, size_t msg_max);
ngx_int_t ngx_http_twitch_chat_ws_parse(ngx_http_twitch_chat_ws_parser_t *p,
    u_char **pos, u_char *last, ngx_http_twitch_chat_ws_event_t *ev);
ngx_int_t ngx_http_twitch_chat_utf8(uint32_t *state, u_char *p, size_t n);
ngx_http_twitch_chat_frame_t *ngx_http_twitch_chat_frame(ngx_uint_t opcode,
    u_char *data, size_t len, ngx_log_t *log);
ngx_http_twitch_chat_frame_t *ngx_http_twitch_chat_frame_json(yajl_gen g,
    ngx_log_t *log);
void ngx_http_twitch_chat_frame_release(ngx_http_twitch_chat_frame_t *f);

/* ngx_http_twitch_chat_conn.c */

ngx_int_t ngx_http_twitch_chat_conn_start(ngx_http_request_t *r,
    ngx_http_twitch_chat_loc_conf_t *conf);
void ngx_http_twitch_chat_write_all(ngx_event_t *ev);
ngx_int_t ngx_http_twitch_chat_send(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_frame_t *f);
ngx_int_t ngx_http_twitch_chat_send_json(ngx_http_twitch_chat_conn_t *cc,
    yajl_gen g);
void ngx_http_twitch_chat_send_now(ngx_http_twitch_chat_conn_t *cc);
void ngx_http_twitch_chat_resume(ngx_http_twitch_chat_conn_t *cc);
void ngx_http_twitch_chat_fail(ngx_http_twitch_chat_conn_t *cc,
    ngx_uint_t code);
void ngx_http_twitch_chat_close_with(ngx_http_twitch_chat_conn_t *cc,
    ngx_uint_t code, const char *reason);
void ngx_http_twitch_chat_abort_all(ngx_http_twitch_chat_worker_t *w);

/* ngx_http_twitch_chat_identity.c */

void ngx_http_twitch_chat_identify(ngx_http_twitch_chat_conn_t *cc);

/* ngx_http_twitch_chat_protocol.c */

ngx_int_t ngx_http_twitch_chat_message(ngx_http_twitch_chat_conn_t *cc,
    u_char *data, size_t len);
void ngx_http_twitch_chat_identified(ngx_http_twitch_chat_conn_t *cc);
void ngx_http_twitch_chat_id_ready(ngx_http_twitch_chat_conn_t *cc,
    ngx_int_t rc);
void ngx_http_twitch_chat_standing_ready(ngx_http_twitch_chat_conn_t *cc);
yajl_gen ngx_http_twitch_chat_gen(void);
ngx_int_t ngx_http_twitch_chat_error(ngx_http_twitch_chat_conn_t *cc,
    const char *code, const char *message, int64_t channel_id,
    int64_t retry_after);
ngx_int_t ngx_http_twitch_chat_notice(ngx_http_twitch_chat_conn_t *cc,
    const char *code, const char *message);
ngx_int_t ngx_http_twitch_chat_send_joined(ngx_http_twitch_chat_member_t *m,
    ngx_array_t *history, PGresult *rows);
void ngx_http_twitch_chat_emit_badges(yajl_gen g,
    ngx_http_twitch_chat_member_t *m);
void ngx_http_twitch_chat_emit_settings(yajl_gen g,
    ngx_http_twitch_chat_settings_t *s);

/* ngx_http_twitch_chat_room.c */

void ngx_http_twitch_chat_rooms_init(ngx_http_twitch_chat_worker_t *w);
ngx_int_t ngx_http_twitch_chat_join(ngx_http_twitch_chat_conn_t *cc,
    int64_t channel_id);
ngx_int_t ngx_http_twitch_chat_leave(ngx_http_twitch_chat_conn_t *cc,
    int64_t channel_id);
void ngx_http_twitch_chat_leave_all(ngx_http_twitch_chat_conn_t *cc);
ngx_http_twitch_chat_member_t *ngx_http_twitch_chat_member(
    ngx_http_twitch_chat_conn_t *cc, int64_t channel_id);
ngx_http_twitch_chat_room_t *ngx_http_twitch_chat_room_find(
    ngx_http_twitch_chat_worker_t *w, int64_t channel_id);
void ngx_http_twitch_chat_room_deliver(ngx_http_twitch_chat_room_t *room,
    ngx_http_twitch_chat_frame_t *f);
ngx_int_t ngx_http_twitch_chat_room_local(ngx_http_twitch_chat_room_t *room,
    int64_t id, u_char *payload, size_t len);
void ngx_http_twitch_chat_rooms_refresh(ngx_http_twitch_chat_worker_t *w);
ngx_int_t ngx_http_twitch_chat_member_reload(ngx_http_twitch_chat_member_t *m,
    ngx_http_twitch_chat_conn_t *waiter);
void ngx_http_twitch_chat_viewers_kick(ngx_http_twitch_chat_room_t *room);
void ngx_http_twitch_chat_viewer_tick(ngx_event_t *ev);
void ngx_http_twitch_chat_rooms_exit(ngx_http_twitch_chat_worker_t *w);

/* ngx_http_twitch_chat_events.c */

void ngx_http_twitch_chat_event(ngx_http_twitch_chat_room_t *room,
    ngx_str_t *message);

/* ngx_http_twitch_chat_rules.c */

typedef struct {
    const char                      *code;
    const char                      *text;
    int64_t                          retry_after;   /* seconds, -1 */
    u_char                           buf[160];
} ngx_http_twitch_chat_refusal_t;

ngx_uint_t ngx_http_twitch_chat_privileged(ngx_http_twitch_chat_member_t *m);
ngx_int_t ngx_http_twitch_chat_rules_local(ngx_http_twitch_chat_member_t *m,
    ngx_uint_t only_emotes, ngx_uint_t may_reload,
    ngx_http_twitch_chat_refusal_t *rf);
ngx_int_t ngx_http_twitch_chat_rules_memory(ngx_http_twitch_chat_member_t *m,
    uint32_t hash, ngx_http_twitch_chat_refusal_t *rf);
void ngx_http_twitch_chat_rules_remember(ngx_http_twitch_chat_member_t *m,
    uint32_t hash);
ngx_http_twitch_redis_cmd_t *ngx_http_twitch_chat_rules_redis(
    ngx_http_twitch_chat_member_t *m, ngx_str_t *hash, int64_t id,
    ngx_str_t *payload, ngx_http_twitch_redis_handler_pt handler,
    void *data);
ngx_int_t ngx_http_twitch_chat_rules_reply(ngx_http_twitch_chat_member_t *m,
    redisReply *reply, ngx_http_twitch_chat_refusal_t *rf);

/* ngx_http_twitch_chat_emotes.c */

typedef struct {
    int64_t                          id;
    ngx_str_t                        code;
    ngx_uint_t                       start;
    ngx_uint_t                       end;
} ngx_http_twitch_chat_emote_use_t;

ngx_int_t ngx_http_twitch_chat_emotes_load(ngx_http_twitch_chat_room_t *room,
    PGresult *res);
ngx_int_t ngx_http_twitch_chat_emotes_find(ngx_http_twitch_chat_member_t *m,
    ngx_str_t *text, ngx_array_t *uses, ngx_uint_t *only_emotes);
size_t ngx_http_twitch_chat_chars(u_char *p, size_t n);

/* ngx_http_twitch_chat_persist.c */

void ngx_http_twitch_chat_persist_init(ngx_http_twitch_chat_worker_t *w);
ngx_int_t ngx_http_twitch_chat_next_id(ngx_http_twitch_chat_conn_t *cc,
    int64_t *id);
void ngx_http_twitch_chat_id_cancel(ngx_http_twitch_chat_conn_t *cc);
void ngx_http_twitch_chat_persist(ngx_http_twitch_chat_worker_t *w,
    int64_t id, int64_t channel_id, ngx_str_t *payload);
void ngx_http_twitch_chat_persist_exit(ngx_http_twitch_chat_worker_t *w);

/* ngx_http_twitch_chat_relay.c */

ngx_int_t ngx_http_twitch_chat_relay_zone(ngx_conf_t *cf,
    ngx_http_twitch_chat_main_conf_t *cmcf);
void ngx_http_twitch_chat_relay_start(ngx_http_twitch_chat_worker_t *w);
void ngx_http_twitch_chat_relay_write(ngx_http_twitch_chat_worker_t *w,
    int64_t channel_id, int64_t id, ngx_str_t *payload);
void ngx_http_twitch_chat_relay_watch(ngx_http_twitch_chat_worker_t *w,
    ngx_uint_t on);

/* ngx_http_twitch_chat_commands.c */

ngx_int_t ngx_http_twitch_chat_command(ngx_http_twitch_chat_conn_t *cc,
    ngx_http_twitch_chat_member_t *m, ngx_str_t *text);
void ngx_http_twitch_chat_command_cancel(ngx_http_twitch_chat_conn_t *cc);


extern ngx_module_t  ngx_http_twitch_chat_module;


#endif /* _NGX_HTTP_TWITCH_CHAT_H_INCLUDED_ */
