/* SPDX-License-Identifier: MIT */
/* test-host-metrics.c: JstpHostMetrics against fixture snapshots of /proc
 * (exact figures) and against the real host (plausible figures, and figures
 * that move when this process burns CPU or touches memory). */

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "jstp-host-metrics.h"

#define MIB (1024 * 1024)

static char *
fixture_path (const char *snapshot)
{
  const char *dir = g_getenv ("JSTP_FIXTURES_DIR");
  g_autofree char *path = NULL;

  if (dir != NULL)
    path = g_build_filename (dir, "proc", snapshot, NULL);
  else
    path = g_test_build_filename (G_TEST_DIST, "fixtures", "proc", snapshot, NULL);

  /* Absolute, since it becomes the target of a symbolic link. */
  return g_canonicalize_filename (path, NULL);
}

static double
ticks_per_second (void)
{
  return (double) sysconf (_SC_CLK_TCK);
}

/* A proc root that is a symbolic link, so a test can move it from one
 * snapshot to the next under the same metrics object. */
typedef struct {
  char *tmpdir;
  char *root;
} FakeProc;

static void
fake_proc_point_at (FakeProc   *fake,
                    const char *snapshot)
{
  g_autofree char *target = fixture_path (snapshot);

  g_assert_true (g_file_test (target, G_FILE_TEST_IS_DIR));

  if (g_unlink (fake->root) != 0)
    g_assert_cmpint (errno, ==, ENOENT);
  g_assert_cmpint (symlink (target, fake->root), ==, 0);
}

static void
fake_proc_setup (FakeProc      *fake,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fake->tmpdir = g_dir_make_tmp ("test-host-metrics-XXXXXX", &error);
  g_assert_no_error (error);
  fake->root = g_build_filename (fake->tmpdir, "proc", NULL);
  fake_proc_point_at (fake, "sample-1");
}

static void
fake_proc_teardown (FakeProc      *fake,
                    gconstpointer  data)
{
  g_unlink (fake->root);
  g_rmdir (fake->tmpdir);
  g_free (fake->root);
  g_free (fake->tmpdir);
}

static JstpHostMetrics *
fake_metrics_new (FakeProc *fake)
{
  return g_object_new (JSTP_TYPE_HOST_METRICS,
                       "proc-root", fake->root,
                       "data-dir", fake->tmpdir,
                       NULL);
}

static void
test_defaults (void)
{
  g_autoptr(JstpHostMetrics) metrics = jstp_host_metrics_new (NULL);

  g_assert_cmpstr (jstp_host_metrics_get_proc_root (metrics), ==, "/proc");
  g_assert_cmpstr (jstp_host_metrics_get_data_dir (metrics), ==, g_get_user_data_dir ());
  g_assert_cmpfloat (jstp_host_metrics_get_busy_threshold (metrics), ==, 0.7);
  g_assert_cmpfloat (jstp_host_metrics_get_critical_threshold (metrics), ==, 0.9);
  g_assert_cmpfloat (jstp_host_metrics_get_engine_load (metrics), ==, 0.0);
  g_assert_cmpint (jstp_host_metrics_get_level (metrics), ==, JSTP_SATURATION_OK);
  g_assert_cmpuint (jstp_host_metrics_get_n_samples (metrics), ==, 0);

  /* The engine's ratios can exceed 1 and must never poison the figure. */
  jstp_host_metrics_set_engine_load (metrics, 1.7);
  g_assert_cmpfloat (jstp_host_metrics_get_engine_load (metrics), ==, 1.0);
  jstp_host_metrics_set_engine_load (metrics, -0.5);
  g_assert_cmpfloat (jstp_host_metrics_get_engine_load (metrics), ==, 0.0);
  jstp_host_metrics_set_engine_load (metrics, NAN);
  g_assert_cmpfloat (jstp_host_metrics_get_engine_load (metrics), ==, 0.0);

  g_assert_cmpstr (jstp_saturation_level_to_string (JSTP_SATURATION_OK), ==, "ok");
  g_assert_cmpstr (jstp_saturation_level_to_string (JSTP_SATURATION_BUSY), ==, "busy");
  g_assert_cmpstr (jstp_saturation_level_to_string (JSTP_SATURATION_CRITICAL), ==, "critical");
}

