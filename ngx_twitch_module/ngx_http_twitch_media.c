
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * File work on the transcoder's output (see ngx_http_twitch_media.h).
 * Called from thread pool tasks: plain system calls, ngx_log_error().
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <dirent.h>

#include "ngx_http_twitch_media.h"


#define NGX_HTTP_TWITCH_MEDIA_DEPTH  8


static ngx_int_t ngx_http_twitch_media_remove_dir(const char *path,
    ngx_uint_t depth, ngx_log_t *log);
static off_t ngx_http_twitch_media_size_dir(const char *path,
    ngx_uint_t depth);


ngx_int_t
ngx_http_twitch_media_read(const char *path, size_t max, u_char **data,
    size_t *len, ngx_log_t *log)
{
    int          fd;
    u_char      *p;
    size_t       size;
    ssize_t      n;
    struct stat  st;

    *data = NULL;
    *len = 0;

    fd = open(path, O_RDONLY|O_CLOEXEC);
    if (fd == -1) {
        if (ngx_errno == NGX_ENOENT || ngx_errno == NGX_ENOTDIR) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "twitch media: open(\"%s\") failed", path);
        return NGX_ERROR;
    }

    if (fstat(fd, &st) == -1 || st.st_size < 0
        || (size_t) st.st_size > max)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "twitch media: \"%s\" is unreadable or too large",
                      path);
        (void) close(fd);
        return NGX_ERROR;
    }

    size = (size_t) st.st_size;

    p = ngx_alloc(size + 1, log);
    if (p == NULL) {
        (void) close(fd);
        return NGX_ERROR;
    }

    *len = 0;

    while (*len < size) {
        n = read(fd, p + *len, size - *len);

        if (n == -1 && ngx_errno == NGX_EINTR) {
            continue;
        }

        if (n <= 0) {
            break;
        }

        *len += n;
    }

    (void) close(fd);

    p[*len] = '\0';
    *data = p;

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_media_write(const char *path, u_char *data, size_t len,
    ngx_log_t *log)
{
    int      fd;
    size_t   done;
    ssize_t  n;
    u_char   tmp[NGX_MAX_PATH];

    if (ngx_strlen(path) + sizeof(".tmp") > NGX_MAX_PATH) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(tmp, "%s.tmp%Z", path);

    fd = open((char *) tmp, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "twitch media: open(\"%s\") failed", tmp);
        return NGX_ERROR;
    }

    for (done = 0; done < len; /* void */) {
        n = write(fd, data + done, len - done);

        if (n == -1 && ngx_errno == NGX_EINTR) {
            continue;
        }

        if (n <= 0) {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "twitch media: write(\"%s\") failed", tmp);
            (void) close(fd);
            (void) unlink((char *) tmp);
            return NGX_ERROR;
        }

        done += n;
    }

    if (close(fd) == -1 || rename((char *) tmp, path) == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "twitch media: cannot write \"%s\"", path);
        (void) unlink((char *) tmp);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_media_parse(u_char *data, size_t len,
    ngx_http_twitch_media_playlist_t *pl, ngx_log_t *log)
{
    u_char                       *p, *last, *eol;
    size_t                        n;
    double                        duration;
    int64_t                       msn;
    ngx_int_t                     target;
    ngx_uint_t                    disc, i, frac, scale;
    ngx_http_twitch_media_seg_t  *segs, *s;

    ngx_memzero(pl, sizeof(ngx_http_twitch_media_playlist_t));

    p = data;
    last = data + len;
    duration = -1;
    disc = 0;

    if (len < 7 || ngx_strncmp(p, "#EXTM3U", 7) != 0) {
        return NGX_DECLINED;
    }

    while (p < last) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        n = eol - p;

        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }

        if (n > 8 && ngx_strncmp(p, "#EXTINF:", 8) == 0) {

            /* "#EXTINF:2.000," */

            duration = 0;
            frac = 0;
            scale = 1;

            for (i = 8; i < n && p[i] != ','; i++) {
                if (p[i] == '.') {
                    frac = 1;
                    continue;
                }

                if (p[i] < '0' || p[i] > '9') {
                    return NGX_DECLINED;
                }

                if (frac) {
                    scale *= 10;
                    duration += (double) (p[i] - '0') / scale;

                } else {
                    duration = duration * 10 + (p[i] - '0');
                }
            }

        } else if (n == sizeof("#EXT-X-DISCONTINUITY") - 1
                   && ngx_strncmp(p, "#EXT-X-DISCONTINUITY", n) == 0)
        {
            disc = 1;

        } else if (n == sizeof("#EXT-X-ENDLIST") - 1
                   && ngx_strncmp(p, "#EXT-X-ENDLIST", n) == 0)
        {
            pl->ended = 1;

        } else if (n > 22
                   && ngx_strncmp(p, "#EXT-X-TARGETDURATION:", 22) == 0)
        {
            target = ngx_atoi(p + 22, n - 22);
            pl->target = (target > 0) ? (ngx_uint_t) target : 0;

        } else if (n > 0 && p[0] != '#') {

            /* "seg_<msn>.ts" */

            if (n < sizeof("seg_0.ts") - 1 || n > 32
                || ngx_strncmp(p, "seg_", 4) != 0
                || ngx_strncmp(p + n - 3, ".ts", 3) != 0
                || duration < 0)
            {
                return NGX_DECLINED;
            }

            msn = ngx_atoof(p + 4, n - 7);
            if (msn < 0) {
                return NGX_DECLINED;
            }

            if (pl->nsegs == pl->nalloc) {
                pl->nalloc = pl->nalloc ? pl->nalloc * 2 : 64;

                segs = ngx_alloc(pl->nalloc
                                 * sizeof(ngx_http_twitch_media_seg_t), log);
                if (segs == NULL) {
                    return NGX_ERROR;
                }

                if (pl->segs) {
                    ngx_memcpy(segs, pl->segs,
                               pl->nsegs
                               * sizeof(ngx_http_twitch_media_seg_t));
                    ngx_free(pl->segs);
                }

                pl->segs = segs;
            }

            s = &pl->segs[pl->nsegs++];
            s->msn = msn;
            s->duration = duration;
            s->disc = disc;

            duration = -1;
            disc = 0;
        }

        p = eol + 1;
    }

    return NGX_OK;
}


