/* SPDX-License-Identifier: MIT */
/* jstp-status-reporter.h: an engine's status reporting (spec section 8).
 *
 * Samples the host (#JstpHostMetrics) and the engine every interval, answers
 * `GET ["jstp","status"]` with the figures and emits them as
 * `PUT ["jstp","status"]` to every subscriber, local or remote:
 *
 *   reporter = jstp_status_reporter_new (engine, network);
 *   ...a peer BINDs PUT ["jstp","status"] and receives a PUT every second.
 */
#pragma once

#include <glib-object.h>

#include "jstp-engine.h"
#include "jstp-host-metrics.h"
#include "jstp-network.h"

G_BEGIN_DECLS

#define JSTP_TYPE_STATUS_REPORTER (jstp_status_reporter_get_type ())

G_DECLARE_FINAL_TYPE (JstpStatusReporter, jstp_status_reporter, JSTP, STATUS_REPORTER, GObject)

/**
 * JstpStatusReporter:
 *
 * The status body, the same for the GET answer and the PUT, is one JSON
 * object with these keys in this order:
 *
 * - `name`, `kind`: the engine's (strings).
 * - `timestamp`: when the figures were sampled, ms since the Unix epoch.
 * - `interval`: the reporting interval in ms; a subscriber that hears
 *   nothing for a few intervals may take the engine for gone.
 * - `cpu`, `process_cpu`, `memory_total`, `memory_available`, `disk_total`,
 *   `disk_free`, `net_rx_bps`, `net_tx_bps`, `load1`, `engine_load`,
 *   `saturation`, `level`: the host figures, exactly as
 *   jstp_host_metrics_to_json() writes them (see jstp-host-metrics.h for
 *   their meaning and the saturation formula).
 * - `n_cpus`: online CPUs.
 * - `memory_used`, `disk_used`: the fractions the saturation formula uses
 *   (disk as df(1) shows it, which 1 - disk_free / disk_total is not).
 * - `busy_threshold`, `critical_threshold`: where `level` turns "busy" and
 *   "critical".
 * - `connections`: open connections, inbound and outbound.
 * - `max_connections`: the network's connection limit (0: no network).
 * - `dispatches_in_per_s`, `dispatches_out_per_s`: dispatches processed and
 *   written per second over the last interval (jstp_engine_get_counters()
 *   differences; the reporter's own PUTs are included).
 * - `dispatches_in`, `dispatches_out`: the same, totals since the start.
 * - `queued_bytes`: bytes waiting to be written over every connection.
 * - `queue_limit`: one connection's hard queue limit (0: no network).
 * - `subscriptions`, `transactions`: in the engine's tables now.
 * - `shedding`: whether dispatches from the network are being refused with
 *   429 right now.
 * - `bridges`: with a network, its bridges as GET ["jstp","bridges"] answers
 *   them: id, host, port, transport, endpoint, state and `received`, the
 *   dispatches that arrived over the bridge's link since it came up.
 *
 * The engine load handed to the host metrics is the higher of connections
 * over the connection limit and queued bytes over the queue limit: either
 * one running out stops the engine from taking on work, however idle the
 * host is. Without a network it is 0.
 *
 * A GET costs no sampling: the host figures, the rates, `engine_load`,
 * `saturation` and `level` are those of the last sample. The engine's counts
 * (`connections`, `dispatches_in`, `dispatches_out`, `queued_bytes`,
 * `subscriptions`, `transactions`) are read when the answer is written, so
 * that a client sees its own connection counted. A PUT carries the figures
 * of the sample it reports, counts included.
 */

/**
 * jstp_status_reporter_new:
 * @engine: the engine that reports
 * @network: (nullable): its network side, for queued bytes and limits
 *
 * Takes a first sample at once, binds `GET ["jstp","status"]` on @engine
 * and starts reporting every #JstpStatusReporter:interval.
 *
 * Returns: (transfer full): a new reporter
 */
JstpStatusReporter  *jstp_status_reporter_new              (JstpEngine         *engine,
                                                            JstpNetwork        *network);

JstpEngine          *jstp_status_reporter_get_engine       (JstpStatusReporter *self);
/* (transfer none): the host figures (#JstpStatusReporter:metrics); change
 * its data dir here. */
JstpHostMetrics     *jstp_status_reporter_get_metrics      (JstpStatusReporter *self);

/* Milliseconds between samples and reports; default 1 000. */
guint                jstp_status_reporter_get_interval     (JstpStatusReporter *self);
void                 jstp_status_reporter_set_interval     (JstpStatusReporter *self,
                                                            guint               interval_ms);

/* Forwarded to the host metrics; a change takes effect at the next sample. */
double               jstp_status_reporter_get_busy_threshold     (JstpStatusReporter *self);
void                 jstp_status_reporter_set_busy_threshold     (JstpStatusReporter *self,
                                                                  double              threshold);
double               jstp_status_reporter_get_critical_threshold (JstpStatusReporter *self);
void                 jstp_status_reporter_set_critical_threshold (JstpStatusReporter *self,
                                                                  double              threshold);

/**
 * jstp_status_reporter_set_shed_when_critical:
 *
 * When on, and the level is critical, regular dispatches that arrive from
 * the network are answered 429 instead of being processed (through an
 * admission hook, see jstp_engine_add_admission_hook()). The reserved `["jstp", ...]` resources
 * stay served, so that clients can still watch the engine recover.
 */
gboolean             jstp_status_reporter_get_shed_when_critical (JstpStatusReporter *self);
void                 jstp_status_reporter_set_shed_when_critical (JstpStatusReporter *self,
                                                                  gboolean            shed);

JstpSaturationLevel  jstp_status_reporter_get_level        (JstpStatusReporter *self);

/* Samples now and emits the PUT, without waiting for the interval. */
void                 jstp_status_reporter_report_now       (JstpStatusReporter *self);

/* The status body a GET would be answered with now; free with g_free(). */
char                *jstp_status_reporter_dup_status_json  (JstpStatusReporter *self);

G_END_DECLS
