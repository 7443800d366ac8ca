
/*
 * twitch_transcode: logging, clocks, atomic file writes and the
 * RFC 6381 codec strings of the master playlist.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "twitch_transcode.h"


static void tt_av_log(void *avcl, int level, const char *fmt, va_list ap);
static int tt_h264_sps(const uint8_t *nal, int size, char *out, size_t len);


static FILE       *tt_log_file;
static int         tt_log_level = TT_LOG_INFO;
static const char *tt_level_names[] = { "error", "warn", "info", "debug" };


int
tt_log_init(const tt_conf_t *conf)
{
    tt_log_level = conf->log_level;

    if (conf->log_file != NULL) {
        tt_log_file = fopen(conf->log_file, "a");
        if (tt_log_file == NULL) {
            fprintf(stderr, TT_PROG ": [error] cannot open log file "
                    "\"%s\": %s\n", conf->log_file, strerror(errno));
            return -1;
        }

        setvbuf(tt_log_file, NULL, _IOLBF, 0);
    }

    av_log_set_level(tt_log_level >= TT_LOG_DEBUG ? AV_LOG_INFO
                     : tt_log_level >= TT_LOG_INFO ? AV_LOG_ERROR
                     : AV_LOG_FATAL);
    av_log_set_callback(tt_av_log);

    return 0;
}


void
tt_log_done(void)
{
    if (tt_log_file != NULL) {
        fclose(tt_log_file);
        tt_log_file = NULL;
    }
}


static void
tt_log_line(int level, const char *msg)
{
    char        stamp[32];
    time_t      now;
    struct tm   tm;

    fprintf(stderr, TT_PROG ": [%s] %s\n", tt_level_names[level], msg);

    if (tt_log_file != NULL) {
        now = time(NULL);
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S", &tm);
        fprintf(tt_log_file, "%s [%s] %d: %s\n", stamp,
                tt_level_names[level], (int) getpid(), msg);
    }
}


void
tt_log(int level, const char *fmt, ...)
{
    char     msg[1024];
    va_list  ap;

    if (level > tt_log_level) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    tt_log_line(level, msg);
}


/* libav messages go through our log, tagged with their origin */
static void
tt_av_log(void *avcl, int level, const char *fmt, va_list ap)
{
    int          our, print_prefix;
    char         line[1024];
    size_t       n;

    if (level > av_log_get_level()) {
        return;
    }

    our = level <= AV_LOG_ERROR ? TT_LOG_ERR
          : level <= AV_LOG_WARNING ? TT_LOG_WARN
          : level <= AV_LOG_INFO ? TT_LOG_INFO : TT_LOG_DEBUG;

    if (our > tt_log_level && our != TT_LOG_ERR) {
        return;
    }

    print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, ap, line, sizeof(line),
                        &print_prefix);

    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        line[--n] = '\0';
    }

    if (n == 0) {
        return;
    }

    /* libav errors are reported by us with context; keep them as warnings */
    tt_log_line(our == TT_LOG_ERR ? TT_LOG_WARN : our, line);
}


const char *
tt_err(int averr)
{
    static __thread char  buf[AV_ERROR_MAX_STRING_SIZE];

    av_strerror(averr, buf, sizeof(buf));

    return buf;
}


double
tt_wall_time(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


double
tt_mono_time(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* CPU seconds used by the calling thread */

double
tt_thread_cpu(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        return 0;
    }

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
tt_mkdir_p(const char *path)
{
    char    buf[4096];
    char   *p;
    size_t  n;

    n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    memcpy(buf, path, n + 1);

    for (p = buf + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }

        *p = '\0';
        if (mkdir(buf, 0755) == -1 && errno != EEXIST) {
            return -1;
        }
        *p = '/';
    }

    if (mkdir(buf, 0755) == -1 && errno != EEXIST) {
        return -1;
    }

    return 0;
}


/*
 * Readers (nginx, players) must never see a half-written playlist:
 * write a temporary file in the same directory, then rename() it over.
 */

int
tt_write_file_atomic(const char *path, const void *data, size_t len)
{
    int          fd, err;
    char         tmp[4096];
    ssize_t      n;
    const char  *p;

    if ((size_t) snprintf(tmp, sizeof(tmp), "%s.tmp%d", path,
                          (int) getpid())
        >= sizeof(tmp))
    {
        errno = ENAMETOOLONG;
        return -1;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd == -1) {
        return -1;
    }

    p = data;

    while (len > 0) {
        n = write(fd, p, len);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            goto failed;
        }

        p += n;
        len -= n;
    }

    if (close(fd) == -1) {
        fd = -1;
        goto failed;
    }

    if (rename(tmp, path) == -1) {
        fd = -1;
        goto failed;
    }

    return 0;

failed:

    err = errno;
    if (fd != -1) {
        close(fd);
    }
    unlink(tmp);
    errno = err;

    return -1;
}


