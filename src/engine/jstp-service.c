/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "jstp-json-writer.h"
#include "jstp-log.h"
#include "jstp-service.h"

/* Prefixes are short names, not paths. */
#define MAX_PREFIX 16

typedef struct {
  JstpService *service;         /* not a reference: handlers die with it */
  guint id;
  char *method;
  char **resource;              /* after the prefix */
  JstpServiceHandler handler;
  gpointer user_data;
  GDestroyNotify destroy;
  guint64 binding;              /* 0 while not mounted */
} Handler;

typedef struct {
  char *method;
  char **resource;              /* after the prefix */
  JstpServiceEventFlags flags;
  JstpPattern *pattern;         /* the whole pattern, while mounted */
} Event;

typedef struct {
  char *name;
  char *log_domain;
  char **prefix;
  JstpEngine *engine;

  GPtrArray *handlers;          /* Handler */
  GPtrArray *events;            /* Event */
  guint next_handler_id;
  guint64 status_binding;
  guint hook_id;

  guint64 n_requests;
  guint64 n_errors;
} JstpServicePrivate;

struct _JstpServiceRequest
{
  gint ref_count;
  JstpService *service;
  JstpEngine *engine;           /* the answer goes where the request came from */
  JstpDispatch *dispatch;
  JstpConnection *connection;
  GHashTable *captures;         /* name -> value; NULL when none */
  JsonNode *body;
  gboolean body_read;
  gboolean deferred;
  gboolean answered;
};

G_DEFINE_TYPE_WITH_PRIVATE (JstpService, jstp_service, G_TYPE_OBJECT)
G_DEFINE_BOXED_TYPE (JstpServiceRequest, jstp_service_request,
                     jstp_service_request_ref, jstp_service_request_unref)

enum {
  PROP_0,
  PROP_NAME,
  PROP_PREFIX,
  PROP_ENGINE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- the services of one engine --------------------------------------- */

/* Kept on the engine while any service is mounted on it: the list that
 * GET ["jstp","services"] answers and that prefixes are checked against. */
typedef struct {
  GPtrArray *services;          /* JstpService, not references */
  guint64 binding;
} EngineServices;

static GQuark
engine_services_quark (void)
{
  static GQuark quark;

  if (quark == 0)
    quark = g_quark_from_static_string ("jstp-engine-services");
  return quark;
}

static void
engine_services_free (gpointer data)
{
  EngineServices *list = data;

  g_ptr_array_unref (list->services);
  g_free (list);
}

static void
services_cb (JstpEngine         *engine,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures,
             gpointer            user_data)
{
  EngineServices *list = user_data;
  g_autoptr(GString) body = g_string_new ("{\"services\":[");

  for (guint i = 0; i < list->services->len; i++)
    {
      JstpService *service = g_ptr_array_index (list->services, i);
      g_autofree char *status = jstp_service_dup_status_json (service);

      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append (body, status);
    }
  g_string_append (body, "]}");
  jstp_engine_answer (engine, dispatch, JSTP_STATUS_OK, body->str);
}

/* ---- patterns ---------------------------------------------------------- */

static JstpPattern *
build_pattern (const char          *method,
               const char * const  *prefix,
               const char * const  *resource,
               GError             **error)
{
  g_autoptr(GPtrArray) elements = g_ptr_array_new ();

  /* check_prefix() made sure prefix elements read as literals. */
  for (guint i = 0; prefix && prefix[i]; i++)
    g_ptr_array_add (elements, (gpointer) prefix[i]);
  for (guint i = 0; resource && resource[i]; i++)
    g_ptr_array_add (elements, (gpointer) resource[i]);

  if (elements->len == 0)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "a service resource pattern needs at least one element");
      return NULL;
    }
  return jstp_pattern_new (method, (const char * const *) elements->pdata, elements->len,
                           JSTP_MODE_STRICT, error);
}

static gboolean
check_prefix (const char * const  *prefix,
              GError             **error)
{
  guint n = prefix ? g_strv_length ((char **) prefix) : 0;

  if (n == 0 || n > MAX_PREFIX)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "a service prefix has 1 to %u elements", MAX_PREFIX);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      const char *element = prefix[i];

      if (*element == '\0' || g_str_equal (element, "*") || g_str_equal (element, "...") ||
          element[0] == ':' || element[0] == '\\' || !g_utf8_validate (element, -1, NULL))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "prefix element %u (\"%s\") is not a plain name", i, element);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
