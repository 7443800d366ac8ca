
/*
 * twitch_transcode: every --thumb-interval seconds of media the current
 * picture is scaled to the thumbnail size, JPEG-encoded and renamed
 * over <out>/thumb.jpg.  The first one is also kept as the VOD's
 * thumbnail, vod_thumb.jpg in the VOD directory (or <out> without one);
 * an existing one (a resumed broadcast) is left alone.
 */


#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <libswscale/swscale.h>

#include "twitch_transcode.h"
#include "twitch_transcode_thumb.h"


struct tt_thumb_s {
    const tt_conf_t     *conf;
    AVCodecContext      *enc;
    struct SwsContext   *sws;
    AVFrame             *pic;
    AVPacket            *pkt;
    int64_t              next;
    char                 path[PATH_MAX];
    char                 vod_path[PATH_MAX];
    unsigned             vod_done:1;
};


static int tt_thumb_open(tt_thumb_t *t);


tt_thumb_t *
tt_thumb_create(const tt_conf_t *conf, const char *vod_dir)
{
    tt_thumb_t  *t;

    if (conf->thumb_interval <= 0) {
        return NULL;
    }

    t = av_mallocz(sizeof(tt_thumb_t));
    if (t == NULL) {
        tt_log(TT_LOG_ERR, "thumb: out of memory");
        return NULL;
    }

    t->conf = conf;
    t->next = AV_NOPTS_VALUE;

    snprintf(t->path, sizeof(t->path), "%s/thumb.jpg", conf->out);
    snprintf(t->vod_path, sizeof(t->vod_path), "%s/vod_thumb.jpg",
             vod_dir ? vod_dir : conf->out);

    t->vod_done = access(t->vod_path, F_OK) == 0;

    if (tt_thumb_open(t) != 0) {
        tt_thumb_free(t);
        return NULL;
    }

    return t;
}


static int
tt_thumb_open(tt_thumb_t *t)
{
    int             rc;
    const AVCodec  *codec;

    codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (codec == NULL) {
        tt_log(TT_LOG_ERR, "thumb: no MJPEG encoder");
        return -1;
    }

    t->enc = avcodec_alloc_context3(codec);
    t->pic = av_frame_alloc();
    t->pkt = av_packet_alloc();
    if (t->enc == NULL || t->pic == NULL || t->pkt == NULL) {
        tt_log(TT_LOG_ERR, "thumb: out of memory");
        return -1;
    }

    t->enc->width = t->conf->thumb_width;
    t->enc->height = t->conf->thumb_height;
    t->enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    t->enc->color_range = AVCOL_RANGE_JPEG;
    t->enc->time_base = (AVRational) { 1, 1 };
    t->enc->flags |= AV_CODEC_FLAG_QSCALE;
    t->enc->global_quality = FF_QP2LAMBDA * 4;

    rc = avcodec_open2(t->enc, codec, NULL);
    if (rc < 0) {
        tt_log(TT_LOG_ERR, "thumb: cannot open the MJPEG encoder: %s",
               tt_err(rc));
        return -1;
    }

    t->pic->format = AV_PIX_FMT_YUVJ420P;
    t->pic->width = t->conf->thumb_width;
    t->pic->height = t->conf->thumb_height;
    t->pic->color_range = AVCOL_RANGE_JPEG;

    if (av_frame_get_buffer(t->pic, 0) < 0) {
        tt_log(TT_LOG_ERR, "thumb: out of memory");
        return -1;
    }

    return 0;
}


/* a thumbnail failing is logged, never fatal */

int
tt_thumb_frame(tt_thumb_t *t, const AVFrame *frame, int64_t pts)
{
    int  rc;

    if (t == NULL) {
        return 0;
    }

    if (t->next != AV_NOPTS_VALUE && pts < t->next) {
        return 0;
    }

    t->next = pts + (int64_t) t->conf->thumb_interval * TT_HZ;

    if (av_frame_make_writable(t->pic) < 0) {
        return 0;
    }

    t->sws = sws_getCachedContext(t->sws, frame->width, frame->height,
                                  frame->format, t->pic->width,
                                  t->pic->height, AV_PIX_FMT_YUVJ420P,
                                  SWS_BICUBIC, NULL, NULL, NULL);
    if (t->sws == NULL) {
        tt_log(TT_LOG_WARN, "thumb: cannot scale %dx%d",
               frame->width, frame->height);
        return 0;
    }

    sws_scale(t->sws, (const uint8_t * const *) frame->data,
              frame->linesize, 0, frame->height, t->pic->data,
              t->pic->linesize);

    t->pic->pts = pts / TT_HZ;

    rc = avcodec_send_frame(t->enc, t->pic);
    if (rc < 0) {
        tt_log(TT_LOG_WARN, "thumb: encoding failed: %s", tt_err(rc));
        return 0;
    }

    rc = avcodec_receive_packet(t->enc, t->pkt);
    if (rc < 0) {
        tt_log(TT_LOG_WARN, "thumb: encoding failed: %s", tt_err(rc));
        return 0;
    }

    if (tt_write_file_atomic(t->path, t->pkt->data, t->pkt->size) != 0) {
        tt_log(TT_LOG_WARN, "thumb: cannot write \"%s\": %s", t->path,
               strerror(errno));
    }

    if (!t->vod_done) {
        t->vod_done = 1;

        if (tt_write_file_atomic(t->vod_path, t->pkt->data, t->pkt->size)
            != 0)
        {
            tt_log(TT_LOG_WARN, "thumb: cannot write \"%s\": %s",
                   t->vod_path, strerror(errno));
        }
    }

    av_packet_unref(t->pkt);

    return 0;
}


void
tt_thumb_free(tt_thumb_t *t)
{
    if (t == NULL) {
        return;
    }

    avcodec_free_context(&t->enc);
    sws_freeContext(t->sws);
    av_frame_free(&t->pic);
    av_packet_free(&t->pkt);
    av_free(t);
}
