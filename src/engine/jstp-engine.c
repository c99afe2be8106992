/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "config.h"

#include <string.h>
#include <sodium.h>

#include "jstp-engine.h"
#include "jstp-engine-private.h"
#include "jstp-json-writer.h"
#include "jstp-subscription-table.h"

/* A subscription of a local callback; the table's owner pointer. */
typedef struct {
  guint64 id;
  JstpEngine *engine;
  JstpBindFunc callback;
  gpointer user_data;
  GDestroyNotify destroy;
  JstpSubscription *subscription;   /* owned by the table */
  gboolean internal;                /* the engine's own ["jstp", ...] handlers */
} Binding;

/* The answer bookkeeping of one transaction (section 5, step 5). */
typedef struct {
  char *id;
  JstpEngine *engine;

  /* Where answers go: a local callback, the connection the dispatch came
   * from, or both (never neither for long). */
  JstpAnswerFunc callback;
  gpointer user_data;
  GDestroyNotify destroy;
  JstpConnection *origin;           /* weak in spirit: cleared when it closes */
  char *origin_trigger;             /* the triggering id the origin gave us */

  /* triggering id -> the connection it was sent to (NULL: a local callback);
   * an ANSWER is accepted only from where its triggering id went. */
  GHashTable *open;
  JstpConnection *forwarded_to;     /* forwarded: answers come from here */
  guint answers;
  guint busy;                       /* > 0 while triggering: do not finish yet */
  gboolean finished;
  gboolean timed_out;
  gint64 deadline_us;
  GList *timeout_link;              /* in the engine's deadline queue */
} Transaction;

/* One of jstp_engine_add_admission_hook()'s hooks. */
typedef struct {
  guint id;
  JstpAdmissionHook func;
  gpointer user_data;
  GDestroyNotify destroy;
} AdmissionHook;

/* A dispatch waiting for its outbound connection. */
typedef struct {
  guint64 id;
  JstpDispatch *dispatch;
  JstpConnection *from;
  char *transaction_id;
} PendingForward;

struct _JstpEngine
{
  GObject parent_instance;

  char *name;
  char *kind;
  JstpParseOptions parse_options;
  guint answer_timeout;
  guint max_subscriptions_per_connection;
  gboolean gateway_local;
  gboolean gateway_remote;

  JstpSubscriptionTable *table;
  GHashTable *transactions;         /* id -> Transaction */
  GHashTable *origin_counts;        /* JstpConnection -> its open transactions */
  GHashTable *bindings;             /* &id -> Binding */
  guint64 next_binding_id;
  GHashTable *connections;          /* JstpConnection -> itself (reference) */

  JstpOutboundFunc outbound_func;
  gpointer outbound_data;
  GHashTable *pending_forwards;     /* &id -> PendingForward */
  guint64 next_forward_id;

  JstpEngineCounters counters;
  JstpConnection *current_connection;   /* during process() */

  GPtrArray *admission_hooks;       /* AdmissionHook, in the order added */
  guint next_hook_id;

  /* Open transactions by deadline, with one timer for all of them: a
   * GSource per transaction would cost more than the transaction. */
  GQueue deadlines;
  GSource *deadline_source;
};

G_DEFINE_FINAL_TYPE (JstpEngine, jstp_engine, G_TYPE_OBJECT)

/* Open transactions one connection may have started (security.md 3.3):
 * without a cap, a peer that never waits for answers grows the table
 * for a whole answer timeout. More get 429. */
#define MAX_TRANSACTIONS_PER_CONNECTION 1024

enum {
  PROP_0,
  PROP_NAME,
  PROP_KIND,
  PROP_MODE,
  PROP_ANSWER_TIMEOUT,
  PROP_GATEWAY_LOCAL,
  PROP_GATEWAY_REMOTE,
  N_PROPS
};

enum {
  TRAFFIC,
  CONNECTION_ADDED,
  CONNECTION_REMOVED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void process (JstpEngine *self, JstpConnection *from, JstpDispatch *dispatch,
                     Transaction *tx, Binding *binding);
static void process_one (JstpEngine *self, JstpConnection *from, JstpDispatch *dispatch,
                         Transaction *tx, Binding *binding);

/* ---- traffic observation ----------------------------------------------- */

/* The inspector's view; free when nobody listens. */
static inline void
notify_traffic (JstpEngine     *self,
                JstpDispatch   *dispatch,
                JstpConnection *connection,
                gboolean        outgoing)
{
  if (g_signal_has_handler_pending (self, signals[TRAFFIC], 0, FALSE))
    g_signal_emit (self, signals[TRAFFIC], 0, dispatch, connection, outgoing);
}

static void
send_to (JstpEngine     *self,
         JstpConnection *connection,
         JstpDispatch   *dispatch,
         const char     *triggering_id)
{
  self->counters.dispatches_out++;
  jstp_connection_send (connection, dispatch, triggering_id);
  notify_traffic (self, dispatch, connection, TRUE);
}

/* ---- transactions ------------------------------------------------------ */

static void transaction_finish (Transaction *tx);
static void send_to_origin (Transaction *tx, JstpDispatch *answer);

static void
update_deadline_timer (JstpEngine *self)
{
  Transaction *head = g_queue_peek_head (&self->deadlines);

  g_source_set_ready_time (self->deadline_source, head ? head->deadline_us : -1);
}

static void
transaction_timeout (Transaction *tx)
{
  JstpEngine *self = tx->engine;
  GHashTableIter iter;
  gpointer key;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  tx->timed_out = TRUE;
  tx->busy++;

  /* Each triggering id still open gets exactly one 504. */
  g_hash_table_iter_init (&iter, tx->open);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (ids, g_strdup (key));
  g_hash_table_remove_all (tx->open);

  for (guint i = 0; i < ids->len && !tx->finished; i++)
    {
      g_autoptr(JstpDispatch) answer =
        jstp_dispatch_new_answer (JSTP_STATUS_TIMEOUT, tx->id, g_ptr_array_index (ids, i));

      self->counters.timeouts++;
      jstp_dispatch_set_body_json (answer, "{\"message\":\"no answer before the timeout\"}",
                                   NULL);
      if (tx->callback)
        tx->callback (self, answer, tx->user_data);
      if (tx->origin)
        send_to_origin (tx, answer);
    }
  if (tx->forwarded_to && tx->answers == 0 && !tx->finished)
    {
      g_autofree char *trig = jstp_new_id ();
      g_autoptr(JstpDispatch) answer = jstp_dispatch_new_answer (JSTP_STATUS_TIMEOUT, tx->id, trig);

      self->counters.timeouts++;
      if (tx->callback)
        tx->callback (self, answer, tx->user_data);
      if (tx->origin)
        send_to_origin (tx, answer);
    }

  tx->busy--;
  transaction_finish (tx);
}

static gboolean
deadlines_cb (gpointer data)
{
  JstpEngine *self = data;
  gint64 now = g_get_monotonic_time ();
  Transaction *head;

  while ((head = g_queue_peek_head (&self->deadlines)) != NULL && head->deadline_us <= now)
    {
      g_queue_pop_head (&self->deadlines);
      head->timeout_link = NULL;
      transaction_timeout (head);
    }
  update_deadline_timer (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
deadline_source_dispatch (GSource     *source,
                          GSourceFunc  callback,
                          gpointer     data)
{
  return callback (data);
}

static GSourceFuncs deadline_source_funcs = { NULL, NULL, deadline_source_dispatch, NULL, };

static Transaction *
transaction_new (JstpEngine     *self,
                 const char     *id,
                 JstpConnection *origin,
                 JstpAnswerFunc  callback,
                 gpointer        user_data,
                 GDestroyNotify  destroy)
{
  Transaction *tx = g_new0 (Transaction, 1);

  tx->id = g_strdup (id);
  tx->engine = self;
  tx->origin = origin;
  tx->callback = callback;
  tx->user_data = user_data;
  tx->destroy = destroy;
  tx->open = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  tx->deadline_us = g_get_monotonic_time () + (gint64) self->answer_timeout * 1000;
  {
    /* Deadlines come in order unless the timeout changed meanwhile. */
    GList *after = self->deadlines.tail;

    while (after && ((Transaction *) after->data)->deadline_us > tx->deadline_us)
      after = after->prev;
    if (after)
      g_queue_insert_after (&self->deadlines, after, tx);
    else
      g_queue_push_head (&self->deadlines, tx);
    tx->timeout_link = after ? after->next : self->deadlines.head;
  }
  if (self->deadlines.head == tx->timeout_link)
    update_deadline_timer (self);

  g_hash_table_insert (self->transactions, tx->id, tx);
  self->counters.transactions = g_hash_table_size (self->transactions);
  if (origin)
    g_hash_table_insert (self->origin_counts, origin,
                         GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (self->origin_counts,
                                                                                  origin)) + 1));
  return tx;
}

/* Ends @tx unless it is still triggering or waiting. */
static void
transaction_finish (Transaction *tx)
{
  JstpEngine *self = tx->engine;

  if (tx->busy > 0 || tx->finished)
    return;
  tx->finished = TRUE;

  if (tx->timeout_link)
    {
      gboolean was_head = self->deadlines.head == tx->timeout_link;

      g_queue_delete_link (&self->deadlines, tx->timeout_link);
      tx->timeout_link = NULL;
      if (was_head)
        update_deadline_timer (self);
    }
  g_hash_table_steal (self->transactions, tx->id);
  self->counters.transactions = g_hash_table_size (self->transactions);
  if (tx->origin)
    {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->origin_counts, tx->origin));

