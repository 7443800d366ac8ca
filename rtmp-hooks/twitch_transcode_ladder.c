
/*
 * twitch_transcode: the ladder.  Every decoded source frame is offered
 * to each rung, which drops frames down to its frame rate cap, scales
 * (from the next larger rung's picture when it has the same frame) and
 * encodes with libx264.  Keyframes are forced on the segment boundaries
 * chosen by the segmenter and nowhere else.
 *
 * Scaling and encoding run in worker threads, one per CPU: the rungs
 * (largest first) are split into contiguous groups of about equal
 * pixel rate, and each group's worker takes reference-counted source
 * frames from a short queue.  The main thread keeps demuxing, decoding
 * and encoding audio meanwhile.  Every rung is scaled from the next
 * larger one (the cheapest chain: 720p -> 480p costs half of 1080p ->
 * 480p); a worker whose first rung's parent belongs to another worker
 * waits for that picture, handed over with the frame.  With the default
 * ladder on 2 CPUs one worker encodes 720p and the other 480p, 360p and
 * 160p.
 *
 * Audio is decoded once, resampled once to stereo float and encoded
 * once per distinct bit rate with the native AAC encoder; the packets
 * of an encode are shared by every rung that uses that bit rate, so the
 * audio of all rungs is sample-identical and costs one encode.
 */


#include <math.h>
#include <pthread.h>

#include <libavutil/audio_fifo.h>
#include <libavutil/cpu.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "twitch_transcode.h"
#include "twitch_transcode_input.h"
#include "twitch_transcode_hls.h"
#include "twitch_transcode_ladder.h"


#define TT_AAC_FRAME         1024

/* frames queued per worker before the main thread waits */
#define TT_JOBS              4

/* line and plane alignment of the pictures handed between workers */
#define TT_PIC_ALIGN         64


typedef struct tt_ladder_rung_s  tt_ladder_rung_t;

struct tt_ladder_rung_s {
    char                 name[TT_NAME_LEN];
    int                  width;
    int                  height;
    AVRational           fps;
    int                  decimate;      /* keep one frame in n */
    int64_t              step;          /* media time between frames */
    int64_t              next_keep;
    int64_t              last_pts;
    int64_t              bitrate;
    int64_t              audio_bitrate;
    int                  track;         /* audio encode, -1: none */
    int                  threads;

    tt_ladder_rung_t    *parent;        /* larger rung to scale from */
    int                  index;
    int                  worker;
    unsigned             remote:1;      /* parent in another worker */
    unsigned             shared:1;      /* a child in another worker */
    AVCodecContext      *enc;
    struct SwsContext   *sws;
    AVFrame             *pic;
    AVBufferPool        *pool;          /* pictures another worker reads */
    AVPacket            *pkt;
    int64_t              pic_pts;       /* what pic holds */
    tt_hls_rung_t       *hls;
};


/* a decoded source frame on its way through the workers */
typedef struct {
    AVFrame             *src;
    AVFrame             *pic[TT_MAX_RUNGS];  /* handed between workers */
    unsigned             mask;          /* rungs that keep this frame */
    unsigned             ready;         /* rungs done with it */
    int                  refs;          /* workers holding it */
} tt_frame_t;


typedef struct {
    tt_frame_t          *frame;
    int64_t              pts;
    unsigned             mask;          /* this worker's rungs that keep
                                           the frame */
    unsigned             boundary:1;
} tt_job_t;


typedef struct {
    tt_ladder_t         *ladder;
    int                  first;         /* rungs [first, last) */
    int                  last;

    pthread_t            tid;
    pthread_mutex_t      mutex;
    pthread_cond_t       cond;
    tt_job_t             jobs[TT_JOBS];
    int                  head;
    int                  n;
    int                  error;         /* AVERROR of a failure */
    unsigned             shared;        /* rungs with a remote child */
    int                  done;          /* under the ladder's mutex */
    unsigned             eof:1;
    unsigned             abort:1;
    unsigned             running:1;
} tt_worker_t;


typedef struct {
    int64_t              bitrate;
    AVCodecContext      *enc;
} tt_ladder_track_t;


struct tt_ladder_s {
    const tt_conf_t     *conf;
    tt_input_t          *in;
    tt_hls_t            *hls;

    tt_hls_rung_t       *source;        /* stream copy, NULL: none */
    int                  source_track;  /* -1: copies the source AAC */

    tt_ladder_rung_t     rungs[TT_MAX_RUNGS];
    int                  nrungs;

    tt_ladder_track_t    tracks[TT_MAX_RUNGS];
    int                  ntracks;

    tt_worker_t          workers[TT_MAX_RUNGS];
    int                  nworkers;

    /* pictures handed between workers */
    pthread_mutex_t      mutex;
    pthread_cond_t       cond;
    int                  sync;
    int                  abort;         /* under the mutex */

    SwrContext          *swr;
    AVAudioFifo         *fifo;
    AVFrame             *aframe;
    uint8_t            **abuf;
    int                  abuf_samples;
    int                  sample_rate;
    int64_t              fifo_pts;      /* 1/sample_rate */
    int64_t              next_in;

    AVPacket            *pkt;
    AVPacket            *tmp;
};


static int tt_ladder_plan(tt_ladder_t *l);
static int tt_ladder_open_audio(tt_ladder_t *l);
static int tt_ladder_open_video(tt_ladder_t *l, tt_ladder_rung_t *r);
static int tt_ladder_add_hls(tt_ladder_t *l);
static int tt_ladder_start_workers(tt_ladder_t *l);
static void tt_ladder_stop_workers(tt_ladder_t *l, int abort);
static void *tt_ladder_worker(void *data);
static void tt_ladder_release(tt_ladder_t *l, tt_frame_t *f,
    unsigned done);
