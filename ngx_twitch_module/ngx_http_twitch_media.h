
/*
 * Copyright (C) The twitch-nginx authors
 */


#ifndef _NGX_HTTP_TWITCH_MEDIA_H_INCLUDED_
#define _NGX_HTTP_TWITCH_MEDIA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * File work on the transcoder's output, for thread pool tasks only (it
 * blocks): reading and writing playlists, linking segments, deleting a
 * directory tree.  Memory comes from malloc (ngx_alloc).
 */

#define NGX_HTTP_TWITCH_MEDIA_MAX_VARIANTS  8
#define NGX_HTTP_TWITCH_MEDIA_MAX_PLAYLIST  (8 * 1024 * 1024)


typedef struct {
    int64_t                         msn;        /* seg_<msn>.ts */
    double                          duration;   /* EXTINF */
    ngx_uint_t                      disc;       /* EXT-X-DISCONTINUITY */
} ngx_http_twitch_media_seg_t;


typedef struct {
    ngx_http_twitch_media_seg_t    *segs;
    ngx_uint_t                      nsegs;
    ngx_uint_t                      nalloc;
    ngx_uint_t                      target;     /* EXT-X-TARGETDURATION */
    ngx_uint_t                      ended;      /* EXT-X-ENDLIST */
} ngx_http_twitch_media_playlist_t;


typedef struct {
    u_char                          inf[512];   /* #EXT-X-STREAM-INF:... */
    u_char                          rung[32];   /* "source" of source/... */
    ngx_uint_t                      missing;    /* for the caller */
} ngx_http_twitch_media_variant_t;


typedef struct {
    ngx_http_twitch_media_variant_t
                        variants[NGX_HTTP_TWITCH_MEDIA_MAX_VARIANTS];
    ngx_uint_t          nvariants;
} ngx_http_twitch_media_master_t;


/* a whole file, NUL-terminated; NGX_DECLINED: it does not exist */
ngx_int_t ngx_http_twitch_media_read(const char *path, size_t max,
    u_char **data, size_t *len, ngx_log_t *log);
/* written to a temporary name and renamed over path */
ngx_int_t ngx_http_twitch_media_write(const char *path, u_char *data,
    size_t len, ngx_log_t *log);

/* a media playlist of seg_<n>.ts entries (the transcoder's) */
ngx_int_t ngx_http_twitch_media_parse(u_char *data, size_t len,
    ngx_http_twitch_media_playlist_t *pl, ngx_log_t *log);
void ngx_http_twitch_media_free(ngx_http_twitch_media_playlist_t *pl);
/* the variants of a master playlist whose URIs are "<rung>/<file>" */
ngx_int_t ngx_http_twitch_media_parse_master(u_char *data, size_t len,
    ngx_http_twitch_media_master_t *m);

/* a hard link, or a copy across file systems */
ngx_int_t ngx_http_twitch_media_link(const char *from, const char *to,
    ngx_log_t *log);
/* a copy (to a temporary name, renamed) */
ngx_int_t ngx_http_twitch_media_copy(const char *from, const char *to,
    ngx_log_t *log);
/* mkdir -p */
ngx_int_t ngx_http_twitch_media_mkdir(const char *path, ngx_log_t *log);
/* rm -r of a directory that must exist below root */
ngx_int_t ngx_http_twitch_media_remove(const char *root, const char *path,
    ngx_log_t *log);
/* the bytes of the files in a directory tree */
off_t ngx_http_twitch_media_size(const char *path);


#endif /* _NGX_HTTP_TWITCH_MEDIA_H_INCLUDED_ */