void
ngx_http_twitch_media_free(ngx_http_twitch_media_playlist_t *pl)
{
    if (pl->segs) {
        ngx_free(pl->segs);
        pl->segs = NULL;
    }

    pl->nsegs = 0;
    pl->nalloc = 0;
}


ngx_int_t
ngx_http_twitch_media_parse_master(u_char *data, size_t len,
    ngx_http_twitch_media_master_t *m)
{
    u_char                           *p, *last, *eol, *slash;
    size_t                            n, inf;
    ngx_uint_t                        i;
    ngx_http_twitch_media_variant_t  *v;

    ngx_memzero(m, sizeof(ngx_http_twitch_media_master_t));

    if (len < 7 || ngx_strncmp(data, "#EXTM3U", 7) != 0) {
        return NGX_DECLINED;
    }

    p = data;
    last = data + len;
    inf = 0;
    v = NULL;

    while (p < last) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        n = eol - p;

        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }

        if (n > 18 && ngx_strncmp(p, "#EXT-X-STREAM-INF:", 18) == 0) {

            if (m->nvariants == NGX_HTTP_TWITCH_MEDIA_MAX_VARIANTS
                || n >= sizeof(v->inf))
            {
                return NGX_DECLINED;
            }

            v = &m->variants[m->nvariants];
            ngx_memcpy(v->inf, p, n);
            v->inf[n] = '\0';
            inf = 1;

        } else if (n > 0 && p[0] != '#' && inf) {

            /* "<rung>/<playlist>": a directory of letters and digits */

            slash = ngx_strlchr(p, p + n, '/');

            if (slash == NULL || slash == p
                || (size_t) (slash - p) >= sizeof(v->rung))
            {
                return NGX_DECLINED;
            }

            for (i = 0; p + i < slash; i++) {
                if (!((p[i] >= 'a' && p[i] <= 'z')
                      || (p[i] >= '0' && p[i] <= '9')))
                {
                    return NGX_DECLINED;
                }

                v->rung[i] = p[i];
            }

            v->rung[i] = '\0';
            m->nvariants++;
            inf = 0;
        }

        p = eol + 1;
    }

    return m->nvariants ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_http_twitch_media_link(const char *from, const char *to, ngx_log_t *log)
{
    if (link(from, to) == 0) {
        return NGX_OK;
    }

    if (ngx_errno == NGX_EEXIST) {
        (void) unlink(to);

        if (link(from, to) == 0) {
            return NGX_OK;
        }
    }

    if (ngx_errno == EXDEV || ngx_errno == EPERM || ngx_errno == EMLINK) {
        return ngx_http_twitch_media_copy(from, to, log);
    }

    ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                  "twitch media: link(\"%s\", \"%s\") failed", from, to);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_twitch_media_copy(const char *from, const char *to, ngx_log_t *log)
{
    size_t      len;
    u_char     *data;
    ngx_int_t   rc;

    /* thumbnails and segments: a few MB at most */

    rc = ngx_http_twitch_media_read(from, 64 * 1024 * 1024, &data, &len,
                                    log);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_twitch_media_write(to, data, len, log);
    ngx_free(data);

    return rc;
}