static int tt_ladder_scale(tt_ladder_t *l, tt_ladder_rung_t *r,
    tt_frame_t *f, int64_t pts, int boundary);
static int tt_ladder_pic(tt_ladder_rung_t *r);
static int tt_ladder_encode_video(tt_ladder_rung_t *r, AVFrame *frame);
static int tt_ladder_encode_audio(tt_ladder_t *l, int nsamples);
static int tt_ladder_send_audio(tt_ladder_t *l, int t, AVFrame *frame);
static int tt_ladder_rung_cmp(const void *a, const void *b);


tt_ladder_t *
tt_ladder_create(const tt_conf_t *conf, tt_input_t *in, tt_hls_t *hls)
{
    int           i;
    tt_ladder_t  *l;

    l = av_mallocz(sizeof(tt_ladder_t));
    if (l == NULL) {
        tt_log(TT_LOG_ERR, "ladder: out of memory");
        return NULL;
    }

    l->conf = conf;
    l->in = in;
    l->hls = hls;
    l->source_track = -1;
    l->fifo_pts = AV_NOPTS_VALUE;
    l->next_in = AV_NOPTS_VALUE;

    l->pkt = av_packet_alloc();
    l->tmp = av_packet_alloc();
    if (l->pkt == NULL || l->tmp == NULL) {
        tt_log(TT_LOG_ERR, "ladder: out of memory");
        goto failed;
    }

    if (tt_ladder_plan(l) != 0) {
        goto failed;
    }

    if (tt_ladder_open_audio(l) != 0) {
        goto failed;
    }

    for (i = 0; i < l->nrungs; i++) {
        if (tt_ladder_open_video(l, &l->rungs[i]) != 0) {
            goto failed;
        }
    }

    if (tt_ladder_add_hls(l) != 0) {
        goto failed;
    }

    if (tt_ladder_start_workers(l) != 0) {
        goto failed;
    }

    return l;

failed:

    tt_ladder_free(l);

    return NULL;
}


/*
 * Which rungs this source gets: the configured ones strictly below the
 * source height, frame rates capped (60 -> 30 keeps every second
 * frame), duplicates after capping dropped.
 */

static int
tt_ladder_plan(tt_ladder_t *l)
{
    int                    i, j, n, fps, ncpu, g, groups;
    double                 dar, src_fps, share, total, rate;
    AVRational             sar;
    tt_worker_t           *w;
    tt_ladder_rung_t      *r;
    const tt_rung_conf_t  *rc;
    AVCodecParameters     *par;

    par = l->in->vst->codecpar;
    src_fps = av_q2d(l->in->fps);

    sar = par->sample_aspect_ratio;
    if (sar.num <= 0 || sar.den <= 0) {
        sar = (AVRational) { 1, 1 };
    }

    dar = (double) par->width * sar.num / ((double) par->height * sar.den);

    for (i = 0; i < l->conf->nrungs; i++) {
        rc = &l->conf->rungs[i];

        if (rc->height >= par->height) {
            tt_log(TT_LOG_INFO, "ladder: skipping %s, the source is %dp",
                   rc->name, par->height);
            continue;
        }

        n = (int) ceil(src_fps / rc->fps_cap - 0.01);
        if (n < 1) {
            n = 1;
        }

        r = &l->rungs[l->nrungs];
        memset(r, 0, sizeof(tt_ladder_rung_t));

        r->height = rc->height;
        r->width = 2 * (int) lround(rc->height * dar / 2);
        r->decimate = n;
        r->fps = av_div_q(l->in->fps, (AVRational) { n, 1 });
        r->step = n * l->in->frame_dur;
        r->next_keep = AV_NOPTS_VALUE;
        r->last_pts = AV_NOPTS_VALUE;
        r->bitrate = rc->bitrate;
        r->audio_bitrate = rc->audio_bitrate;
        r->track = -1;

        fps = (int) lround(av_q2d(r->fps));
        snprintf(r->name, sizeof(r->name), "%dp%d", r->height, fps);

        for (j = 0; j < l->nrungs; j++) {
            if (l->rungs[j].height == r->height
                && av_cmp_q(l->rungs[j].fps, r->fps) == 0)
            {
                break;
            }
        }

        if (j < l->nrungs) {
            tt_log(TT_LOG_INFO, "ladder: skipping %s, same as %s for a "
                   "%.3f fps source", rc->name, l->rungs[j].name, src_fps);
            continue;
        }

        l->nrungs++;
    }

    qsort(l->rungs, l->nrungs, sizeof(tt_ladder_rung_t),
          tt_ladder_rung_cmp);

    /*
     * Workers: contiguous groups of rungs with about equal pixel rates,
     * one group per CPU; a rung scales from the previous one only when
     * both are in the same group (the same thread).
     */

    ncpu = av_cpu_count();
    total = 0;

    for (i = 0; i < l->nrungs; i++) {
        r = &l->rungs[i];
        total += (double) r->width * r->height * av_q2d(r->fps);
    }

    groups = ncpu < l->nrungs ? ncpu : l->nrungs;
    i = 0;

    for (g = 0; g < groups; g++) {
        w = &l->workers[l->nworkers++];
        w->ladder = l;
        w->first = i;
        share = 0;

        /* leave at least one rung for each remaining group */
        while (i < l->nrungs - (groups - g - 1)) {
            rate = (double) l->rungs[i].width * l->rungs[i].height
                   * av_q2d(l->rungs[i].fps);

            if (i > w->first && g < groups - 1
                && share + rate / 2 > total / groups)
            {
                break;
            }

            share += rate;
            i++;
        }

        w->last = i;

        for (j = w->first; j < w->last; j++) {
            l->rungs[j].worker = g;
        }
    }

    /* the scaling chain: each rung from the next larger one */

    for (i = 0; i < l->nrungs; i++) {
        l->rungs[i].index = i;

        if (i > 0) {
            l->rungs[i].parent = &l->rungs[i - 1];
        }
    }

    for (g = 1; g < l->nworkers; g++) {
        i = l->workers[g].first;
        l->rungs[i].remote = 1;
        l->rungs[i - 1].shared = 1;
        l->workers[g - 1].shared |= 1u << (i - 1);
    }

    /*
     * x264's own frame threads only help when there are more CPUs than
     * workers; by default each encoder runs in its worker's thread.
     */

    for (i = 0; i < l->nrungs; i++) {
        l->rungs[i].threads = l->conf->threads > 0 ? l->conf->threads
                              : ncpu > groups ? (ncpu + groups - 1) / groups
                              : 1;
    }

    return 0;
}


