
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * VODs: every broadcast that had media keeps its segments as a VOD (the
 * transcoder links them into <media>/<channel>/vods/<broadcast>/ with an
 * EVENT playlist that becomes VOD + ENDLIST at the end).
 *
 *   - the finalizer writes the vods row once the broadcast has ended:
 *     duration (sum of EXTINF), size, thumbnail, expiry; a playlist left
 *     without ENDLIST by a killed transcoder is ended then (20 s later);
 *     a broadcast whose transcoder never made a playlist gets a row that
 *     is already "deleted" (no recording);
 *   - the retention sweeper deletes expired VODs' files (thread pool) and
 *     sets deleted_at; the row stays so that links answer vodUrl null;
 *     it also removes the live directories (<channel>/b<id>) of
 *     broadcasts that ended five minutes ago;
 *   - GET /api/vods/:id (the id of the broadcast, as in
 *     GET /api/streams/:channelId/vods).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_twitch_live.h"
#include "ngx_http_twitch_api.h"
#include "ngx_http_twitch_util.h"
#include "ngx_http_twitch_task.h"
#include "ngx_http_twitch_media.h"


/* an unended playlist is ended this long after the broadcast */
#define NGX_HTTP_TWITCH_VODS_REPAIR_AFTER   20
/* no playlist this long after the broadcast: no recording */
#define NGX_HTTP_TWITCH_VODS_NONE_AFTER     60


typedef enum {
    NGX_HTTP_TWITCH_VOD_WAIT = 0,
    NGX_HTTP_TWITCH_VOD_READY,
    NGX_HTTP_TWITCH_VOD_NONE
} ngx_http_twitch_vod_state_e;


typedef struct {
    ngx_http_twitch_live_conf_t    *lcf;
    ngx_http_twitch_vod_state_e     state;
    ngx_int_t                       age;          /* s since the end */
    double                          duration;
    off_t                           size;
    ngx_uint_t                      thumb;
    ngx_uint_t                      repaired;
    char                            stream_id[NGX_INT64_LEN + 1];
    char                            channel_id[NGX_INT64_LEN + 1];
    u_char                          name[32];
    u_char                          dir[NGX_MAX_PATH];
} ngx_http_twitch_vod_job_t;


typedef struct {
    ngx_http_twitch_live_conf_t    *lcf;
    ngx_int_t                       rc;
    char                            vod_id[NGX_INT64_LEN + 1];
    u_char                          dir[NGX_MAX_PATH];
} ngx_http_twitch_vod_expire_t;


