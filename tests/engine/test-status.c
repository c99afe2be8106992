/* SPDX-License-Identifier: MIT */
/* test-status.c: status reporting and balancing (spec section 8) over real
 * loopback sockets: GET and PUT ["jstp","status"], figures that move under
 * load, the engine's admission hook, and pools that skip critical and dead
 * members and take them back. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "jstp-pool.h"
#include "jstp-status-reporter.h"
#include "test-connection.h"
#include "test-log.h"
#include "test-utils.h"

#define PROTO "\"protocol\":[\"JSTP\",\"0.5\"]"
#define TS "\"timestamp\":1700000000000"

typedef struct {
  char *name;
  JstpEngine *engine;
  JstpNetwork *network;
  JstpStatusReporter *reporter;   /* NULL for a fake member */
  guint work;                     /* POST ["work"] dispatches served */
} Peer;

/* ---- helpers ----------------------------------------------------------- */

static void
on_work (JstpEngine         *engine,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            data)
{
  Peer *peer = data;
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\"}", peer->name);

  peer->work++;
  jstp_engine_answer (engine, dispatch, 200, body);
}

/* Host figures read from a fixture snapshot of /proc, so that the level
 * does not depend on how busy the machine running the tests is. */
static JstpHostMetrics *
fixture_metrics_new (void)
{
  const char *dir = g_getenv ("JSTP_FIXTURES_DIR");
  g_autofree char *root = dir ? g_build_filename (dir, "proc", "sample-1", NULL)
                              : g_test_build_filename (G_TEST_DIST, "fixtures", "proc",
                                                       "sample-1", NULL);
  JstpHostMetrics *metrics;

  g_assert_true (g_file_test (root, G_FILE_TEST_IS_DIR));
  metrics = g_object_new (JSTP_TYPE_HOST_METRICS, "proc-root", root,
                          "data-dir", g_get_tmp_dir (), NULL);
  /* Only a completely full disk could make it critical. */
  jstp_host_metrics_set_busy_threshold (metrics, 1.0);
  jstp_host_metrics_set_critical_threshold (metrics, 1.0);
  return metrics;
}

/* An engine listening on both transports, with a reporter every
 * @interval ms (0: no reporter) on fixture host figures. @tcp_port 0 picks
 * a free port. */
static Peer *
peer_new (const char *name,
          guint       interval,
          guint16     tcp_port)
{
  Peer *peer = g_new0 (Peer, 1);
  g_autoptr(GError) error = NULL;

  peer->name = g_strdup (name);
  peer->engine = jstp_engine_new (name);
  peer->network = jstp_network_new (peer->engine);
  g_assert_true (jstp_network_listen (peer->network, "tcp", "127.0.0.1", tcp_port, &error));
  g_assert_no_error (error);
  g_assert_true (jstp_network_listen (peer->network, "ws", "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  jstp_engine_bind (peer->engine, "POST", (const char *[]) { "work", NULL }, on_work, peer, NULL,
                    &error);
  g_assert_no_error (error);
  if (interval > 0)
    {
      g_autoptr(JstpHostMetrics) metrics = fixture_metrics_new ();

      peer->reporter = g_object_new (JSTP_TYPE_STATUS_REPORTER, "engine", peer->engine,
                                     "network", peer->network, "metrics", metrics,
                                     "interval", interval, NULL);
    }
  return peer;
}

/* The same, reading the real /proc. */
static Peer *
real_peer_new (const char *name,
               guint       interval)
{
  Peer *peer = peer_new (name, 0, 0);

  peer->reporter = jstp_status_reporter_new (peer->engine, peer->network);
  jstp_status_reporter_set_interval (peer->reporter, interval);
  return peer;
}

static void
peer_free (Peer *peer)
{
  g_clear_object (&peer->reporter);
  jstp_network_close (peer->network);
  g_object_unref (peer->network);
  g_object_unref (peer->engine);
  g_free (peer->name);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

/* A client: an engine with a network and no listener, reconnecting fast. */
static Peer *
client_new (void)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->name = g_strdup ("client");
  peer->engine = jstp_engine_new ("client");
  peer->network = jstp_network_new (peer->engine);
  jstp_network_get_limits (peer->network)->reconnect_min_ms = 50;
  jstp_network_get_limits (peer->network)->reconnect_max_ms = 200;
  return peer;
}

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_assert_nonnull (json);
  node = json_from_string (json, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static double
number (JsonObject *object,
        const char *key)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL)
    g_error ("status has no \"%s\"", key);
  g_assert_true (JSON_NODE_HOLDS_VALUE (node));
  g_assert_true (json_node_get_value_type (node) == G_TYPE_INT64 ||
                 json_node_get_value_type (node) == G_TYPE_DOUBLE);
  return json_node_get_double (node);
}

static JsonObject *
reporter_figures (JstpStatusReporter *reporter)
{
  g_autofree char *json = jstp_status_reporter_dup_status_json (reporter);

  return parse_object (json);
}

