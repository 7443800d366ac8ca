
/*
 * twitch_transcode: opens the source (RTMP, a file, a pipe), paces it
 * in real time when asked, and decodes video and audio once for every
 * rung of the ladder.
 */


#include <errno.h>
#include <math.h>
#include <time.h>

#include <libavutil/opt.h>

#include "twitch_transcode.h"
#include "twitch_transcode_input.h"


static int tt_input_interrupt(void *data);
static AVCodecContext *tt_input_open_decoder(AVStream *st, int threads);
static AVRational tt_input_guess_fps(AVStream *st);
static void tt_input_pace(tt_input_t *in, const AVPacket *pkt);


tt_input_t *
tt_input_open(const tt_conf_t *conf)
{
    int              rc, vi, ai;
    double           start, rate;
    tt_input_t      *in;
    AVDictionary    *opts;

    in = av_mallocz(sizeof(tt_input_t));
    if (in == NULL) {
        tt_log(TT_LOG_ERR, "input: out of memory");
        return NULL;
    }

    in->timeout = conf->input_timeout;
    in->grace = conf->stop_grace;
    in->realtime = conf->realtime;

    in->fmt = avformat_alloc_context();
    if (in->fmt == NULL) {
        tt_log(TT_LOG_ERR, "input: out of memory");
        goto failed;
    }

    in->fmt->interrupt_callback.callback = tt_input_interrupt;
    in->fmt->interrupt_callback.opaque = in;

    opts = NULL;

    if (strncmp(conf->input, "rtmp", 4) == 0) {
        /* play whatever is published, live or not */
        av_dict_set(&opts, "rtmp_live", "live", 0);
    }

    /*
     * Probing a live input takes until its first keyframe (nginx-rtmp
     * has no GOP cache); what is read meanwhile is buffered, not lost.
     * Too short a limit misses the video of a long-GOP stream.
     */
    if (conf->probe_ms > 0) {
        av_dict_set_int(&opts, "analyzeduration",
                        (int64_t) conf->probe_ms * 1000, 0);
        in->fmt->max_analyze_duration = (int64_t) conf->probe_ms * 1000;
    }

    start = tt_mono_time();
    in->deadline = start + in->timeout;

    rc = avformat_open_input(&in->fmt, conf->input, NULL, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        /* avformat_open_input() frees the context on failure */
        tt_log(TT_LOG_ERR, "input: cannot open \"%s\": %s",
               conf->input, tt_err(rc));
        goto failed;
    }

    in->deadline = tt_mono_time() + in->timeout;

    rc = avformat_find_stream_info(in->fmt, NULL);
    if (rc < 0) {
        tt_log(TT_LOG_ERR, "input: cannot read stream info of \"%s\": %s",
               conf->input, tt_err(rc));
        goto failed;
    }

    vi = av_find_best_stream(in->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (vi < 0) {
        tt_log(TT_LOG_ERR, "input: \"%s\" has no video stream",
               conf->input);
        goto failed;
    }

    in->vst = in->fmt->streams[vi];

    if (in->vst->codecpar->width <= 0 || in->vst->codecpar->height <= 0) {
        tt_log(TT_LOG_ERR, "input: video size of \"%s\" is unknown",
               conf->input);
        goto failed;
    }

    ai = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, vi, NULL, 0);
    if (ai >= 0 && in->fmt->streams[ai]->codecpar->sample_rate > 0) {
        in->ast = in->fmt->streams[ai];
    }

    in->fps = tt_input_guess_fps(in->vst);
    in->frame_dur = av_rescale_q(1, av_inv_q(in->fps), TT_TB);

    /*
     * Up to 1080p60 one thread decodes well within real time, and frame
     * threads cost about 15% more CPU for the same frames while the
     * ladder's workers keep the other CPUs busy anyway; larger sources
     * get libavcodec's frame threads (0: one per CPU, plus one).
     */
    rate = (double) in->vst->codecpar->width * in->vst->codecpar->height
           * av_q2d(in->fps);

    in->vdec = tt_input_open_decoder(in->vst,
                                     rate <= 1920.0 * 1088 * 60 ? 1 : 0);
    if (in->vdec == NULL) {
        goto failed;
    }

    in->frame = av_frame_alloc();
    if (in->frame == NULL) {
        tt_log(TT_LOG_ERR, "input: out of memory");
        goto failed;
    }

    tt_log(TT_LOG_INFO, "input: \"%s\" video %s %dx%d %.3f fps, audio %s "
           "(probed in %.2f s)",
           conf->input, avcodec_get_name(in->vst->codecpar->codec_id),
           in->vst->codecpar->width, in->vst->codecpar->height,
           av_q2d(in->fps),
           in->ast ? avcodec_get_name(in->ast->codecpar->codec_id)
                   : "none", tt_mono_time() - start);

    return in;

failed:

    tt_input_close(in);

    return NULL;
}


