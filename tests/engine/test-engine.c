/* SPDX-License-Identifier: MIT */
/* test-engine.c: the dispatch cycle and transactions (spec sections 5 and 6),
 * with local emitters and in-process channels. */
#include <string.h>

#include "jstp-engine.h"
#include "test-connection.h"

#define PROTO "\"protocol\":[\"JSTP\",\"0.5\"]"
#define TS "\"timestamp\":1700000000000"

typedef struct {
  JstpEngine *engine;
  GPtrArray *answers;      /* JstpDispatch */
  GPtrArray *received;     /* JstpDispatch, what bind callbacks saw */
  GPtrArray *captured;     /* char*, the ":name" captures seen */
  guint destroyed;
  gboolean answer_at_once;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->engine = jstp_engine_new ("test");
  f->answers = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  f->received = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  f->captured = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_assert_finalize_object (f->engine);
  g_ptr_array_unref (f->answers);
  g_ptr_array_unref (f->received);
  g_ptr_array_unref (f->captured);
}

static void
on_answer (JstpEngine   *engine,
           JstpDispatch *answer,
           gpointer      user_data)
{
  Fixture *f = user_data;

  g_assert_cmpint (jstp_dispatch_get_method (answer), ==, JSTP_METHOD_ANSWER);
  g_ptr_array_add (f->answers, jstp_dispatch_ref (answer));
}

static void
on_destroy (gpointer user_data)
{
  Fixture *f = user_data;

  f->destroyed++;
}

static void
on_dispatch (JstpEngine         *engine,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures,
             gpointer            user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->received, jstp_dispatch_ref (dispatch));
  for (guint i = 0; i < captures->n_captures; i++)
    g_ptr_array_add (f->captured,
                     g_strdup_printf ("%s=%.*s", captures->items[i].name,
                                      (int) captures->items[i].value.length,
                                      captures->items[i].value.text));
  if (f->answer_at_once)
    jstp_engine_answer (engine, dispatch, 200, "{\"ok\":true}");
}

static guint64
bind (Fixture    *f,
      const char *method,
      const char *const *resource)
{
  g_autoptr(GError) error = NULL;
  guint64 id = jstp_engine_bind (f->engine, method, resource, on_dispatch, f, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (id, >, 0);
  return id;
}

/* The status of the last answer written to @conn. */
static guint
last_status (TestConnection *conn)
{
  g_autoptr(JstpDispatch) last = test_connection_parse_last (conn);

  g_assert_nonnull (last);
  return jstp_dispatch_get_status (last);
}

static void
spin_until (gboolean *done,
            guint     timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (!*done && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
set_true (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_true, &done);
  spin_until (&done, ms + 1000);
}

/* A local request reaches two subscribers, each with its own triggering id;
 * both answers reach the emitter, then the transaction ends. */
static void
test_request_answer (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET,
                                                 (const char *[]) { "user", "42", NULL });

  f->answer_at_once = TRUE;
  bind (f, "GET", (const char *[]) { "user", ":id", NULL });
  bind (f, "GET", (const char *[]) { "...", NULL });

  jstp_engine_emit (f->engine, d, on_answer, f, on_destroy);

  g_assert_cmpuint (f->received->len, ==, 2);
  g_assert_cmpuint (f->answers->len, ==, 2);
  g_assert_cmpuint (f->destroyed, ==, 1);
  g_assert_cmpuint (f->captured->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->captured, 0), ==, "id=42");

  {
    JstpDispatch *a = g_ptr_array_index (f->received, 0);
    JstpDispatch *b = g_ptr_array_index (f->received, 1);
    JstpDispatch *answer = g_ptr_array_index (f->answers, 0);
    guint n;

    g_assert_nonnull (jstp_dispatch_get_transaction_id (a));
    g_assert_cmpstr (jstp_dispatch_get_transaction_id (a), ==, jstp_dispatch_get_transaction_id (b));
    g_assert_cmpstr (jstp_dispatch_get_triggering_id (a), !=, jstp_dispatch_get_triggering_id (b));
    g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, 200);
    g_assert_cmpstr (jstp_dispatch_get_body_json (answer), ==, "{\"ok\":true}");
    jstp_dispatch_get_resource (answer, &n);
    g_assert_cmpuint (n, ==, 3);
  }

  {
    JstpEngineCounters counters;
    jstp_engine_get_counters (f->engine, &counters);
    g_assert_cmpuint (counters.transactions, ==, 0);
  }
}