static void
test_fixture_first_sample (FakeProc      *fake,
                           gconstpointer  data)
{
  g_autoptr(JstpHostMetrics) metrics = fake_metrics_new (fake);
  double hz = ticks_per_second ();

  jstp_host_metrics_sample (metrics);

  g_assert_cmpuint (jstp_host_metrics_get_n_samples (metrics), ==, 1);
  g_assert_cmpuint (jstp_host_metrics_get_n_cpus (metrics), ==, 2);
  /* Since boot: 8500 of 10000 ticks idle. */
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_cpu (metrics), 0.15, 1e-9);
  /* Since the process started: 50 ticks over 100 s - 9000 ticks, on 2 CPUs. */
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_process_cpu (metrics),
                                  (50 / hz) / (100.0 - 9000 / hz) / 2, 1e-9);
  g_assert_cmpuint (jstp_host_metrics_get_memory_total (metrics), ==,
                    G_GUINT64_CONSTANT (8192000000));
  g_assert_cmpuint (jstp_host_metrics_get_memory_available (metrics), ==,
                    G_GUINT64_CONSTANT (4096000000));
  g_assert_cmpfloat (jstp_host_metrics_get_net_rx_bps (metrics), ==, 0.0);
  g_assert_cmpfloat (jstp_host_metrics_get_net_tx_bps (metrics), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_load1 (metrics), 0.5, 1e-9);
  g_assert_cmpuint (jstp_host_metrics_get_disk_total (metrics), >, 0);
  g_assert_cmpfloat (jstp_host_metrics_get_saturation (metrics), >=, 0.5);
}

static void
test_fixture_deltas (FakeProc      *fake,
                     gconstpointer  data)
{
  g_autoptr(JstpHostMetrics) metrics = fake_metrics_new (fake);
  double hz = ticks_per_second ();

  jstp_host_metrics_sample (metrics);
  fake_proc_point_at (fake, "sample-2");
  jstp_host_metrics_sample (metrics);

  g_assert_cmpuint (jstp_host_metrics_get_n_samples (metrics), ==, 2);
  /* 1000 ticks elapsed, 600 of them idle or iowait; guest is not added. */
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_cpu (metrics), 0.4, 1e-9);
  /* 250 ticks over 5 s of uptime, on 2 CPUs. */
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_process_cpu (metrics),
                                  (250 / hz) / 5.0 / 2, 1e-9);
  g_assert_cmpuint (jstp_host_metrics_get_memory_available (metrics), ==,
                    G_GUINT64_CONSTANT (3072000000));
  /* eth0 alone: lo is excluded, wlan0 vanished, veth1a2b3c is new and
   * tun0's counters went backwards. */
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_net_rx_bps (metrics), 10000.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_net_tx_bps (metrics), 1000.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_load1 (metrics), 1.25, 1e-9);
  /* Memory is 62.5 % used; the real disk may be fuller. */
  g_assert_cmpfloat (jstp_host_metrics_get_saturation (metrics), >=, 0.625);
  g_assert_cmpfloat (jstp_host_metrics_get_saturation (metrics), <=, 1.0);

  /* The same snapshot again: no time has passed, nothing moves. */
  jstp_host_metrics_sample (metrics);
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_cpu (metrics), 0.4, 1e-9);
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_net_rx_bps (metrics), 10000.0, 1e-6);
}

static void
test_fixture_json (FakeProc      *fake,
                   gconstpointer  data)
{
  g_autoptr(JstpHostMetrics) metrics = fake_metrics_new (fake);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) out = g_string_new ("");
  g_autoptr(GError) error = NULL;
  g_autofree char *expected_tail = NULL;
  const char * const keys[] = {
    "cpu", "process_cpu", "memory_total", "memory_available", "disk_total",
    "disk_free", "net_rx_bps", "net_tx_bps", "load1", "engine_load",
    "saturation", "level",
  };
  JsonObject *object;

  jstp_host_metrics_sample (metrics);
  fake_proc_point_at (fake, "sample-2");
  jstp_host_metrics_sample (metrics);
  jstp_host_metrics_set_engine_load (metrics, 0.25);

  jstp_host_metrics_to_json (metrics, out);
  g_test_message ("%s", out->str);

  g_assert_true (g_str_has_prefix (out->str,
                                   "{\"cpu\":0.4000,\"process_cpu\":0.2500,"
                                   "\"memory_total\":8192000000,\"memory_available\":3072000000,"
                                   "\"disk_total\":"));
  expected_tail = g_strdup_printf (",\"net_rx_bps\":10000.0000,\"net_tx_bps\":1000.0000,"
                                   "\"load1\":1.2500,\"engine_load\":0.2500,\"saturation\":");
  g_assert_nonnull (strstr (out->str, expected_tail));
  g_assert_null (strchr (out->str, ' '));

  json_parser_load_from_data (parser, out->str, out->len, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  object = json_node_get_object (json_parser_get_root (parser));

  g_assert_cmpuint (json_object_get_size (object), ==, G_N_ELEMENTS (keys));
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_assert_true (json_object_has_member (object, keys[i]));

  g_assert_cmpint (json_object_get_int_member (object, "disk_total"), ==,
                   (gint64) jstp_host_metrics_get_disk_total (metrics));
  g_assert_cmpstr (json_object_get_string_member (object, "level"), ==,
                   jstp_saturation_level_to_string (jstp_host_metrics_get_level (metrics)));

  /* Appends, never replaces. */
  g_string_assign (out, "[");
  jstp_host_metrics_to_json (metrics, out);
  g_string_append_c (out, ']');
  json_parser_load_from_data (parser, out->str, out->len, &error);
  g_assert_no_error (error);
}