prefix_equal (const char * const *a,
              const char * const *b)
{
  guint i;

  for (i = 0; a[i] && b[i]; i++)
    if (!g_str_equal (a[i], b[i]))
      return FALSE;
  return a[i] == NULL && b[i] == NULL;
}

/* GET [PREFIX...] belongs to the status, whatever other pattern matches. */
static gboolean
is_status_request (JstpService  *self,
                   JstpDispatch *dispatch)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  const JstpElement *resource;
  guint n;

  if (jstp_dispatch_get_method (dispatch) != JSTP_METHOD_GET)
    return FALSE;
  resource = jstp_dispatch_get_resource (dispatch, &n);
  if (n != g_strv_length (priv->prefix))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (resource[i].type != JSTP_JSON_STRING ||
        resource[i].length != strlen (priv->prefix[i]) ||
        memcmp (resource[i].text, priv->prefix[i], resource[i].length) != 0)
      return FALSE;
  return TRUE;
}

/* ---- requests ---------------------------------------------------------- */

static JstpServiceRequest *
request_new (JstpService        *service,
             JstpEngine         *engine,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures)
{
  JstpServiceRequest *request = g_new0 (JstpServiceRequest, 1);
  JstpConnection *connection = jstp_engine_get_current_connection (engine);

  request->ref_count = 1;
  request->service = g_object_ref (service);
  request->engine = g_object_ref (engine);
  request->dispatch = jstp_dispatch_ref (dispatch);
  request->connection = connection ? g_object_ref (connection) : NULL;
  if (captures && captures->n_captures > 0)
    {
      request->captures = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
      for (guint i = 0; i < captures->n_captures; i++)
        {
          const char *name = g_intern_string (captures->items[i].name);
          const JstpElement *value = &captures->items[i].value;

          if (!g_hash_table_contains (request->captures, name))
            g_hash_table_insert (request->captures, (gpointer) name,
                                 g_strndup (value->text, value->length));
        }
    }
  return request;
}

JstpServiceRequest *
jstp_service_request_ref (JstpServiceRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);

  g_atomic_int_inc (&request->ref_count);
  return request;
}

void
jstp_service_request_unref (JstpServiceRequest *request)
{
  g_return_if_fail (request != NULL);

  if (!g_atomic_int_dec_and_test (&request->ref_count))
    return;
  if (request->deferred && !request->answered)
    {
      /* Whoever deferred it forgot it: the emitter must not wait for 504. */
      g_autoptr(GError) error = g_error_new_literal (JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR,
                                                     "the service dropped the request");

      jstp_service_request_fail (request, error);
    }
  g_clear_pointer (&request->captures, g_hash_table_unref);
  g_clear_pointer (&request->body, json_node_unref);
  g_clear_object (&request->connection);
  jstp_dispatch_unref (request->dispatch);
  g_object_unref (request->engine);
  g_object_unref (request->service);
  g_free (request);
}

JstpService *
jstp_service_request_get_service (JstpServiceRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->service;
}

JstpDispatch *
jstp_service_request_get_dispatch (JstpServiceRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->dispatch;
}

JstpConnection *
jstp_service_request_get_connection (JstpServiceRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->connection;
}

const char *
jstp_service_request_get_capture (JstpServiceRequest *request,
                                  const char         *name)
{
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return request->captures ? g_hash_table_lookup (request->captures, name) : NULL;
}

JsonNode *
jstp_service_request_get_body (JstpServiceRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);

  if (!request->body_read)
    {
      request->body_read = TRUE;
      if (jstp_dispatch_get_body_json (request->dispatch))
        request->body = jstp_dispatch_dup_body (request->dispatch);
    }
  return request->body;
}

