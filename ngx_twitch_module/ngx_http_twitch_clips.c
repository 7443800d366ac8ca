
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * /api/clips: clips of live streams and VODs.
 *
 *   POST /api/clips {channel, durationSeconds?, title?, vodId?,
 *                    offsetSeconds?}                  signed in; 201
 *   GET  /api/clips/:slug                             {clip}
 *   GET  /api/channels/:name/clips?limit&offset&sort  {clips: [...]}
 *
 * A clip is a slice of a broadcast's segments, never re-encoded: the
 * last durationSeconds (5-60, default 30) at the live edge, or from
 * offsetSeconds of a VOD (vodId: the broadcast id).  The segments are
 * hard-linked into <media>/<channel>/clips/<slug>/ (so they outlive the
 * live window and the VOD's retention) under a playlist of every rung
 * with EXT-X-ENDLIST; the slicing runs in the thread pool and the answer
 * comes at once with mp4Status "pending".  The MP4 (ffmpeg -c copy of the
 * best rung, a child process) is produced by the clip queue of any
 * worker: clips are claimed in PostgreSQL (FOR UPDATE SKIP LOCKED), tried
 * three times, then "failed".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_live.h"
#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_util.h"
#include "ngx_http_twitch_listing.h"
#include "ngx_http_twitch_session.h"
#include "ngx_http_twitch_task.h"
#include "ngx_http_twitch_media.h"
#include "ngx_http_twitch_child.h"


#define NGX_HTTP_TWITCH_CLIPS_DEFAULT    30
#define NGX_HTTP_TWITCH_CLIPS_MIN        5
#define NGX_HTTP_TWITCH_CLIPS_MAX        60
#define NGX_HTTP_TWITCH_CLIPS_TITLE_MAX  100
#define NGX_HTTP_TWITCH_CLIPS_RUNNING    2
#define NGX_HTTP_TWITCH_CLIPS_SLUG       12


/* the columns of a clip, over ngx_http_twitch_clips_fields */

#define NGX_HTTP_TWITCH_CLIP_COLUMNS                                          \
    "cl.id, cl.slug, cl.title, c.id, c.name, u.username, u.display_name,"     \
    " u.avatar_url, cr.username, cr.display_name,"                            \
    " round(cl.duration_seconds)::integer, cl.view_count, cl.hls_url,"        \
    " cl.mp4_url, cl.mp4_status, cl.thumbnail_url, iso(cl.created_at),"       \
    " cl.stream_id, floor(cl.start_offset_seconds)::bigint"

#define NGX_HTTP_TWITCH_CLIP_JOIN                                             \
    " JOIN channels c ON c.id = cl.channel_id"                                \
    " JOIN users u ON u.id = c.user_id"                                       \
    " LEFT JOIN users cr ON cr.id = cl.creator_id"


typedef enum {
    NGX_HTTP_TWITCH_SLICE_ERROR = 0,
    NGX_HTTP_TWITCH_SLICE_OK,
    NGX_HTTP_TWITCH_SLICE_SHORT,        /* not enough video yet */
    NGX_HTTP_TWITCH_SLICE_BEYOND        /* offset past the VOD's end */
} ngx_http_twitch_slice_rc_e;


typedef struct {
    char                           *channel;
    char                           *duration;
    char                           *title;
    char                           *vod;
    char                           *offset;
    char                           *limit;
    char                           *sort;
} ngx_http_twitch_clips_req_t;


typedef struct {
    ngx_http_twitch_ctx_t          *ctx;
    ngx_uint_t                      cancelled;

    /* in */
    ngx_uint_t                      live;
    double                          duration;
    double                          offset;
    u_char                          root[NGX_MAX_PATH];
    u_char                          source[NGX_MAX_PATH];   /* VOD dir */
    u_char                          thumb[NGX_MAX_PATH];
    u_char                          name[32];

    /* out */
    ngx_http_twitch_slice_rc_e      rc;
    double                          start;
    double                          length;
    ngx_uint_t                      has_thumb;
    u_char                          slug[NGX_HTTP_TWITCH_CLIPS_SLUG + 1];
} ngx_http_twitch_slice_t;


typedef struct {
    ngx_http_twitch_live_conf_t    *lcf;
    ngx_http_twitch_child_t        *child;
    char                            id[NGX_INT64_LEN + 1];
    char                            attempts[NGX_INT64_LEN + 1];
    u_char                          url[512];
} ngx_http_twitch_remux_t;


static ngx_int_t ngx_http_twitch_clips_create(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_clips_create_user(
    ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_clips_source(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static void ngx_http_twitch_clips_slice(void *data, ngx_log_t *log);
static void ngx_http_twitch_clips_common(ngx_http_twitch_slice_t *job,
    ngx_http_twitch_media_master_t *master,
    ngx_http_twitch_media_playlist_t *pl, ngx_log_t *log);
static ngx_http_twitch_slice_rc_e ngx_http_twitch_clips_select(
    ngx_http_twitch_slice_t *job, ngx_http_twitch_media_playlist_t *pl,
    ngx_uint_t *first, ngx_uint_t *last);
static ngx_int_t ngx_http_twitch_clips_write_rung(
    ngx_http_twitch_slice_t *job, u_char *dir, const char *rung,
    ngx_http_twitch_media_playlist_t *pl, ngx_uint_t first, ngx_uint_t last,
    ngx_uint_t mp4, ngx_log_t *log);
static ngx_int_t ngx_http_twitch_clips_slug(u_char *slug, ngx_log_t *log);
static void ngx_http_twitch_clips_sliced(void *data);
static ngx_int_t ngx_http_twitch_clips_inserted(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_clips_get(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_clips_get_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_twitch_clips_channel(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_clips_channel_done(
    ngx_http_twitch_ctx_t *ctx, PGresult *res, ngx_int_t rc);
static ngx_http_twitch_clips_req_t *ngx_http_twitch_clips_req(
    ngx_http_twitch_ctx_t *ctx);
static void ngx_http_twitch_clips_claimed(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_clips_remuxed(void *data, ngx_int_t status);


static ngx_uint_t  ngx_http_twitch_clips_running;


/* $1 channel name, $2 VOD (broadcast id) or NULL */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_clips_source_stmt = {
    "clips_source",
    "SELECT c.id, c.name,"
    " (SELECT s.id FROM streams s WHERE s.channel_id = c.id"
    "    AND s.ended_at IS NULL AND s.ingested_at IS NOT NULL),"
    " v.stream_id, v.playlist_path"
    " FROM channels c"
    " LEFT JOIN vods v ON v.stream_id = $2::bigint AND v.channel_id = c.id"
    "  AND v.deleted_at IS NULL"
    " WHERE lower(c.name) = lower($1)",
    2, 0
};

/*
 * $1 slug, $2 channel, $3 broadcast, $4 creator, $5 title (NULL: the
 * channel's), $6 start, $7 duration, $8 HLS URL, $9 thumbnail, $10 dir
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_clips_insert_stmt = {
    "clips_insert",
    "WITH cl AS (INSERT INTO clips (slug, channel_id, stream_id, creator_id,"
    "                               title, start_offset_seconds,"
    "                               duration_seconds, hls_url, thumbnail_url,"
    "                               media_dir)"
    "            SELECT $1, ch.id, $3::bigint, $4::bigint,"
    "                   coalesce($5, left(ch.title, 100)), $6::numeric,"
    "                   $7::numeric, $8, $9, $10"
    "              FROM channels ch WHERE ch.id = $2::bigint"
    "            RETURNING *)"
    " SELECT " NGX_HTTP_TWITCH_CLIP_COLUMNS
    " FROM cl" NGX_HTTP_TWITCH_CLIP_JOIN,
    10, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_clips_get_stmt = {
    "clips_get",
    "WITH cl AS (UPDATE clips SET view_count = view_count + 1"
    "            WHERE slug = $1 RETURNING *)"
    " SELECT " NGX_HTTP_TWITCH_CLIP_COLUMNS
    " FROM cl" NGX_HTTP_TWITCH_CLIP_JOIN,
    1, 0
};

/* $1 channel, $2 limit, $3 offset, $4 "top" or "recent" */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_clips_channel_stmt = {
    "clips_channel",
    "SELECT 0, l.* FROM channels ch LEFT JOIN LATERAL"
    " (SELECT " NGX_HTTP_TWITCH_CLIP_COLUMNS
    "    FROM clips cl" NGX_HTTP_TWITCH_CLIP_JOIN
    "   WHERE cl.channel_id = ch.id"
    "   ORDER BY CASE WHEN $4 = 'top' THEN cl.view_count END DESC NULLS LAST,"
    "            cl.created_at DESC, cl.id DESC"
    "   LIMIT $2::integer OFFSET $3::integer) l ON true"
    " WHERE lower(ch.name) = lower($1)",
    4, 0
};

/*
 * The MP4 queue: clips given up after three attempts fail; up to $1
 * pending clips (never tried, or whose try went quiet for 5 minutes) are
 * claimed.
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_clips_claim_stmt = {
    "clips_claim",
    "WITH failed AS (UPDATE clips SET mp4_status = 'failed'"
    "                 WHERE mp4_status = 'pending' AND mp4_attempts >= 3"
    "                   AND mp4_claimed_at < now() - interval '5 minutes'),"
    " todo AS (SELECT id FROM clips"
    "           WHERE mp4_status = 'pending' AND media_dir IS NOT NULL"
    "             AND mp4_attempts < 3"
    "             AND (mp4_claimed_at IS NULL"
    "                  OR mp4_claimed_at < now() - interval '5 minutes')"
    "           ORDER BY created_at LIMIT $1::integer"
    "           FOR UPDATE SKIP LOCKED)"
    " UPDATE clips cl SET mp4_claimed_at = now(),"
    "                     mp4_attempts = cl.mp4_attempts + 1"
    "   FROM todo WHERE cl.id = todo.id"
    " RETURNING cl.id, cl.media_dir, cl.mp4_attempts",
    1, 0
};

/* $1 clip, $2 URL or NULL (failed), $3 attempts so far */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_clips_mp4_stmt = {
    "clips_mp4",
    "UPDATE clips SET"
    " mp4_url = coalesce($2, mp4_url),"
    " mp4_status = CASE WHEN $2 IS NOT NULL THEN 'ready'"
    "                   WHEN $3::integer >= 3 THEN 'failed'"
    "                   ELSE mp4_status END,"
    " mp4_claimed_at = CASE WHEN $2 IS NULL AND $3::integer < 3"
    "                       THEN now() - interval '4 minutes'"
    "                       ELSE mp4_claimed_at END"
    " WHERE id = $1::bigint AND mp4_status = 'pending'",
    3, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_clips_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "slug", NGX_HTTP_TWITCH_F_STR },
    { "title", NGX_HTTP_TWITCH_F_STR },
    { "channel", NGX_HTTP_TWITCH_F_OBJ },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "user", NGX_HTTP_TWITCH_F_OBJ },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { "creator", NGX_HTTP_TWITCH_F_OBJ_NULL },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { "durationSeconds", NGX_HTTP_TWITCH_F_INT },
    { "viewCount", NGX_HTTP_TWITCH_F_INT },
    { "hlsUrl", NGX_HTTP_TWITCH_F_STR },
    { "mp4Url", NGX_HTTP_TWITCH_F_STR },
    { "mp4Status", NGX_HTTP_TWITCH_F_STR },
    { "thumbnailUrl", NGX_HTTP_TWITCH_F_STR },
    { "createdAt", NGX_HTTP_TWITCH_F_STR },
    { "vodId", NGX_HTTP_TWITCH_F_INT },
    { "offsetSeconds", NGX_HTTP_TWITCH_F_INT },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


ngx_http_twitch_route_t  ngx_http_twitch_clips_routes[] = {

    { NGX_HTTP_POST,
      ngx_string("/api/clips"),
      ngx_http_twitch_clips_create,
      1, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/clips/:slug"),
      ngx_http_twitch_clips_get,
      0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/channels/:name/clips"),
      ngx_http_twitch_clips_channel,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* POST /api/clips */

static ngx_int_t
ngx_http_twitch_clips_create(ngx_http_twitch_ctx_t *ctx)
{
    const char                   *err;
    ngx_http_twitch_clips_req_t  *cr;

    cr = ngx_http_twitch_clips_req(ctx);
    if (cr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_twitch_body_str(ctx, "channel", 1, 3, 25, &cr->channel,
                                 &err)
        != NGX_OK
        || ngx_http_twitch_body_int(ctx, "durationSeconds", 0,
                                    NGX_HTTP_TWITCH_CLIPS_MIN,
                                    NGX_HTTP_TWITCH_CLIPS_MAX,
                                    &cr->duration, &err)
           != NGX_OK
        || ngx_http_twitch_body_str(ctx, "title", 0, 1,
                                    NGX_HTTP_TWITCH_CLIPS_TITLE_MAX,
                                    &cr->title, &err)
           != NGX_OK
        || ngx_http_twitch_body_int(ctx, "vodId", 0, 1, NGX_MAX_INT_T_VALUE,
                                    &cr->vod, &err)
           != NGX_OK
        || ngx_http_twitch_body_int(ctx, "offsetSeconds", 0, 0, 7 * 86400,
                                    &cr->offset, &err)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: bad clip request: %s", err);
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         err);
    }

    if (cr->offset != NULL && cr->vod == NULL) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         "offsetSeconds needs vodId");
    }

    return ngx_http_twitch_session_user(ctx, 1,
                                        ngx_http_twitch_clips_create_user);
}


static ngx_int_t
ngx_http_twitch_clips_create_user(ngx_http_twitch_ctx_t *ctx)
{
    const char                   *params[2];
    ngx_http_twitch_clips_req_t  *cr = ctx->data;

    if (ngx_http_twitch_live_conf() == NULL) {
        return ngx_http_twitch_api_error(ctx->request,
                                         NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "clips are not available");
    }

    params[0] = cr->channel;
    params[1] = cr->vod;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_clips_source_stmt,
                                     params, ngx_http_twitch_clips_source);
}


static ngx_int_t
ngx_http_twitch_clips_source(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    u_char                       *path;
    size_t                        len;
    ngx_http_request_t           *r;
    ngx_http_twitch_slice_t      *job;
    ngx_http_twitch_live_conf_t  *lcf;
    ngx_http_twitch_clips_req_t  *cr = ctx->data;

    r = ctx->request;
    lcf = ngx_http_twitch_live_conf();

    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(r, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");
    }

    if (cr->vod != NULL && PQgetisnull(res, 0, 3)) {
        return ngx_http_twitch_api_error(r, NGX_HTTP_NOT_FOUND,
                                         "VOD not found");
    }

    if (cr->vod == NULL && PQgetisnull(res, 0, 2)) {
        return ngx_http_twitch_api_error(r, NGX_HTTP_CONFLICT,
                                         "Channel is not live");
    }

    len = PQgetlength(res, 0, 1);

    if (lcf == NULL || len > 25
        || lcf->media_root.len + 200 > NGX_MAX_PATH)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    job = ngx_http_twitch_task_alloc(sizeof(ngx_http_twitch_slice_t),
                                     r->connection->log);
    if (job == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    job->ctx = ctx;
    job->duration = cr->duration
                    ? (double) ngx_atoi((u_char *) cr->duration,
                                        ngx_strlen(cr->duration))
                    : NGX_HTTP_TWITCH_CLIPS_DEFAULT;
    job->offset = cr->offset
                  ? (double) ngx_atoi((u_char *) cr->offset,
                                      ngx_strlen(cr->offset))
                  : 0;
    ngx_memcpy(job->name, PQgetvalue(res, 0, 1), len);
    (void) ngx_sprintf(job->root, "%V%Z", &lcf->media_root);

    if (cr->vod == NULL) {
        /* the live edge: the broadcast's VOD, which holds every segment */
        job->live = 1;

        if (PQgetlength(res, 0, 2) > 20) {
            ngx_http_twitch_task_free(job);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        (void) ngx_sprintf(job->source, "%V/%s/vods/%s%Z", &lcf->media_root,
                           job->name, PQgetvalue(res, 0, 2));
        (void) ngx_sprintf(job->thumb, "%V/%s/thumb.jpg%Z",
                           &lcf->media_root, job->name);

        cr->vod = ngx_pnalloc(r->pool, PQgetlength(res, 0, 2) + 1);
        if (cr->vod == NULL) {
            ngx_http_twitch_task_free(job);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(cr->vod, PQgetvalue(res, 0, 2),
                   PQgetlength(res, 0, 2) + 1);

    } else {
        /* "<channel>/vods/<id>/vod.m3u8" */

        path = (u_char *) PQgetvalue(res, 0, 4);
        len = PQgetlength(res, 0, 4);

        if (len < sizeof("/vod.m3u8") || len > 200
            || ngx_strncmp(path + len - 9, "/vod.m3u8", 9) != 0
            || ngx_strstr(path, "..") != NULL || path[0] == '/')
        {
            ngx_http_twitch_task_free(job);
            return ngx_http_twitch_api_error(r, NGX_HTTP_NOT_FOUND,
                                             "VOD not found");
        }

        (void) ngx_sprintf(job->source, "%V/%*s%Z", &lcf->media_root,
                           len - 9, path);
        (void) ngx_sprintf(job->thumb, "%s/vod_thumb.jpg%Z", job->source);
    }

    /* the channel's id, for the insert */

    cr->channel = ngx_pnalloc(r->pool, PQgetlength(res, 0, 0) + 1);
    if (cr->channel == NULL) {
        ngx_http_twitch_task_free(job);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(cr->channel, PQgetvalue(res, 0, 0),
               PQgetlength(res, 0, 0) + 1);

    if (ngx_http_twitch_task_post(lcf->thread_pool, job,
                                  ngx_http_twitch_clips_slice,
                                  ngx_http_twitch_clips_sliced)
        != NGX_OK)
    {
        ngx_http_twitch_task_free(job);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->cancel = &job->cancelled;

    return NGX_DONE;
}


/* in a thread: links the segments and writes the clip's playlists */

static void
ngx_http_twitch_clips_slice(void *data, ngx_log_t *log)
{
    ngx_http_twitch_slice_t *job = data;

    u_char                            *text, path[NGX_MAX_PATH],
                                      dir[NGX_MAX_PATH], *p;
    size_t                             len;
    ngx_int_t                          rc;
    ngx_uint_t                         i, first, last;
    struct stat                        st;
    ngx_http_twitch_media_master_t     master;
    ngx_http_twitch_media_playlist_t   pl;
    u_char                             buf[4096];

    job->rc = NGX_HTTP_TWITCH_SLICE_ERROR;

    (void) ngx_sprintf(path, "%s/vod.m3u8%Z", job->source);

    rc = ngx_http_twitch_media_read((char *) path, 64 * 1024, &text, &len,
                                    log);
    if (rc == NGX_DECLINED) {
        /* the transcoder has not written its first segments yet */
        job->rc = NGX_HTTP_TWITCH_SLICE_SHORT;
        return;
    }

    if (rc != NGX_OK) {
        return;
    }

    rc = ngx_http_twitch_media_parse_master(text, len, &master);
    ngx_free(text);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "twitch clips: \"%s\" is not a master playlist", path);
        return;
    }

    /* the segments are chosen on the best rung, the same in every rung */

    (void) ngx_sprintf(path, "%s/%s/vod.m3u8%Z", job->source,
                       master.variants[0].rung);

    if (ngx_http_twitch_media_read((char *) path,
                                   NGX_HTTP_TWITCH_MEDIA_MAX_PLAYLIST,
                                   &text, &len, log)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "twitch clips: cannot read \"%s\"", path);
        return;
    }

    rc = ngx_http_twitch_media_parse(text, len, &pl, log);
    ngx_free(text);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "twitch clips: \"%s\" is not a media playlist", path);
        ngx_http_twitch_media_free(&pl);
        return;
    }

    /*
     * Live, the encoded rungs trail the copied source by a moment: only
     * segments that every rung already has.
     */

    if (job->live) {
        ngx_http_twitch_clips_common(job, &master, &pl, log);
    }

    job->rc = ngx_http_twitch_clips_select(job, &pl, &first, &last);

    if (job->rc != NGX_HTTP_TWITCH_SLICE_OK) {
        ngx_http_twitch_media_free(&pl);
        return;
    }

    job->rc = NGX_HTTP_TWITCH_SLICE_ERROR;

    if (ngx_http_twitch_clips_slug(job->slug, log) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "twitch clips: no random slug");
        ngx_http_twitch_media_free(&pl);
        return;
    }

    (void) ngx_sprintf(dir, "%s/%s/clips/%s%Z", job->root, job->name,
                       job->slug);

    if (ngx_http_twitch_media_mkdir((char *) dir, log) != NGX_OK) {
        ngx_http_twitch_media_free(&pl);
        return;
    }

    /* a rung that lacks a segment is left out; the best one must be there */

    for (i = 0; i < master.nvariants; i++) {
        master.variants[i].missing = 0;

        if (ngx_http_twitch_clips_write_rung(job, dir,
                                             (char *) master.variants[i].rung,
                                             &pl, first, last, i == 0, log)
            != NGX_OK)
        {
            if (i == 0) {
                ngx_http_twitch_media_free(&pl);
                return;
            }

            master.variants[i].missing = 1;
        }
    }

    ngx_http_twitch_media_free(&pl);

    /* the master: the VOD's variants, pointing at the clip's playlists */

    p = ngx_cpymem(buf, "#EXTM3U\n#EXT-X-VERSION:3\n",
                   sizeof("#EXTM3U\n#EXT-X-VERSION:3\n") - 1);

    for (i = 0; i < master.nvariants; i++) {
        if (!master.variants[i].missing) {
            p = ngx_sprintf(p, "%s\n%s/clip.m3u8\n", master.variants[i].inf,
                            master.variants[i].rung);
        }
    }

    (void) ngx_sprintf(path, "%s/clip.m3u8%Z", dir);

    if (ngx_http_twitch_media_write((char *) path, buf, p - buf, log)
        != NGX_OK)
    {
        return;
    }

    if (stat((char *) job->thumb, &st) == 0) {
        (void) ngx_sprintf(path, "%s/thumb.jpg%Z", dir);

        job->has_thumb = (ngx_http_twitch_media_copy((char *) job->thumb,
                                                     (char *) path, log)
                          == NGX_OK);
    }

    job->rc = NGX_HTTP_TWITCH_SLICE_OK;
}


/* drops from pl the segments that some other rung does not list yet */

static void
ngx_http_twitch_clips_common(ngx_http_twitch_slice_t *job,
    ngx_http_twitch_media_master_t *master,
    ngx_http_twitch_media_playlist_t *pl, ngx_log_t *log)
{
    u_char                            *text, path[NGX_MAX_PATH];
    size_t                             len;
    int64_t                            last;
    ngx_uint_t                         i;
    ngx_http_twitch_media_playlist_t   other;

    for (i = 1; i < master->nvariants; i++) {

        (void) ngx_sprintf(path, "%s/%s/vod.m3u8%Z", job->source,
                           master->variants[i].rung);

        if (ngx_http_twitch_media_read((char *) path,
                                       NGX_HTTP_TWITCH_MEDIA_MAX_PLAYLIST,
                                       &text, &len, log)
            != NGX_OK)
        {
            continue;
        }

        if (ngx_http_twitch_media_parse(text, len, &other, log) == NGX_OK
            && other.nsegs > 0)
        {
            last = other.segs[other.nsegs - 1].msn;

            while (pl->nsegs > 0 && pl->segs[pl->nsegs - 1].msn > last) {
                pl->nsegs--;
            }
        }

        ngx_http_twitch_media_free(&other);
        ngx_free(text);
    }
}


static ngx_http_twitch_slice_rc_e
ngx_http_twitch_clips_select(ngx_http_twitch_slice_t *job,
    ngx_http_twitch_media_playlist_t *pl, ngx_uint_t *first,
    ngx_uint_t *last)
{
    double      t, sum;
    ngx_uint_t  i;

    if (pl->nsegs == 0) {
        return NGX_HTTP_TWITCH_SLICE_SHORT;
    }

    if (job->live) {
        /* back from the live edge until the duration is covered */

        *last = pl->nsegs - 1;
        sum = 0;

        for (i = pl->nsegs; i > 0; i--) {
            if ((sum >= job->duration - 0.25
                 && sum >= NGX_HTTP_TWITCH_CLIPS_MIN)
                || sum + pl->segs[i - 1].duration
                   > NGX_HTTP_TWITCH_CLIPS_MAX)
            {
                break;
            }

            sum += pl->segs[i - 1].duration;
        }

        if (sum < NGX_HTTP_TWITCH_CLIPS_MIN) {
            return NGX_HTTP_TWITCH_SLICE_SHORT;
        }

        *first = i;

        job->start = 0;

        for (i = 0; i < *first; i++) {
            job->start += pl->segs[i].duration;
        }

        job->length = sum;

        return NGX_HTTP_TWITCH_SLICE_OK;
    }

    /* a VOD: from the segment that holds the offset */

    t = 0;

    for (i = 0; i < pl->nsegs; i++) {
        if (t + pl->segs[i].duration > job->offset) {
            break;
        }

        t += pl->segs[i].duration;
    }

    if (i == pl->nsegs) {
        return NGX_HTTP_TWITCH_SLICE_BEYOND;
    }

    *first = i;
    job->start = t;
    sum = 0;

    for ( /* void */ ; i < pl->nsegs; i++) {
        if ((sum >= job->duration - 0.25 && sum >= NGX_HTTP_TWITCH_CLIPS_MIN)
            || sum + pl->segs[i].duration > NGX_HTTP_TWITCH_CLIPS_MAX)
        {
            break;
        }

        sum += pl->segs[i].duration;
    }

    if (sum < NGX_HTTP_TWITCH_CLIPS_MIN) {
        /* the VOD's tail is too short: take more before the offset */

        while (*first > 0 && sum < NGX_HTTP_TWITCH_CLIPS_MIN) {
            (*first)--;
            sum += pl->segs[*first].duration;
            job->start -= pl->segs[*first].duration;
        }

        if (sum < NGX_HTTP_TWITCH_CLIPS_MIN) {
            return NGX_HTTP_TWITCH_SLICE_SHORT;
        }
    }

    *last = i - 1;
    job->length = sum;

    if (job->start < 0) {
        job->start = 0;
    }

    return NGX_HTTP_TWITCH_SLICE_OK;
}


/*
 * <clip>/<rung>/seg_<n>.ts (links) and <clip>/<rung>/clip.m3u8; for the
 * best rung also <clip>/mp4.m3u8, the MP4 remuxer's input.
 */

static ngx_int_t
ngx_http_twitch_clips_write_rung(ngx_http_twitch_slice_t *job, u_char *dir,
    const char *rung, ngx_http_twitch_media_playlist_t *pl, ngx_uint_t first,
    ngx_uint_t last, ngx_uint_t mp4, ngx_log_t *log)
{
    u_char                       *text, *p, *q, *end;
    size_t                        size;
    ngx_int_t                     rc;
    ngx_uint_t                    i, target;
    u_char                        from[NGX_MAX_PATH], to[NGX_MAX_PATH];
    ngx_http_twitch_media_seg_t  *s;

    (void) ngx_sprintf(to, "%s/%s%Z", dir, rung);

    if (ngx_http_twitch_media_mkdir((char *) to, log) != NGX_OK) {
        return NGX_ERROR;
    }

    target = 1;

    for (i = first; i <= last; i++) {
        s = &pl->segs[i];

        (void) ngx_sprintf(from, "%s/%s/seg_%L.ts%Z", job->source, rung,
                           s->msn);
        (void) ngx_sprintf(to, "%s/%s/seg_%L.ts%Z", dir, rung, s->msn);

        if (ngx_http_twitch_media_link((char *) from, (char *) to, log)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if ((ngx_uint_t) (s->duration + 0.5) > target) {
            target = (ngx_uint_t) (s->duration + 0.5);
        }
    }

    size = 256 + (last - first + 1) * 96;

    text = ngx_alloc(2 * size, log);
    if (text == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(text, "#EXTM3U\n#EXT-X-VERSION:3\n"
                    "#EXT-X-TARGETDURATION:%ui\n"
                    "#EXT-X-PLAYLIST-TYPE:VOD\n"
                    "#EXT-X-MEDIA-SEQUENCE:%L\n",
                    target, pl->segs[first].msn);

    /* the MP4's playlist names the segments from the clip's directory */

    q = text + size;
    end = q;
    end = ngx_cpymem(end, text, p - text);

    for (i = first; i <= last; i++) {
        s = &pl->segs[i];

        if (s->disc && i != first) {
            p = ngx_cpymem(p, "#EXT-X-DISCONTINUITY\n",
                           sizeof("#EXT-X-DISCONTINUITY\n") - 1);
            end = ngx_cpymem(end, "#EXT-X-DISCONTINUITY\n",
                             sizeof("#EXT-X-DISCONTINUITY\n") - 1);
        }

        p = ngx_sprintf(p, "#EXTINF:%.3f,\nseg_%L.ts\n", s->duration,
                        s->msn);
        end = ngx_sprintf(end, "#EXTINF:%.3f,\n%s/seg_%L.ts\n", s->duration,
                          rung, s->msn);
    }

    p = ngx_cpymem(p, "#EXT-X-ENDLIST\n", sizeof("#EXT-X-ENDLIST\n") - 1);
    end = ngx_cpymem(end, "#EXT-X-ENDLIST\n",
                     sizeof("#EXT-X-ENDLIST\n") - 1);

    (void) ngx_sprintf(to, "%s/%s/clip.m3u8%Z", dir, rung);

    rc = ngx_http_twitch_media_write((char *) to, text, p - text, log);

    if (rc == NGX_OK && mp4) {
        (void) ngx_sprintf(to, "%s/mp4.m3u8%Z", dir);
        rc = ngx_http_twitch_media_write((char *) to, q, end - q, log);
    }

    ngx_free(text);

    return rc;
}


/* 12 random URL-safe characters (72 bits) */

static ngx_int_t
ngx_http_twitch_clips_slug(u_char *slug, ngx_log_t *log)
{
    int        fd;
    u_char     raw[9], out[16];
    ssize_t    n;
    ngx_str_t  src, dst;

    fd = open("/dev/urandom", O_RDONLY|O_CLOEXEC);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "twitch clips: cannot open /dev/urandom");
        return NGX_ERROR;
    }

    n = read(fd, raw, sizeof(raw));
    (void) close(fd);

    if (n != (ssize_t) sizeof(raw)) {
        return NGX_ERROR;
    }

    src.data = raw;
    src.len = sizeof(raw);
    dst.data = out;

    ngx_encode_base64url(&dst, &src);

    if (dst.len != NGX_HTTP_TWITCH_CLIPS_SLUG) {
        return NGX_ERROR;
    }

    ngx_memcpy(slug, out, NGX_HTTP_TWITCH_CLIPS_SLUG);
    slug[NGX_HTTP_TWITCH_CLIPS_SLUG] = '\0';

    return NGX_OK;
}


static void
ngx_http_twitch_clips_sliced(void *data)
{
    ngx_http_twitch_slice_t *job = data;

    u_char                       *p;
    ngx_int_t                     rc;
    const char                   *params[10];
    ngx_http_request_t           *r;
    ngx_http_twitch_ctx_t        *ctx;
    ngx_http_twitch_live_conf_t  *lcf;
    ngx_http_twitch_clips_req_t  *cr;

    if (job->cancelled) {
        return;
    }

    ctx = job->ctx;
    ctx->cancel = NULL;
    r = ctx->request;
    cr = ctx->data;
    lcf = ngx_http_twitch_live_conf();

    switch (job->rc) {

    case NGX_HTTP_TWITCH_SLICE_OK:
        break;

    case NGX_HTTP_TWITCH_SLICE_SHORT:
        ngx_http_twitch_api_continue(ctx,
            ngx_http_twitch_api_error(r, NGX_HTTP_CONFLICT,
                                      "Not enough video to clip yet"));
        return;

    case NGX_HTTP_TWITCH_SLICE_BEYOND:
        ngx_http_twitch_api_continue(ctx,
            ngx_http_twitch_api_error(r, NGX_HTTP_BAD_REQUEST,
                                      "offsetSeconds is past the end "
                                      "of the VOD"));
        return;

    default:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "twitch clips: cannot slice \"%s\"", job->source);
        ngx_http_twitch_api_continue(ctx,
            ngx_http_twitch_api_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "internal error"));
        return;
    }

    if (lcf == NULL) {
        ngx_http_twitch_api_continue(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN + 2 * 64
                             + 2 * (lcf->media_url.len + 128) + 128);
    if (p == NULL) {
        ngx_http_twitch_api_continue(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    params[0] = (const char *) job->slug;
    params[1] = cr->channel;
    params[2] = cr->vod;
    params[3] = (const char *) ctx->user->id.data;
    params[4] = cr->title;

    params[5] = (const char *) p;
    p = ngx_sprintf(p, "%.3f%Z", job->start);
    params[6] = (const char *) p;
    p = ngx_sprintf(p, "%.3f%Z", job->length);

    params[7] = (const char *) p;
    p = ngx_sprintf(p, "%V%s/clips/%s/clip.m3u8%Z", &lcf->media_url,
                    job->name, job->slug);

    params[8] = NULL;

    if (job->has_thumb) {
        params[8] = (const char *) p;
        p = ngx_sprintf(p, "%V%s/clips/%s/thumb.jpg%Z", &lcf->media_url,
                        job->name, job->slug);
    }

    params[9] = (const char *) p;
    p = ngx_sprintf(p, "%s/clips/%s%Z", job->name, job->slug);

    rc = ngx_http_twitch_api_query(ctx, &ngx_http_twitch_clips_insert_stmt,
                                   params, ngx_http_twitch_clips_inserted);

    ngx_http_twitch_api_continue(ctx, rc);
}


static ngx_int_t
ngx_http_twitch_clips_inserted(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK || PQntuples(res) != 1) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "twitch clips: %V clipped \"%s\" of \"%s\"",
                  &ctx->user->username, PQgetvalue(res, 0, 1),
                  PQgetvalue(res, 0, 4));

    ngx_http_twitch_live_kick_clips();

    return ngx_http_twitch_send_row_status(ctx, NGX_HTTP_CREATED, "clip",
                                           res,
                                           ngx_http_twitch_clips_fields);
}


/* GET /api/clips/:slug */

static ngx_int_t
ngx_http_twitch_clips_get(ngx_http_twitch_ctx_t *ctx)
{
    size_t       i;
    char        *slug;
    const char  *params[1];

    slug = ngx_http_twitch_param_str(ctx, 0, 32);

    for (i = 0; slug != NULL && slug[i]; i++) {
        if (!((slug[i] >= 'a' && slug[i] <= 'z')
              || (slug[i] >= 'A' && slug[i] <= 'Z')
              || (slug[i] >= '0' && slug[i] <= '9')
              || slug[i] == '_' || slug[i] == '-'))
        {
            break;
        }
    }

    if (slug == NULL || slug[i] != '\0' || i < 8) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "Clip not found");
    }

    params[0] = slug;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_clips_get_stmt,
                                     params, ngx_http_twitch_clips_get_done);
}