static int
tt_ladder_rung_cmp(const void *a, const void *b)
{
    const tt_ladder_rung_t  *ra = a, *rb = b;

    if (ra->height != rb->height) {
        return rb->height - ra->height;
    }

    return av_cmp_q(rb->fps, ra->fps);
}


static int
tt_ladder_open_audio(tt_ladder_t *l)
{
    int                    i, t, rc, sr;
    AVStream              *ast;
    AVCodecContext        *enc, *dec;
    const AVCodec         *codec;
    AVChannelLayout        in_layout, out_layout = AV_CHANNEL_LAYOUT_STEREO;
    tt_ladder_rung_t      *r;

    ast = l->in->ast;

    if (ast == NULL) {
        return 0;
    }

    for (i = 0; i < l->nrungs; i++) {
        r = &l->rungs[i];

        for (t = 0; t < l->ntracks; t++) {
            if (l->tracks[t].bitrate == r->audio_bitrate) {
                break;
            }
        }

        if (t == l->ntracks) {
            l->tracks[l->ntracks++].bitrate = r->audio_bitrate;
        }

        r->track = t;
    }

    if (!l->conf->no_source && ast->codecpar->codec_id != AV_CODEC_ID_AAC) {
        /* the source rung cannot copy this audio into HLS: reuse the
         * best AAC encode */
        for (t = 0; t < l->ntracks; t++) {
            if (l->source_track == -1
                || l->tracks[t].bitrate
                   > l->tracks[l->source_track].bitrate)
            {
                l->source_track = t;
            }
        }

        if (l->source_track == -1) {
            l->tracks[0].bitrate = 128000;
            l->ntracks = 1;
            l->source_track = 0;
        }
    }

    if (l->ntracks == 0) {
        return 0;
    }

    if (tt_input_open_audio_decoder(l->in) != 0) {
        return -1;
    }

    dec = l->in->adec;

    sr = dec->sample_rate;
    if (sr != 48000 && sr != 44100) {
        sr = 48000;
    }

    l->sample_rate = sr;

    codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (codec == NULL) {
        tt_log(TT_LOG_ERR, "ladder: no AAC encoder");
        return -1;
    }

    for (t = 0; t < l->ntracks; t++) {
        enc = avcodec_alloc_context3(codec);
        if (enc == NULL) {
            goto nomem;
        }

        l->tracks[t].enc = enc;

        enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
        enc->sample_rate = sr;
        enc->bit_rate = l->tracks[t].bitrate;
        enc->time_base = (AVRational) { 1, sr };
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

        rc = av_channel_layout_copy(&enc->ch_layout, &out_layout);
        if (rc < 0) {
            goto nomem;
        }

        rc = avcodec_open2(enc, codec, NULL);
        if (rc < 0) {
            tt_log(TT_LOG_ERR, "ladder: cannot open the AAC encoder: %s",
                   tt_err(rc));
            return -1;
        }
    }

    memset(&in_layout, 0, sizeof(in_layout));

    if (dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(&in_layout, dec->ch_layout.nb_channels);

    } else if (av_channel_layout_copy(&in_layout, &dec->ch_layout) < 0) {
        goto nomem;
    }

    rc = swr_alloc_set_opts2(&l->swr, &out_layout, AV_SAMPLE_FMT_FLTP, sr,
                             &in_layout, dec->sample_fmt, dec->sample_rate,
                             0, NULL);
    av_channel_layout_uninit(&in_layout);

    if (rc < 0 || (rc = swr_init(l->swr)) < 0) {
        tt_log(TT_LOG_ERR, "ladder: cannot set up the resampler: %s",
               tt_err(rc));
        return -1;
    }

    l->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, 4 * TT_AAC_FRAME);
    l->aframe = av_frame_alloc();
    if (l->fifo == NULL || l->aframe == NULL) {
        goto nomem;
    }

    l->aframe->format = AV_SAMPLE_FMT_FLTP;
    l->aframe->sample_rate = sr;
    l->aframe->nb_samples = TT_AAC_FRAME;

    if (av_channel_layout_copy(&l->aframe->ch_layout, &out_layout) < 0
        || av_frame_get_buffer(l->aframe, 0) < 0)
    {
        goto nomem;
    }

    tt_log(TT_LOG_INFO, "ladder: audio %s %d Hz -> AAC %d Hz stereo, "
           "%d encode%s", dec->codec->name, dec->sample_rate, sr,
           l->ntracks, l->ntracks == 1 ? "" : "s");

    return 0;

