
/*
 * twitch_transcode: JPEG thumbnails of the live picture.
 */


#ifndef _TWITCH_TRANSCODE_THUMB_H_INCLUDED_
#define _TWITCH_TRANSCODE_THUMB_H_INCLUDED_


#include "twitch_transcode.h"


typedef struct tt_thumb_s  tt_thumb_t;


tt_thumb_t *tt_thumb_create(const tt_conf_t *conf, const char *vod_dir);
int tt_thumb_frame(tt_thumb_t *t, const AVFrame *frame, int64_t pts);
void tt_thumb_free(tt_thumb_t *t);


#endif /* _TWITCH_TRANSCODE_THUMB_H_INCLUDED_ */
