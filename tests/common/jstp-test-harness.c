/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "jstp-test-harness.h"

struct _JstpTestClient
{
  JstpTestHarness *harness;
  JstpEngine *engine;
  JstpNetwork *network;
  char *label;
  GPtrArray *received;          /* JstpDispatch */
};

struct _JstpTestHarness
{
  JstpEngine *engine;
  JstpNetwork *network;
  JstpService *service;
  GPtrArray *clients;           /* JstpTestClient, the first is the default */
  guint timeout_ms;
};

/* What a request waits for; the engine may call back after the request
 * gave up, so both hold a reference. */
typedef struct {
  gboolean answered;
  guint status;
  char *body;
} Pending;

static void
pending_clear (gpointer data)
{
  g_free (((Pending *) data)->body);
}

static void
pending_release (gpointer data)
{
  g_rc_box_release_full (data, pending_clear);
}

static void
pending_answer_cb (JstpEngine   *engine,
                   JstpDispatch *answer,
                   gpointer      data)
{
  Pending *pending = data;

  if (pending->answered)
    return;
  pending->answered = TRUE;
  pending->status = jstp_dispatch_get_status (answer);
  pending->body = g_strdup (jstp_dispatch_get_body_json (answer));
}

static gboolean
pending_answered (gpointer data)
{
  return ((Pending *) data)->answered;
}

/* ---- clients ----------------------------------------------------------- */

static void
client_free (gpointer data)
{
  JstpTestClient *client = data;

  jstp_network_close (client->network);
  g_object_unref (client->network);
  g_object_unref (client->engine);
  g_ptr_array_unref (client->received);
  g_free (client->label);
  g_free (client);
}

static JstpTestClient *
client_new (JstpTestHarness *harness,
            const char      *label)
{
  JstpTestClient *client = g_new0 (JstpTestClient, 1);
  g_autofree char *name = g_strdup_printf ("client-%u", harness->clients->len + 1);

  client->harness = harness;
  client->label = g_strdup (label);
  client->engine = jstp_engine_new (name);
  client->network = jstp_network_new (client->engine);
  client->received = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  g_ptr_array_add (harness->clients, client);
  return client;
}

static JstpDispatch *
build_dispatch (JstpTestClient *client,
                const char     *method,
                const char     *resource_json,
                const char     *body_json)
{
  JstpTestHarness *harness = client->harness;
  JstpMethod m = jstp_method_from_string (method, -1);
  g_autoptr(JstpDispatch) dispatch = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (m, <=, JSTP_METHOD_DELETE);
  dispatch = jstp_dispatch_new (m, (const char *[]) { "placeholder", NULL });
  jstp_dispatch_set_resource_json (dispatch, resource_json, &error);
  g_assert_no_error (error);
  if (body_json)
    {
      jstp_dispatch_set_body_json (dispatch, body_json, &error);
      g_assert_no_error (error);
    }
  jstp_dispatch_add_hop (dispatch, "127.0.0.1", jstp_network_get_port (harness->network,
                                                                       client->label),
                         client->label);
  return g_steal_pointer (&dispatch);
}

gboolean
jstp_test_client_request (JstpTestClient  *client,
                          const char      *method,
                          const char      *resource_json,
                          const char      *body_json,
                          guint           *status,
                          char           **body)
{
  g_autoptr(JstpDispatch) dispatch = build_dispatch (client, method, resource_json, body_json);
  Pending *pending = g_rc_box_new0 (Pending);
  gboolean answered;

  jstp_engine_emit (client->engine, dispatch, pending_answer_cb, g_rc_box_acquire (pending),
                    pending_release);
  answered = jstp_test_harness_wait (client->harness, pending_answered, pending);
  if (answered)
    {
      g_test_message ("%s %s -> %u %s", method, resource_json, pending->status,
                      pending->body ? pending->body : "");
      if (status)
        *status = pending->status;
      if (body)
        *body = g_strdup (pending->body);
    }
  pending_release (pending);
  return answered;
}

void
jstp_test_client_send (JstpTestClient *client,
                       const char     *method,
                       const char     *resource_json,
                       const char     *body_json)
{
  g_autoptr(JstpDispatch) dispatch = build_dispatch (client, method, resource_json, body_json);

  jstp_engine_emit (client->engine, dispatch, NULL, NULL, NULL);
}

static void
received_cb (JstpEngine         *engine,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures,
             gpointer            data)
{
  JstpTestClient *client = data;
  const char *body = jstp_dispatch_get_body_json (dispatch);

  g_test_message ("%s received %s %s %s", jstp_engine_get_name (engine),
                  jstp_method_to_string (jstp_dispatch_get_method (dispatch)),
                  jstp_dispatch_get_resource_json (dispatch), body ? body : "");
  g_ptr_array_add (client->received, jstp_dispatch_ref (dispatch));
}