static JsonNode *
argument (JstpServiceRequest  *request,
          const char          *name,
          GError             **error)
{
  JsonNode *body = jstp_service_request_get_body (request);
  JsonNode *value;

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "the body must be an object holding the arguments (\"%s\" is missing)",
                   name);
      return NULL;
    }
  value = json_object_get_member (json_node_get_object (body), name);
  if (value == NULL)
    g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                 "argument \"%s\" is missing", name);
  return value;
}

static gboolean
wrong_type (const char  *name,
            const char  *expected,
            GError     **error)
{
  g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
               "argument \"%s\" must be %s", name, expected);
  return FALSE;
}

gboolean
jstp_service_request_has_argument (JstpServiceRequest *request,
                                   const char         *name)
{
  JsonNode *body;

  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  body = jstp_service_request_get_body (request);
  return body && JSON_NODE_HOLDS_OBJECT (body) &&
         json_object_has_member (json_node_get_object (body), name);
}

gboolean
jstp_service_request_get_number (JstpServiceRequest  *request,
                                 const char          *name,
                                 double              *value,
                                 GError             **error)
{
  JsonNode *node;
  GType type;

  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if ((node = argument (request, name, error)) == NULL)
    return FALSE;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return wrong_type (name, "a number", error);
  *value = json_node_get_double (node);
  return TRUE;
}

gboolean
jstp_service_request_get_int (JstpServiceRequest  *request,
                              const char          *name,
                              gint64               min,
                              gint64               max,
                              gint64              *value,
                              GError             **error)
{
  JsonNode *node;
  gint64 number;

  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (min <= max, FALSE);

  if ((node = argument (request, name, error)) == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      (number = json_node_get_int (node)) < min || number > max)
    {
      g_autofree char *expected =
        g_strdup_printf ("an integer between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                         min, max);
      return wrong_type (name, expected, error);
    }
  *value = number;
  return TRUE;
}

gboolean
jstp_service_request_get_string (JstpServiceRequest  *request,
                                 const char          *name,
                                 const char         **value,
                                 GError             **error)
{
  JsonNode *node;

  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if ((node = argument (request, name, error)) == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (name, "a string", error);
  *value = json_node_get_string (node);
  return TRUE;
}

gboolean
jstp_service_request_get_boolean (JstpServiceRequest  *request,
                                  const char          *name,
                                  gboolean            *value,
                                  GError             **error)
{
  JsonNode *node;

  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if ((node = argument (request, name, error)) == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return wrong_type (name, "true or false", error);
  *value = json_node_get_boolean (node);
  return TRUE;
}

gboolean
jstp_service_request_get_value (JstpServiceRequest  *request,
                                const char          *name,
                                JsonNode           **value,
                                GError             **error)
{
  JsonNode *node;

  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if ((node = argument (request, name, error)) == NULL)
    return FALSE;
  *value = node;
  return TRUE;
}

JstpServiceRequest *
jstp_service_request_defer (JstpServiceRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (!request->answered, NULL);

  request->deferred = TRUE;
  return jstp_service_request_ref (request);
}

static void
request_finish (JstpServiceRequest *request,
                guint               status,
                const char         *body_json)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (request->service);

  request->answered = TRUE;
  if (status >= 400)
    priv->n_errors++;
  if (jstp_log_is_enabled (priv->log_domain, G_LOG_LEVEL_DEBUG))
    jstp_service_log (request->service, G_LOG_LEVEL_DEBUG, "%s %s answered %u",
                      jstp_method_to_string (jstp_dispatch_get_method (request->dispatch)),
                      jstp_dispatch_get_resource_json (request->dispatch), status);
  jstp_engine_answer (request->engine, request->dispatch, status, body_json);
}

void
jstp_service_request_answer (JstpServiceRequest *request,
                             JsonNode           *body)
{
  g_autoptr(GString) json = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (request != NULL);
  g_return_if_fail (!request->answered);

  if (body == NULL)
    {
      request_finish (request, JSTP_STATUS_OK, NULL);
      return;
    }
  json = g_string_new (NULL);
  if (!jstp_json_append_node (json, body, &error))
    {
      g_autoptr(GError) failure =
        g_error_new (JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR,
                     "the service's answer cannot be written as JSON: %s", error->message);

      jstp_service_request_fail (request, failure);
      return;
    }
  request_finish (request, JSTP_STATUS_OK, json->str);
}

void
jstp_service_request_fail (JstpServiceRequest *request,
                           const GError       *error)
{
  g_autoptr(GString) body = g_string_new ("{\"message\":");
  guint status = JSTP_STATUS_INTERNAL_ERROR;

  g_return_if_fail (request != NULL);
  g_return_if_fail (error != NULL);
  g_return_if_fail (!request->answered);

  if (error->domain == JSTP_ERROR && error->code >= 400 && error->code <= 599)
    status = error->code;
  jstp_json_append_string (body, error->message ? error->message : "", -1);
  g_string_append_c (body, '}');
  if (status >= 500)
    jstp_service_log (request->service, G_LOG_LEVEL_INFO, "%s %s failed: %s",
                      jstp_method_to_string (jstp_dispatch_get_method (request->dispatch)),
                      jstp_dispatch_get_resource_json (request->dispatch), error->message);
  request_finish (request, status, body->str);
}

/* ---- handlers ---------------------------------------------------------- */

static void
handler_cb (JstpEngine         *engine,
            JstpDispatch       *dispatch,
            const JstpCaptures *captures,
            gpointer            user_data)
{
  Handler *handler = user_data;
  g_autoptr(JstpService) self = g_object_ref (handler->service);
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  g_autoptr(JstpServiceRequest) request = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(GError) error = NULL;

  /* A "*" handler also sees BINDs of its endpoint; the engine answers
   * those itself. */
  if (jstp_dispatch_get_morphology (dispatch) != JSTP_MORPHOLOGY_REGULAR ||
      is_status_request (self, dispatch))
    return;

  priv->n_requests++;
  request = request_new (self, engine, dispatch, captures);
  body = handler->handler (self, request, handler->user_data, &error);
  if (request->deferred)
    return;
  if (error)
    jstp_service_request_fail (request, error);
  else
    jstp_service_request_answer (request, body);
}

static gboolean
bind_handler (JstpService  *self,
              Handler      *handler,
              GError      **error)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  g_autoptr(JstpPattern) pattern = NULL;

  pattern = build_pattern (handler->method, (const char * const *) priv->prefix,
                           (const char * const *) handler->resource, error);
  if (pattern == NULL)
    return FALSE;
  handler->binding = jstp_engine_bind_pattern (priv->engine, pattern, handler_cb, handler, NULL);
  return handler->binding != 0;
}

static void
unbind_handler (JstpService *self,
                Handler     *handler)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  if (handler->binding != 0)
    jstp_engine_release (priv->engine, handler->binding);
  handler->binding = 0;
}