/* Every documented key is there and every figure is plausible. */
static void
assert_plausible_status (JsonObject *status,
                         const char *name,
                         guint       interval)
{
  const char *level;
  gint64 now_ms = g_get_real_time () / 1000;

  g_assert_cmpstr (json_object_get_string_member (status, "name"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (status, "kind"), ==, "engine");
  g_assert_cmpfloat (fabs (number (status, "timestamp") - now_ms), <, 60000);
  g_assert_cmpfloat (number (status, "interval"), ==, interval);

  for (guint i = 0; i < 5; i++)
    {
      const char *fraction[] = { "cpu", "process_cpu", "engine_load", "saturation", "load1" };
      double value = number (status, fraction[i]);

      g_assert_cmpfloat (value, >=, 0.0);
      if (i < 4)
        g_assert_cmpfloat (value, <=, 1.0);
    }
  g_assert_cmpfloat (number (status, "memory_total"), >, 0);
  g_assert_cmpfloat (number (status, "memory_available"), >, 0);
  g_assert_cmpfloat (number (status, "memory_available"), <=, number (status, "memory_total"));
  g_assert_cmpfloat (number (status, "disk_total"), >, 0);
  g_assert_cmpfloat (number (status, "disk_free"), <=, number (status, "disk_total"));
  g_assert_cmpfloat (number (status, "net_rx_bps"), >=, 0);
  g_assert_cmpfloat (number (status, "net_tx_bps"), >=, 0);
  g_assert_cmpfloat (number (status, "n_cpus"), >=, 1);
  g_assert_cmpfloat (number (status, "memory_used"), >=, 0.0);
  g_assert_cmpfloat (number (status, "memory_used"), <=, 1.0);
  g_assert_cmpfloat (number (status, "disk_used"), >=, 0.0);
  g_assert_cmpfloat (number (status, "disk_used"), <=, 1.0);
  /* The maximum of its parts. */
  g_assert_cmpfloat (number (status, "saturation"), >=, number (status, "memory_used") - 1e-4);
  g_assert_cmpfloat (number (status, "saturation"), >=, number (status, "disk_used") - 1e-4);
  g_assert_cmpfloat (number (status, "saturation"), >=, number (status, "cpu") - 1e-4);
  g_assert_cmpfloat (number (status, "busy_threshold"), >=, 0.0);
  g_assert_cmpfloat (number (status, "critical_threshold"), <=, 1.0);
  g_assert_cmpfloat (number (status, "max_connections"), ==, 1024);
  g_assert_cmpfloat (number (status, "queue_limit"), >, 0);
  g_assert_cmpfloat (number (status, "queued_bytes"), >=, 0);
  g_assert_cmpfloat (number (status, "dispatches_in_per_s"), >=, 0);
  g_assert_cmpfloat (number (status, "dispatches_out_per_s"), >=, 0);
  g_assert_cmpfloat (number (status, "dispatches_in"), >=, 0);
  g_assert_cmpfloat (number (status, "dispatches_out"), >=, 0);
  /* Its own GET ["jstp","info"] and GET ["jstp","status"] at least. */
  g_assert_cmpfloat (number (status, "subscriptions"), >=, 2);
  g_assert_cmpfloat (number (status, "transactions"), >=, 0);
  g_assert_false (json_object_get_boolean_member (status, "shedding"));

  level = json_object_get_string_member (status, "level");
  g_assert_true (g_str_equal (level, "ok") || g_str_equal (level, "busy") ||
                 g_str_equal (level, "critical"));
}

/* ---- the admission hook (in-process) ------------------------------------ */

static guint
refuse_all (JstpEngine     *engine,
            JstpConnection *connection,
            JstpDispatch   *dispatch,
            char          **message,
            gpointer        data)
{
  guint *calls = data;

  /* Like load shedding: new work from the network only. */
  if (connection == NULL ||
      jstp_dispatch_get_morphology (dispatch) != JSTP_MORPHOLOGY_REGULAR)
    return 0;
  (*calls)++;
  return JSTP_STATUS_SATURATED;
}

static void
count_destroy (gpointer data)
{
  (*(guint *) data) += 100;
}

static void
test_admission (void)
{
  g_autoptr(JstpEngine) engine = jstp_engine_new ("gate");
  g_autoptr(TestConnection) conn = test_connection_new ();
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(JstpDispatch) refused = NULL;
  g_autoptr(JstpDispatch) ack = NULL;
  guint calls = 0;
  guint hook;

  jstp_engine_bind (engine, "POST", (const char *[]) { "work", NULL }, test_log_on_received, log,
                    NULL, NULL);
  jstp_engine_add_connection (engine, JSTP_CONNECTION (conn));
  hook = jstp_engine_add_admission_hook (engine, refuse_all, &calls, count_destroy);

  /* A regular dispatch from the network is refused with the status given,
   * before it triggers anything. */
  test_connection_receive (conn, "{" PROTO ",\"method\":\"POST\",\"resource\":[\"work\"],"
                                 TS ",\"token\":[\"t1\"]}");
  g_assert_cmpuint (calls, ==, 1);
  g_assert_cmpuint (log->received->len, ==, 0);
  refused = test_connection_parse_last (conn);
  g_assert_nonnull (refused);
  g_assert_cmpuint (jstp_dispatch_get_status (refused), ==, 429);
  {
    g_autofree char *txid = jstp_dispatch_dup_resource_element (refused, 1);
    g_assert_cmpstr (txid, ==, "t1");
  }

  /* Subscriptions and local emitters are let through. */
  test_connection_receive (conn, "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"PUT\","
                                 "\"resource\":[\"x\"]}," TS ",\"token\":[\"b1\"]}");
  ack = test_connection_parse_last (conn);
  g_assert_cmpuint (jstp_dispatch_get_status (ack), ==, 200);
  {
    g_autoptr(JstpDispatch) local = jstp_dispatch_new (JSTP_METHOD_POST,
                                                       (const char *[]) { "work", NULL });
    jstp_engine_emit (engine, local, NULL, NULL, NULL);
  }
  g_assert_cmpuint (calls, ==, 1);
  g_assert_cmpuint (log->received->len, ==, 1);

  /* Removing it runs its destroy notify and lets work in again. */
  jstp_engine_remove_admission_hook (engine, hook);
  g_assert_cmpuint (calls, ==, 101);
  test_connection_receive (conn, "{" PROTO ",\"method\":\"POST\",\"resource\":[\"work\"],"
                                 TS "}");
  g_assert_cmpuint (log->received->len, ==, 2);

  /* The engine drops it when disposed. */
  calls = 0;
  jstp_engine_add_admission_hook (engine, refuse_all, &calls, count_destroy);
  g_clear_object (&engine);
  g_assert_cmpuint (calls, ==, 100);
}

/* ---- GET ["jstp","status"] ---------------------------------------------- */

static void
test_get_status (gconstpointer data)
{
  const char *label = data;
  g_autoptr(Peer) a = client_new ();
  g_autoptr(Peer) b = real_peer_new ("b", 1000);
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(TestLog) local = test_log_new ();
  g_autoptr(JstpDispatch) get = jstp_dispatch_new (JSTP_METHOD_GET,
                                                   (const char *[]) { "jstp", "status", NULL });
  g_autoptr(JstpDispatch) get_local = jstp_dispatch_copy (get);
  g_autoptr(JsonObject) status = NULL;
  JstpDispatch *answer;

  jstp_dispatch_add_hop (get, "127.0.0.1", jstp_network_get_port (b->network, label), label);
  jstp_engine_emit (a->engine, get, test_log_on_answer, log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, log, 5000));
  answer = g_ptr_array_index (log->answers, 0);
  g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, 200);
  g_test_message ("GET [\"jstp\",\"status\"] over %s: %s", label,
                  jstp_dispatch_get_body_json (answer));

  status = parse_object (jstp_dispatch_get_body_json (answer));
  assert_plausible_status (status, "b", 1000);
  g_assert_cmpfloat (number (status, "busy_threshold"), ==, 0.7);
  g_assert_cmpfloat (number (status, "critical_threshold"), ==, 0.9);
  /* Counts are read when answering: the asker's connection is counted. */
  g_assert_cmpfloat (number (status, "connections"), ==, 1);
  g_assert_cmpfloat (number (status, "transactions"), >=, 1);

  /* The same locally, and through the reporter's own accessor. */
  jstp_engine_emit (b->engine, get_local, test_log_on_answer, local, NULL);
  g_assert_cmpuint (local->answers->len, ==, 1);
  g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (local->answers, 0)), ==, 200);
  {
    g_autoptr(JsonObject) mine =
      parse_object (jstp_dispatch_get_body_json (g_ptr_array_index (local->answers, 0)));
    assert_plausible_status (mine, "b", 1000);
  }

  /* GET ["jstp","info"] still answers, and lists the status resource. */
  {
    g_autoptr(TestLog) info = test_log_new ();
    g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET,
                                                   (const char *[]) { "jstp", "info", NULL });

    jstp_engine_emit (b->engine, d, test_log_on_answer, info, NULL);
    g_assert_cmpuint (info->answers->len, ==, 1);
    g_assert_nonnull (strstr (jstp_dispatch_get_body_json (g_ptr_array_index (info->answers, 0)),
                              "\"resource\":[\"jstp\",\"status\"]"));
  }
}

