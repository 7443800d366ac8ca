
/*
 * twitch_transcode: one live stream in, an HLS ABR ladder out.
 *
 * Common definitions shared by every file of the program: the parsed
 * command line, logging, media time and a few file helpers.
 */


#ifndef _TWITCH_TRANSCODE_H_INCLUDED_
#define _TWITCH_TRANSCODE_H_INCLUDED_


#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>


#define TT_VERSION           "1.0.0"
#define TT_PROG              "twitch_transcode"

/* media time: every timestamp past the demuxer is in MPEG-TS 90 kHz */
#define TT_HZ                90000
#define TT_TB                ((AVRational) { 1, TT_HZ })

#define TT_MAX_RUNGS         8
#define TT_NAME_LEN          16

/* exit codes (documented in README.md) */
#define TT_EXIT_OK           0
#define TT_EXIT_USAGE        1
#define TT_EXIT_INPUT        2
#define TT_EXIT_RUNTIME      3
#define TT_EXIT_OUTPUT       4

#define TT_LOG_ERR           0
#define TT_LOG_WARN          1
#define TT_LOG_INFO          2
#define TT_LOG_DEBUG         3


typedef struct {
    char                 name[TT_NAME_LEN];  /* "720p60" as configured */
    int                  height;
    int                  fps_cap;
    int64_t              bitrate;            /* video, bits per second */
    int64_t              audio_bitrate;
} tt_rung_conf_t;


typedef struct {
    const char          *input;
    const char          *out;
    const char          *vod_dir;
    const char          *vod_root;
    const char          *broadcast;
    const char          *preset;
    const char          *tune;
    const char          *log_file;

    tt_rung_conf_t       rungs[TT_MAX_RUNGS];
    int                  nrungs;

    int                  segment;            /* target duration, s */
    int                  window;             /* live playlist entries */
    int                  thumb_interval;     /* s, 0: off */
    int                  thumb_width;
    int                  thumb_height;
    int                  grace;              /* segments kept after the
                                                window, -1: window + 1 */
    int                  resume_within;      /* s */
    int                  input_timeout;      /* s */
    int                  stop_grace;         /* s */
    int                  probe_ms;
    int                  threads;            /* x264 threads, 0: auto */
    int                  log_level;

    unsigned             realtime:1;
    unsigned             fresh:1;
    unsigned             no_source:1;
} tt_conf_t;


/* a growable text buffer for playlists */
typedef struct {
    char                *data;
    size_t               len;
    size_t               size;
    int                  failed;
} tt_buf_t;


/*
 * Counts SIGTERM/SIGINT/SIGHUP: 1 drains the input for --stop-grace
 * seconds, 2 stops reading at once.  Polled by the input's reads.
 */
extern volatile sig_atomic_t  tt_quit;


void tt_log(int level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
int tt_log_init(const tt_conf_t *conf);
void tt_log_done(void);
const char *tt_err(int averr);

double tt_wall_time(void);
double tt_mono_time(void);
double tt_thread_cpu(void);

int tt_mkdir_p(const char *path);
int tt_write_file_atomic(const char *path, const void *data, size_t len);
int tt_copy_file(const char *from, const char *to);

void tt_buf_printf(tt_buf_t *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void tt_buf_free(tt_buf_t *b);

int tt_h264_codecs(const uint8_t *data, int size, char *out, size_t len);
const char *tt_aac_codecs(const AVCodecParameters *par);


#endif /* _TWITCH_TRANSCODE_H_INCLUDED_ */