nomem:

    tt_log(TT_LOG_ERR, "ladder: out of memory");

    return -1;
}


static int
tt_ladder_open_video(tt_ladder_t *l, tt_ladder_rung_t *r)
{
    int              rc;
    const AVCodec   *codec;
    AVCodecContext  *enc, *dec;

    codec = avcodec_find_encoder_by_name("libx264");
    if (codec == NULL) {
        tt_log(TT_LOG_ERR, "ladder: no libx264 encoder");
        return -1;
    }

    enc = avcodec_alloc_context3(codec);
    if (enc == NULL) {
        goto nomem;
    }

    r->enc = enc;
    dec = l->in->vdec;

    enc->width = r->width;
    enc->height = r->height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->sample_aspect_ratio = (AVRational) { 1, 1 };
    enc->time_base = TT_TB;
    enc->framerate = r->fps;
    enc->color_range = AVCOL_RANGE_MPEG;
    enc->color_primaries = dec->color_primaries;
    enc->color_trc = dec->color_trc;
    enc->colorspace = dec->colorspace;
    enc->thread_count = r->threads;

    /*
     * CBR-like ABR: the VBV caps the rate at the bit rate with a buffer
     * of (at most) 2 s, so no segment much exceeds twice the average
     * (the HLS authoring rule) and the rungs stay apart.
     */
    enc->bit_rate = r->bitrate;
    enc->rc_max_rate = r->bitrate;
    enc->rc_buffer_size = (int) (r->bitrate
                                 * (l->conf->segment < 2 ? 1 : 2));

    rc = av_opt_set(enc->priv_data, "preset", l->conf->preset, 0);
    if (rc >= 0 && l->conf->tune != NULL) {
        rc = av_opt_set(enc->priv_data, "tune", l->conf->tune, 0);
    }

    if (rc >= 0) {
        rc = av_opt_set_int(enc->priv_data, "forced-idr", 1, 0);
    }

    /* keyframes only where we force them: no GOP limit, no scenecut */
    if (rc >= 0) {
        rc = av_opt_set(enc->priv_data, "x264-params",
                        "keyint=infinite:scenecut=0:open-gop=0", 0);
    }

    if (rc < 0) {
        tt_log(TT_LOG_ERR, "ladder: cannot set libx264 options: %s",
               tt_err(rc));
        return -1;
    }

    rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0) {
        tt_log(TT_LOG_ERR, "ladder: cannot open libx264 for %s (preset "
               "\"%s\"): %s", r->name, l->conf->preset, tt_err(rc));
        return -1;
    }

    r->pic = av_frame_alloc();
    r->pkt = av_packet_alloc();
    if (r->pic == NULL || r->pkt == NULL) {
        goto nomem;
    }

    r->pic_pts = AV_NOPTS_VALUE;

    if (r->shared) {
        /* as av_frame_get_buffer() does, plus padding */
        r->pool = av_buffer_pool_init(
            av_image_get_buffer_size(AV_PIX_FMT_YUV420P, r->width,
                                     r->height, TT_PIC_ALIGN)
            + TT_PIC_ALIGN, NULL);
        if (r->pool == NULL) {
            goto nomem;
        }
    }

    if (tt_ladder_pic(r) < 0) {
        goto nomem;
    }

    tt_log(TT_LOG_INFO, "ladder: %s %dx%d %.3f fps %lld kbit/s, audio "
           "%lld kbit/s, %d x264 thread%s", r->name, r->width, r->height,
           av_q2d(r->fps), (long long) r->bitrate / 1000,
           (long long) (r->track >= 0 ? r->audio_bitrate / 1000 : 0),
           r->threads, r->threads == 1 ? "" : "s");

    return 0;

nomem:

    tt_log(TT_LOG_ERR, "ladder: out of memory");

    return -1;
}


/*
 * The master playlist's figures for an encoded rung, before anything
 * is measured.  MPEG-TS costs about 3% in TS headers plus, per video
 * frame, a PES header and on average half a TS packet of stuffing
 * (about 125 bytes), which is what dominates at 160p.  The VBV lets a
 * segment reach about 1.3 times the bit rate.
 */

static int
tt_ladder_add_hls(tt_ladder_t *l)
{
    int                  i;
    int64_t              ab, fixed;
    AVStream            *vst, *ast;
    AVCodecParameters   *vpar, *apar;
    tt_ladder_rung_t    *r;
    tt_hls_rung_conf_t   rc;

    vst = l->in->vst;
    ast = l->in->ast;

    vpar = avcodec_parameters_alloc();
    apar = avcodec_parameters_alloc();
    if (vpar == NULL || apar == NULL) {
        goto nomem;
    }

    if (!l->conf->no_source) {
        if (vst->codecpar->codec_id != AV_CODEC_ID_H264) {
            tt_log(TT_LOG_WARN, "ladder: the source video is %s, not "
                   "H.264: no source rung",
                   avcodec_get_name(vst->codecpar->codec_id));

        } else {
            memset(&rc, 0, sizeof(rc));
            rc.name = "source";
            rc.width = vst->codecpar->width;
            rc.height = vst->codecpar->height;
            rc.fps = l->in->fps;
            rc.video = vst->codecpar;

            if (ast != NULL && l->source_track == -1) {
                rc.audio = ast->codecpar;

            } else if (ast != NULL) {
                if (avcodec_parameters_from_context(apar,
                        l->tracks[l->source_track].enc) < 0)
                {
                    goto nomem;
                }

                rc.audio = apar;
            }

            l->source = tt_hls_add_rung(l->hls, &rc);
            if (l->source == NULL) {
                goto failed;
            }
        }
    }

    for (i = 0; i < l->nrungs; i++) {
        r = &l->rungs[i];

        if (avcodec_parameters_from_context(vpar, r->enc) < 0) {
            goto nomem;
        }

        memset(&rc, 0, sizeof(rc));
        rc.name = r->name;
        rc.width = r->width;
        rc.height = r->height;
        rc.fps = r->fps;
        rc.video = vpar;

        if (r->track >= 0) {
            if (avcodec_parameters_from_context(apar,
                    l->tracks[r->track].enc) < 0)
            {
                goto nomem;
            }

            rc.audio = apar;
        }

        ab = rc.audio ? r->audio_bitrate : 0;
        fixed = (int64_t) (av_q2d(r->fps) * 125 * 8) + 8000;

        rc.average = (int64_t) ((r->bitrate + ab) * 1.03) + fixed;
        rc.peak = (int64_t) ((r->bitrate * 1.3 + ab) * 1.03) + fixed;

        r->hls = tt_hls_add_rung(l->hls, &rc);
        if (r->hls == NULL) {
            goto failed;
        }
    }

    avcodec_parameters_free(&vpar);
    avcodec_parameters_free(&apar);

    if (l->source == NULL && l->nrungs == 0) {
        tt_log(TT_LOG_ERR, "ladder: nothing to output");
        return -1;
    }

    return 0;

nomem:

    tt_log(TT_LOG_ERR, "ladder: out of memory");

failed:

    avcodec_parameters_free(&vpar);
    avcodec_parameters_free(&apar);

    return -1;
}


