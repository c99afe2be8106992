/* SPDX-License-Identifier: MIT */
/* test-network.c: engines talking over real loopback sockets, TCP and
 * WebSocket: transactions, channels, gateways, bridges and framing. */
#include <string.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "test-log.h"
#include "test-utils.h"

#define PROTO "\"protocol\":[\"JSTP\",\"0.5\"]"
#define TS "\"timestamp\":1700000000000"

typedef struct {
  JstpEngine *engine;
  JstpNetwork *network;
} Peer;

static Peer *
peer_new (const char *name)
{
  Peer *peer = g_new0 (Peer, 1);
  g_autoptr(GError) error = NULL;

  peer->engine = jstp_engine_new (name);
  peer->network = jstp_network_new (peer->engine);
  g_assert_true (jstp_network_listen (peer->network, "tcp", "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_true (jstp_network_listen (peer->network, "ws", "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  return peer;
}

static void
peer_free (Peer *peer)
{
  jstp_network_close (peer->network);
  g_object_unref (peer->network);
  g_object_unref (peer->engine);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

static void
on_echo (JstpEngine         *engine,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            data)
{
  const char *body = jstp_dispatch_get_body_json (dispatch);

  jstp_engine_answer (engine, dispatch, 200, body ? body : "null");
}

static guint
first_status (TestLog *log)
{
  g_assert_cmpuint (log->answers->len, >, 0);
  g_test_message ("first answer: %s",
                  jstp_dispatch_get_body_json (g_ptr_array_index (log->answers, 0)));
  return jstp_dispatch_get_status (g_ptr_array_index (log->answers, 0));
}

static void
test_request_answer (gconstpointer data)
{
  const char *label = data;
  /* Logs first: they are freed last, after the peers' connections close
   * and finish the transactions that point at them. */
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(Peer) a = peer_new ("a");
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET,
                                                 (const char *[]) { "echo", NULL });

  jstp_engine_bind (b->engine, "GET", (const char *[]) { "echo", NULL }, on_echo, NULL, NULL, NULL);
  jstp_dispatch_set_body_json (d, "{\"n\":\"\\u00e9\\n\"}", NULL);
  jstp_dispatch_add_hop (d, "127.0.0.1", jstp_network_get_port (b->network, label), label);
  jstp_engine_emit (a->engine, d, test_log_on_answer, log, test_log_on_destroy);

  g_assert_true (test_wait_until (test_log_has_answer, log, 5000));
  g_assert_cmpuint (first_status (log), ==, 200);
  g_assert_cmpstr (jstp_dispatch_get_body_json (g_ptr_array_index (log->answers, 0)), ==,
                   "{\"n\":\"\\u00e9\\n\"}");

  /* Nothing served: 404 comes back over the same way. */
  {
    g_autoptr(TestLog) log2 = test_log_new ();
    g_autoptr(JstpDispatch) e = jstp_dispatch_new (JSTP_METHOD_GET,
                                                   (const char *[]) { "nothing", NULL });

    jstp_dispatch_add_hop (e, "127.0.0.1", jstp_network_get_port (b->network, label), label);
    jstp_engine_emit (a->engine, e, test_log_on_answer, log2, NULL);
    g_assert_true (test_wait_until (test_log_has_answer, log2, 5000));
    g_assert_cmpuint (first_status (log2), ==, 404);
  }
}

/* A remote BIND subscribes our outbound connection: what the remote
 * processes arrives here and triggers our own subscribers. */
static void
test_remote_bind (gconstpointer data)
{
  const char *label = data;
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(TestLog) ack = test_log_new ();
  g_autoptr(Peer) a = peer_new ("a");
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(JstpPattern) pattern =
    jstp_pattern_new ("POST", (const char *[]) { "news", "..." }, 2, JSTP_MODE_STRICT, NULL);
  g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  g_autoptr(JstpDispatch) post = jstp_dispatch_new (JSTP_METHOD_POST,
                                                    (const char *[]) { "news", "today", NULL });
  JstpEngineCounters counters;

  jstp_engine_bind_pattern (a->engine, pattern, test_log_on_received, log, NULL);
  jstp_dispatch_add_hop (bind, "127.0.0.1", jstp_network_get_port (b->network, label), label);
  jstp_engine_emit (a->engine, bind, test_log_on_answer, ack, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, ack, 5000));
  g_assert_cmpuint (first_status (ack), ==, 200);

  jstp_dispatch_set_body_json (post, "[1,2,3]", NULL);
  jstp_engine_emit (b->engine, post, NULL, NULL, NULL);
  g_assert_true (test_wait_until (test_log_has_received, log, 5000));
  g_assert_cmpstr (jstp_dispatch_get_body_json (g_ptr_array_index (log->received, 0)), ==,
                   "[1,2,3]");

  /* The subscriber goes away mid-stream: B releases its channel and
   * keeps serving. */
  jstp_network_close (a->network);
  test_spin (200);
  jstp_engine_get_counters (b->engine, &counters);
  g_assert_cmpuint (counters.connections, ==, 0);
  jstp_engine_emit (b->engine, post, NULL, NULL, NULL);
  jstp_engine_get_counters (b->engine, &counters);
  g_assert_cmpuint (counters.dispatches_out, >=, 2);
}

static void
test_gateway_chain (void)
{
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(TestLog) refused = test_log_new ();
  g_autoptr(TestLog) forbidden = test_log_new ();
  g_autoptr(TestLog) loop = test_log_new ();
  g_autoptr(Peer) a = peer_new ("a");
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(Peer) c = peer_new ("c");
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "echo", NULL });
  g_autofree char *allowed = g_strdup_printf ("127.0.0.1:%u", jstp_network_get_port (c->network, "ws"));
  const char *allowlist[] = { allowed, NULL };

  jstp_engine_bind (c->engine, "GET", (const char *[]) { "echo", NULL }, on_echo, NULL, NULL, NULL);
  jstp_dispatch_set_body_json (d, "\"through two hops\"", NULL);
  jstp_dispatch_add_hop (d, "127.0.0.1", jstp_network_get_port (b->network, "tcp"), "tcp");
  jstp_dispatch_add_hop (d, "127.0.0.1", jstp_network_get_port (c->network, "ws"), "ws");

  /* E1: B's gateway is off for network peers by default. */
  {
    g_autoptr(JstpDispatch) copy = jstp_dispatch_copy (d);
    jstp_engine_emit (a->engine, copy, test_log_on_answer, refused, NULL);
    g_assert_true (test_wait_until (test_log_has_answer, refused, 5000));
    g_assert_cmpuint (first_status (refused), ==, 506);
  }

  g_object_set (b->engine, "gateway-remote", TRUE, NULL);

  /* Enabled, but C is not on the allowlist yet. */
  {
    g_autoptr(JstpDispatch) copy = jstp_dispatch_copy (d);
    jstp_engine_emit (a->engine, copy, test_log_on_answer, forbidden, NULL);
    g_assert_true (test_wait_until (test_log_has_answer, forbidden, 5000));
    g_assert_cmpuint (first_status (forbidden), ==, 403);
  }

  jstp_network_set_gateway_allowlist (b->network, allowlist);
  jstp_engine_emit (a->engine, d, test_log_on_answer, log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, log, 5000));
  g_assert_cmpuint (first_status (log), ==, 200);
  g_assert_cmpstr (jstp_dispatch_get_body_json (g_ptr_array_index (log->answers, 0)), ==,
                   "\"through two hops\"");

  /* E4: never to its own listeners. */
  {
    g_autoptr(JstpDispatch) e = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "x", NULL });
    jstp_dispatch_add_hop (e, "127.0.0.1", jstp_network_get_port (b->network, "tcp"), "tcp");
    jstp_dispatch_add_hop (e, "127.0.0.1", jstp_network_get_port (b->network, "tcp"), "tcp");
    jstp_engine_emit (a->engine, e, test_log_on_answer, loop, NULL);
    g_assert_true (test_wait_until (test_log_has_answer, loop, 5000));
    g_assert_cmpuint (first_status (loop), ==, 400);
  }
}