/* ---- PUT ["jstp","status"] to subscribers ------------------------------- */

static void
test_subscribe (gconstpointer data)
{
  const char *label = data;
  g_autoptr(Peer) a = client_new ();
  g_autoptr(Peer) b = peer_new ("b", 100, 0);
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(TestLog) ack = test_log_new ();
  g_autoptr(TestLog) local = test_log_new ();
  g_autoptr(JstpPattern) pattern =
    jstp_pattern_new ("PUT", (const char *[]) { "jstp", "status" }, 2, JSTP_MODE_STRICT, NULL);
  g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  g_autoptr(JsonObject) last = NULL;
  guint n;

  jstp_engine_bind_pattern (a->engine, pattern, test_log_on_received, log, NULL);
  jstp_engine_bind_pattern (b->engine, pattern, test_log_on_received, local, NULL);
  jstp_dispatch_add_hop (bind, "127.0.0.1", jstp_network_get_port (b->network, label), label);
  jstp_engine_emit (a->engine, bind, test_log_on_answer, ack, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, ack, 5000));
  g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (ack->answers, 0)), ==, 200);

  g_ptr_array_set_size (log->received, 0);
  g_ptr_array_set_size (local->received, 0);
  test_spin (1000);
  n = log->received->len;
  g_test_message ("%u reports over %s in 1 s at a 100 ms interval (%u locally)", n, label,
                  local->received->len);
  /* About ten; behaviour, not timing: a few, and not hundreds. */
  g_assert_cmpuint (n, >=, 4);
  g_assert_cmpuint (n, <=, 30);
  g_assert_cmpuint (local->received->len, >=, 4);
  g_assert_cmpuint (local->received->len, <=, 30);

  last = parse_object (jstp_dispatch_get_body_json (g_ptr_array_index (log->received, n - 1)));
  assert_plausible_status (last, "b", 100);
  g_assert_cmpfloat (number (last, "connections"), >=, 1);
  g_assert_null (jstp_dispatch_get_transaction_id (g_ptr_array_index (log->received, n - 1)));

  /* A level change is reported at once, not at the next interval. */
  jstp_status_reporter_set_interval (b->reporter, 60000);
  test_spin (50);
  g_ptr_array_set_size (local->received, 0);
  jstp_status_reporter_set_busy_threshold (b->reporter, 0.0);
  jstp_status_reporter_set_critical_threshold (b->reporter, 0.0);
  jstp_host_metrics_sample (jstp_status_reporter_get_metrics (b->reporter));
  g_assert_cmpuint (local->received->len, ==, 1);
  {
    g_autoptr(JsonObject) critical =
      parse_object (jstp_dispatch_get_body_json (g_ptr_array_index (local->received, 0)));
    g_assert_cmpstr (json_object_get_string_member (critical, "level"), ==, "critical");
    g_assert_cmpfloat (number (critical, "critical_threshold"), ==, 0.0);
  }
}

/* ---- figures under load ------------------------------------------------- */

static gboolean burning;

static gpointer
burn (gpointer data)
{
  volatile guint64 x = 0;

  while (g_atomic_int_get (&burning))
    x++;
  return NULL;
}

static double
process_cpu_seconds (void)
{
  struct timespec ts;

  g_assert_cmpint (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts), ==, 0);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Burning threads move process_cpu, by what they really used: on a machine
 * busy with other work they get less than whole CPUs, so the figure is
 * compared with this process's own CPU clock, not with a fixed share. */