static void
test_not_found (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_DELETE,
                                                 (const char *[]) { "nothing", NULL });
  JstpDispatch *answer;
  guint n;
  const JstpElement *res;

  jstp_engine_emit (f->engine, d, on_answer, f, on_destroy);

  g_assert_cmpuint (f->answers->len, ==, 1);
  answer = g_ptr_array_index (f->answers, 0);
  g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, 404);
  /* The engine's own answers carry a triggering id, never null. */
  res = jstp_dispatch_get_resource (answer, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (res[2].type, ==, JSTP_JSON_STRING);
  g_assert_cmpuint (res[2].length, ==, 36);
  g_assert_cmpuint (f->destroyed, ==, 1);
}

static void
test_fire_and_forget (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                 (const char *[]) { "chat", NULL });

  bind (f, "POST", (const char *[]) { "chat", NULL });
  jstp_engine_emit (f->engine, d, NULL, NULL, NULL);
  g_assert_cmpuint (f->received->len, ==, 1);
  g_assert_null (jstp_dispatch_get_transaction_id (g_ptr_array_index (f->received, 0)));

  /* A transaction id a local emitter set itself is replaced. */
  jstp_dispatch_set_token (d, "mine", NULL);
  jstp_engine_emit (f->engine, d, on_answer, f, NULL);
  g_assert_cmpstr (jstp_dispatch_get_transaction_id (g_ptr_array_index (f->received, 1)), !=, "mine");
}

static void
test_timeout (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "slow", NULL });
  JstpDispatch *request;

  jstp_engine_set_answer_timeout (f->engine, 50);
  bind (f, "GET", (const char *[]) { "slow", NULL });
  bind (f, "GET", (const char *[]) { "*", NULL });
  jstp_engine_emit (f->engine, d, on_answer, f, on_destroy);
  g_assert_cmpuint (f->received->len, ==, 2);

  /* One answers in time, the other never does. */
  request = g_ptr_array_index (f->received, 0);
  jstp_engine_answer (f->engine, request, 200, NULL);
  g_assert_cmpuint (f->answers->len, ==, 1);
  g_assert_cmpuint (f->destroyed, ==, 0);

  spin (150);
  g_assert_cmpuint (f->answers->len, ==, 2);
  g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (f->answers, 1)), ==, 504);
  g_assert_cmpuint (f->destroyed, ==, 1);

  /* D7: a late answer is dropped; exactly one 504 was delivered. */
  jstp_engine_answer (f->engine, g_ptr_array_index (f->received, 1), 200, NULL);
  g_assert_cmpuint (f->answers->len, ==, 2);
}

static void
test_subscription_observers (Fixture       *f,
                             gconstpointer  data)
{
  guint64 id;

  bind (f, "BIND", (const char *[]) { "chat", "..." , NULL });
  bind (f, "RELEASE", (const char *[]) { "chat", "...", NULL });
  g_ptr_array_set_size (f->received, 0);

  id = jstp_engine_bind (f->engine, "POST", (const char *[]) { "chat", ":room", NULL },
                         on_dispatch, f, NULL, NULL);
  g_assert_cmpuint (f->received->len, ==, 1);
  g_assert_cmpint (jstp_dispatch_get_method (g_ptr_array_index (f->received, 0)), ==,
                   JSTP_METHOD_BIND);
  g_assert_null (jstp_dispatch_get_triggering_id (g_ptr_array_index (f->received, 0)));

  g_assert_true (jstp_engine_release (f->engine, id));
  g_assert_cmpuint (f->received->len, ==, 2);
  g_assert_cmpint (jstp_dispatch_get_method (g_ptr_array_index (f->received, 1)), ==,
                   JSTP_METHOD_RELEASE);
  g_assert_false (jstp_engine_release (f->engine, id));
}

static void
test_bad_pattern (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (jstp_engine_bind (f->engine, "GET", (const char *[]) { "...", "...", NULL },
                                      on_dispatch, f, NULL, &error), ==, 0);
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_clear_error (&error);
  g_assert_cmpuint (jstp_engine_bind (f->engine, "FETCH", (const char *[]) { "a", NULL },
                                      on_dispatch, f, NULL, &error), ==, 0);
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_METHOD_NOT_ALLOWED);
}

/* A channel: a BIND received on a connection subscribes it; it receives
 * matching dispatches with a triggering id and its answers travel back. */