int
tt_ladder_needs_audio(tt_ladder_t *l)
{
    return l->ntracks > 0;
}


int
tt_ladder_source_video(tt_ladder_t *l, const AVPacket *pkt)
{
    int  rc;

    if (l->source == NULL) {
        return 0;
    }

    rc = av_packet_ref(l->tmp, pkt);
    if (rc < 0) {
        return rc;
    }

    av_packet_rescale_ts(l->tmp, l->in->vst->time_base, TT_TB);

    return tt_hls_video(l->source, l->tmp);
}


int
tt_ladder_source_audio(tt_ladder_t *l, const AVPacket *pkt)
{
    int  rc;

    if (l->source == NULL || l->source_track != -1) {
        return 0;
    }

    rc = av_packet_ref(l->tmp, pkt);
    if (rc < 0) {
        return rc;
    }

    av_packet_rescale_ts(l->tmp, l->in->ast->time_base, TT_TB);

    return tt_hls_audio(l->source, l->tmp);
}


static int
tt_ladder_start_workers(tt_ladder_t *l)
{
    int           i, rc;
    tt_worker_t  *w;

    if (pthread_mutex_init(&l->mutex, NULL) != 0
        || pthread_cond_init(&l->cond, NULL) != 0)
    {
        tt_log(TT_LOG_ERR, "ladder: cannot create a mutex");
        return -1;
    }

    l->sync = 1;

    for (i = 0; i < l->nworkers; i++) {
        w = &l->workers[i];

        if (pthread_mutex_init(&w->mutex, NULL) != 0
            || pthread_cond_init(&w->cond, NULL) != 0)
        {
            tt_log(TT_LOG_ERR, "ladder: cannot create a mutex");
            return -1;
        }

        /* set before the thread exists: it shares a byte with eof */
        w->running = 1;

        rc = pthread_create(&w->tid, NULL, tt_ladder_worker, w);
        if (rc != 0) {
            w->running = 0;
            tt_log(TT_LOG_ERR, "ladder: cannot create a thread: %s",
                   strerror(rc));
            return -1;
        }

        tt_log(TT_LOG_DEBUG, "ladder: worker %d: rungs %s..%s", i,
               l->rungs[w->first].name, l->rungs[w->last - 1].name);
    }

    return 0;
}


/* ends the workers: after their queues (abort: at once) and encoders */

static void
tt_ladder_stop_workers(tt_ladder_t *l, int abort)
{
    int           i;
    tt_worker_t  *w;

    if (abort && l->sync) {
        /* a worker may be waiting for another's picture */
        pthread_mutex_lock(&l->mutex);
        l->abort = 1;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->mutex);
    }

    for (i = 0; i < l->nworkers; i++) {
        w = &l->workers[i];

        if (!w->running) {
            continue;
        }

        pthread_mutex_lock(&w->mutex);
        w->eof = 1;
        w->abort |= abort;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->mutex);
    }

    for (i = 0; i < l->nworkers; i++) {
        w = &l->workers[i];

        if (w->running) {
            pthread_join(w->tid, NULL);
            w->running = 0;
        }
    }
}


static void *
tt_ladder_worker(void *data)
{
    int                rc, i;
    tt_job_t           job;
    tt_worker_t       *w = data;
    tt_ladder_t       *l;

    l = w->ladder;
    rc = 0;

    for ( ;; ) {
        pthread_mutex_lock(&w->mutex);

        while (w->n == 0 && !w->eof) {
            pthread_cond_wait(&w->cond, &w->mutex);
        }

        if (w->n == 0 || w->abort) {
            pthread_mutex_unlock(&w->mutex);
            break;
        }

        job = w->jobs[w->head];
        w->head = (w->head + 1) % TT_JOBS;
        w->n--;

        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->mutex);

        for (i = w->first; rc >= 0 && i < w->last; i++) {
            if (job.mask & (1u << i)) {
                rc = tt_ladder_scale(l, &l->rungs[i], job.frame, job.pts,
                                     job.boundary);
            }
        }

        tt_ladder_release(l, job.frame, w->shared);

        if (rc < 0) {
            break;
        }
    }

    /* no more pictures from this worker: nobody waits for them */
    pthread_mutex_lock(&l->mutex);
    w->done = 1;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mutex);

    /* the end of the input: drain the encoders */
    for (i = w->first; rc >= 0 && !w->abort && i < w->last; i++) {
        rc = tt_ladder_encode_video(&l->rungs[i], NULL);
    }

    pthread_mutex_lock(&w->mutex);

    while (w->n > 0) {
        tt_ladder_release(l, w->jobs[w->head].frame, w->shared);
        w->head = (w->head + 1) % TT_JOBS;
        w->n--;
    }

    if (rc < 0) {
        w->error = rc;
    }

    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mutex);

    tt_log(TT_LOG_DEBUG, "ladder: worker %s..%s used %.2f s of CPU",
           l->rungs[w->first].name, l->rungs[w->last - 1].name,
           tt_thread_cpu());

    return NULL;
}