static void
test_cpu_moves (void)
{
  g_autoptr(JstpEngine) engine = jstp_engine_new ("burner");
  g_autoptr(JstpStatusReporter) reporter = jstp_status_reporter_new (engine, NULL);
  g_autoptr(JsonObject) idle = NULL;
  g_autoptr(JsonObject) busy = NULL;
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  guint n_cpus, n_threads;
  double idle_cpu, busy_cpu, truth, cpu0;
  gint64 t0, end;

  jstp_status_reporter_set_interval (reporter, 60000);
  jstp_status_reporter_report_now (reporter);
  g_usleep (300 * 1000);
  jstp_status_reporter_report_now (reporter);
  idle = reporter_figures (reporter);
  n_cpus = (guint) number (idle, "n_cpus");
  n_threads = MIN (n_cpus, 4);

  jstp_status_reporter_report_now (reporter);
  cpu0 = process_cpu_seconds ();
  t0 = g_get_monotonic_time ();
  g_atomic_int_set (&burning, TRUE);
  for (guint i = 0; i < n_threads; i++)
    g_ptr_array_add (threads, g_thread_new ("burn", burn, NULL));
  /* At least 0.4 s of CPU time (40 clock ticks), however long that takes. */
  end = t0 + 8 * G_USEC_PER_SEC;
  while (process_cpu_seconds () - cpu0 < 0.4 && g_get_monotonic_time () < end)
    g_usleep (20 * 1000);
  jstp_status_reporter_report_now (reporter);
  truth = (process_cpu_seconds () - cpu0) /
          ((g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC * n_cpus);
  g_atomic_int_set (&burning, FALSE);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  busy = reporter_figures (reporter);

  idle_cpu = number (idle, "process_cpu");
  busy_cpu = number (busy, "process_cpu");
  g_test_message ("process_cpu idle %.4f, with %u burning threads %.4f (its own clock says "
                  "%.4f; %u CPUs); host cpu %.4f -> %.4f", idle_cpu, n_threads, busy_cpu, truth,
                  n_cpus, number (idle, "cpu"), number (busy, "cpu"));
  g_assert_cmpfloat (busy_cpu, >, idle_cpu);
  g_assert_cmpfloat (busy_cpu, >=, truth * 0.5);
  g_assert_cmpfloat (busy_cpu, <=, truth * 1.5 + 0.05);
  /* The host's figure counts this process too. */
  g_assert_cmpfloat (number (busy, "cpu"), >=, busy_cpu * 0.5);
}

static void
test_dispatch_rate_moves (void)
{
  g_autoptr(JstpEngine) engine = jstp_engine_new ("busy");
  g_autoptr(JstpStatusReporter) reporter = jstp_status_reporter_new (engine, NULL);
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(JsonObject) idle = NULL;
  g_autoptr(JsonObject) busy = NULL;

  jstp_engine_bind (engine, "POST", (const char *[]) { "work", NULL }, test_log_on_received, log,
                    NULL, NULL);
  jstp_status_reporter_set_interval (reporter, 60000);
  jstp_status_reporter_report_now (reporter);
  g_usleep (200 * 1000);
  jstp_status_reporter_report_now (reporter);
  idle = reporter_figures (reporter);

  for (guint i = 0; i < 2000; i++)
    {
      g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                     (const char *[]) { "work", NULL });
      jstp_engine_emit (engine, d, NULL, NULL, NULL);
    }
  g_usleep (100 * 1000);
  jstp_status_reporter_report_now (reporter);
  busy = reporter_figures (reporter);

  g_test_message ("dispatches_in_per_s idle %.1f, after 2000 dispatches %.1f",
                  number (idle, "dispatches_in_per_s"), number (busy, "dispatches_in_per_s"));
  g_assert_cmpuint (log->received->len, ==, 2000);
  g_assert_cmpfloat (number (idle, "dispatches_in_per_s"), <, 50);
  g_assert_cmpfloat (number (busy, "dispatches_in_per_s"), >, 200);
  g_assert_cmpfloat (number (busy, "dispatches_in"), >=, 2000);
}

/* ---- load shedding ------------------------------------------------------ */

static void
test_shed_when_critical (void)
{
  g_autoptr(Peer) a = client_new ();
  g_autoptr(Peer) b = peer_new ("b", 60000, 0);
  g_autoptr(TestLog) refused = test_log_new ();
  g_autoptr(TestLog) status = test_log_new ();
  g_autoptr(TestLog) served = test_log_new ();
  guint16 port = jstp_network_get_port (b->network, "tcp");

  g_object_set (b->reporter, "shed-when-critical", TRUE, NULL);
  jstp_status_reporter_set_busy_threshold (b->reporter, 0.0);
  jstp_status_reporter_set_critical_threshold (b->reporter, 0.0);
  jstp_status_reporter_report_now (b->reporter);
  g_assert_cmpint (jstp_status_reporter_get_level (b->reporter), ==, JSTP_SATURATION_CRITICAL);

  {
    g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                   (const char *[]) { "work", NULL });
    jstp_dispatch_add_hop (d, "127.0.0.1", port, "tcp");
    jstp_engine_emit (a->engine, d, test_log_on_answer, refused, NULL);
    g_assert_true (test_wait_until (test_log_has_answer, refused, 5000));
    g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (refused->answers, 0)), ==, 429);
    g_assert_cmpuint (b->work, ==, 0);
  }

  /* The reserved resources stay served, so clients can watch it recover. */
  {
    g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET,
                                                   (const char *[]) { "jstp", "status", NULL });
    g_autoptr(JsonObject) figures = NULL;

    jstp_dispatch_add_hop (d, "127.0.0.1", port, "tcp");
    jstp_engine_emit (a->engine, d, test_log_on_answer, status, NULL);
    g_assert_true (test_wait_until (test_log_has_answer, status, 5000));
    g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (status->answers, 0)), ==, 200);
    figures = parse_object (jstp_dispatch_get_body_json (g_ptr_array_index (status->answers, 0)));
    g_assert_true (json_object_get_boolean_member (figures, "shedding"));
  }

  /* Back under the thresholds: served again. */
  jstp_status_reporter_set_busy_threshold (b->reporter, 1.0);
  jstp_status_reporter_set_critical_threshold (b->reporter, 1.0);
  jstp_status_reporter_report_now (b->reporter);
  g_assert_cmpint (jstp_status_reporter_get_level (b->reporter), !=, JSTP_SATURATION_CRITICAL);
  {
    g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                   (const char *[]) { "work", NULL });
    jstp_dispatch_add_hop (d, "127.0.0.1", port, "tcp");
    jstp_engine_emit (a->engine, d, test_log_on_answer, served, NULL);
    g_assert_true (test_wait_until (test_log_has_answer, served, 5000));
    g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (served->answers, 0)), ==, 200);
    g_assert_cmpuint (b->work, ==, 1);
  }
}

/* Connections over the limit and queued bytes make the engine's own load,
 * and that alone can make it critical. */
static void
test_engine_load (void)
{
  g_autoptr(Peer) a = client_new ();
  g_autoptr(Peer) b = peer_new ("b", 60000, 0);
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET,
                                                 (const char *[]) { "jstp", "status", NULL });
  g_autoptr(JsonObject) half = NULL;
  g_autoptr(JsonObject) full = NULL;

  jstp_network_get_limits (b->network)->max_connections = 2;
  jstp_dispatch_add_hop (d, "127.0.0.1", jstp_network_get_port (b->network, "tcp"), "tcp");
  jstp_engine_emit (a->engine, d, test_log_on_answer, log, NULL);
  g_assert_true (test_wait_until (test_log_has_answer, log, 5000));

  jstp_status_reporter_report_now (b->reporter);
  half = reporter_figures (b->reporter);
  g_assert_cmpfloat (number (half, "connections"), ==, 1);
  g_assert_cmpfloat (number (half, "engine_load"), ==, 0.5);
  g_assert_cmpfloat (number (half, "saturation"), >=, 0.5);
  g_assert_cmpstr (json_object_get_string_member (half, "level"), !=, "critical");

  jstp_network_get_limits (b->network)->max_connections = 1;
  jstp_status_reporter_report_now (b->reporter);
  full = reporter_figures (b->reporter);
  g_assert_cmpfloat (number (full, "engine_load"), ==, 1.0);
  g_assert_cmpfloat (number (full, "saturation"), ==, 1.0);
  g_assert_cmpstr (json_object_get_string_member (full, "level"), ==, "critical");
}