static void
test_channel (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();
  g_autoptr(TestConnection) other = test_connection_new ();
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                 (const char *[]) { "chat", "main", NULL });
  g_autoptr(JstpDispatch) ack = NULL;
  g_autoptr(JstpDispatch) event = NULL;
  g_autofree char *answer = NULL;
  GPtrArray *sent = test_connection_get_sent (conn);

  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));
  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (other));

  test_connection_receive (conn, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"POST\","
                                 "\"resource\":[\"chat\",\"*\"]}," TS ",\"token\":[\"b1\"]}");
  g_assert_cmpuint (sent->len, ==, 1);
  ack = test_connection_parse_last (conn);
  g_assert_cmpuint (jstp_dispatch_get_status (ack), ==, 200);

  /* Binding the same endpoint twice keeps one subscription. */
  test_connection_receive (conn, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"POST\","
                                 "\"resource\":[\"chat\",\"*\"]}," TS "}");
  {
    JstpEngineCounters c;
    jstp_engine_get_counters (f->engine, &c);
    g_assert_cmpuint (c.subscriptions, ==, 2);  /* the channel's + GET [jstp, info] */
  }

  jstp_engine_emit (f->engine, d, on_answer, f, on_destroy);
  g_assert_cmpuint (sent->len, ==, 2);
  event = test_connection_parse_last (conn);
  g_assert_cmpint (jstp_dispatch_get_method (event), ==, JSTP_METHOD_POST);
  g_assert_nonnull (jstp_dispatch_get_triggering_id (event));

  /* D6: the right ids from the wrong connection are dropped. */
  answer = g_strdup_printf ("{" PROTO ",\"method\":\"ANSWER\",\"resource\":[201,\"%s\",\"%s\"]," TS "}",
                            jstp_dispatch_get_transaction_id (event),
                            jstp_dispatch_get_triggering_id (event));
  test_connection_receive (other, answer);
  g_assert_cmpuint (f->answers->len, ==, 0);

  test_connection_receive (conn, answer);
  g_assert_cmpuint (f->answers->len, ==, 1);
  g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (f->answers, 0)), ==, 201);
  g_assert_cmpuint (f->destroyed, ==, 1);

  /* The engine never answers an answer (D3, D10). */
  g_assert_cmpuint (test_connection_get_sent (other)->len, ==, 0);
  test_connection_receive (other, answer);
  test_connection_receive (other, "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[200,\"zz\",\"yy\"]," TS "}");
  test_connection_receive (other, "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[\"x\"]," TS ",\"token\":[\"q\"]}");
  g_assert_cmpuint (test_connection_get_sent (other)->len, ==, 0);

  /* RELEASE of something not bound: 406; then a real RELEASE: 200. */
  test_connection_receive (conn, "{" PROTO ",\"method\":\"RELEASE\",\"endpoint\":{\"method\":\"GET\","
                                 "\"resource\":[\"chat\",\"*\"]}," TS ",\"token\":[\"r1\"]}");
  {
    g_autoptr(JstpDispatch) r = test_connection_parse_last (conn);
    g_assert_cmpuint (jstp_dispatch_get_status (r), ==, 406);
  }
  test_connection_receive (conn, "{" PROTO ",\"method\":\"RELEASE\",\"endpoint\":{\"method\":\"post\","
                                 "\"resource\":[\"chat\",\"*\"]}," TS ",\"token\":[\"r2\"]}");
  {
    g_autoptr(JstpDispatch) r = test_connection_parse_last (conn);
    g_assert_cmpuint (jstp_dispatch_get_status (r), ==, 200);
  }

  jstp_connection_close (JSTP_CONNECTION (conn));
  jstp_connection_close (JSTP_CONNECTION (other));
}

/* A request from the network is answered by a local subscriber, and the
 * answer travels back over the connection it came on. */
