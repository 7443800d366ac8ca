
/*
 * twitch_transcode: the command line and the main loop.
 *
 *   demux -> (source rung: stream copy)
 *         -> decode once -> thumbnails
 *                        -> per rung: drop frames, scale, x264
 *         -> audio: decode once, resample, AAC per bit rate
 *   every rung -> MPEG-TS segments -> live/VOD playlists -> master
 *
 * See README.md for the options, the output layout and the exit codes.
 */


#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twitch_transcode.h"
#include "twitch_transcode_input.h"
#include "twitch_transcode_hls.h"
#include "twitch_transcode_ladder.h"
#include "twitch_transcode_thumb.h"


#define TT_DEFAULT_LADDER  "720p60:3000k,480p30:1200k,360p30:700k," \
                           "160p30:250k"


typedef struct {
    const tt_conf_t     *conf;
    tt_input_t          *in;
    tt_hls_t            *hls;
    tt_ladder_t         *ladder;
    tt_thumb_t          *thumb;
    int64_t              frames;
} tt_run_t;


static void tt_usage(FILE *f);
static int tt_parse_args(int argc, char **argv, tt_conf_t *conf);
static int tt_parse_ladder(const char *spec, tt_conf_t *conf);
static int tt_parse_bitrate(const char *s, int64_t *out);
static int tt_parse_int(const char *name, const char *s, int min, int max,
    int *out);
static void tt_signal_handler(int signo);
static int tt_run(tt_run_t *run);
static int tt_on_video_frame(AVFrame *frame, void *data);
static int tt_on_audio_frame(AVFrame *frame, void *data);


volatile sig_atomic_t  tt_quit;


static const struct option  tt_options[] = {
    { "input",          required_argument, NULL, 'i' },
    { "out",            required_argument, NULL, 'o' },
    { "ladder",         required_argument, NULL, 'l' },
    { "preset",         required_argument, NULL, 'p' },
    { "tune",           required_argument, NULL, 'T' },
    { "segment",        required_argument, NULL, 's' },
    { "window",         required_argument, NULL, 'w' },
    { "grace",          required_argument, NULL, 'g' },
    { "vod-dir",        required_argument, NULL, 'V' },
    { "vod-root",       required_argument, NULL, 'W' },
    { "broadcast",      required_argument, NULL, 'b' },
    { "resume-within",  required_argument, NULL, 'R' },
    { "fresh",          no_argument,       NULL, 'F' },
    { "no-source",      no_argument,       NULL, 'N' },
    { "thumb-interval", required_argument, NULL, 't' },
    { "thumb-size",     required_argument, NULL, 'S' },
    { "threads",        required_argument, NULL, 'j' },
    { "realtime",       no_argument,       NULL, 'r' },
    { "input-timeout",  required_argument, NULL, 'I' },
    { "stop-grace",     required_argument, NULL, 'G' },
    { "probe-ms",       required_argument, NULL, 'P' },
    { "log",            required_argument, NULL, 'L' },
    { "quiet",          no_argument,       NULL, 'q' },
    { "verbose",        no_argument,       NULL, 'v' },
    { "help",           no_argument,       NULL, 'h' },
    { "version",        no_argument,       NULL, 'Z' },
    { NULL, 0, NULL, 0 }
};


int
main(int argc, char **argv)
{
    int               rc, code;
    tt_run_t          run;
    tt_conf_t         conf;
    struct sigaction  sa;

    rc = tt_parse_args(argc, argv, &conf);
    if (rc != 0) {
        return rc > 0 ? TT_EXIT_OK : TT_EXIT_USAGE;
    }

    if (tt_log_init(&conf) != 0) {
        return TT_EXIT_OUTPUT;
    }

    /*
     * No SA_RESTART: a blocking read of the input returns EINTR and
     * libavformat's interrupt callback then sees tt_quit.
     */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tt_signal_handler;
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    avformat_network_init();

    memset(&run, 0, sizeof(run));
    run.conf = &conf;
    code = TT_EXIT_OK;

    run.in = tt_input_open(&conf);
    if (run.in == NULL) {
        code = tt_quit ? TT_EXIT_OK : TT_EXIT_INPUT;
        goto done;
    }

    run.hls = tt_hls_create(&conf);
    if (run.hls == NULL) {
        code = TT_EXIT_RUNTIME;
        goto done;
    }

    run.ladder = tt_ladder_create(&conf, run.in, run.hls);
    if (run.ladder == NULL) {
        code = TT_EXIT_RUNTIME;
        goto done;
    }

    if (tt_hls_start(run.hls) != 0) {
        code = TT_EXIT_OUTPUT;
        goto done;
    }

    if (conf.thumb_interval > 0) {
        run.thumb = tt_thumb_create(&conf, tt_hls_vod_dir(run.hls));
        if (run.thumb == NULL) {
            code = TT_EXIT_RUNTIME;
            goto done;
        }
    }

    code = tt_run(&run);

done:

    tt_thumb_free(run.thumb);
    tt_ladder_free(run.ladder);
    tt_hls_free(run.hls);
    tt_input_close(run.in);
    avformat_network_deinit();

    if (code == TT_EXIT_OK) {
        tt_log(TT_LOG_INFO, "exiting");

    } else {
        tt_log(TT_LOG_ERR, "exiting with code %d", code);
    }

    tt_log_done();

    return code;
}


