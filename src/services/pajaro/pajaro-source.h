/* SPDX-License-Identifier: MIT */
/* pajaro-source.h: a social network Pajaro reads posts from.
 *
 * One interface, two implementations (#PajaroTwitterSource,
 * #PajaroMastodonSource). A source is told which tracks to follow, keeps
 * its connections to the network up by itself, and reports what arrives
 * through three signals:
 *
 * - #PajaroSource::post: a post, with the tracked tags it matched
 *   (pajaro_post_has_tag()); the service delivers it once per tag.
 * - #PajaroSource::deleted: the network withdrew a post.
 * - #PajaroSource::dropped: something arrived that is not delivered:
 *   "malformed" (not JSON, or not a post), "oversize" (over the line or
 *   event limit); the tag is %NULL when it cannot be known.
 *
 * Failures of the network never reach the caller: the source backs off
 * and connects again, and says how it is doing in its status JSON.
 */
#pragma once

#include <gio/gio.h>

#include "pajaro-post.h"
#include "pajaro-track.h"

G_BEGIN_DECLS

#define PAJARO_TYPE_SOURCE (pajaro_source_get_type ())

G_DECLARE_INTERFACE (PajaroSource, pajaro_source, PAJARO, SOURCE, GObject)

/**
 * PajaroSourceInterface:
 * @get_name: "twitter" or "mastodon", the `source` of its posts
 * @start: connects; tracks may be added before or after
 * @stop: closes every connection; nothing is emitted afterwards
 * @track_async: follows @track (replacing a track of the same tag); it
 *   completes once the network knows (Twitter: the rule is stored) or, for
 *   failures that are retried, once the first attempt failed. Fails with
 *   G_IO_ERROR_NOT_SUPPORTED for a kind of track the network cannot follow
 *   and another error when the network refused it for good.
 * @untrack_async: stops following @tag; completes like @track_async
 * @dup_tag_state: how following @tag goes: "active", "pending" (waiting
 *   for the network, retrying) or %NULL when @tag is not tracked here
 * @get_reconnects: connections that had to be made again since @tag was
 *   tracked, on the streams that serve it
 * @append_status_json: appends a JSON object describing the source's
 *   connections (see each implementation)
 */
struct _PajaroSourceInterface {
  GTypeInterface parent_iface;

  const char * (*get_name)           (PajaroSource         *self);
  void         (*start)              (PajaroSource         *self);
  void         (*stop)               (PajaroSource         *self);
  void         (*track_async)        (PajaroSource         *self,
                                      PajaroTrack          *track,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data);
  gboolean     (*track_finish)       (PajaroSource         *self,
                                      GAsyncResult         *result,
                                      GError              **error);
  void         (*untrack_async)      (PajaroSource         *self,
                                      const char           *tag,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data);
  gboolean     (*untrack_finish)     (PajaroSource         *self,
                                      GAsyncResult         *result,
                                      GError              **error);
  char *       (*dup_tag_state)      (PajaroSource         *self,
                                      const char           *tag);
  guint64      (*get_reconnects)     (PajaroSource         *self,
                                      const char           *tag);
  void         (*append_status_json) (PajaroSource         *self,
                                      GString              *out);
};

const char *pajaro_source_get_name           (PajaroSource         *self);
void        pajaro_source_start              (PajaroSource         *self);
void        pajaro_source_stop               (PajaroSource         *self);
void        pajaro_source_track_async        (PajaroSource         *self,
                                              PajaroTrack          *track,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean    pajaro_source_track_finish       (PajaroSource         *self,
                                              GAsyncResult         *result,
                                              GError              **error);
void        pajaro_source_untrack_async      (PajaroSource         *self,
                                              const char           *tag,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean    pajaro_source_untrack_finish     (PajaroSource         *self,
                                              GAsyncResult         *result,
                                              GError              **error);
char       *pajaro_source_dup_tag_state      (PajaroSource         *self,
                                              const char           *tag);
guint64     pajaro_source_get_reconnects     (PajaroSource         *self,
                                              const char           *tag);
void        pajaro_source_append_status_json (PajaroSource         *self,
                                              GString              *out);

/* For implementations: emit the signals. */
void        pajaro_source_emit_post          (PajaroSource         *self,
                                              PajaroPost           *post);
void        pajaro_source_emit_deleted       (PajaroSource         *self,
                                              const char           *id,
                                              const char           *tag);
void        pajaro_source_emit_dropped       (PajaroSource         *self,
                                              const char           *tag,
                                              const char           *reason);

G_END_DECLS
