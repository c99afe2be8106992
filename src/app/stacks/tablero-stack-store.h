/* SPDX-License-Identifier: MIT */
/* tablero-stack-store.h: the SQLite database of saved stacks and of their
 * metrics history, normally $XDG_DATA_HOME/tablero/stacks.db.
 *
 * The file is recognised by its application_id and versioned with
 * user_version; older versions are migrated on open. A file that is not a
 * Tablero database, is damaged or was written by a newer Tablero is refused
 * with a TABLERO_STACK_STORE_ERROR and left untouched.
 *
 * Synchronous calls use a connection owned by the thread that created the
 * store. The _async variants run on a worker thread with its own connection;
 * jobs run one at a time in the order they were started, and their callbacks
 * run in the caller's thread-default main context. */
#pragma once

#include <gio/gio.h>

#include "tablero-stack.h"

G_BEGIN_DECLS

#define TABLERO_STACK_STORE_ERROR (tablero_stack_store_error_quark ())

typedef enum {
  TABLERO_STACK_STORE_ERROR_NOT_DATABASE,  /* not SQLite at all, or truncated */
  TABLERO_STACK_STORE_ERROR_FOREIGN,       /* SQLite, but not Tablero's */
  TABLERO_STACK_STORE_ERROR_TOO_NEW,       /* written by a newer Tablero */
  TABLERO_STACK_STORE_ERROR_CORRUPT,       /* Tablero's, but damaged */
  TABLERO_STACK_STORE_ERROR_NOT_FOUND,     /* no stack by that name */
  TABLERO_STACK_STORE_ERROR_EXISTS,        /* a stack by that name exists */
  TABLERO_STACK_STORE_ERROR_INVALID_NAME,  /* empty or too long */
  TABLERO_STACK_STORE_ERROR_FAILED,        /* any other SQLite failure */
} TableroStackStoreError;

GQuark tablero_stack_store_error_quark (void);

/* Current schema version (PRAGMA user_version). */
#define TABLERO_STACK_STORE_SCHEMA_VERSION 3
/* PRAGMA application_id of Tablero databases: "TBLR". */
#define TABLERO_STACK_STORE_APPLICATION_ID 0x54424C52

#define TABLERO_STACK_STORE_MAX_NAME TABLERO_STACK_MAX_NAME   /* bytes of a stack name */

/* Metrics retention defaults: a day, and a day of 1 Hz samples per node. */
#define TABLERO_STACK_STORE_DEFAULT_MAX_AGE_MS   (24 * 60 * 60 * G_GINT64_CONSTANT (1000))
#define TABLERO_STACK_STORE_DEFAULT_MAX_ROWS     86400

/* TableroStackInfo: one row of the stacks list. Immutable; a new set of
 * items replaces the old one when the list changes. Declared here because it
 * exists only as the item type of the store's lists. */
#define TABLERO_TYPE_STACK_INFO (tablero_stack_info_get_type ())
G_DECLARE_FINAL_TYPE (TableroStackInfo, tablero_stack_info, TABLERO, STACK_INFO, GObject)

const char *tablero_stack_info_get_name          (TableroStackInfo *self);
/* Local time of the last save. Transfer none. */
GDateTime  *tablero_stack_info_get_modified_time (TableroStackInfo *self);
/* Local time of the last load, or NULL if never loaded. Transfer none. */
GDateTime  *tablero_stack_info_get_opened_time   (TableroStackInfo *self);

/* One metrics sample of one node. */
typedef struct {
  gint64 time_ms;      /* milliseconds since the Unix epoch */
  double cpu;
  double memory;
  double disk;
  double network;
  double saturation;
} TableroMetricsSample;

/* One dispatch the inspector recorded. */
typedef struct {
  gint64      time_ms;     /* milliseconds since the Unix epoch */
  const char *direction;   /* "in", "out" or "local" */
  const char *peer;        /* address:port, or NULL */
  const char *text;        /* the compact dispatch */
} TableroDispatchRecord;

#define TABLERO_TYPE_STACK_STORE (tablero_stack_store_get_type ())
G_DECLARE_FINAL_TYPE (TableroStackStore, tablero_stack_store, TABLERO, STACK_STORE, GObject)

/* Opens @path, creating it (and its folder) if it does not exist. */
TableroStackStore *tablero_stack_store_new           (const char         *path,
                                                      GError            **error);
/* $XDG_DATA_HOME/tablero/stacks.db. */
char              *tablero_stack_store_get_default_path (void);
const char        *tablero_stack_store_get_path      (TableroStackStore  *self);

/* Live lists of TableroStackInfo, updated after every change made through
 * this store. get_stacks: all stacks sorted by name. get_recent: stacks
 * that were loaded at least once, most recently loaded first. Transfer none. */
GListModel        *tablero_stack_store_get_stacks    (TableroStackStore  *self);
GListModel        *tablero_stack_store_get_recent    (TableroStackStore  *self);

/* Saves @stack under its name, replacing a stack of that name, and marks
 * it unmodified. */
gboolean           tablero_stack_store_save          (TableroStackStore  *self,
                                                      TableroStack       *stack,
                                                      GError            **error);
/* Loads a stack and records it as opened now. */
TableroStack      *tablero_stack_store_load          (TableroStackStore  *self,
                                                      const char         *name,
                                                      GError            **error);
gboolean           tablero_stack_store_contains      (TableroStackStore  *self,
                                                      const char         *name);
