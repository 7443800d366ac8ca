
/*
 * twitch_transcode: cuts every rung into MPEG-TS segments at the same
 * source frames and keeps the playlists: a live window and an optional
 * VOD playlist per rung, plus the master playlists.
 *
 * Segment boundaries are decided once, on the demuxed source: a source
 * keyframe at least one target duration (minus 10%) after the start of
 * the current segment starts the next one.  The encoded rungs get a
 * forced IDR frame at exactly those source frames, so segment N starts
 * at the same PTS in every rung, including the stream-copied source.
 *
 * Encoded packets arrive from the ladder's worker threads and audio
 * from the main thread: every entry point takes the one mutex.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/opt.h>

#include "twitch_transcode.h"
#include "twitch_transcode_hls.h"


/* how far one stream may run ahead while the other one is awaited */
#define TT_HLS_MAX_WAIT      (8 * TT_HZ)

/* added to media time in the segments: keeps B-frame DTS positive */
#define TT_HLS_TS_OFFSET     (10 * TT_HZ)

/* past this many entries the VOD playlist is rewritten less often */
#define TT_HLS_VOD_EVERY     1800

/*
 * The broadcast and VOD directory of a run are kept in status.json, a
 * file that is not served; earlier versions wrote this comment into the
 * playlists, and it is still read there from VOD playlists.
 */
#define TT_HLS_OLD_MARK      "# twitch-transcode broadcast="

/* directories are kept well below PATH_MAX so file names always fit */
#define TT_HLS_DIR_LEN       (PATH_MAX / 2)
#define TT_HLS_VOD_LEN       (TT_HLS_DIR_LEN - TT_NAME_LEN - 16)


typedef struct {
    AVPacket           **pkts;
    int                  head;
    int                  n;
    int                  size;
} tt_pktq_t;


typedef struct {
    int64_t              msn;
    int64_t              bytes;
    double               duration;
    double               pdt;           /* unix time, 0: unknown */
    unsigned             disc:1;
} tt_seg_t;


typedef struct {
    tt_seg_t            *segs;
    int                  n;
    int                  size;
    int64_t              ds;            /* discontinuities dropped */
    int                  target;        /* never lowered */
} tt_seglist_t;


/* what status.json says about the run that wrote it */
typedef struct {
    char                 broadcast[256];
    char                 vod_dir[TT_HLS_VOD_LEN];
    time_t               mtime;
    unsigned             found:1;
} tt_hls_state_t;


typedef enum {
    TT_PL_LIVE = 0,        /* sliding window */
    TT_PL_LIVE_END,        /* sliding window, ended */
    TT_PL_EVENT,           /* VOD while live: only ever appended to */
    TT_PL_VOD              /* VOD, ended */
} tt_pl_type_e;


struct tt_hls_rung_s {
    tt_hls_t            *hls;
    char                 name[TT_NAME_LEN];
    char                 dir[TT_HLS_DIR_LEN];
    char                 vod_dir[TT_HLS_DIR_LEN];
    int                  width;
    int                  height;
    AVRational           fps;
    int64_t              peak;
    int64_t              average;
    int64_t              master_peak;
    char                 codecs[64];
    const char          *acodecs;

    AVFormatContext     *mux;
    AVStream            *vst;
    AVStream            *ast;
    tt_pktq_t            vq;
    tt_pktq_t            aq;
    int                  cur;           /* bound of the open segment */
    int64_t              count;         /* segments written by this run */
    int64_t              last_vdts;
    int64_t              last_adts;

    tt_seglist_t         live;
    tt_seglist_t         vod;
    int                  vod_unsaved;

    unsigned             declared:1;
    unsigned             open:1;
    unsigned             header:1;
    unsigned             live_resumed:1;
    unsigned             vod_resumed:1;
};


struct tt_hls_s {
    const tt_conf_t     *conf;
    pthread_mutex_t      mutex;
    tt_hls_rung_t       *rungs[TT_MAX_RUNGS];
    int                  nrungs;

    int64_t             *bounds;
    int                  nbounds;
    int                  bsize;
    int                  check;
    int64_t              video_end;
    int64_t              msn_base;

    double               wall0;
    double               mono0;
    int                  grace;

    char                 vod_dir[TT_HLS_VOD_LEN];
    tt_hls_state_t       prev;          /* the last run in --out */
    tt_hls_state_t       vod_state;     /* and in the VOD directory */

    unsigned             vod:1;
    unsigned             vod_same:1;
    unsigned             master:1;
    unsigned             keyless_warned:1;
};


static int tt_pktq_push(tt_pktq_t *q, AVPacket *pkt);
static AVPacket *tt_pktq_peek(tt_pktq_t *q);
static AVPacket *tt_pktq_pop(tt_pktq_t *q);
static int64_t tt_pktq_span(tt_pktq_t *q);
static void tt_pktq_free(tt_pktq_t *q);

static int tt_seglist_add(tt_seglist_t *l, const tt_seg_t *seg);
static void tt_seglist_drop(tt_seglist_t *l, int n);
static void tt_seglist_free(tt_seglist_t *l);
static int64_t tt_seglist_peak(const tt_seglist_t *l, int from);
static int64_t tt_seglist_average(const tt_seglist_t *l, int from);

static int tt_hls_cut_locked(tt_hls_t *hls, int64_t pts, int key);
static int tt_hls_drain(tt_hls_rung_t *r, int final);
static int tt_hls_write_video(tt_hls_rung_t *r, AVPacket *pkt);
static int tt_hls_write_audio(tt_hls_rung_t *r, AVPacket *pkt);
static int tt_hls_mux(tt_hls_rung_t *r, AVStream *st, AVPacket *pkt);
static int tt_hls_open_segment(tt_hls_rung_t *r, int bound);
static int tt_hls_close_segment(tt_hls_rung_t *r, int64_t end, int final);
static int tt_hls_segment_done(tt_hls_rung_t *r, tt_seg_t *seg, int final);
static void tt_hls_segment_path(char *buf, size_t len, const char *dir,
    int64_t msn);

static int tt_hls_write_media(const char *path, tt_seglist_t *l, int from,
    tt_pl_type_e type);
static int tt_hls_write_master(tt_hls_t *hls, int vod);
static void tt_hls_write_status(tt_hls_t *hls, const char *state);
static void tt_hls_write_vod_status(tt_hls_t *hls);
static void tt_buf_json(tt_buf_t *b, const char *s);
static int tt_hls_read_state(const char *dir, tt_hls_state_t *st);
static int tt_json_string(const char *json, const char *key, char *out,
    size_t len);

static int tt_hls_parse(const char *path, tt_seglist_t *l, char *bcast,
    size_t len, time_t *mtime, int *ended);
static int tt_hls_choose_vod_dir(tt_hls_t *hls);
static int tt_hls_resumable(tt_hls_t *hls, time_t mtime);
static void tt_hls_remove_segments(const char *dir, int64_t below);
static int tt_hls_resume_rung(tt_hls_rung_t *r, int64_t *next);
static int tt_hls_resume_others(tt_hls_t *hls, int64_t *next);
static int tt_hls_link_vod(tt_hls_rung_t *r, int64_t msn);