typedef struct {
  GArray *levels;       /* pairs: new level, previous level */
  guint level_notifies;
} LevelLog;

static void
on_level_changed (JstpHostMetrics     *metrics,
                  JstpSaturationLevel  level,
                  JstpSaturationLevel  previous,
                  LevelLog            *log)
{
  /* Handlers run after the sample is complete: the getter agrees. */
  g_assert_cmpint (jstp_host_metrics_get_level (metrics), ==, level);
  g_array_append_val (log->levels, level);
  g_array_append_val (log->levels, previous);
}

static void
on_notify_level (GObject    *object,
                 GParamSpec *pspec,
                 LevelLog   *log)
{
  log->level_notifies++;
}

static void
assert_level_change (LevelLog            *log,
                     JstpSaturationLevel  level,
                     JstpSaturationLevel  previous)
{
  g_assert_cmpuint (log->levels->len, ==, 2);
  g_assert_cmpint (g_array_index (log->levels, int, 0), ==, level);
  g_assert_cmpint (g_array_index (log->levels, int, 1), ==, previous);
  g_array_set_size (log->levels, 0);
}

static void
test_level_changed (FakeProc      *fake,
                    gconstpointer  data)
{
  g_autoptr(JstpHostMetrics) metrics = fake_metrics_new (fake);
  LevelLog log = { g_array_new (FALSE, FALSE, sizeof (int)), 0 };
  double base, busy, critical;

  /* The fixture freezes CPU and memory; only the disk of the real volume
   * holding the temporary directory can push the base figure up. */
  jstp_host_metrics_sample (metrics);
  base = jstp_host_metrics_get_saturation (metrics);
  g_test_message ("saturation with no engine load: %.4f", base);
  if (base > 0.8)
    {
      g_test_skip ("the temporary directory's volume is too full to leave room for thresholds");
      g_array_unref (log.levels);
      return;
    }

  /* Thresholds above whatever this host reads, and far enough apart for
   * the hysteresis. */
  busy = base + (1.0 - base) / 3;
  critical = base + 2 * (1.0 - base) / 3;
  g_object_set (metrics,
                "busy-threshold", busy,
                "critical-threshold", critical,
                NULL);

  g_signal_connect (metrics, "level-changed", G_CALLBACK (on_level_changed), &log);
  g_signal_connect (metrics, "notify::level", G_CALLBACK (on_notify_level), &log);

  jstp_host_metrics_sample (metrics);
  g_assert_cmpint (jstp_host_metrics_get_level (metrics), ==, JSTP_SATURATION_OK);
  g_assert_cmpuint (log.levels->len, ==, 0);

  /* A new engine load counts from the next sample on, not before. */
  jstp_host_metrics_set_engine_load (metrics, (busy + critical) / 2);
  g_assert_cmpint (jstp_host_metrics_get_level (metrics), ==, JSTP_SATURATION_OK);
  g_assert_cmpuint (log.levels->len, ==, 0);

  jstp_host_metrics_sample (metrics);
  g_assert_cmpint (jstp_host_metrics_get_level (metrics), ==, JSTP_SATURATION_BUSY);
  g_assert_cmpfloat_with_epsilon (jstp_host_metrics_get_saturation (metrics),
                                  (busy + critical) / 2, 1e-9);
  assert_level_change (&log, JSTP_SATURATION_BUSY, JSTP_SATURATION_OK);

  /* Staying at a level emits nothing. */
  jstp_host_metrics_sample (metrics);
  g_assert_cmpuint (log.levels->len, ==, 0);

  jstp_host_metrics_set_engine_load (metrics, 1.0);
  jstp_host_metrics_sample (metrics);
  g_assert_cmpint (jstp_host_metrics_get_level (metrics), ==, JSTP_SATURATION_CRITICAL);
  g_assert_cmpfloat (jstp_host_metrics_get_saturation (metrics), ==, 1.0);
  assert_level_change (&log, JSTP_SATURATION_CRITICAL, JSTP_SATURATION_BUSY);

  /* Just under the threshold is not enough to leave the level. */
  jstp_host_metrics_set_engine_load (metrics, critical - 0.02);
  jstp_host_metrics_sample (metrics);
  g_assert_cmpint (jstp_host_metrics_get_level (metrics), ==, JSTP_SATURATION_CRITICAL);
  g_assert_cmpuint (log.levels->len, ==, 0);

  /* Well under both: straight back to ok, one emission. */
  jstp_host_metrics_set_engine_load (metrics, 0.0);
  jstp_host_metrics_sample (metrics);
  g_assert_cmpint (jstp_host_metrics_get_level (metrics), ==, JSTP_SATURATION_OK);
  assert_level_change (&log, JSTP_SATURATION_OK, JSTP_SATURATION_CRITICAL);

  g_assert_cmpuint (log.level_notifies, ==, 3);

  g_array_unref (log.levels);
}

