/* SPDX-License-Identifier: MIT */
/* jstp-subscription-table.h: the engine's index of BINDs.
 *
 * Keyed by method and by the head of each pattern (a trie over resource
 * elements: the elements before the first `...`, literals by their text,
 * `*` and `:name` as one wildcard edge), so routing one dispatch visits only
 * the subscriptions that can match it, whatever the size of the table.
 * Patterns that start with `...` are the exception: they are tried against
 * every dispatch of their method. */
#pragma once

#include <glib.h>
#include "jstp-pattern.h"

G_BEGIN_DECLS

typedef struct _JstpSubscriptionTable JstpSubscriptionTable;

/* One subscription: an endpoint pattern bound by an owner (the emitter:
 * a connection, or a local binding). @data belongs to the caller. */
typedef struct {
  JstpPattern *pattern;
  gpointer owner;
  gpointer data;
  guint64 id;
  /*< private >*/
  gint ref_count;
  gboolean removed;
  gpointer node;
} JstpSubscription;

typedef struct {
  JstpSubscription *subscription;   /* a reference: the match owns it */
  JstpCaptures captures;
} JstpMatch;

JstpSubscriptionTable *jstp_subscription_table_new       (void);
void                   jstp_subscription_table_free      (JstpSubscriptionTable *table);

JstpSubscription      *jstp_subscription_ref             (JstpSubscription *subscription);
void                   jstp_subscription_unref           (JstpSubscription *subscription);

/**
 * jstp_subscription_table_add:
 * @existed: (out) (optional): TRUE when @owner already had an equal pattern;
 *   the existing subscription is then returned and nothing is added
 *
 * Returns: (transfer none): the subscription, owned by the table
 */
JstpSubscription      *jstp_subscription_table_add       (JstpSubscriptionTable *table,
                                                          JstpPattern           *pattern,
                                                          gpointer               owner,
                                                          gpointer               data,
                                                          gboolean              *existed);
/* Removes one subscription; FALSE if it was already removed. */
gboolean               jstp_subscription_table_remove    (JstpSubscriptionTable *table,
                                                          JstpSubscription      *subscription);
/* The owner's subscription with a pattern equal to @pattern, or NULL. */
JstpSubscription      *jstp_subscription_table_lookup    (JstpSubscriptionTable *table,
                                                          const JstpPattern     *pattern,
                                                          gpointer               owner);
/**
 * jstp_subscription_table_steal_owner:
 *
 * Removes every subscription of @owner.
 * Returns: (transfer full) (element-type JstpSubscription): what was removed,
 *   each a reference the caller drops
 */
GPtrArray             *jstp_subscription_table_steal_owner (JstpSubscriptionTable *table,
                                                          gpointer               owner);
guint                  jstp_subscription_table_count_owner (JstpSubscriptionTable *table,
                                                          gpointer               owner);
guint                  jstp_subscription_table_get_size  (JstpSubscriptionTable *table);
/* Nodes of the index, for tests and diagnostics: it shrinks back as
 * subscriptions go. */
guint                  jstp_subscription_table_get_n_nodes (JstpSubscriptionTable *table);
/* Patterns tried against dispatches since the table was made, for tests,
 * benchmarks and diagnostics: shows how few the index lets through. */
guint64                jstp_subscription_table_get_n_tested (JstpSubscriptionTable *table);

/**
 * jstp_subscription_table_collect:
 * @matches: (element-type JstpMatch): an array of #JstpMatch the matches are
 *   appended to; each holds a reference the caller drops with
 *   jstp_match_clear()
 *
 * Collects before anyone is called, so callbacks may bind and unbind freely.
 * Matches are appended in the order their subscriptions were added.
 * Returns: the number of matches appended
 */
guint                  jstp_subscription_table_collect   (JstpSubscriptionTable *table,
                                                          const char            *method,
                                                          const JstpElement     *resource,
                                                          guint                  n_resource,
                                                          GArray                *matches);
void                   jstp_match_clear                  (JstpMatch             *match);

G_END_DECLS
