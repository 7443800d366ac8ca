
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Redis for a worker: hiredis (0.14) asynchronous contexts bridged to the
 * nginx event loop, one for commands and one for pub/sub.
 *
 * The bridge wraps the context's socket in an nginx connection taken with
 * ngx_get_connection() and maps hiredis' addRead/delRead/addWrite/delWrite
 * hooks to level-triggered nginx events; hiredis owns and closes the
 * socket, so the cleanup hook only releases the nginx connection.
 * hiredis 0.14 has no timers: connect and command timeouts are nginx
 * timers.  A command that times out drops the connection (every pending
 * command fails) and a fresh one is opened with backoff; the subscriber
 * connection subscribes again to every channel after a reconnect.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/async.h>

#include "ngx_http_twitch_redis.h"
#include "ngx_http_twitch_conn.h"




typedef struct {
    ngx_http_twitch_redis_t           *rd;
    redisAsyncContext                 *ac;
    ngx_connection_t                  *c;
    ngx_event_t                        timer;
    ngx_msec_t                         backoff;
    ngx_uint_t                         up;
    ngx_uint_t                         subscriber;
    const char                        *name;
} ngx_http_twitch_redis_conn_t;


typedef struct {
    ngx_str_node_t                     sn;
    ngx_http_twitch_redis_message_pt   handler;
    void                              *data;
} ngx_http_twitch_redis_sub_t;


struct ngx_http_twitch_redis_cmd_s {
    ngx_http_twitch_redis_t           *rd;
    ngx_http_twitch_redis_handler_pt   handler;
    void                              *data;
    ngx_event_t                        timer;
};


struct ngx_http_twitch_redis_s {
    ngx_http_twitch_main_conf_t       *conf;
    ngx_log_t                         *log;
    char                              *host;
    char                              *unix_path;
    ngx_http_twitch_redis_conn_t       cmd;
    ngx_http_twitch_redis_conn_t       sub;
    ngx_rbtree_t                       channels;
    ngx_rbtree_node_t                  sentinel;
    ngx_uint_t                         nchannels;
    ngx_http_twitch_redis_state_pt     state_handler;
    void                              *state_data;
    ngx_uint_t                         down_logged;
    ngx_uint_t                         exiting;
};


static void ngx_http_twitch_redis_connect(ngx_http_twitch_redis_conn_t *rc);
static void ngx_http_twitch_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_twitch_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_http_twitch_redis_down(ngx_http_twitch_redis_conn_t *rc,
    const char *what, const char *err);
static void ngx_http_twitch_redis_timer_handler(ngx_event_t *ev);
static void ngx_http_twitch_redis_schedule(ngx_http_twitch_redis_conn_t *rc);
static ngx_int_t ngx_http_twitch_redis_wrap(ngx_http_twitch_redis_conn_t *rc);
static void ngx_http_twitch_redis_add_read(void *privdata);
static void ngx_http_twitch_redis_del_read(void *privdata);
static void ngx_http_twitch_redis_add_write(void *privdata);
static void ngx_http_twitch_redis_del_write(void *privdata);
static void ngx_http_twitch_redis_cleanup(void *privdata);
static void ngx_http_twitch_redis_read_handler(ngx_event_t *ev);
static void ngx_http_twitch_redis_write_handler(ngx_event_t *ev);
static void ngx_http_twitch_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_twitch_redis_cmd_timeout(ngx_event_t *ev);
static void ngx_http_twitch_redis_resubscribe(ngx_http_twitch_redis_t *rd);
static ngx_int_t ngx_http_twitch_redis_send_sub(ngx_http_twitch_redis_t *rd,
    const char *verb, ngx_str_t *channel);
static void ngx_http_twitch_redis_message(redisAsyncContext *ac, void *r,
    void *privdata);
static ngx_http_twitch_redis_sub_t *ngx_http_twitch_redis_find(
    ngx_http_twitch_redis_t *rd, ngx_str_t *channel);