static void
test_remote_request (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(JstpDispatch) info = NULL;
  g_autoptr(JsonNode) body = NULL;
  GPtrArray *sent = test_connection_get_sent (conn);

  f->answer_at_once = TRUE;
  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));
  bind (f, "PUT", (const char *[]) { "doc", ":id", NULL });

  test_connection_receive (conn, "{" PROTO ",\"method\":\"PUT\",\"resource\":[\"doc\",7]," TS
                                 ",\"token\":[\"tx-remote\"],\"body\":{\"v\":1}}");
  g_assert_cmpuint (sent->len, ==, 1);
  answer = test_connection_parse_last (conn);
  g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, 200);
  g_assert_cmpstr (g_ptr_array_index (f->captured, 0), ==, "id=7");
  /* The transaction id that arrived over the network is kept. */
  g_assert_cmpstr (jstp_dispatch_get_transaction_id (g_ptr_array_index (f->received, 0)), ==,
                   "tx-remote");

  /* Nothing bound: 404 back. */
  test_connection_receive (conn, "{" PROTO ",\"method\":\"GET\",\"resource\":[\"none\"]," TS
                                 ",\"token\":[\"tx-2\"]}");
  g_assert_cmpuint (last_status (conn), ==, 404);

  /* The engine describes itself. */
  test_connection_receive (conn, "{" PROTO ",\"method\":\"GET\",\"resource\":[\"jstp\",\"info\"]," TS
                                 ",\"token\":[\"tx-3\"]}");
  info = test_connection_parse_last (conn);
  g_assert_cmpuint (jstp_dispatch_get_status (info), ==, 200);
  body = jstp_dispatch_dup_body (info);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (body), "name"), ==, "test");

  jstp_connection_close (JSTP_CONNECTION (conn));
}

/* The origin knows this engine by the triggering id it gave it: the answer
 * of a local subscriber goes back under that id, not a local one. */
static void
test_answer_keeps_origin_trigger (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();
  g_autoptr(JstpDispatch) answer = NULL;
  const JstpElement *res;
  guint n;

  f->answer_at_once = TRUE;
  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));
  bind (f, "POST", (const char *[]) { "feed", NULL });
  bind (f, "POST", (const char *[]) { "...", NULL });

  test_connection_receive (conn, "{" PROTO ",\"method\":\"POST\",\"resource\":[\"feed\"]," TS
                                 ",\"token\":[\"tx-9\",\"their-trigger\"]}");
  g_assert_cmpuint (f->received->len, ==, 2);
  /* Locally each subscriber has its own triggering id... */
  g_assert_cmpstr (jstp_dispatch_get_triggering_id (g_ptr_array_index (f->received, 0)), !=,
                   "their-trigger");
  /* ...but what goes back carries the origin's. */
  g_assert_cmpuint (test_connection_get_sent (conn)->len, ==, 2);
  answer = test_connection_parse_last (conn);
  res = jstp_dispatch_get_resource (answer, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpmem (res[1].text, res[1].length, "tx-9", 4);
  g_assert_cmpmem (res[2].text, res[2].length, "their-trigger", 13);
  jstp_connection_close (JSTP_CONNECTION (conn));
}

/* Observers of BIND hear of other emitters' changes only, once: two
 * engines that observe each other must not echo a BIND for ever. */
static void
test_bind_observers_no_echo (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(TestConnection) c = test_connection_new ();
  g_autoptr(TestConnection) d = test_connection_new ();
  const char *bind_any = "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"*\","
                         "\"resource\":[\"a\"]}," TS "}";

  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (c));
  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (d));

  /* C's subscription matches BIND ["a"] too, but C is not told of its own. */
  test_connection_receive (c, bind_any);
  g_assert_cmpuint (test_connection_get_sent (c)->len, ==, 0);
  test_connection_receive (c, bind_any);
  g_assert_cmpuint (test_connection_get_sent (c)->len, ==, 0);

  /* D binds the same: a `*` subscription is not an observer, so C hears
   * nothing; D hears nothing of itself. */
  test_connection_receive (d, bind_any);
  g_assert_cmpuint (test_connection_get_sent (c)->len, ==, 0);
  g_assert_cmpuint (test_connection_get_sent (d)->len, ==, 0);

  /* An observer names BIND: it hears of D's change once... */
  test_connection_receive (c, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"BIND\","
                                 "\"resource\":[\"...\"]}," TS "}");
  test_connection_receive (d, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"GET\","
                                 "\"resource\":[\"b\"]}," TS "}");
  g_assert_cmpuint (test_connection_get_sent (c)->len, ==, 1);
  /* ...and an unchanged BIND is no news. */
  test_connection_receive (d, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"GET\","
                                 "\"resource\":[\"b\"]}," TS "}");
  g_assert_cmpuint (test_connection_get_sent (c)->len, ==, 1);

  jstp_connection_close (JSTP_CONNECTION (c));
  jstp_connection_close (JSTP_CONNECTION (d));
}