static ngx_int_t ngx_http_twitch_vods_get(ngx_http_twitch_ctx_t *ctx);
static ngx_int_t ngx_http_twitch_vods_get_done(ngx_http_twitch_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static void ngx_http_twitch_vods_candidates(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_vods_claimed(void *data, redisReply *reply);
static void ngx_http_twitch_vods_inspect(void *data, ngx_log_t *log);
static ngx_int_t ngx_http_twitch_vods_end_playlist(u_char *path,
    u_char *text, size_t len, ngx_log_t *log);
static void ngx_http_twitch_vods_remove_live(void *data, ngx_log_t *log);
static void ngx_http_twitch_vods_live_removed(void *data);
static void ngx_http_twitch_vods_old_live(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_vods_inspected(void *data);
static void ngx_http_twitch_vods_expired(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_http_twitch_vods_remove(void *data, ngx_log_t *log);
static void ngx_http_twitch_vods_removed(void *data);
static ngx_uint_t ngx_http_twitch_vods_valid_path(u_char *p, size_t len,
    size_t *dirlen);


static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_vods_get_stmt = {
    "vods_get",
    "SELECT s.id, s.title, iso(s.started_at), iso(s.ended_at),"
    " (CASE WHEN v.duration_seconds > 0 THEN round(v.duration_seconds)"
    "       ELSE floor(extract(epoch FROM s.ended_at - s.started_at))"
    "  END)::bigint,"
    " s.peak_viewers, s.total_views,"
    " coalesce(v.thumbnail_url, s.thumbnail_url),"
    " CASE WHEN v.deleted_at IS NULL THEN v.playlist_url END,"
    " CASE WHEN v.deleted_at IS NULL THEN iso(v.expires_at) END,"
    " cat.id, cat.name, cat.slug,"
    " c.id, c.name, u.username, u.display_name, u.avatar_url"
    " FROM streams s"
    " JOIN channels c ON c.id = s.channel_id"
    " JOIN users u ON u.id = c.user_id"
    " LEFT JOIN vods v ON v.stream_id = s.id"
    " LEFT JOIN categories cat ON cat.id = s.category_id"
    " WHERE s.id = $1::bigint AND s.ended_at IS NOT NULL",
    1, 0
};

/* ended broadcasts with media and no vods row yet */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_vods_pending_stmt = {
    "vods_pending",
    "SELECT s.id, s.channel_id, c.name,"
    " floor(extract(epoch FROM now() - s.ended_at))::bigint"
    " FROM streams s JOIN channels c ON c.id = s.channel_id"
    " WHERE s.ingested_at IS NOT NULL AND s.ended_at IS NOT NULL"
    "   AND s.ended_at > now() - interval '1 day'"
    "   AND NOT EXISTS (SELECT 1 FROM vods v WHERE v.stream_id = s.id)"
    " ORDER BY s.ended_at LIMIT 8",
    0, 0
};

/*
 * $1 broadcast, $2 channel, $3 playlist path, $4 URL, $5 duration,
 * $6 size, $7 thumbnail URL, $8 retention in seconds (0: forever),
 * $9 no recording
 */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_vods_insert_stmt = {
    "vods_insert",
    "WITH v AS (INSERT INTO vods (stream_id, channel_id, playlist_path,"
    "                            playlist_url, duration_seconds, size_bytes,"
    "                            thumbnail_url, expires_at, deleted_at)"
    "           VALUES ($1::bigint, $2::bigint, $3, $4, $5::numeric,"
    "                   $6::bigint, $7,"
    "                   CASE WHEN $8::bigint > 0"
    "                        THEN now() + $8::bigint * interval '1 second'"
    "                   END,"
    "                   CASE WHEN $9::boolean THEN now() END)"
    "           ON CONFLICT (stream_id) DO NOTHING RETURNING id)"
    " UPDATE streams s SET thumbnail_url = $7"
    "  WHERE s.id = $1::bigint AND $7 IS NOT NULL"
    "    AND s.thumbnail_url IS NULL AND EXISTS (SELECT 1 FROM v)",
    9, 0
};

/* broadcasts ended 5 minutes to a day ago: their live directories go */

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_vods_old_live_stmt = {
    "vods_old_live",
    "SELECT s.id, c.name FROM streams s JOIN channels c ON c.id = s.channel_id"
    " WHERE s.ingested_at IS NOT NULL"
    "   AND s.ended_at BETWEEN now() - interval '1 day'"
    "                      AND now() - interval '5 minutes'",
    0, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_vods_expired_stmt = {
    "vods_expired",
    "SELECT v.id, v.playlist_path FROM vods v"
    " WHERE v.deleted_at IS NULL AND v.expires_at <= now()"
    " ORDER BY v.expires_at LIMIT 16",
    0, 0
};

static ngx_http_twitch_pg_stmt_t  ngx_http_twitch_vods_deleted_stmt = {
    "vods_deleted",
    "UPDATE vods SET deleted_at = now()"
    " WHERE id = $1::bigint AND deleted_at IS NULL",
    1, 0
};


static ngx_http_twitch_field_t  ngx_http_twitch_vods_fields[] = {
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "title", NGX_HTTP_TWITCH_F_STR },
    { "startedAt", NGX_HTTP_TWITCH_F_STR },
    { "endedAt", NGX_HTTP_TWITCH_F_STR },
    { "duration", NGX_HTTP_TWITCH_F_INT },
    { "peakViewers", NGX_HTTP_TWITCH_F_INT },
    { "totalViews", NGX_HTTP_TWITCH_F_INT },
    { "thumbnailUrl", NGX_HTTP_TWITCH_F_STR },
    { "vodUrl", NGX_HTTP_TWITCH_F_STR },
    { "expiresAt", NGX_HTTP_TWITCH_F_STR },
    { "category", NGX_HTTP_TWITCH_F_OBJ_NULL },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "slug", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { "channel", NGX_HTTP_TWITCH_F_OBJ },
    { "id", NGX_HTTP_TWITCH_F_INT },
    { "name", NGX_HTTP_TWITCH_F_STR },
    { "user", NGX_HTTP_TWITCH_F_OBJ },
    { "username", NGX_HTTP_TWITCH_F_STR },
    { "displayName", NGX_HTTP_TWITCH_F_STR },
    { "avatarUrl", NGX_HTTP_TWITCH_F_STR },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_CLOSE },
    { NULL, NGX_HTTP_TWITCH_F_END }
};


ngx_http_twitch_route_t  ngx_http_twitch_vods_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_string("/api/vods/:id"),
      ngx_http_twitch_vods_get,
      0, 0 },

    { 0, ngx_null_string, NULL, 0, 0 }
};


/* GET /api/vods/:id */

static ngx_int_t
ngx_http_twitch_vods_get(ngx_http_twitch_ctx_t *ctx)
{
    char        *id;
    const char  *params[1];

    id = ngx_http_twitch_param_id(ctx, 0);

    if (id == NULL) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "twitch api: bad VOD id \"%V\"", &ctx->params[0]);
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                         "id must be a positive integer");
    }

    params[0] = id;

    return ngx_http_twitch_api_query(ctx, &ngx_http_twitch_vods_get_stmt,
                                     params, ngx_http_twitch_vods_get_done);
}