tt_hls_t *
tt_hls_create(const tt_conf_t *conf)
{
    tt_hls_t  *hls;

    hls = calloc(1, sizeof(tt_hls_t));
    if (hls == NULL) {
        tt_log(TT_LOG_ERR, "hls: out of memory");
        return NULL;
    }

    if (pthread_mutex_init(&hls->mutex, NULL) != 0) {
        tt_log(TT_LOG_ERR, "hls: cannot create a mutex");
        free(hls);
        return NULL;
    }

    hls->conf = conf;
    hls->vod = conf->vod_dir != NULL || conf->vod_root != NULL;
    hls->grace = conf->grace >= 0 ? conf->grace : conf->window + 1;
    hls->video_end = AV_NOPTS_VALUE;

    return hls;
}


tt_hls_rung_t *
tt_hls_add_rung(tt_hls_t *hls, const tt_hls_rung_conf_t *rc)
{
    int             rc2;
    tt_hls_rung_t  *r;

    if (hls->nrungs == TT_MAX_RUNGS) {
        tt_log(TT_LOG_ERR, "hls: too many rungs");
        return NULL;
    }

    r = calloc(1, sizeof(tt_hls_rung_t));
    if (r == NULL) {
        tt_log(TT_LOG_ERR, "hls: out of memory");
        return NULL;
    }

    hls->rungs[hls->nrungs++] = r;

    r->hls = hls;
    snprintf(r->name, sizeof(r->name), "%s", rc->name);
    snprintf(r->dir, sizeof(r->dir), "%s/%s", hls->conf->out, rc->name);

    r->width = rc->width;
    r->height = rc->height;
    r->fps = rc->fps;
    r->peak = rc->peak;
    r->average = rc->average;
    r->declared = rc->peak > 0;
    r->last_vdts = AV_NOPTS_VALUE;
    r->last_adts = AV_NOPTS_VALUE;
    r->live.target = hls->conf->segment;
    r->vod.target = hls->conf->segment;

    if (rc->video->extradata != NULL) {
        (void) tt_h264_codecs(rc->video->extradata,
                              rc->video->extradata_size,
                              r->codecs, sizeof(r->codecs));
    }

    rc2 = avformat_alloc_output_context2(&r->mux, NULL, "mpegts", NULL);
    if (rc2 < 0) {
        tt_log(TT_LOG_ERR, "hls: no mpegts muxer: %s", tt_err(rc2));
        return NULL;
    }

    /* like the ffmpeg CLI: the first PCR leads the first DTS by 0.7 s */
    r->mux->max_delay = 700000;

    /* our own offset keeps timestamps positive and equal across rungs */
    r->mux->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;

    r->vst = avformat_new_stream(r->mux, NULL);
    if (r->vst == NULL) {
        goto nomem;
    }

    if (avcodec_parameters_copy(r->vst->codecpar, rc->video) < 0) {
        goto nomem;
    }

    r->vst->codecpar->codec_tag = 0;
    r->vst->time_base = TT_TB;

    if (rc->audio != NULL) {
        r->ast = avformat_new_stream(r->mux, NULL);
        if (r->ast == NULL) {
            goto nomem;
        }

        if (avcodec_parameters_copy(r->ast->codecpar, rc->audio) < 0) {
            goto nomem;
        }

        r->ast->codecpar->codec_tag = 0;
        r->ast->time_base = TT_TB;
        r->acodecs = tt_aac_codecs(rc->audio);
    }

    return r;

nomem:

    tt_log(TT_LOG_ERR, "hls: out of memory");

    return NULL;
}


/*
 * Creates the directories and picks up a previous run of the same
 * broadcast: media sequence numbers continue and the first new segment
 * of every playlist gets an EXT-X-DISCONTINUITY.
 */

int
tt_hls_start(tt_hls_t *hls)
{
    int             i, j;
    char            a[PATH_MAX], b[PATH_MAX];
    int64_t         next;
    tt_seg_t        seg;
    tt_hls_rung_t  *r;

    if (tt_mkdir_p(hls->conf->out) == -1) {
        tt_log(TT_LOG_ERR, "hls: cannot create \"%s\": %s",
               hls->conf->out, strerror(errno));
        return -1;
    }

    /* the run before this one, if any: its broadcast and VOD */
    if (tt_hls_read_state(hls->conf->out, &hls->prev) < 0) {
        tt_log(TT_LOG_WARN, "hls: \"%s/status.json\" is unreadable: "
               "starting afresh", hls->conf->out);
    }

    if (hls->vod) {
        if (tt_hls_choose_vod_dir(hls) != 0) {
            return -1;
        }

        if (tt_mkdir_p(hls->vod_dir) == -1) {
            tt_log(TT_LOG_ERR, "hls: cannot create \"%s\": %s",
                   hls->vod_dir, strerror(errno));
            return -1;
        }

        for (i = 0; i < hls->nrungs; i++) {
            r = hls->rungs[i];
            snprintf(r->vod_dir, sizeof(r->vod_dir), "%s/%s", hls->vod_dir,
                     r->name);
        }

        tt_log(TT_LOG_INFO, "hls: keeping the VOD in \"%s\"",
               hls->vod_dir);

        if (realpath(hls->conf->out, a) != NULL
            && realpath(hls->vod_dir, b) != NULL
            && strcmp(a, b) == 0)
        {
            /* the live segments are the VOD: never delete them */
            hls->vod_same = 1;
        }

        if (hls->vod_same) {
            hls->vod_state = hls->prev;

        } else if (tt_hls_read_state(hls->vod_dir, &hls->vod_state) < 0) {
            tt_log(TT_LOG_WARN, "hls: \"%s/status.json\" is unreadable",
                   hls->vod_dir);
        }
    }

    for (i = 0; i < hls->nrungs; i++) {
        r = hls->rungs[i];

        if (tt_mkdir_p(r->dir) == -1
            || (hls->vod && tt_mkdir_p(r->vod_dir) == -1))
        {
            tt_log(TT_LOG_ERR, "hls: cannot create the directories of "
                   "rung \"%s\": %s", r->name, strerror(errno));
            return -1;
        }
    }

    next = 0;

    for (i = 0; i < hls->nrungs; i++) {
        if (tt_hls_resume_rung(hls->rungs[i], &next) != 0) {
            return -1;
        }
    }

    if (tt_hls_resume_others(hls, &next) != 0) {
        return -1;
    }

    hls->msn_base = next;

    /*
     * After a crash the VOD playlist may lag behind the live one (it is
     * not rewritten on every segment once long): recover those entries.
     */

    for (i = 0; i < hls->nrungs; i++) {
        r = hls->rungs[i];

        if (!hls->vod || !r->live_resumed) {
            continue;
        }

        for (j = 0; j < r->live.n; j++) {
            seg = r->live.segs[j];

            if (r->vod.n > 0 && seg.msn <= r->vod.segs[r->vod.n - 1].msn) {
                continue;
            }

            if (tt_hls_link_vod(r, seg.msn) != 0) {
                continue;
            }

            if (r->vod.n == 0) {
                seg.disc = 0;
            }

            if (tt_seglist_add(&r->vod, &seg) != 0) {
                return -1;
            }

            r->vod_resumed = 1;
        }
    }

    if (next > 0) {
        tt_log(TT_LOG_INFO, "hls: continuing the broadcast at media "
               "sequence %lld", (long long) next);
    }

    hls->mono0 = tt_mono_time();
    tt_hls_write_status(hls, "starting");

    if (hls->vod && !hls->vod_same) {
        tt_hls_write_vod_status(hls);
    }

    return 0;
}


/*
 * --vod-root: a directory per broadcast, named by its id or its UTC
 * start time; a resumed broadcast finds its own in its live playlists.
 */