static ngx_int_t
ngx_http_twitch_clips_get_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "Clip not found");
    }

    return ngx_http_twitch_send_row(ctx, "clip", res,
                                    ngx_http_twitch_clips_fields);
}


/* GET /api/channels/:name/clips?limit&offset&sort=recent|top */

static ngx_int_t
ngx_http_twitch_clips_channel(ngx_http_twitch_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_str_t                     sort;
    const char                   *params[4];
    ngx_http_twitch_clips_req_t  *cr;

    cr = ngx_http_twitch_clips_req(ctx);
    if (cr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cr->channel = ngx_http_twitch_listing_name(ctx, 0);

    if (cr->channel == NULL) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");
    }

    rc = ngx_http_twitch_paging(ctx, 20, &cr->limit, &cr->offset);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cr->sort = "recent";

    if (ngx_http_arg(ctx->request, (u_char *) "sort", 4, &sort) == NGX_OK) {
        if (sort.len == 3 && ngx_strncmp(sort.data, "top", 3) == 0) {
            cr->sort = "top";

        } else if (sort.len != 6
                   || ngx_strncmp(sort.data, "recent", 6) != 0)
        {
            return ngx_http_twitch_api_error(ctx->request,
                                             NGX_HTTP_BAD_REQUEST,
                                             "sort must be recent or top");
        }
    }

    params[0] = cr->channel;
    params[1] = cr->limit;
    params[2] = cr->offset;
    params[3] = cr->sort;

    return ngx_http_twitch_api_query(ctx,
                                     &ngx_http_twitch_clips_channel_stmt,
                                     params,
                                     ngx_http_twitch_clips_channel_done);
}