static void
handler_free (gpointer data)
{
  Handler *handler = data;

  if (handler->destroy)
    handler->destroy (handler->user_data);
  g_free (handler->method);
  g_strfreev (handler->resource);
  g_free (handler);
}

guint
jstp_service_add_handler (JstpService         *self,
                          const char          *method,
                          const char * const  *resource,
                          JstpServiceHandler   handler,
                          gpointer             user_data,
                          GDestroyNotify       destroy,
                          GError             **error)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  g_autoptr(JstpPattern) check = NULL;
  Handler *entry;

  g_return_val_if_fail (JSTP_IS_SERVICE (self), 0);
  g_return_val_if_fail (method != NULL, 0);
  g_return_val_if_fail (resource != NULL, 0);
  g_return_val_if_fail (handler != NULL, 0);

  /* The prefix is made of literals, so a pattern that is valid after it is
   * valid whatever the prefix turns out to be. */
  check = build_pattern (method, (const char *[]) { "prefix", NULL }, resource, error);
  if (check == NULL)
    return 0;

  entry = g_new0 (Handler, 1);
  entry->service = self;
  entry->id = ++priv->next_handler_id;
  entry->method = g_strdup (jstp_pattern_get_method (check));
  entry->resource = g_strdupv ((char **) resource);
  entry->handler = handler;
  entry->user_data = user_data;
  entry->destroy = destroy;
  g_ptr_array_add (priv->handlers, entry);

  if (priv->engine && !bind_handler (self, entry, error))
    {
      g_ptr_array_remove (priv->handlers, entry);
      return 0;
    }
  return entry->id;
}

