
/*
 * twitch_transcode: MPEG-TS segmenting and the HLS playlists (live,
 * VOD and master) of every rung.
 */


#ifndef _TWITCH_TRANSCODE_HLS_H_INCLUDED_
#define _TWITCH_TRANSCODE_HLS_H_INCLUDED_


#include "twitch_transcode.h"


typedef struct tt_hls_s       tt_hls_t;
typedef struct tt_hls_rung_s  tt_hls_rung_t;


typedef struct {
    const char               *name;
    int                       width;
    int                       height;
    AVRational                fps;
    int64_t                   peak;      /* declared bits/s, 0: measure */
    int64_t                   average;
    const AVCodecParameters  *video;
    const AVCodecParameters  *audio;     /* NULL: video only */
} tt_hls_rung_conf_t;


tt_hls_t *tt_hls_create(const tt_conf_t *conf);
tt_hls_rung_t *tt_hls_add_rung(tt_hls_t *hls, const tt_hls_rung_conf_t *rc);
int tt_hls_start(tt_hls_t *hls);
const char *tt_hls_vod_dir(tt_hls_t *hls);

int tt_hls_cut(tt_hls_t *hls, int64_t pts, int key);
int tt_hls_is_boundary(tt_hls_t *hls, int64_t pts);
void tt_hls_video_end(tt_hls_t *hls, int64_t end);

int tt_hls_video(tt_hls_rung_t *r, AVPacket *pkt);
int tt_hls_audio(tt_hls_rung_t *r, AVPacket *pkt);

int tt_hls_finish(tt_hls_t *hls, int ok);
void tt_hls_free(tt_hls_t *hls);


#endif /* _TWITCH_TRANSCODE_HLS_H_INCLUDED_ */
