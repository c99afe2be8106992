/* SPDX-License-Identifier: MIT */
/* test-services.c: the service API, the registry, the built-in services
 * (rpc, pubsub, presence) and per-domain log levels, each over real
 * loopback sockets through the test harness. */
#include <string.h>

#include "jstp-log.h"
#include "jstp-presence-service.h"
#include "jstp-pubsub-service.h"
#include "jstp-rpc-service.h"
#include "jstp-service-registry.h"
#include "jstp-test-harness.h"

static const char * const math[] = { "math", NULL };

/* Asserts one request's status and, when @expected_body is given, its body. */
static void
assert_request (JstpTestHarness *h,
                const char      *method,
                const char      *resource,
                const char      *body,
                guint            expected_status,
                const char      *expected_body)
{
  guint status = 0;
  g_autofree char *answer = NULL;

  g_assert_true (jstp_test_harness_request (h, method, resource, body, &status, &answer));
  g_assert_cmpuint (status, ==, expected_status);
  if (expected_body)
    g_assert_cmpstr (answer, ==, expected_body);
}

static JsonNode *
parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);

  g_assert_no_error (error);
  return node;
}

/* ---- rpc --------------------------------------------------------------- */

static void
test_rpc_add (void)
{
  g_autoptr(JstpTestHarness) h = jstp_test_harness_new (jstp_rpc_service_new (), math);

  assert_request (h, "GET", "[\"math\",\"add\"]", "{\"a\":1,\"b\":2}", 200, "{\"result\":3}");
  assert_request (h, "POST", "[\"math\",\"add\"]", "{\"a\":0.5,\"b\":0.25}", 200,
                  "{\"result\":0.75}");
  assert_request (h, "GET", "[\"math\",\"divide\"]", "{\"a\":1,\"b\":4}", 200,
                  "{\"result\":0.25}");
  /* Written back by the project's writer: escapes become the characters. */
  assert_request (h, "PUT", "[\"math\",\"echo\"]", "{\"x\":[1,\"\\u00e9\",null]}", 200,
                  "{\"x\":[1,\"\xc3\xa9\",null]}");
  assert_request (h, "GET", "[\"math\",\"echo\"]", NULL, 200, NULL);
  assert_request (h, "GET", "[\"math\",\"nothing\"]", NULL, 404, NULL);
}

static void
test_rpc_argument_errors (void)
{
  g_autoptr(JstpTestHarness) h = jstp_test_harness_new (jstp_rpc_service_new (), math);

  assert_request (h, "GET", "[\"math\",\"add\"]", "{\"a\":1}", 400,
                  "{\"message\":\"argument \\\"b\\\" is missing\"}");
  assert_request (h, "GET", "[\"math\",\"add\"]", "{\"a\":\"1\",\"b\":2}", 400,
                  "{\"message\":\"argument \\\"a\\\" must be a number\"}");
  assert_request (h, "GET", "[\"math\",\"add\"]", "[1,2]", 400, NULL);
  assert_request (h, "GET", "[\"math\",\"add\"]", NULL, 400, NULL);
  assert_request (h, "GET", "[\"math\",\"divide\"]", "{\"a\":1,\"b\":0}", 400,
                  "{\"message\":\"argument \\\"b\\\" must not be 0\"}");
  assert_request (h, "GET", "[\"math\",\"wait\"]", "{\"ms\":10001}", 400,
                  "{\"message\":\"argument \\\"ms\\\" must be an integer between 0 and 10000\"}");
  assert_request (h, "GET", "[\"math\",\"wait\"]", "{\"ms\":1.5}", 400, NULL);
}

