/* SPDX-License-Identifier: MIT */
/* monje-service.c: requests in, store operations out, answers and events
 * back. Everything here runs on the engine's main context; the store does
 * its work elsewhere and completes here. */
#include "config.h"

#include <string.h>

#include "monje-service.h"

#include "jstp-json.h"
#include "monje-document.h"

#define DEFAULT_MAX_RESULTS 1000
/* A list answer stays well under the engine's default 1 MiB frame. */
#define MAX_ANSWER_BYTES    (512 * 1024)
#define MAX_COLLECTION_NAME 64

struct _MonjeService {
  GObject parent_instance;

  JstpEngine *engine;
  MonjeStore *store;
  GArray *bindings;         /* guint64 */
  guint admission_hook;
  guint max_results;
  guint64 n_changes;
  char *posts_collection;   /* nullable: Pajaro's posts are not stored */
};

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_STORE,
  PROP_MAX_RESULTS,
  PROP_POSTS_COLLECTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (MonjeService, monje_service, G_TYPE_OBJECT)

/* One request waiting for the store. */
typedef struct {
  MonjeService *self;
  JstpDispatch *request;
  char *collection;
  char *id;
  gint64 asked;             /* find: documents the client asked for; 0: all */
  gint64 fetch;             /* find: documents asked of the store */
} Request;

static void
request_free (Request *request)
{
  g_object_unref (request->self);
  jstp_dispatch_unref (request->request);
  g_free (request->collection);
  g_free (request->id);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, request_free)

static void
answer_message (MonjeService *self,
                JstpDispatch *request,
                guint         status,
                const char   *message)
{
  g_autoptr(GString) body = g_string_new ("{\"message\":");

  jstp_json_append_string (body, message, -1);
  g_string_append_c (body, '}');
  jstp_engine_answer (self->engine, request, status, body->str);
}

static void
answer_error (MonjeService *self,
              JstpDispatch *request,
              const GError *error)
{
  guint status = error->domain == JSTP_ERROR ? (guint) error->code : JSTP_STATUS_INTERNAL_ERROR;

  if (status == JSTP_STATUS_INTERNAL_ERROR)
    g_warning ("store failed: %s", error->message);
  answer_message (self, request, status, error->message);
}

static void
answer_id (MonjeService *self,
           JstpDispatch *request,
           const char   *id)
{
  g_autoptr(GString) body = g_string_new ("{\"id\":");

  jstp_json_append_string (body, id, -1);
  g_string_append_c (body, '}');
  jstp_engine_answer (self->engine, request, JSTP_STATUS_OK, body->str);
}

static void
emit_event (MonjeService *self,
            JstpMethod    method,
            const char   *collection,
            const char   *id,
            const char   *document)
{
  const char *resource[] = { "db", collection, id, NULL };
  g_autoptr(JstpDispatch) event = jstp_dispatch_new (method, resource);

  self->n_changes++;
  jstp_dispatch_set_extension (event, MONJE_EVENT_HEADER, "true", NULL);
  if (document && !jstp_dispatch_set_body_json (event, document, NULL))
    g_warning ("a stored document in %s is not valid JSON", collection);
  /* No callback: an event wants no answers, and no 404 when nobody listens. */
  jstp_engine_emit (self->engine, event, NULL, NULL, NULL);
}

/* ---- checking requests --------------------------------------------------- */

static char *
capture_dup (const JstpCaptures *captures,
             const char         *name)
{
  const JstpElement *element = jstp_captures_lookup (captures, name);

  return g_strndup (element->text, element->length);
}

static gboolean
check_collection (const char  *name,
                  GError     **error)
{
  gsize length = strlen (name);
  gboolean ok = length > 0 && length <= MAX_COLLECTION_NAME &&
                name[0] != '.' && name[0] != '-' && !g_str_has_prefix (name, "system.");

  for (gsize i = 0; ok && i < length; i++)
    ok = g_ascii_isalnum (name[i]) || name[i] == '_' || name[i] == '-' || name[i] == '.';
  if (!ok)
    g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                 "“%s” is not a collection name: use 1 to %d letters, digits, _, - and ., "
                 "not starting with . or - nor with system.", name, MAX_COLLECTION_NAME);
  return ok;
}