ngx_http_twitch_redis_t *
ngx_http_twitch_redis_create(ngx_cycle_t *cycle,
    ngx_http_twitch_main_conf_t *tmcf)
{
    ngx_http_twitch_redis_t  *rd;

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_twitch_redis_t));
    if (rd == NULL) {
        return NULL;
    }

    rd->conf = tmcf;
    rd->log = cycle->log;

    if (tmcf->redis_unix.len) {
        rd->unix_path = (char *) tmcf->redis_unix.data;

    } else {
        rd->host = (char *) tmcf->redis_host.data;
    }

    ngx_rbtree_init(&rd->channels, &rd->sentinel, ngx_str_rbtree_insert_value);

    rd->cmd.rd = rd;
    rd->cmd.name = "command";
    rd->sub.rd = rd;
    rd->sub.name = "subscriber";
    rd->sub.subscriber = 1;

    rd->cmd.timer.handler = ngx_http_twitch_redis_timer_handler;
    rd->cmd.timer.data = &rd->cmd;
    rd->cmd.timer.log = rd->log;
    rd->cmd.timer.cancelable = 1;

    rd->sub.timer = rd->cmd.timer;
    rd->sub.timer.data = &rd->sub;

    ngx_http_twitch_redis_connect(&rd->cmd);
    ngx_http_twitch_redis_connect(&rd->sub);

    return rd;
}


void
ngx_http_twitch_redis_destroy(ngx_http_twitch_redis_t *rd)
{
    ngx_rbtree_node_t            *node;
    ngx_http_twitch_redis_sub_t  *sub;

    if (rd == NULL) {
        return;
    }

    rd->exiting = 1;

    if (rd->cmd.timer.timer_set) {
        ngx_del_timer(&rd->cmd.timer);
    }

    if (rd->sub.timer.timer_set) {
        ngx_del_timer(&rd->sub.timer);
    }

    if (rd->cmd.ac != NULL) {
        redisAsyncFree(rd->cmd.ac);
    }

    if (rd->sub.ac != NULL) {
        redisAsyncFree(rd->sub.ac);
    }

    while (rd->channels.root != rd->channels.sentinel) {
        node = ngx_rbtree_min(rd->channels.root, rd->channels.sentinel);
        ngx_rbtree_delete(&rd->channels, node);
        sub = (ngx_http_twitch_redis_sub_t *) node;
        ngx_free(sub);
    }
}


ngx_uint_t
ngx_http_twitch_redis_is_up(ngx_http_twitch_redis_t *rd)
{
    return rd != NULL && rd->cmd.up && rd->sub.up;
}


ngx_uint_t
ngx_http_twitch_redis_sub_alive(ngx_http_twitch_redis_t *rd)
{
    return rd != NULL && rd->sub.ac != NULL;
}