static int
tt_hls_choose_vod_dir(tt_hls_t *hls)
{
    int            n;
    char           name[64];
    size_t         len;
    time_t         now;
    struct tm      tm;
    struct stat    st;

    if (hls->conf->vod_dir != NULL) {
        snprintf(hls->vod_dir, sizeof(hls->vod_dir), "%s",
                 hls->conf->vod_dir);
        return 0;
    }

    /* the previous run's, if it is resumed and under --vod-root */
    len = strlen(hls->conf->vod_root);

    if (hls->prev.found && hls->prev.vod_dir[0] != '\0'
        && tt_hls_resumable(hls, hls->prev.mtime)
        && strncmp(hls->prev.vod_dir, hls->conf->vod_root, len) == 0
        && hls->prev.vod_dir[len] == '/'
        && strstr(hls->prev.vod_dir + len, "/..") == NULL)
    {
        snprintf(hls->vod_dir, sizeof(hls->vod_dir), "%s",
                 hls->prev.vod_dir);
        return 0;
    }

    if (hls->conf->broadcast != NULL) {
        snprintf(hls->vod_dir, sizeof(hls->vod_dir), "%s/%s",
                 hls->conf->vod_root, hls->conf->broadcast);
        return 0;
    }

    now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(name, sizeof(name), "%Y%m%d-%H%M%S", &tm);

    for (n = 1; n < 100; n++) {
        if (n == 1) {
            snprintf(hls->vod_dir, sizeof(hls->vod_dir), "%s/%s",
                     hls->conf->vod_root, name);

        } else {
            snprintf(hls->vod_dir, sizeof(hls->vod_dir), "%s/%s-%d",
                     hls->conf->vod_root, name, n);
        }

        if (stat(hls->vod_dir, &st) == -1 && errno == ENOENT) {
            return 0;
        }
    }

    tt_log(TT_LOG_ERR, "hls: no free VOD directory in \"%s\"",
           hls->conf->vod_root);

    return -1;
}


const char *
tt_hls_vod_dir(tt_hls_t *hls)
{
    return hls->vod ? hls->vod_dir : NULL;
}


static int
tt_hls_resume_rung(tt_hls_rung_t *r, int64_t *next)
{
    int            rc, ended;
    char           path[PATH_MAX], bcast[256];
    time_t         mtime;
    tt_hls_t      *hls;
    tt_seglist_t   l;

    hls = r->hls;

    snprintf(path, sizeof(path), "%s/live.m3u8", r->dir);
    memset(&l, 0, sizeof(l));

    rc = tt_hls_parse(path, &l, bcast, sizeof(bcast), &mtime, &ended);

    if (rc > 0 && tt_hls_resumable(hls, mtime)) {
        tt_seglist_free(&r->live);
        r->live = l;
        r->live_resumed = l.n > 0;

        if (l.n > 0 && l.segs[l.n - 1].msn + 1 > *next) {
            *next = l.segs[l.n - 1].msn + 1;
        }

        if (r->live.target < hls->conf->segment) {
            r->live.target = hls->conf->segment;
        }

    } else {
        tt_seglist_free(&l);

        if (rc != 0) {
            tt_log(TT_LOG_INFO, "hls: \"%s\" is from another broadcast, "
                   "starting afresh", path);
            unlink(path);
        }
    }

    /* segments of earlier broadcasts, or that left the window */
    if (!hls->vod_same) {
        tt_hls_remove_segments(r->dir, r->live.n > 0 ? r->live.segs[0].msn
                                                     : INT64_MAX);
    }

    if (!hls->vod) {
        return 0;
    }

    snprintf(path, sizeof(path), "%s/vod.m3u8", r->vod_dir);
    memset(&l, 0, sizeof(l));

    rc = tt_hls_parse(path, &l, bcast, sizeof(bcast), &mtime, &ended);
    if (rc == 0) {
        return 0;
    }

    /* whose VOD this is: its status.json, or an older playlist's mark */
    if (hls->vod_state.found) {
        snprintf(bcast, sizeof(bcast), "%s", hls->vod_state.broadcast);
    }

    if (rc < 0 || hls->conf->fresh
        || (hls->conf->broadcast != NULL
            && strcmp(bcast, hls->conf->broadcast) != 0))
    {
        tt_seglist_free(&l);
        tt_log(TT_LOG_ERR, "hls: \"%s\" holds the VOD of another broadcast "
               "(\"%s\"); refusing to overwrite it", path, bcast);
        return -1;
    }

    tt_seglist_free(&r->vod);
    r->vod = l;
    r->vod_resumed = l.n > 0;

    if (r->vod.target < hls->conf->segment) {
        r->vod.target = hls->conf->segment;
    }

    if (l.n > 0 && l.segs[l.n - 1].msn + 1 > *next) {
        *next = l.segs[l.n - 1].msn + 1;
    }

    return 0;
}


/*
 * Rungs of an earlier run that this ladder does not have (the publisher
 * came back at a lower resolution): their playlists are ended, or
 * removed with their segments if they belong to another broadcast.
 */

static int
tt_hls_resume_others(tt_hls_t *hls, int64_t *next)
{
    int             i, rc, ended, known;
    DIR            *d;
    char            path[PATH_MAX], dir[TT_HLS_DIR_LEN], bcast[256];
    time_t          mtime;
    tt_seglist_t    l;
    struct dirent  *de;

    d = opendir(hls->conf->out);
    if (d == NULL) {
        return 0;
    }

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        known = 0;
        for (i = 0; i < hls->nrungs; i++) {
            if (strcmp(de->d_name, hls->rungs[i]->name) == 0) {
                known = 1;
            }
        }

        if (known) {
            continue;
        }

        snprintf(dir, sizeof(dir), "%s/%s", hls->conf->out, de->d_name);
        snprintf(path, sizeof(path), "%s/live.m3u8", dir);
        memset(&l, 0, sizeof(l));

        rc = tt_hls_parse(path, &l, bcast, sizeof(bcast), &mtime, &ended);
        if (rc <= 0) {
            /* none, or not ours: leave it alone */
            continue;
        }

        if (tt_hls_resumable(hls, mtime)) {
            if (l.n > 0 && l.segs[l.n - 1].msn + 1 > *next) {
                *next = l.segs[l.n - 1].msn + 1;
            }

            if (!ended) {
                (void) tt_hls_write_media(path, &l, 0, TT_PL_LIVE_END);
            }

        } else if (!hls->vod_same) {
            unlink(path);
            tt_hls_remove_segments(dir, INT64_MAX);
            (void) rmdir(dir);
        }

        tt_seglist_free(&l);
    }

    closedir(d);

    return 0;
}


/*
 * Whether what the last run left in --out is continued: with
 * --broadcast, when its status.json names the same broadcast; without,
 * when the file (a playlist, status.json) is recent enough.
 */

static int
tt_hls_resumable(tt_hls_t *hls, time_t mtime)
{
    if (hls->conf->fresh) {
        return 0;
    }

    if (hls->conf->broadcast != NULL) {
        return hls->prev.found
               && strcmp(hls->prev.broadcast, hls->conf->broadcast) == 0;
    }

    return time(NULL) - mtime <= hls->conf->resume_within;
}


/* removes "seg_<n>.ts" files with n < below from a rung directory */

