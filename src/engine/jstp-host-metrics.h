/* SPDX-License-Identifier: MIT */
/* jstp-host-metrics.h: how saturated the host running an engine is (spec
 * section 8, status reporting). Linux only: the figures come from /proc and
 * statvfs(). */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  JSTP_SATURATION_OK,
  JSTP_SATURATION_BUSY,
  JSTP_SATURATION_CRITICAL,
} JstpSaturationLevel;

#define JSTP_TYPE_SATURATION_LEVEL (jstp_saturation_level_get_type ())

GType        jstp_saturation_level_get_type      (void) G_GNUC_CONST;
/* "ok", "busy" or "critical": the word used on the wire. */
const char  *jstp_saturation_level_to_string     (JstpSaturationLevel level);

#define JSTP_TYPE_HOST_METRICS (jstp_host_metrics_get_type ())

G_DECLARE_FINAL_TYPE (JstpHostMetrics, jstp_host_metrics, JSTP, HOST_METRICS, GObject)

/**
 * JstpHostMetrics:
 *
 * Samples the host's figures each time jstp_host_metrics_sample() is called;
 * the engine calls it once per reporting interval from its main loop. A
 * sample reads a handful of small /proc files with plain read() and calls
 * statvfs() once, so it is cheap enough for the main loop. Between samples
 * every getter returns the figures of the last sample.
 *
 * Figures:
 * - `cpu`: fraction of the whole host's CPU time that was not idle (idle and
 *   iowait count as idle; steal counts as used, since that capacity was not
 *   ours) between the last two samples, from /proc/stat.
 * - `process-cpu`: this process's utime + stime over the same wall time
 *   (/proc/uptime), divided by the number of online CPUs, so that it is on the
 *   same scale as `cpu`: 1.0 means the process kept every CPU busy, and a
 *   single busy thread on an 8-CPU host reads 0.125.
 * - `memory-total`, `memory-available`: bytes, /proc/meminfo MemTotal and
 *   MemAvailable (what can be allocated without swapping, page cache
 *   included).
 * - `disk-total`, `disk-free`: bytes of the volume holding #JstpHostMetrics:data-dir;
 *   free is what an unprivileged process may still write (f_bavail).
 * - `net-rx-bps`, `net-tx-bps`: bytes per second received and sent, summed
 *   over every interface but `lo` (/proc/net/dev). Loopback is left out on
 *   purpose: its traffic never touches a network link, and engines on one
 *   host talking to each other would otherwise count every byte twice. An
 *   interface is counted from the second sample it appears in, so that a new
 *   interface does not show its whole history as one second of traffic.
 * - `load1`: the 1-minute load average, for display only.
 *
 * The first sample has no earlier one to compare with: it reports CPU use
 * averaged since boot (host) and since the process started (process), and
 * network rates of 0.
 *
 * Saturation:
 *
 *   saturation = max (cpu, memory_used, disk_used, engine_load)
 *
 * where memory_used = 1 - memory_available / memory_total, disk_used =
 * used / (used + free) as df(1) computes it (blocks reserved for root are
 * neither), and engine_load is what the engine reports through
 * jstp_host_metrics_set_engine_load() (its connections over its connection
 * limit, its queued bytes over its queue limit, whichever is higher).
 *
 * The maximum, not an average: a host is saturated as soon as the first
 * resource runs out, however idle the others are, and an average would hide
 * a full disk behind an idle CPU. Network rates and the load average stay out
 * of the formula: the capacity of a link is not known, and the load average
 * lags and counts tasks blocked on unrelated I/O.
 *
 * Levels: `busy` from #JstpHostMetrics:busy-threshold (0.7) and `critical`
 * from #JstpHostMetrics:critical-threshold (0.9) upwards. A level is only
 * left once saturation has fallen 0.05 below its threshold, so that a host
 * hovering at a threshold does not flap between levels every second. The
 * level is evaluated by jstp_host_metrics_sample() only, so a new engine load
 * or threshold takes effect at the next sample and every report is computed
 * from one consistent set of figures. #JstpHostMetrics::level-changed is
 * emitted by the sample that changes the level.
 */