gboolean
jstp_service_remove_handler (JstpService *self,
                             guint        handler_id)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_SERVICE (self), FALSE);

  for (guint i = 0; i < priv->handlers->len; i++)
    {
      Handler *handler = g_ptr_array_index (priv->handlers, i);

      if (handler->id == handler_id)
        {
          unbind_handler (self, handler);
          g_ptr_array_remove_index (priv->handlers, i);
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- events ------------------------------------------------------------ */

static void
event_free (gpointer data)
{
  Event *event = data;

  g_free (event->method);
  g_strfreev (event->resource);
  g_clear_pointer (&event->pattern, jstp_pattern_unref);
  g_free (event);
}

gboolean
jstp_service_add_event (JstpService            *self,
                        const char             *method,
                        const char * const     *resource,
                        JstpServiceEventFlags   flags,
                        GError                **error)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  g_autoptr(JstpPattern) check = NULL;
  Event *event;

  g_return_val_if_fail (JSTP_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (method != NULL, FALSE);
  g_return_val_if_fail (resource != NULL, FALSE);

  check = build_pattern (method, (const char *[]) { "prefix", NULL }, resource, error);
  if (check == NULL)
    return FALSE;

  event = g_new0 (Event, 1);
  event->method = g_strdup (jstp_pattern_get_method (check));
  event->resource = g_strdupv ((char **) resource);
  event->flags = flags;
  if (priv->engine)
    event->pattern = build_pattern (event->method, (const char * const *) priv->prefix,
                                    resource, NULL);
  g_ptr_array_add (priv->events, event);
  return TRUE;
}

void
jstp_service_publish (JstpService         *self,
                      const char          *method,
                      const char * const  *resource,
                      JsonNode            *body)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  g_autoptr(GPtrArray) elements = g_ptr_array_new ();
  g_autoptr(JstpDispatch) dispatch = NULL;
  g_autoptr(GError) error = NULL;
  JstpMethod m;

  g_return_if_fail (JSTP_IS_SERVICE (self));
  g_return_if_fail (method != NULL);
  g_return_if_fail (resource != NULL);

  m = jstp_method_from_string (method, -1);
  g_return_if_fail (m <= JSTP_METHOD_DELETE);

  if (priv->engine == NULL)
    return;
  for (guint i = 0; priv->prefix[i]; i++)
    g_ptr_array_add (elements, priv->prefix[i]);
  for (guint i = 0; resource[i]; i++)
    g_ptr_array_add (elements, (gpointer) resource[i]);
  g_ptr_array_add (elements, NULL);

  dispatch = jstp_dispatch_new (m, (const char * const *) elements->pdata);
  if (body && !jstp_dispatch_set_body (dispatch, body, &error))
    {
      jstp_service_log (self, G_LOG_LEVEL_WARNING, "event not published: %s", error->message);
      return;
    }
  jstp_engine_emit (priv->engine, dispatch, NULL, NULL, NULL);
}

/* Network peers may not emit an exclusive event: subscribers must be able
 * to trust that it came from the service. */
static guint
exclusive_hook (JstpEngine      *engine,
                JstpConnection  *connection,
                JstpDispatch    *dispatch,
                char           **message,
                gpointer         user_data)
{
  JstpService *self = user_data;
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  const JstpElement *resource;
  const char *method;
  guint n;

  if (connection == NULL || jstp_dispatch_get_morphology (dispatch) != JSTP_MORPHOLOGY_REGULAR)
    return 0;

  resource = jstp_dispatch_get_resource (dispatch, &n);
  method = jstp_method_to_string (jstp_dispatch_get_method (dispatch));
  for (guint i = 0; i < priv->events->len; i++)
    {
      Event *event = g_ptr_array_index (priv->events, i);

      if ((event->flags & JSTP_SERVICE_EVENT_EXCLUSIVE) && event->pattern &&
          jstp_pattern_match (event->pattern, method, resource, n, NULL))
        {
          if (message)
            *message = g_strdup_printf ("only the %s service emits this event", priv->name);
          return JSTP_STATUS_FORBIDDEN;
        }
    }
  return 0;
}

/* ---- status ------------------------------------------------------------ */

static void
add_pattern_members (JsonBuilder        *builder,
                     const char         *method,
                     const char * const *prefix,
                     const char * const *resource)
{
  json_builder_set_member_name (builder, "method");
  json_builder_add_string_value (builder, method);
  json_builder_set_member_name (builder, "resource");
  json_builder_begin_array (builder);
  for (guint i = 0; prefix[i]; i++)
    json_builder_add_string_value (builder, prefix[i]);
  for (guint i = 0; resource[i]; i++)
    json_builder_add_string_value (builder, resource[i]);
  json_builder_end_array (builder);
}

char *
jstp_service_dup_status_json (JstpService *self)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  JstpServiceClass *klass;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  const char * const *prefix;

  g_return_val_if_fail (JSTP_IS_SERVICE (self), NULL);

  klass = JSTP_SERVICE_GET_CLASS (self);
  prefix = (const char * const *) priv->prefix;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, priv->name);
  json_builder_set_member_name (builder, "prefix");
  json_builder_begin_array (builder);
  for (guint i = 0; prefix[i]; i++)
    json_builder_add_string_value (builder, prefix[i]);
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "handlers");
  json_builder_begin_array (builder);
  for (guint i = 0; i < priv->handlers->len; i++)
    {
      Handler *handler = g_ptr_array_index (priv->handlers, i);

      json_builder_begin_object (builder);
      add_pattern_members (builder, handler->method, prefix,
                           (const char * const *) handler->resource);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "events");
  json_builder_begin_array (builder);
  for (guint i = 0; i < priv->events->len; i++)
    {
      Event *event = g_ptr_array_index (priv->events, i);

      json_builder_begin_object (builder);
      add_pattern_members (builder, event->method, prefix, (const char * const *) event->resource);
      json_builder_set_member_name (builder, "exclusive");
      json_builder_add_boolean_value (builder, (event->flags & JSTP_SERVICE_EVENT_EXCLUSIVE) != 0);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "requests");
  json_builder_add_int_value (builder, (gint64) priv->n_requests);
  json_builder_set_member_name (builder, "errors");
  json_builder_add_int_value (builder, (gint64) priv->n_errors);

  json_builder_set_member_name (builder, "status");
  json_builder_begin_object (builder);
  if (klass->add_status)
    klass->add_status (self, builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  if (root == NULL || !jstp_json_append_node (out, root, &error))
    {
      /* A subclass added a non-finite number or left the builder open. */
      jstp_service_log (self, G_LOG_LEVEL_WARNING, "status not written: %s",
                        error ? error->message : "the status object is incomplete");
      g_string_assign (out, "{\"name\":");
      jstp_json_append_string (out, priv->name, -1);
      g_string_append (out, "}");
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
status_cb (JstpEngine         *engine,
           JstpDispatch       *dispatch,
           const JstpCaptures *captures,
           gpointer            user_data)
{
  g_autofree char *status = jstp_service_dup_status_json (user_data);

  jstp_engine_answer (engine, dispatch, JSTP_STATUS_OK, status);
}

/* ---- mounting ---------------------------------------------------------- */

gboolean
jstp_service_mount (JstpService         *self,
                    JstpEngine          *engine,
                    const char * const  *prefix,
                    GError             **error)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  JstpServiceClass *klass;
  EngineServices *list;
  g_autoptr(JstpPattern) status = NULL;

  g_return_val_if_fail (JSTP_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (JSTP_IS_ENGINE (engine), FALSE);
  g_return_val_if_fail (priv->engine == NULL, FALSE);

  klass = JSTP_SERVICE_GET_CLASS (self);
  if (!check_prefix (prefix ? prefix : (const char * const *) priv->prefix, error))
    return FALSE;

  list = g_object_get_qdata (G_OBJECT (engine), engine_services_quark ());
  for (guint i = 0; list && i < list->services->len; i++)
    {
      JstpService *other = g_ptr_array_index (list->services, i);

      if (prefix_equal (jstp_service_get_prefix (other),
                        prefix ? prefix : (const char * const *) priv->prefix))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       "the %s service is mounted under that prefix already",
                       jstp_service_get_name (other));
          return FALSE;
        }
    }

  if (prefix && !prefix_equal (prefix, (const char * const *) priv->prefix))
    {
      g_strfreev (priv->prefix);
      priv->prefix = g_strdupv ((char **) prefix);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PREFIX]);
    }

  priv->engine = g_object_ref (engine);
  if (klass->mount && !klass->mount (self, engine, error))
    {
      g_clear_object (&priv->engine);
      return FALSE;
    }

  for (guint i = 0; i < priv->handlers->len; i++)
    if (!bind_handler (self, g_ptr_array_index (priv->handlers, i), error))
      {
        jstp_service_unmount (self);
        return FALSE;
      }
  for (guint i = 0; i < priv->events->len; i++)
    {
      Event *event = g_ptr_array_index (priv->events, i);

      event->pattern = build_pattern (event->method, (const char * const *) priv->prefix,
                                      (const char * const *) event->resource, NULL);
    }

  status = build_pattern ("GET", (const char * const *) priv->prefix, NULL, NULL);
  priv->status_binding = jstp_engine_bind_pattern (engine, status, status_cb, self, NULL);
  priv->hook_id = jstp_engine_add_admission_hook (engine, exclusive_hook, self, NULL);

  if (list == NULL)
    {
      list = g_new0 (EngineServices, 1);
      list->services = g_ptr_array_new ();
      list->binding = jstp_engine_bind (engine, "GET",
                                        (const char *[]) { "jstp", "services", NULL },
                                        services_cb, list, NULL, NULL);
      g_object_set_qdata_full (G_OBJECT (engine), engine_services_quark (), list,
                               engine_services_free);
    }
  g_ptr_array_add (list->services, self);

  jstp_service_log (self, G_LOG_LEVEL_DEBUG, "mounted on %s", jstp_engine_get_name (engine));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENGINE]);
  return TRUE;
}