static void
test_malformed_from_network (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();
  GPtrArray *sent = test_connection_get_sent (conn);
  JstpEngineCounters c;

  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));

  /* Unaddressable: dropped and counted, nothing written. */
  test_connection_receive (conn, "{\"protocol\":");
  test_connection_receive (conn, "not json");
  test_connection_receive (conn, "{" PROTO ",\"method\":\"GET\",\"resource\":[1]," TS ",\"token\":7}");
  g_assert_cmpuint (sent->len, ==, 0);

  /* Addressable: answered with the status and a message. */
  test_connection_receive (conn, "{" PROTO ",\"method\":\"TRACE\",\"resource\":[1]," TS ",\"token\":[\"t\"]}");
  g_assert_cmpuint (sent->len, ==, 1);
  {
    g_autoptr(JstpDispatch) a = test_connection_parse_last (conn);
    g_assert_cmpuint (jstp_dispatch_get_status (a), ==, 405);
    g_assert_nonnull (strstr (jstp_dispatch_get_body_json (a), "TRACE"));
  }
  test_connection_receive (conn, "{\"protocol\":[\"JSTP\",\"7.0\"],\"method\":\"GET\",\"resource\":[1]," TS
                                 ",\"token\":[\"t\"]}");
  {
    g_autoptr(JstpDispatch) a = test_connection_parse_last (conn);
    g_assert_cmpuint (jstp_dispatch_get_status (a), ==, 505);
  }

  /* A broken request that merely mentions ANSWER is still answered. */
  test_connection_receive (conn, "{\"protocol\":[\"JSTP\",\"7.0\"],\"method\":\"GET\",\"resource\":[1]," TS
                                 ",\"token\":[\"t\"],\"body\":\"ANSWER\"}");
  g_assert_cmpuint (last_status (conn), ==, 505);
  /* A broken answer, whatever the case of its method, never is. */
  {
    guint before = sent->len;

    test_connection_receive (conn, "{\"protocol\":[\"JSTP\",\"7.0\"],\"method\":\"Answer\","
                                   "\"resource\":[200,\"a\",\"b\"]," TS ",\"token\":[\"t\"]}");
    g_assert_cmpuint (sent->len, ==, before);
  }

  jstp_engine_get_counters (f->engine, &c);
  g_assert_cmpuint (c.malformed, ==, 7);
  g_assert_cmpuint (c.unaddressable, ==, 3);
  jstp_connection_close (JSTP_CONNECTION (conn));
}

/* A closed connection releases its subscriptions and fails the
 * transactions waiting on it with 502. */
static void
test_connection_closed (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "q", NULL });
  JstpEngineCounters c;

  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));
  bind (f, "RELEASE", (const char *[]) { "...", NULL });
  test_connection_receive (conn, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"GET\","
                                 "\"resource\":[\"q\"]}," TS "}");
  test_connection_receive (conn, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"PUT\","
                                 "\"resource\":[\"q\"]}," TS "}");
  jstp_engine_emit (f->engine, d, on_answer, f, on_destroy);
  g_assert_cmpuint (f->answers->len, ==, 0);

  test_connection_hang_up (conn);
  g_assert_cmpuint (f->answers->len, ==, 1);
  g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (f->answers, 0)), ==, 502);
  g_assert_cmpuint (f->destroyed, ==, 1);
  /* Two body-less RELEASEs, seen by the RELEASE observer. */
  g_assert_cmpuint (f->received->len, ==, 2);

  jstp_engine_get_counters (f->engine, &c);
  g_assert_cmpuint (c.connections, ==, 0);
  g_assert_cmpuint (c.subscriptions, ==, 2);  /* observer + info */
  g_assert_cmpuint (c.transactions, ==, 0);
}

static void
test_subscription_limit (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();

  jstp_engine_set_max_subscriptions_per_connection (f->engine, 3);
  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *bind_text =
        g_strdup_printf ("{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"GET\","
                         "\"resource\":[\"r%u\"]}," TS ",\"token\":[\"b%u\"]}", i, i);
      g_autoptr(JstpDispatch) a = NULL;

      test_connection_receive (conn, bind_text);
      a = test_connection_parse_last (conn);
      g_assert_cmpuint (jstp_dispatch_get_status (a), ==, i < 3 ? 200 : 429);
    }
  jstp_connection_close (JSTP_CONNECTION (conn));
}