/* The common start of every handler: NULL when the dispatch is not a
 * request for us (an event) or was answered already (a bad name or id). */
static Request *
request_new (MonjeService       *self,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures,
             gboolean            with_id)
{
  g_autoptr(GError) error = NULL;
  Request *request;

  if (jstp_dispatch_get_extension (dispatch, MONJE_EVENT_HEADER))
    {
      /* Our own events come back through our own bindings: never requests.
       * (The network's never get here: see admit_cb.) */
      if (jstp_dispatch_get_transaction_id (dispatch))
        answer_message (self, dispatch, JSTP_STATUS_FORBIDDEN,
                        "the x-monje-event header marks Monje's change events; "
                        "requests must not carry it");
      return NULL;
    }

  request = g_new0 (Request, 1);
  request->self = g_object_ref (self);
  request->request = jstp_dispatch_ref (dispatch);
  if (captures && jstp_captures_lookup (captures, "collection"))
    {
      request->collection = capture_dup (captures, "collection");
      if (!check_collection (request->collection, &error))
        goto refuse;
    }
  if (with_id)
    {
      JstpJsonType type = jstp_captures_lookup (captures, "id")->type;

      if (type != JSTP_JSON_STRING && type != JSTP_JSON_NUMBER)
        {
          g_set_error_literal (&error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                               "a document id in the resource must be a string");
          goto refuse;
        }
      request->id = capture_dup (captures, "id");
      if (!monje_document_check_id (request->id, &error))
        goto refuse;
    }
  return request;

refuse:
  answer_error (self, dispatch, error);
  request_free (request);
  return NULL;
}

/* ---- GET ["db"] ---------------------------------------------------------- */

static void
list_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GString) body = NULL;

  infos = monje_store_list_collections_finish (MONJE_STORE (source), result, &error);
  if (infos == NULL)
    {
      answer_error (request->self, request->request, error);
      return;
    }
  body = g_string_new ("{\"collections\":[");
  for (guint i = 0; i < infos->len; i++)
    {
      MonjeCollectionInfo *info = g_ptr_array_index (infos, i);

      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append (body, "{\"name\":");
      jstp_json_append_string (body, info->name, -1);
      g_string_append_printf (body, ",\"count\":%" G_GINT64_FORMAT "}", info->count);
    }
  g_string_append (body, "]}");
  jstp_engine_answer (request->self->engine, request->request, JSTP_STATUS_OK, body->str);
}

static void
on_list_collections (JstpEngine         *engine,
                     JstpDispatch       *dispatch,
                     const JstpCaptures *captures,
                     gpointer            data)
{
  MonjeService *self = data;
  Request *request = request_new (self, dispatch, NULL, FALSE);

  if (request)
    monje_store_list_collections_async (self->store, NULL, list_done, request);
}

/* ---- POST ["db", COLL] --------------------------------------------------- */

static void
insert_done (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *document = NULL;

  document = monje_store_insert_finish (MONJE_STORE (source), result, &error);
  if (document == NULL)
    {
      answer_error (request->self, request->request, error);
      return;
    }
  answer_id (request->self, request->request, request->id);
  emit_event (request->self, JSTP_METHOD_POST, request->collection, NULL, document);
}

static void
on_insert (JstpEngine         *engine,
           JstpDispatch       *dispatch,
           const JstpCaptures *captures,
           gpointer            data)
{
  MonjeService *self = data;
  g_autoptr(Request) request = request_new (self, dispatch, captures, FALSE);
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *document = NULL;

  if (request == NULL)
    return;
  body = jstp_dispatch_dup_body (dispatch);
  document = monje_document_prepare (body, NULL, &request->id, &error);
  if (document == NULL)
    {
      answer_error (self, dispatch, error);
      return;
    }
  {
    Request *pending = g_steal_pointer (&request);

    monje_store_insert_async (self->store, pending->collection, document, NULL, insert_done,
                              pending);
  }
}

/* ---- GET ["db", COLL] ---------------------------------------------------- */