      if (count <= 1)
        g_hash_table_remove (self->origin_counts, tx->origin);
      else
        g_hash_table_insert (self->origin_counts, tx->origin, GUINT_TO_POINTER (count - 1));
    }

  if (tx->destroy)
    tx->destroy (tx->user_data);
  g_hash_table_unref (tx->open);
  g_free (tx->origin_trigger);
  g_free (tx->id);
  g_free (tx);
}

static void
transaction_maybe_finish (Transaction *tx)
{
  if (g_hash_table_size (tx->open) == 0 && tx->forwarded_to == NULL)
    transaction_finish (tx);
}

/* The origin knows this engine as one subscriber, by the triggering id it
 * gave; whichever local subscriber answers, the answer travels back under
 * that id, or the origin could not match it. */
static void
send_to_origin (Transaction  *tx,
                JstpDispatch *answer)
{
  g_autoptr(JstpDispatch) copy = NULL;
  g_autoptr(GString) resource = NULL;

  if (tx->origin_trigger == NULL)
    {
      send_to (tx->engine, tx->origin, answer, NULL);
      return;
    }
  resource = g_string_new (NULL);
  g_string_append_printf (resource, "[%u,", jstp_dispatch_get_status (answer));
  jstp_json_append_string (resource, tx->id, -1);
  g_string_append_c (resource, ',');
  jstp_json_append_string (resource, tx->origin_trigger, -1);
  g_string_append_c (resource, ']');
  copy = jstp_dispatch_copy (answer);
  jstp_dispatch_set_resource_json (copy, resource->str, NULL);
  send_to (tx->engine, tx->origin, copy, NULL);
}

static void
transaction_deliver (Transaction  *tx,
                     JstpDispatch *answer)
{
  JstpEngine *self = tx->engine;

  tx->answers++;
  if (tx->callback)
    tx->callback (self, answer, tx->user_data);
  if (tx->origin)
    send_to_origin (tx, answer);
}

/* An answer issued by the engine itself, with a triggering id of its own. */
static void
transaction_answer (Transaction *tx,
                    guint        status,
                    const char  *message)
{
  g_autofree char *trig = jstp_new_id ();
  g_autoptr(JstpDispatch) answer = jstp_dispatch_new_answer (status, tx->id, trig);

  if (message)
    {
      g_autoptr(GString) body = g_string_new ("{\"message\":");
      jstp_json_append_string (body, message, -1);
      g_string_append_c (body, '}');
      jstp_dispatch_set_body_json (answer, body->str, NULL);
    }
  tx->busy++;
  transaction_deliver (tx, answer);
  tx->busy--;
}

void
_jstp_engine_reply_error (JstpEngine     *self,
                          JstpConnection *connection,
                          const char     *transaction_id,
                          guint           status,
                          const char     *message)
{
  g_autofree char *trig = NULL;
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(GString) body = NULL;

  g_return_if_fail (JSTP_IS_ENGINE (self));

  if (transaction_id == NULL || connection == NULL)
    return;

  trig = jstp_new_id ();
  answer = jstp_dispatch_new_answer (status, transaction_id, trig);
  if (message)
    {
      body = g_string_new ("{\"message\":");
      jstp_json_append_string (body, message, -1);
      g_string_append_c (body, '}');
      jstp_dispatch_set_body_json (answer, body->str, NULL);
    }
  send_to (self, connection, answer, NULL);
}

/* Answers a dispatch that failed before any transaction existed. */
static void
reply (JstpEngine     *self,
       JstpConnection *from,
       Transaction    *tx,
       const char     *transaction_id,
       guint           status,
       const char     *message)
{
  if (tx)
    {
      transaction_answer (tx, status, message);
      tx->busy++;
      g_hash_table_remove_all (tx->open);
      tx->busy--;
      transaction_finish (tx);
    }
  else
    _jstp_engine_reply_error (self, from, transaction_id, status, message);
}