static JstpPattern *
parse_pattern (const char *method,
               const char *json)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) elements = NULL;
  g_autoptr(GError) error = NULL;
  JstpJsonSpan root, element;
  JstpJsonIter iter;
  JstpPattern *pattern;

  g_assert_true (jstp_json_scan (json, strlen (json), NULL, &root, NULL, 0, NULL, &error));
  g_assert_cmpint (root.type, ==, JSTP_JSON_ARRAY);
  jstp_json_iter_init (&iter, json, root);
  while (jstp_json_iter_next (&iter, &element))
    {
      g_autofree char *text = NULL;

      g_assert_cmpint (element.type, ==, JSTP_JSON_STRING);
      text = jstp_json_string_dup (json, element, NULL);
      g_strv_builder_add (builder, text);
    }
  elements = g_strv_builder_end (builder);
  pattern = jstp_pattern_new (method, (const char * const *) elements, g_strv_length (elements),
                              JSTP_MODE_STRICT, &error);
  g_assert_no_error (error);
  return pattern;
}

gboolean
jstp_test_client_bind (JstpTestClient *client,
                       const char     *method,
                       const char     *pattern_json)
{
  g_autoptr(JstpPattern) pattern = parse_pattern (method, pattern_json);
  g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  JstpTestHarness *harness = client->harness;
  Pending *pending = g_rc_box_new0 (Pending);
  gboolean bound;

  /* What the remote engine sends back triggers this local binding. */
  jstp_engine_bind_pattern (client->engine, pattern, received_cb, client, NULL);
  jstp_dispatch_add_hop (bind, "127.0.0.1",
                         jstp_network_get_port (harness->network, client->label), client->label);
  jstp_engine_emit (client->engine, bind, pending_answer_cb, g_rc_box_acquire (pending),
                    pending_release);
  bound = jstp_test_harness_wait (harness, pending_answered, pending) && pending->status == 200;
  pending_release (pending);
  return bound;
}

typedef struct {
  JstpTestClient *client;
  guint n;
} ReceivedCount;

static gboolean
has_received (gpointer data)
{
  ReceivedCount *count = data;

  return count->client->received->len >= count->n;
}

gboolean
jstp_test_client_wait_received (JstpTestClient *client,
                                guint           n)
{
  ReceivedCount count = { client, n };

  return jstp_test_harness_wait (client->harness, has_received, &count);
}

guint
jstp_test_client_get_n_received (JstpTestClient *client)
{
  return client->received->len;
}

JstpDispatch *
jstp_test_client_get_received (JstpTestClient *client,
                               guint           index)
{
  g_assert_cmpuint (index, <, client->received->len);
  return g_ptr_array_index (client->received, index);
}

void
jstp_test_client_disconnect (JstpTestClient *client)
{
  jstp_network_close (client->network);
}

/* ---- the harness ------------------------------------------------------- */

JstpTestHarness *
jstp_test_harness_new (JstpService         *service,
                       const char * const  *prefix)
{
  JstpTestHarness *self = g_new0 (JstpTestHarness, 1);
  g_autoptr(GError) error = NULL;

  g_assert_true (JSTP_IS_SERVICE (service));

  self->timeout_ms = JSTP_TEST_HARNESS_TIMEOUT_MS;
  self->clients = g_ptr_array_new_with_free_func (client_free);
  self->engine = jstp_engine_new ("harness");
  self->network = jstp_network_new (self->engine);
  jstp_network_listen (self->network, "tcp", "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  jstp_network_listen (self->network, "ws", "127.0.0.1", 0, &error);
  g_assert_no_error (error);

  self->service = service;
  jstp_service_mount (service, self->engine, prefix, &error);
  g_assert_no_error (error);

  client_new (self, "tcp");
  return self;
}

void
jstp_test_harness_free (JstpTestHarness *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->clients);
  jstp_network_close (self->network);
  /* Let the closes land, so that nothing refers to the peers any more. */
  jstp_test_harness_spin (self, 20);
  jstp_service_unmount (self->service);
  g_object_unref (self->service);
  g_object_unref (self->network);
  g_object_unref (self->engine);
  g_free (self);
}

JstpEngine *
jstp_test_harness_get_engine (JstpTestHarness *self)
{
  return self->engine;
}

JstpNetwork *
jstp_test_harness_get_network (JstpTestHarness *self)
{
  return self->network;
}

JstpService *
jstp_test_harness_get_service (JstpTestHarness *self)
{
  return self->service;
}

JstpTestClient *
jstp_test_harness_get_client (JstpTestHarness *self)
{
  return g_ptr_array_index (self->clients, 0);
}

JstpTestClient *
jstp_test_harness_add_client (JstpTestHarness *self,
                              const char      *label)
{
  g_assert_true (g_str_equal (label, "tcp") || g_str_equal (label, "ws"));
  return client_new (self, label);
}

gboolean
jstp_test_harness_wait (JstpTestHarness  *self,
                        gboolean        (*condition) (gpointer data),
                        gpointer          data)
{
  gint64 end = g_get_monotonic_time () + (gint64) self->timeout_ms * 1000;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (200);
    }
  return TRUE;
}

void
jstp_test_harness_spin (JstpTestHarness *self,
                        guint            ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (200);
}

gboolean
jstp_test_harness_request (JstpTestHarness  *self,
                           const char       *method,
                           const char       *resource_json,
                           const char       *body_json,
                           guint            *status,
                           char            **body)
{
  return jstp_test_client_request (jstp_test_harness_get_client (self), method, resource_json,
                                   body_json, status, body);
}