/*
 * A decoded source frame: the frame rate caps are applied here, and
 * each worker with a rung that keeps the frame gets a reference to it.
 */

int
tt_ladder_video(tt_ladder_t *l, AVFrame *frame, int64_t pts, int boundary)
{
    int                i, rc, n;
    unsigned           mask, mine;
    tt_job_t          *job;
    tt_frame_t        *f;
    tt_worker_t       *w;
    tt_ladder_rung_t  *r;

    mask = 0;

    for (i = 0; i < l->nrungs; i++) {
        r = &l->rungs[i];

        if (r->last_pts != AV_NOPTS_VALUE && pts <= r->last_pts) {
            continue;
        }

        /* frame rate cap: keep a frame per step, and every boundary */
        if (!boundary && r->next_keep != AV_NOPTS_VALUE
            && pts < r->next_keep - l->in->frame_dur / 2)
        {
            continue;
        }

        r->next_keep = pts + r->step;
        r->last_pts = pts;
        mask |= 1u << i;
    }

    if (mask == 0) {
        return 0;
    }

    f = av_mallocz(sizeof(tt_frame_t));
    if (f == NULL) {
        return AVERROR(ENOMEM);
    }

    f->src = av_frame_clone(frame);
    if (f->src == NULL) {
        av_free(f);
        return AVERROR(ENOMEM);
    }

    f->mask = mask;

    /* a reference for each worker with a rung that keeps the frame */

    n = 0;

    for (i = 0; i < l->nworkers; i++) {
        w = &l->workers[i];
        mine = ((1u << w->last) - 1) & ~((1u << w->first) - 1);
        n += (mask & mine) != 0;
    }

    f->refs = n + 1;
    rc = 0;

    for (i = 0; i < l->nworkers; i++) {
        w = &l->workers[i];

        mine = ((1u << w->last) - 1) & ~((1u << w->first) - 1);
        if ((mask & mine) == 0) {
            continue;
        }

        pthread_mutex_lock(&w->mutex);

        while (w->n == TT_JOBS && w->error == 0 && w->running) {
            pthread_cond_wait(&w->cond, &w->mutex);
        }

        rc = w->error;
        if (rc == 0 && !w->running) {
            rc = AVERROR(EINVAL);
        }

        if (rc == 0) {
            job = &w->jobs[(w->head + w->n) % TT_JOBS];
            job->frame = f;
            job->pts = pts;
            job->mask = mask & mine;
            job->boundary = boundary;

            w->n++;
            pthread_cond_broadcast(&w->cond);
        }

        pthread_mutex_unlock(&w->mutex);

        if (rc < 0) {
            /* the workers not given the frame will not release it */
            while (n-- > 0) {
                tt_ladder_release(l, f, 0);
            }

            break;
        }

        n--;
    }

    tt_ladder_release(l, f, 0);

    return rc;
}


/*
 * A worker is done with a frame: the pictures it hands over are final
 * (done: its rungs with a remote child), and the last one frees it.
 */

static void
tt_ladder_release(tt_ladder_t *l, tt_frame_t *f, unsigned done)
{
    int  i, last;

    pthread_mutex_lock(&l->mutex);

    if (done & ~f->ready) {
        f->ready |= done;
        pthread_cond_broadcast(&l->cond);
    }

    last = --f->refs == 0;

    pthread_mutex_unlock(&l->mutex);

    if (!last) {
        return;
    }

    for (i = 0; i < TT_MAX_RUNGS; i++) {
        av_frame_free(&f->pic[i]);
    }

    av_frame_free(&f->src);
    av_free(f);
}


/* in a worker: scale one kept frame for a rung and encode it */