static void
test_rpc_failure (void)
{
  g_autoptr(JstpTestHarness) h = jstp_test_harness_new (jstp_rpc_service_new (), math);
  g_autofree char *status = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;

  assert_request (h, "GET", "[\"math\",\"fail\"]", "{\"message\":\"the disk is on fire\"}", 500,
                  "{\"message\":\"the disk is on fire\"}");
  assert_request (h, "GET", "[\"math\",\"fail\"]", "{\"message\":7}", 400, NULL);
  assert_request (h, "GET", "[\"math\",\"add\"]", "{\"a\":1,\"b\":1}", 200, NULL);

  /* Every call is counted; those answered 400 or more are errors. */
  status = jstp_service_dup_status_json (jstp_test_harness_get_service (h));
  root = parse (status);
  object = json_node_get_object (root);
  g_assert_cmpint (json_object_get_int_member (object, "requests"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (object, "errors"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object, "status"),
                                               "calls"), ==, 3);
}

static void
test_rpc_deferred (void)
{
  g_autoptr(JstpTestHarness) h = jstp_test_harness_new (jstp_rpc_service_new (), math);
  JstpTestClient *client = jstp_test_harness_get_client (h);
  guint status = 0;
  g_autofree char *body = NULL;

  assert_request (h, "GET", "[\"math\",\"wait\"]", "{\"ms\":30,\"value\":\"later\"}", 200,
                  "{\"value\":\"later\"}");
  assert_request (h, "GET", "[\"math\",\"wait\"]", "{\"ms\":0}", 200, "{\"value\":null}");

  /* A service that leaves answers what it was still waiting on. */
  jstp_test_client_send (client, "GET", "[\"math\",\"wait\"]", "{\"ms\":10000}");
  jstp_test_harness_spin (h, 50);
  g_assert_true (jstp_test_client_request (jstp_test_harness_add_client (h, "ws"), "GET",
                                           "[\"math\"]", NULL, &status, &body));
  g_assert_nonnull (strstr (body, "\"waiting\":1"));
  jstp_service_unmount (jstp_test_harness_get_service (h));
  assert_request (h, "GET", "[\"math\",\"add\"]", "{\"a\":1,\"b\":1}", 404, NULL);
}

/* ---- the service API --------------------------------------------------- */

static JsonNode *
hello_cb (JstpService         *service,
          JstpServiceRequest  *request,
          gpointer             user_data,
          GError             **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *greeting = NULL;
  g_autofree char *loud = NULL;
  gboolean shout = FALSE;

  if (jstp_service_request_has_argument (request, "shout") &&
      !jstp_service_request_get_boolean (request, "shout", &shout, error))
    return NULL;
  greeting = g_strdup_printf ("hello %s", jstp_service_request_get_capture (request, "name"));
  loud = g_utf8_strup (greeting, -1);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "greeting");
  json_builder_add_string_value (builder, shout ? loud : greeting);
  json_builder_set_member_name (builder, "local");
  json_builder_add_boolean_value (builder, jstp_service_request_get_connection (request) == NULL);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static JsonNode *
everything_cb (JstpService         *service,
               JstpServiceRequest  *request,
               gpointer             user_data,
               GError             **error)
{
  (*(guint *) user_data)++;
  return json_node_init_string (json_node_alloc (), "everything");
}