/* ---- triggering -------------------------------------------------------- */

static void
deliver_local (JstpEngine         *self,
               Binding            *binding,
               JstpDispatch       *dispatch,
               const char         *triggering_id,
               const JstpCaptures *captures)
{
  if (triggering_id)
    {
      g_autoptr(JstpDispatch) copy = jstp_dispatch_copy (dispatch);

      jstp_dispatch_set_token (copy, jstp_dispatch_get_transaction_id (dispatch), triggering_id);
      binding->callback (self, copy, captures, binding->user_data);
    }
  else
    binding->callback (self, dispatch, captures, binding->user_data);
}

/* Triggers every matching subscription; with @tx, each gets its own
 * triggering id. Returns how many were triggered. */
static guint
trigger (JstpEngine        *self,
         JstpDispatch      *dispatch,
         const char        *method,
         const JstpElement *resource,
         guint              n_resource,
         Transaction       *tx,
         JstpConnection    *skip,
         gboolean           observing)
{
  g_autoptr(GArray) matches = g_array_sized_new (FALSE, FALSE, sizeof (JstpMatch), 8);
  g_autoptr(GPtrArray) trigs = NULL;
  g_autoptr(GString) wire = NULL;
  guint n;

  n = jstp_subscription_table_collect (self->table, method, resource, n_resource, matches);
  if (n == 0)
    return 0;

  /* Every triggering id is open before the first callback runs, so that a
   * subscriber answering at once cannot finish the transaction early. */
  if (tx)
    {
      trigs = g_ptr_array_new_full (n, g_free);
      for (guint i = 0; i < n; i++)
        {
          JstpMatch *m = &g_array_index (matches, JstpMatch, i);
          Binding *binding = m->subscription->data;
          char *trig = jstp_new_id ();

          g_ptr_array_add (trigs, trig);
          g_hash_table_insert (tx->open, g_strdup (trig),
                               binding ? NULL : m->subscription->owner);
        }
      tx->busy++;
    }

  for (guint i = 0; i < n; i++)
    {
      JstpMatch *m = &g_array_index (matches, JstpMatch, i);
      JstpSubscription *sub = m->subscription;
      const char *trig = trigs ? g_ptr_array_index (trigs, i) : NULL;

      if (!sub->removed && (sub->data != NULL || sub->owner != (gpointer) skip) &&
          !(observing && g_str_equal (jstp_pattern_get_method (sub->pattern), "*")))
        {
          Binding *binding = sub->data;

          if (binding)
            deliver_local (self, binding, dispatch, trig, &m->captures);
          else if (trig == NULL)
            {
              /* Without per-subscriber triggering ids every channel gets
               * the same bytes: written once, copied into each queue. */
              if (wire == NULL)
                {
                  wire = g_string_sized_new (512);
                  jstp_connection_write_wire (wire, dispatch, NULL);
                }
              self->counters.dispatches_out++;
              jstp_connection_send_text (sub->owner, wire->str, wire->len);
              notify_traffic (self, dispatch, sub->owner, TRUE);
            }
          else
            send_to (self, sub->owner, dispatch, trig);
        }
      jstp_match_clear (m);
    }

  if (tx)
    {
      tx->busy--;
      transaction_maybe_finish (tx);
    }
  return n;
}

/* Observers of BIND/RELEASE learn of a change in the table. Only endpoints
 * that name BIND or RELEASE observe: a peer that bound `*` for events would
 * otherwise receive BINDs, and its engine would take them as subscriptions
 * by this one, and the two would feed each other for ever. For the same
 * reason the emitter's own connection is left out. */
static void
trigger_subscription_observers (JstpEngine     *self,
                                JstpDispatch   *dispatch,
                                JstpConnection *emitter)
{
  JstpPattern *endpoint = jstp_dispatch_get_endpoint (dispatch);
  guint n = jstp_pattern_get_n_elements (endpoint);
  JstpElement elements[JSTP_PATTERN_MAX_ELEMENTS];

  /* BIND/RELEASE endpoints match the endpoint's resource taken as plain
   * strings (section 4). */
  for (guint i = 0; i < n && i < G_N_ELEMENTS (elements); i++)
    {
      elements[i].type = JSTP_JSON_STRING;
      elements[i].text = jstp_pattern_get_element (endpoint, i);
      elements[i].length = strlen (elements[i].text);
    }
  trigger (self, dispatch, jstp_method_to_string (jstp_dispatch_get_method (dispatch)),
           elements, MIN (n, G_N_ELEMENTS (elements)), NULL, emitter, TRUE);
}

/* ---- the cycle --------------------------------------------------------- */

static void
process_answer (JstpEngine     *self,
                JstpConnection *from,
                JstpDispatch   *answer)
{
  const JstpElement *resource;
  guint n;
  char txid[65], trig[65];
  Transaction *tx;
  gpointer sink;

  resource = jstp_dispatch_get_resource (answer, &n);
  if (resource[1].length >= sizeof txid || (n > 2 && resource[2].length >= sizeof trig))
    return;
  memcpy (txid, resource[1].text, resource[1].length);
  txid[resource[1].length] = '\0';

  tx = g_hash_table_lookup (self->transactions, txid);
  if (tx == NULL || tx->finished)
    {
      /* Never answer an answer: an unknown one is only counted. */
      self->counters.answers_dropped++;
      return;
    }

  if (tx->forwarded_to)
    {
      if (from != tx->forwarded_to)
        {
          self->counters.answers_dropped++;
          return;
        }
      tx->busy++;
      transaction_deliver (tx, answer);
      tx->busy--;
      /* Forwarded transactions cannot know how many answers to expect:
       * they live until the timeout, which then stays silent. */
      if (tx->answers > 0 && g_hash_table_size (tx->open) == 0 && tx->origin == NULL &&
          tx->callback == NULL)
        transaction_finish (tx);
      return;
    }

  if (n < 3)
    {
      self->counters.answers_dropped++;
      return;
    }
  memcpy (trig, resource[2].text, resource[2].length);
  trig[resource[2].length] = '\0';

  if (!g_hash_table_lookup_extended (tx->open, trig, NULL, &sink) || sink != (gpointer) from)
    {
      /* Answers are bound to the peer the triggering id was sent to. */
      self->counters.answers_dropped++;
      return;
    }
  g_hash_table_remove (tx->open, trig);

  tx->busy++;
  transaction_deliver (tx, answer);
  tx->busy--;
  trigger (self, answer, "ANSWER", resource, n, NULL, NULL, FALSE);
  transaction_maybe_finish (tx);
}