void
jstp_service_unmount (JstpService *self)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  g_autoptr(JstpEngine) engine = NULL;
  JstpServiceClass *klass;
  EngineServices *list;

  g_return_if_fail (JSTP_IS_SERVICE (self));

  if (priv->engine == NULL)
    return;

  klass = JSTP_SERVICE_GET_CLASS (self);
  if (klass->unmount)
    klass->unmount (self, priv->engine);

  for (guint i = 0; i < priv->handlers->len; i++)
    unbind_handler (self, g_ptr_array_index (priv->handlers, i));
  for (guint i = 0; i < priv->events->len; i++)
    g_clear_pointer (&((Event *) g_ptr_array_index (priv->events, i))->pattern,
                     jstp_pattern_unref);
  if (priv->status_binding)
    jstp_engine_release (priv->engine, priv->status_binding);
  priv->status_binding = 0;
  if (priv->hook_id)
    jstp_engine_remove_admission_hook (priv->engine, priv->hook_id);
  priv->hook_id = 0;

  list = g_object_get_qdata (G_OBJECT (priv->engine), engine_services_quark ());
  if (list && g_ptr_array_remove (list->services, self) && list->services->len == 0)
    {
      if (list->binding)
        jstp_engine_release (priv->engine, list->binding);
      g_object_set_qdata (G_OBJECT (priv->engine), engine_services_quark (), NULL);
    }

  jstp_service_log (self, G_LOG_LEVEL_DEBUG, "unmounted");
  engine = g_steal_pointer (&priv->engine);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENGINE]);
}