ngx_int_t
ngx_http_twitch_media_mkdir(const char *path, ngx_log_t *log)
{
    u_char  *p, buf[NGX_MAX_PATH];
    size_t   len;

    len = ngx_strlen(path);

    if (len == 0 || len >= NGX_MAX_PATH) {
        return NGX_ERROR;
    }

    ngx_memcpy(buf, path, len + 1);

    for (p = buf + 1; /* void */ ; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }

        if (*p == '/') {
            *p = '\0';
        }

        if (mkdir((char *) buf, 0755) == -1 && ngx_errno != NGX_EEXIST) {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "twitch media: mkdir(\"%s\") failed", buf);
            return NGX_ERROR;
        }

        if (p == buf + len) {
            break;
        }

        *p = '/';
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_twitch_media_remove(const char *root, const char *path,
    ngx_log_t *log)
{
    size_t  n;

    n = ngx_strlen(root);

    /* the path was built from our own names; still, never leave root */

    if (ngx_strncmp(path, root, n) != 0 || path[n] != '/'
        || ngx_strstr(path + n, "/..") != NULL
        || ngx_strlen(path) <= n + 1)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "twitch media: refusing to remove \"%s\"", path);
        return NGX_ERROR;
    }

    return ngx_http_twitch_media_remove_dir(path, 0, log);
}


static ngx_int_t
ngx_http_twitch_media_remove_dir(const char *path, ngx_uint_t depth,
    ngx_log_t *log)
{
    DIR            *dir;
    u_char          buf[NGX_MAX_PATH];
    ngx_int_t       rc;
    struct stat     st;
    struct dirent  *de;

    if (depth > NGX_HTTP_TWITCH_MEDIA_DEPTH) {
        return NGX_ERROR;
    }

    dir = opendir(path);
    if (dir == NULL) {
        return (ngx_errno == NGX_ENOENT) ? NGX_OK : NGX_ERROR;
    }

    rc = NGX_OK;

    while ((de = readdir(dir)) != NULL) {
        if (ngx_strcmp(de->d_name, ".") == 0
            || ngx_strcmp(de->d_name, "..") == 0)
        {
            continue;
        }

        if (ngx_strlen(path) + ngx_strlen(de->d_name) + 2 > NGX_MAX_PATH) {
            rc = NGX_ERROR;
            continue;
        }

        (void) ngx_sprintf(buf, "%s/%s%Z", path, de->d_name);

        if (lstat((char *) buf, &st) == -1) {
            continue;
        }

        if (S_ISDIR(st.st_mode)) {
            if (ngx_http_twitch_media_remove_dir((char *) buf, depth + 1, log)
                != NGX_OK)
            {
                rc = NGX_ERROR;
            }

            continue;
        }

        if (unlink((char *) buf) == -1 && ngx_errno != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "twitch media: unlink(\"%s\") failed", buf);
            rc = NGX_ERROR;
        }
    }

    (void) closedir(dir);

    if (rmdir(path) == -1 && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "twitch media: rmdir(\"%s\") failed", path);
        rc = NGX_ERROR;
    }

    return rc;
}


off_t
ngx_http_twitch_media_size(const char *path)
{
    return ngx_http_twitch_media_size_dir(path, 0);
}


static off_t
ngx_http_twitch_media_size_dir(const char *path, ngx_uint_t depth)
{
    DIR            *dir;
    off_t           size;
    u_char          buf[NGX_MAX_PATH];
    struct stat     st;
    struct dirent  *de;

    if (depth > NGX_HTTP_TWITCH_MEDIA_DEPTH) {
        return 0;
    }

    dir = opendir(path);
    if (dir == NULL) {
        return 0;
    }

    size = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.'
            || ngx_strlen(path) + ngx_strlen(de->d_name) + 2 > NGX_MAX_PATH)
        {
            continue;
        }

        (void) ngx_sprintf(buf, "%s/%s%Z", path, de->d_name);

        if (lstat((char *) buf, &st) == -1) {
            continue;
        }

        if (S_ISDIR(st.st_mode)) {
            size += ngx_http_twitch_media_size_dir((char *) buf, depth + 1);

        } else if (S_ISREG(st.st_mode)) {
            size += st.st_size;
        }
    }

    (void) closedir(dir);

    return size;
}