/* ---- pools -------------------------------------------------------------- */

typedef struct {
  JstpPool *pool;
  guint n;
} PoolWait;

static gboolean
pool_has_available (gpointer data)
{
  PoolWait *w = data;

  return jstp_pool_get_n_available (w->pool) >= w->n;
}

typedef struct {
  JstpPoolMember *member;
  JstpPoolMemberState state;
  JstpSaturationLevel level;
} MemberWait;

static gboolean
member_in_state (gpointer data)
{
  MemberWait *w = data;

  return jstp_pool_member_get_state (w->member) == w->state &&
         (w->state != JSTP_POOL_MEMBER_UP || jstp_pool_member_get_level (w->member) == w->level);
}

typedef struct {
  guint expected;
  guint answered;
  guint ok;
  GHashTable *chosen;       /* JstpPoolMember -> count */
} Batch;

static void
on_batch_answer (JstpEngine   *engine,
                 JstpDispatch *answer,
                 gpointer      data)
{
  Batch *batch = data;

  batch->answered++;
  if (jstp_dispatch_get_status (answer) == 200)
    batch->ok++;
}

static void
on_member_chosen (JstpPool       *pool,
                  JstpPoolMember *member,
                  JstpDispatch   *dispatch,
                  Batch          *batch)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (batch->chosen, member));

  g_assert_cmpuint (jstp_dispatch_get_n_hops (dispatch), ==, 1);
  g_assert_cmpuint (jstp_dispatch_get_hop (dispatch, 0)->port, ==,
                    jstp_pool_member_get_port (member));
  g_hash_table_insert (batch->chosen, member, GUINT_TO_POINTER (count + 1));
}

static gboolean
batch_done (gpointer data)
{
  Batch *batch = data;

  return batch->answered >= batch->expected;
}

/* Sends @n POST ["work"] through @pool and waits for every answer. */
static void
run_batch (JstpPool *pool,
           guint     n,
           Batch    *batch)
{
  gulong handler;

  batch->expected = n;
  batch->answered = 0;
  batch->ok = 0;
  batch->chosen = g_hash_table_new (NULL, NULL);
  handler = g_signal_connect (pool, "member-chosen", G_CALLBACK (on_member_chosen), batch);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                     (const char *[]) { "work", NULL });
      g_assert_nonnull (jstp_pool_emit (pool, d, on_batch_answer, batch, NULL));
      g_assert_true (jstp_pool_get_last_choice (pool) != NULL);
      /* A little concurrency, but every member sees its answers come back. */
      if (i % 5 == 4)
        test_spin (5);
    }
  g_assert_true (test_wait_until (batch_done, batch, 10000));
  g_signal_handler_disconnect (pool, handler);
}

static guint
batch_count (Batch          *batch,
             JstpPoolMember *member)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (batch->chosen, member));
}

static void
batch_clear (Batch *batch)
{
  g_clear_pointer (&batch->chosen, g_hash_table_unref);
}

static void
test_pool_critical (void)
{
  g_autoptr(Peer) client = client_new ();
  g_autoptr(Peer) a = peer_new ("a", 100, 0);
  g_autoptr(Peer) b = peer_new ("b", 100, 0);
  g_autoptr(Peer) c = peer_new ("c", 100, 0);
  g_autoptr(JstpPool) pool = jstp_pool_new (client->network);
  JstpPoolMember *ma, *mb, *mc;
  PoolWait all = { pool, 3 };
  MemberWait critical;
  Batch before = { 0 }, after = { 0 };
  guint a_work, b_work, c_work;

  /* Every member reports the same host: round robin among them, so that
   * the test sees exclusion, not the noise of three CPU samples. */
  g_object_set (pool, "saturation-tolerance", 1.0, "default-interval", 100, NULL);
  ma = jstp_pool_add_member (pool, "127.0.0.1", jstp_network_get_port (a->network, "tcp"), "tcp");
  mb = jstp_pool_add_member (pool, "127.0.0.1", jstp_network_get_port (b->network, "ws"), "ws");
  mc = jstp_pool_add_member (pool, "127.0.0.1", jstp_network_get_port (c->network, "tcp"), "tcp");
  g_assert_true (jstp_pool_add_member (pool, "127.0.0.1",
                                       jstp_network_get_port (a->network, "tcp"), "tcp") == ma);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (pool)), ==, 3);
  g_assert_true (test_wait_until (pool_has_available, &all, 5000));
  g_assert_cmpstr (jstp_pool_member_get_name (mc), ==, "c");
  g_assert_cmpuint (jstp_pool_member_get_interval (mc), ==, 100);
  g_assert_nonnull (jstp_pool_member_get_status (mc));

  run_batch (pool, 30, &before);
  g_assert_cmpuint (before.ok, ==, 30);
  g_assert_cmpuint (batch_count (&before, ma), >, 0);
  g_assert_cmpuint (batch_count (&before, mb), >, 0);
  g_assert_cmpuint (batch_count (&before, mc), >, 0);
  g_assert_cmpuint (a->work + b->work + c->work, ==, 30);

  /* C turns critical: it says so in its next report. */
  jstp_status_reporter_set_busy_threshold (c->reporter, 0.0);
  jstp_status_reporter_set_critical_threshold (c->reporter, 0.0);
  critical = (MemberWait) { mc, JSTP_POOL_MEMBER_UP, JSTP_SATURATION_CRITICAL };
  g_assert_true (test_wait_until (member_in_state, &critical, 5000));
  g_assert_false (jstp_pool_member_is_available (mc));
  g_assert_cmpuint (jstp_pool_get_n_available (pool), ==, 2);

  a_work = a->work;
  b_work = b->work;
  c_work = c->work;
  run_batch (pool, 40, &after);
  g_test_message ("with c critical: a %u, b %u, c %u", a->work - a_work, b->work - b_work,
                  c->work - c_work);
  g_assert_cmpuint (after.ok, ==, 40);
  g_assert_cmpuint (c->work, ==, c_work);
  g_assert_cmpuint (batch_count (&after, mc), ==, 0);
  g_assert_cmpuint (a->work, >, a_work);
  g_assert_cmpuint (b->work, >, b_work);
  g_assert_true (jstp_pool_get_last_choice (pool) != mc);

  /* Every member critical: the pool answers 429 itself. */
  jstp_status_reporter_set_critical_threshold (a->reporter, 0.0);
  jstp_status_reporter_set_critical_threshold (b->reporter, 0.0);
  {
    g_autoptr(TestLog) log = test_log_new ();
    g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                   (const char *[]) { "work", NULL });

    critical = (MemberWait) { ma, JSTP_POOL_MEMBER_UP, JSTP_SATURATION_CRITICAL };
    g_assert_true (test_wait_until (member_in_state, &critical, 5000));
    critical = (MemberWait) { mb, JSTP_POOL_MEMBER_UP, JSTP_SATURATION_CRITICAL };
    g_assert_true (test_wait_until (member_in_state, &critical, 5000));
    g_assert_null (jstp_pool_choose (pool));
    g_assert_null (jstp_pool_emit (pool, d, test_log_on_answer, log, test_log_on_destroy));
    g_assert_cmpuint (log->answers->len, ==, 1);
    g_assert_cmpuint (log->destroyed, ==, 1);
    g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (log->answers, 0)), ==, 429);
  }

  batch_clear (&before);
  batch_clear (&after);
}