static void
count_done (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  gint64 count;

  count = monje_store_count_finish (MONJE_STORE (source), result, &error);
  if (error)
    {
      answer_error (request->self, request->request, error);
      return;
    }
  body = g_strdup_printf ("{\"count\":%" G_GINT64_FORMAT "}", count);
  jstp_engine_answer (request->self->engine, request->request, JSTP_STATUS_OK, body);
}

static void
find_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) documents = NULL;
  g_autoptr(GString) body = NULL;
  gboolean more = FALSE;
  guint n;

  documents = monje_store_find_finish (MONJE_STORE (source), result, &error);
  if (documents == NULL)
    {
      answer_error (request->self, request->request, error);
      return;
    }

  n = documents->len;
  if (n > (guint) request->self->max_results)
    {
      /* The store found one more than we may send: the client asked for more. */
      n = request->self->max_results;
      more = TRUE;
    }

  body = g_string_new ("{\"documents\":[");
  for (guint i = 0; i < n; i++)
    {
      const char *document = g_ptr_array_index (documents, i);

      if (i > 0 && body->len + strlen (document) + 32 > MAX_ANSWER_BYTES)
        {
          more = TRUE;
          break;
        }
      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append (body, document);
    }
  g_string_append_printf (body, "],\"more\":%s}", more ? "true" : "false");
  jstp_engine_answer (request->self->engine, request->request, JSTP_STATUS_OK, body->str);
}

static void
on_find (JstpEngine         *engine,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            data)
{
  MonjeService *self = data;
  g_autoptr(Request) request = request_new (self, dispatch, captures, FALSE);
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MonjeQuery) query = NULL;

  if (request == NULL)
    return;
  body = jstp_dispatch_dup_body (dispatch);
  query = monje_query_new (body, &error);
  if (query == NULL)
    {
      answer_error (self, dispatch, error);
      return;
    }
  if (query->count)
    {
      {
        Request *pending = g_steal_pointer (&request);

        monje_store_count_async (self->store, pending->collection, query, NULL, count_done,
                                 pending);
      }
      return;
    }

  /* Ask for one more than we may send, to know whether there is more. */
  if (query->limit == 0 || query->limit > self->max_results)
    query->limit = (gint64) self->max_results + 1;
  {
    Request *pending = g_steal_pointer (&request);

    monje_store_find_async (self->store, pending->collection, query, NULL, find_done,
                            pending);
  }
}

/* ---- ["db", COLL, ID] ---------------------------------------------------- */

static void
get_done (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *document = NULL;

  document = monje_store_get_finish (MONJE_STORE (source), result, &error);
  if (document == NULL)
    answer_error (request->self, request->request, error);
  else
    jstp_engine_answer (request->self->engine, request->request, JSTP_STATUS_OK, document);
}

static void
on_get (JstpEngine         *engine,
        JstpDispatch       *dispatch,
        const JstpCaptures *captures,
        gpointer            data)
{
  MonjeService *self = data;
  Request *request = request_new (self, dispatch, captures, TRUE);

  if (request)
    monje_store_get_async (self->store, request->collection, request->id, NULL, get_done,
                           request);
}

/* A replaced or updated document: answered with what was written, then
 * announced as a change event of @method. */
static void
document_written (Request    *request,
                  JstpMethod  method,
                  const char *document,
                  GError     *error)
{
  if (document == NULL)
    {
      answer_error (request->self, request->request, error);
      return;
    }
  jstp_engine_answer (request->self->engine, request->request, JSTP_STATUS_OK, document);
  emit_event (request->self, method, request->collection, request->id, document);
}

static void
replace_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *document = monje_store_replace_finish (MONJE_STORE (source), result, &error);

  document_written (request, JSTP_METHOD_PUT, document, error);
}

static void
on_replace (JstpEngine         *engine,
            JstpDispatch       *dispatch,
            const JstpCaptures *captures,
            gpointer            data)
{
  MonjeService *self = data;
  g_autoptr(Request) request = request_new (self, dispatch, captures, TRUE);
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *document = NULL;

  if (request == NULL)
    return;
  body = jstp_dispatch_dup_body (dispatch);
  document = monje_document_prepare (body, request->id, NULL, &error);
  if (document == NULL)
    {
      answer_error (self, dispatch, error);
      return;
    }
  {
    Request *pending = g_steal_pointer (&request);

    monje_store_replace_async (self->store, pending->collection, pending->id, document, NULL,
                               replace_done, pending);
  }
}