static void
process_subscription (JstpEngine     *self,
                      JstpConnection *from,
                      JstpDispatch   *dispatch,
                      Transaction    *tx,
                      Binding        *binding)
{
  JstpPattern *endpoint = jstp_dispatch_get_endpoint (dispatch);
  const char *txid = jstp_dispatch_get_transaction_id (dispatch);
  gpointer owner = binding ? (gpointer) binding : (gpointer) from;
  gboolean unchanged = FALSE;

  if (owner == NULL)
    {
      reply (self, from, tx, txid, JSTP_STATUS_BAD_DISPATCH,
             "a local BIND needs a callback: use jstp_engine_bind()");
      return;
    }

  if (jstp_dispatch_get_method (dispatch) == JSTP_METHOD_BIND)
    {
      gboolean existed = FALSE;

      if (from && !binding &&
          jstp_subscription_table_lookup (self->table, endpoint, from) == NULL &&
          jstp_subscription_table_count_owner (self->table, from) >=
          self->max_subscriptions_per_connection)
        {
          reply (self, from, tx, txid, JSTP_STATUS_SATURATED,
                 "too many subscriptions on this connection");
          return;
        }
      {
        JstpSubscription *sub =
          jstp_subscription_table_add (self->table, endpoint, owner, binding, &existed);
        if (binding)
          binding->subscription = sub;
        unchanged = existed;
      }
      self->counters.subscriptions = jstp_subscription_table_get_size (self->table);
    }
  else
    {
      JstpSubscription *sub = jstp_subscription_table_lookup (self->table, endpoint, owner);

      if (sub == NULL)
        {
          reply (self, from, tx, txid, JSTP_STATUS_UNBOUND_ENDPOINT,
                 "nothing is bound to that endpoint by this emitter");
          return;
        }
      jstp_subscription_table_remove (self->table, sub);
      self->counters.subscriptions = jstp_subscription_table_get_size (self->table);
    }

  /* Acknowledged subscriptions, this project's extension (section 6). */
  if (tx || (txid && from))
    reply (self, from, tx, txid, JSTP_STATUS_OK, NULL);
  /* A BIND that changed nothing is not news to observers. */
  if (!unchanged)
    trigger_subscription_observers (self, dispatch, from);
}

/* FALSE, after answering 429, when @from has too many open transactions
 * to start another. */
static gboolean
may_open_transaction (JstpEngine     *self,
                      JstpConnection *from,
                      const char     *txid)
{
  if (from == NULL ||
      GPOINTER_TO_UINT (g_hash_table_lookup (self->origin_counts, from)) <
      MAX_TRANSACTIONS_PER_CONNECTION)
    return TRUE;
  reply (self, from, NULL, txid, JSTP_STATUS_SATURATED,
         "too many open transactions on this connection");
  return FALSE;
}

static gboolean
hop_is_known_label (const JstpHop *hop)
{
  return g_str_equal (hop->label, "tcp") || g_str_equal (hop->label, "ws");
}

static void
process_forward (JstpEngine     *self,
                 JstpConnection *from,
                 JstpDispatch   *dispatch,
                 Transaction    *tx)
{
  const char *txid = jstp_dispatch_get_transaction_id (dispatch);
  gboolean allowed = from ? self->gateway_remote : self->gateway_local;
  const JstpHop *first = jstp_dispatch_get_hop (dispatch, 0);
  g_autoptr(JstpDispatch) copy = NULL;
  g_autoptr(JstpHop) hop = NULL;
  PendingForward *pending;

  if (!allowed)
    {
      reply (self, from, tx, txid, JSTP_STATUS_GATEWAY_DISABLED,
             "this engine does not forward dispatches from the network");
      return;
    }
  if (!hop_is_known_label (first))
    {
      g_autofree char *message =
        g_strdup_printf ("unknown transport \"%s\" (tcp and ws are known)", first->label);
      reply (self, from, tx, txid, JSTP_STATUS_UNRECOGNIZED_TRANSPORT, message);
      return;
    }
  if (self->outbound_func == NULL)
    {
      reply (self, from, tx, txid, JSTP_STATUS_UNREACHABLE, "this engine has no network");
      return;
    }

  if (tx == NULL && txid != NULL)
    {
      if (g_hash_table_contains (self->transactions, txid))
        {
          /* The same transaction twice: a loop through gateways, or a
           * replay. Neither can be answered safely. */
          self->counters.unaddressable++;
          return;
        }
      if (!may_open_transaction (self, from, txid))
        return;
      tx = transaction_new (self, txid, from, NULL, NULL, NULL);
      tx->origin_trigger = g_strdup (jstp_dispatch_get_triggering_id (dispatch));
    }

  copy = jstp_dispatch_copy (dispatch);
  hop = jstp_dispatch_pop_hop (copy);

  pending = g_new0 (PendingForward, 1);
  pending->id = ++self->next_forward_id;
  pending->dispatch = g_steal_pointer (&copy);
  pending->from = from ? g_object_ref (from) : NULL;
  pending->transaction_id = g_strdup (tx ? tx->id : NULL);
  g_hash_table_insert (self->pending_forwards, &pending->id, pending);
  if (tx)
    tx->busy++;   /* until the connection is ready */

  self->counters.forwarded++;
  self->outbound_func (self, hop, pending->dispatch, from, pending->id, self->outbound_data);
}

static void
pending_forward_free (gpointer data)
{
  PendingForward *pending = data;

  jstp_dispatch_unref (pending->dispatch);
  g_clear_object (&pending->from);
  g_free (pending->transaction_id);
  g_free (pending);
}

void
_jstp_engine_forward_ready (JstpEngine     *self,
                            guint64         forward_id,
                            JstpConnection *connection,
                            guint           status,
                            const char     *message)
{
  PendingForward *pending;
  Transaction *tx = NULL;

  g_return_if_fail (JSTP_IS_ENGINE (self));

  pending = g_hash_table_lookup (self->pending_forwards, &forward_id);
  g_return_if_fail (pending != NULL);
  g_hash_table_steal (self->pending_forwards, &forward_id);

  if (pending->transaction_id)
    {
      tx = g_hash_table_lookup (self->transactions, pending->transaction_id);
      if (tx)
        tx->busy--;
      /* The answer timeout passed while the connection was being made. */
      if (tx && tx->timed_out)
        {
          transaction_finish (tx);
          tx = NULL;
        }
    }

  if (connection == NULL || jstp_connection_is_closed (connection))
    {
      if (tx)
        reply (self, pending->from, tx, NULL, status ? status : JSTP_STATUS_UNREACHABLE,
               message);
    }
  else
    {
      if (tx)
        tx->forwarded_to = connection;
      send_to (self, connection, pending->dispatch, NULL);
    }

  pending_forward_free (pending);
}