static void
test_unreachable (void)
{
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(Peer) a = peer_new ("a");
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "x", NULL });
  g_autoptr(GSocket) reserved = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  guint16 port;

  /* A port that is bound but not listening refuses connections. */
  g_assert_true (g_socket_bind (reserved, any, FALSE, NULL));
  bound = g_socket_get_local_address (reserved, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  jstp_dispatch_add_hop (d, "127.0.0.1", port, "tcp");
  jstp_engine_emit (a->engine, d, test_log_on_answer, log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, log, 8000));
  g_assert_cmpuint (first_status (log), ==, 502);
}

static gboolean
on_http_like (GSocketService    *service,
              GSocketConnection *connection,
              GObject           *source,
              gpointer           data)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  const char *reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

  g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

/* E6: a hop that answers but does not speak JSTP. */
static void
test_not_jstp (void)
{
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(TestLog) ws_log = test_log_new ();
  g_autoptr(Peer) a = peer_new ("a");
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "x", NULL });
  g_autoptr(JstpDispatch) e = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "x", NULL });
  g_autoptr(GSocketService) http = g_socket_service_new ();
  guint16 port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (http), NULL, NULL);

  g_signal_connect (http, "incoming", G_CALLBACK (on_http_like), NULL);
  g_socket_service_start (http);

  jstp_dispatch_add_hop (d, "127.0.0.1", port, "tcp");
  jstp_engine_emit (a->engine, d, test_log_on_answer, log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, log, 8000));
  g_assert_cmpuint (first_status (log), ==, 503);

  jstp_dispatch_add_hop (e, "127.0.0.1", port, "ws");
  jstp_engine_emit (a->engine, e, test_log_on_answer, ws_log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, ws_log, 8000));
  g_assert_cmpuint (first_status (ws_log), ==, 503);
  g_socket_service_stop (http);
}