ngx_http_twitch_redis_cmd_t *
ngx_http_twitch_redis_command(ngx_http_twitch_redis_t *rd,
    ngx_http_twitch_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_http_twitch_redis_cmd_t  *cmd;

    /* while connecting, hiredis keeps the command until the socket is up */

    if (rd == NULL || rd->exiting || rd->cmd.ac == NULL) {
        return NULL;
    }

    cmd = ngx_alloc(sizeof(ngx_http_twitch_redis_cmd_t), rd->log);
    if (cmd == NULL) {
        return NULL;
    }

    ngx_memzero(cmd, sizeof(ngx_http_twitch_redis_cmd_t));

    cmd->rd = rd;
    cmd->handler = handler;
    cmd->data = data;

    if (redisAsyncCommandArgv(rd->cmd.ac, ngx_http_twitch_redis_reply, cmd,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(cmd);
        return NULL;
    }

    cmd->timer.handler = ngx_http_twitch_redis_cmd_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = rd->log;
    cmd->timer.cancelable = 1;
    ngx_add_timer(&cmd->timer, rd->conf->redis_command_timeout);

    return cmd;
}


void
ngx_http_twitch_redis_fire(ngx_http_twitch_redis_t *rd, int argc,
    const char **argv)
{
    int     i;
    size_t  lens[16];

    if (argc > 16) {
        return;
    }

    for (i = 0; i < argc; i++) {
        lens[i] = ngx_strlen(argv[i]);
    }

    (void) ngx_http_twitch_redis_command(rd, NULL, NULL, argc, argv, lens);
}


void
ngx_http_twitch_redis_cancel(ngx_http_twitch_redis_cmd_t *cmd)
{
    /* freed by the reply callback, which hiredis always calls */

    cmd->handler = NULL;
    cmd->data = NULL;
}


ngx_int_t
ngx_http_twitch_redis_subscribe(ngx_http_twitch_redis_t *rd,
    ngx_str_t *channel, ngx_http_twitch_redis_message_pt handler, void *data)
{
    ngx_http_twitch_redis_sub_t  *sub;

    sub = ngx_http_twitch_redis_find(rd, channel);

    if (sub != NULL) {
        sub->handler = handler;
        sub->data = data;
        return NGX_OK;
    }

    sub = ngx_alloc(sizeof(ngx_http_twitch_redis_sub_t) + channel->len,
                    rd->log);
    if (sub == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(sub, sizeof(ngx_http_twitch_redis_sub_t));

    sub->sn.str.len = channel->len;
    sub->sn.str.data = (u_char *) sub + sizeof(ngx_http_twitch_redis_sub_t);
    ngx_memcpy(sub->sn.str.data, channel->data, channel->len);
    sub->sn.node.key = ngx_crc32_short(channel->data, channel->len);
    sub->handler = handler;
    sub->data = data;

    ngx_rbtree_insert(&rd->channels, &sub->sn.node);
    rd->nchannels++;

    if (rd->sub.up) {
        (void) ngx_http_twitch_redis_send_sub(rd, "SUBSCRIBE", channel);
    }

    return NGX_OK;
}


void
ngx_http_twitch_redis_unsubscribe(ngx_http_twitch_redis_t *rd,
    ngx_str_t *channel)
{
    ngx_http_twitch_redis_sub_t  *sub;

    sub = ngx_http_twitch_redis_find(rd, channel);
    if (sub == NULL) {
        return;
    }

    ngx_rbtree_delete(&rd->channels, &sub->sn.node);
    rd->nchannels--;
    ngx_free(sub);

    if (rd->sub.up) {
        (void) ngx_http_twitch_redis_send_sub(rd, "UNSUBSCRIBE", channel);
    }
}


void
ngx_http_twitch_redis_on_state(ngx_http_twitch_redis_t *rd,
    ngx_http_twitch_redis_state_pt handler, void *data)
{
    rd->state_handler = handler;
    rd->state_data = data;
}


static void
ngx_http_twitch_redis_connect(ngx_http_twitch_redis_conn_t *rc)
{
    redisAsyncContext        *ac;
    ngx_http_twitch_redis_t  *rd;

    rd = rc->rd;

    if (rd->unix_path != NULL) {
        ac = redisAsyncConnectUnix(rd->unix_path);

    } else {
        ac = redisAsyncConnect(rd->host, (int) rd->conf->redis_port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ALERT, rd->log, 0,
                      "redis: cannot allocate a context");
        ngx_http_twitch_redis_schedule(rc);
        return;
    }

    if (ac->err) {
        ngx_http_twitch_redis_down(rc, "connect", ac->errstr);
        redisAsyncFree(ac);
        ngx_http_twitch_redis_schedule(rc);
        return;
    }

    rc->ac = ac;
    ac->data = rc;

    ac->ev.data = rc;
    ac->ev.addRead = ngx_http_twitch_redis_add_read;
    ac->ev.delRead = ngx_http_twitch_redis_del_read;
    ac->ev.addWrite = ngx_http_twitch_redis_add_write;
    ac->ev.delWrite = ngx_http_twitch_redis_del_write;
    ac->ev.cleanup = ngx_http_twitch_redis_cleanup;

    if (ngx_http_twitch_redis_wrap(rc) != NGX_OK) {
        rc->ac = NULL;
        redisAsyncFree(ac);
        ngx_http_twitch_redis_schedule(rc);
        return;
    }

    (void) redisAsyncSetConnectCallback(ac, ngx_http_twitch_redis_connected);
    (void) redisAsyncSetDisconnectCallback(ac,
                                          ngx_http_twitch_redis_disconnected);

    /* the connect timeout */
    ngx_add_timer(&rc->timer, rd->conf->redis_connect_timeout);
}


static void
ngx_http_twitch_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_twitch_redis_t       *rd;
    ngx_http_twitch_redis_conn_t  *rc;

    rc = ac->data;
    rd = rc->rd;

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context when this callback returns */
        rc->ac = NULL;
        ngx_http_twitch_redis_down(rc, "connect", ac->errstr);
        ngx_http_twitch_redis_schedule(rc);
        return;
    }

    rc->up = 1;
    rc->backoff = 0;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "twitch redis: %s connection up", rc->name);

    if (rd->down_logged && rd->cmd.up && rd->sub.up) {
        rd->down_logged = 0;
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "redis connection restored");
    }

    if (rc->subscriber) {
        ngx_http_twitch_redis_resubscribe(rd);

        if (rd->state_handler) {
            rd->state_handler(rd->state_data, 1);
        }
    }
}