static int
tt_ladder_scale(tt_ladder_t *l, tt_ladder_rung_t *r, tt_frame_t *f,
    int64_t pts, int boundary)
{
    int                rc;
    AVFrame           *pic, *out;
    unsigned           bit;
    const AVFrame     *src;
    tt_ladder_rung_t  *p;

    src = f->src;
    p = r->parent;
    pic = NULL;

    if (p != NULL && !r->remote && p->pic_pts == pts) {
        src = p->pic;

    } else if (p != NULL && r->remote && (f->mask & (1u << p->index))) {
        /* the parent's worker hands its picture over with the frame */
        bit = 1u << p->index;

        pthread_mutex_lock(&l->mutex);

        while (!(f->ready & bit) && !l->abort
               && !l->workers[p->worker].done)
        {
            pthread_cond_wait(&l->cond, &l->mutex);
        }

        /* the picture is ours alone now (NULL: scale from the source) */
        pic = f->pic[p->index];
        f->pic[p->index] = NULL;

        pthread_mutex_unlock(&l->mutex);

        if (pic != NULL) {
            src = pic;
        }
    }

    rc = tt_ladder_pic(r);
    if (rc < 0) {
        av_frame_free(&pic);
        return rc;
    }

    r->sws = sws_getCachedContext(r->sws, src->width, src->height,
                                  src->format, r->width, r->height,
                                  AV_PIX_FMT_YUV420P, SWS_BICUBIC,
                                  NULL, NULL, NULL);
    if (r->sws == NULL) {
        tt_log(TT_LOG_ERR, "ladder: cannot scale %dx%d %s to %s",
               src->width, src->height,
               av_get_pix_fmt_name(src->format), r->name);
        av_frame_free(&pic);
        return AVERROR(EINVAL);
    }

    sws_scale(r->sws, (const uint8_t * const *) src->data,
              src->linesize, 0, src->height, r->pic->data,
              r->pic->linesize);

    av_frame_free(&pic);

    r->pic_pts = pts;

    if (r->shared) {
        /* for the next rung, in another worker (NULL: from the source) */
        out = av_frame_clone(r->pic);

        pthread_mutex_lock(&l->mutex);
        f->pic[r->index] = out;
        f->ready |= 1u << r->index;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->mutex);
    }

    r->pic->pts = pts;
    r->pic->pict_type = boundary ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;

    return tt_ladder_encode_video(r, r->pic);
}


/*
 * The rung's picture, writable: while another worker still reads the
 * previous one, another buffer (nothing needs copying: it is
 * overwritten), from the rung's pool when it hands pictures over, so
 * that buffers are reused rather than allocated (and faulted in) anew.
 */

static int
tt_ladder_pic(tt_ladder_rung_t *r)
{
    int           rc;
    AVBufferRef  *buf;

    if (r->pic->buf[0] != NULL && av_frame_is_writable(r->pic)) {
        return 0;
    }

    av_frame_unref(r->pic);

    r->pic->format = AV_PIX_FMT_YUV420P;
    r->pic->width = r->width;
    r->pic->height = r->height;

    if (r->pool == NULL) {
        return av_frame_get_buffer(r->pic, 0);
    }

    buf = av_buffer_pool_get(r->pool);
    if (buf == NULL) {
        return AVERROR(ENOMEM);
    }

    r->pic->buf[0] = buf;

    rc = av_image_fill_arrays(r->pic->data, r->pic->linesize, buf->data,
                              AV_PIX_FMT_YUV420P, r->width, r->height,
                              TT_PIC_ALIGN);

    return rc < 0 ? rc : 0;
}


static int
tt_ladder_encode_video(tt_ladder_rung_t *r, AVFrame *frame)
{
    int  rc;

    rc = avcodec_send_frame(r->enc, frame);
    if (rc < 0 && rc != AVERROR_EOF) {
        tt_log(TT_LOG_ERR, "ladder: %s: encoding failed: %s", r->name,
               tt_err(rc));
        return rc;
    }

    for ( ;; ) {
        rc = avcodec_receive_packet(r->enc, r->pkt);

        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return 0;
        }

        if (rc < 0) {
            tt_log(TT_LOG_ERR, "ladder: %s: encoding failed: %s", r->name,
                   tt_err(rc));
            return rc;
        }

        rc = tt_hls_video(r->hls, r->pkt);
        if (rc < 0) {
            return rc;
        }
    }
}


/*
 * Decoded source audio: resample into the FIFO, and encode it in AAC
 * frames whose timestamps count samples from the source's.  A jump in
 * the source timestamps (a gap, or time going back) restarts the count.
 */

int
tt_ladder_audio(tt_ladder_t *l, AVFrame *frame)
{
    int      rc, n, out;
    int64_t  pts, ts;

    if (l->ntracks == 0) {
        return 0;
    }

    ts = frame->pts != AV_NOPTS_VALUE ? frame->pts
                                      : frame->best_effort_timestamp;

    if (ts != AV_NOPTS_VALUE) {
        pts = av_rescale_q(ts, l->in->ast->time_base,
                           (AVRational) { 1, l->sample_rate });

        if (l->next_in != AV_NOPTS_VALUE
            && llabs(pts - l->next_in) > l->sample_rate / 10)
        {
            tt_log(TT_LOG_DEBUG, "ladder: audio timestamps jump by "
                   "%.3f s", (double) (pts - l->next_in) / l->sample_rate);

            if (av_audio_fifo_size(l->fifo) > 0) {
                rc = tt_ladder_encode_audio(l, av_audio_fifo_size(l->fifo));
                if (rc < 0) {
                    return rc;
                }
            }

            l->fifo_pts = AV_NOPTS_VALUE;
        }

        if (l->fifo_pts == AV_NOPTS_VALUE) {
            l->fifo_pts = pts - av_audio_fifo_size(l->fifo);
        }

        l->next_in = pts + av_rescale(frame->nb_samples, l->sample_rate,
                                      frame->sample_rate);

    } else if (l->fifo_pts == AV_NOPTS_VALUE) {
        return 0;
    }

    out = swr_get_out_samples(l->swr, frame->nb_samples);
    if (out > l->abuf_samples) {
        if (l->abuf != NULL) {
            av_freep(&l->abuf[0]);
            av_freep(&l->abuf);
        }

        rc = av_samples_alloc_array_and_samples(&l->abuf, NULL, 2, out,
                                                AV_SAMPLE_FMT_FLTP, 0);
        if (rc < 0) {
            l->abuf_samples = 0;
            return rc;
        }

        l->abuf_samples = out;
    }

    n = swr_convert(l->swr, l->abuf, out,
                    (const uint8_t **) frame->extended_data,
                    frame->nb_samples);
    if (n < 0) {
        tt_log(TT_LOG_ERR, "ladder: resampling failed: %s", tt_err(n));
        return n;
    }

    if (n > 0 && av_audio_fifo_write(l->fifo, (void **) l->abuf, n) < n) {
        return AVERROR(ENOMEM);
    }

    while (av_audio_fifo_size(l->fifo) >= TT_AAC_FRAME) {
        rc = tt_ladder_encode_audio(l, TT_AAC_FRAME);
        if (rc < 0) {
            return rc;
        }
    }

    return 0;
}