typedef struct {
  GSocket *socket;
  GString *in;
} Raw;

static Raw *
raw_connect (guint16 port)
{
  Raw *raw = g_new0 (Raw, 1);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (lo, port);

  raw->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_true (g_socket_connect (raw->socket, address, NULL, NULL));
  g_socket_set_blocking (raw->socket, FALSE);
  raw->in = g_string_new (NULL);
  return raw;
}

static void
raw_free (Raw *raw)
{
  g_socket_close (raw->socket, NULL);
  g_object_unref (raw->socket);
  g_string_free (raw->in, TRUE);
  g_free (raw);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Raw, raw_free)

static void
raw_send (Raw        *raw,
          const char *text)
{
  gsize length = strlen (text), done = 0;

  while (done < length)
    {
      gssize n = g_socket_send (raw->socket, text + done, length - done, NULL, NULL);

      if (n > 0)
        done += n;
      else
        g_main_context_iteration (NULL, FALSE);
    }
}

/* Reads what is there; FALSE once the engine closed the connection. */
static gboolean
raw_poll (Raw *raw)
{
  char buf[65536];
  gssize n;

  g_main_context_iteration (NULL, FALSE);
  n = g_socket_receive (raw->socket, buf, sizeof buf, NULL, NULL);
  if (n > 0)
    g_string_append_len (raw->in, buf, n);
  return n != 0;
}

static guint
count_lines (GString *s)
{
  guint n = 0;

  for (gsize i = 0; i < s->len; i++)
    n += s->str[i] == '\n';
  return n;
}

static gboolean
raw_wait_lines (Raw  *raw,
                guint n)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (count_lines (raw->in) < n && g_get_monotonic_time () < end)
    {
      raw_poll (raw);
      g_usleep (500);
    }
  return count_lines (raw->in) >= n;
}

static gboolean
raw_wait_closed (Raw *raw)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < end)
    {
      if (!raw_poll (raw))
        return TRUE;
      g_usleep (500);
    }
  return FALSE;
}