static void
tt_hls_remove_segments(const char *dir, int64_t below)
{
    DIR            *d;
    char            path[PATH_MAX], tail[8];
    long long       n;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {
        if (sscanf(de->d_name, "seg_%lld.%7s", &n, tail) != 2
            || strcmp(tail, "ts") != 0 || n >= below)
        {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (unlink(path) == -1 && errno != ENOENT) {
            tt_log(TT_LOG_WARN, "hls: cannot remove \"%s\": %s",
                   path, strerror(errno));
        }
    }

    closedir(d);
}


/*
 * Reads one of our own media playlists back.  Returns 1 when parsed,
 * 0 when there is no such file, -1 when it is not ours or unreadable.
 */

static int
tt_hls_parse(const char *path, tt_seglist_t *l, char *bcast, size_t len,
    time_t *mtime, int *ended)
{
    int          disc, rc;
    FILE        *f;
    char        *line, *slash, dir[TT_HLS_DIR_LEN], seg[PATH_MAX];
    size_t       size;
    ssize_t      n;
    double       duration, pdt;
    int64_t      ds;
    tt_seg_t     s;
    long long    msn;
    struct tm    tm;
    struct stat  st;

    bcast[0] = '\0';
    *ended = 0;

    f = fopen(path, "r");
    if (f == NULL) {
        return errno == ENOENT ? 0 : -1;
    }

    if (fstat(fileno(f), &st) == 0) {
        *mtime = st.st_mtime;
    }

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
    }

    line = NULL;
    size = 0;
    rc = -1;
    disc = 0;
    duration = -1;
    pdt = 0;
    ds = 0;

    while ((n = getline(&line, &size, f)) != -1) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }

        if (n == 0) {
            continue;
        }

        if (strcmp(line, "#EXTM3U") == 0) {
            rc = 1;

        } else if (strncmp(line, TT_HLS_OLD_MARK,
                           sizeof(TT_HLS_OLD_MARK) - 1) == 0)
        {
            snprintf(bcast, len, "%s", line + sizeof(TT_HLS_OLD_MARK) - 1);

        } else if (sscanf(line, "#EXT-X-TARGETDURATION:%d", &l->target)
                   == 1)
        {
            /* parsed */

        } else if (sscanf(line, "#EXT-X-DISCONTINUITY-SEQUENCE:%lld", &msn)
                   == 1)
        {
            ds = msn;

        } else if (strcmp(line, "#EXT-X-DISCONTINUITY") == 0) {
            disc = 1;

        } else if (strcmp(line, "#EXT-X-ENDLIST") == 0) {
            *ended = 1;

        } else if (sscanf(line, "#EXTINF:%lf", &duration) == 1) {
            /* parsed */

        } else if (strncmp(line, "#EXT-X-PROGRAM-DATE-TIME:", 25) == 0) {
            memset(&tm, 0, sizeof(tm));
            if (strptime(line + 25, "%Y-%m-%dT%H:%M:%S", &tm) != NULL) {
                pdt = (double) timegm(&tm);
                slash = strchr(line + 25, '.');
                if (slash != NULL) {
                    pdt += atof(slash);
                }
            }

        } else if (line[0] != '#') {
            if (sscanf(line, "seg_%lld.ts", &msn) != 1 || duration < 0) {
                rc = -1;
                break;
            }

            s.msn = msn;
            s.duration = duration;
            s.pdt = pdt;
            s.disc = disc;
            s.bytes = 0;

            snprintf(seg, sizeof(seg), "%s/%s", dir, line);
            if (stat(seg, &st) == 0) {
                s.bytes = st.st_size;
            }

            if (tt_seglist_add(l, &s) != 0) {
                rc = -1;
                break;
            }

            disc = 0;
            duration = -1;
            pdt = 0;
        }
    }

    free(line);
    fclose(f);

    l->ds = ds;

    if (rc < 0) {
        tt_log(TT_LOG_WARN, "hls: \"%s\" is not a playlist of ours", path);
        tt_seglist_free(l);
    }

    return rc;
}


/*
 * A source frame was demuxed: decide whether it starts a segment.
 * Returns 1 if it does, 0 if not, -1 if it comes before the first
 * keyframe (and should be dropped).
 */

int
tt_hls_cut(tt_hls_t *hls, int64_t pts, int key)
{
    int  rc;

    pthread_mutex_lock(&hls->mutex);
    rc = tt_hls_cut_locked(hls, pts, key);
    pthread_mutex_unlock(&hls->mutex);

    return rc;
}


static int
tt_hls_cut_locked(tt_hls_t *hls, int64_t pts, int key)
{
    int64_t   start, d, len, *b;

    if (pts == AV_NOPTS_VALUE) {
        return hls->nbounds > 0 ? 0 : -1;
    }

    if (hls->nbounds > 0) {
        start = hls->bounds[hls->nbounds - 1];
        d = pts - start;
        len = (int64_t) hls->conf->segment * TT_HZ;

        if (d <= 0 || !((key && d >= len - len / 10) || d >= 2 * len)) {
            return 0;
        }

        if (!key && !hls->keyless_warned) {
            hls->keyless_warned = 1;
            tt_log(TT_LOG_WARN, "hls: the source has no keyframe for %d s; "
                   "cutting the source rung between keyframes (set the "
                   "encoder's keyframe interval to %d s)",
                   2 * hls->conf->segment, hls->conf->segment);
        }

    } else if (!key) {
        return -1;

    } else {
        hls->wall0 = tt_wall_time();
    }

    if (hls->nbounds == hls->bsize) {
        hls->bsize = hls->bsize ? hls->bsize * 2 : 256;
        b = realloc(hls->bounds, hls->bsize * sizeof(int64_t));
        if (b == NULL) {
            tt_log(TT_LOG_ERR, "hls: out of memory");
            return -1;
        }

        hls->bounds = b;
    }

    hls->bounds[hls->nbounds++] = pts;

    return 1;
}


/*
 * Decoded frames come in presentation order: the first frame at or past
 * a boundary is the one that gets a forced IDR frame in every rung.
 */

int
tt_hls_is_boundary(tt_hls_t *hls, int64_t pts)
{
    int  rc;

    pthread_mutex_lock(&hls->mutex);

    rc = 0;

    if (hls->check < hls->nbounds && pts >= hls->bounds[hls->check]) {
        while (hls->check < hls->nbounds
               && pts >= hls->bounds[hls->check])
        {
            hls->check++;
        }

        rc = 1;
    }

    pthread_mutex_unlock(&hls->mutex);

    return rc;
}


void
tt_hls_video_end(tt_hls_t *hls, int64_t end)
{
    pthread_mutex_lock(&hls->mutex);

    if (hls->video_end == AV_NOPTS_VALUE || end > hls->video_end) {
        hls->video_end = end;
    }

    pthread_mutex_unlock(&hls->mutex);
}


int
tt_hls_video(tt_hls_rung_t *r, AVPacket *pkt)
{
    int  rc;

    pthread_mutex_lock(&r->hls->mutex);

    rc = tt_pktq_push(&r->vq, pkt) != 0 ? AVERROR(ENOMEM)
                                        : tt_hls_drain(r, 0);

    pthread_mutex_unlock(&r->hls->mutex);

    return rc;
}


int
tt_hls_audio(tt_hls_rung_t *r, AVPacket *pkt)
{
    int  rc;

    if (r->ast == NULL) {
        av_packet_unref(pkt);
        return 0;
    }

    pthread_mutex_lock(&r->hls->mutex);

    rc = tt_pktq_push(&r->aq, pkt) != 0 ? AVERROR(ENOMEM)
                                        : tt_hls_drain(r, 0);

    pthread_mutex_unlock(&r->hls->mutex);

    return rc;
}