static void
test_real_plausible (void)
{
  g_autoptr(JstpHostMetrics) metrics = jstp_host_metrics_new (NULL);
  g_autoptr(GString) json = g_string_new ("");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!g_file_test ("/proc/stat", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no procfs");
      return;
    }

  for (guint i = 0; i < 3; i++)
    {
      jstp_host_metrics_sample (metrics);

      g_assert_cmpfloat (jstp_host_metrics_get_cpu (metrics), >=, 0.0);
      g_assert_cmpfloat (jstp_host_metrics_get_cpu (metrics), <=, 1.0);
      g_assert_cmpfloat (jstp_host_metrics_get_process_cpu (metrics), >=, 0.0);
      g_assert_cmpfloat (jstp_host_metrics_get_process_cpu (metrics), <=, 1.0);
      g_assert_cmpuint (jstp_host_metrics_get_n_cpus (metrics), >=, 1);
      g_assert_cmpuint (jstp_host_metrics_get_memory_total (metrics), >, 0);
      g_assert_cmpuint (jstp_host_metrics_get_memory_available (metrics), <=,
                        jstp_host_metrics_get_memory_total (metrics));
      g_assert_cmpuint (jstp_host_metrics_get_disk_total (metrics), >, 0);
      g_assert_cmpuint (jstp_host_metrics_get_disk_free (metrics), <=,
                        jstp_host_metrics_get_disk_total (metrics));
      g_assert_cmpfloat (jstp_host_metrics_get_net_rx_bps (metrics), >=, 0.0);
      g_assert_cmpfloat (jstp_host_metrics_get_net_tx_bps (metrics), >=, 0.0);
      g_assert_cmpfloat (jstp_host_metrics_get_load1 (metrics), >=, 0.0);
      g_assert_cmpfloat (jstp_host_metrics_get_saturation (metrics), >=, 0.0);
      g_assert_cmpfloat (jstp_host_metrics_get_saturation (metrics), <=, 1.0);
      g_assert_cmpfloat (jstp_host_metrics_get_saturation (metrics), >=,
                         jstp_host_metrics_get_cpu (metrics));

      g_usleep (150 * G_TIME_SPAN_MILLISECOND);
    }

  jstp_host_metrics_to_json (metrics, json);
  g_test_message ("%s", json->str);
  json_parser_load_from_data (parser, json->str, json->len, &error);
  g_assert_no_error (error);
}

static void
test_real_missing_data_dir (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmpdir = g_dir_make_tmp ("test-host-metrics-XXXXXX", &error);
  g_autofree char *missing = NULL;
  g_autoptr(JstpHostMetrics) metrics = NULL;

  g_assert_no_error (error);

  /* A first start: the data directory does not exist yet, its volume does. */
  missing = g_build_filename (tmpdir, "not", "yet", "created", NULL);
  metrics = jstp_host_metrics_new (missing);
  jstp_host_metrics_sample (metrics);

  g_assert_cmpstr (jstp_host_metrics_get_data_dir (metrics), ==, missing);
  g_assert_cmpuint (jstp_host_metrics_get_disk_total (metrics), >, 0);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));

  g_rmdir (tmpdir);
}

static gpointer
burn_cpu (gpointer data)
{
  gint64 until = g_get_monotonic_time () + 1500 * G_TIME_SPAN_MILLISECOND;
  volatile guint64 spins = 0;

  while (g_get_monotonic_time () < until)
    spins++;

  return NULL;
}