static void
test_tcp_framing (void)
{
  g_autoptr(Peer) b = peer_new ("b");
  guint16 port = jstp_network_get_port (b->network, "tcp");
  g_autoptr(Raw) raw = NULL;
  g_autoptr(Raw) flood = NULL;
  g_autoptr(Raw) canary = NULL;
  const char *get = "{" PROTO ",\"method\":\"GET\",\"resource\":[\"echo\"]," TS ",\"token\":[\"t%u\"]}";
  g_autofree char *one = g_strdup_printf (get, 1);
  g_autofree char *two = g_strdup_printf (get, 2);
  g_autofree char *three = g_strdup_printf (get, 3);
  g_autofree char *pipelined = g_strdup_printf ("%s\n\n   \r\n%s\r\n%s\n", one, two, three);
  g_autofree char *chunk = g_strnfill (8192, 'A');

  jstp_network_get_limits (b->network)->max_frame = 64 * 1024;
  jstp_engine_bind (b->engine, "GET", (const char *[]) { "echo", NULL }, on_echo, NULL, NULL, NULL);

  /* A3, A5, A6: three dispatches in one write, CRLF and blank lines. */
  raw = raw_connect (port);
  raw_send (raw, pipelined);
  g_assert_true (raw_wait_lines (raw, 3));
  g_assert_nonnull (strstr (raw->in->str, "\"t1\""));
  g_assert_nonnull (strstr (raw->in->str, "\"t3\""));

  /* A2: a dispatch cut across many writes. */
  g_string_truncate (raw->in, 0);
  for (gsize i = 0; i < strlen (one); i += 7)
    {
      g_autofree char *part = g_strndup (one + i, 7);
      raw_send (raw, part);
      raw_poll (raw);
    }
  raw_send (raw, "\n");
  g_assert_true (raw_wait_lines (raw, 1));

  /* A4: a pretty-printed dispatch is malformed line by line; the
   * connection survives and the next valid line works. */
  g_string_truncate (raw->in, 0);
  raw_send (raw, "{\n\"protocol\": [\"JSTP\", \"0.5\"]\n}\n");
  raw_send (raw, one);
  raw_send (raw, "\n");
  g_assert_true (raw_wait_lines (raw, 1));
  g_assert_cmpuint (count_lines (raw->in), ==, 1);

  /* A1: no newline, ever: closed past the frame limit, others served. */
  flood = raw_connect (port);
  canary = raw_connect (port);
  for (guint i = 0; i < 16; i++)
    raw_send (flood, chunk);
  g_assert_true (raw_wait_closed (flood));
  raw_send (canary, one);
  raw_send (canary, "\n");
  g_assert_true (raw_wait_lines (canary, 1));
}

static void
test_malformed_budget (void)
{
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(Raw) raw = NULL;
  g_autoptr(Raw) canary = NULL;

  jstp_network_get_limits (b->network)->malformed_budget = 5;
  raw = raw_connect (jstp_network_get_port (b->network, "tcp"));
  canary = raw_connect (jstp_network_get_port (b->network, "tcp"));
  for (guint i = 0; i < 6; i++)
    raw_send (raw, "not json\n");
  g_assert_true (raw_wait_closed (raw));
  raw_send (canary, "{" PROTO ",\"method\":\"GET\",\"resource\":[\"jstp\",\"info\"]," TS ",\"token\":[\"c\"]}\n");
  g_assert_true (raw_wait_lines (canary, 1));
}

static void
test_max_connections (void)
{
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(Raw) first = NULL;
  g_autoptr(Raw) second = NULL;
  g_autoptr(Raw) third = NULL;

  jstp_network_get_limits (b->network)->max_connections = 2;
  first = raw_connect (jstp_network_get_port (b->network, "tcp"));
  second = raw_connect (jstp_network_get_port (b->network, "tcp"));
  test_spin (100);
  third = raw_connect (jstp_network_get_port (b->network, "tcp"));
  g_assert_true (raw_wait_closed (third));
  raw_send (first, "{" PROTO ",\"method\":\"GET\",\"resource\":[\"jstp\",\"info\"]," TS ",\"token\":[\"c\"]}\n");
  g_assert_true (raw_wait_lines (first, 1));
}

/* D14: a subscriber that never reads is closed once its queue passes the
 * hard limit; the publisher and the other subscribers go on. */