static void
update_done (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *document = monje_store_update_finish (MONJE_STORE (source), result, &error);

  document_written (request, JSTP_METHOD_PATCH, document, error);
}

static void
on_update (JstpEngine         *engine,
           JstpDispatch       *dispatch,
           const JstpCaptures *captures,
           gpointer            data)
{
  MonjeService *self = data;
  g_autoptr(Request) request = request_new (self, dispatch, captures, TRUE);
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MonjeUpdate) update = NULL;

  if (request == NULL)
    return;
  body = jstp_dispatch_dup_body (dispatch);
  update = monje_update_new (body, request->id, &error);
  if (update == NULL)
    {
      answer_error (self, dispatch, error);
      return;
    }
  {
    Request *pending = g_steal_pointer (&request);

    monje_store_update_async (self->store, pending->collection, pending->id, update, NULL,
                              update_done, pending);
  }
}

static void
remove_done (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;

  if (!monje_store_remove_finish (MONJE_STORE (source), result, &error))
    {
      answer_error (request->self, request->request, error);
      return;
    }
  answer_id (request->self, request->request, request->id);
  emit_event (request->self, JSTP_METHOD_DELETE, request->collection, request->id, NULL);
}

static void
on_remove (JstpEngine         *engine,
           JstpDispatch       *dispatch,
           const JstpCaptures *captures,
           gpointer            data)
{
  MonjeService *self = data;
  Request *request = request_new (self, dispatch, captures, TRUE);

  if (request)
    monje_store_remove_async (self->store, request->collection, request->id, NULL, remove_done,
                              request);
}

/* ---- POST ["pajaro", "posts", TAG] --------------------------------------- */

/* Pajaro's posts reach us through a bridge (an edge from a Pajaro node in
 * Tablero) and are stored like an insert, events included. A post can
 * come twice (two bridges, a reconnection, two tracks it matched): its
 * `_id` is made from its source and original id, so that the store's
 * unique id refuses the second copy, which is then not an error. */
static char *
post_id (JsonObject *post)
{
  JsonNode *source = json_object_get_member (post, "source");
  JsonNode *id = json_object_get_member (post, "id");
  g_autofree char *key = NULL;

  if (id == NULL || !JSON_NODE_HOLDS_VALUE (id) ||
      json_node_get_value_type (id) != G_TYPE_STRING)
    return NULL;
  if (source && JSON_NODE_HOLDS_VALUE (source) &&
      json_node_get_value_type (source) == G_TYPE_STRING)
    key = g_strconcat (json_node_get_string (source), ":", json_node_get_string (id), NULL);
  else
    key = g_strdup (json_node_get_string (id));
  if (monje_document_check_id (key, NULL))
    return g_steal_pointer (&key);
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);
}

static void
post_inserted (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(Request) request = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *document = NULL;
  g_autoptr(GString) body = g_string_new ("{\"id\":");

  document = monje_store_insert_finish (MONJE_STORE (source), result, &error);
  jstp_json_append_string (body, request->id, -1);
  if (document == NULL)
    {
      /* The document was checked already: the store's only 400 for an
       * insert is an id it holds, that is a copy of a stored post. */
      if (error->domain != JSTP_ERROR || error->code != JSTP_STATUS_BAD_DISPATCH)
        {
          answer_error (request->self, request->request, error);
          return;
        }
      g_string_append (body, ",\"stored\":false}");
      jstp_engine_answer (request->self->engine, request->request, JSTP_STATUS_OK, body->str);
      return;
    }
  g_string_append (body, ",\"stored\":true}");
  jstp_engine_answer (request->self->engine, request->request, JSTP_STATUS_OK, body->str);
  emit_event (request->self, JSTP_METHOD_POST, request->collection, NULL, document);
}