/* Renames a saved stack (its metrics history follows). Fails with _EXISTS if
 * @new_name is taken. A loaded TableroStack keeps its old name: the caller
 * updates it with tablero_stack_set_name (). */
gboolean           tablero_stack_store_rename        (TableroStackStore  *self,
                                                      const char         *name,
                                                      const char         *new_name,
                                                      GError            **error);
/* Copies the layout (not the metrics history) under @new_name. */
gboolean           tablero_stack_store_duplicate     (TableroStackStore  *self,
                                                      const char         *name,
                                                      const char         *new_name,
                                                      GError            **error);
/* Deletes a stack and its metrics history. */
gboolean           tablero_stack_store_delete        (TableroStackStore  *self,
                                                      const char         *name,
                                                      GError            **error);

/* Writes a saved stack to @file in the export format (atomically). */
gboolean           tablero_stack_store_export_file   (TableroStackStore  *self,
                                                      const char         *name,
                                                      GFile              *file,
                                                      GError            **error);
/* Validates and stores a stack file. If its name is taken, " (2)", " (3)", ...
 * is appended. Returns the name it was stored under. */
char              *tablero_stack_store_import_file   (TableroStackStore  *self,
                                                      GFile              *file,
                                                      GError            **error);

/* Metrics history. Samples of stacks that are not saved are refused with
 * _NOT_FOUND. Old samples are pruned on append, see set_metrics_retention. */
gboolean           tablero_stack_store_append_metric (TableroStackStore  *self,
                                                      const char         *stack_name,
                                                      const char         *node_id,
                                                      gint64              time_ms,
                                                      double              cpu,
                                                      double              memory,
                                                      double              disk,
                                                      double              network,
                                                      double              saturation,
                                                      GError            **error);
/* Appends @n_samples samples in one transaction; @node_ids[i] is the node of
 * @samples[i]. */
gboolean           tablero_stack_store_append_metrics (TableroStackStore         *self,
                                                       const char                *stack_name,
                                                       const char * const        *node_ids,
                                                       const TableroMetricsSample *samples,
                                                       guint                      n_samples,
                                                       GError                   **error);
/* Samples of one node with @since_ms <= time_ms <= @until_ms, oldest first.
 * Returns a GArray of TableroMetricsSample (transfer full). */
GArray            *tablero_stack_store_query_metrics (TableroStackStore  *self,
                                                      const char         *stack_name,
                                                      const char         *node_id,
                                                      gint64              since_ms,
                                                      gint64              until_ms,
                                                      GError            **error);
/* Per node: keep samples at most @max_age_ms older than the newest one, and
 * at most @max_rows of them. 0 disables a bound. */
void               tablero_stack_store_set_metrics_retention (TableroStackStore *self,
                                                              gint64             max_age_ms,
                                                              guint              max_rows);

/* Recorded traffic: appends @n_records dispatches in one transaction, to
 * the stack named @stack_name (_NOT_FOUND when it is not saved) or, with
 * %NULL, to no stack. */
gboolean           tablero_stack_store_append_dispatches (TableroStackStore           *self,
                                                          const char                  *stack_name,
                                                          const TableroDispatchRecord *records,
                                                          guint                        n_records,
                                                          GError                     **error);
/* The number of dispatches recorded for @stack_name (%NULL: for none), or
 * -1 with @error set. */
gint64             tablero_stack_store_count_dispatches  (TableroStackStore           *self,
                                                          const char                  *stack_name,
                                                          GError                     **error);

/* Asynchronous variants, same semantics as the calls above. */
void               tablero_stack_store_load_async    (TableroStackStore   *self,
                                                      const char          *name,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
TableroStack      *tablero_stack_store_load_finish   (TableroStackStore   *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);
/* The stack is serialised before this returns; later edits are not saved,
 * and it is marked unmodified only if it was not edited meanwhile. */
void               tablero_stack_store_save_async    (TableroStackStore   *self,
                                                      TableroStack        *stack,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
gboolean           tablero_stack_store_save_finish   (TableroStackStore   *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);
void               tablero_stack_store_export_file_async  (TableroStackStore   *self,
                                                           const char          *name,
                                                           GFile               *file,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
gboolean           tablero_stack_store_export_file_finish (TableroStackStore   *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);
void               tablero_stack_store_import_file_async  (TableroStackStore   *self,
                                                           GFile               *file,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
char              *tablero_stack_store_import_file_finish (TableroStackStore   *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);
/* The arrays are copied before this returns. */
void      tablero_stack_store_append_metrics_async  (TableroStackStore          *self,
                                                     const char                 *stack_name,
                                                     const char * const         *node_ids,
                                                     const TableroMetricsSample *samples,
                                                     guint                       n_samples,
                                                     GCancellable               *cancellable,
                                                     GAsyncReadyCallback         callback,
                                                     gpointer                    user_data);
gboolean  tablero_stack_store_append_metrics_finish (TableroStackStore          *self,
                                                     GAsyncResult               *result,
                                                     GError                    **error);
void               tablero_stack_store_query_metrics_async   (TableroStackStore   *self,
                                                              const char          *stack_name,
                                                              const char          *node_id,
                                                              gint64               since_ms,
                                                              gint64               until_ms,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
GArray            *tablero_stack_store_query_metrics_finish  (TableroStackStore   *self,
                                                              GAsyncResult        *result,
                                                              GError             **error);

G_END_DECLS