/* ---- accessors and logging --------------------------------------------- */

JstpService *
jstp_service_new (const char *name)
{
  g_return_val_if_fail (name != NULL && *name != '\0', NULL);

  return g_object_new (JSTP_TYPE_SERVICE, "name", name, NULL);
}

const char *
jstp_service_get_name (JstpService *self)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_SERVICE (self), NULL);
  return priv->name;
}

const char *
jstp_service_get_log_domain (JstpService *self)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_SERVICE (self), NULL);
  return priv->log_domain;
}

const char * const *
jstp_service_get_prefix (JstpService *self)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_SERVICE (self), NULL);
  return (const char * const *) priv->prefix;
}

JstpEngine *
jstp_service_get_engine (JstpService *self)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_SERVICE (self), NULL);
  return priv->engine;
}

void
jstp_service_log (JstpService    *self,
                  GLogLevelFlags  level,
                  const char     *format,
                  ...)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);
  g_autofree char *message = NULL;
  GLogField fields[2];
  va_list args;

  g_return_if_fail (JSTP_IS_SERVICE (self));
  g_return_if_fail (format != NULL);

  if (!jstp_log_is_enabled (priv->log_domain, level))
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fields[0] = (GLogField) { "JSTP_SERVICE", priv->name, -1 };
  fields[1] = (GLogField) { "JSTP_ENGINE", priv->engine ? jstp_engine_get_name (priv->engine) : "",
                            -1 };
  jstp_log_fields (priv->log_domain, level, fields, G_N_ELEMENTS (fields), "%s", message);
}

