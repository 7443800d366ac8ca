
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_SESSION_H_INCLUDED_
#define _NGX_HTTP_TWITCH_SESSION_H_INCLUDED_


#include "ngx_http_twitch_api.h"


/*
 * Resolves the signed-in user from the session cookie into ctx->user,
 * then continues with next(ctx).  Without a valid session, a required
 * user gets 401; an optional one continues with ctx->user == NULL.
 * Returns what a route handler returns.
 */
ngx_int_t ngx_http_twitch_session_user(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t required, ngx_http_twitch_route_pt next);

/* a fresh session for user_id: Set-Cookie, then next(ctx) */
ngx_int_t ngx_http_twitch_session_start(ngx_http_twitch_ctx_t *ctx,
    const char *user_id, ngx_http_twitch_route_pt next);

/* ends the cookie's session server-side, clears the cookie, next(ctx) */
ngx_int_t ngx_http_twitch_session_end(ngx_http_twitch_ctx_t *ctx,
    ngx_http_twitch_route_pt next);

/*
 * ends every session of user_id; with a handler, it runs once Redis has
 * answered (NGX_DONE is returned), without one the command is fired and
 * forgotten
 */
ngx_int_t ngx_http_twitch_session_revoke_all(ngx_http_twitch_ctx_t *ctx,
    const char *user_id, ngx_http_twitch_api_redis_pt handler);

/*
 * For callers without an API ctx (the chat's WebSocket upgrade): the
 * Redis key "session:<id>" of the request's session cookie, NUL-terminated
 * in the request pool.  NGX_DECLINED: no well-formed session cookie;
 * NGX_ERROR: out of memory.  The key's value is the user id.
 */
ngx_int_t ngx_http_twitch_session_key(ngx_http_request_t *r, ngx_str_t *key);


#endif /* _NGX_HTTP_TWITCH_SESSION_H_INCLUDED_ */