static void
ngx_http_twitch_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_http_twitch_redis_t       *rd;
    ngx_http_twitch_redis_conn_t  *rc;

    rc = ac->data;
    rd = rc->rd;

    /* hiredis frees the context when this callback returns */

    rc->ac = NULL;
    rc->up = 0;

    if (rd->exiting) {
        return;
    }

    ngx_http_twitch_redis_down(rc, "connection",
                               ac->err ? ac->errstr : "closed");

    if (rc->subscriber && rd->state_handler) {
        rd->state_handler(rd->state_data, 0);
    }

    ngx_http_twitch_redis_schedule(rc);
}


static void
ngx_http_twitch_redis_down(ngx_http_twitch_redis_conn_t *rc,
    const char *what, const char *err)
{
    ngx_http_twitch_redis_t  *rd;

    rd = rc->rd;

    ngx_log_error((rd->down_logged ? NGX_LOG_INFO : NGX_LOG_ERR), rd->log, 0,
                  "redis %s %s failed: %s", rc->name, what,
                  (err && *err) ? err : "unknown error");

    rd->down_logged = 1;
}


static void
ngx_http_twitch_redis_timer_handler(ngx_event_t *ev)
{
    redisAsyncContext             *ac;
    ngx_http_twitch_redis_conn_t  *rc;

    rc = ev->data;

    if (rc->rd->exiting) {
        return;
    }

    if (rc->ac == NULL) {
        /* the backoff delay is over */
        ngx_http_twitch_redis_connect(rc);
        return;
    }

    /* the connect timeout: no connect callback is called on free */

    ngx_http_twitch_redis_down(rc, "connect", "timed out");

    ac = rc->ac;
    rc->ac = NULL;
    redisAsyncFree(ac);

    ngx_http_twitch_redis_schedule(rc);
}


static void
ngx_http_twitch_redis_schedule(ngx_http_twitch_redis_conn_t *rc)
{
    if (rc->rd->exiting) {
        return;
    }

    rc->backoff = ngx_http_twitch_backoff(rc->backoff);

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    ngx_add_timer(&rc->timer, rc->backoff);
}


static ngx_int_t
ngx_http_twitch_redis_wrap(ngx_http_twitch_redis_conn_t *rc)
{
    rc->c = ngx_http_twitch_conn_wrap(rc->ac->c.fd, rc->rd->log, rc,
                                      ngx_http_twitch_redis_read_handler,
                                      ngx_http_twitch_redis_write_handler);

    return (rc->c == NULL) ? NGX_ERROR : NGX_OK;
}