/* Runs the admission hooks on a dispatch about to be processed here;
 * FALSE when one refused it, after answering. The engine's own
 * jstp_engine_bind() and jstp_engine_release() are never refused. */
static gboolean
admit (JstpEngine     *self,
       JstpConnection *from,
       JstpDispatch   *dispatch,
       Transaction    *tx,
       Binding        *binding)
{
  if (binding != NULL)
    return TRUE;

  for (guint i = 0; i < self->admission_hooks->len; i++)
    {
      AdmissionHook *hook = g_ptr_array_index (self->admission_hooks, i);
      g_autofree char *message = NULL;
      guint status = hook->func (self, from, dispatch, &message, hook->user_data);

      if (status != 0)
        {
          reply (self, from, tx, jstp_dispatch_get_transaction_id (dispatch), status,
                 message ? message : "refused by this engine");
          return FALSE;
        }
    }
  return TRUE;
}

static void
process (JstpEngine     *self,
         JstpConnection *from,
         JstpDispatch   *dispatch,
         Transaction    *tx,
         Binding        *binding)
{
  JstpConnection *outer = self->current_connection;

  self->current_connection = from;
  process_one (self, from, dispatch, tx, binding);
  self->current_connection = outer;
}

static void
process_one (JstpEngine     *self,
             JstpConnection *from,
             JstpDispatch   *dispatch,
             Transaction    *tx,
             Binding        *binding)
{
  JstpMorphology morphology = jstp_dispatch_get_morphology (dispatch);
  const char *txid = jstp_dispatch_get_transaction_id (dispatch);

  self->counters.dispatches_in++;
  notify_traffic (self, dispatch, from, FALSE);

  if (morphology == JSTP_MORPHOLOGY_ANSWER)
    {
      process_answer (self, from, dispatch);
      return;
    }

  if (jstp_dispatch_get_n_hops (dispatch) > 0)
    {
      process_forward (self, from, dispatch, tx);
      return;
    }

  if (morphology == JSTP_MORPHOLOGY_SUBSCRIPTION)
    {
      if (admit (self, from, dispatch, tx, binding))
        process_subscription (self, from, dispatch, tx, binding);
      return;
    }

  if (!admit (self, from, dispatch, tx, binding))
    return;

  if (tx == NULL && txid != NULL)
    {
      if (g_hash_table_contains (self->transactions, txid))
        {
          self->counters.unaddressable++;
          return;
        }
      if (!may_open_transaction (self, from, txid))
        return;
      tx = transaction_new (self, txid, from, NULL, NULL, NULL);
      tx->origin_trigger = g_strdup (jstp_dispatch_get_triggering_id (dispatch));
    }

  {
    guint n_resource;
    const JstpElement *resource = jstp_dispatch_get_resource (dispatch, &n_resource);

    if (tx)
      tx->busy++;
    if (trigger (self, dispatch, jstp_method_to_string (jstp_dispatch_get_method (dispatch)),
                 resource, n_resource, tx, NULL, FALSE) == 0 && tx)
      {
        tx->busy--;
        reply (self, from, tx, txid, JSTP_STATUS_NOT_FOUND, "no endpoint matches this dispatch");
        return;
      }
    if (tx)
      {
        tx->busy--;
        transaction_maybe_finish (tx);
      }
  }
}

/* ---- public API -------------------------------------------------------- */

void
jstp_engine_process (JstpEngine     *self,
                     JstpConnection *connection,
                     JstpDispatch   *dispatch)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));
  g_return_if_fail (connection == NULL || JSTP_IS_CONNECTION (connection));
  g_return_if_fail (dispatch != NULL);

  process (self, connection, dispatch, NULL, NULL);
}

/* Whether refused text says it is an ANSWER. Only text that scanned as JSON
 * gets here (a transaction id was read from it), so its members are known;
 * the method is read case-insensitively, like the parser does. */
static gboolean
is_answer_text (const char *text,
                gsize       length)
{
  JstpJsonMember members[64];
  guint n_members = 0;

  if (!jstp_json_scan (text, length, NULL, NULL, members, G_N_ELEMENTS (members), &n_members,
                       NULL))
    return FALSE;
  for (guint i = 0; i < MIN (n_members, G_N_ELEMENTS (members)); i++)
    if (jstp_json_string_equal (text, members[i].name, "method", TRUE) &&
        members[i].value.type == JSTP_JSON_STRING &&
        jstp_json_string_equal (text, members[i].value, "ANSWER", TRUE))
      return TRUE;
  return FALSE;
}

gboolean
jstp_engine_receive (JstpEngine     *self,
                     JstpConnection *connection,
                     const char     *text,
                     gsize           length)
{
  g_autoptr(JstpDispatch) dispatch = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *txid = NULL;

  g_return_val_if_fail (JSTP_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (JSTP_IS_CONNECTION (connection), FALSE);

  dispatch = jstp_dispatch_parse (text, length, &self->parse_options, &txid, &error);
  if (dispatch == NULL)
    {
      self->counters.malformed++;
      if (txid == NULL)
        {
          self->counters.unaddressable++;
          g_debug ("dropped an unaddressable dispatch from %s: %s",
                   jstp_connection_get_peer_address (connection), error->message);
          return FALSE;
        }
      /* Never answer an answer, even a broken one (D10). */
      if (is_answer_text (text, length))
        return FALSE;
      _jstp_engine_reply_error (self, connection, txid, error->code, error->message);
      return FALSE;
    }

  process (self, connection, dispatch, NULL, NULL);
  return TRUE;
}

static void
admission_hook_free (gpointer data)
{
  AdmissionHook *hook = data;

  if (hook->destroy)
    hook->destroy (hook->user_data);
  g_free (hook);
}

guint
jstp_engine_add_admission_hook (JstpEngine        *self,
                                JstpAdmissionHook  hook,
                                gpointer           user_data,
                                GDestroyNotify     destroy)
{
  AdmissionHook *h;

  g_return_val_if_fail (JSTP_IS_ENGINE (self), 0);
  g_return_val_if_fail (hook != NULL, 0);

  h = g_new0 (AdmissionHook, 1);
  h->id = ++self->next_hook_id;
  h->func = hook;
  h->user_data = user_data;
  h->destroy = destroy;
  g_ptr_array_add (self->admission_hooks, h);
  return h->id;
}

void
jstp_engine_remove_admission_hook (JstpEngine *self,
                                   guint       hook_id)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));

  for (guint i = 0; i < self->admission_hooks->len; i++)
    if (((AdmissionHook *) g_ptr_array_index (self->admission_hooks, i))->id == hook_id)
      {
        g_ptr_array_remove_index (self->admission_hooks, i);
        return;
      }
}

JstpConnection *
jstp_engine_get_current_connection (JstpEngine *self)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (self), NULL);
  return self->current_connection;
}