static ngx_int_t
ngx_http_twitch_vods_get_done(ngx_http_twitch_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_twitch_db_error(ctx, res, rc);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_twitch_api_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                         "VOD not found");
    }

    return ngx_http_twitch_send_row(ctx, "vod", res,
                                    ngx_http_twitch_vods_fields);
}


/* the finalizer: a tick of the worker's timer, or a kick */

void
ngx_http_twitch_vods_finalize(ngx_http_twitch_live_conf_t *lcf)
{
    if (lcf->exiting) {
        return;
    }

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_vods_pending_stmt,
                                    NULL, ngx_http_twitch_vods_candidates,
                                    lcf, lcf->log);
}


static void
ngx_http_twitch_vods_candidates(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_live_conf_t *lcf = data;

    int                         i, j, n;
    size_t                      len;
    u_char                      key[64];
    const char                 *argv[6];
    ngx_http_twitch_vod_job_t  *job;
    size_t                      lens[6];

    if (rc != NGX_OK || lcf->exiting) {
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {

        len = PQgetlength(res, i, 2);

        if ((size_t) PQgetlength(res, i, 0) > NGX_INT64_LEN
            || (size_t) PQgetlength(res, i, 1) > NGX_INT64_LEN
            || len < 3 || len > 25
            || lcf->media_root.len + len + 2 * NGX_INT64_LEN + 32
               > NGX_MAX_PATH)
        {
            continue;
        }

        job = ngx_http_twitch_task_alloc(sizeof(ngx_http_twitch_vod_job_t),
                                         lcf->log);
        if (job == NULL) {
            return;
        }

        job->lcf = lcf;
        job->age = ngx_atoi((u_char *) PQgetvalue(res, i, 3),
                            PQgetlength(res, i, 3));
        ngx_memcpy(job->stream_id, PQgetvalue(res, i, 0),
                   PQgetlength(res, i, 0));
        ngx_memcpy(job->channel_id, PQgetvalue(res, i, 1),
                   PQgetlength(res, i, 1));
        ngx_memcpy(job->name, PQgetvalue(res, i, 2), len);

        (void) ngx_sprintf(job->dir, "%V/%s/vods/%s%Z", &lcf->media_root,
                           job->name, job->stream_id);

        /* one finalizer per broadcast, whatever the worker or instance */

        (void) ngx_sprintf(key, "live:vod:%s%Z", job->stream_id);

        argv[0] = "SET";
        argv[1] = (const char *) key;
        argv[2] = (const char *) lcf->master.data;
        argv[3] = "NX";
        argv[4] = "PX";
        argv[5] = "30000";

        for (j = 0; j < 6; j++) {
            lens[j] = ngx_strlen(argv[j]);
        }

        if (ngx_http_twitch_redis_command(lcf->tmcf->redis,
                                          ngx_http_twitch_vods_claimed, job,
                                          6, argv, lens)
            == NULL)
        {
            ngx_http_twitch_task_free(job);
            return;
        }
    }
}


static void
ngx_http_twitch_vods_claimed(void *data, redisReply *reply)
{
    ngx_http_twitch_vod_job_t *job = data;

    ngx_http_twitch_live_conf_t  *lcf;

    lcf = job->lcf;

    if (reply == NULL || reply->type != REDIS_REPLY_STATUS || lcf->exiting) {
        /* claimed elsewhere, or Redis is down: the next tick */
        ngx_http_twitch_task_free(job);
        return;
    }

    if (ngx_http_twitch_task_post(lcf->thread_pool, job,
                                  ngx_http_twitch_vods_inspect,
                                  ngx_http_twitch_vods_inspected)
        != NGX_OK)
    {
        ngx_http_twitch_task_free(job);
    }
}


/* in a thread: the VOD's playlists */

static void
ngx_http_twitch_vods_inspect(void *data, ngx_log_t *log)
{
    ngx_http_twitch_vod_job_t *job = data;

    u_char                            *text, path[NGX_MAX_PATH];
    size_t                             len;
    double                             duration;
    ngx_int_t                          rc;
    ngx_uint_t                         i, j;
    struct stat                        st;
    ngx_http_twitch_media_master_t     master;
    ngx_http_twitch_media_playlist_t   pl;

    job->state = NGX_HTTP_TWITCH_VOD_WAIT;

    (void) ngx_sprintf(path, "%s/vod.m3u8%Z", job->dir);

    rc = ngx_http_twitch_media_read((char *) path,
                                    NGX_HTTP_TWITCH_MEDIA_MAX_PLAYLIST,
                                    &text, &len, log);

    if (rc == NGX_DECLINED) {
        if (job->age >= NGX_HTTP_TWITCH_VODS_NONE_AFTER) {
            job->state = NGX_HTTP_TWITCH_VOD_NONE;
        }

        return;
    }

    if (rc != NGX_OK) {
        return;
    }

    rc = ngx_http_twitch_media_parse_master(text, len, &master);
    ngx_free(text);

    if (rc != NGX_OK) {
        job->state = NGX_HTTP_TWITCH_VOD_NONE;
        return;
    }

    job->duration = 0;

    for (i = 0; i < master.nvariants; i++) {

        (void) ngx_sprintf(path, "%s/%s/vod.m3u8%Z", job->dir,
                           master.variants[i].rung);

        rc = ngx_http_twitch_media_read((char *) path,
                                        NGX_HTTP_TWITCH_MEDIA_MAX_PLAYLIST,
                                        &text, &len, log);
        if (rc != NGX_OK) {
            continue;
        }

        rc = ngx_http_twitch_media_parse(text, len, &pl, log);

        if (rc != NGX_OK) {
            ngx_http_twitch_media_free(&pl);
            ngx_free(text);
            continue;
        }

        if (!pl.ended) {
            if (job->age < NGX_HTTP_TWITCH_VODS_REPAIR_AFTER) {
                /* the transcoder may still be ending it */
                ngx_http_twitch_media_free(&pl);
                ngx_free(text);
                return;
            }

            if (ngx_http_twitch_vods_end_playlist(path, text, len, log)
                == NGX_OK)
            {
                job->repaired = 1;
            }
        }

        duration = 0;

        for (j = 0; j < pl.nsegs; j++) {
            duration += pl.segs[j].duration;
        }

        if (duration > job->duration) {
            job->duration = duration;
        }

        ngx_http_twitch_media_free(&pl);
        ngx_free(text);
    }

    job->size = ngx_http_twitch_media_size((char *) job->dir);

    (void) ngx_sprintf(path, "%s/vod_thumb.jpg%Z", job->dir);
    job->thumb = (stat((char *) path, &st) == 0);

    job->state = NGX_HTTP_TWITCH_VOD_READY;
}


/*
 * The live directory of a broadcast that ended minutes ago
 * (<channel>/b<id>: the last window of segments, linked into the VOD and
 * clips): no player reads it any more.
 */

static void
ngx_http_twitch_vods_remove_live(void *data, ngx_log_t *log)
{
    ngx_http_twitch_vod_job_t *job = data;

    u_char       *text, *p;
    size_t        len;
    struct stat   st;
    u_char        root[NGX_MAX_PATH], dir[NGX_MAX_PATH], ref[32];

    (void) ngx_sprintf(root, "%V%Z", &job->lcf->media_root);
    (void) ngx_sprintf(dir, "%V/%s/b%s%Z", &job->lcf->media_root, job->name,
                       job->stream_id);

    if (stat((char *) dir, &st) == -1) {
        return;
    }

    (void) ngx_http_twitch_media_remove((char *) root, (char *) dir, log);

    /* the channel's master, if it still points there */

    (void) ngx_sprintf(dir, "%V/%s/master.m3u8%Z", &job->lcf->media_root,
                       job->name);
    p = ngx_sprintf(ref, "\nb%s/", job->stream_id);
    *p = '\0';

    if (ngx_http_twitch_media_read((char *) dir, 64 * 1024, &text, &len, log)
        == NGX_OK)
    {
        if (ngx_strstr(text, ref) != NULL) {
            (void) unlink((char *) dir);
        }

        ngx_free(text);
    }
}


static void
ngx_http_twitch_vods_live_removed(void *data)
{
    /* nothing to record */
}


/* a playlist of a killed transcoder: VOD type, ENDLIST */

static ngx_int_t
ngx_http_twitch_vods_end_playlist(u_char *path, u_char *text, size_t len,
    ngx_log_t *log)
{
    u_char     *buf, *p, *event;
    ngx_int_t   rc;

    buf = ngx_alloc(len + sizeof("#EXT-X-ENDLIST\n") + 1, log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(buf, text, len);

    if (len > 0 && text[len - 1] != '\n') {
        *p++ = '\n';
    }

    p = ngx_cpymem(p, "#EXT-X-ENDLIST\n", sizeof("#EXT-X-ENDLIST\n") - 1);
    *p = '\0';

    /* "#EXT-X-PLAYLIST-TYPE:EVENT" -> ":VOD", the rest moved up */

    event = (u_char *) ngx_strstr(buf, "#EXT-X-PLAYLIST-TYPE:EVENT\n");

    if (event != NULL) {
        event += sizeof("#EXT-X-PLAYLIST-TYPE:") - 1;
        ngx_memmove(event, "VOD\n", 4);
        ngx_memmove(event + 4, event + 6, p - (event + 6) + 1);
        p -= 2;
    }

    rc = ngx_http_twitch_media_write((char *) path, buf, p - buf, log);

    ngx_free(buf);

    if (rc == NGX_OK) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "twitch vods: \"%s\" was left open: ended", path);
    }

    return rc;
}