static void
ngx_http_twitch_redis_add_read(void *privdata)
{
    ngx_http_twitch_redis_conn_t  *rc = privdata;

    if (rc->c != NULL && !rc->c->read->active) {
        (void) ngx_add_event(rc->c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_twitch_redis_del_read(void *privdata)
{
    ngx_http_twitch_redis_conn_t  *rc = privdata;

    if (rc->c != NULL && rc->c->read->active) {
        (void) ngx_del_event(rc->c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_twitch_redis_add_write(void *privdata)
{
    ngx_http_twitch_redis_conn_t  *rc = privdata;

    if (rc->c != NULL && !rc->c->write->active) {
        (void) ngx_add_event(rc->c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_twitch_redis_del_write(void *privdata)
{
    ngx_http_twitch_redis_conn_t  *rc = privdata;

    if (rc->c != NULL && rc->c->write->active) {
        (void) ngx_del_event(rc->c->write, NGX_WRITE_EVENT, 0);
    }
}


static void
ngx_http_twitch_redis_cleanup(void *privdata)
{
    ngx_connection_t              *c;
    ngx_http_twitch_redis_conn_t  *rc = privdata;

    c = rc->c;

    if (c == NULL) {
        return;
    }

    /* hiredis closes the socket itself after this hook */

    ngx_http_twitch_conn_release(c, 0);
    rc->c = NULL;
}


static void
ngx_http_twitch_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_http_twitch_redis_conn_t  *rc;

    c = ev->data;
    rc = c->data;

    if (rc->ac != NULL) {
        redisAsyncHandleRead(rc->ac);
    }
}


static void
ngx_http_twitch_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_http_twitch_redis_conn_t  *rc;

    c = ev->data;
    rc = c->data;

    if (rc->ac != NULL) {
        redisAsyncHandleWrite(rc->ac);
    }
}


static void
ngx_http_twitch_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_http_twitch_redis_cmd_t  *cmd = privdata;

    redisReply  *reply = r;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR
        && cmd->handler == NULL)
    {
        /* nobody else sees the error of a fire-and-forget command */
        ngx_log_error(NGX_LOG_ERR, cmd->rd->log, 0,
                      "redis command failed: %*s", reply->len, reply->str);
    }

    if (cmd->handler != NULL && !cmd->rd->exiting) {
        cmd->handler(cmd->data, r);
    }

    ngx_free(cmd);
}


static void
ngx_http_twitch_redis_cmd_timeout(ngx_event_t *ev)
{
    redisAsyncContext             *ac;
    ngx_http_twitch_redis_t       *rd;
    ngx_http_twitch_redis_cmd_t   *cmd;

    cmd = ev->data;
    rd = cmd->rd;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "redis command timed out after %M ms",
                  rd->conf->redis_command_timeout);

    if (cmd->handler != NULL) {
        cmd->handler(cmd->data, NULL);
        cmd->handler = NULL;
    }

    /*
     * A server that does not answer in time is treated as down: freeing
     * the context fails every pending command (this one is freed there)
     * and calls the disconnect callback, which schedules a reconnect.
     */

    ac = rd->cmd.ac;

    if (ac != NULL) {
        redisAsyncFree(ac);
    }
}


static void
ngx_http_twitch_redis_resubscribe(ngx_http_twitch_redis_t *rd)
{
    size_t                        *lens;
    ngx_uint_t                     n;
    const char                   **argv;
    ngx_rbtree_node_t             *node;
    ngx_http_twitch_redis_sub_t   *sub;

    if (rd->nchannels == 0) {
        return;
    }

    argv = ngx_alloc((rd->nchannels + 1) * (sizeof(char *) + sizeof(size_t)),
                     rd->log);
    if (argv == NULL) {
        return;
    }

    lens = (size_t *) (argv + rd->nchannels + 1);

    argv[0] = "SUBSCRIBE";
    lens[0] = sizeof("SUBSCRIBE") - 1;
    n = 1;

    for (node = ngx_rbtree_min(rd->channels.root, rd->channels.sentinel);
         node != NULL;
         node = ngx_rbtree_next(&rd->channels, node))
    {
        sub = (ngx_http_twitch_redis_sub_t *) node;
        argv[n] = (const char *) sub->sn.str.data;
        lens[n] = sub->sn.str.len;
        n++;
    }

    if (redisAsyncCommandArgv(rd->sub.ac, ngx_http_twitch_redis_message, rd,
                              (int) n, argv, lens)
        != REDIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0, "redis: SUBSCRIBE failed");
    }

    ngx_free(argv);
}


static ngx_int_t
ngx_http_twitch_redis_send_sub(ngx_http_twitch_redis_t *rd, const char *verb,
    ngx_str_t *channel)
{
    size_t       lens[2];
    const char  *argv[2];

    argv[0] = verb;
    lens[0] = ngx_strlen(verb);
    argv[1] = (const char *) channel->data;
    lens[1] = channel->len;

    if (redisAsyncCommandArgv(rd->sub.ac, ngx_http_twitch_redis_message, rd,
                              2, argv, lens)
        != REDIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0, "redis: %s \"%V\" failed",
                      verb, channel);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_twitch_redis_message(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_str_t                     channel, message;
    redisReply                   *reply = r;
    ngx_http_twitch_redis_t      *rd = privdata;
    ngx_http_twitch_redis_sub_t  *sub;

    if (reply == NULL || rd->exiting) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING
        || reply->element[2]->type != REDIS_REPLY_STRING
        || ngx_strcmp(reply->element[0]->str, "message") != 0)
    {
        /* subscribe and unsubscribe confirmations */
        return;
    }

    channel.data = (u_char *) reply->element[1]->str;
    channel.len = reply->element[1]->len;
    message.data = (u_char *) reply->element[2]->str;
    message.len = reply->element[2]->len;

    sub = ngx_http_twitch_redis_find(rd, &channel);

    if (sub != NULL && sub->handler != NULL) {
        sub->handler(sub->data, &channel, &message);
    }
}


static ngx_http_twitch_redis_sub_t *
ngx_http_twitch_redis_find(ngx_http_twitch_redis_t *rd, ngx_str_t *channel)
{
    uint32_t  hash;

    hash = ngx_crc32_short(channel->data, channel->len);

    return (ngx_http_twitch_redis_sub_t *)
               ngx_str_rbtree_lookup(&rd->channels, channel, hash);
}
