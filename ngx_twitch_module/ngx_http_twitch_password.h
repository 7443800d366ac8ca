
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_PASSWORD_H_INCLUDED_
#define _NGX_HTTP_TWITCH_PASSWORD_H_INCLUDED_


#include "ngx_http_twitch_api.h"


/*
 * ok: the password matched (verify) or hash holds the new hash (hash);
 * returns what a route handler returns.
 */
typedef ngx_int_t (*ngx_http_twitch_password_pt)(ngx_http_twitch_ctx_t *ctx,
    ngx_uint_t ok, const char *hash);


/* yescrypt in nginx's thread pool; both return NGX_DONE or NGX_ERROR */
ngx_int_t ngx_http_twitch_password_hash(ngx_http_twitch_ctx_t *ctx,
    const char *password, ngx_http_twitch_password_pt handler);
/* hash NULL: compare against a dummy hash, so unknown users cost the same */
ngx_int_t ngx_http_twitch_password_verify(ngx_http_twitch_ctx_t *ctx,
    const char *password, const char *hash,
    ngx_http_twitch_password_pt handler);


#endif /* _NGX_HTTP_TWITCH_PASSWORD_H_INCLUDED_ */