static void
test_pool_restart (void)
{
  g_autoptr(Peer) client = client_new ();
  g_autoptr(Peer) a = peer_new ("a", 100, 0);
  g_autoptr(Peer) b = peer_new ("b", 100, 0);
  Peer *c = peer_new ("c", 100, 0);
  g_autoptr(JstpPool) pool = jstp_pool_new (client->network);
  guint16 c_port = jstp_network_get_port (c->network, "tcp");
  JstpPoolMember *mc;
  PoolWait all = { pool, 3 };
  MemberWait wait;
  Batch down = { 0 }, back = { 0 }, stale = { 0 };
  guint a_work, b_work;

  g_object_set (pool, "saturation-tolerance", 1.0, "default-interval", 100, NULL);
  jstp_pool_add_member (pool, "127.0.0.1", jstp_network_get_port (a->network, "tcp"), "tcp");
  jstp_pool_add_member (pool, "127.0.0.1", jstp_network_get_port (b->network, "tcp"), "tcp");
  mc = jstp_pool_add_member (pool, "127.0.0.1", c_port, "tcp");
  g_assert_true (test_wait_until (pool_has_available, &all, 5000));

  /* C's network goes away: skipped at once, nothing is lost. */
  peer_free (c);
  wait = (MemberWait) { mc, JSTP_POOL_MEMBER_DOWN, 0 };
  g_assert_true (test_wait_until (member_in_state, &wait, 5000));
  g_test_message ("c is down: %s", jstp_pool_member_get_last_error (mc));
  a_work = a->work;
  b_work = b->work;
  run_batch (pool, 30, &down);
  g_assert_cmpuint (down.ok, ==, 30);
  g_assert_cmpuint (batch_count (&down, mc), ==, 0);
  g_assert_cmpuint (a->work - a_work + b->work - b_work, ==, 30);

  /* It comes back on the same port: taken back once it reports. */
  c = peer_new ("c", 100, c_port);
  wait = (MemberWait) { mc, JSTP_POOL_MEMBER_UP, JSTP_SATURATION_OK };
  wait.level = jstp_status_reporter_get_level (c->reporter);
  g_assert_true (test_wait_until (member_in_state, &wait, 10000));
  run_batch (pool, 30, &back);
  g_test_message ("after the restart c took %u of 30", c->work);
  g_assert_cmpuint (back.ok, ==, 30);
  g_assert_cmpuint (c->work, >, 0);
  g_assert_cmpuint (batch_count (&back, mc), ==, c->work);

  /* Connected but silent (its reporter stopped): stale after three of its
   * intervals, and skipped. */
  g_clear_object (&c->reporter);
  wait = (MemberWait) { mc, JSTP_POOL_MEMBER_STALE, 0 };
  g_assert_true (test_wait_until (member_in_state, &wait, 5000));
  run_batch (pool, 20, &stale);
  g_assert_cmpuint (batch_count (&stale, mc), ==, 0);

  /* Reporting again (the subscription is still there): back in. */
  c->reporter = jstp_status_reporter_new (c->engine, c->network);
  jstp_status_reporter_set_interval (c->reporter, 100);
  wait = (MemberWait) { mc, JSTP_POOL_MEMBER_UP, jstp_status_reporter_get_level (c->reporter) };
  g_assert_true (test_wait_until (member_in_state, &wait, 5000));

  peer_free (c);
  batch_clear (&down);
  batch_clear (&back);
  batch_clear (&stale);
}

/* A member that is not there at all is down, and the pool says 502 when
 * nothing is left. */
static void
test_pool_unreachable (void)
{
  g_autoptr(Peer) client = client_new ();
  g_autoptr(JstpPool) pool = jstp_pool_new (client->network);
  g_autoptr(GSocket) reserved = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(TestLog) log = test_log_new ();
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                 (const char *[]) { "work", NULL });
  JstpPoolMember *member;
  MemberWait wait;

  /* A port that is bound but not listening refuses connections. */
  g_assert_true (g_socket_bind (reserved, any, FALSE, NULL));
  bound = g_socket_get_local_address (reserved, NULL);
  member = jstp_pool_add_member (pool, "127.0.0.1",
                                 g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)),
                                 "tcp");
  g_assert_cmpint (jstp_pool_member_get_state (member), ==, JSTP_POOL_MEMBER_UNKNOWN);
  wait = (MemberWait) { member, JSTP_POOL_MEMBER_DOWN, 0 };
  g_assert_true (test_wait_until (member_in_state, &wait, 8000));
  g_assert_nonnull (jstp_pool_member_get_last_error (member));

  g_assert_null (jstp_pool_emit (pool, d, test_log_on_answer, log, NULL));
  g_assert_cmpuint (log->answers->len, ==, 1);
  g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (log->answers, 0)), ==, 502);

  g_assert_true (jstp_pool_remove_member (pool, member));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (pool)), ==, 0);
}

/* ---- the choice, with figures we control ------------------------------- */

typedef struct {
  Peer *peer;
  char *body;
} Fake;

static void
fake_get (JstpEngine         *engine,
          JstpDispatch       *dispatch,
          const JstpCaptures *captures,
          gpointer            data)
{
  Fake *fake = data;

  jstp_engine_answer (engine, dispatch, 200, fake->body);
}

