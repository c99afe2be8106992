/* SPDX-License-Identifier: MIT */
/* monje-store.h: where Monje keeps its documents.
 *
 * One interface, two backends (#MonjeSqliteStore, #MonjeMongoStore). Every
 * operation is asynchronous: a backend does its work on a thread of its own
 * and completes on the main context of the caller, so the engine never waits
 * on a disk or a MongoDB server. Failures are %JSTP_ERROR errors whose code
 * is the status to answer: 400 for a request the data refuses (a duplicate
 * id, $inc on a string), 404 for an unknown document, 500 for the store
 * itself failing.
 *
 * A write completes only once it is durable: committed with a synchronous
 * WAL in SQLite, acknowledged with the write concern in MongoDB.
 *
 * Documents travel as JSON text: an object whose first member is `_id`, a
 * string.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "monje-query.h"
#include "monje-update.h"

G_BEGIN_DECLS

#define MONJE_TYPE_STORE (monje_store_get_type ())

G_DECLARE_INTERFACE (MonjeStore, monje_store, MONJE, STORE, GObject)

typedef enum {
  MONJE_STORE_OP_INSERT,
  MONJE_STORE_OP_FIND,
  MONJE_STORE_OP_COUNT,
  MONJE_STORE_OP_GET,
  MONJE_STORE_OP_REPLACE,
  MONJE_STORE_OP_UPDATE,
  MONJE_STORE_OP_REMOVE,
  MONJE_STORE_OP_LIST_COLLECTIONS,
} MonjeStoreOpKind;

/* One collection as monje_store_list_collections_finish() reports it. */
typedef struct {
  char *name;
  gint64 count;
} MonjeCollectionInfo;

/* What a backend receives: the inputs of one operation, and room for its
 * outputs. The backend reads the inputs and fills the outputs on its own
 * thread; only the main context touches the GTask. */
typedef struct {
  MonjeStoreOpKind kind;
  char *collection;
  char *id;                 /* get, replace, update, remove */
  char *document;           /* insert, replace: the whole document, `_id` first */
  MonjeQuery *query;        /* find, count */
  MonjeUpdate *update;      /* update */

  char *result;             /* insert, get, replace, update: the stored document */
  GPtrArray *results;       /* find: document texts; list: MonjeCollectionInfo */
  gint64 count;             /* count */
} MonjeStoreOp;

/**
 * MonjeStoreInterface:
 * @submit: queues @task, whose task data is a #MonjeStoreOp; the backend
 *   fills the op's outputs and returns a boolean (or an error) through
 *   @task, on the main context @task belongs to
 * @get_backend: a short name for logs and GET ["jstp","info"] ("sqlite")
 */
struct _MonjeStoreInterface {
  GTypeInterface parent_iface;

  void         (*submit)       (MonjeStore *self,
                                GTask      *task);
  const char * (*get_backend)  (MonjeStore *self);
};

void          monje_collection_info_free          (MonjeCollectionInfo *info);
void          monje_store_op_free                 (MonjeStoreOp        *op);

const char   *monje_store_get_backend             (MonjeStore          *self);

/* @document: an object whose `_id` member is a string (see monje_document_*). */
void          monje_store_insert_async            (MonjeStore          *self,
                                                   const char          *collection,
                                                   const char          *document,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
/* Returns: (transfer full): the stored document */
char         *monje_store_insert_finish           (MonjeStore          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

/* The documents that match @query's filter, sorted, skipped, limited and
 * projected. An unknown collection holds no documents. */
void          monje_store_find_async              (MonjeStore          *self,
                                                   const char          *collection,
                                                   MonjeQuery          *query,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
/* Returns: (transfer full) (element-type utf8): the documents as JSON texts */
GPtrArray    *monje_store_find_finish             (MonjeStore          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

/* How many documents match @query's filter (sort, skip, limit ignored). */
void          monje_store_count_async             (MonjeStore          *self,
                                                   const char          *collection,
                                                   MonjeQuery          *query,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
gint64        monje_store_count_finish            (MonjeStore          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

void          monje_store_get_async               (MonjeStore          *self,
                                                   const char          *collection,
                                                   const char          *id,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
char         *monje_store_get_finish              (MonjeStore          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

/* Replaces the document @id with @document (whose `_id` is @id); 404 when
 * there is none. */
void          monje_store_replace_async           (MonjeStore          *self,
                                                   const char          *collection,
                                                   const char          *id,
                                                   const char          *document,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
/* Returns: (transfer full): the document as stored now */
char         *monje_store_replace_finish          (MonjeStore          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

void          monje_store_update_async            (MonjeStore          *self,
                                                   const char          *collection,
                                                   const char          *id,
                                                   MonjeUpdate         *update,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
/* Returns: (transfer full): the document as stored now */
char         *monje_store_update_finish           (MonjeStore          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

void          monje_store_remove_async            (MonjeStore          *self,
                                                   const char          *collection,
                                                   const char          *id,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
gboolean      monje_store_remove_finish           (MonjeStore          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

/* Every collection with its document count, sorted by name. */
void          monje_store_list_collections_async  (MonjeStore          *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
/* Returns: (transfer full) (element-type MonjeCollectionInfo) */
GPtrArray    *monje_store_list_collections_finish (MonjeStore          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

G_END_DECLS