int
tt_copy_file(const char *from, const char *to)
{
    int      in, out, err;
    char     buf[65536];
    ssize_t  n, w, off;

    in = open(from, O_RDONLY);
    if (in == -1) {
        return -1;
    }

    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out == -1) {
        err = errno;
        close(in);
        errno = err;
        return -1;
    }

    for ( ;; ) {
        n = read(in, buf, sizeof(buf));
        if (n == 0) {
            break;
        }

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            goto failed;
        }

        for (off = 0; off < n; off += w) {
            w = write(out, buf + off, n - off);
            if (w == -1) {
                if (errno == EINTR) {
                    w = 0;
                    continue;
                }
                goto failed;
            }
        }
    }

    close(in);

    if (close(out) == -1) {
        return -1;
    }

    return 0;

failed:

    err = errno;
    close(in);
    close(out);
    unlink(to);
    errno = err;

    return -1;
}


void
tt_buf_printf(tt_buf_t *b, const char *fmt, ...)
{
    int      n;
    char    *p;
    size_t   size;
    va_list  ap;

    if (b->failed) {
        return;
    }

    for ( ;; ) {
        va_start(ap, fmt);
        n = vsnprintf(b->data ? b->data + b->len : NULL,
                      b->data ? b->size - b->len : 0, fmt, ap);
        va_end(ap);

        if (n < 0) {
            b->failed = 1;
            return;
        }

        if (b->data != NULL && b->len + n < b->size) {
            b->len += n;
            return;
        }

        size = b->size ? b->size * 2 : 4096;
        while (size <= b->len + n) {
            size *= 2;
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->data = p;
        b->size = size;
    }
}


void
tt_buf_free(tt_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->size = 0;
    b->failed = 0;
}


/*
 * "avc1.PPCCLL" from an SPS NAL unit: profile_idc, the constraint flags
 * byte and level_idc are the three bytes after the NAL header.
 */

static int
tt_h264_sps(const uint8_t *nal, int size, char *out, size_t len)
{
    if (size < 4 || (nal[0] & 0x1f) != 7) {
        return -1;
    }

    snprintf(out, len, "avc1.%02x%02x%02x", nal[1], nal[2], nal[3]);

    return 0;
}


/*
 * Accepts an avcC record (extradata of FLV/MP4 sources), an Annex B
 * byte stream (x264 output, MPEG-TS sources) or length-prefixed NAL
 * units (FLV/MP4 packets).
 */

int
tt_h264_codecs(const uint8_t *data, int size, char *out, size_t len)
{
    int       i, n;
    uint32_t  nlen;

    if (data == NULL || size < 4) {
        return -1;
    }

    /* avcC: version 1, profile, compatibility, level */
    if (data[0] == 1 && size >= 7) {
        snprintf(out, len, "avc1.%02x%02x%02x", data[1], data[2], data[3]);
        return 0;
    }

    /* Annex B: look for a start code followed by an SPS */
    for (i = 0; i + 3 < size; i++) {
        if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
            if (tt_h264_sps(data + i + 3, size - i - 3, out, len) == 0) {
                return 0;
            }
        }
    }

    /* 4-byte length-prefixed NAL units */
    for (i = 0; i + 4 < size; i += 4 + n) {
        nlen = (uint32_t) data[i] << 24 | data[i + 1] << 16
               | data[i + 2] << 8 | data[i + 3];
        if (nlen == 0 || nlen > (uint32_t) (size - i - 4)) {
            break;
        }

        n = (int) nlen;
        if (tt_h264_sps(data + i + 4, n, out, len) == 0) {
            return 0;
        }
    }

    return -1;
}


const char *
tt_aac_codecs(const AVCodecParameters *par)
{
    switch (par->profile) {

    case FF_PROFILE_AAC_HE:
        return "mp4a.40.5";

    case FF_PROFILE_AAC_HE_V2:
        return "mp4a.40.29";

    default:
        return "mp4a.40.2";
    }
}