/* An engine with no reporter that says whatever the test wants. */
static void
fake_report (Fake       *fake,
             double      saturation,
             const char *level)
{
  g_autoptr(JstpDispatch) put =
    jstp_dispatch_new (JSTP_METHOD_PUT, (const char *[]) { "jstp", "status", NULL });
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_free (fake->body);
  fake->body = g_strdup_printf ("{\"name\":\"%s\",\"interval\":100,\"saturation\":%s,"
                                "\"level\":\"%s\"}", fake->peer->name,
                                g_ascii_dtostr (buf, sizeof buf, saturation), level);
  jstp_dispatch_set_body_json (put, fake->body, NULL);
  jstp_engine_emit (fake->peer->engine, put, NULL, NULL, NULL);
}

static gboolean
report_fakes (gpointer data)
{
  Fake *fakes = data;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(JstpDispatch) put =
        jstp_dispatch_new (JSTP_METHOD_PUT, (const char *[]) { "jstp", "status", NULL });

      jstp_dispatch_set_body_json (put, fakes[i].body, NULL);
      jstp_engine_emit (fakes[i].peer->engine, put, NULL, NULL, NULL);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
saturations_are (gpointer data)
{
  JstpPool *pool = data;
  const double *expected = g_object_get_data (G_OBJECT (pool), "expected");

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(JstpPoolMember) member = g_list_model_get_item (G_LIST_MODEL (pool), i);

      if (jstp_pool_member_get_state (member) != JSTP_POOL_MEMBER_UP ||
          jstp_pool_member_get_saturation (member) != expected[i])
        return FALSE;
    }
  return TRUE;
}

static gboolean
member_available (gpointer data)
{
  return jstp_pool_member_is_available (data);
}

static void
test_pool_least_saturated (void)
{
  g_autoptr(Peer) client = client_new ();
  g_autoptr(JstpPool) pool = jstp_pool_new (client->network);
  Fake fakes[3] = { { peer_new ("x", 0, 0), NULL }, { peer_new ("y", 0, 0), NULL },
                    { peer_new ("z", 0, 0), NULL } };
  double first[3] = { 0.5, 0.2, 0.95 };
  double second[3] = { 0.5, 0.6, 0.1 };
  guint source;
  Batch batch = { 0 };
  JstpPoolMember *members[3];

  for (guint i = 0; i < 3; i++)
    {
      jstp_engine_bind (fakes[i].peer->engine, "GET", (const char *[]) { "jstp", "status", NULL },
                        fake_get, &fakes[i], NULL, NULL);
      fake_report (&fakes[i], first[i], first[i] >= 0.9 ? "critical" : "ok");
      members[i] = jstp_pool_add_member (pool, "127.0.0.1",
                                         jstp_network_get_port (fakes[i].peer->network, "tcp"),
                                         "tcp");
    }
  source = g_timeout_add (50, report_fakes, fakes);
  g_object_set_data (G_OBJECT (pool), "expected", first);
  g_assert_true (test_wait_until (saturations_are, pool, 5000));

  /* The least saturated takes all of it; the critical one none. */
  g_assert_true (jstp_pool_choose (pool) == members[1]);
  run_batch (pool, 20, &batch);
  g_assert_cmpuint (batch_count (&batch, members[1]), ==, 20);
  g_assert_cmpuint (fakes[1].peer->work, ==, 20);
  batch_clear (&batch);

  /* Figures change: so does the choice. */
  for (guint i = 0; i < 3; i++)
    fake_report (&fakes[i], second[i], "ok");
  g_object_set_data (G_OBJECT (pool), "expected", second);
  g_assert_true (test_wait_until (saturations_are, pool, 5000));
  run_batch (pool, 20, &batch);
  g_assert_cmpuint (batch_count (&batch, members[2]), ==, 20);
  batch_clear (&batch);

  /* Within the tolerance they share it. */
  g_object_set (pool, "saturation-tolerance", 0.45, NULL);
  run_batch (pool, 20, &batch);
  g_assert_cmpuint (batch_count (&batch, members[2]), >, 0);
  g_assert_cmpuint (batch_count (&batch, members[0]), >, 0);
  g_assert_cmpuint (batch_count (&batch, members[1]), ==, 0);
  batch_clear (&batch);

  /* A 429 keeps a member out until its next report. */
  g_source_remove (source);
  g_object_set (pool, "saturation-tolerance", 0.0, NULL);
  {
    g_autoptr(TestLog) log = test_log_new ();
    g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                   (const char *[]) { "work", NULL });
    guint calls = 0;

    /* It says 0.1, but its engine refuses work. */
    guint refusing = jstp_engine_add_admission_hook (fakes[2].peer->engine, refuse_all, &calls,
                                                     NULL);
    g_assert_true (jstp_pool_emit (pool, d, test_log_on_answer, log, NULL) == members[2]);
    g_assert_true (test_wait_until (test_log_has_answer, log, 5000));
    g_assert_cmpuint (calls, ==, 1);
    g_assert_cmpuint (jstp_dispatch_get_status (g_ptr_array_index (log->answers, 0)), ==, 429);
    g_assert_true (jstp_pool_member_get_shedding (members[2]));
    g_assert_false (jstp_pool_member_is_available (members[2]));
    g_assert_true (jstp_pool_choose (pool) == members[0]);
    jstp_engine_remove_admission_hook (fakes[2].peer->engine, refusing);
  }
  fake_report (&fakes[2], 0.1, "ok");
  g_assert_true (test_wait_until (member_available, members[2], 5000));
  g_assert_true (jstp_pool_choose (pool) == members[2]);

  for (guint i = 0; i < 3; i++)
    {
      peer_free (fakes[i].peer);
      g_free (fakes[i].body);
    }
}

/* A network disposed while one of its outbound connections is still being
 * made (a pool's reconnection, say): the attempt finishes later and must
 * find no network rather than freed memory. Run under AddressSanitizer to
 * see the difference. */
static void
test_network_gone_while_connecting (void)
{
  g_autoptr(Peer) b = peer_new ("b", 0, 0);
  g_autoptr(JstpEngine) engine = jstp_engine_new ("gone");
  JstpNetwork *network = jstp_network_new (engine);
  GWeakRef weak;
  const char *labels[] = { "tcp", "ws" };

  g_weak_ref_init (&weak, network);
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    {
      g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_POST,
                                                     (const char *[]) { "work", NULL });

      jstp_dispatch_add_hop (d, "127.0.0.1", jstp_network_get_port (b->network, labels[i]),
                             labels[i]);
      jstp_engine_emit (engine, d, NULL, NULL, NULL);
    }
  jstp_network_close (network);
  g_object_unref (network);
  g_assert_null (g_weak_ref_get (&weak));
  g_weak_ref_clear (&weak);
  test_spin (300);
  g_assert_cmpuint (b->work, ==, 0);
}

