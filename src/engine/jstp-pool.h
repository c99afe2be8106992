/* SPDX-License-Identifier: MIT */
/* jstp-pool.h: balancing over equivalent engines (spec section 8).
 *
 * A client names several engines that serve the same resources; the pool
 * watches their status reports and sends each dispatch to the least
 * saturated one:
 *
 *   pool = jstp_pool_new (network);
 *   jstp_pool_add_member (pool, "10.0.0.1", 33333, "tcp");
 *   jstp_pool_add_member (pool, "10.0.0.2", 33333, "tcp");
 *   jstp_pool_emit (pool, dispatch, on_answer, data, NULL);
 */
#pragma once

#include <gio/gio.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "jstp-pool-member.h"

G_BEGIN_DECLS

#define JSTP_TYPE_POOL (jstp_pool_get_type ())

G_DECLARE_FINAL_TYPE (JstpPool, jstp_pool, JSTP, POOL, GObject)

/**
 * JstpPool:
 *
 * A #GListModel of #JstpPoolMember, in the order they were added.
 *
 * Watching: for each member the pool BINDs `PUT ["jstp","status"]` on it
 * through the network's engine (the network re-binds after reconnecting)
 * and GETs `["jstp","status"]` at once, so that figures are known before
 * the first interval ends. A report makes the member `up`. A member that
 * sent nothing for #JstpPool:stale-intervals of its own reporting intervals,
 * or that answers the GET with an error (no reporter), turns `stale`; one
 * whose connection is refused or closes turns `down`.
 * Both are probed again with a growing delay (up to 30 s) and are taken
 * back by their next report.
 *
 * Choosing: a member gets new work when it is `up`, its level is not
 * critical, and it has not answered 429 since its last report. Among
 * those, the members whose saturation is within
 * #JstpPool:saturation-tolerance of the lowest are taken as equals, and of
 * them the one with the fewest dispatches waiting for a first answer, then
 * the one chosen longest ago, gets it: the least saturated engines share
 * the work instead of the first of them taking all of it between two
 * reports. When no member has reported yet, those not known to be down are
 * tried in turn.
 *
 * The status subscription is shared by everything that uses the same
 * network: two pools over one network that name the same engine should not
 * be disposed independently.
 */

/* Watches nothing until members are added; keeps a reference to @network. */
JstpPool        *jstp_pool_new               (JstpNetwork        *network);

JstpNetwork     *jstp_pool_get_network       (JstpPool           *self);

/**
 * jstp_pool_add_member:
 * @label: "tcp" or "ws"
 *
 * Adds an engine and starts watching it. Adding one that is already a
 * member returns the existing one.
 * Returns: (transfer none): the member
 */
JstpPoolMember  *jstp_pool_add_member        (JstpPool           *self,
                                              const char         *address,
                                              guint16             port,
                                              const char         *label);
/* Stops watching @member and forgets it; FALSE when it was not ours. */
gboolean         jstp_pool_remove_member     (JstpPool           *self,
                                              JstpPoolMember     *member);

/**
 * jstp_pool_choose:
 *
 * The member the next dispatch would go to, without sending anything.
 * Returns: (transfer none) (nullable): the member, or %NULL when none may
 *   take work
 */
JstpPoolMember  *jstp_pool_choose            (JstpPool           *self);

/**
 * jstp_pool_emit:
 * @dispatch: (transfer none): a regular dispatch with no hops; the chosen
 *   member is added to it as its hop
 * @callback: (nullable): receives the ANSWERs, as with jstp_engine_emit()
 *
 * Sends @dispatch to the member jstp_pool_choose() names and emits
 * #JstpPool::member-chosen. When no member may take it, @callback gets an
 * ANSWER from the pool itself, before this returns: 429 when members are up
 * but all critical, 502 when none is reachable. A 502 or 503 answer through
 * a member marks it down; a 429 keeps it out until its next report.
 * Returns: (transfer none) (nullable): the member chosen
 */
JstpPoolMember  *jstp_pool_emit              (JstpPool           *self,
                                              JstpDispatch       *dispatch,
                                              JstpAnswerFunc      callback,
                                              gpointer            user_data,
                                              GDestroyNotify      destroy);

/* (transfer none) (nullable): the member of the last jstp_pool_emit(). */
JstpPoolMember  *jstp_pool_get_last_choice   (JstpPool           *self);
/* Members that may take work now. */
guint            jstp_pool_get_n_available   (JstpPool           *self);

/* Missed intervals before a member counts as stale; default 3. */
guint            jstp_pool_get_stale_intervals (JstpPool         *self);
void             jstp_pool_set_stale_intervals (JstpPool         *self,
                                              guint               intervals);

G_END_DECLS