static void
tt_signal_handler(int signo)
{
    (void) signo;

    if (tt_quit < 2) {
        tt_quit++;
    }
}


static int
tt_run(tt_run_t *run)
{
    int          rc, cut, code, key, draining;
    AVPacket    *pkt;
    int64_t      pts, ts, last;
    tt_input_t  *in;

    in = run->in;
    code = TT_EXIT_OK;
    draining = 0;
    last = AV_NOPTS_VALUE;

    pkt = av_packet_alloc();
    if (pkt == NULL) {
        tt_log(TT_LOG_ERR, "out of memory");
        return TT_EXIT_RUNTIME;
    }

    for ( ;; ) {
        rc = tt_input_read(in, pkt);

        if (rc == AVERROR_EOF) {
            tt_log(TT_LOG_INFO, "input: end of stream");
            break;
        }

        if (rc == AVERROR_EXIT) {
            tt_log(TT_LOG_INFO, "stopping on a signal");
            break;
        }

        if (tt_quit == 1 && in->stop_at != 0 && !draining) {
            draining = 1;
            tt_log(TT_LOG_INFO, "signalled: reading what is left of the "
                   "input for up to %d s", run->conf->stop_grace);
        }

        if (rc < 0) {
            /* the publisher went away: end the broadcast cleanly */
            tt_log(TT_LOG_WARN, "input: read error, ending the stream: %s",
                   tt_err(rc));
            break;
        }

        if (pkt->stream_index == in->vst->index) {
            ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            pts = tt_input_ts(in->vst, ts);
            key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;

            /*
             * Time going back (a restarted source behind a pipe) would
             * stall every rung: end this run; a restart continues the
             * playlists after an EXT-X-DISCONTINUITY.
             */
            if (pts != AV_NOPTS_VALUE && last != AV_NOPTS_VALUE
                && pts < last - TT_HZ)
            {
                tt_log(TT_LOG_WARN, "input: timestamps went back by %.3f s, "
                       "ending the stream", (double) (last - pts) / TT_HZ);
                av_packet_unref(pkt);
                break;
            }

            if (pts != AV_NOPTS_VALUE && (last == AV_NOPTS_VALUE
                                          || pts > last))
            {
                last = pts;
            }

            cut = tt_hls_cut(run->hls, pts, key);
            if (cut < 0) {
                /* before the first keyframe */
                av_packet_unref(pkt);
                continue;
            }

            if (pts != AV_NOPTS_VALUE) {
                tt_hls_video_end(run->hls, pts + (pkt->duration > 0
                    ? tt_input_ts(in->vst, pkt->duration) : in->frame_dur));
            }

            rc = tt_ladder_source_video(run->ladder, pkt);
            if (rc >= 0) {
                rc = tt_input_decode(in, in->vdec, pkt, tt_on_video_frame,
                                     run);
            }

        } else {
            rc = tt_ladder_source_audio(run->ladder, pkt);
            if (rc >= 0 && in->adec != NULL) {
                rc = tt_input_decode(in, in->adec, pkt, tt_on_audio_frame,
                                     run);
            }
        }

        av_packet_unref(pkt);

        if (rc < 0) {
            code = rc == AVERROR(ENOMEM) ? TT_EXIT_RUNTIME : TT_EXIT_OUTPUT;
            goto failed;
        }
    }

    /* the end: drain the decoders, the encoders, then the segmenter */

    rc = tt_input_decode(in, in->vdec, NULL, tt_on_video_frame, run);
    if (rc >= 0 && in->adec != NULL) {
        rc = tt_input_decode(in, in->adec, NULL, tt_on_audio_frame, run);
    }

    if (rc >= 0) {
        rc = tt_ladder_flush(run->ladder);
    }

    if (rc < 0) {
        code = TT_EXIT_RUNTIME;
        goto failed;
    }

    av_packet_free(&pkt);

    tt_log(TT_LOG_DEBUG, "main thread used %.2f s of CPU", tt_thread_cpu());

    if (tt_hls_finish(run->hls, 1) != 0) {
        return TT_EXIT_OUTPUT;
    }

    return TT_EXIT_OK;

failed:

    /* no worker may touch a muxer while the playlists are ended */
    av_packet_free(&pkt);
    tt_ladder_abort(run->ladder);
    (void) tt_hls_finish(run->hls, 0);

    return code;
}


