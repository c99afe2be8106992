/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "pajaro-source.h"

G_DEFINE_INTERFACE (PajaroSource, pajaro_source, G_TYPE_OBJECT)

enum {
  POST,
  DELETED,
  DROPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
pajaro_source_default_init (PajaroSourceInterface *iface)
{
  /**
   * PajaroSource::post:
   * @post: the post, with the tracked tags it matched
   */
  signals[POST] =
    g_signal_new ("post", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  PAJARO_TYPE_POST | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * PajaroSource::deleted:
   * @id: the network's id of the withdrawn post
   * @tag: the tracked tag of the stream that said so
   */
  signals[DELETED] =
    g_signal_new ("deleted", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * PajaroSource::dropped:
   * @tag: (nullable): the tag it was for, when known
   * @reason: "malformed" or "oversize"
   */
  signals[DROPPED] =
    g_signal_new ("dropped", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

const char *
pajaro_source_get_name (PajaroSource *self)
{
  g_return_val_if_fail (PAJARO_IS_SOURCE (self), NULL);

  return PAJARO_SOURCE_GET_IFACE (self)->get_name (self);
}

void
pajaro_source_start (PajaroSource *self)
{
  g_return_if_fail (PAJARO_IS_SOURCE (self));

  PAJARO_SOURCE_GET_IFACE (self)->start (self);
}

void
pajaro_source_stop (PajaroSource *self)
{
  g_return_if_fail (PAJARO_IS_SOURCE (self));

  PAJARO_SOURCE_GET_IFACE (self)->stop (self);
}

void
pajaro_source_track_async (PajaroSource        *self,
                           PajaroTrack         *track,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (PAJARO_IS_SOURCE (self));
  g_return_if_fail (track != NULL);

  PAJARO_SOURCE_GET_IFACE (self)->track_async (self, track, cancellable, callback, user_data);
}

gboolean
pajaro_source_track_finish (PajaroSource  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (PAJARO_IS_SOURCE (self), FALSE);

  return PAJARO_SOURCE_GET_IFACE (self)->track_finish (self, result, error);
}

void
pajaro_source_untrack_async (PajaroSource        *self,
                             const char          *tag,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (PAJARO_IS_SOURCE (self));
  g_return_if_fail (tag != NULL);

  PAJARO_SOURCE_GET_IFACE (self)->untrack_async (self, tag, cancellable, callback, user_data);
}

gboolean
pajaro_source_untrack_finish (PajaroSource  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (PAJARO_IS_SOURCE (self), FALSE);

  return PAJARO_SOURCE_GET_IFACE (self)->untrack_finish (self, result, error);
}

char *
pajaro_source_dup_tag_state (PajaroSource *self,
                             const char   *tag)
{
  g_return_val_if_fail (PAJARO_IS_SOURCE (self), NULL);
  g_return_val_if_fail (tag != NULL, NULL);

  return PAJARO_SOURCE_GET_IFACE (self)->dup_tag_state (self, tag);
}

guint64
pajaro_source_get_reconnects (PajaroSource *self,
                              const char   *tag)
{
  g_return_val_if_fail (PAJARO_IS_SOURCE (self), 0);
  g_return_val_if_fail (tag != NULL, 0);

  return PAJARO_SOURCE_GET_IFACE (self)->get_reconnects (self, tag);
}

void
pajaro_source_append_status_json (PajaroSource *self,
                                  GString      *out)
{
  g_return_if_fail (PAJARO_IS_SOURCE (self));
  g_return_if_fail (out != NULL);

  PAJARO_SOURCE_GET_IFACE (self)->append_status_json (self, out);
}

void
pajaro_source_emit_post (PajaroSource *self,
                         PajaroPost   *post)
{
  g_return_if_fail (PAJARO_IS_SOURCE (self));
  g_return_if_fail (post != NULL);

  g_signal_emit (self, signals[POST], 0, post);
}

void
pajaro_source_emit_deleted (PajaroSource *self,
                            const char   *id,
                            const char   *tag)
{
  g_return_if_fail (PAJARO_IS_SOURCE (self));
  g_return_if_fail (id != NULL && tag != NULL);

  g_signal_emit (self, signals[DELETED], 0, id, tag);
}

void
pajaro_source_emit_dropped (PajaroSource *self,
                            const char   *tag,
                            const char   *reason)
{
  g_return_if_fail (PAJARO_IS_SOURCE (self));
  g_return_if_fail (reason != NULL);

  g_signal_emit (self, signals[DROPPED], 0, tag, reason);
}