static void
on_post (JstpEngine         *engine,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            data)
{
  MonjeService *self = data;
  g_autoptr(Request) request = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *document = NULL;

  if (self->posts_collection == NULL)
    {
      /* Said at once: an emitter waiting for an answer would otherwise
       * wait for the whole answer timeout. */
      answer_message (self, dispatch, JSTP_STATUS_NOT_FOUND,
                      "this Monje does not store posts (--posts-collection is empty)");
      return;
    }
  request = request_new (self, dispatch, NULL, FALSE);
  if (request == NULL)
    return;
  request->collection = g_strdup (self->posts_collection);
  body = jstp_dispatch_dup_body (dispatch);
  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    {
      answer_message (self, dispatch, JSTP_STATUS_BAD_DISPATCH, "a post must be an object");
      return;
    }
  id = post_id (json_node_get_object (body));
  if (id)
    json_object_set_string_member (json_node_get_object (body), "_id", id);
  document = monje_document_prepare (body, NULL, &request->id, &error);
  if (document == NULL)
    {
      answer_error (self, dispatch, error);
      return;
    }
  {
    Request *pending = g_steal_pointer (&request);

    monje_store_insert_async (self->store, pending->collection, document, NULL, post_inserted,
                              pending);
  }
}

/* ---- events that come back ----------------------------------------------- */

/* A change event that arrives from the network is never processed: not as
 * a request (the handlers leave events alone) and not as a dispatch to fan
 * out either. A subscriber engine can send our own events back to us (a
 * BIND relayed to a `*` subscriber turns its connection to us into a
 * subscription there), and fanning them out again would bounce them
 * between the two engines for ever. Anything else carrying the header is
 * a forgery. 403, answered only when it carries a transaction. */
static guint
admit_cb (JstpEngine     *engine,
          JstpConnection *connection,
          JstpDispatch   *dispatch,
          char          **message,
          gpointer        data)
{
  /* Monje's own events are local; the same marker from the network is a
   * forgery, or an echo that would feed a loop. */
  if (connection != NULL && jstp_dispatch_get_extension (dispatch, MONJE_EVENT_HEADER))
    {
      g_debug ("dropped a change event from %s", jstp_connection_get_peer_address (connection));
      if (message)
        *message = g_strdup ("change events come from Monje only");
      return JSTP_STATUS_FORBIDDEN;
    }
  return 0;
}

/* ---- GObject ------------------------------------------------------------- */

static void
bind (MonjeService *self,
      const char   *method,
      const char  **resource,
      JstpBindFunc  callback)
{
  g_autoptr(GError) error = NULL;
  guint64 id = jstp_engine_bind (self->engine, method, resource, callback, self, NULL, &error);

  g_assert_no_error (error);  /* the patterns are ours and valid */
  g_array_append_val (self->bindings, id);
}

static void
monje_service_constructed (GObject *object)
{
  MonjeService *self = MONJE_SERVICE (object);

  G_OBJECT_CLASS (monje_service_parent_class)->constructed (object);

  g_assert (self->engine != NULL && self->store != NULL);
  bind (self, "GET", (const char *[]) { "db", NULL }, on_list_collections);
  bind (self, "POST", (const char *[]) { "db", ":collection", NULL }, on_insert);
  bind (self, "GET", (const char *[]) { "db", ":collection", NULL }, on_find);
  bind (self, "GET", (const char *[]) { "db", ":collection", ":id", NULL }, on_get);
  bind (self, "PUT", (const char *[]) { "db", ":collection", ":id", NULL }, on_replace);
  bind (self, "PATCH", (const char *[]) { "db", ":collection", ":id", NULL }, on_update);
  bind (self, "DELETE", (const char *[]) { "db", ":collection", ":id", NULL }, on_remove);
  bind (self, "POST", (const char *[]) { "pajaro", "posts", ":tag", NULL }, on_post);
  self->admission_hook = jstp_engine_add_admission_hook (self->engine, admit_cb, self, NULL);
}