static int
tt_on_video_frame(AVFrame *frame, void *data)
{
    int        rc, boundary;
    int64_t    pts, ts;
    tt_run_t  *run = data;

    ts = frame->pts != AV_NOPTS_VALUE ? frame->pts
                                      : frame->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) {
        return 0;
    }

    pts = tt_input_ts(run->in->vst, ts);
    boundary = tt_hls_is_boundary(run->hls, pts);

    (void) tt_thumb_frame(run->thumb, frame, pts);

    rc = tt_ladder_video(run->ladder, frame, pts, boundary);
    if (rc < 0) {
        return rc;
    }

    run->frames++;

    return 0;
}


static int
tt_on_audio_frame(AVFrame *frame, void *data)
{
    tt_run_t  *run = data;

    return tt_ladder_audio(run->ladder, frame);
}


static void
tt_usage(FILE *f)
{
    fprintf(f,
"usage: " TT_PROG " --input URL --out DIR [options]\n"
"\n"
"Transcodes one live stream into an HLS ladder: the source passed\n"
"through, plus every configured rung below the source height.\n"
"\n"
"  -i, --input URL          rtmp://..., a file, or pipe:0 (required)\n"
"  -o, --out DIR            live HLS directory (required)\n"
"  -l, --ladder SPEC        rungs, comma-separated HEIGHTp[FPS]:VBITRATE\n"
"                           [:ABITRATE]; FPS caps the frame rate\n"
"                           (default 30); ABITRATE defaults to 128k, 64k\n"
"                           below 240p\n"
"                           (default \"" TT_DEFAULT_LADDER "\")\n"
"  -p, --preset NAME        x264 preset (default veryfast)\n"
"      --tune NAME          x264 tune (default none)\n"
"  -s, --segment SEC        segment target duration (default 2)\n"
"  -w, --window N           segments in the live playlist (default 6)\n"
"      --grace N            segments kept on disk after leaving the\n"
"                           window (default window + 1, RFC 8216 6.2.2)\n"
"      --vod-dir DIR        keep the whole broadcast as a VOD in DIR\n"
"                           (may be the same as --out)\n"
"      --vod-root DIR       the same in DIR/<broadcast id>, or without\n"
"                           --broadcast DIR/<UTC start, YYYYmmdd-HHMMSS>\n"
"      --broadcast ID       broadcast id; a restart with the same id\n"
"                           continues the playlists\n"
"      --resume-within SEC  without --broadcast: continue playlists\n"
"                           younger than this (default 60)\n"
"      --fresh              never continue an earlier run\n"
"      --no-source          no stream-copied source rung\n"
"      --thumb-interval SEC thumbnail period, 0 turns them off (def. 10)\n"
"      --thumb-size WxH     thumbnail size (default 640x360)\n"
"  -j, --threads N          x264 threads per rung (default: by size)\n"
"      --realtime           read the input at its native rate\n"
"      --input-timeout SEC  give up on a silent input (default 10)\n"
"      --stop-grace SEC     after SIGTERM/SIGINT keep reading the input\n"
"                           this long (default 3); a second signal stops\n"
"                           at once; both end the playlists cleanly\n"
"      --probe-ms MS        limit stream probing (default: libav's, up\n"
"                           to 5 s; it ends at the first keyframe)\n"
"      --log FILE           also append the log to FILE\n"
"  -q, --quiet              errors and warnings only\n"
"  -v, --verbose            debug logging, libav messages\n"
"  -h, --help               this text\n"
"      --version            the version\n"
"\n"
"Exit codes: 0 the stream ended (EOF, SIGTERM/SIGINT); 1 bad usage;\n"
"2 the input cannot be opened; 3 a transcoding failure; 4 an output\n"
"failure (disk, permissions, a VOD directory of another broadcast).\n");
}