static void
test_gateway_rules (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "x", NULL });
  g_autoptr(JstpDispatch) odd = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "x", NULL });

  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));

  /* E1: from the network, the gateway is off by default. */
  test_connection_receive (conn, "{" PROTO ",\"method\":\"GET\",\"resource\":[\"x\"]," TS
                                 ",\"token\":[\"g1\"],\"host\":[[\"127.0.0.1\",9,\"tcp\"]]}");
  g_assert_cmpuint (last_status (conn), ==, 506);

  /* Local emitters may forward; without a network the hop is unreachable. */
  jstp_dispatch_add_hop (d, "127.0.0.1", 9, "tcp");
  jstp_engine_emit (f->engine, d, on_answer, f, NULL);
  g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (f->answers, 0)), ==, 502);

  /* C11: an unknown transport label. */
  jstp_dispatch_add_hop (odd, "127.0.0.1", 9, "udp");
  jstp_engine_emit (f->engine, odd, on_answer, f, NULL);
  g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (f->answers, 1)), ==, 409);

  jstp_connection_close (JSTP_CONNECTION (conn));
}

static void
on_traffic (JstpEngine     *engine,
            JstpDispatch   *dispatch,
            JstpConnection *connection,
            gboolean        outgoing,
            gpointer        user_data)
{
  guint *counts = user_data;

  counts[outgoing ? 1 : 0]++;
}

static void
test_traffic_signal (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();
  guint counts[2] = { 0, 0 };

  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));
  g_signal_connect (f->engine, "traffic", G_CALLBACK (on_traffic), counts);
  test_connection_receive (conn, "{" PROTO ",\"method\":\"GET\",\"resource\":[\"none\"]," TS
                                 ",\"token\":[\"t\"]}");
  g_assert_cmpuint (counts[0], ==, 1);
  g_assert_cmpuint (counts[1], ==, 1);
  jstp_connection_close (JSTP_CONNECTION (conn));
}

/* On the wire, a dispatch without a transaction id carries an empty
 * token: the reference engine (npm jstp 1.1.5) drops any dispatch with no
 * token header, our ANSWERs included (spec section 9), and an empty one
 * reads as no token everywhere (section 2). */
static void
test_empty_token_on_the_wire (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TestConnection) conn = test_connection_new ();
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                 (const char *[]) { "news", NULL });
  g_autoptr(JstpDispatch) event = NULL;
  g_autoptr(JstpDispatch) answer = NULL;
  GPtrArray *sent = test_connection_get_sent (conn);

  f->answer_at_once = TRUE;
  bind (f, "GET", (const char *[]) { "echo", NULL });
  jstp_engine_add_connection (f->engine, JSTP_CONNECTION (conn));
  test_connection_receive (conn, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"POST\","
                                 "\"resource\":[\"news\"]}," TS ",\"token\":[]}");
  g_assert_cmpuint (sent->len, ==, 0);

  jstp_engine_emit (f->engine, d, NULL, NULL, NULL);
  g_assert_cmpuint (sent->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (sent, 0), ",\"token\":[]"));
  event = test_connection_parse_last (conn);
  g_assert_null (jstp_dispatch_get_transaction_id (event));

  test_connection_receive (conn, "{" PROTO ",\"method\":\"GET\",\"resource\":[\"echo\"]," TS
                                 ",\"token\":[\"t1\"]}");
  g_assert_cmpuint (sent->len, ==, 2);
  g_assert_nonnull (strstr (g_ptr_array_index (sent, 1), ",\"token\":[]"));
  answer = test_connection_parse_last (conn);
  g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, 200);
  g_assert_null (jstp_dispatch_get_transaction_id (answer));
  jstp_connection_close (JSTP_CONNECTION (conn));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/engine/request-answer", test_request_answer);
  ADD ("/engine/not-found", test_not_found);
  ADD ("/engine/fire-and-forget", test_fire_and_forget);
  ADD ("/engine/timeout", test_timeout);
  ADD ("/engine/subscription-observers", test_subscription_observers);
  ADD ("/engine/bad-pattern", test_bad_pattern);
  ADD ("/engine/channel", test_channel);
  ADD ("/engine/remote-request", test_remote_request);
  ADD ("/engine/answer-keeps-origin-trigger", test_answer_keeps_origin_trigger);
  ADD ("/engine/bind-observers-no-echo", test_bind_observers_no_echo);
  ADD ("/engine/malformed-from-network", test_malformed_from_network);
  ADD ("/engine/connection-closed", test_connection_closed);
  ADD ("/engine/subscription-limit", test_subscription_limit);
  ADD ("/engine/gateway-rules", test_gateway_rules);
  ADD ("/engine/traffic-signal", test_traffic_signal);
  ADD ("/engine/empty-token-on-the-wire", test_empty_token_on_the_wire);
#undef ADD

  return g_test_run ();
}