static void
test_slow_consumer (void)
{
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(Raw) slow = NULL;
  g_autoptr(Raw) fast = NULL;
  g_autofree char *payload = g_strnfill (4000, 'p');
  g_autoptr(JstpDispatch) post = jstp_dispatch_new (JSTP_METHOD_POST,
                                                    (const char *[]) { "feed", NULL });
  g_autofree char *body = g_strdup_printf ("\"%s\"", payload);
  const char *bind = "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"POST\","
                     "\"resource\":[\"feed\"]}," TS ",\"token\":[\"b\"]}\n";
  JstpEngineCounters counters;
  guint received_fast = 0;

  jstp_network_get_limits (b->network)->queue_hard = 512 * 1024;
  slow = raw_connect (jstp_network_get_port (b->network, "tcp"));
  fast = raw_connect (jstp_network_get_port (b->network, "tcp"));
  raw_send (slow, bind);
  raw_send (fast, bind);
  g_assert_true (raw_wait_lines (slow, 1));
  g_assert_true (raw_wait_lines (fast, 1));
  jstp_dispatch_set_body_json (post, body, NULL);

  for (guint i = 0; i < 3000; i++)
    {
      jstp_engine_emit (b->engine, post, NULL, NULL, NULL);
      if (i % 20 == 0)
        {
          raw_poll (fast);
          g_string_truncate (fast->in, 0);
          received_fast++;
        }
    }
  test_spin (300);
  jstp_engine_get_counters (b->engine, &counters);
  g_assert_cmpuint (counters.connections, ==, 1);
  g_assert_cmpuint (received_fast, >, 0);
}

static gboolean
bridge_state_up (gpointer data)
{
  Peer *peer = data;
  g_autofree char *json = jstp_network_dup_bridges_json (peer->network);

  return strstr (json, "\"state\":\"up\"") != NULL;
}

/* Bridges: an engine subscribed to another by configuration, re-binding
 * by itself after the other comes back. */
static void
test_bridge (void)
{
  Peer *b = peer_new ("b");
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(Peer) c = peer_new ("c");
  g_autoptr(JstpPattern) pattern =
    jstp_pattern_new ("POST", (const char *[]) { "feed", "..." }, 2, JSTP_MODE_STRICT, NULL);
  g_autoptr(JstpDispatch) post = jstp_dispatch_new (JSTP_METHOD_POST,
                                                    (const char *[]) { "feed", "x", NULL });
  guint16 port = jstp_network_get_port (b->network, "tcp");
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;

  jstp_network_get_limits (c->network)->reconnect_min_ms = 50;
  jstp_network_get_limits (c->network)->reconnect_max_ms = 200;
  jstp_engine_bind_pattern (c->engine, pattern, test_log_on_received, log, NULL);
  jstp_network_add_bridge (c->network, "127.0.0.1", port, "tcp", pattern);
  g_assert_true (test_wait_until (bridge_state_up, c, 5000));
  test_spin (100);

  jstp_engine_emit (b->engine, post, NULL, NULL, NULL);
  g_assert_true (test_wait_until (test_log_has_received, log, 5000));

  /* B goes away and comes back on the same port. */
  peer_free (b);
  test_spin (300);
  b = g_new0 (Peer, 1);
  b->engine = jstp_engine_new ("b2");
  b->network = jstp_network_new (b->engine);
  g_assert_true (jstp_network_listen (b->network, "tcp", "127.0.0.1", port, &error));
  g_assert_no_error (error);
  g_assert_true (test_wait_until (bridge_state_up, c, 5000));
  test_spin (200);

  g_ptr_array_set_size (log->received, 0);
  jstp_engine_emit (b->engine, post, NULL, NULL, NULL);
  g_assert_true (test_wait_until (test_log_has_received, log, 5000));

  json = jstp_network_dup_bridges_json (c->network);
  g_assert_nonnull (strstr (json, "\"resource\":[\"feed\",\"...\"]"));
  /* The traffic along the bridge is counted (Tablero's edges show it). */
  g_assert_nonnull (strstr (json, "\"received\":"));
  g_assert_null (strstr (json, "\"received\":0"));
  peer_free (b);
}

