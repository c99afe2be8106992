/* SPDX-License-Identifier: MIT */
/* jstp-pool-member.h: one engine of a #JstpPool, with the figures it last
 * reported and what the pool thinks of it. Read-only for everyone but the
 * pool; every change is a property notification, so views can bind to it. */
#pragma once

#include <json-glib/json-glib.h>

#include "jstp-host-metrics.h"

G_BEGIN_DECLS

typedef enum {
  JSTP_POOL_MEMBER_UNKNOWN,   /* has not reported yet */
  JSTP_POOL_MEMBER_UP,        /* reporting */
  JSTP_POOL_MEMBER_STALE,     /* connected, but stopped reporting */
  JSTP_POOL_MEMBER_DOWN,      /* refused the connection, or it closed */
} JstpPoolMemberState;

#define JSTP_TYPE_POOL_MEMBER_STATE (jstp_pool_member_state_get_type ())

GType        jstp_pool_member_state_get_type (void) G_GNUC_CONST;
/* "unknown", "up", "stale" or "down". */
const char  *jstp_pool_member_state_to_string (JstpPoolMemberState state);

#define JSTP_TYPE_POOL_MEMBER (jstp_pool_member_get_type ())

G_DECLARE_FINAL_TYPE (JstpPoolMember, jstp_pool_member, JSTP, POOL_MEMBER, GObject)

const char          *jstp_pool_member_get_address     (JstpPoolMember *self);
guint16              jstp_pool_member_get_port        (JstpPoolMember *self);
/* "tcp" or "ws". */
const char          *jstp_pool_member_get_label       (JstpPoolMember *self);
/* "tcp://127.0.0.1:33333", "ws://[::1]:33334". */
const char          *jstp_pool_member_get_uri         (JstpPoolMember *self);

JstpPoolMemberState  jstp_pool_member_get_state       (JstpPoolMember *self);
/* Why it is down, in English for logs; %NULL when it is not. */
const char          *jstp_pool_member_get_last_error  (JstpPoolMember *self);

/* From its last status report; %NULL, 0, ok and 0 before the first. */
const char          *jstp_pool_member_get_name        (JstpPoolMember *self);
double               jstp_pool_member_get_saturation  (JstpPoolMember *self);
JstpSaturationLevel  jstp_pool_member_get_level       (JstpPoolMember *self);
/* Its reporting interval in ms, as it said. */
guint                jstp_pool_member_get_interval    (JstpPoolMember *self);
/* (transfer none) (nullable): the whole last status body (keys in
 * jstp-status-reporter.h). */
JsonObject          *jstp_pool_member_get_status      (JstpPoolMember *self);
const char          *jstp_pool_member_get_status_json (JstpPoolMember *self);
/* g_get_monotonic_time() of the last report; 0 before the first. */
gint64               jstp_pool_member_get_last_report_time (JstpPoolMember *self);
/* TRUE after it answered 429, until its next report. */
gboolean             jstp_pool_member_get_shedding    (JstpPoolMember *self);

/* Dispatches the pool sent it, and those still waiting for a first answer. */
guint64              jstp_pool_member_get_n_chosen    (JstpPoolMember *self);
guint                jstp_pool_member_get_in_flight   (JstpPoolMember *self);

/* Whether the pool may send it new work: up, not critical, not shedding. */
gboolean             jstp_pool_member_is_available    (JstpPoolMember *self);

G_END_DECLS