static void
test_custom_service (void)
{
  JstpService *service = jstp_service_new ("greeter");
  g_autoptr(JstpTestHarness) h = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;
  guint everything = 0;
  guint hello;

  hello = jstp_service_add_handler (service, "GET", (const char *[]) { "hello", ":name", NULL },
                                    hello_cb, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hello, >, 0);
  /* Bad patterns are refused when added. */
  g_assert_cmpuint (jstp_service_add_handler (service, "GET",
                                              (const char *[]) { "...", "...", NULL },
                                              hello_cb, NULL, NULL, &error), ==, 0);
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_clear_error (&error);
  g_assert_cmpuint (jstp_service_add_handler (service, "FETCH", (const char *[]) { "x", NULL },
                                              hello_cb, NULL, NULL, &error), ==, 0);
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_METHOD_NOT_ALLOWED);
  g_clear_error (&error);

  h = jstp_test_harness_new (service, NULL);
  g_assert_true (jstp_service_get_engine (service) == jstp_test_harness_get_engine (h));
  assert_request (h, "GET", "[\"greeter\",\"hello\",\"ana\"]", NULL, 200,
                  "{\"greeting\":\"hello ana\",\"local\":false}");
  assert_request (h, "GET", "[\"greeter\",\"hello\",42]", "{\"shout\":true}", 200,
                  "{\"greeting\":\"HELLO 42\",\"local\":false}");
  assert_request (h, "GET", "[\"greeter\",\"hello\",\"ana\"]", "{\"shout\":1}", 400,
                  "{\"message\":\"argument \\\"shout\\\" must be true or false\"}");

  /* Added while mounted: bound at once. A pattern that also matches the
   * prefix alone leaves GET [PREFIX] to the status. */
  g_assert_cmpuint (jstp_service_add_handler (service, "GET", (const char *[]) { "...", NULL },
                                              everything_cb, &everything, NULL, &error), >, 0);
  g_assert_no_error (error);
  assert_request (h, "GET", "[\"greeter\",\"other\"]", NULL, 200, "\"everything\"");
  g_assert_cmpuint (everything, ==, 1);
  {
    guint code = 0;

    g_assert_true (jstp_test_harness_request (h, "GET", "[\"greeter\"]", NULL, &code, &status));
    g_assert_cmpuint (code, ==, 200);
    g_assert_cmpuint (everything, ==, 1);
    g_assert_true (g_str_has_prefix (status, "{\"name\":\"greeter\",\"prefix\":[\"greeter\"],"
                                     "\"handlers\":[{\"method\":\"GET\",\"resource\":"
                                     "[\"greeter\",\"hello\",\":name\"]}"));
  }

  g_assert_true (jstp_service_remove_handler (service, hello));
  g_assert_false (jstp_service_remove_handler (service, hello));
  assert_request (h, "GET", "[\"greeter\",\"hello\",\"ana\"]", NULL, 200, "\"everything\"");
}

static void
local_answer_cb (JstpEngine   *engine,
                 JstpDispatch *answer,
                 gpointer      data)
{
  char **body = data;

  if (*body == NULL)
    *body = g_strdup (jstp_dispatch_get_body_json (answer));
}

/* Services work for local emitters too, without a network. */
static void
test_local_emitter (void)
{
  g_autoptr(JstpEngine) engine = jstp_engine_new ("local");
  g_autoptr(JstpService) service = jstp_service_new ("greeter");
  g_autoptr(JstpDispatch) dispatch =
    jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "greeter", "hello", "me", NULL });
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;

  jstp_service_add_handler (service, "GET", (const char *[]) { "hello", ":name", NULL },
                            hello_cb, NULL, NULL, &error);
  g_assert_true (jstp_service_mount (service, engine, NULL, &error));
  g_assert_no_error (error);
  jstp_engine_emit (engine, dispatch, local_answer_cb, &body, NULL);
  g_assert_cmpstr (body, ==, "{\"greeting\":\"hello me\",\"local\":true}");
}

