
/*
 * twitch_transcode: demuxing and decoding of the source, done once.
 */


#ifndef _TWITCH_TRANSCODE_INPUT_H_INCLUDED_
#define _TWITCH_TRANSCODE_INPUT_H_INCLUDED_


#include "twitch_transcode.h"


typedef int (*tt_frame_handler_pt)(AVFrame *frame, void *data);


typedef struct {
    AVFormatContext     *fmt;
    AVStream            *vst;
    AVStream            *ast;        /* NULL: no audio */
    AVCodecContext      *vdec;
    AVCodecContext      *adec;       /* opened on demand */
    AVFrame             *frame;

    AVRational           fps;        /* nominal source frame rate */
    int64_t              frame_dur;  /* in media time (90 kHz) */

    double               deadline;   /* I/O watchdog, monotonic s */
    int                  timeout;
    int                  grace;
    double               stop_at;    /* end of the drain after a signal */

    unsigned             realtime:1;
    double               rt_start;
    int64_t              rt_first;
} tt_input_t;


tt_input_t *tt_input_open(const tt_conf_t *conf);
int tt_input_open_audio_decoder(tt_input_t *in);
int tt_input_read(tt_input_t *in, AVPacket *pkt);
int tt_input_stopping(tt_input_t *in);
int tt_input_decode(tt_input_t *in, AVCodecContext *dec, const AVPacket *pkt,
    tt_frame_handler_pt handler, void *data);
int64_t tt_input_ts(AVStream *st, int64_t ts);
void tt_input_close(tt_input_t *in);


#endif /* _TWITCH_TRANSCODE_INPUT_H_INCLUDED_ */
