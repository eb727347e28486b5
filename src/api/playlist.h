/* playlist.h: the text files of a playback package as mediad serves them: the HLS master playlist
 * written from the rendition rows, and the stored media playlists and storyboard WebVTT with every
 * URI in them signed (auth/signlink.h, path-bound). Pure functions over memory. */
#ifndef MEDIAD_PLAYLIST_H
#define MEDIAD_PLAYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct rendition;

/* Who signs the URIs written: the link key, the media and the expiry every URI gets. */
struct playlist_signer {
	const unsigned char *key; /* SIGNLINK_KEY_LEN bytes */
	int64_t media_id;
	int64_t expires;
};

/* The name of a variant's playlist, beside its segments; the master points at <name>/ of it. */
#define PLAYLIST_VARIANT_INDEX "index.m3u8"

/*
 * Whether name is a file a media playlist may name, and the segment route serves:
 * init_[0-9]{1,2}.mp4 (the fMP4 initialisation segment) or seg_[0-9]{5,9}.m4s.
 */
bool playlist_file_ok(const char *name);
/* The Content-Type of such a file: video/mp4 (video/mp2t for a .ts). */
const char *playlist_file_type(const char *name);

/*
 * Appends to out the master playlist of the HLS variants v[0..n) (in the order given): for each,
 * an EXT-X-STREAM-INF with BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS and FRAME-RATE (each
 * optional one left out when the row has none), then the relative URI
 * "<name>/index.m3u8?expires=E&sig=S", S signed for that path. Returns 0; -1 with the reason in
 * err when a row cannot be written safely (a malformed name, codecs or frame rate, no bandwidth)
 * or out of memory. out may hold a part on failure.
 */
int playlist_master(const struct rendition *v, int n, const struct playlist_signer *s, struct buf *out,
                    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Appends to out the stored media playlist in[0..len) of variant (a rendition name) with every
 * URI signed: each URI line and the EXT-X-MAP URI become "<file>?expires=E&sig=S", S signed for
 * "<variant>/<file>", relative to the playlist. Everything else is copied; CRLF becomes LF.
 * Returns 0; -1 with the reason in err when the file is not what a render writes: no #EXTM3U
 * first, a NUL byte, a URI that is not a playlist_file_ok name, or another tag with a URI (which
 * would reach the player unsigned). out may hold a part on failure.
 */
int playlist_sign_media(const char *in, size_t len, const char *variant, const struct playlist_signer *s,
                        struct buf *out, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Appends to out the stored WebVTT in[0..len) with each cue payload "<sprite>#xywh=..." made
 * "<sprite>?expires=E&sig=S#xywh=...", S signed for sprite (a file name at the package's root).
 * Returns 0; -1 with the reason in err when the file does not start with WEBVTT, holds a NUL byte,
 * or a cue's payload is not the sprite. out may hold a part on failure.
 */
int playlist_sign_vtt(const char *in, size_t len, const char *sprite, const struct playlist_signer *s,
                      struct buf *out, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