static void
test_real_process_cpu (void)
{
  g_autoptr(JstpHostMetrics) metrics = jstp_host_metrics_new (NULL);
  double idle, busy;
  guint n_cpus;

  /* The first sample averages since the process started, which for a
   * test that just started is mostly start-up work: measure idle time
   * between two later samples instead. */
  jstp_host_metrics_sample (metrics);
  g_usleep (300 * G_TIME_SPAN_MILLISECOND);
  jstp_host_metrics_sample (metrics);
  idle = jstp_host_metrics_get_process_cpu (metrics);

  g_thread_join (g_thread_new ("burn-cpu", burn_cpu, NULL));
  jstp_host_metrics_sample (metrics);
  busy = jstp_host_metrics_get_process_cpu (metrics);
  n_cpus = jstp_host_metrics_get_n_cpus (metrics);

  g_test_message ("process cpu idle %.4f, one thread busy %.4f, %u CPUs", idle, busy, n_cpus);

  /* One busy thread is 1/n of the host; allow for a loaded machine
   * giving it only a quarter of a CPU. */
  g_assert_cmpfloat (busy, >, idle);
  g_assert_cmpfloat (busy, >=, 0.25 / n_cpus);
  g_assert_cmpfloat (busy, <=, 1.0);
}

static void
test_real_memory (void)
{
  g_autoptr(JstpHostMetrics) metrics = jstp_host_metrics_new (NULL);
  const gsize size = 200 * MIB;
  gboolean seen = FALSE;

  jstp_host_metrics_sample (metrics);
  if (jstp_host_metrics_get_memory_available (metrics) < 5 * (guint64) size)
    {
      g_test_skip ("less than 1 GiB available");
      return;
    }

  /* Other processes allocate and free too (the rest of the test suite runs
   * beside this one): the drop is judged against the mean of the figures
   * just before and just after, and one clear drop in five tries is proof
   * enough. */
  for (guint attempt = 0; attempt < 5 && !seen; attempt++)
    {
      guint64 before, during, after, baseline;
      static volatile guint8 sink;
      char *block;

      jstp_host_metrics_sample (metrics);
      before = jstp_host_metrics_get_memory_available (metrics);

      /* Touch every page: an untouched allocation is only address space. */
      block = g_malloc (size);
      memset (block, 0xa5, size);
      /* The kernel folds its per-CPU memory counters into /proc/meminfo
       * about once a second (vm.stat_interval). */
      g_usleep (1100 * 1000);

      jstp_host_metrics_sample (metrics);
      during = jstp_host_metrics_get_memory_available (metrics);
      /* Read the block back, or the compiler may drop the writes (and the
       * allocation) as dead, since it is freed unread. */
      for (gsize i = 0; i < size; i += 4096)
        sink += block[i];
      g_free (block);
      g_usleep (1100 * 1000);

      jstp_host_metrics_sample (metrics);
      after = jstp_host_metrics_get_memory_available (metrics);
      baseline = before / 2 + after / 2;

      g_test_message ("attempt %u: available %" G_GUINT64_FORMAT " MiB before, %"
                      G_GUINT64_FORMAT " MiB with 200 MiB touched, %" G_GUINT64_FORMAT
                      " MiB after", attempt, before / MIB, during / MIB, after / MIB);

      /* MemAvailable counts reclaimable cache too, and the kernel refills it
       * as it can: on this kind of host a touched block shows as a third or
       * so of its size. An eighth still tells a moving figure from a stuck one. */
      seen = during < baseline && baseline - during >= size / 8;
      if (!seen)
        g_usleep (100 * 1000);
    }

  g_assert_true (seen);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/host-metrics/defaults", test_defaults);
  g_test_add ("/host-metrics/fixture/first-sample", FakeProc, NULL,
              fake_proc_setup, test_fixture_first_sample, fake_proc_teardown);
  g_test_add ("/host-metrics/fixture/deltas", FakeProc, NULL,
              fake_proc_setup, test_fixture_deltas, fake_proc_teardown);
  g_test_add ("/host-metrics/fixture/json", FakeProc, NULL,
              fake_proc_setup, test_fixture_json, fake_proc_teardown);
  g_test_add ("/host-metrics/fixture/level-changed", FakeProc, NULL,
              fake_proc_setup, test_level_changed, fake_proc_teardown);
  g_test_add_func ("/host-metrics/real/plausible", test_real_plausible);
  g_test_add_func ("/host-metrics/real/missing-data-dir", test_real_missing_data_dir);
  g_test_add_func ("/host-metrics/real/process-cpu", test_real_process_cpu);
  g_test_add_func ("/host-metrics/real/memory", test_real_memory);

  return g_test_run ();
}