static void
test_mount (void)
{
  g_autoptr(JstpTestHarness) h = jstp_test_harness_new (jstp_rpc_service_new (), math);
  JstpEngine *engine = jstp_test_harness_get_engine (h);
  g_autoptr(JstpService) pubsub = jstp_pubsub_service_new ();
  g_autoptr(JstpService) second = jstp_rpc_service_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  guint status = 0;

  g_assert_cmpstr (jstp_service_get_name (second), ==, "rpc");
  g_assert_cmpstr (jstp_service_get_log_domain (second), ==, "Jstp-rpc");

  /* One service per prefix. */
  g_assert_false (jstp_service_mount (second, engine, math, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_null (jstp_service_get_engine (second));

  /* Prefixes are plain names. */
  g_assert_false (jstp_service_mount (second, engine, (const char *[]) { "a", "*", NULL }, &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_clear_error (&error);
  g_assert_false (jstp_service_mount (second, engine, (const char *[]) { NULL }, &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_clear_error (&error);

  g_assert_true (jstp_service_mount (second, engine, (const char *[]) { "v2", "math", NULL },
                                     &error));
  g_assert_no_error (error);
  g_assert_true (jstp_service_mount (pubsub, engine, NULL, &error));
  assert_request (h, "GET", "[\"v2\",\"math\",\"add\"]", "{\"a\":2,\"b\":2}", 200,
                  "{\"result\":4}");

  /* The engine lists what it hosts, in the order they were mounted. */
  g_assert_true (jstp_test_harness_request (h, "GET", "[\"jstp\",\"services\"]", NULL, &status,
                                            &body));
  g_assert_cmpuint (status, ==, 200);
  {
    g_autoptr(JsonNode) root = parse (body);
    JsonArray *services = json_object_get_array_member (json_node_get_object (root), "services");

    g_assert_cmpuint (json_array_get_length (services), ==, 3);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (services, 1),
                                                    "name"), ==, "rpc");
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (services, 2),
                                                    "name"), ==, "pubsub");
  }

  jstp_service_unmount (second);
  jstp_service_unmount (pubsub);
  jstp_service_unmount (jstp_test_harness_get_service (h));
  assert_request (h, "GET", "[\"jstp\",\"services\"]", NULL, 404, NULL);
  assert_request (h, "GET", "[\"math\"]", NULL, 404, NULL);
}

/* ---- registry ---------------------------------------------------------- */

static void
test_registry (void)
{
  g_auto(GStrv) names = jstp_service_registry_list ();
  g_autoptr(JstpService) pubsub = NULL;
  g_autoptr(JstpService) custom = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) prefix = NULL;
  guint history = 0, max_channels = 0;

  g_assert_cmpstrv (names, ((const char *[]) { "presence", "pubsub", "rpc", NULL }));
  g_assert_nonnull (jstp_service_registry_get_summary ("pubsub"));
  g_assert_null (jstp_service_registry_get_summary ("nope"));

  pubsub = jstp_service_new_by_name ("pubsub:history=5,max-channels=7,prefix=chat/rooms", &error);
  g_assert_no_error (error);
  g_assert_true (JSTP_IS_PUBSUB_SERVICE (pubsub));
  g_object_get (pubsub, "history", &history, "max-channels", &max_channels, "prefix", &prefix,
                NULL);
  g_assert_cmpuint (history, ==, 5);
  g_assert_cmpuint (max_channels, ==, 7);
  g_assert_cmpstrv (prefix, ((const char *[]) { "chat", "rooms", NULL }));

  g_assert_null (jstp_service_new_by_name ("nope", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (jstp_service_new_by_name ("pubsub:colour=red", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (jstp_service_new_by_name ("pubsub:history=many", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (jstp_service_new_by_name ("pubsub:history=1000001", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (jstp_service_new_by_name ("pubsub:history", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (jstp_service_new_by_name ("pubsub:name=other", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Programs add their own; the service is named after its entry. */
  jstp_service_registry_register ("chat", JSTP_TYPE_PUBSUB_SERVICE, "rooms");
  custom = jstp_service_new_by_name ("chat", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (jstp_service_get_name (custom), ==, "chat");
  g_assert_cmpstr (jstp_service_get_prefix (custom)[0], ==, "chat");
}

/* ---- pubsub ------------------------------------------------------------ */

static void
test_pubsub_channels (void)
{
  g_autoptr(JstpTestHarness) h = jstp_test_harness_new (jstp_pubsub_service_new (), NULL);
  JstpTestClient *publisher = jstp_test_harness_get_client (h);
  JstpTestClient *follower = jstp_test_harness_add_client (h, "ws");
  JstpTestClient *elsewhere = jstp_test_harness_add_client (h, "tcp");

  g_assert_true (jstp_test_client_bind (follower, "POST", "[\"pubsub\",\"room\"]"));
  g_assert_true (jstp_test_client_bind (elsewhere, "POST", "[\"pubsub\",\"hall\"]"));

  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"n\":%u}", i);
      g_autofree char *expected = g_strdup_printf ("{\"channel\":\"room\",\"seq\":%u}", i);
      guint status = 0;
      g_autofree char *answer = NULL;

      g_assert_true (jstp_test_client_request (publisher, "POST", "[\"pubsub\",\"room\"]", body,
                                               &status, &answer));
      g_assert_cmpuint (status, ==, 200);
      g_assert_cmpstr (answer, ==, expected);
    }
  /* Subscribers get the posts themselves, in order; other channels none. */
  g_assert_true (jstp_test_client_wait_received (follower, 3));
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *expected = g_strdup_printf ("{\"n\":%u}", i + 1);
      JstpDispatch *received = jstp_test_client_get_received (follower, i);

      g_assert_cmpstr (jstp_dispatch_get_resource_json (received), ==, "[\"pubsub\",\"room\"]");
      g_assert_cmpstr (jstp_dispatch_get_body_json (received), ==, expected);
    }
  jstp_test_client_send (publisher, "POST", "[\"pubsub\",\"hall\"]", "\"no transaction\"");
  g_assert_true (jstp_test_client_wait_received (elsewhere, 1));
  g_assert_cmpuint (jstp_test_client_get_n_received (follower), ==, 3);

  /* The last messages, on request. */
  {
    guint status = 0;
    g_autofree char *body = NULL;
    g_autoptr(JsonNode) root = NULL;
    JsonArray *messages;

    g_assert_true (jstp_test_harness_request (h, "GET", "[\"pubsub\",\"room\"]", NULL, &status,
                                              &body));
    g_assert_cmpuint (status, ==, 200);
    root = parse (body);
    messages = json_object_get_array_member (json_node_get_object (root), "messages");
    g_assert_cmpuint (json_array_get_length (messages), ==, 3);
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (messages, 0),
                                                 "seq"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (messages, 0),
                                                 "timestamp"), >, 1700000000000);
  }
  assert_request (h, "GET", "[\"pubsub\",\"room\"]", "{\"last\":1}", 200, NULL);
  {
    guint status = 0;
    g_autofree char *body = NULL;

    g_assert_true (jstp_test_harness_request (h, "GET", "[\"pubsub\",\"room\"]", "{\"last\":1}",
                                              &status, &body));
    g_assert_nonnull (strstr (body, "\"messages\":[{\"seq\":3,"));
    g_assert_true (g_str_has_suffix (body, "\"body\":{\"n\":3}}]}"));
  }
  assert_request (h, "GET", "[\"pubsub\",\"room\"]", "{\"last\":-1}", 400, NULL);
  assert_request (h, "GET", "[\"pubsub\",\"empty\"]", NULL, 200,
                  "{\"channel\":\"empty\",\"messages\":[]}");
  assert_request (h, "DELETE", "[\"pubsub\",\"room\"]", NULL, 200,
                  "{\"channel\":\"room\",\"dropped\":3}");
  assert_request (h, "GET", "[\"pubsub\",\"room\"]", NULL, 200,
                  "{\"channel\":\"room\",\"messages\":[]}");
}

static void
test_pubsub_history_limits (void)
{
  g_autoptr(GError) error = NULL;
  JstpService *service = jstp_service_new_by_name ("pubsub:history=2,max-channels=2", &error);
  g_autoptr(JstpTestHarness) h = NULL;
  g_autofree char *status = NULL;

  g_assert_no_error (error);
  h = jstp_test_harness_new (service, (const char *[]) { "chat", NULL });
  for (guint i = 1; i <= 4; i++)
    {
      g_autofree char *body = g_strdup_printf ("%u", i);

      assert_request (h, "POST", "[\"chat\",\"a\"]", body, 200, NULL);
    }
  /* Only the last two are kept. */
  assert_request (h, "GET", "[\"chat\",\"a\"]", NULL, 200, NULL);
  {
    guint code = 0;
    g_autofree char *body = NULL;

    g_assert_true (jstp_test_harness_request (h, "GET", "[\"chat\",\"a\"]", NULL, &code, &body));
    g_assert_nonnull (strstr (body, "{\"seq\":3,"));
    g_assert_null (strstr (body, "{\"seq\":2,"));
    g_assert_true (g_str_has_suffix (body, "\"body\":4}]}"));
  }
  assert_request (h, "POST", "[\"chat\",\"b\"]", "1", 200, NULL);
  assert_request (h, "POST", "[\"chat\",\"c\"]", "1", 429, NULL);

  /* Shrinking the history trims what is kept at once. */
  jstp_pubsub_service_set_history (JSTP_PUBSUB_SERVICE (service), 0);
  assert_request (h, "GET", "[\"chat\",\"a\"]", NULL, 200, "{\"channel\":\"a\",\"messages\":[]}");
  status = jstp_service_dup_status_json (service);
  g_assert_nonnull (strstr (status, "\"status\":{\"channels\":2,\"posts\":5,\"kept\":0,"));
}

/* ---- presence ---------------------------------------------------------- */

static const char *
member_name (JstpDispatch *event)
{
  g_autoptr(JsonNode) body = jstp_dispatch_dup_body (event);
  JsonObject *member = json_object_get_object_member (json_node_get_object (body), "member");

  return g_intern_string (json_object_get_string_member (member, "name"));
}

static const char *
leave_reason (JstpDispatch *event)
{
  g_autoptr(JsonNode) body = jstp_dispatch_dup_body (event);

  return g_intern_string (json_object_get_string_member (json_node_get_object (body), "reason"));
}

static void
test_presence (void)
{
  g_autoptr(JstpTestHarness) h = jstp_test_harness_new (jstp_presence_service_new (), NULL);
  JstpPresenceService *presence = JSTP_PRESENCE_SERVICE (jstp_test_harness_get_service (h));
  JstpTestClient *watcher = jstp_test_harness_get_client (h);
  JstpTestClient *bob = jstp_test_harness_add_client (h, "ws");
  JstpTestClient *eve = jstp_test_harness_add_client (h, "tcp");
  guint status = 0;
  g_autofree char *body = NULL;

  g_assert_true (jstp_test_client_bind (watcher, "POST", "[\"presence\",\"room\",\"*\"]"));

  g_assert_true (jstp_test_client_request (bob, "PUT", "[\"presence\",\"room\"]",
                                           "{\"name\":\"bob\",\"data\":{\"colour\":\"teal\"}}",
                                           &status, &body));
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (g_str_has_prefix (body, "{\"channel\":\"room\",\"members\":[{\"name\":\"bob\","));
  g_assert_true (g_str_has_suffix (body, "\"data\":{\"colour\":\"teal\"}}]}"));
  g_assert_true (jstp_test_client_wait_received (watcher, 1));
  g_assert_cmpstr (jstp_dispatch_get_resource_json (jstp_test_client_get_received (watcher, 0)),
                   ==, "[\"presence\",\"room\",\"join\"]");
  g_assert_cmpstr (member_name (jstp_test_client_get_received (watcher, 0)), ==, "bob");

  /* A name is held by one connection; events are the service's alone. */
  g_assert_true (jstp_test_client_request (eve, "PUT", "[\"presence\",\"room\"]",
                                           "{\"name\":\"bob\"}", &status, NULL));
  g_assert_cmpuint (status, ==, 403);
  g_assert_true (jstp_test_client_request (eve, "POST", "[\"presence\",\"room\",\"leave\"]",
                                           "{\"member\":{\"name\":\"bob\"}}", &status, NULL));
  g_assert_cmpuint (status, ==, 403);
  g_assert_true (jstp_test_client_request (eve, "DELETE", "[\"presence\",\"room\"]",
                                           "{\"name\":\"bob\"}", &status, NULL));
  g_assert_cmpuint (status, ==, 403);
  g_assert_true (jstp_test_client_request (eve, "DELETE", "[\"presence\",\"room\"]", NULL,
                                           &status, NULL));
  g_assert_cmpuint (status, ==, 404);
  g_assert_true (jstp_test_client_request (eve, "PUT", "[\"presence\",\"room\"]",
                                           "{\"name\":\"\"}", &status, NULL));
  g_assert_cmpuint (status, ==, 400);

  /* Eve joins, then leaves on purpose. */
  g_assert_true (jstp_test_client_request (eve, "PUT", "[\"presence\",\"room\"]",
                                           "{\"name\":\"eve\"}", &status, NULL));
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (jstp_presence_service_count_members (presence, "room"), ==, 2);
  g_clear_pointer (&body, g_free);
  g_assert_true (jstp_test_harness_request (h, "GET", "[\"presence\",\"room\"]", NULL, &status,
                                            &body));
  g_assert_nonnull (strstr (body, "{\"name\":\"bob\","));
  g_assert_true (strstr (body, "{\"name\":\"bob\",") < strstr (body, "{\"name\":\"eve\","));
  g_clear_pointer (&body, g_free);
  g_assert_true (jstp_test_client_request (eve, "DELETE", "[\"presence\",\"room\"]", NULL,
                                           &status, &body));
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (body, ==, "{\"channel\":\"room\",\"left\":[\"eve\"]}");
  g_assert_true (jstp_test_client_wait_received (watcher, 3));
  g_assert_cmpstr (jstp_dispatch_get_resource_json (jstp_test_client_get_received (watcher, 2)),
                   ==, "[\"presence\",\"room\",\"leave\"]");
  g_assert_cmpstr (member_name (jstp_test_client_get_received (watcher, 2)), ==, "eve");
  g_assert_cmpstr (leave_reason (jstp_test_client_get_received (watcher, 2)), ==, "left");

  /* Bob's connection closes: he leaves by himself. */
  jstp_test_client_disconnect (bob);
  g_assert_true (jstp_test_client_wait_received (watcher, 4));
  g_assert_cmpstr (member_name (jstp_test_client_get_received (watcher, 3)), ==, "bob");
  g_assert_cmpstr (leave_reason (jstp_test_client_get_received (watcher, 3)), ==, "closed");
  g_assert_cmpuint (jstp_presence_service_count_members (presence, "room"), ==, 0);
  assert_request (h, "GET", "[\"presence\",\"room\"]", NULL, 200,
                  "{\"channel\":\"room\",\"members\":[]}");
  g_clear_pointer (&body, g_free);
  body = jstp_service_dup_status_json (JSTP_SERVICE (presence));
  g_assert_true (g_str_has_suffix (body, "\"status\":{\"channels\":0,\"members\":0,\"joins\":2,"
                                         "\"leaves\":2}}"));
}

static void
test_presence_limit (void)
{
  g_autoptr(GError) error = NULL;
  JstpService *service = jstp_service_new_by_name ("presence:max-members=1", &error);
  g_autoptr(JstpTestHarness) h = NULL;

  g_assert_no_error (error);
  h = jstp_test_harness_new (service, NULL);
  assert_request (h, "PUT", "[\"presence\",\"a\"]", "{\"name\":\"one\"}", 200, NULL);
  /* Joining again updates, and is no second member. */
  assert_request (h, "PUT", "[\"presence\",\"a\"]", "{\"name\":\"one\",\"data\":2}", 200,
                  NULL);
  assert_request (h, "PUT", "[\"presence\",\"b\"]", "{\"name\":\"two\"}", 429, NULL);
}

/* ---- logging ----------------------------------------------------------- */

static void
test_log_levels (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (jstp_log_parse_levels ("engine, pubsub=info", &error));
  g_assert_no_error (error);
  g_assert_true (jstp_log_is_enabled ("Jstp", G_LOG_LEVEL_DEBUG));
  g_assert_true (jstp_log_is_enabled ("Jstp-pubsub", G_LOG_LEVEL_INFO));
  g_assert_false (jstp_log_is_enabled ("Jstp-pubsub", G_LOG_LEVEL_DEBUG));
  g_assert_true (jstp_log_is_enabled ("Jstp-pubsub", G_LOG_LEVEL_WARNING));
  g_assert_true (jstp_log_is_enabled ("PUBSUB", G_LOG_LEVEL_INFO));

  /* A bad entry changes nothing. */
  g_assert_false (jstp_log_parse_levels ("presence=debug,pubsub=loud", &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_false (jstp_log_is_enabled ("Jstp-presence", G_LOG_LEVEL_DEBUG));
  g_assert_false (jstp_log_parse_levels ("=debug", &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_clear_error (&error);

  /* Even "error" lets warnings through. */
  jstp_log_set_level ("engine", G_LOG_LEVEL_ERROR);
  g_assert_true (jstp_log_is_enabled ("Jstp", G_LOG_LEVEL_WARNING));
  g_assert_false (jstp_log_is_enabled ("Jstp", G_LOG_LEVEL_MESSAGE));

  jstp_log_set_level ("engine", 0);
  jstp_log_set_level ("pubsub", 0);
}

static void
test_log_writer (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JstpService) pubsub = jstp_pubsub_service_new ();
      g_autoptr(JstpService) rpc = jstp_rpc_service_new ();

      g_setenv ("JSTP_DEBUG", "pubsub", TRUE);
      g_unsetenv ("G_MESSAGES_DEBUG");
      g_assert_true (jstp_log_init ());
      jstp_service_log (pubsub, G_LOG_LEVEL_DEBUG, "pubsub says %d", 1);
      jstp_service_log (rpc, G_LOG_LEVEL_DEBUG, "rpc whispers");
      jstp_service_log (rpc, G_LOG_LEVEL_MESSAGE, "rpc says %s", "hi");
      return;
    }
  g_test_trap_subprocess (NULL, 5 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  /* GLib writes debug messages to stdout, unless a program says stderr. */
  g_test_trap_assert_stdout ("*Jstp-pubsub-DEBUG*pubsub says 1*");
  g_test_trap_assert_stdout_unmatched ("*rpc whispers*");
  g_test_trap_assert_stderr_unmatched ("*rpc whispers*");
  g_test_trap_assert_stderr ("*rpc says hi*");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/services/rpc/add", test_rpc_add);
  g_test_add_func ("/services/rpc/argument-errors", test_rpc_argument_errors);
  g_test_add_func ("/services/rpc/failure", test_rpc_failure);
  g_test_add_func ("/services/rpc/deferred", test_rpc_deferred);
  g_test_add_func ("/services/custom", test_custom_service);
  g_test_add_func ("/services/local-emitter", test_local_emitter);
  g_test_add_func ("/services/mount", test_mount);
  g_test_add_func ("/services/registry", test_registry);
  g_test_add_func ("/services/pubsub/channels", test_pubsub_channels);
  g_test_add_func ("/services/pubsub/history-limits", test_pubsub_history_limits);
  g_test_add_func ("/services/presence/join-leave", test_presence);
  g_test_add_func ("/services/presence/limit", test_presence_limit);
  g_test_add_func ("/services/log/levels", test_log_levels);
  g_test_add_func ("/services/log/writer", test_log_writer);

  return g_test_run ();
}