int
tt_input_open_audio_decoder(tt_input_t *in)
{
    if (in->ast == NULL || in->adec != NULL) {
        return 0;
    }

    in->adec = tt_input_open_decoder(in->ast, 1);

    return in->adec ? 0 : -1;
}


static AVCodecContext *
tt_input_open_decoder(AVStream *st, int threads)
{
    int              rc;
    const AVCodec   *codec;
    AVCodecContext  *dec;

    codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (codec == NULL) {
        tt_log(TT_LOG_ERR, "input: no decoder for %s",
               avcodec_get_name(st->codecpar->codec_id));
        return NULL;
    }

    dec = avcodec_alloc_context3(codec);
    if (dec == NULL) {
        tt_log(TT_LOG_ERR, "input: out of memory");
        return NULL;
    }

    rc = avcodec_parameters_to_context(dec, st->codecpar);
    if (rc < 0) {
        goto failed;
    }

    dec->pkt_timebase = st->time_base;

    /*
     * 0 lets the decoder pick a thread count from the CPU count; frame
     * threads add a few frames of delay, which HLS does not notice.
     */
    dec->thread_count = threads;

    rc = avcodec_open2(dec, codec, NULL);
    if (rc < 0) {
        goto failed;
    }

    return dec;

failed:

    tt_log(TT_LOG_ERR, "input: cannot open the %s decoder: %s",
           codec->name, tt_err(rc));
    avcodec_free_context(&dec);

    return NULL;
}


/*
 * The nominal frame rate, snapped to integer or NTSC rates: FLV over
 * RTMP has millisecond timestamps, so 60 fps probes as 1000/17 or so.
 */

static AVRational
tt_input_guess_fps(AVStream *st)
{
    double      f, r;
    AVRational  q;

    q = st->avg_frame_rate;
    if (q.num <= 0 || q.den <= 0 || av_q2d(q) > 240 || av_q2d(q) < 1) {
        q = st->r_frame_rate;
    }

    if (q.num <= 0 || q.den <= 0 || av_q2d(q) > 240 || av_q2d(q) < 1) {
        tt_log(TT_LOG_WARN, "input: frame rate unknown, assuming 30");
        return (AVRational) { 30, 1 };
    }

    f = av_q2d(q);
    r = round(f);

    if (fabs(f - r) < 0.02 * r) {
        if (fabs(f * 1001 / 1000 - r) < fabs(f - r)) {
            return (AVRational) { (int) r * 1000, 1001 };
        }

        return (AVRational) { (int) r, 1 };
    }

    return q;
}


int64_t
tt_input_ts(AVStream *st, int64_t ts)
{
    if (ts == AV_NOPTS_VALUE) {
        return AV_NOPTS_VALUE;
    }

    return av_rescale_q(ts, st->time_base, TT_TB);
}


/*
 * After a first signal the input is still read for --stop-grace seconds
 * (nginx-rtmp signals at unpublish, with the stream's tail still in our
 * socket); a second signal, or the grace running out, stops at once.
 */

int
tt_input_stopping(tt_input_t *in)
{
    if (tt_quit == 0) {
        return 0;
    }

    if (tt_quit > 1) {
        return 1;
    }

    if (in->stop_at == 0) {
        in->stop_at = tt_mono_time() + in->grace;
    }

    return tt_mono_time() >= in->stop_at;
}