void
jstp_engine_emit (JstpEngine     *self,
                  JstpDispatch   *dispatch,
                  JstpAnswerFunc  callback,
                  gpointer        user_data,
                  GDestroyNotify  destroy)
{
  Transaction *tx = NULL;

  g_return_if_fail (JSTP_IS_ENGINE (self));
  g_return_if_fail (dispatch != NULL);
  g_return_if_fail (jstp_dispatch_get_method (dispatch) != JSTP_METHOD_ANSWER || callback == NULL);

  if (jstp_dispatch_get_method (dispatch) == JSTP_METHOD_ANSWER)
    {
      process (self, NULL, dispatch, NULL, NULL);
      return;
    }

  /* Transaction ids come from the engine, never from a local emitter. */
  if (callback || jstp_dispatch_get_transaction_id (dispatch))
    {
      g_autofree char *txid = jstp_new_id ();

      jstp_dispatch_set_token (dispatch, txid, NULL);
      tx = transaction_new (self, txid, NULL, callback, user_data, destroy);
    }
  else if (destroy)
    destroy (user_data);

  if (tx)
    tx->busy++;
  process (self, NULL, dispatch, tx, NULL);
  if (tx)
    {
      tx->busy--;
      if (!tx->finished)
        transaction_maybe_finish (tx);
    }
}

static void
binding_free (gpointer data)
{
  Binding *binding = data;

  if (binding->destroy)
    binding->destroy (binding->user_data);
  g_free (binding);
}

static guint64
bind_pattern (JstpEngine    *self,
              JstpPattern   *pattern,
              JstpBindFunc   callback,
              gpointer       user_data,
              GDestroyNotify destroy,
              gboolean       internal)
{
  Binding *binding = g_new0 (Binding, 1);
  g_autoptr(JstpDispatch) bind = NULL;

  binding->id = ++self->next_binding_id;
  binding->engine = self;
  binding->callback = callback;
  binding->user_data = user_data;
  binding->destroy = destroy;
  binding->internal = internal;
  g_hash_table_insert (self->bindings, &binding->id, binding);

  bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  process (self, NULL, bind, NULL, binding);
  return binding->id;
}

guint64
jstp_engine_bind_pattern (JstpEngine     *self,
                          JstpPattern    *pattern,
                          JstpBindFunc    callback,
                          gpointer        user_data,
                          GDestroyNotify  destroy)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (self), 0);
  g_return_val_if_fail (pattern != NULL, 0);
  g_return_val_if_fail (callback != NULL, 0);

  return bind_pattern (self, pattern, callback, user_data, destroy, FALSE);
}

guint64
jstp_engine_bind (JstpEngine          *self,
                  const char          *method,
                  const char * const  *resource,
                  JstpBindFunc         callback,
                  gpointer             user_data,
                  GDestroyNotify       destroy,
                  GError             **error)
{
  g_autoptr(JstpPattern) pattern = NULL;

  g_return_val_if_fail (JSTP_IS_ENGINE (self), 0);
  g_return_val_if_fail (method != NULL, 0);
  g_return_val_if_fail (resource != NULL, 0);
  g_return_val_if_fail (callback != NULL, 0);

  pattern = jstp_pattern_new (method, resource, g_strv_length ((char **) resource),
                              self->parse_options.mode, error);
  if (pattern == NULL)
    return 0;
  return bind_pattern (self, pattern, callback, user_data, destroy, FALSE);
}

gboolean
jstp_engine_release (JstpEngine *self,
                     guint64     binding_id)
{
  Binding *binding;
  g_autoptr(JstpDispatch) release = NULL;

  g_return_val_if_fail (JSTP_IS_ENGINE (self), FALSE);

  binding = g_hash_table_lookup (self->bindings, &binding_id);
  if (binding == NULL || binding->subscription == NULL)
    return FALSE;

  release = jstp_dispatch_new_subscription (JSTP_METHOD_RELEASE, binding->subscription->pattern);
  process (self, NULL, release, NULL, binding);
  g_hash_table_remove (self->bindings, &binding_id);
  return TRUE;
}

void
jstp_engine_answer (JstpEngine   *self,
                    JstpDispatch *request,
                    guint         status,
                    const char   *body_json)
{
  const char *txid;
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (JSTP_IS_ENGINE (self));
  g_return_if_fail (request != NULL);
  g_return_if_fail (status >= 100 && status <= 599);

  txid = jstp_dispatch_get_transaction_id (request);
  if (txid == NULL)
    return;

  answer = jstp_dispatch_new_answer (status, txid, jstp_dispatch_get_triggering_id (request));
  if (body_json && !jstp_dispatch_set_body_json (answer, body_json, &error))
    {
      g_warning ("answer body refused: %s", error->message);
      answer = jstp_dispatch_new_answer (JSTP_STATUS_INTERNAL_ERROR, txid,
                                         jstp_dispatch_get_triggering_id (request));
    }
  process (self, NULL, answer, NULL, NULL);
}

/* ---- connections ------------------------------------------------------- */

