/* SPDX-License-Identifier: MIT */
/* pajaro-service.h: Pajaro's resources on a JSTP engine.
 *
 * Serves, on the engine it is given:
 *
 *   PUT    ["pajaro","track",TAG]   follow TAG on every source (body: see
 *                                   pajaro-track.h); 200 once the sources
 *                                   took it, 400 bad tag or body, 502 when
 *                                   every source failed, 501 when none can
 *   DELETE ["pajaro","track",TAG]   stop; 200 with its final counts, 404
 *   GET    ["pajaro","track"]       {"tags": [ENTRY...]}, sorted by tag
 *   GET    ["pajaro","track",TAG]   ENTRY, or 404
 *   GET    ["pajaro","stats"]       the counters (below)
 *
 * and emits each post as `POST ["pajaro","posts",TAG]` (body: see
 * pajaro-post.h) once per tag it matched, and a withdrawn post it
 * delivered as `DELETE ["pajaro","posts",TAG]` with {"id", "source",
 * "tag"}. Those two are the service's alone: peers on the network may
 * BIND them but not emit them (403). Every stats interval it also emits
 * `PUT ["pajaro","stats"]` with the stats body, for live views.
 *
 * ENTRY: {"tag", "kind", "keyword", "since" (ms since the epoch),
 * "delivered", "dropped", "deleted", "reconnects" (of the streams that
 * serve it), "rate" (posts per second over the last 10 s), "per_minute"
 * (posts over the last 60 s), "sources": {NAME: "active"|"pending"}}.
 *
 * Stats: {"delivered", "dropped", "deleted", "dropped_by_reason":
 * {"malformed", "oversize", "duplicate"}, "rate", "per_minute",
 * "dedupe_window" (s), "tags": {TAG: ENTRY...}, "sources": [each source's
 * status JSON: at least "name", "state" (streaming, connecting,
 * backing-off, stopped, idle), "retry_at" (ms since the epoch, while
 * backing off) and "error"]}.
 *
 * A post is a duplicate when the same source delivered the same id for
 * the same tag within the dedupe window; duplicates, malformed and oversize
 * input are dropped and counted.
 */
#pragma once

#include "jstp-engine.h"
#include "pajaro-source.h"
#include "pajaro-track.h"

G_BEGIN_DECLS

#define PAJARO_TYPE_SERVICE (pajaro_service_get_type ())

G_DECLARE_FINAL_TYPE (PajaroService, pajaro_service, PAJARO, SERVICE, GObject)

#define PAJARO_SERVICE_DEFAULT_DEDUPE_WINDOW  600     /* s */
#define PAJARO_SERVICE_DEFAULT_STATS_INTERVAL 1000    /* ms */
#define PAJARO_SERVICE_DEFAULT_MAX_TAGS       100

/* Binds the resources on @engine at once. */
PajaroService *pajaro_service_new             (JstpEngine          *engine);
JstpEngine    *pajaro_service_get_engine      (PajaroService       *self);

/* Before pajaro_service_start(). The service keeps a reference. */
void           pajaro_service_add_source      (PajaroService       *self,
                                               PajaroSource        *source);
void           pajaro_service_start           (PajaroService       *self);
/* Stops every source; the resources stay bound. */
void           pajaro_service_stop            (PajaroService       *self);

/**
 * pajaro_service_track_async:
 *
 * What `PUT ["pajaro","track",TAG]` does, for programs (the --track flag).
 */
void           pajaro_service_track_async     (PajaroService       *self,
                                               PajaroTrack         *track,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
/* Returns: (transfer full): the answer body; @status gets its status. */
char          *pajaro_service_track_finish    (PajaroService       *self,
                                               GAsyncResult        *result,
                                               guint               *status);

/* Seconds a delivered id is remembered to drop duplicates. */
guint          pajaro_service_get_dedupe_window (PajaroService     *self);
void           pajaro_service_set_dedupe_window (PajaroService     *self,
                                               guint                seconds);
/* Milliseconds between PUT ["pajaro","stats"]; 0 emits none. */
guint          pajaro_service_get_stats_interval (PajaroService    *self);
void           pajaro_service_set_stats_interval (PajaroService    *self,
                                               guint                interval_ms);

/* Bodies as the GETs answer them; free with g_free(). */
char          *pajaro_service_dup_stats_json  (PajaroService       *self);
char          *pajaro_service_dup_tracks_json (PajaroService       *self);

G_END_DECLS