/*
 * Interleaves the two queues of a rung by time.  A video packet that
 * starts a segment sorts by its PTS, so every audio packet before the
 * cut stays in the old segment.  A stream that is late is waited for
 * up to TT_HLS_MAX_WAIT of the other one.
 */

static int
tt_hls_drain(tt_hls_rung_t *r, int final)
{
    int        rc, video;
    int64_t    vkey;
    AVPacket  *v, *a;
    tt_hls_t  *hls;

    hls = r->hls;

    for ( ;; ) {
        v = tt_pktq_peek(&r->vq);
        a = tt_pktq_peek(&r->aq);

        if (v == NULL && a == NULL) {
            return 0;
        }

        if (v != NULL && a != NULL) {
            vkey = v->dts != AV_NOPTS_VALUE ? v->dts : v->pts;

            if (r->open && r->cur + 1 < hls->nbounds
                && v->pts >= hls->bounds[r->cur + 1])
            {
                vkey = v->pts;
            }

            video = !(a->pts < vkey);

        } else if (v != NULL) {
            if (!final && r->ast != NULL
                && tt_pktq_span(&r->vq) < TT_HLS_MAX_WAIT)
            {
                return 0;
            }

            video = 1;

        } else {
            if (!final && tt_pktq_span(&r->aq) < TT_HLS_MAX_WAIT) {
                return 0;
            }

            video = 0;
        }

        if (video) {
            v = tt_pktq_pop(&r->vq);
            rc = tt_hls_write_video(r, v);
            av_packet_free(&v);

        } else {
            a = tt_pktq_pop(&r->aq);
            rc = tt_hls_write_audio(r, a);
            av_packet_free(&a);
        }

        if (rc < 0) {
            return rc;
        }
    }
}


static int
tt_hls_write_video(tt_hls_rung_t *r, AVPacket *pkt)
{
    int        k, rc;
    int64_t    dts;
    tt_hls_t  *hls;

    hls = r->hls;

    if (pkt->pts == AV_NOPTS_VALUE || hls->nbounds == 0
        || pkt->pts < hls->bounds[0])
    {
        return 0;
    }

    dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;

    if (r->last_vdts != AV_NOPTS_VALUE && dts <= r->last_vdts) {
        tt_log(TT_LOG_DEBUG, "hls: %s: dropped a video packet with "
               "non-monotonic DTS", r->name);
        return 0;
    }

    r->last_vdts = dts;

    k = r->open ? r->cur : 0;
    while (k + 1 < hls->nbounds && pkt->pts >= hls->bounds[k + 1]) {
        k++;
    }

    if (r->open && k != r->cur) {
        rc = tt_hls_close_segment(r, hls->bounds[k], 0);
        if (rc < 0) {
            return rc;
        }
    }

    if (!r->open) {
        rc = tt_hls_open_segment(r, k);
        if (rc < 0) {
            return rc;
        }
    }

    if (r->codecs[0] == '\0') {
        (void) tt_h264_codecs(pkt->data, pkt->size, r->codecs,
                              sizeof(r->codecs));
    }

    return tt_hls_mux(r, r->vst, pkt);
}


static int
tt_hls_write_audio(tt_hls_rung_t *r, AVPacket *pkt)
{
    int64_t  dts;

    if (!r->open || pkt->pts == AV_NOPTS_VALUE) {
        /* before the first video keyframe */
        return 0;
    }

    dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;

    if (r->last_adts != AV_NOPTS_VALUE && dts <= r->last_adts) {
        tt_log(TT_LOG_DEBUG, "hls: %s: dropped an audio packet with "
               "non-monotonic DTS", r->name);
        return 0;
    }

    r->last_adts = dts;

    return tt_hls_mux(r, r->ast, pkt);
}


static int
tt_hls_mux(tt_hls_rung_t *r, AVStream *st, AVPacket *pkt)
{
    int      rc;
    int64_t  off;

    off = TT_HLS_TS_OFFSET - r->hls->bounds[0];

    pkt->stream_index = st->index;
    pkt->pts += off;
    if (pkt->dts != AV_NOPTS_VALUE) {
        pkt->dts += off;
    }

    av_packet_rescale_ts(pkt, TT_TB, st->time_base);

    rc = av_write_frame(r->mux, pkt);
    if (rc < 0) {
        tt_log(TT_LOG_ERR, "hls: %s: cannot write a packet: %s",
               r->name, tt_err(rc));
        return rc;
    }

    return 0;
}


static void
tt_hls_segment_path(char *buf, size_t len, const char *dir, int64_t msn)
{
    snprintf(buf, len, "%s/seg_%lld.ts", dir, (long long) msn);
}


static int
tt_hls_open_segment(tt_hls_rung_t *r, int bound)
{
    int   rc;
    char  path[PATH_MAX];

    tt_hls_segment_path(path, sizeof(path), r->dir,
                        r->hls->msn_base + r->count);

    rc = avio_open(&r->mux->pb, path, AVIO_FLAG_WRITE);
    if (rc < 0) {
        tt_log(TT_LOG_ERR, "hls: cannot create \"%s\": %s", path,
               tt_err(rc));
        return rc;
    }

    if (!r->header) {
        rc = avformat_write_header(r->mux, NULL);
        if (rc < 0) {
            tt_log(TT_LOG_ERR, "hls: %s: cannot start the MPEG-TS muxer: "
                   "%s", r->name, tt_err(rc));
            return rc;
        }

        r->header = 1;

    } else {
        /* PAT and PMT at the start of every segment */
        (void) av_opt_set(r->mux->priv_data, "mpegts_flags",
                          "+resend_headers", 0);
    }

    r->open = 1;
    r->cur = bound;

    return 0;
}


static int
tt_hls_close_segment(tt_hls_rung_t *r, int64_t end, int final)
{
    int        rc;
    tt_seg_t   seg;
    tt_hls_t  *hls;

    hls = r->hls;

    rc = final ? av_write_trailer(r->mux) : av_write_frame(r->mux, NULL);
    if (rc < 0) {
        tt_log(TT_LOG_ERR, "hls: %s: cannot finish a segment: %s",
               r->name, tt_err(rc));
        return rc;
    }

    avio_flush(r->mux->pb);
    seg.bytes = avio_tell(r->mux->pb);

    rc = r->mux->pb->error;
    avio_closep(&r->mux->pb);
    r->open = 0;

    if (rc < 0) {
        tt_log(TT_LOG_ERR, "hls: %s: writing a segment failed: %s",
               r->name, tt_err(rc));
        return rc;
    }

    seg.msn = hls->msn_base + r->count;
    seg.duration = (double) (end - hls->bounds[r->cur]) / TT_HZ;
    seg.pdt = hls->wall0
              + (double) (hls->bounds[r->cur] - hls->bounds[0]) / TT_HZ;
    seg.disc = 0;

    if (seg.duration <= 0) {
        seg.duration = 0.001;
    }

    r->count++;

    return tt_hls_segment_done(r, &seg, final);
}


static int
tt_hls_link_vod(tt_hls_rung_t *r, int64_t msn)
{
    char  from[PATH_MAX], to[PATH_MAX];

    if (r->hls->vod_same) {
        return 0;
    }

    tt_hls_segment_path(from, sizeof(from), r->dir, msn);
    tt_hls_segment_path(to, sizeof(to), r->vod_dir, msn);

    (void) unlink(to);

    if (link(from, to) == 0) {
        return 0;
    }

    if (errno == EXDEV || errno == EPERM || errno == EMLINK) {
        if (tt_copy_file(from, to) == 0) {
            return 0;
        }
    }

    tt_log(TT_LOG_ERR, "hls: cannot keep \"%s\" as \"%s\": %s",
           from, to, strerror(errno));

    return -1;
}