static void
connection_closed_cb (JstpConnection *connection,
                      JstpEngine     *self)
{
  g_autoptr(GPtrArray) subscriptions = NULL;
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_object_ref (connection);

  /* A body-less RELEASE for each of the channel's subscriptions, so that
   * RELEASE observers learn of it (section 7). */
  subscriptions = jstp_subscription_table_steal_owner (self->table, connection);
  self->counters.subscriptions = jstp_subscription_table_get_size (self->table);
  for (guint i = 0; i < subscriptions->len; i++)
    {
      JstpSubscription *sub = g_ptr_array_index (subscriptions, i);
      g_autoptr(JstpDispatch) release =
        jstp_dispatch_new_subscription (JSTP_METHOD_RELEASE, sub->pattern);

      trigger_subscription_observers (self, release, connection);
    }

  /* Transactions waiting on it get 502; those that came from it lose their
   * way back. */
  g_hash_table_iter_init (&iter, self->transactions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (waiting, value);

  for (guint i = 0; i < waiting->len; i++)
    {
      Transaction *tx = g_ptr_array_index (waiting, i);
      GHashTableIter open_iter;
      gpointer key, sink;
      g_autoptr(GPtrArray) lost = g_ptr_array_new_with_free_func (g_free);

      if (tx->finished)
        continue;
      if (tx->origin == connection)
        tx->origin = NULL;

      g_hash_table_iter_init (&open_iter, tx->open);
      while (g_hash_table_iter_next (&open_iter, &key, &sink))
        if (sink == (gpointer) connection)
          g_ptr_array_add (lost, g_strdup (key));

      tx->busy++;
      for (guint j = 0; j < lost->len; j++)
        {
          g_autoptr(JstpDispatch) answer =
            jstp_dispatch_new_answer (jstp_connection_get_close_status (connection), tx->id,
                                      g_ptr_array_index (lost, j));

          g_hash_table_remove (tx->open, g_ptr_array_index (lost, j));
          jstp_dispatch_set_body_json (answer,
                                       "{\"message\":\"the connection to the subscriber closed\"}",
                                       NULL);
          transaction_deliver (tx, answer);
        }
      if (tx->forwarded_to == connection)
        {
          tx->forwarded_to = NULL;
          if (tx->answers == 0)
            transaction_answer (tx, jstp_connection_get_close_status (connection),
                                jstp_connection_get_close_status (connection) ==
                                JSTP_STATUS_INVALID_REMOTE_HOST
                                ? "the gateway hop does not speak JSTP"
                                : "the gateway hop closed");
        }
      tx->busy--;

      if (tx->callback == NULL && tx->origin == NULL)
        {
          g_hash_table_remove_all (tx->open);
          tx->forwarded_to = NULL;
        }
      transaction_maybe_finish (tx);
    }

  /* Its transactions lost their origin above. */
  g_hash_table_remove (self->origin_counts, connection);
  g_signal_handlers_disconnect_by_func (connection, connection_closed_cb, self);
  if (g_hash_table_remove (self->connections, connection))
    {
      self->counters.connections = g_hash_table_size (self->connections);
      g_signal_emit (self, signals[CONNECTION_REMOVED], 0, connection);
    }
  g_object_unref (connection);
}

void
jstp_engine_add_connection (JstpEngine     *self,
                            JstpConnection *connection)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));
  g_return_if_fail (JSTP_IS_CONNECTION (connection));

  if (g_hash_table_contains (self->connections, connection))
    return;
  jstp_connection_set_engine (connection, self);
  g_hash_table_add (self->connections, g_object_ref (connection));
  g_signal_connect (connection, "closed", G_CALLBACK (connection_closed_cb), self);
  self->counters.connections = g_hash_table_size (self->connections);
  g_signal_emit (self, signals[CONNECTION_ADDED], 0, connection);
}

GPtrArray *
jstp_engine_list_connections (JstpEngine *self)
{
  GPtrArray *list;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (JSTP_IS_ENGINE (self), NULL);

  list = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (list, g_object_ref (key));
  return list;
}

void
_jstp_engine_set_outbound_func (JstpEngine       *self,
                                JstpOutboundFunc  func,
                                gpointer          user_data)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));

  self->outbound_func = func;
  self->outbound_data = user_data;
}

/* ---- the engine's own resources ---------------------------------------- */

static void
info_cb (JstpEngine         *self,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            user_data)
{
  g_autoptr(GString) body = g_string_new ("{\"name\":");
  GHashTableIter iter;
  gpointer value;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean first = TRUE;

  jstp_json_append_string (body, self->name, -1);
  g_string_append (body, ",\"version\":");
  jstp_json_append_string (body, PACKAGE_VERSION, -1);
  g_string_append (body, ",\"kind\":");
  jstp_json_append_string (body, self->kind, -1);
  g_string_append (body, ",\"protocol\":[\"JSTP\",\"0.5\"],\"resources\":[");

  /* What local callbacks serve, as "METHOD [pattern]" once each. */
  g_hash_table_iter_init (&iter, self->bindings);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Binding *binding = value;
      JstpPattern *pattern;
      g_autoptr(GString) entry = NULL;

      if (binding->subscription == NULL || binding->subscription->removed)
        continue;
      pattern = binding->subscription->pattern;
      entry = g_string_new ("{\"method\":");
      jstp_json_append_string (entry, jstp_pattern_get_method (pattern), -1);
      g_string_append (entry, ",\"resource\":[");
      for (guint i = 0; i < jstp_pattern_get_n_elements (pattern); i++)
        {
          if (i > 0)
            g_string_append_c (entry, ',');
          jstp_json_append_string (entry, jstp_pattern_get_element (pattern, i), -1);
        }
      g_string_append (entry, "]}");
      if (g_hash_table_contains (seen, entry->str))
        continue;
      if (!first)
        g_string_append_c (body, ',');
      first = FALSE;
      g_string_append (body, entry->str);
      g_hash_table_add (seen, g_string_free (g_steal_pointer (&entry), FALSE));
    }
  g_string_append (body, "]}");

  jstp_engine_answer (self, dispatch, JSTP_STATUS_OK, body->str);
}

/* ---- GObject ----------------------------------------------------------- */

static void
jstp_engine_dispose (GObject *object)
{
  JstpEngine *self = JSTP_ENGINE (object);
  g_autoptr(GPtrArray) connections = jstp_engine_list_connections (self);
  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; i < connections->len; i++)
    {
      JstpConnection *connection = g_ptr_array_index (connections, i);

      g_signal_handlers_disconnect_by_func (connection, connection_closed_cb, self);
      jstp_connection_close (connection);
      jstp_connection_set_engine (connection, NULL);
    }
  g_hash_table_remove_all (self->connections);

  /* Transactions end without answers: nobody is left to receive them. */
  while (g_hash_table_size (self->transactions) > 0)
    {
      g_hash_table_iter_init (&iter, self->transactions);
      g_hash_table_iter_next (&iter, NULL, &value);
      ((Transaction *) value)->busy = 0;
      transaction_finish (value);
    }
  g_hash_table_remove_all (self->pending_forwards);
  g_ptr_array_set_size (self->admission_hooks, 0);

  G_OBJECT_CLASS (jstp_engine_parent_class)->dispose (object);
}

static void
jstp_engine_finalize (GObject *object)
{
  JstpEngine *self = JSTP_ENGINE (object);

  g_source_destroy (self->deadline_source);
  g_source_unref (self->deadline_source);
  jstp_subscription_table_free (self->table);
  g_hash_table_unref (self->bindings);
  g_hash_table_unref (self->transactions);
  g_hash_table_unref (self->origin_counts);
  g_hash_table_unref (self->connections);
  g_hash_table_unref (self->pending_forwards);
  g_ptr_array_unref (self->admission_hooks);
  g_free (self->name);
  g_free (self->kind);

  G_OBJECT_CLASS (jstp_engine_parent_class)->finalize (object);
}