static void
monje_service_dispose (GObject *object)
{
  MonjeService *self = MONJE_SERVICE (object);

  if (self->bindings)
    {
      jstp_engine_remove_admission_hook (self->engine, self->admission_hook);
      for (guint i = 0; i < self->bindings->len; i++)
        jstp_engine_release (self->engine, g_array_index (self->bindings, guint64, i));
      g_clear_pointer (&self->bindings, g_array_unref);
    }
  g_clear_object (&self->store);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (monje_service_parent_class)->dispose (object);
}

static void
monje_service_finalize (GObject *object)
{
  MonjeService *self = MONJE_SERVICE (object);

  g_free (self->posts_collection);

  G_OBJECT_CLASS (monje_service_parent_class)->finalize (object);
}

static void
monje_service_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  MonjeService *self = MONJE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_MAX_RESULTS:
      g_value_set_uint (value, self->max_results);
      break;
    case PROP_POSTS_COLLECTION:
      g_value_set_string (value, self->posts_collection);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
monje_service_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  MonjeService *self = MONJE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      self->engine = g_value_dup_object (value);
      break;
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_MAX_RESULTS:
      monje_service_set_max_results (self, g_value_get_uint (value));
      break;
    case PROP_POSTS_COLLECTION:
      {
        g_autoptr(GError) error = NULL;

        if (!monje_service_set_posts_collection (self, g_value_get_string (value), &error))
          g_warning ("posts-collection: %s", error->message);
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
monje_service_class_init (MonjeServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = monje_service_constructed;
  object_class->dispose = monje_service_dispose;
  object_class->finalize = monje_service_finalize;
  object_class->get_property = monje_service_get_property;
  object_class->set_property = monje_service_set_property;

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, JSTP_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, MONJE_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_RESULTS] =
    g_param_spec_uint ("max-results", NULL, NULL, 1, G_MAXINT, DEFAULT_MAX_RESULTS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_POSTS_COLLECTION] =
    g_param_spec_string ("posts-collection", NULL, NULL, MONJE_DEFAULT_POSTS_COLLECTION,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
monje_service_init (MonjeService *self)
{
  self->bindings = g_array_new (FALSE, FALSE, sizeof (guint64));
  self->max_results = DEFAULT_MAX_RESULTS;
  self->posts_collection = g_strdup (MONJE_DEFAULT_POSTS_COLLECTION);
}

MonjeService *
monje_service_new (JstpEngine *engine,
                   MonjeStore *store)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (MONJE_IS_STORE (store), NULL);

  return g_object_new (MONJE_TYPE_SERVICE, "engine", engine, "store", store, NULL);
}

JstpEngine *
monje_service_get_engine (MonjeService *self)
{
  g_return_val_if_fail (MONJE_IS_SERVICE (self), NULL);
  return self->engine;
}

MonjeStore *
monje_service_get_store (MonjeService *self)
{
  g_return_val_if_fail (MONJE_IS_SERVICE (self), NULL);
  return self->store;
}

guint
monje_service_get_max_results (MonjeService *self)
{
  g_return_val_if_fail (MONJE_IS_SERVICE (self), 0);
  return self->max_results;
}

void
monje_service_set_max_results (MonjeService *self,
                               guint         max_results)
{
  g_return_if_fail (MONJE_IS_SERVICE (self));
  g_return_if_fail (max_results > 0);

  if (self->max_results == max_results)
    return;
  self->max_results = max_results;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_RESULTS]);
}

guint64
monje_service_get_n_changes (MonjeService *self)
{
  g_return_val_if_fail (MONJE_IS_SERVICE (self), 0);
  return self->n_changes;
}

const char *
monje_service_get_posts_collection (MonjeService *self)
{
  g_return_val_if_fail (MONJE_IS_SERVICE (self), NULL);
  return self->posts_collection;
}

gboolean
monje_service_set_posts_collection (MonjeService  *self,
                                    const char    *collection,
                                    GError       **error)
{
  g_return_val_if_fail (MONJE_IS_SERVICE (self), FALSE);

  if (collection && *collection == '\0')
    collection = NULL;
  if (collection && !check_collection (collection, error))
    return FALSE;
  if (g_strcmp0 (self->posts_collection, collection) == 0)
    return TRUE;
  g_free (self->posts_collection);
  self->posts_collection = g_strdup (collection);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSTS_COLLECTION]);
  return TRUE;
}