static void
ngx_http_twitch_vods_inspected(void *data)
{
    ngx_http_twitch_vod_job_t *job = data;

    u_char                       *p;
    const char                   *params[9], *argv[2];
    ngx_http_twitch_live_conf_t  *lcf;
    u_char                        path[128], url[256], thumb[256],
                                  duration[32], size[NGX_OFF_T_LEN + 1],
                                  retention[NGX_INT64_LEN + 1], key[64];

    lcf = job->lcf;

    (void) ngx_sprintf(key, "live:vod:%s%Z", job->stream_id);
    argv[0] = "DEL";
    argv[1] = (const char *) key;

    if (lcf->exiting) {
        return;
    }

    ngx_http_twitch_redis_fire(lcf->tmcf->redis, 2, argv);

    if (job->state == NGX_HTTP_TWITCH_VOD_WAIT) {
        return;
    }

    (void) ngx_sprintf(path, "%s/vods/%s/vod.m3u8%Z", job->name,
                       job->stream_id);
    (void) ngx_sprintf(url, "%V%s%Z", &lcf->media_url, path);

    p = ngx_sprintf(duration, "%.3f", job->duration);
    *p = '\0';

    (void) ngx_sprintf(size, "%O%Z", job->size);
    (void) ngx_sprintf(retention, "%M%Z", lcf->vod_retention / 1000);

    params[0] = job->stream_id;
    params[1] = job->channel_id;
    params[2] = (const char *) path;
    params[3] = (const char *) url;
    params[4] = (const char *) duration;
    params[5] = (const char *) size;
    params[6] = NULL;
    params[7] = (const char *) retention;
    params[8] = "false";

    if (job->state == NGX_HTTP_TWITCH_VOD_NONE) {
        params[4] = "0";
        params[5] = NULL;
        params[8] = "true";

        ngx_log_error(NGX_LOG_NOTICE, lcf->log, 0,
                      "twitch vods: broadcast %s of \"%s\" has no recording",
                      job->stream_id, job->name);

    } else {
        if (job->thumb) {
            (void) ngx_sprintf(thumb, "%V%s/vods/%s/vod_thumb.jpg%Z",
                               &lcf->media_url, job->name, job->stream_id);
            params[6] = (const char *) thumb;
        }

        ngx_log_error(NGX_LOG_INFO, lcf->log, 0,
                      "twitch vods: broadcast %s of \"%s\" kept as a VOD: "
                      "%s s, %s bytes%s", job->stream_id, job->name,
                      duration, size, job->repaired ? ", ended by us" : "");
    }

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_vods_insert_stmt,
                                    params, NULL, NULL, lcf->log);
}


