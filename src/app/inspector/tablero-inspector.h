/* tablero-inspector.h: the live list of the embedded engine's dispatches
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gtk/gtk.h>

#include "jstp-engine.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_INSPECTOR (tablero_inspector_get_type ())

G_DECLARE_FINAL_TYPE (TableroInspector, tablero_inspector, TABLERO, INSPECTOR, GtkWidget)

GtkWidget  *tablero_inspector_new              (void);

/* The engine whose traffic is listed; by default the application's. */
JstpEngine *tablero_inspector_get_engine       (TableroInspector  *self);
void        tablero_inspector_set_engine       (TableroInspector  *self,
                                                JstpEngine        *engine);

/* Every dispatch kept (a ring: the oldest go first), and the rows the
 * filters let through. Transfer none; items are TableroDispatchItem. */
GListModel *tablero_inspector_get_history      (TableroInspector  *self);
GListModel *tablero_inspector_get_visible      (TableroInspector  *self);
guint       tablero_inspector_get_history_size (TableroInspector  *self);
void        tablero_inspector_set_history_size (TableroInspector  *self,
                                                guint              size);

/* Shows queued traffic now instead of at the next tick (tests). */
void        tablero_inspector_flush            (TableroInspector  *self);

/* Filters, as the entries set them: an endpoint pattern such as
 * `GET ["user", "*"]` and a regular expression over the dispatch text.
 * FALSE (and the entry marked) when the text does not parse. */
gboolean    tablero_inspector_set_pattern      (TableroInspector  *self,
                                                const char        *pattern);
gboolean    tablero_inspector_set_search       (TableroInspector  *self,
                                                const char        *regex);
/* Only dispatches from or to these address:port peers; NULL for all. */
void        tablero_inspector_set_peers        (TableroInspector  *self,
                                                const char * const *peers);
/* Canvas selection: filters to the selected nodes and the ends of the
 * selected edges (GPtrArrays of TableroNode and TableroEdge). */
void        tablero_inspector_set_selection    (TableroInspector  *self,
                                                GPtrArray         *nodes,
                                                GPtrArray         *edges);

gboolean    tablero_inspector_get_paused       (TableroInspector  *self);
void        tablero_inspector_set_paused       (TableroInspector  *self,
                                                gboolean           paused);
void        tablero_inspector_clear            (TableroInspector  *self);

/* Stores what arrives from now on in the stack's database. */
gboolean    tablero_inspector_get_recording    (TableroInspector  *self);
void        tablero_inspector_set_recording    (TableroInspector  *self,
                                                gboolean           recording);

/* Writes the visible dispatches, one compact JSON dispatch per line. */
gboolean    tablero_inspector_export           (TableroInspector  *self,
                                                GFile             *file,
                                                GError           **error);

/* `GET ["user", "*"]`, `["user", "..."]` (any method) or a method alone:
 * the endpoint syntax of the filter entry and the composer's BIND. */
JstpPattern *tablero_inspector_parse_pattern   (const char        *text,
                                                GError           **error);

G_END_DECLS
