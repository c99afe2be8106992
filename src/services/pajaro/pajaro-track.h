/* SPDX-License-Identifier: MIT */
/* pajaro-track.h: what Pajaro is asked to follow under one tag.
 *
 * `PUT ["pajaro","track",TAG]` names the tag; its optional body says what
 * to match:
 *
 *   (no body) or {}              the hashtag #TAG
 *   {"keyword": "rust lang"}     posts whose text holds the words
 *   {"timeline": "public"}       every post of the public timeline
 *
 * Tags are folded to lower case and lose a leading `#`, so that `#Rust`
 * and `rust` are the same track; the tag is what posts are delivered under
 * (`POST ["pajaro","posts",TAG]`).
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  PAJARO_TRACK_HASHTAG,
  PAJARO_TRACK_KEYWORD,
  PAJARO_TRACK_PUBLIC,
} PajaroTrackKind;

/* Tags are hashtag names: both networks refuse longer ones. */
#define PAJARO_TRACK_MAX_TAG      100
/* A Twitter rule holds at most 512 characters, quotes included. */
#define PAJARO_TRACK_MAX_KEYWORD  256

typedef struct _PajaroTrack PajaroTrack;

struct _PajaroTrack {
  char *tag;
  PajaroTrackKind kind;
  char *keyword;      /* PAJARO_TRACK_KEYWORD only: as given */

  /*< private >*/
  gatomicrefcount ref_count;
  char *folded;       /* the keyword case-folded, for matching */
};

#define PAJARO_TYPE_TRACK (pajaro_track_get_type ())

GType        pajaro_track_get_type       (void) G_GNUC_CONST;

/**
 * pajaro_track_normalize_tag:
 * @text: (array length=length): a tag as a client wrote it
 *
 * Returns: (transfer full) (nullable): the tag in lower case without a
 *   leading `#`, or %NULL with @error set (G_IO_ERROR_INVALID_ARGUMENT)
 *   when it is empty, too long or holds anything but letters, digits,
 *   marks and underscores
 */
char        *pajaro_track_normalize_tag  (const char   *text,
                                          gsize         length,
                                          GError      **error);

/* A hashtag track; @tag must be normalized already. */
PajaroTrack *pajaro_track_new            (const char   *tag);

/**
 * pajaro_track_new_from_body:
 * @tag: a normalized tag
 * @body: (nullable): the PUT body
 *
 * Returns: (transfer full) (nullable): the track the body describes, or
 *   %NULL with @error set (G_IO_ERROR_INVALID_ARGUMENT, a message for the
 *   client) when the body is not one of the forms above
 */
PajaroTrack *pajaro_track_new_from_body  (const char   *tag,
                                          JsonNode     *body,
                                          GError      **error);

PajaroTrack *pajaro_track_ref            (PajaroTrack  *self);
void         pajaro_track_unref          (PajaroTrack  *self);

gboolean     pajaro_track_equal          (const PajaroTrack *a,
                                          const PajaroTrack *b);
/* "hashtag", "keyword" or "public". */
const char  *pajaro_track_kind_to_string (PajaroTrackKind    kind);

/* Whether @text (plain text, any case) holds the keyword; hashtag tracks
 * are matched by the networks, public tracks match everything. */
gboolean     pajaro_track_matches_text   (const PajaroTrack *self,
                                          const char        *text);

/* Appends {"tag":..,"kind":..,"keyword":..} members (without braces). */
void         pajaro_track_append_json    (const PajaroTrack *self,
                                          GString           *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PajaroTrack, pajaro_track_unref)

G_END_DECLS