/* ---- GObject ----------------------------------------------------------- */

static void
jstp_service_constructed (GObject *object)
{
  JstpService *self = JSTP_SERVICE (object);
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  G_OBJECT_CLASS (jstp_service_parent_class)->constructed (object);

  if (priv->name == NULL)
    priv->name = g_strdup (G_OBJECT_TYPE_NAME (object));
  priv->log_domain = g_strconcat ("Jstp-", priv->name, NULL);
  if (priv->prefix == NULL)
    priv->prefix = g_strdupv ((char *[]) { priv->name, NULL });
}

static void
jstp_service_dispose (GObject *object)
{
  JstpService *self = JSTP_SERVICE (object);
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  jstp_service_unmount (self);
  /* Handlers' user data may point back at the subclass: free it while the
   * instance is still whole. */
  g_ptr_array_set_size (priv->handlers, 0);

  G_OBJECT_CLASS (jstp_service_parent_class)->dispose (object);
}

static void
jstp_service_finalize (GObject *object)
{
  JstpService *self = JSTP_SERVICE (object);
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  g_ptr_array_unref (priv->handlers);
  g_ptr_array_unref (priv->events);
  g_strfreev (priv->prefix);
  g_free (priv->log_domain);
  g_free (priv->name);

  G_OBJECT_CLASS (jstp_service_parent_class)->finalize (object);
}

static void
jstp_service_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  JstpService *self = JSTP_SERVICE (object);
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, priv->name);
      break;
    case PROP_PREFIX:
      g_value_set_boxed (value, priv->prefix);
      break;
    case PROP_ENGINE:
      g_value_set_object (value, priv->engine);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_service_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  JstpService *self = JSTP_SERVICE (object);
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_NAME:
      priv->name = g_value_dup_string (value);
      break;
    case PROP_PREFIX:
      {
        /* Checked by jstp_service_mount(), which can say what is wrong. */
        const char * const *prefix = g_value_get_boxed (value);

        if (prefix == NULL ||
            (priv->prefix && prefix_equal (prefix, (const char * const *) priv->prefix)))
          break;
        if (priv->engine)
          {
            g_warning ("%s: the prefix of a mounted service cannot change", priv->name);
            break;
          }
        g_strfreev (priv->prefix);
        priv->prefix = g_strdupv ((char **) prefix);
        if (priv->log_domain)  /* not during construction */
          g_object_notify_by_pspec (object, pspec);
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_service_class_init (JstpServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = jstp_service_constructed;
  object_class->dispose = jstp_service_dispose;
  object_class->finalize = jstp_service_finalize;
  object_class->get_property = jstp_service_get_property;
  object_class->set_property = jstp_service_set_property;

  /**
   * JstpService:name:
   *
   * What `jstpd --service` calls it, its log domain's suffix, and its
   * default prefix.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpService:prefix:
   *
   * The resource elements the service lives under; only while unmounted.
   */
  properties[PROP_PREFIX] =
    g_param_spec_boxed ("prefix", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, JSTP_TYPE_ENGINE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jstp_service_init (JstpService *self)
{
  JstpServicePrivate *priv = jstp_service_get_instance_private (self);

  priv->handlers = g_ptr_array_new_with_free_func (handler_free);
  priv->events = g_ptr_array_new_with_free_func (event_free);
}