/**
 * jstp_host_metrics_new:
 * @data_dir: (nullable): a directory on the volume whose free space matters,
 *   or %NULL for g_get_user_data_dir()
 *
 * Reads /proc. No sample is taken until jstp_host_metrics_sample().
 *
 * Returns: (transfer full): a new #JstpHostMetrics
 */
JstpHostMetrics     *jstp_host_metrics_new                    (const char      *data_dir);

/* Takes one sample and updates every figure, then the level. */
void                 jstp_host_metrics_sample                 (JstpHostMetrics *self);

/* The number of samples taken so far. */
guint64              jstp_host_metrics_get_n_samples          (JstpHostMetrics *self);

double               jstp_host_metrics_get_cpu                (JstpHostMetrics *self);
double               jstp_host_metrics_get_process_cpu        (JstpHostMetrics *self);
/* Online CPUs counted in /proc/stat at the last sample (at least 1). */
guint                jstp_host_metrics_get_n_cpus             (JstpHostMetrics *self);
guint64              jstp_host_metrics_get_memory_total       (JstpHostMetrics *self);
guint64              jstp_host_metrics_get_memory_available   (JstpHostMetrics *self);
guint64              jstp_host_metrics_get_disk_total         (JstpHostMetrics *self);
guint64              jstp_host_metrics_get_disk_free          (JstpHostMetrics *self);
/* The disk_used of the saturation formula below: used / (used + free), as
 * df(1) shows it; not 1 - free / total, since reserved blocks are neither. */
double               jstp_host_metrics_get_disk_used          (JstpHostMetrics *self);
double               jstp_host_metrics_get_net_rx_bps         (JstpHostMetrics *self);
double               jstp_host_metrics_get_net_tx_bps         (JstpHostMetrics *self);
double               jstp_host_metrics_get_load1              (JstpHostMetrics *self);
double               jstp_host_metrics_get_saturation         (JstpHostMetrics *self);
JstpSaturationLevel  jstp_host_metrics_get_level              (JstpHostMetrics *self);

/**
 * jstp_host_metrics_set_engine_load:
 * @engine_load: the engine's own load in [0, 1]; clamped, NaN reads as 0
 *
 * Used from the next jstp_host_metrics_sample() on.
 */
void                 jstp_host_metrics_set_engine_load        (JstpHostMetrics *self,
                                                               double           engine_load);
double               jstp_host_metrics_get_engine_load        (JstpHostMetrics *self);

void                 jstp_host_metrics_set_busy_threshold     (JstpHostMetrics *self,
                                                               double           threshold);
double               jstp_host_metrics_get_busy_threshold     (JstpHostMetrics *self);
void                 jstp_host_metrics_set_critical_threshold (JstpHostMetrics *self,
                                                               double           threshold);
double               jstp_host_metrics_get_critical_threshold (JstpHostMetrics *self);

void                 jstp_host_metrics_set_data_dir           (JstpHostMetrics *self,
                                                               const char      *data_dir);
const char          *jstp_host_metrics_get_data_dir           (JstpHostMetrics *self);
const char          *jstp_host_metrics_get_proc_root          (JstpHostMetrics *self);

/**
 * jstp_host_metrics_to_json:
 * @out: the string the object is appended to
 *
 * Appends the figures of the last sample as one compact JSON object, with
 * these keys in this order: `cpu`, `process_cpu`, `memory_total`,
 * `memory_available`, `disk_total`, `disk_free`, `net_rx_bps`, `net_tx_bps`,
 * `load1`, `engine_load`, `saturation` (numbers), `level` ("ok", "busy" or
 * "critical"). Fractions and rates are written with four decimals in the C
 * locale, byte counts as integers; a figure that is not finite is written as
 * 0, so the output is always valid JSON.
 */
void                 jstp_host_metrics_to_json                (JstpHostMetrics *self,
                                                               GString         *out);

G_END_DECLS