static ngx_int_t
ngx_http_twitch_clips_channel_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) == 0) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "Channel not found");
    }

    return ngx_http_twitch_listing_send(ctx, "clips", res, 1,
                                        ngx_http_twitch_clips_fields);
}


static ngx_http_twitch_clips_req_t *
ngx_http_twitch_clips_req(ngx_http_twitch_ctx_t *ctx)
{
    ngx_http_twitch_clips_req_t  *cr;

    cr = ngx_pcalloc(ctx->request->pool,
                     sizeof(ngx_http_twitch_clips_req_t));
    if (cr == NULL) {
        return NULL;
    }

    ctx->data = cr;

    return cr;
}


/*
 * The MP4 queue of this worker: claims pending clips (as many as may run
 * here) and remuxes each with "ffmpeg -c copy" in a child process.
 */

void
ngx_http_twitch_clips_queue(ngx_http_twitch_live_conf_t *lcf)
{
    u_char       n[NGX_INT_T_LEN + 1];
    const char  *params[1];

    if (lcf->exiting
        || ngx_http_twitch_clips_running >= NGX_HTTP_TWITCH_CLIPS_RUNNING)
    {
        return;
    }

    (void) ngx_sprintf(n, "%ui%Z",
                       NGX_HTTP_TWITCH_CLIPS_RUNNING
                       - ngx_http_twitch_clips_running);
    params[0] = (const char *) n;

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_clips_claim_stmt,
                                    params, ngx_http_twitch_clips_claimed,
                                    lcf, lcf->log);
}