static void
jstp_engine_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  JstpEngine *self = JSTP_ENGINE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_KIND:
      g_value_set_string (value, self->kind);
      break;
    case PROP_MODE:
      g_value_set_int (value, self->parse_options.mode);
      break;
    case PROP_ANSWER_TIMEOUT:
      g_value_set_uint (value, self->answer_timeout);
      break;
    case PROP_GATEWAY_LOCAL:
      g_value_set_boolean (value, self->gateway_local);
      break;
    case PROP_GATEWAY_REMOTE:
      g_value_set_boolean (value, self->gateway_remote);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_engine_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  JstpEngine *self = JSTP_ENGINE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_free (self->name);
      self->name = g_value_dup_string (value);
      break;
    case PROP_KIND:
      jstp_engine_set_kind (self, g_value_get_string (value));
      break;
    case PROP_MODE:
      jstp_engine_set_mode (self, g_value_get_int (value));
      break;
    case PROP_ANSWER_TIMEOUT:
      jstp_engine_set_answer_timeout (self, g_value_get_uint (value));
      break;
    case PROP_GATEWAY_LOCAL:
      if (self->gateway_local != g_value_get_boolean (value))
        {
          self->gateway_local = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_GATEWAY_REMOTE:
      if (self->gateway_remote != g_value_get_boolean (value))
        {
          self->gateway_remote = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_engine_constructed (GObject *object)
{
  JstpEngine *self = JSTP_ENGINE (object);
  g_autoptr(JstpPattern) info = NULL;

  G_OBJECT_CLASS (jstp_engine_parent_class)->constructed (object);

  info = jstp_pattern_new ("GET", (const char *[]) { "jstp", "info" }, 2, JSTP_MODE_STRICT, NULL);
  bind_pattern (self, info, info_cb, NULL, NULL, TRUE);
}

static void
jstp_engine_class_init (JstpEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = jstp_engine_constructed;
  object_class->dispose = jstp_engine_dispose;
  object_class->finalize = jstp_engine_finalize;
  object_class->get_property = jstp_engine_get_property;
  object_class->set_property = jstp_engine_set_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, "jstp",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_KIND] =
    g_param_spec_string ("kind", NULL, NULL, "engine",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODE] =
    g_param_spec_int ("mode", NULL, NULL, JSTP_MODE_STRICT, JSTP_MODE_QUIRKS, JSTP_MODE_STRICT,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ANSWER_TIMEOUT] =
    g_param_spec_uint ("answer-timeout", NULL, NULL, 1, G_MAXUINT, 10000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpEngine:gateway-local:
   *
   * Whether dispatches from local emitters that name a host are forwarded.
   */
  properties[PROP_GATEWAY_LOCAL] =
    g_param_spec_boolean ("gateway-local", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpEngine:gateway-remote:
   *
   * Whether dispatches that arrived from the network are forwarded; off by
   * default, since an open gateway is an open relay.
   */
  properties[PROP_GATEWAY_REMOTE] =
    g_param_spec_boolean ("gateway-remote", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * JstpEngine::traffic:
   * @dispatch: what was processed or written
   * @connection: (nullable): the peer; %NULL for local emitters
   * @outgoing: TRUE when written to @connection
   *
   * Every dispatch the engine processes or sends, for inspectors.
   * Costs nothing when nobody is connected.
   */
  signals[TRAFFIC] =
    g_signal_new ("traffic", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  JSTP_TYPE_DISPATCH | G_SIGNAL_TYPE_STATIC_SCOPE, JSTP_TYPE_CONNECTION,
                  G_TYPE_BOOLEAN);
  signals[CONNECTION_ADDED] =
    g_signal_new ("connection-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, JSTP_TYPE_CONNECTION);
  signals[CONNECTION_REMOVED] =
    g_signal_new ("connection-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, JSTP_TYPE_CONNECTION);
}

static void
jstp_engine_init (JstpEngine *self)
{
  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");

  self->name = g_strdup ("jstp");
  self->kind = g_strdup ("engine");
  jstp_parse_options_init (&self->parse_options);
  self->answer_timeout = 10000;
  g_queue_init (&self->deadlines);
  self->deadline_source = g_source_new (&deadline_source_funcs, sizeof (GSource));
  g_source_set_callback (self->deadline_source, deadlines_cb, self, NULL);
  g_source_set_static_name (self->deadline_source, "[jstp] answer timeouts");
  g_source_set_ready_time (self->deadline_source, -1);
  g_source_attach (self->deadline_source, g_main_context_get_thread_default ());
  self->max_subscriptions_per_connection = 1000;
  self->gateway_local = TRUE;
  self->gateway_remote = FALSE;
  self->table = jstp_subscription_table_new ();
  self->transactions = g_hash_table_new (g_str_hash, g_str_equal);
  self->origin_counts = g_hash_table_new (NULL, NULL);
  self->bindings = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, binding_free);
  self->connections = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->pending_forwards = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                  pending_forward_free);
  self->admission_hooks = g_ptr_array_new_with_free_func (admission_hook_free);
}

JstpEngine *
jstp_engine_new (const char *name)
{
  return g_object_new (JSTP_TYPE_ENGINE, "name", name, NULL);
}

const char *
jstp_engine_get_name (JstpEngine *self)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (self), NULL);
  return self->name;
}

const char *
jstp_engine_get_kind (JstpEngine *self)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (self), NULL);
  return self->kind;
}

void
jstp_engine_set_kind (JstpEngine *self,
                      const char *kind)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));
  g_return_if_fail (kind != NULL);

  if (g_strcmp0 (self->kind, kind) == 0)
    return;
  g_free (self->kind);
  self->kind = g_strdup (kind);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KIND]);
}

JstpMode
jstp_engine_get_mode (JstpEngine *self)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (self), JSTP_MODE_STRICT);
  return self->parse_options.mode;
}

void
jstp_engine_set_mode (JstpEngine *self,
                      JstpMode    mode)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));

  if (self->parse_options.mode == mode)
    return;
  self->parse_options.mode = mode;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODE]);
}

guint
jstp_engine_get_answer_timeout (JstpEngine *self)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (self), 0);
  return self->answer_timeout;
}

void
jstp_engine_set_answer_timeout (JstpEngine *self,
                                guint       timeout_ms)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));
  g_return_if_fail (timeout_ms > 0);

  if (self->answer_timeout == timeout_ms)
    return;
  self->answer_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ANSWER_TIMEOUT]);
}

JstpParseOptions *
jstp_engine_get_parse_options (JstpEngine *self)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (self), NULL);
  return &self->parse_options;
}

guint
jstp_engine_get_max_subscriptions_per_connection (JstpEngine *self)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (self), 0);
  return self->max_subscriptions_per_connection;
}

void
jstp_engine_set_max_subscriptions_per_connection (JstpEngine *self,
                                                  guint       max)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));
  self->max_subscriptions_per_connection = max;
}

void
jstp_engine_get_counters (JstpEngine         *self,
                          JstpEngineCounters *counters)
{
  g_return_if_fail (JSTP_IS_ENGINE (self));
  g_return_if_fail (counters != NULL);

  *counters = self->counters;
}
