/* SPDX-License-Identifier: MIT */
/* monje-mongo-store.c: the MongoDB backend. */
#include "config.h"

#include <string.h>
#include <mongoc/mongoc.h>

#include "monje-mongo-store.h"

#include "jstp-error.h"
#include "monje-bson.h"
#include "monje-worker.h"

#define DEFAULT_DATABASE          "monje"
#define DEFAULT_SELECTION_TIMEOUT 5000

struct _MonjeMongoStore {
  GObject parent_instance;

  char *database;
  MonjeWorker *worker;
  mongoc_client_t *client;  /* the worker's once it started */
};

static void monje_mongo_store_iface_init (MonjeStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MonjeMongoStore, monje_mongo_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MONJE_TYPE_STORE,
                                                      monje_mongo_store_iface_init))

G_DEFINE_AUTOPTR_CLEANUP_FUNC (mongoc_collection_t, mongoc_collection_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (mongoc_database_t, mongoc_database_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (mongoc_cursor_t, mongoc_cursor_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (mongoc_find_and_modify_opts_t, mongoc_find_and_modify_opts_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (mongoc_uri_t, mongoc_uri_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (mongoc_write_concern_t, mongoc_write_concern_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (bson_t, bson_destroy)

/* Server errors that say the request does not fit the data: the client's
 * to fix (400), not the store failing (500). */
static const guint32 request_errors[] = {
  2,      /* BadValue */
  9,      /* FailedToParse */
  14,     /* TypeMismatch */
  28,     /* PathNotViable */
  40,     /* ConflictingUpdateOperators */
  52,     /* DollarPrefixedFieldName */
  56,     /* EmptyFieldName */
  57,     /* DottedFieldName */
  66,     /* ImmutableField */
  11000,  /* DuplicateKey */
};

static gboolean
fail (const bson_error_t  *berror,
      GError             **error)
{
  guint status = JSTP_STATUS_INTERNAL_ERROR;

  if (berror->domain == MONGOC_ERROR_SERVER || berror->domain == MONGOC_ERROR_QUERY ||
      berror->domain == MONGOC_ERROR_COMMAND || berror->domain == MONGOC_ERROR_COLLECTION)
    for (guint i = 0; i < G_N_ELEMENTS (request_errors); i++)
      if (berror->code == request_errors[i])
        status = JSTP_STATUS_BAD_DISPATCH;
  g_set_error (error, JSTP_ERROR, status, "MongoDB: %s", berror->message);
  return FALSE;
}

static gboolean
not_found (MonjeStoreOp  *op,
           GError       **error)
{
  g_set_error (error, JSTP_ERROR, JSTP_STATUS_NOT_FOUND, "no document “%s” in “%s”",
               op->id, op->collection);
  return FALSE;
}

static gboolean
is_object_id (const char *id)
{
  return strlen (id) == 24 && bson_oid_is_valid (id, 24);
}

/* {_id: ID}, or {_id: {$in: [ID, ObjectId(ID)]}} for ids that can be both. */
static bson_t *
id_selector (const char *id)
{
  bson_t *selector = bson_new ();
  bson_t condition, values;
  bson_oid_t oid;

  if (!is_object_id (id))
    {
      BSON_APPEND_UTF8 (selector, "_id", id);
      return selector;
    }
  bson_oid_init_from_string (&oid, id);
  BSON_APPEND_DOCUMENT_BEGIN (selector, "_id", &condition);
  BSON_APPEND_ARRAY_BEGIN (&condition, "$in", &values);
  BSON_APPEND_UTF8 (&values, "0", id);
  BSON_APPEND_OID (&values, "1", &oid);
  bson_append_array_end (&condition, &values);
  bson_append_document_end (selector, &condition);
  return selector;
}

static mongoc_collection_t *
get_collection (MonjeMongoStore *self,
                const char      *name)
{
  return mongoc_client_get_collection (self->client, self->database, name);
}

static gboolean
run_insert (MonjeMongoStore  *self,
            MonjeStoreOp     *op,
            GError          **error)
{
  g_autoptr(mongoc_collection_t) collection = get_collection (self, op->collection);
  g_autoptr(bson_t) document = monje_bson_from_text (op->document, error);
  bson_error_t berror;
  bson_t reply;
  gboolean ok;

  if (document == NULL)
    return FALSE;
  ok = mongoc_collection_insert_one (collection, document, NULL, &reply, &berror);
  bson_destroy (&reply);
  if (!ok)
    {
      if (berror.code == 11000)
        {
          bson_iter_t iter;

          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "a document with _id “%s” is in “%s” already",
                       bson_iter_init_find (&iter, document, "_id") && BSON_ITER_HOLDS_UTF8 (&iter)
                         ? bson_iter_utf8 (&iter, NULL) : "?",
                       op->collection);
          return FALSE;
        }
      return fail (&berror, error);
    }
  op->result = g_strdup (op->document);
  return TRUE;
}

static bson_t *
find_options (MonjeQuery *query)
{
  bson_t *opts = bson_new ();

  if (query->sort->len > 0)
    {
      bson_t sort;

      BSON_APPEND_DOCUMENT_BEGIN (opts, "sort", &sort);
      for (guint i = 0; i < query->sort->len; i++)
        {
          MonjeSortKey *key = g_ptr_array_index (query->sort, i);

          BSON_APPEND_INT32 (&sort, key->path, key->direction);
        }
      /* Documents with equal keys come in the server's order: MongoDB
       * promises none, unlike the SQLite backend's insertion order. */
      bson_append_document_end (opts, &sort);
    }
  if (query->skip > 0)
    BSON_APPEND_INT64 (opts, "skip", query->skip);
  if (query->limit > 0)
    BSON_APPEND_INT64 (opts, "limit", query->limit);
  if (query->projection_json)
    {
      g_autoptr(bson_t) projection = monje_bson_from_node (query->projection_json);

      BSON_APPEND_DOCUMENT (opts, "projection", projection);
    }
  return opts;
}

static gboolean
run_find (MonjeMongoStore  *self,
          MonjeStoreOp     *op,
          GError          **error)
{
  g_autoptr(mongoc_collection_t) collection = get_collection (self, op->collection);
  g_autoptr(bson_t) filter = monje_bson_from_node (op->query->filter_json);
  g_autoptr(bson_t) opts = find_options (op->query);
  g_autoptr(mongoc_cursor_t) cursor = NULL;
  const bson_t *document;
  bson_error_t berror;

  op->results = g_ptr_array_new_with_free_func (g_free);
  cursor = mongoc_collection_find_with_opts (collection, filter, opts, NULL);
  while (mongoc_cursor_next (cursor, &document))
    g_ptr_array_add (op->results, monje_bson_to_json (document));
  if (mongoc_cursor_error (cursor, &berror))
    return fail (&berror, error);
  return TRUE;
}

static gboolean
count (MonjeMongoStore  *self,
       const char       *collection,
       JsonNode         *filter_json,
       gint64           *out,
       GError          **error)
{
  g_autoptr(mongoc_database_t) database = mongoc_client_get_database (self->client,
                                                                     self->database);
  g_autoptr(bson_t) command = bson_new ();
  bson_error_t berror;
  bson_iter_t iter;
  bson_t reply;
  gboolean ok;

  /* The count command, not countDocuments: that one is an aggregation. */
  BSON_APPEND_UTF8 (command, "count", collection);
  if (filter_json)
    {
      g_autoptr(bson_t) filter = monje_bson_from_node (filter_json);

      BSON_APPEND_DOCUMENT (command, "query", filter);
    }
  ok = mongoc_database_read_command_with_opts (database, command, NULL, NULL, &reply, &berror);
  if (ok && bson_iter_init_find (&iter, &reply, "n") && BSON_ITER_HOLDS_NUMBER (&iter))
    *out = bson_iter_as_int64 (&iter);
  bson_destroy (&reply);
  if (!ok)
    return fail (&berror, error);
  return TRUE;
}

static gboolean
run_count (MonjeMongoStore  *self,
           MonjeStoreOp     *op,
           GError          **error)
{
  return count (self, op->collection, op->query->filter_json, &op->count, error);
}

static gboolean
run_get (MonjeMongoStore  *self,
         MonjeStoreOp     *op,
         GError          **error)
{
  g_autoptr(mongoc_collection_t) collection = get_collection (self, op->collection);
  g_autoptr(bson_t) selector = id_selector (op->id);
  g_autoptr(bson_t) opts = BCON_NEW ("limit", BCON_INT64 (1));
  g_autoptr(mongoc_cursor_t) cursor = NULL;
  const bson_t *document;
  bson_error_t berror;

  cursor = mongoc_collection_find_with_opts (collection, selector, opts, NULL);
  if (mongoc_cursor_next (cursor, &document))
    {
      op->result = monje_bson_to_json (document);
      return TRUE;
    }
  if (mongoc_cursor_error (cursor, &berror))
    return fail (&berror, error);
  return not_found (op, error);
}

/* findAndModify on one id, answering the document as it is afterwards. */
static gboolean
find_and_modify (MonjeMongoStore  *self,
                 MonjeStoreOp     *op,
                 const bson_t     *update,
                 GError          **error)
{
  g_autoptr(mongoc_collection_t) collection = get_collection (self, op->collection);
  g_autoptr(bson_t) selector = id_selector (op->id);
  g_autoptr(mongoc_find_and_modify_opts_t) opts = mongoc_find_and_modify_opts_new ();
  bson_error_t berror;
  bson_iter_t iter;
  bson_t reply;
  gboolean ok;

  mongoc_find_and_modify_opts_set_update (opts, update);
  mongoc_find_and_modify_opts_set_flags (opts, MONGOC_FIND_AND_MODIFY_RETURN_NEW);
  ok = mongoc_collection_find_and_modify_with_opts (collection, selector, opts, &reply, &berror);
  if (ok && bson_iter_init_find (&iter, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT (&iter))
    {
      const guint8 *data;
      guint32 length;
      bson_t value;

      bson_iter_document (&iter, &length, &data);
      if (bson_init_static (&value, data, length))
        op->result = monje_bson_to_json (&value);
    }
  bson_destroy (&reply);
  if (!ok)
    return fail (&berror, error);
  if (op->result == NULL)
    return not_found (op, error);
  return TRUE;
}

static gboolean
run_replace (MonjeMongoStore  *self,
             MonjeStoreOp     *op,
             GError          **error)
{
  g_autoptr(bson_t) document = monje_bson_from_text (op->document, error);
  g_autoptr(bson_t) replacement = NULL;

  if (document == NULL)
    return FALSE;
  /* Without `_id` the document keeps the one it has, whatever its type. */
  replacement = bson_new ();
  bson_copy_to_excluding_noinit (document, replacement, "_id", NULL);
  return find_and_modify (self, op, replacement, error);
}

static gboolean
run_update (MonjeMongoStore  *self,
            MonjeStoreOp     *op,
            GError          **error)
{
  g_autoptr(bson_t) update = NULL;

  /* An update that changes nothing is a read (older servers refuse an
   * empty $set). */
  if (op->update->steps->len == 0)
    return run_get (self, op, error);
  update = monje_bson_from_node (op->update->operators_json);
  return find_and_modify (self, op, update, error);
}

static gboolean
run_remove (MonjeMongoStore  *self,
            MonjeStoreOp     *op,
            GError          **error)
{
  g_autoptr(mongoc_collection_t) collection = get_collection (self, op->collection);
  g_autoptr(bson_t) selector = id_selector (op->id);
  bson_error_t berror;
  bson_iter_t iter;
  bson_t reply;
  gint64 deleted = 0;
  gboolean ok;

  ok = mongoc_collection_delete_one (collection, selector, NULL, &reply, &berror);
  if (ok && bson_iter_init_find (&iter, &reply, "deletedCount") && BSON_ITER_HOLDS_NUMBER (&iter))
    deleted = bson_iter_as_int64 (&iter);
  bson_destroy (&reply);
  if (!ok)
    return fail (&berror, error);
  if (deleted == 0)
    return not_found (op, error);
  return TRUE;
}

static int
compare_infos (gconstpointer a,
               gconstpointer b)
{
  const MonjeCollectionInfo *x = *(MonjeCollectionInfo **) a;
  const MonjeCollectionInfo *y = *(MonjeCollectionInfo **) b;

  return strcmp (x->name, y->name);
}

static gboolean
run_list (MonjeMongoStore  *self,
          MonjeStoreOp     *op,
          GError          **error)
{
  g_autoptr(mongoc_database_t) database = mongoc_client_get_database (self->client,
                                                                     self->database);
  g_autoptr(mongoc_cursor_t) cursor = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const bson_t *entry;
  bson_error_t berror;

  cursor = mongoc_database_find_collections_with_opts (database, NULL);
  while (mongoc_cursor_next (cursor, &entry))
    {
      bson_iter_t iter;

      if (bson_iter_init_find (&iter, entry, "name") && BSON_ITER_HOLDS_UTF8 (&iter) &&
          !g_str_has_prefix (bson_iter_utf8 (&iter, NULL), "system."))
        g_ptr_array_add (names, g_strdup (bson_iter_utf8 (&iter, NULL)));
    }
  if (mongoc_cursor_error (cursor, &berror))
    return fail (&berror, error);

  op->results = g_ptr_array_new_with_free_func ((GDestroyNotify) monje_collection_info_free);
  for (guint i = 0; i < names->len; i++)
    {
      MonjeCollectionInfo *info = g_new0 (MonjeCollectionInfo, 1);

      info->name = g_strdup (g_ptr_array_index (names, i));
      g_ptr_array_add (op->results, info);
      if (!count (self, info->name, NULL, &info->count, error))
        return FALSE;
    }
  g_ptr_array_sort (op->results, compare_infos);
  return TRUE;
}

static gboolean
run_op (MonjeMongoStore  *self,
        MonjeStoreOp     *op,
        GError          **error)
{
  switch (op->kind)
    {
    case MONJE_STORE_OP_INSERT:
      return run_insert (self, op, error);
    case MONJE_STORE_OP_FIND:
      return run_find (self, op, error);
    case MONJE_STORE_OP_COUNT:
      return run_count (self, op, error);
    case MONJE_STORE_OP_GET:
      return run_get (self, op, error);
    case MONJE_STORE_OP_REPLACE:
      return run_replace (self, op, error);
    case MONJE_STORE_OP_UPDATE:
      return run_update (self, op, error);
    case MONJE_STORE_OP_REMOVE:
      return run_remove (self, op, error);
    case MONJE_STORE_OP_LIST_COLLECTIONS:
      return run_list (self, op, error);
    }
  g_assert_not_reached ();
}

static void
run_batch (gpointer       user_data,
           MonjeStoreOp **ops,
           GError       **errors,
           guint          n_ops)
{
  MonjeMongoStore *self = user_data;

  /* Each write carries its own write concern: nothing to group. */
  for (guint i = 0; i < n_ops; i++)
    if (!run_op (self, ops[i], &errors[i]))
      {
        g_clear_pointer (&ops[i]->result, g_free);
        g_clear_pointer (&ops[i]->results, g_ptr_array_unref);
      }
}

/* ---- GObject and the interface ------------------------------------------ */

static void
monje_mongo_store_submit (MonjeStore *store,
                          GTask      *task)
{
  monje_worker_push (MONJE_MONGO_STORE (store)->worker, task);
}

static const char *
monje_mongo_store_get_backend (MonjeStore *store)
{
  return "mongodb";
}

static void
monje_mongo_store_iface_init (MonjeStoreInterface *iface)
{
  iface->submit = monje_mongo_store_submit;
  iface->get_backend = monje_mongo_store_get_backend;
}

static void
monje_mongo_store_finalize (GObject *object)
{
  MonjeMongoStore *self = MONJE_MONGO_STORE (object);

  g_clear_pointer (&self->worker, monje_worker_free);
  g_clear_pointer (&self->client, mongoc_client_destroy);
  g_free (self->database);

  G_OBJECT_CLASS (monje_mongo_store_parent_class)->finalize (object);
}

static void
monje_mongo_store_class_init (MonjeMongoStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = monje_mongo_store_finalize;
}

static void
monje_mongo_store_init (MonjeMongoStore *self)
{
}

static gpointer
init_driver (gpointer data)
{
  /* Once per process; libmongoc's cleanup at exit is optional. */
  mongoc_init ();
  return NULL;
}

MonjeMongoStore *
monje_mongo_store_new (const char  *uri_string,
                       GError     **error)
{
  static GOnce once = G_ONCE_INIT;
  g_autoptr(MonjeMongoStore) self = NULL;
  g_autoptr(mongoc_uri_t) uri = NULL;
  g_autoptr(bson_t) ping = NULL;
  bson_error_t berror;
  bson_t reply;
  const char *database;
  gboolean ok;

  g_return_val_if_fail (uri_string != NULL, NULL);

  g_once (&once, init_driver, NULL);

  uri = mongoc_uri_new_with_error (uri_string, &berror);
  if (uri == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "not a MongoDB URI: %s", berror.message);
      return NULL;
    }
  if (!mongoc_uri_has_option (uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
    mongoc_uri_set_option_as_int32 (uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                    DEFAULT_SELECTION_TIMEOUT);
  if (!mongoc_uri_has_option (uri, MONGOC_URI_APPNAME))
    mongoc_uri_set_appname (uri, "monje");

  /* Durable before answered: majority and journal unless the URI says. */
  if (!mongoc_uri_has_option (uri, MONGOC_URI_W) ||
      !mongoc_uri_has_option (uri, MONGOC_URI_JOURNAL))
    {
      g_autoptr(mongoc_write_concern_t) concern =
        mongoc_write_concern_copy (mongoc_uri_get_write_concern (uri));

      if (!mongoc_uri_has_option (uri, MONGOC_URI_W))
        mongoc_write_concern_set_wmajority (concern, 0);
      if (!mongoc_uri_has_option (uri, MONGOC_URI_JOURNAL))
        mongoc_write_concern_set_journal (concern, TRUE);
      mongoc_uri_set_write_concern (uri, concern);
    }

  self = g_object_new (MONJE_TYPE_MONGO_STORE, NULL);
  database = mongoc_uri_get_database (uri);
  self->database = g_strdup (database ? database : DEFAULT_DATABASE);
  self->client = mongoc_client_new_from_uri_with_error (uri, &berror);
  if (self->client == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "cannot use this MongoDB URI: %s", berror.message);
      return NULL;
    }
  mongoc_client_set_error_api (self->client, MONGOC_ERROR_API_VERSION_2);

  ping = BCON_NEW ("ping", BCON_INT32 (1));
  ok = mongoc_client_command_simple (self->client, "admin", ping, NULL, &reply, &berror);
  bson_destroy (&reply);
  if (!ok)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                   "cannot reach MongoDB: %s", berror.message);
      return NULL;
    }

  /* From here on only the worker uses the client. */
  self->worker = monje_worker_new ("monje-mongo", 64, run_batch, self);
  return g_steal_pointer (&self);
}

const char *
monje_mongo_store_get_database (MonjeMongoStore *self)
{
  g_return_val_if_fail (MONJE_IS_MONGO_STORE (self), NULL);
  return self->database;
}