/* Bridges managed over JSTP: POST, GET and DELETE ["jstp","bridges"]. */
static void
test_bridges_resource (void)
{
  g_autoptr(TestLog) post_log = test_log_new ();
  g_autoptr(TestLog) get_log = test_log_new ();
  g_autoptr(TestLog) delete_log = test_log_new ();
  g_autoptr(TestLog) bad_log = test_log_new ();
  g_autoptr(Peer) a = peer_new ("a");
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(JstpDispatch) post = jstp_dispatch_new (JSTP_METHOD_POST,
                                                    (const char *[]) { "jstp", "bridges", NULL });
  g_autoptr(JstpDispatch) bad = jstp_dispatch_new (JSTP_METHOD_POST,
                                                   (const char *[]) { "jstp", "bridges", NULL });
  g_autoptr(JstpDispatch) get = jstp_dispatch_new (JSTP_METHOD_GET,
                                                   (const char *[]) { "jstp", "bridges", NULL });
  g_autoptr(JstpDispatch) del = jstp_dispatch_new (JSTP_METHOD_DELETE,
                                                   (const char *[]) { "jstp", "bridges", "1", NULL });
  g_autofree char *body = g_strdup_printf ("{\"host\":\"127.0.0.1\",\"port\":%u,\"transport\":\"ws\","
                                           "\"endpoint\":{\"method\":\"*\",\"resource\":[\"...\"]}}",
                                           jstp_network_get_port (b->network, "ws"));
  guint16 port = jstp_network_get_port (a->network, "tcp");

  jstp_dispatch_set_body_json (post, body, NULL);
  jstp_dispatch_add_hop (post, "127.0.0.1", port, "tcp");
  jstp_engine_emit (b->engine, post, test_log_on_answer, post_log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, post_log, 5000));
  g_assert_cmpuint (first_status (post_log), ==, 200);
  g_assert_cmpstr (jstp_dispatch_get_body_json (g_ptr_array_index (post_log->answers, 0)), ==,
                   "{\"id\":1}");

  jstp_dispatch_set_body_json (bad, "{\"host\":\"127.0.0.1\",\"port\":0}", NULL);
  jstp_dispatch_add_hop (bad, "127.0.0.1", port, "tcp");
  jstp_engine_emit (b->engine, bad, test_log_on_answer, bad_log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, bad_log, 5000));
  g_assert_cmpuint (first_status (bad_log), ==, 400);
  g_assert_nonnull (strstr (jstp_dispatch_get_body_json (g_ptr_array_index (bad_log->answers, 0)),
                            "port"));

  jstp_dispatch_add_hop (get, "127.0.0.1", port, "tcp");
  jstp_engine_emit (b->engine, get, test_log_on_answer, get_log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, get_log, 5000));
  g_assert_nonnull (strstr (jstp_dispatch_get_body_json (g_ptr_array_index (get_log->answers, 0)),
                            "\"transport\":\"ws\""));

  jstp_dispatch_add_hop (del, "127.0.0.1", port, "tcp");
  jstp_engine_emit (b->engine, del, test_log_on_answer, delete_log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, delete_log, 5000));
  g_assert_cmpuint (first_status (delete_log), ==, 200);
  {
    g_autofree char *bridges = jstp_network_dup_bridges_json (a->network);
    g_assert_cmpstr (bridges, ==, "[]");
  }
}

/* An outbound connection that hears nothing for longer than the connect
 * timeout (5 s) stays up: that timeout is for connecting only. */
static void
test_outbound_idle (gconstpointer data)
{
  const char *label = data;
  g_autoptr(TestLog) log = test_log_new ();    /* outlive the peers, freed last */
  g_autoptr(TestLog) ack = test_log_new ();
  g_autoptr(Peer) a = peer_new ("a");
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(JstpPattern) pattern =
    jstp_pattern_new ("POST", (const char *[]) { "quiet", NULL }, 1, JSTP_MODE_STRICT, NULL);
  g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  g_autoptr(JstpDispatch) post = jstp_dispatch_new (JSTP_METHOD_POST,
                                                    (const char *[]) { "quiet", NULL });
  g_autoptr(GPtrArray) connections = NULL;
  JstpConnection *outbound;

  jstp_engine_bind_pattern (a->engine, pattern, test_log_on_received, log, NULL);
  jstp_dispatch_add_hop (bind, "127.0.0.1", jstp_network_get_port (b->network, label), label);
  jstp_engine_emit (a->engine, bind, test_log_on_answer, ack, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, ack, 5000));
  connections = jstp_engine_list_connections (a->engine);
  g_assert_cmpuint (connections->len, ==, 1);
  outbound = g_ptr_array_index (connections, 0);

  test_spin (6000);
  g_assert_false (jstp_connection_is_closed (outbound));
  jstp_engine_emit (b->engine, post, NULL, NULL, NULL);
  g_assert_true (test_wait_until (test_log_has_received, log, 5000));
}

