
/*
 * twitch_transcode: the rungs of the ladder, their scalers and
 * encoders, the stream-copied source rung and the shared AAC encodes.
 */


#ifndef _TWITCH_TRANSCODE_LADDER_H_INCLUDED_
#define _TWITCH_TRANSCODE_LADDER_H_INCLUDED_


#include "twitch_transcode.h"
#include "twitch_transcode_input.h"
#include "twitch_transcode_hls.h"


typedef struct tt_ladder_s  tt_ladder_t;


tt_ladder_t *tt_ladder_create(const tt_conf_t *conf, tt_input_t *in,
    tt_hls_t *hls);
int tt_ladder_needs_audio(tt_ladder_t *l);
int tt_ladder_source_video(tt_ladder_t *l, const AVPacket *pkt);
int tt_ladder_source_audio(tt_ladder_t *l, const AVPacket *pkt);
int tt_ladder_video(tt_ladder_t *l, AVFrame *frame, int64_t pts,
    int boundary);
int tt_ladder_audio(tt_ladder_t *l, AVFrame *frame);
int tt_ladder_flush(tt_ladder_t *l);
void tt_ladder_abort(tt_ladder_t *l);
void tt_ladder_free(tt_ladder_t *l);


#endif /* _TWITCH_TRANSCODE_LADDER_H_INCLUDED_ */