/* the retention sweeper */

void
ngx_http_twitch_vods_expire(ngx_http_twitch_live_conf_t *lcf)
{
    if (lcf->exiting) {
        return;
    }

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_vods_expired_stmt,
                                    NULL, ngx_http_twitch_vods_expired,
                                    lcf, lcf->log);

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_vods_old_live_stmt,
                                    NULL, ngx_http_twitch_vods_old_live,
                                    lcf, lcf->log);
}


static void
ngx_http_twitch_vods_old_live(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_live_conf_t *lcf = data;

    int                         i, n;
    size_t                      len;
    ngx_http_twitch_vod_job_t  *job;

    if (rc != NGX_OK || lcf->exiting) {
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        len = PQgetlength(res, i, 1);

        if ((size_t) PQgetlength(res, i, 0) > NGX_INT64_LEN
            || len < 3 || len > 25)
        {
            continue;
        }

        job = ngx_http_twitch_task_alloc(sizeof(ngx_http_twitch_vod_job_t),
                                         lcf->log);
        if (job == NULL) {
            return;
        }

        job->lcf = lcf;
        ngx_memcpy(job->stream_id, PQgetvalue(res, i, 0),
                   PQgetlength(res, i, 0));
        ngx_memcpy(job->name, PQgetvalue(res, i, 1), len);

        if (ngx_http_twitch_task_post(lcf->thread_pool, job,
                                      ngx_http_twitch_vods_remove_live,
                                      ngx_http_twitch_vods_live_removed)
            != NGX_OK)
        {
            ngx_http_twitch_task_free(job);
            return;
        }
    }
}