/*
 * A segment of a rung is complete: list it, keep it for the VOD, retire
 * what left the live window, and publish the master once every rung has
 * a segment.
 */

static int
tt_hls_segment_done(tt_hls_rung_t *r, tt_seg_t *seg, int final)
{
    int        i, drop, write_vod;
    char       path[PATH_MAX];
    int64_t    peak, average;
    tt_hls_t  *hls;

    hls = r->hls;

    seg->disc = r->count == 1 && r->live_resumed;
    if (tt_seglist_add(&r->live, seg) != 0) {
        return AVERROR(ENOMEM);
    }

    tt_log(TT_LOG_DEBUG, "hls: %s: segment %lld, %.3f s, %lld bytes",
           r->name, (long long) seg->msn, seg->duration,
           (long long) seg->bytes);

    if (hls->vod) {
        if (tt_hls_link_vod(r, seg->msn) != 0) {
            return AVERROR(EIO);
        }

        seg->disc = r->count == 1 && r->vod_resumed;
        if (tt_seglist_add(&r->vod, seg) != 0) {
            return AVERROR(ENOMEM);
        }

        r->vod_unsaved++;
    }

    /* RFC 8216 6.2.2: keep a removed segment for its duration plus the
     * playlist's before deleting it */

    drop = r->live.n - hls->conf->window - hls->grace;

    for (i = 0; i < drop && !hls->vod_same; i++) {
        tt_hls_segment_path(path, sizeof(path), r->dir, r->live.segs[i].msn);
        if (unlink(path) == -1 && errno != ENOENT) {
            tt_log(TT_LOG_WARN, "hls: cannot remove \"%s\": %s",
                   path, strerror(errno));
        }
    }

    if (drop > 0) {
        tt_seglist_drop(&r->live, drop);
    }

    snprintf(path, sizeof(path), "%s/live.m3u8", r->dir);

    if (tt_hls_write_media(path, &r->live,
                           r->live.n > hls->conf->window
                           ? r->live.n - hls->conf->window : 0,
                           final ? TT_PL_LIVE_END : TT_PL_LIVE)
        != 0)
    {
        return AVERROR(EIO);
    }

    if (hls->vod) {
        write_vod = final || r->vod.n <= TT_HLS_VOD_EVERY
                    || r->vod_unsaved >= hls->conf->window;

        if (write_vod) {
            snprintf(path, sizeof(path), "%s/vod.m3u8", r->vod_dir);
            if (tt_hls_write_media(path, &r->vod, 0,
                                   final ? TT_PL_VOD : TT_PL_EVENT)
                != 0)
            {
                return AVERROR(EIO);
            }

            r->vod_unsaved = 0;
        }
    }

    /* measured bit rates */
    peak = tt_seglist_peak(&r->live, 0);
    if (peak > r->peak) {
        r->peak = peak;
    }

    /* declared figures are estimates: never say less than measured */
    average = tt_seglist_average(&r->live, 0);
    if (!r->declared || average > r->average) {
        r->average = average;
    }

    if (final) {
        return 0;
    }

    if (r == hls->rungs[0]) {
        tt_hls_write_status(hls, "live");
    }

    for (i = 0; i < hls->nrungs; i++) {
        if (hls->rungs[i]->count == 0) {
            return 0;
        }
    }

    if (!hls->master || r->peak > r->master_peak + r->master_peak / 10) {
        if (!hls->master) {
            tt_log(TT_LOG_INFO, "hls: live, %d rungs, master playlist "
                   "\"%s/master.m3u8\"", hls->nrungs, hls->conf->out);
        }

        if (tt_hls_write_master(hls, 0) != 0
            || (hls->vod && tt_hls_write_master(hls, 1) != 0))
        {
            return AVERROR(EIO);
        }

        hls->master = 1;
    }

    return 0;
}


static void
tt_hls_format_pdt(char *buf, size_t len, double t)
{
    int        ms;
    time_t     sec;
    struct tm  tm;

    sec = (time_t) t;
    ms = (int) ((t - (double) sec) * 1000);
    if (ms > 999) {
        ms = 999;
    }

    gmtime_r(&sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}


static int
tt_hls_write_media(const char *path, tt_seglist_t *l, int from,
    tt_pl_type_e type)
{
    int          i, rc, target;
    char         pdt[64];
    int64_t      ds;
    tt_buf_t     b;
    tt_seg_t    *s;

    target = l->target;
    for (i = from; i < l->n; i++) {
        if (lround(l->segs[i].duration) > target) {
            target = (int) lround(l->segs[i].duration);
        }
    }

    /* EXT-X-TARGETDURATION must not change: only ever raise it */
    l->target = target;

    ds = l->ds;
    for (i = 0; i < from; i++) {
        ds += l->segs[i].disc;
    }

    memset(&b, 0, sizeof(b));

    tt_buf_printf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n"
                  "#EXT-X-TARGETDURATION:%d\n", target);

    if (type == TT_PL_EVENT) {
        tt_buf_printf(&b, "#EXT-X-PLAYLIST-TYPE:EVENT\n");

    } else if (type == TT_PL_VOD) {
        tt_buf_printf(&b, "#EXT-X-PLAYLIST-TYPE:VOD\n");
    }

    tt_buf_printf(&b, "#EXT-X-MEDIA-SEQUENCE:%lld\n",
                  (long long) (l->n > from ? l->segs[from].msn : 0));

    if (ds > 0) {
        tt_buf_printf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%lld\n",
                      (long long) ds);
    }

    for (i = from; i < l->n; i++) {
        s = &l->segs[i];

        if (s->disc) {
            tt_buf_printf(&b, "#EXT-X-DISCONTINUITY\n");
        }

        if (s->pdt > 0) {
            tt_hls_format_pdt(pdt, sizeof(pdt), s->pdt);
            tt_buf_printf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", pdt);
        }

        tt_buf_printf(&b, "#EXTINF:%.3f,\nseg_%lld.ts\n", s->duration,
                      (long long) s->msn);
    }

    if (type == TT_PL_VOD || type == TT_PL_LIVE_END) {
        tt_buf_printf(&b, "#EXT-X-ENDLIST\n");
    }

    if (b.failed) {
        tt_buf_free(&b);
        tt_log(TT_LOG_ERR, "hls: out of memory");
        return -1;
    }

    rc = tt_write_file_atomic(path, b.data, b.len);
    tt_buf_free(&b);

    if (rc != 0) {
        tt_log(TT_LOG_ERR, "hls: cannot write \"%s\": %s", path,
               strerror(errno));
        return -1;
    }

    return 0;
}