/* returns 0 to run, 1 to exit successfully (--help), -1 on errors */

static int
tt_parse_args(int argc, char **argv, tt_conf_t *conf)
{
    int          c, w, h;
    const char  *ladder;

    memset(conf, 0, sizeof(tt_conf_t));

    conf->preset = "veryfast";
    conf->segment = 2;
    conf->window = 6;
    conf->grace = -1;
    conf->thumb_interval = 10;
    conf->thumb_width = 640;
    conf->thumb_height = 360;
    conf->resume_within = 60;
    conf->input_timeout = 10;
    conf->stop_grace = 3;
    conf->log_level = TT_LOG_INFO;

    ladder = TT_DEFAULT_LADDER;

    for ( ;; ) {
        c = getopt_long(argc, argv, "i:o:l:p:s:w:j:qvh", tt_options, NULL);
        if (c == -1) {
            break;
        }

        switch (c) {

        case 'i':
            conf->input = optarg;
            break;

        case 'o':
            conf->out = optarg;
            break;

        case 'l':
            ladder = optarg;
            break;

        case 'p':
            conf->preset = optarg;
            break;

        case 'T':
            conf->tune = optarg;
            break;

        case 's':
            if (tt_parse_int("--segment", optarg, 1, 60, &conf->segment)) {
                return -1;
            }
            break;

        case 'w':
            if (tt_parse_int("--window", optarg, 1, 1000, &conf->window)) {
                return -1;
            }
            break;

        case 'g':
            if (tt_parse_int("--grace", optarg, 0, 1000, &conf->grace)) {
                return -1;
            }
            break;

        case 'V':
            conf->vod_dir = optarg;
            break;

        case 'W':
            conf->vod_root = optarg;
            break;

        case 'b':
            if (optarg[0] == '\0' || strpbrk(optarg, "\r\n\"\\") != NULL) {
                fprintf(stderr, TT_PROG ": bad --broadcast \"%s\"\n",
                        optarg);
                return -1;
            }
            conf->broadcast = optarg;
            break;

        case 'R':
            if (tt_parse_int("--resume-within", optarg, 0, INT_MAX,
                             &conf->resume_within))
            {
                return -1;
            }
            break;

        case 'F':
            conf->fresh = 1;
            break;

        case 'N':
            conf->no_source = 1;
            break;

        case 't':
            if (tt_parse_int("--thumb-interval", optarg, 0, 86400,
                             &conf->thumb_interval))
            {
                return -1;
            }
            break;

        case 'S':
            if (sscanf(optarg, "%dx%d", &w, &h) != 2 || w < 16 || h < 16
                || w > 3840 || h > 2160 || w % 2 || h % 2)
            {
                fprintf(stderr, TT_PROG ": bad --thumb-size \"%s\" (even "
                        "WxH expected)\n", optarg);
                return -1;
            }
            conf->thumb_width = w;
            conf->thumb_height = h;
            break;

        case 'j':
            if (tt_parse_int("--threads", optarg, 0, 64, &conf->threads)) {
                return -1;
            }
            break;

        case 'r':
            conf->realtime = 1;
            break;

        case 'I':
            if (tt_parse_int("--input-timeout", optarg, 0, 3600,
                             &conf->input_timeout))
            {
                return -1;
            }
            break;

        case 'G':
            if (tt_parse_int("--stop-grace", optarg, 0, 3600,
                             &conf->stop_grace))
            {
                return -1;
            }
            break;

        case 'P':
            if (tt_parse_int("--probe-ms", optarg, 0, 60000,
                             &conf->probe_ms))
            {
                return -1;
            }
            break;

        case 'L':
            conf->log_file = optarg;
            break;

        case 'q':
            conf->log_level = TT_LOG_WARN;
            break;

        case 'v':
            conf->log_level = TT_LOG_DEBUG;
            break;

        case 'h':
            tt_usage(stdout);
            return 1;

        case 'Z':
            printf(TT_PROG " " TT_VERSION " (libavformat %s, libavcodec "
                   "%s)\n", AV_STRINGIFY(LIBAVFORMAT_VERSION),
                   AV_STRINGIFY(LIBAVCODEC_VERSION));
            return 1;

        default:
            tt_usage(stderr);
            return -1;
        }
    }

    if (optind < argc) {
        fprintf(stderr, TT_PROG ": unexpected argument \"%s\"\n",
                argv[optind]);
        return -1;
    }

    if (conf->input == NULL || conf->out == NULL) {
        fprintf(stderr, TT_PROG ": --input and --out are required "
                "(see --help)\n");
        return -1;
    }

    if (conf->vod_dir != NULL && conf->vod_root != NULL) {
        fprintf(stderr, TT_PROG ": --vod-dir and --vod-root exclude each "
                "other\n");
        return -1;
    }

    if (strlen(conf->out) > 1024
        || (conf->vod_dir != NULL && strlen(conf->vod_dir) > 1024)
        || (conf->vod_root != NULL && strlen(conf->vod_root) > 960))
    {
        fprintf(stderr, TT_PROG ": directory names are too long\n");
        return -1;
    }

    if (tt_parse_ladder(ladder, conf) != 0) {
        return -1;
    }

    return 0;
}