/* ---- jstp status ------------------------------------------------------- */

/* The jstp program next to this test in the build tree, or NULL. */
static char *
find_cli (void)
{
  const char *candidates[] = { "../src/cli/jstp", "../../src/cli/jstp" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *path = g_test_build_filename (G_TEST_BUILT, candidates[i], NULL);

      if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
        return g_canonicalize_filename (path, NULL);
    }
  return NULL;
}

typedef struct {
  gboolean done;
  char *out;
  char *err;
  int status;
} Run;

static void
communicate_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  Run *run = data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err,
                                        &error);
  g_assert_no_error (error);
  run->status = g_subprocess_get_if_exited (G_SUBPROCESS (source))
                ? g_subprocess_get_exit_status (G_SUBPROCESS (source)) : -1;
  run->done = TRUE;
}

static gboolean
run_done (gpointer data)
{
  return ((Run *) data)->done;
}

/* Runs jstp with @argv (after the program name) while this process's
 * engines keep serving; @interrupt_after_ms > 0 sends SIGINT then. */
static void
run_cli (const char * const *args,
         guint               interrupt_after_ms,
         Run                *run)
{
  g_autofree char *cli = find_cli ();
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, cli);
  g_ptr_array_add (argv, (char *) "status");
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "G_MESSAGES_DEBUG");
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, communicate_cb, run);
  if (interrupt_after_ms > 0)
    {
      test_spin (interrupt_after_ms);
      g_subprocess_send_signal (process, SIGINT);
    }
  g_assert_true (test_wait_until (run_done, run, 15000));
  g_test_message ("jstp status exited %d:\n%s%s", run->status, run->out, run->err);
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
  run->done = FALSE;
}

static guint
count_lines_starting (const char *text,
                      const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], prefix))
      n++;
  return n;
}

static void
test_cli_once (void)
{
  g_autofree char *cli = find_cli ();
  g_autoptr(Peer) a = peer_new ("alpha", 100, 0);
  g_autoptr(Peer) b = peer_new ("beta", 100, 0);
  g_autoptr(GSocket) reserved = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *host_a = NULL, *host_b = NULL, *host_down = NULL;
  Run run = { 0 };

  if (cli == NULL)
    {
      g_test_skip ("the jstp program is not built");
      return;
    }
  host_a = g_strdup_printf ("tcp://127.0.0.1:%u", jstp_network_get_port (a->network, "tcp"));
  host_b = g_strdup_printf ("ws://127.0.0.1:%u", jstp_network_get_port (b->network, "ws"));
  g_assert_true (g_socket_bind (reserved, any, FALSE, NULL));
  bound = g_socket_get_local_address (reserved, NULL);
  host_down = g_strdup_printf ("127.0.0.1:%u",
                               g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  /* Every host up: one table, exit 0. */
  run_cli ((const char *[]) { "--once", host_a, host_b, NULL }, 0, &run);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpuint (count_lines_starting (run.out, "HOST "), ==, 1);
  g_assert_cmpuint (count_lines_starting (run.out, host_a), ==, 1);
  g_assert_cmpuint (count_lines_starting (run.out, host_b), ==, 1);
  g_assert_nonnull (strstr (run.out, "alpha"));
  g_assert_nonnull (strstr (run.out, "beta"));
  g_assert_nonnull (strstr (run.out, " up "));
  g_assert_null (strstr (run.out, "\033"));
  run_clear (&run);

  /* One cannot be reached: shown as down, exit 3. */
  run_cli ((const char *[]) { "--once", host_a, host_down, NULL }, 0, &run);
  g_assert_cmpint (run.status, ==, 3);
  g_assert_nonnull (strstr (run.out, "tcp://127.0.0.1:"));
  g_assert_nonnull (strstr (run.out, " down "));
  run_clear (&run);

  /* Bad arguments. */
  run_cli ((const char *[]) { "--once", NULL }, 0, &run);
  g_assert_cmpint (run.status, ==, 2);
  run_clear (&run);
}

/* Not a terminal: one plain table per interval until Ctrl-C. */
static void
test_cli_live (void)
{
  g_autofree char *cli = find_cli ();
  g_autoptr(Peer) a = peer_new ("alpha", 100, 0);
  g_autofree char *host_a = NULL;
  Run run = { 0 };
  guint tables;

  if (cli == NULL)
    {
      g_test_skip ("the jstp program is not built");
      return;
    }
  host_a = g_strdup_printf ("tcp://127.0.0.1:%u", jstp_network_get_port (a->network, "tcp"));
  run_cli ((const char *[]) { "--interval", "100", host_a, NULL }, 1200, &run);
  g_assert_cmpint (run.status, ==, 0);
  tables = count_lines_starting (run.out, "HOST ");
  g_assert_cmpuint (tables, >=, 4);
  g_assert_cmpuint (tables, <=, 30);
  g_assert_cmpuint (count_lines_starting (run.out, "jstp status"), ==, tables);
  g_assert_cmpuint (count_lines_starting (run.out, host_a), ==, tables);
  g_assert_null (strstr (run.out, "\033"));
  run_clear (&run);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/status/admission", test_admission);
  g_test_add_data_func ("/status/tcp/get", "tcp", test_get_status);
  g_test_add_data_func ("/status/ws/get", "ws", test_get_status);
  g_test_add_data_func ("/status/tcp/subscribe", "tcp", test_subscribe);
  g_test_add_data_func ("/status/ws/subscribe", "ws", test_subscribe);
  g_test_add_func ("/status/load/cpu", test_cpu_moves);
  g_test_add_func ("/status/load/dispatches", test_dispatch_rate_moves);
  g_test_add_func ("/status/shed-when-critical", test_shed_when_critical);
  g_test_add_func ("/status/engine-load", test_engine_load);
  g_test_add_func ("/status/pool/critical", test_pool_critical);
  g_test_add_func ("/status/pool/restart", test_pool_restart);
  g_test_add_func ("/status/pool/unreachable", test_pool_unreachable);
  g_test_add_func ("/status/pool/least-saturated", test_pool_least_saturated);
  g_test_add_func ("/status/network-gone-while-connecting", test_network_gone_while_connecting);
  g_test_add_func ("/status/cli/once", test_cli_once);
  g_test_add_func ("/status/cli/live", test_cli_live);

  return g_test_run ();
}