/* Once everything sent was acknowledged, nothing counts as queued, in
 * either direction: a drift would add up until the queue limits closed a
 * healthy subscriber as a slow one. */
static gboolean
nothing_queued (gpointer data)
{
  return jstp_network_get_queued_bytes (data) == 0;
}

static gboolean
has_400 (gpointer data)
{
  return ((TestLog *) data)->received->len >= 400;
}

static void
test_queue_drains (gconstpointer data)
{
  const char *label = data;
  g_autoptr(TestLog) at_a = test_log_new ();   /* outlive the peers, freed last */
  g_autoptr(TestLog) at_b = test_log_new ();
  g_autoptr(TestLog) ack = test_log_new ();
  g_autoptr(Peer) a = peer_new ("a");
  g_autoptr(Peer) b = peer_new ("b");
  g_autoptr(JstpPattern) pattern =
    jstp_pattern_new ("POST", (const char *[]) { "drain", "*" }, 2, JSTP_MODE_STRICT, NULL);
  g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  g_autofree char *filler = g_strnfill (600, 'x');
  g_autofree char *big = g_strdup_printf ("\"%s\"", filler);
  guint16 port = jstp_network_get_port (b->network, label);

  jstp_engine_bind_pattern (a->engine, pattern, test_log_on_received, at_a, NULL);
  jstp_engine_bind_pattern (b->engine, pattern, test_log_on_received, at_b, NULL);
  jstp_dispatch_add_hop (bind, "127.0.0.1", port, label);
  jstp_engine_emit (a->engine, bind, test_log_on_answer, ack, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, ack, 5000));

  /* Frames under 126 bytes and over, from the server and from the client. */
  for (guint i = 0; i < 400; i++)
    {
      g_autoptr(JstpDispatch) down = jstp_dispatch_new (JSTP_METHOD_POST,
                                                        (const char *[]) { "drain", "down", NULL });
      g_autoptr(JstpDispatch) up = jstp_dispatch_new (JSTP_METHOD_POST,
                                                      (const char *[]) { "drain", "up", NULL });

      if (i % 2)
        {
          jstp_dispatch_set_body_json (down, big, NULL);
          jstp_dispatch_set_body_json (up, big, NULL);
        }
      jstp_engine_emit (b->engine, down, NULL, NULL, NULL);
      jstp_dispatch_add_hop (up, "127.0.0.1", port, label);
      jstp_engine_emit (a->engine, up, NULL, NULL, NULL);
    }
  g_assert_true (test_wait_until (has_400, at_a, 5000));
  g_assert_true (test_wait_until (has_400, at_b, 5000));
  g_assert_true (test_wait_until (nothing_queued, b->network, 3000));
  g_assert_true (test_wait_until (nothing_queued, a->network, 3000));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/network/tcp/request-answer", "tcp", test_request_answer);
  g_test_add_data_func ("/network/ws/request-answer", "ws", test_request_answer);
  g_test_add_data_func ("/network/tcp/remote-bind", "tcp", test_remote_bind);
  g_test_add_data_func ("/network/ws/remote-bind", "ws", test_remote_bind);
  g_test_add_func ("/network/gateway-chain", test_gateway_chain);
  g_test_add_func ("/network/unreachable", test_unreachable);
  g_test_add_func ("/network/not-jstp", test_not_jstp);
  g_test_add_func ("/network/tcp-framing", test_tcp_framing);
  g_test_add_func ("/network/malformed-budget", test_malformed_budget);
  g_test_add_func ("/network/max-connections", test_max_connections);
  g_test_add_func ("/network/slow-consumer", test_slow_consumer);
  g_test_add_func ("/network/bridge", test_bridge);
  g_test_add_func ("/network/bridges-resource", test_bridges_resource);
  g_test_add_data_func ("/network/tcp/outbound-idle", "tcp", test_outbound_idle);
  g_test_add_data_func ("/network/ws/outbound-idle", "ws", test_outbound_idle);
  g_test_add_data_func ("/network/tcp/queue-drains", "tcp", test_queue_drains);
  g_test_add_data_func ("/network/ws/queue-drains", "ws", test_queue_drains);

  return g_test_run ();
}