static int
tt_input_interrupt(void *data)
{
    tt_input_t  *in = data;

    if (tt_input_stopping(in)) {
        return 1;
    }

    if (in->timeout > 0 && tt_mono_time() > in->deadline) {
        return 1;
    }

    return 0;
}


/* like "ffmpeg -re": never read ahead of the source's own clock */

static void
tt_input_pace(tt_input_t *in, const AVPacket *pkt)
{
    double           ahead;
    int64_t          ts;
    struct timespec  req;

    ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    if (ts == AV_NOPTS_VALUE) {
        return;
    }

    ts = tt_input_ts(in->fmt->streams[pkt->stream_index], ts);

    if (in->rt_start == 0) {
        in->rt_start = tt_mono_time();
        in->rt_first = ts;
        return;
    }

    for ( ;; ) {
        ahead = (double) (ts - in->rt_first) / TT_HZ
                - (tt_mono_time() - in->rt_start);

        if (ahead <= 0.001 || tt_input_stopping(in)) {
            return;
        }

        if (ahead > 0.1) {
            ahead = 0.1;
        }

        req.tv_sec = 0;
        req.tv_nsec = (long) (ahead * 1e9);
        nanosleep(&req, NULL);
    }
}


/*
 * Returns 0 with a packet of the video or the audio stream, AVERROR_EOF
 * at the end, AVERROR_EXIT when a signal asked us to stop, or another
 * negative code on a read error (a stalled input times out).
 */

int
tt_input_read(tt_input_t *in, AVPacket *pkt)
{
    int  rc;

    for ( ;; ) {
        if (tt_input_stopping(in)) {
            return AVERROR_EXIT;
        }

        in->deadline = tt_mono_time() + in->timeout;

        rc = av_read_frame(in->fmt, pkt);
        if (rc < 0) {
            if (tt_input_stopping(in)) {
                return AVERROR_EXIT;
            }

            if (rc == AVERROR_EXIT) {
                tt_log(TT_LOG_WARN, "input: no data for %d s", in->timeout);
                return AVERROR(ETIMEDOUT);
            }

            return rc;
        }

        if (pkt->stream_index == in->vst->index
            || (in->ast != NULL && pkt->stream_index == in->ast->index))
        {
            if (in->realtime) {
                tt_input_pace(in, pkt);
            }

            return 0;
        }

        av_packet_unref(pkt);
    }
}


/*
 * Sends one packet (NULL: drain at the end) and hands every frame that
 * comes out to the handler.  Corrupt data is logged and skipped: a live
 * source sometimes starts in the middle of a GOP.
 */

int
tt_input_decode(tt_input_t *in, AVCodecContext *dec, const AVPacket *pkt,
    tt_frame_handler_pt handler, void *data)
{
    int  rc;

    rc = avcodec_send_packet(dec, pkt);
    if (rc < 0 && rc != AVERROR_EOF) {
        if (rc == AVERROR(ENOMEM)) {
            tt_log(TT_LOG_ERR, "input: decoding failed: %s", tt_err(rc));
            return rc;
        }

        tt_log(TT_LOG_DEBUG, "input: %s decoder rejected a packet: %s",
               dec->codec->name, tt_err(rc));
    }

    for ( ;; ) {
        rc = avcodec_receive_frame(dec, in->frame);

        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return 0;
        }

        if (rc < 0) {
            if (rc == AVERROR(ENOMEM)) {
                tt_log(TT_LOG_ERR, "input: decoding failed: %s",
                       tt_err(rc));
                return rc;
            }

            tt_log(TT_LOG_DEBUG, "input: %s decoding error: %s",
                   dec->codec->name, tt_err(rc));
            continue;
        }

        rc = handler(in->frame, data);
        av_frame_unref(in->frame);

        if (rc < 0) {
            return rc;
        }
    }
}


void
tt_input_close(tt_input_t *in)
{
    if (in == NULL) {
        return;
    }

    avcodec_free_context(&in->vdec);
    avcodec_free_context(&in->adec);
    av_frame_free(&in->frame);
    avformat_close_input(&in->fmt);
    av_free(in);
}