static void
ngx_http_twitch_clips_claimed(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_live_conf_t *lcf = data;

    int                       i, n;
    size_t                    len;
    u_char                   *dir;
    char                     *argv[20];
    ngx_http_twitch_remux_t  *rx;
    u_char                    in[NGX_MAX_PATH], out[NGX_MAX_PATH];

    if (rc != NGX_OK || lcf->exiting) {
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {

        dir = (u_char *) PQgetvalue(res, i, 1);
        len = PQgetlength(res, i, 1);

        if ((size_t) PQgetlength(res, i, 0) > NGX_INT64_LEN
            || (size_t) PQgetlength(res, i, 2) > NGX_INT64_LEN
            || len > 200 || ngx_strstr(dir, "..") != NULL)
        {
            continue;
        }

        rx = ngx_calloc(sizeof(ngx_http_twitch_remux_t), lcf->log);
        if (rx == NULL) {
            return;
        }

        rx->lcf = lcf;
        ngx_memcpy(rx->id, PQgetvalue(res, i, 0), PQgetlength(res, i, 0));
        ngx_memcpy(rx->attempts, PQgetvalue(res, i, 2),
                   PQgetlength(res, i, 2));
        (void) ngx_sprintf(rx->url, "%V%s/clip.mp4%Z", &lcf->media_url,
                           dir);

        (void) ngx_sprintf(in, "%V/%s/mp4.m3u8%Z", &lcf->media_root, dir);
        (void) ngx_sprintf(out, "%V/%s/clip.mp4%Z", &lcf->media_root, dir);

        argv[0] = "ffmpeg";
        argv[1] = "-nostdin";
        argv[2] = "-hide_banner";
        argv[3] = "-loglevel";
        argv[4] = "error";
        argv[5] = "-y";
        argv[6] = "-i";
        argv[7] = (char *) in;
        argv[8] = "-map";
        argv[9] = "0";
        argv[10] = "-c";
        argv[11] = "copy";
        argv[12] = "-movflags";
        argv[13] = "+faststart";
        argv[14] = "-f";
        argv[15] = "mp4";
        argv[16] = (char *) out;
        argv[17] = NULL;

        /* the arguments are copied by fork() */

        rx->child = ngx_http_twitch_child_spawn((char *) lcf->ffmpeg.data,
                                                argv, NULL,
                                                ngx_http_twitch_clips_remuxed,
                                                rx, lcf->log);
        if (rx->child == NULL) {
            ngx_free(rx);
            continue;
        }

        ngx_http_twitch_clips_running++;
    }
}


static void
ngx_http_twitch_clips_remuxed(void *data, ngx_int_t status)
{
    ngx_http_twitch_remux_t *rx = data;

    const char                   *params[3];
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = rx->lcf;
    ngx_http_twitch_clips_running--;

    if (lcf->exiting) {
        ngx_free(rx);
        return;
    }

    if (status == 0) {
        ngx_log_error(NGX_LOG_INFO, lcf->log, 0,
                      "twitch clips: clip %s: MP4 ready", rx->id);
        params[1] = (const char *) rx->url;

    } else {
        ngx_log_error(NGX_LOG_WARN, lcf->log, 0,
                      "twitch clips: clip %s: the MP4 remux failed "
                      "(status %i, attempt %s)", rx->id, status,
                      rx->attempts);
        params[1] = NULL;
    }

    params[0] = rx->id;
    params[2] = rx->attempts;

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_clips_mp4_stmt,
                                    params, NULL, NULL, lcf->log);

    ngx_free(rx);

    /* the next one */
    ngx_http_twitch_live_kick_clips();
}
