/* SPDX-License-Identifier: MIT */
/* jstp-status-reporter.c: the header lists the figures; this file samples
 * them and answers and emits `["jstp","status"]`. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "jstp-json.h"
#include "jstp-status-reporter.h"

#define MIN_INTERVAL_MS 10

struct _JstpStatusReporter
{
  GObject parent_instance;

  JstpEngine *engine;
  JstpNetwork *network;
  JstpHostMetrics *metrics;

  guint interval;
  guint timeout_id;
  guint64 status_binding;
  gulong level_handler;
  gboolean shed_when_critical;
  guint admission_hook;          /* 0: not shedding */
  gboolean sampling;            /* inside our own sample: the tick reports */

  /* The engine's figures of the last sample. */
  JstpEngineCounters counters;
  gint64 sampled_at_us;         /* monotonic */
  gint64 sampled_at_ms;         /* wall clock, for the body */
  double dispatches_in_per_s;
  double dispatches_out_per_s;
  gsize queued_bytes;
  guint max_connections;
  gsize queue_limit;
};

G_DEFINE_FINAL_TYPE (JstpStatusReporter, jstp_status_reporter, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_NETWORK,
  PROP_METRICS,
  PROP_INTERVAL,
  PROP_BUSY_THRESHOLD,
  PROP_CRITICAL_THRESHOLD,
  PROP_SHED_WHEN_CRITICAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- figures ----------------------------------------------------------- */

static void
append_double (GString *out,
               double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    value = 0.0;
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.4f", value));
}

static void
sample_engine (JstpStatusReporter *self)
{
  JstpEngineCounters previous = self->counters;
  gint64 previous_us = self->sampled_at_us;
  gint64 now_us = g_get_monotonic_time ();
  double load = 0.0;

  jstp_engine_get_counters (self->engine, &self->counters);
  self->sampled_at_us = now_us;
  self->sampled_at_ms = g_get_real_time () / 1000;

  if (previous_us > 0 && now_us > previous_us)
    {
      double seconds = (now_us - previous_us) / (double) G_USEC_PER_SEC;

      self->dispatches_in_per_s =
        (self->counters.dispatches_in - previous.dispatches_in) / seconds;
      self->dispatches_out_per_s =
        (self->counters.dispatches_out - previous.dispatches_out) / seconds;
    }
  else
    {
      self->dispatches_in_per_s = 0.0;
      self->dispatches_out_per_s = 0.0;
    }

  if (self->network)
    {
      JstpNetworkLimits *limits = jstp_network_get_limits (self->network);

      self->queued_bytes = jstp_network_get_queued_bytes (self->network);
      self->max_connections = limits->max_connections;
      self->queue_limit = limits->queue_hard;
      if (self->max_connections > 0)
        load = MAX (load, (double) self->counters.connections / self->max_connections);
      if (self->queue_limit > 0)
        load = MAX (load, (double) self->queued_bytes / self->queue_limit);
    }

  jstp_host_metrics_set_engine_load (self->metrics, load);
}

static void
sample (JstpStatusReporter *self)
{
  sample_engine (self);
  self->sampling = TRUE;
  jstp_host_metrics_sample (self->metrics);
  self->sampling = FALSE;
}

/* @live: read the engine's counts now rather than at the last sample. */
static GString *
build_status (JstpStatusReporter *self,
              gboolean            live)
{
  GString *out = g_string_new ("{\"name\":");
  g_autoptr(GString) host = g_string_new (NULL);
  JstpEngineCounters counters = self->counters;
  gsize queued_bytes = self->queued_bytes;
  guint64 memory_total = jstp_host_metrics_get_memory_total (self->metrics);
  guint64 memory_available = jstp_host_metrics_get_memory_available (self->metrics);
  gboolean shedding = self->shed_when_critical &&
                      jstp_host_metrics_get_level (self->metrics) == JSTP_SATURATION_CRITICAL;

  if (live)
    {
      jstp_engine_get_counters (self->engine, &counters);
      if (self->network)
        queued_bytes = jstp_network_get_queued_bytes (self->network);
    }

  jstp_json_append_string (out, jstp_engine_get_name (self->engine), -1);
  g_string_append (out, ",\"kind\":");
  jstp_json_append_string (out, jstp_engine_get_kind (self->engine), -1);
  g_string_append_printf (out, ",\"timestamp\":%" G_GINT64_FORMAT ",\"interval\":%u,",
                          self->sampled_at_ms, self->interval);

  /* The host figures are spliced in without their braces, so that every
   * figure is one key of one flat object. */
  jstp_host_metrics_to_json (self->metrics, host);
  g_assert (host->len >= 2 && host->str[0] == '{' && host->str[host->len - 1] == '}');
  g_string_append_len (out, host->str + 1, host->len - 2);

  g_string_append_printf (out, ",\"n_cpus\":%u,\"memory_used\":",
                          jstp_host_metrics_get_n_cpus (self->metrics));
  append_double (out, memory_total > 0 ? 1.0 - (double) memory_available / memory_total : 0.0);
  g_string_append (out, ",\"disk_used\":");
  append_double (out, jstp_host_metrics_get_disk_used (self->metrics));
  g_string_append (out, ",\"busy_threshold\":");
  append_double (out, jstp_host_metrics_get_busy_threshold (self->metrics));
  g_string_append (out, ",\"critical_threshold\":");
  append_double (out, jstp_host_metrics_get_critical_threshold (self->metrics));
  g_string_append_printf (out, ",\"connections\":%u,\"max_connections\":%u",
                          counters.connections, self->max_connections);
  g_string_append (out, ",\"dispatches_in_per_s\":");
  append_double (out, self->dispatches_in_per_s);
  g_string_append (out, ",\"dispatches_out_per_s\":");
  append_double (out, self->dispatches_out_per_s);
  g_string_append_printf (out,
                          ",\"dispatches_in\":%" G_GUINT64_FORMAT
                          ",\"dispatches_out\":%" G_GUINT64_FORMAT
                          ",\"queued_bytes\":%" G_GSIZE_FORMAT
                          ",\"queue_limit\":%" G_GSIZE_FORMAT
                          ",\"subscriptions\":%u,\"transactions\":%u,\"shedding\":%s",
                          counters.dispatches_in, counters.dispatches_out,
                          queued_bytes, self->queue_limit,
                          counters.subscriptions, counters.transactions,
                          shedding ? "true" : "false");
  /* Bridges ride along, so that a watcher sees the traffic of each one
   * from the same stream instead of asking for it. */
  if (self->network)
    {
      g_autofree char *bridges = jstp_network_dup_bridges_json (self->network);

      g_string_append (out, ",\"bridges\":");
      g_string_append (out, bridges);
    }
  g_string_append_c (out, '}');
  return out;
}

static void
emit_report (JstpStatusReporter *self)
{
  g_autoptr(GString) body = build_status (self, FALSE);
  g_autoptr(JstpDispatch) put =
    jstp_dispatch_new (JSTP_METHOD_PUT, (const char *[]) { "jstp", "status", NULL });
  g_autoptr(GError) error = NULL;

  if (!jstp_dispatch_set_body_json (put, body->str, &error))
    {
      /* Everything in the body is written by us: a refusal is a bug here. */
      g_critical ("status body refused: %s", error->message);
      return;
    }
  /* No answer callback: every subscriber gets it, nobody answers. */
  jstp_engine_emit (self->engine, put, NULL, NULL, NULL);
}

static gboolean
tick_cb (gpointer data)
{
  JstpStatusReporter *self = data;

  sample (self);
  emit_report (self);
  return G_SOURCE_CONTINUE;
}

static void
level_changed_cb (JstpHostMetrics     *metrics,
                  JstpSaturationLevel  level,
                  JstpSaturationLevel  previous,
                  JstpStatusReporter  *self)
{
  g_debug ("%s: saturation level %s -> %s", jstp_engine_get_name (self->engine),
           jstp_saturation_level_to_string (previous), jstp_saturation_level_to_string (level));
  /* Our own ticks report right after sampling anyway; a sample someone
   * else took through the metrics object is reported at once. */
  if (!self->sampling)
    emit_report (self);
}

static void
restart_timer (JstpStatusReporter *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  self->timeout_id = g_timeout_add (self->interval, tick_cb, self);
}

/* ---- the engine side ---------------------------------------------------- */

static void
status_get_cb (JstpEngine         *engine,
               JstpDispatch       *dispatch,
               const JstpCaptures *captures,
               gpointer            data)
{
  JstpStatusReporter *self = data;
  g_autoptr(GString) body = build_status (self, TRUE);

  jstp_engine_answer (engine, dispatch, JSTP_STATUS_OK, body->str);
}

static gboolean
is_reserved (JstpDispatch *dispatch)
{
  guint n = 0;
  const JstpElement *resource = jstp_dispatch_get_resource (dispatch, &n);

  return n > 0 && resource[0].type == JSTP_JSON_STRING &&
         resource[0].length == strlen ("jstp") &&
         memcmp (resource[0].text, "jstp", resource[0].length) == 0;
}

static guint
admission_cb (JstpEngine     *engine,
              JstpConnection *connection,
              JstpDispatch   *dispatch,
              char          **message,
              gpointer        data)
{
  JstpStatusReporter *self = data;

  /* Only new work from the network is shed: local emitters and
   * subscriptions go on, so that clients can watch the engine recover. */
  if (connection == NULL ||
      jstp_dispatch_get_morphology (dispatch) != JSTP_MORPHOLOGY_REGULAR)
    return 0;
  if (jstp_host_metrics_get_level (self->metrics) != JSTP_SATURATION_CRITICAL)
    return 0;
  if (is_reserved (dispatch))
    return 0;
  if (message)
    *message = g_strdup ("the engine refuses new work for now");
  return JSTP_STATUS_SATURATED;
}

static void
update_admission (JstpStatusReporter *self)
{
  if (self->shed_when_critical && self->admission_hook == 0)
    self->admission_hook = jstp_engine_add_admission_hook (self->engine, admission_cb, self, NULL);
  else if (!self->shed_when_critical && self->admission_hook != 0)
    {
      jstp_engine_remove_admission_hook (self->engine, self->admission_hook);
      self->admission_hook = 0;
    }
}

/* ---- GObject ----------------------------------------------------------- */

static void
jstp_status_reporter_constructed (GObject *object)
{
  JstpStatusReporter *self = JSTP_STATUS_REPORTER (object);

  G_OBJECT_CLASS (jstp_status_reporter_parent_class)->constructed (object);

  g_assert (self->engine != NULL);
  if (self->metrics == NULL)
    self->metrics = jstp_host_metrics_new (NULL);

  self->level_handler = g_signal_connect (self->metrics, "level-changed",
                                          G_CALLBACK (level_changed_cb), self);
  sample (self);
  self->status_binding =
    jstp_engine_bind (self->engine, "GET", (const char *[]) { "jstp", "status", NULL },
                      status_get_cb, self, NULL, NULL);
  update_admission (self);
  restart_timer (self);
}

static void
jstp_status_reporter_dispose (GObject *object)
{
  JstpStatusReporter *self = JSTP_STATUS_REPORTER (object);

  g_clear_handle_id (&self->timeout_id, g_source_remove);
  if (self->engine)
    {
      if (self->status_binding)
        jstp_engine_release (self->engine, self->status_binding);
      self->status_binding = 0;
      self->shed_when_critical = FALSE;
      update_admission (self);
    }
  g_clear_signal_handler (&self->level_handler, self->metrics);
  g_clear_object (&self->network);
  g_clear_object (&self->engine);
  g_clear_object (&self->metrics);

  G_OBJECT_CLASS (jstp_status_reporter_parent_class)->dispose (object);
}

static void
jstp_status_reporter_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  JstpStatusReporter *self = JSTP_STATUS_REPORTER (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_NETWORK:
      g_value_set_object (value, self->network);
      break;
    case PROP_METRICS:
      g_value_set_object (value, self->metrics);
      break;
    case PROP_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_BUSY_THRESHOLD:
      g_value_set_double (value, jstp_status_reporter_get_busy_threshold (self));
      break;
    case PROP_CRITICAL_THRESHOLD:
      g_value_set_double (value, jstp_status_reporter_get_critical_threshold (self));
      break;
    case PROP_SHED_WHEN_CRITICAL:
      g_value_set_boolean (value, self->shed_when_critical);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_status_reporter_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  JstpStatusReporter *self = JSTP_STATUS_REPORTER (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      self->engine = g_value_dup_object (value);
      break;
    case PROP_NETWORK:
      self->network = g_value_dup_object (value);
      break;
    case PROP_METRICS:
      self->metrics = g_value_dup_object (value);
      break;
    case PROP_INTERVAL:
      jstp_status_reporter_set_interval (self, g_value_get_uint (value));
      break;
    case PROP_BUSY_THRESHOLD:
      jstp_status_reporter_set_busy_threshold (self, g_value_get_double (value));
      break;
    case PROP_CRITICAL_THRESHOLD:
      jstp_status_reporter_set_critical_threshold (self, g_value_get_double (value));
      break;
    case PROP_SHED_WHEN_CRITICAL:
      jstp_status_reporter_set_shed_when_critical (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_status_reporter_class_init (JstpStatusReporterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = jstp_status_reporter_constructed;
  object_class->dispose = jstp_status_reporter_dispose;
  object_class->get_property = jstp_status_reporter_get_property;
  object_class->set_property = jstp_status_reporter_set_property;

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, JSTP_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NETWORK] =
    g_param_spec_object ("network", NULL, NULL, JSTP_TYPE_NETWORK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpStatusReporter:metrics:
   *
   * The host figures to sample; by default a new #JstpHostMetrics reading
   * /proc. A daemon may hand in one set up with its own data directory, a
   * test one that reads fixture files.
   */
  properties[PROP_METRICS] =
    g_param_spec_object ("metrics", NULL, NULL, JSTP_TYPE_HOST_METRICS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpStatusReporter:interval:
   *
   * Milliseconds between samples, and between PUTs to subscribers.
   */
  properties[PROP_INTERVAL] =
    g_param_spec_uint ("interval", NULL, NULL, MIN_INTERVAL_MS, G_MAXUINT, 1000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY_THRESHOLD] =
    g_param_spec_double ("busy-threshold", NULL, NULL, 0.0, 1.0, 0.7,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CRITICAL_THRESHOLD] =
    g_param_spec_double ("critical-threshold", NULL, NULL, 0.0, 1.0, 0.9,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpStatusReporter:shed-when-critical:
   *
   * Whether network dispatches get 429 while the level is critical.
   */
  properties[PROP_SHED_WHEN_CRITICAL] =
    g_param_spec_boolean ("shed-when-critical", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jstp_status_reporter_init (JstpStatusReporter *self)
{
  self->interval = 1000;
}

/* ---- public API -------------------------------------------------------- */

JstpStatusReporter *
jstp_status_reporter_new (JstpEngine  *engine,
                          JstpNetwork *network)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (network == NULL || JSTP_IS_NETWORK (network), NULL);

  return g_object_new (JSTP_TYPE_STATUS_REPORTER, "engine", engine, "network", network, NULL);
}

JstpEngine *
jstp_status_reporter_get_engine (JstpStatusReporter *self)
{
  g_return_val_if_fail (JSTP_IS_STATUS_REPORTER (self), NULL);
  return self->engine;
}

JstpHostMetrics *
jstp_status_reporter_get_metrics (JstpStatusReporter *self)
{
  g_return_val_if_fail (JSTP_IS_STATUS_REPORTER (self), NULL);
  return self->metrics;
}

guint
jstp_status_reporter_get_interval (JstpStatusReporter *self)
{
  g_return_val_if_fail (JSTP_IS_STATUS_REPORTER (self), 0);
  return self->interval;
}

void
jstp_status_reporter_set_interval (JstpStatusReporter *self,
                                   guint               interval_ms)
{
  g_return_if_fail (JSTP_IS_STATUS_REPORTER (self));
  g_return_if_fail (interval_ms >= MIN_INTERVAL_MS);

  if (self->interval == interval_ms)
    return;
  self->interval = interval_ms;
  if (self->timeout_id)
    restart_timer (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INTERVAL]);
}

double
jstp_status_reporter_get_busy_threshold (JstpStatusReporter *self)
{
  g_return_val_if_fail (JSTP_IS_STATUS_REPORTER (self), 0.0);
  return jstp_host_metrics_get_busy_threshold (self->metrics);
}

void
jstp_status_reporter_set_busy_threshold (JstpStatusReporter *self,
                                         double              threshold)
{
  g_return_if_fail (JSTP_IS_STATUS_REPORTER (self));
  g_return_if_fail (threshold >= 0.0 && threshold <= 1.0);

  if (jstp_host_metrics_get_busy_threshold (self->metrics) == threshold)
    return;
  jstp_host_metrics_set_busy_threshold (self->metrics, threshold);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY_THRESHOLD]);
}

double
jstp_status_reporter_get_critical_threshold (JstpStatusReporter *self)
{
  g_return_val_if_fail (JSTP_IS_STATUS_REPORTER (self), 0.0);
  return jstp_host_metrics_get_critical_threshold (self->metrics);
}

void
jstp_status_reporter_set_critical_threshold (JstpStatusReporter *self,
                                             double              threshold)
{
  g_return_if_fail (JSTP_IS_STATUS_REPORTER (self));
  g_return_if_fail (threshold >= 0.0 && threshold <= 1.0);

  if (jstp_host_metrics_get_critical_threshold (self->metrics) == threshold)
    return;
  jstp_host_metrics_set_critical_threshold (self->metrics, threshold);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CRITICAL_THRESHOLD]);
}

gboolean
jstp_status_reporter_get_shed_when_critical (JstpStatusReporter *self)
{
  g_return_val_if_fail (JSTP_IS_STATUS_REPORTER (self), FALSE);
  return self->shed_when_critical;
}

void
jstp_status_reporter_set_shed_when_critical (JstpStatusReporter *self,
                                             gboolean            shed)
{
  g_return_if_fail (JSTP_IS_STATUS_REPORTER (self));

  shed = !!shed;
  if (self->shed_when_critical == shed)
    return;
  self->shed_when_critical = shed;
  /* Before construction ends the engine is not known yet: constructed()
   * installs it then. */
  if (self->engine && self->timeout_id)
    update_admission (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHED_WHEN_CRITICAL]);
}

JstpSaturationLevel
jstp_status_reporter_get_level (JstpStatusReporter *self)
{
  g_return_val_if_fail (JSTP_IS_STATUS_REPORTER (self), JSTP_SATURATION_OK);
  return jstp_host_metrics_get_level (self->metrics);
}

void
jstp_status_reporter_report_now (JstpStatusReporter *self)
{
  g_return_if_fail (JSTP_IS_STATUS_REPORTER (self));

  sample (self);
  emit_report (self);
}

char *
jstp_status_reporter_dup_status_json (JstpStatusReporter *self)
{
  g_return_val_if_fail (JSTP_IS_STATUS_REPORTER (self), NULL);

  return g_string_free (build_status (self, TRUE), FALSE);
}