static int
tt_hls_write_master(tt_hls_t *hls, int vod)
{
    int             i, rc;
    char            path[PATH_MAX], codecs[128];
    int64_t         peak, average;
    tt_buf_t        b;
    tt_hls_rung_t  *r;

    memset(&b, 0, sizeof(b));

    tt_buf_printf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n");

    for (i = 0; i < hls->nrungs; i++) {
        r = hls->rungs[i];

        if (vod) {
            /* exact figures over everything that was kept */
            peak = tt_seglist_peak(&r->vod, 0);
            average = tt_seglist_average(&r->vod, 0);

        } else {
            peak = r->peak;
            average = r->average;
            r->master_peak = peak;
        }

        if (peak <= 0 || average <= 0) {
            continue;
        }

        if (average > peak) {
            average = peak;
        }

        if (r->acodecs != NULL) {
            snprintf(codecs, sizeof(codecs), "%s,%s",
                     r->codecs[0] ? r->codecs : "avc1.640028", r->acodecs);

        } else {
            snprintf(codecs, sizeof(codecs), "%s",
                     r->codecs[0] ? r->codecs : "avc1.640028");
        }

        tt_buf_printf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%lld,"
                      "AVERAGE-BANDWIDTH=%lld,RESOLUTION=%dx%d,"
                      "FRAME-RATE=%.3f,CODECS=\"%s\"\n%s/%s.m3u8\n",
                      (long long) peak, (long long) average,
                      r->width, r->height, av_q2d(r->fps), codecs,
                      r->name, vod ? "vod" : "live");
    }

    if (b.failed) {
        tt_buf_free(&b);
        tt_log(TT_LOG_ERR, "hls: out of memory");
        return -1;
    }

    snprintf(path, sizeof(path), "%s/%s",
             vod ? hls->vod_dir : hls->conf->out,
             vod ? "vod.m3u8" : "master.m3u8");

    rc = tt_write_file_atomic(path, b.data, b.len);
    tt_buf_free(&b);

    if (rc != 0) {
        tt_log(TT_LOG_ERR, "hls: cannot write \"%s\": %s", path,
               strerror(errno));
        return -1;
    }

    return 0;
}


/* "status.json": what the nginx side shows as transcoder health */

static void
tt_hls_write_status(tt_hls_t *hls, const char *state)
{
    int             i;
    char            path[PATH_MAX];
    double          media, wall;
    tt_buf_t        b;
    tt_hls_rung_t  *r;

    media = 0;
    if (hls->nbounds > 0 && hls->nrungs > 0) {
        r = hls->rungs[0];
        if (r->live.n > 0) {
            media = (double) (hls->bounds[r->cur] - hls->bounds[0]) / TT_HZ
                    + r->live.segs[r->live.n - 1].duration;
        }
    }

    wall = tt_mono_time() - hls->mono0;

    memset(&b, 0, sizeof(b));

    tt_buf_printf(&b, "{\"state\":\"%s\",\"pid\":%d,\"broadcast\":",
                  state, (int) getpid());
    tt_buf_json(&b, hls->conf->broadcast ? hls->conf->broadcast : "");
    tt_buf_printf(&b, ",\"media_sequence\":%lld,\"segments\":%lld,"
                  "\"media_time\":%.3f,\"speed\":%.3f,\"updated\":%lld,"
                  "\"vod_dir\":",
                  (long long) hls->msn_base,
                  (long long) (hls->nrungs ? hls->rungs[0]->count : 0),
                  media, wall > 0 ? media / wall : 0,
                  (long long) time(NULL));
    tt_buf_json(&b, hls->vod ? hls->vod_dir : "");
    tt_buf_printf(&b, ",\"rungs\":[");

    for (i = 0; i < hls->nrungs; i++) {
        tt_buf_printf(&b, "%s\"%s\"", i ? "," : "", hls->rungs[i]->name);
    }

    tt_buf_printf(&b, "]}\n");

    snprintf(path, sizeof(path), "%s/status.json", hls->conf->out);

    if (!b.failed && tt_write_file_atomic(path, b.data, b.len) != 0) {
        tt_log(TT_LOG_WARN, "hls: cannot write \"%s\": %s", path,
               strerror(errno));
    }

    tt_buf_free(&b);

    if (strcmp(state, "live") == 0 && hls->nrungs > 0) {
        tt_log(TT_LOG_INFO, "hls: segment %lld, media %.1f s, speed %.2fx",
               (long long) (hls->msn_base + hls->rungs[0]->count - 1),
               media, wall > 0 ? media / wall : 0);
    }
}


/*
 * The VOD directory's own status.json (not served either): whose VOD
 * it is, so that another broadcast never writes into it.
 */

static void
tt_hls_write_vod_status(tt_hls_t *hls)
{
    char      path[PATH_MAX];
    tt_buf_t  b;

    memset(&b, 0, sizeof(b));

    tt_buf_printf(&b, "{\"broadcast\":");
    tt_buf_json(&b, hls->conf->broadcast ? hls->conf->broadcast : "");
    tt_buf_printf(&b, ",\"updated\":%lld}\n", (long long) time(NULL));

    snprintf(path, sizeof(path), "%s/status.json", hls->vod_dir);

    if (!b.failed && tt_write_file_atomic(path, b.data, b.len) != 0) {
        tt_log(TT_LOG_WARN, "hls: cannot write \"%s\": %s", path,
               strerror(errno));
    }

    tt_buf_free(&b);
}


/* a JSON string */

static void
tt_buf_json(tt_buf_t *b, const char *s)
{
    unsigned char  c;

    tt_buf_printf(b, "\"");

    for ( /* void */ ; *s != '\0'; s++) {
        c = (unsigned char) *s;

        if (c == '"' || c == '\\') {
            tt_buf_printf(b, "\\%c", c);

        } else if (c < 0x20) {
            tt_buf_printf(b, "\\u%04x", c);

        } else {
            tt_buf_printf(b, "%c", c);
        }
    }

    tt_buf_printf(b, "\"");
}


/*
 * Reads DIR/status.json back (only ever our own): the broadcast and the
 * VOD directory.  Returns 1 when read, 0 when there is none, -1 when it
 * cannot be read.
 */

static int
tt_hls_read_state(const char *dir, tt_hls_state_t *st)
{
    int          fd;
    char         path[PATH_MAX], buf[2 * PATH_MAX];
    ssize_t      n;
    struct stat  sb;

    memset(st, 0, sizeof(tt_hls_state_t));

    snprintf(path, sizeof(path), "%s/status.json", dir);

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        return errno == ENOENT ? 0 : -1;
    }

    n = -1;

    if (fstat(fd, &sb) == 0) {
        st->mtime = sb.st_mtime;
        n = read(fd, buf, sizeof(buf) - 1);
    }

    close(fd);

    if (n < 0) {
        return -1;
    }

    buf[n] = '\0';

    if (tt_json_string(buf, "broadcast", st->broadcast,
                       sizeof(st->broadcast)) != 0)
    {
        return -1;
    }

    if (tt_json_string(buf, "vod_dir", st->vod_dir, sizeof(st->vod_dir))
        < 0)
    {
        return -1;
    }

    st->found = 1;

    return 1;
}


/*
 * The string value of a top-level "key" in JSON we wrote ourselves.
 * Returns 0, 1 when there is no such key, -1 when it is malformed or
 * does not fit.
 */

static int
tt_json_string(const char *json, const char *key, char *out, size_t len)
{
    char          pat[64];
    size_t        n;
    unsigned      u;
    const char   *p;

    snprintf(pat, sizeof(pat), "\"%s\":\"", key);

    p = strstr(json, pat);
    if (p == NULL) {
        out[0] = '\0';
        return 1;
    }

    p += strlen(pat);
    n = 0;

    while (*p != '"') {
        if (*p == '\0' || n + 1 >= len) {
            return -1;
        }

        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }

        p++;

        if (*p == 'u') {
            if (sscanf(p + 1, "%4x", &u) != 1 || u == 0 || u > 0x7f) {
                return -1;
            }

            out[n++] = (char) u;
            p += 5;

        } else if (*p == '"' || *p == '\\' || *p == '/') {
            out[n++] = *p++;

        } else {
            return -1;
        }
    }

    out[n] = '\0';

    return 0;
}