/* one AAC frame from the FIFO, padded with silence if short */

static int
tt_ladder_encode_audio(tt_ladder_t *l, int nsamples)
{
    int  t, rc;

    rc = av_frame_make_writable(l->aframe);
    if (rc < 0) {
        return rc;
    }

    rc = av_audio_fifo_read(l->fifo, (void **) l->aframe->data, nsamples);
    if (rc < 0) {
        return rc;
    }

    if (rc < TT_AAC_FRAME) {
        av_samples_set_silence(l->aframe->data, rc, TT_AAC_FRAME - rc, 2,
                               AV_SAMPLE_FMT_FLTP);
    }

    l->aframe->nb_samples = TT_AAC_FRAME;
    l->aframe->pts = l->fifo_pts;
    l->fifo_pts += TT_AAC_FRAME;

    for (t = 0; t < l->ntracks; t++) {
        rc = tt_ladder_send_audio(l, t, l->aframe);
        if (rc < 0) {
            return rc;
        }
    }

    return 0;
}


static int
tt_ladder_send_audio(tt_ladder_t *l, int t, AVFrame *frame)
{
    int              i, rc;
    AVCodecContext  *enc;

    enc = l->tracks[t].enc;

    rc = avcodec_send_frame(enc, frame);
    if (rc < 0 && rc != AVERROR_EOF) {
        tt_log(TT_LOG_ERR, "ladder: AAC encoding failed: %s", tt_err(rc));
        return rc;
    }

    for ( ;; ) {
        rc = avcodec_receive_packet(enc, l->pkt);

        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return 0;
        }

        if (rc < 0) {
            tt_log(TT_LOG_ERR, "ladder: AAC encoding failed: %s",
                   tt_err(rc));
            return rc;
        }

        av_packet_rescale_ts(l->pkt, enc->time_base, TT_TB);

        /* every rung on this encode gets a reference to the packet */

        for (i = 0; i < l->nrungs; i++) {
            if (l->rungs[i].track != t) {
                continue;
            }

            rc = av_packet_ref(l->tmp, l->pkt);
            if (rc < 0 || (rc = tt_hls_audio(l->rungs[i].hls, l->tmp)) < 0)
            {
                av_packet_unref(l->pkt);
                return rc;
            }
        }

        if (l->source != NULL && l->source_track == t) {
            rc = av_packet_ref(l->tmp, l->pkt);
            if (rc < 0 || (rc = tt_hls_audio(l->source, l->tmp)) < 0) {
                av_packet_unref(l->pkt);
                return rc;
            }
        }

        av_packet_unref(l->pkt);
    }
}


/* the end of the input: drain the x264 and AAC encoders */

int
tt_ladder_flush(tt_ladder_t *l)
{
    int  i, t, rc;

    tt_ladder_stop_workers(l, 0);

    for (i = 0; i < l->nworkers; i++) {
        if (l->workers[i].error < 0) {
            return l->workers[i].error;
        }
    }

    if (l->ntracks > 0 && l->fifo != NULL) {
        if (av_audio_fifo_size(l->fifo) > 0
            && l->fifo_pts != AV_NOPTS_VALUE)
        {
            rc = tt_ladder_encode_audio(l, av_audio_fifo_size(l->fifo));
            if (rc < 0) {
                return rc;
            }
        }

        for (t = 0; t < l->ntracks; t++) {
            rc = tt_ladder_send_audio(l, t, NULL);
            if (rc < 0) {
                return rc;
            }
        }
    }

    return 0;
}


/* a fatal error: the workers stop at once, their queues dropped */

void
tt_ladder_abort(tt_ladder_t *l)
{
    tt_ladder_stop_workers(l, 1);
}


void
tt_ladder_free(tt_ladder_t *l)
{
    int                i;
    tt_ladder_rung_t  *r;

    if (l == NULL) {
        return;
    }

    tt_ladder_stop_workers(l, 1);

    for (i = 0; i < l->nworkers; i++) {
        if (l->workers[i].ladder != NULL) {
            pthread_mutex_destroy(&l->workers[i].mutex);
            pthread_cond_destroy(&l->workers[i].cond);
        }
    }

    if (l->sync) {
        pthread_mutex_destroy(&l->mutex);
        pthread_cond_destroy(&l->cond);
    }

    for (i = 0; i < l->nrungs; i++) {
        r = &l->rungs[i];
        avcodec_free_context(&r->enc);
        sws_freeContext(r->sws);
        av_frame_free(&r->pic);
        av_buffer_pool_uninit(&r->pool);
        av_packet_free(&r->pkt);
    }

    for (i = 0; i < l->ntracks; i++) {
        avcodec_free_context(&l->tracks[i].enc);
    }

    swr_free(&l->swr);

    if (l->fifo != NULL) {
        av_audio_fifo_free(l->fifo);
    }

    if (l->abuf != NULL) {
        av_freep(&l->abuf[0]);
        av_freep(&l->abuf);
    }

    av_frame_free(&l->aframe);
    av_packet_free(&l->pkt);
    av_packet_free(&l->tmp);
    av_free(l);
}