static void
ngx_http_twitch_vods_expired(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_http_twitch_live_conf_t *lcf = data;

    int                            i, n;
    size_t                         dirlen;
    const char                    *params[1];
    ngx_http_twitch_vod_expire_t  *job;

    if (rc != NGX_OK || lcf->exiting) {
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {

        if ((size_t) PQgetlength(res, i, 0) > NGX_INT64_LEN) {
            continue;
        }

        if (!ngx_http_twitch_vods_valid_path((u_char *) PQgetvalue(res, i, 1),
                                             PQgetlength(res, i, 1),
                                             &dirlen))
        {
            /* not a recording of ours: nothing on disk to remove */
            params[0] = PQgetvalue(res, i, 0);
            (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                            &ngx_http_twitch_vods_deleted_stmt,
                                            params, NULL, NULL, lcf->log);
            continue;
        }

        job = ngx_http_twitch_task_alloc(sizeof(ngx_http_twitch_vod_expire_t),
                                         lcf->log);
        if (job == NULL) {
            return;
        }

        job->lcf = lcf;
        ngx_memcpy(job->vod_id, PQgetvalue(res, i, 0),
                   PQgetlength(res, i, 0));
        (void) ngx_sprintf(job->dir, "%V/%*s%Z", &lcf->media_root, dirlen,
                           PQgetvalue(res, i, 1));

        if (ngx_http_twitch_task_post(lcf->thread_pool, job,
                                      ngx_http_twitch_vods_remove,
                                      ngx_http_twitch_vods_removed)
            != NGX_OK)
        {
            ngx_http_twitch_task_free(job);
            return;
        }
    }
}


/* "<channel>/vods/<id>/vod.m3u8": the directory is all but the file */

static ngx_uint_t
ngx_http_twitch_vods_valid_path(u_char *p, size_t len, size_t *dirlen)
{
    u_char  *last, *q;

    last = p + len;

    for (q = p; q < last && *q != '/'; q++) {
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')
              || (*q >= '0' && *q <= '9') || *q == '_'))
        {
            return 0;
        }
    }

    if (q - p < 3 || q - p > 25
        || last - q < (ssize_t) sizeof("/vods/1/vod.m3u8") - 1
        || ngx_strncmp(q, "/vods/", 6) != 0)
    {
        return 0;
    }

    for (q += 6; q < last && *q >= '0' && *q <= '9'; q++) {
        /* void */
    }

    if ((size_t) (last - q) != sizeof("/vod.m3u8") - 1
        || ngx_strncmp(q, "/vod.m3u8", 9) != 0
        || q[-1] == '/')
    {
        return 0;
    }

    *dirlen = q - p;

    return 1;
}


static void
ngx_http_twitch_vods_remove(void *data, ngx_log_t *log)
{
    ngx_http_twitch_vod_expire_t *job = data;

    u_char  root[NGX_MAX_PATH];

    (void) ngx_sprintf(root, "%V%Z", &job->lcf->media_root);

    job->rc = ngx_http_twitch_media_remove((char *) root, (char *) job->dir,
                                           log);
}


static void
ngx_http_twitch_vods_removed(void *data)
{
    ngx_http_twitch_vod_expire_t *job = data;

    const char                   *params[1];
    ngx_http_twitch_live_conf_t  *lcf;

    lcf = job->lcf;

    if (job->rc != NGX_OK || lcf->exiting) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, lcf->log, 0,
                  "twitch vods: VOD %s expired: \"%s\" removed",
                  job->vod_id, job->dir);

    params[0] = job->vod_id;

    (void) ngx_http_twitch_pg_query(lcf->tmcf->pg,
                                    &ngx_http_twitch_vods_deleted_stmt,
                                    params, NULL, NULL, lcf->log);
}