/*
 * The end of the broadcast (EOF, a signal, or an error): write out
 * what is queued, close the last, shorter segment and end every
 * playlist with EXT-X-ENDLIST.
 */

int
tt_hls_finish(tt_hls_t *hls, int ok)
{
    int             i, rc, failed;
    char            path[PATH_MAX];
    int64_t         end;
    tt_hls_rung_t  *r;

    /* the workers are gone by now; the lock is for form's sake */
    pthread_mutex_lock(&hls->mutex);

    failed = 0;

    for (i = 0; i < hls->nrungs; i++) {
        r = hls->rungs[i];

        if (ok && tt_hls_drain(r, 1) < 0) {
            failed = 1;
        }

        if (r->open) {
            end = hls->video_end;
            if (end == AV_NOPTS_VALUE || end <= hls->bounds[r->cur]) {
                end = hls->bounds[r->cur] + 1;
            }

            if (tt_hls_close_segment(r, end, 1) < 0) {
                failed = 1;
            }

            continue;
        }

        /* nothing new, but a resumed playlist still has to end */
        if (r->live.n > 0) {
            snprintf(path, sizeof(path), "%s/live.m3u8", r->dir);
            rc = tt_hls_write_media(path, &r->live,
                                    r->live.n > hls->conf->window
                                    ? r->live.n - hls->conf->window : 0,
                                    TT_PL_LIVE_END);
            failed |= rc != 0;
        }

        if (hls->vod && r->vod.n > 0) {
            snprintf(path, sizeof(path), "%s/vod.m3u8", r->vod_dir);
            rc = tt_hls_write_media(path, &r->vod, 0, TT_PL_VOD);
            failed |= rc != 0;
        }
    }

    for (i = 0; i < hls->nrungs; i++) {
        if (hls->rungs[i]->live.n == 0) {
            break;
        }
    }

    if (hls->nrungs > 0 && i == hls->nrungs) {
        if (tt_hls_write_master(hls, 0) != 0) {
            failed = 1;
        }

        if (hls->vod && tt_hls_write_master(hls, 1) != 0) {
            failed = 1;
        }
    }

    tt_hls_write_status(hls, ok && !failed ? "ended" : "failed");

    if (hls->nrungs > 0) {
        tt_log(TT_LOG_INFO, "hls: ended after %lld segments",
               (long long) hls->rungs[0]->count);
    }

    pthread_mutex_unlock(&hls->mutex);

    return failed ? -1 : 0;
}


void
tt_hls_free(tt_hls_t *hls)
{
    int             i;
    tt_hls_rung_t  *r;

    if (hls == NULL) {
        return;
    }

    for (i = 0; i < hls->nrungs; i++) {
        r = hls->rungs[i];
        if (r == NULL) {
            continue;
        }

        if (r->mux != NULL) {
            if (r->mux->pb != NULL) {
                avio_closep(&r->mux->pb);
            }

            avformat_free_context(r->mux);
        }

        tt_pktq_free(&r->vq);
        tt_pktq_free(&r->aq);
        tt_seglist_free(&r->live);
        tt_seglist_free(&r->vod);
        free(r);
    }

    pthread_mutex_destroy(&hls->mutex);
    free(hls->bounds);
    free(hls);
}


/* packet queues: the packets' references move in and out */

static int
tt_pktq_push(tt_pktq_t *q, AVPacket *pkt)
{
    int         i, size;
    AVPacket   *p, **pkts;

    if (q->n == q->size) {
        size = q->size ? q->size * 2 : 64;
        pkts = malloc(size * sizeof(AVPacket *));
        if (pkts == NULL) {
            av_packet_unref(pkt);
            return -1;
        }

        for (i = 0; i < q->n; i++) {
            pkts[i] = q->pkts[(q->head + i) % q->size];
        }

        free(q->pkts);
        q->pkts = pkts;
        q->size = size;
        q->head = 0;
    }

    p = av_packet_alloc();
    if (p == NULL) {
        av_packet_unref(pkt);
        return -1;
    }

    av_packet_move_ref(p, pkt);
    q->pkts[(q->head + q->n) % q->size] = p;
    q->n++;

    return 0;
}


static AVPacket *
tt_pktq_peek(tt_pktq_t *q)
{
    return q->n ? q->pkts[q->head] : NULL;
}


static AVPacket *
tt_pktq_pop(tt_pktq_t *q)
{
    AVPacket  *p;

    if (q->n == 0) {
        return NULL;
    }

    p = q->pkts[q->head];
    q->head = (q->head + 1) % q->size;
    q->n--;

    return p;
}


static int64_t
tt_pktq_span(tt_pktq_t *q)
{
    AVPacket  *first, *last;

    if (q->n < 2) {
        return 0;
    }

    first = q->pkts[q->head];
    last = q->pkts[(q->head + q->n - 1) % q->size];

    return last->pts - first->pts;
}


static void
tt_pktq_free(tt_pktq_t *q)
{
    AVPacket  *p;

    while ((p = tt_pktq_pop(q)) != NULL) {
        av_packet_free(&p);
    }

    free(q->pkts);
    q->pkts = NULL;
    q->size = 0;
}


static int
tt_seglist_add(tt_seglist_t *l, const tt_seg_t *seg)
{
    int        size;
    tt_seg_t  *segs;

    if (l->n == l->size) {
        size = l->size ? l->size * 2 : 32;
        segs = realloc(l->segs, size * sizeof(tt_seg_t));
        if (segs == NULL) {
            tt_log(TT_LOG_ERR, "hls: out of memory");
            return -1;
        }

        l->segs = segs;
        l->size = size;
    }

    l->segs[l->n++] = *seg;

    return 0;
}


static void
tt_seglist_drop(tt_seglist_t *l, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        l->ds += l->segs[i].disc;
    }

    memmove(l->segs, l->segs + n, (l->n - n) * sizeof(tt_seg_t));
    l->n -= n;
}


static void
tt_seglist_free(tt_seglist_t *l)
{
    free(l->segs);
    l->segs = NULL;
    l->n = 0;
    l->size = 0;
}


/*
 * The peak segment bit rate of draft-pantos-hls-rfc8216bis: the highest
 * bit rate of any run of contiguous segments lasting between 0.5 and
 * 1.5 target durations.
 */

static int64_t
tt_seglist_peak(const tt_seglist_t *l, int from)
{
    int      i, j;
    double   dur, lo, hi, rate, peak;
    int64_t  bytes;

    lo = 0.5 * l->target;
    hi = 1.5 * l->target;
    peak = 0;

    for (i = from; i < l->n; i++) {
        dur = 0;
        bytes = 0;

        for (j = i; j < l->n; j++) {
            dur += l->segs[j].duration;
            bytes += l->segs[j].bytes;

            if (dur > hi) {
                break;
            }

            if (dur >= lo) {
                rate = bytes * 8 / dur;
                if (rate > peak) {
                    peak = rate;
                }
            }
        }
    }

    if (peak == 0) {
        /* only a run too short to count: its own rate */
        return tt_seglist_average(l, from);
    }

    return (int64_t) ceil(peak);
}


static int64_t
tt_seglist_average(const tt_seglist_t *l, int from)
{
    int      i;
    double   dur;
    int64_t  bytes;

    dur = 0;
    bytes = 0;

    for (i = from; i < l->n; i++) {
        dur += l->segs[i].duration;
        bytes += l->segs[i].bytes;
    }

    if (dur <= 0) {
        return 0;
    }

    return (int64_t) ceil(bytes * 8 / dur);
}
