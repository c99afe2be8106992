/* SPDX-License-Identifier: MIT */
/* monje-store.c: the typed front of the store interface. Each operation
 * becomes a #MonjeStoreOp handed to the backend's one submit function, so
 * that a backend is a worker thread and a switch, not sixteen vfuncs. */
#include "config.h"

#include "monje-store.h"


G_DEFINE_INTERFACE (MonjeStore, monje_store, G_TYPE_OBJECT)

static void
monje_store_default_init (MonjeStoreInterface *iface)
{
}

void
monje_collection_info_free (MonjeCollectionInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info);
}

void
monje_store_op_free (MonjeStoreOp *op)
{
  if (op == NULL)
    return;
  g_free (op->collection);
  g_free (op->id);
  g_free (op->document);
  g_clear_pointer (&op->query, monje_query_unref);
  g_clear_pointer (&op->update, monje_update_unref);
  g_free (op->result);
  g_clear_pointer (&op->results, g_ptr_array_unref);
  g_free (op);
}

const char *
monje_store_get_backend (MonjeStore *self)
{
  g_return_val_if_fail (MONJE_IS_STORE (self), NULL);
  return MONJE_STORE_GET_IFACE (self)->get_backend (self);
}

static void
submit (MonjeStore          *self,
        MonjeStoreOp        *op,
        gpointer             source_tag,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, op, (GDestroyNotify) monje_store_op_free);
  MONJE_STORE_GET_IFACE (self)->submit (self, task);
}

static MonjeStoreOp *
op_new (MonjeStoreOpKind  kind,
        const char       *collection,
        const char       *id)
{
  MonjeStoreOp *op = g_new0 (MonjeStoreOp, 1);

  op->kind = kind;
  op->collection = g_strdup (collection);
  op->id = g_strdup (id);
  return op;
}

/* The op of a finished task, or NULL with @error set. */
static MonjeStoreOp *
finish (MonjeStore    *self,
        GAsyncResult  *result,
        gpointer       source_tag,
        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return g_task_get_task_data (G_TASK (result));
}

void
monje_store_insert_async (MonjeStore          *self,
                          const char          *collection,
                          const char          *document,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  MonjeStoreOp *op;

  g_return_if_fail (MONJE_IS_STORE (self));
  g_return_if_fail (collection != NULL && document != NULL);

  op = op_new (MONJE_STORE_OP_INSERT, collection, NULL);
  op->document = g_strdup (document);
  submit (self, op, monje_store_insert_async, cancellable, callback, user_data);
}

char *
monje_store_insert_finish (MonjeStore    *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  MonjeStoreOp *op = finish (self, result, monje_store_insert_async, error);

  return op ? g_steal_pointer (&op->result) : NULL;
}

void
monje_store_find_async (MonjeStore          *self,
                        const char          *collection,
                        MonjeQuery          *query,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  MonjeStoreOp *op;

  g_return_if_fail (MONJE_IS_STORE (self));
  g_return_if_fail (collection != NULL && query != NULL);

  op = op_new (MONJE_STORE_OP_FIND, collection, NULL);
  op->query = monje_query_ref (query);
  submit (self, op, monje_store_find_async, cancellable, callback, user_data);
}

GPtrArray *
monje_store_find_finish (MonjeStore    *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  MonjeStoreOp *op = finish (self, result, monje_store_find_async, error);

  if (op == NULL)
    return NULL;
  if (op->results == NULL)
    return g_ptr_array_new_with_free_func (g_free);
  return g_steal_pointer (&op->results);
}

void
monje_store_count_async (MonjeStore          *self,
                         const char          *collection,
                         MonjeQuery          *query,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  MonjeStoreOp *op;

  g_return_if_fail (MONJE_IS_STORE (self));
  g_return_if_fail (collection != NULL && query != NULL);

  op = op_new (MONJE_STORE_OP_COUNT, collection, NULL);
  op->query = monje_query_ref (query);
  submit (self, op, monje_store_count_async, cancellable, callback, user_data);
}

gint64
monje_store_count_finish (MonjeStore    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  MonjeStoreOp *op = finish (self, result, monje_store_count_async, error);

  return op ? op->count : -1;
}

void
monje_store_get_async (MonjeStore          *self,
                       const char          *collection,
                       const char          *id,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_return_if_fail (MONJE_IS_STORE (self));
  g_return_if_fail (collection != NULL && id != NULL);

  submit (self, op_new (MONJE_STORE_OP_GET, collection, id), monje_store_get_async,
          cancellable, callback, user_data);
}

char *
monje_store_get_finish (MonjeStore    *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  MonjeStoreOp *op = finish (self, result, monje_store_get_async, error);

  return op ? g_steal_pointer (&op->result) : NULL;
}

void
monje_store_replace_async (MonjeStore          *self,
                           const char          *collection,
                           const char          *id,
                           const char          *document,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  MonjeStoreOp *op;

  g_return_if_fail (MONJE_IS_STORE (self));
  g_return_if_fail (collection != NULL && id != NULL && document != NULL);

  op = op_new (MONJE_STORE_OP_REPLACE, collection, id);
  op->document = g_strdup (document);
  submit (self, op, monje_store_replace_async, cancellable, callback, user_data);
}

char *
monje_store_replace_finish (MonjeStore    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  MonjeStoreOp *op = finish (self, result, monje_store_replace_async, error);

  return op ? g_steal_pointer (&op->result) : NULL;
}

void
monje_store_update_async (MonjeStore          *self,
                          const char          *collection,
                          const char          *id,
                          MonjeUpdate         *update,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  MonjeStoreOp *op;

  g_return_if_fail (MONJE_IS_STORE (self));
  g_return_if_fail (collection != NULL && id != NULL && update != NULL);

  op = op_new (MONJE_STORE_OP_UPDATE, collection, id);
  op->update = monje_update_ref (update);
  submit (self, op, monje_store_update_async, cancellable, callback, user_data);
}

char *
monje_store_update_finish (MonjeStore    *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  MonjeStoreOp *op = finish (self, result, monje_store_update_async, error);

  return op ? g_steal_pointer (&op->result) : NULL;
}

void
monje_store_remove_async (MonjeStore          *self,
                          const char          *collection,
                          const char          *id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (MONJE_IS_STORE (self));
  g_return_if_fail (collection != NULL && id != NULL);

  submit (self, op_new (MONJE_STORE_OP_REMOVE, collection, id), monje_store_remove_async,
          cancellable, callback, user_data);
}

gboolean
monje_store_remove_finish (MonjeStore    *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  return finish (self, result, monje_store_remove_async, error) != NULL;
}

void
monje_store_list_collections_async (MonjeStore          *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (MONJE_IS_STORE (self));

  submit (self, op_new (MONJE_STORE_OP_LIST_COLLECTIONS, NULL, NULL),
          monje_store_list_collections_async, cancellable, callback, user_data);
}

GPtrArray *
monje_store_list_collections_finish (MonjeStore    *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  MonjeStoreOp *op = finish (self, result, monje_store_list_collections_async, error);

  if (op == NULL)
    return NULL;
  if (op->results == NULL)
    return g_ptr_array_new_with_free_func ((GDestroyNotify) monje_collection_info_free);
  return g_steal_pointer (&op->results);
}