/* "720p60:3000k,480p30:1200k,160p30:250k:64k" */

static int
tt_parse_ladder(const char *spec, tt_conf_t *conf)
{
    int              n, height, fps, i;
    char             buf[1024], *item, *save, *field, *save2, *end;
    tt_rung_conf_t  *r;

    if (snprintf(buf, sizeof(buf), "%s", spec) >= (int) sizeof(buf)) {
        fprintf(stderr, TT_PROG ": --ladder is too long\n");
        return -1;
    }

    for (item = strtok_r(buf, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save))
    {
        if (conf->nrungs == TT_MAX_RUNGS) {
            fprintf(stderr, TT_PROG ": at most %d rungs\n", TT_MAX_RUNGS);
            return -1;
        }

        r = &conf->rungs[conf->nrungs];

        field = strtok_r(item, ":", &save2);
        if (field == NULL) {
            goto bad;
        }

        height = (int) strtol(field, &end, 10);
        if (end == field || *end != 'p' || height < 16 || height > 4320
            || height % 2)
        {
            goto bad;
        }

        fps = 30;
        if (end[1] != '\0') {
            fps = (int) strtol(end + 1, &end, 10);
            if (*end != '\0' || fps < 1 || fps > 240) {
                goto bad;
            }
        }

        n = snprintf(r->name, sizeof(r->name), "%s", field);
        if (n >= (int) sizeof(r->name)) {
            goto bad;
        }

        r->height = height;
        r->fps_cap = fps;

        field = strtok_r(NULL, ":", &save2);
        if (field == NULL || tt_parse_bitrate(field, &r->bitrate) != 0) {
            goto bad;
        }

        r->audio_bitrate = height < 240 ? 64000 : 128000;

        field = strtok_r(NULL, ":", &save2);
        if (field != NULL
            && (tt_parse_bitrate(field, &r->audio_bitrate) != 0
                || r->audio_bitrate < 16000 || r->audio_bitrate > 512000))
        {
            goto bad;
        }

        if (strtok_r(NULL, ":", &save2) != NULL) {
            goto bad;
        }

        for (i = 0; i < conf->nrungs; i++) {
            if (strcmp(conf->rungs[i].name, r->name) == 0) {
                goto bad;
            }
        }

        conf->nrungs++;
        continue;

    bad:

        fprintf(stderr, TT_PROG ": bad --ladder rung \"%s\" (expected "
                "HEIGHTp[FPS]:BITRATE[:AUDIOBITRATE], e.g. 480p30:1200k)\n",
                item);
        return -1;
    }

    return 0;
}


static int
tt_parse_bitrate(const char *s, int64_t *out)
{
    char    *end;
    double   v;

    v = strtod(s, &end);
    if (end == s) {
        return -1;
    }

    if (*end == 'k' || *end == 'K') {
        v *= 1000;
        end++;

    } else if (*end == 'm' || *end == 'M') {
        v *= 1000000;
        end++;
    }

    if (*end != '\0' || v < 16000 || v > 100000000) {
        return -1;
    }

    *out = (int64_t) v;

    return 0;
}


static int
tt_parse_int(const char *name, const char *s, int min, int max, int *out)
{
    long   v;
    char  *end;

    errno = 0;
    v = strtol(s, &end, 10);

    if (end == s || *end != '\0' || errno != 0 || v < min || v > max) {
        fprintf(stderr, TT_PROG ": bad %s \"%s\" (%d..%d)\n", name, s,
                min, max);
        return -1;
    }

    *out = (int) v;

    return 0;
}
