/* SPDX-License-Identifier: MIT */
/* jstp-pool.c: the header says how members are watched and chosen; this
 * file keeps, per member, the connection its reports arrive on. */

#include "config.h"

#include <math.h>

#include "jstp-json.h"
#include "jstp-pool.h"
#include "jstp-pool-member-private.h"

#define MAX_PROBE_DELAY_MS 30000
#define MIN_TICK_MS        20
#define MAX_TICK_MS        500

typedef struct {
  JstpPool *pool;
  JstpPoolMember *member;
  JstpConnection *connection;   /* where its reports arrive; NULL when not known */
  gboolean resolving;           /* a jstp_network_connect_async() is under way */
  gint64 next_probe_us;
  guint probe_delay_ms;
  guint64 last_chosen;          /* the pool's choice counter when last chosen */
} Slot;

/* What outlives a call into the engine or the network: the pool may be
 * gone, or the member removed, by the time it comes back. */
typedef struct {
  GWeakRef pool;
  JstpPoolMember *member;
  JstpAnswerFunc callback;
  gpointer user_data;
  GDestroyNotify destroy;
  gboolean in_flight;
} Pending;

struct _JstpPool
{
  GObject parent_instance;

  JstpNetwork *network;
  JstpEngine *engine;
  GPtrArray *slots;             /* Slot, in the model's order */
  guint64 status_binding;
  guint tick_id;
  guint stale_intervals;
  double tolerance;
  guint default_interval;
  guint64 n_choices;
  JstpPoolMember *last_choice;
};

static void jstp_pool_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JstpPool, jstp_pool, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      jstp_pool_list_model_init))

enum {
  PROP_0,
  PROP_NETWORK,
  PROP_STALE_INTERVALS,
  PROP_SATURATION_TOLERANCE,
  PROP_DEFAULT_INTERVAL,
  PROP_N_ITEMS,
  N_PROPS
};

enum {
  MEMBER_CHOSEN,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const char * const status_resource[] = { "jstp", "status", NULL };

static void schedule_tick (JstpPool *self);

/* ---- bookkeeping ------------------------------------------------------- */

static Pending *
pending_new (JstpPool       *self,
             JstpPoolMember *member)
{
  Pending *pending = g_new0 (Pending, 1);

  g_weak_ref_init (&pending->pool, self);
  pending->member = g_object_ref (member);
  return pending;
}

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  if (pending->in_flight)
    _jstp_pool_member_answered (pending->member);
  if (pending->destroy)
    pending->destroy (pending->user_data);
  g_weak_ref_clear (&pending->pool);
  g_object_unref (pending->member);
  g_free (pending);
}

static Slot *
find_slot (JstpPool       *self,
           JstpPoolMember *member)
{
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (slot->member == member)
        return slot;
    }
  return NULL;
}

static Slot *
find_slot_by_connection (JstpPool       *self,
                         JstpConnection *connection)
{
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (slot->connection == connection)
        return slot;
    }
  return NULL;
}

static guint
slot_interval (JstpPool *self,
               Slot     *slot)
{
  guint interval = jstp_pool_member_get_interval (slot->member);

  return interval > 0 ? interval : self->default_interval;
}

static void
connection_closed_cb (JstpConnection *connection,
                      Slot           *slot);

static void
detach_connection (Slot *slot)
{
  if (slot->connection == NULL)
    return;
  g_signal_handlers_disconnect_by_func (slot->connection, connection_closed_cb, slot);
  g_clear_object (&slot->connection);
}

static void
attach_connection (Slot           *slot,
                   JstpConnection *connection)
{
  if (slot->connection == connection)
    return;
  detach_connection (slot);
  slot->connection = g_object_ref (connection);
  g_signal_connect (connection, "closed", G_CALLBACK (connection_closed_cb), slot);
}

static void
slot_free (gpointer data)
{
  Slot *slot = data;

  detach_connection (slot);
  g_object_unref (slot->member);
  g_free (slot);
}

/* Probing starts one interval after a failure and doubles up to a cap, so
 * that an engine that is gone for long costs its clients almost nothing. */
static void
back_off (Slot *slot)
{
  JstpPool *self = slot->pool;
  guint interval = slot_interval (self, slot);

  slot->probe_delay_ms = slot->probe_delay_ms == 0
                         ? interval
                         : MIN (slot->probe_delay_ms * 2, MAX_PROBE_DELAY_MS);
  slot->next_probe_us = g_get_monotonic_time () + (gint64) slot->probe_delay_ms * 1000;
}

static void
mark_down (Slot       *slot,
           const char *why)
{
  g_debug ("pool member %s is down: %s", jstp_pool_member_get_uri (slot->member), why);
  _jstp_pool_member_set_state (slot->member, JSTP_POOL_MEMBER_DOWN, why);
  back_off (slot);
}

static void
apply_status (JstpPool   *self,
              Slot       *slot,
              const char *json)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  if (json == NULL)
    return;
  node = json_from_string (json, &error);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_debug ("pool member %s sent a status that is not an object",
               jstp_pool_member_get_uri (slot->member));
      return;
    }
  _jstp_pool_member_set_status (slot->member, json_node_get_object (node), json,
                                g_get_monotonic_time ());
  slot->probe_delay_ms = 0;
  slot->next_probe_us = 0;
}

/* ---- watching ---------------------------------------------------------- */

static void
status_answer_cb (JstpEngine   *engine,
                  JstpDispatch *answer,
                  gpointer      data)
{
  Pending *pending = data;
  g_autoptr(JstpPool) self = g_weak_ref_get (&pending->pool);
  Slot *slot = self ? find_slot (self, pending->member) : NULL;
  guint status = jstp_dispatch_get_status (answer);

  if (slot == NULL)
    return;
  if (status == JSTP_STATUS_OK)
    apply_status (self, slot, jstp_dispatch_get_body_json (answer));
  else if (status == JSTP_STATUS_UNREACHABLE || status == JSTP_STATUS_INVALID_REMOTE_HOST)
    mark_down (slot, jstp_dispatch_get_body_json (answer));
  else if (status != JSTP_STATUS_TIMEOUT &&
           jstp_pool_member_get_state (slot->member) != JSTP_POOL_MEMBER_UP)
    {
      g_autofree char *why = g_strdup_printf ("it does not report its status (%u)", status);

      /* There, but without figures to choose by (an engine with no
       * reporter answers 404): as good as silent. */
      _jstp_pool_member_set_state (slot->member, JSTP_POOL_MEMBER_STALE, why);
    }
}

static void
send_bind (JstpPool   *self,
           Slot       *slot,
           JstpMethod  method)
{
  g_autoptr(JstpPattern) pattern =
    jstp_pattern_new ("PUT", status_resource, 2, JSTP_MODE_STRICT, NULL);
  g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (method, pattern);

  /* No answer wanted: the network re-sends its BINDs after reconnecting,
   * and the first report is the acknowledgement that matters. */
  jstp_dispatch_add_hop (bind, jstp_pool_member_get_address (slot->member),
                         jstp_pool_member_get_port (slot->member),
                         jstp_pool_member_get_label (slot->member));
  jstp_engine_emit (self->engine, bind, NULL, NULL, NULL);
}

static void
send_get (JstpPool *self,
          Slot     *slot)
{
  g_autoptr(JstpDispatch) get = jstp_dispatch_new (JSTP_METHOD_GET, status_resource);

  jstp_dispatch_add_hop (get, jstp_pool_member_get_address (slot->member),
                         jstp_pool_member_get_port (slot->member),
                         jstp_pool_member_get_label (slot->member));
  jstp_engine_emit (self->engine, get, status_answer_cb, pending_new (self, slot->member),
                    pending_free);
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Pending *pending = data;
  g_autoptr(JstpPool) self = g_weak_ref_get (&pending->pool);
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpConnection) connection =
    jstp_network_connect_finish (JSTP_NETWORK (source), result, &error);
  Slot *slot = self ? find_slot (self, pending->member) : NULL;

  pending_free (pending);
  if (slot == NULL)
    return;
  slot->resolving = FALSE;

  if (connection == NULL)
    {
      mark_down (slot, error->message);
      return;
    }
  attach_connection (slot, connection);
  /* Its answer decides; no need to probe again before an interval. */
  slot->next_probe_us = g_get_monotonic_time () + (gint64) slot_interval (self, slot) * 1000;
  send_get (self, slot);
}

/* Learns which connection @slot's reports arrive on, opening it if need be
 * (the network pools one connection per destination, so this is the one
 * its BIND went out on). */
static void
resolve (JstpPool *self,
         Slot     *slot)
{
  if (slot->resolving)
    return;
  slot->resolving = TRUE;
  jstp_network_connect_async (self->network, jstp_pool_member_get_address (slot->member),
                              jstp_pool_member_get_port (slot->member),
                              jstp_pool_member_get_label (slot->member), NULL, connect_cb,
                              pending_new (self, slot->member));
}

static void
probe (JstpPool *self,
       Slot     *slot)
{
  if (slot->connection && !jstp_connection_is_closed (slot->connection))
    {
      /* Connected but silent: perhaps its engine lost our subscription.
       * A BIND twice keeps one subscription, so asking again is harmless. */
      send_bind (self, slot, JSTP_METHOD_BIND);
      send_get (self, slot);
    }
  else
    resolve (self, slot);
}

static void
connection_closed_cb (JstpConnection *connection,
                      Slot           *slot)
{
  detach_connection (slot);
  mark_down (slot, "the connection closed");
}

static void
status_put_cb (JstpEngine         *engine,
               JstpDispatch       *dispatch,
               const JstpCaptures *captures,
               gpointer            data)
{
  JstpPool *self = data;
  JstpConnection *connection = jstp_engine_get_current_connection (engine);
  Slot *slot;

  /* Our own engine's reports, if it has a reporter, are not a member's. */
  if (connection == NULL)
    return;

  slot = find_slot_by_connection (self, connection);
  if (slot)
    {
      apply_status (self, slot, jstp_dispatch_get_body_json (dispatch));
      return;
    }

  /* A connection we do not know yet: the network reconnected to a member
   * by itself and re-sent our BIND. Find out whose it is; its next report
   * (or the GET that follows) brings it back. */
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *candidate = g_ptr_array_index (self->slots, i);

      if (candidate->connection == NULL)
        resolve (self, candidate);
    }
}

static gboolean
tick_cb (gpointer data)
{
  JstpPool *self = data;
  gint64 now = g_get_monotonic_time ();

  self->tick_id = 0;
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);
      JstpPoolMemberState state = jstp_pool_member_get_state (slot->member);
      gint64 silence_ms = (now - jstp_pool_member_get_last_report_time (slot->member)) / 1000;
      guint64 allowed_ms = (guint64) self->stale_intervals * slot_interval (self, slot);

      if (state == JSTP_POOL_MEMBER_UP && silence_ms > 0 && (guint64) silence_ms > allowed_ms)
        {
          g_autofree char *why = g_strdup_printf ("no status for %" G_GINT64_FORMAT " ms",
                                                  silence_ms);

          g_debug ("pool member %s is stale: %s", jstp_pool_member_get_uri (slot->member), why);
          _jstp_pool_member_set_state (slot->member, JSTP_POOL_MEMBER_STALE, why);
          slot->probe_delay_ms = 0;
          slot->next_probe_us = now;
          state = JSTP_POOL_MEMBER_STALE;
        }

      if (state != JSTP_POOL_MEMBER_UP && !slot->resolving && now >= slot->next_probe_us)
        {
          back_off (slot);
          probe (self, slot);
        }
    }
  schedule_tick (self);
  return G_SOURCE_REMOVE;
}

/* Often enough to notice a silent member within a fraction of its own
 * interval, and no more. */
static void
schedule_tick (JstpPool *self)
{
  guint shortest = self->default_interval;

  if (self->tick_id || self->slots->len == 0)
    return;
  for (guint i = 0; i < self->slots->len; i++)
    shortest = MIN (shortest, slot_interval (self, g_ptr_array_index (self->slots, i)));
  self->tick_id = g_timeout_add (CLAMP (shortest / 4, MIN_TICK_MS, MAX_TICK_MS), tick_cb, self);
}

/* ---- choosing ---------------------------------------------------------- */

static Slot *
choose_slot (JstpPool *self)
{
  double lowest = INFINITY;
  Slot *best = NULL;

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (jstp_pool_member_is_available (slot->member))
        lowest = MIN (lowest, jstp_pool_member_get_saturation (slot->member));
    }

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (isfinite (lowest))
        {
          if (!jstp_pool_member_is_available (slot->member) ||
              jstp_pool_member_get_saturation (slot->member) > lowest + self->tolerance)
            continue;
        }
      else if (jstp_pool_member_get_state (slot->member) != JSTP_POOL_MEMBER_UNKNOWN)
        continue;

      if (best == NULL ||
          jstp_pool_member_get_in_flight (slot->member) <
          jstp_pool_member_get_in_flight (best->member) ||
          (jstp_pool_member_get_in_flight (slot->member) ==
           jstp_pool_member_get_in_flight (best->member) &&
           slot->last_chosen < best->last_chosen))
        best = slot;
    }
  return best;
}

static void
member_answer_cb (JstpEngine   *engine,
                  JstpDispatch *answer,
                  gpointer      data)
{
  Pending *pending = data;
  g_autoptr(JstpPool) self = g_weak_ref_get (&pending->pool);
  Slot *slot = self ? find_slot (self, pending->member) : NULL;
  guint status = jstp_dispatch_get_status (answer);

  /* Forwarded transactions stay open until the answer timeout, since more
   * answers may come; the member is done with the work at the first. */
  if (pending->in_flight)
    {
      pending->in_flight = FALSE;
      _jstp_pool_member_answered (pending->member);
    }
  if (slot)
    {
      if (status == JSTP_STATUS_UNREACHABLE || status == JSTP_STATUS_INVALID_REMOTE_HOST)
        mark_down (slot, jstp_dispatch_get_body_json (answer));
      else if (status == JSTP_STATUS_SATURATED)
        _jstp_pool_member_set_shedding (slot->member, TRUE);
    }
  if (pending->callback)
    pending->callback (engine, answer, pending->user_data);
}

static void
answer_locally (JstpPool       *self,
                guint           status,
                const char     *message,
                JstpAnswerFunc  callback,
                gpointer        user_data)
{
  g_autofree char *txid = jstp_new_id ();
  g_autofree char *trig = jstp_new_id ();
  g_autoptr(JstpDispatch) answer = jstp_dispatch_new_answer (status, txid, trig);
  g_autoptr(GString) body = g_string_new ("{\"message\":");

  jstp_json_append_string (body, message, -1);
  g_string_append_c (body, '}');
  jstp_dispatch_set_body_json (answer, body->str, NULL);
  callback (self->engine, answer, user_data);
}

/* ---- GListModel -------------------------------------------------------- */

static GType
jstp_pool_get_item_type (GListModel *model)
{
  return JSTP_TYPE_POOL_MEMBER;
}

static guint
jstp_pool_get_n_items (GListModel *model)
{
  return JSTP_POOL (model)->slots->len;
}

static gpointer
jstp_pool_get_item (GListModel *model,
                    guint       position)
{
  JstpPool *self = JSTP_POOL (model);

  if (position >= self->slots->len)
    return NULL;
  return g_object_ref (((Slot *) g_ptr_array_index (self->slots, position))->member);
}

static void
jstp_pool_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = jstp_pool_get_item_type;
  iface->get_n_items = jstp_pool_get_n_items;
  iface->get_item = jstp_pool_get_item;
}

/* ---- GObject ----------------------------------------------------------- */

static void
jstp_pool_constructed (GObject *object)
{
  JstpPool *self = JSTP_POOL (object);

  G_OBJECT_CLASS (jstp_pool_parent_class)->constructed (object);

  g_assert (self->network != NULL);
  self->engine = g_object_ref (jstp_network_get_engine (self->network));
  self->status_binding = jstp_engine_bind (self->engine, "PUT", status_resource,
                                           status_put_cb, self, NULL, NULL);
}

static void
jstp_pool_dispose (GObject *object)
{
  JstpPool *self = JSTP_POOL (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (self->engine)
    {
      /* The network would otherwise keep re-binding for nobody. */
      for (guint i = 0; i < self->slots->len; i++)
        send_bind (self, g_ptr_array_index (self->slots, i), JSTP_METHOD_RELEASE);
      if (self->status_binding)
        jstp_engine_release (self->engine, self->status_binding);
      self->status_binding = 0;
    }
  g_ptr_array_set_size (self->slots, 0);
  g_clear_object (&self->last_choice);
  g_clear_object (&self->engine);
  g_clear_object (&self->network);

  G_OBJECT_CLASS (jstp_pool_parent_class)->dispose (object);
}

static void
jstp_pool_finalize (GObject *object)
{
  JstpPool *self = JSTP_POOL (object);

  g_ptr_array_unref (self->slots);

  G_OBJECT_CLASS (jstp_pool_parent_class)->finalize (object);
}

static void
jstp_pool_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  JstpPool *self = JSTP_POOL (object);

  switch (prop_id)
    {
    case PROP_NETWORK:
      g_value_set_object (value, self->network);
      break;
    case PROP_STALE_INTERVALS:
      g_value_set_uint (value, self->stale_intervals);
      break;
    case PROP_SATURATION_TOLERANCE:
      g_value_set_double (value, self->tolerance);
      break;
    case PROP_DEFAULT_INTERVAL:
      g_value_set_uint (value, self->default_interval);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->slots->len);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_pool_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  JstpPool *self = JSTP_POOL (object);

  switch (prop_id)
    {
    case PROP_NETWORK:
      self->network = g_value_dup_object (value);
      break;
    case PROP_STALE_INTERVALS:
      jstp_pool_set_stale_intervals (self, g_value_get_uint (value));
      break;
    case PROP_SATURATION_TOLERANCE:
      if (self->tolerance != g_value_get_double (value))
        {
          self->tolerance = g_value_get_double (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_DEFAULT_INTERVAL:
      if (self->default_interval != g_value_get_uint (value))
        {
          self->default_interval = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_pool_class_init (JstpPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = jstp_pool_constructed;
  object_class->dispose = jstp_pool_dispose;
  object_class->finalize = jstp_pool_finalize;
  object_class->get_property = jstp_pool_get_property;
  object_class->set_property = jstp_pool_set_property;

  properties[PROP_NETWORK] =
    g_param_spec_object ("network", NULL, NULL, JSTP_TYPE_NETWORK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STALE_INTERVALS] =
    g_param_spec_uint ("stale-intervals", NULL, NULL, 1, 1000, 3,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpPool:saturation-tolerance:
   *
   * Members whose saturation is this close to the lowest share the work.
   */
  properties[PROP_SATURATION_TOLERANCE] =
    g_param_spec_double ("saturation-tolerance", NULL, NULL, 0.0, 1.0, 0.05,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpPool:default-interval:
   *
   * The reporting interval assumed, in ms, for a member that has not said
   * its own yet.
   */
  properties[PROP_DEFAULT_INTERVAL] =
    g_param_spec_uint ("default-interval", NULL, NULL, 10, G_MAXUINT, 1000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * JstpPool::member-chosen:
   * @member: where @dispatch goes
   * @dispatch: the dispatch, its hop added
   *
   * Emitted by jstp_pool_emit() before the dispatch is sent.
   */
  signals[MEMBER_CHOSEN] =
    g_signal_new ("member-chosen", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, JSTP_TYPE_POOL_MEMBER,
                  JSTP_TYPE_DISPATCH | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
jstp_pool_init (JstpPool *self)
{
  self->slots = g_ptr_array_new_with_free_func (slot_free);
  self->stale_intervals = 3;
  self->tolerance = 0.05;
  self->default_interval = 1000;
}

/* ---- public API -------------------------------------------------------- */

JstpPool *
jstp_pool_new (JstpNetwork *network)
{
  g_return_val_if_fail (JSTP_IS_NETWORK (network), NULL);

  return g_object_new (JSTP_TYPE_POOL, "network", network, NULL);
}

JstpNetwork *
jstp_pool_get_network (JstpPool *self)
{
  g_return_val_if_fail (JSTP_IS_POOL (self), NULL);
  return self->network;
}

JstpPoolMember *
jstp_pool_add_member (JstpPool   *self,
                      const char *address,
                      guint16     port,
                      const char *label)
{
  Slot *slot;

  g_return_val_if_fail (JSTP_IS_POOL (self), NULL);
  g_return_val_if_fail (address != NULL && *address != '\0', NULL);
  g_return_val_if_fail (g_strcmp0 (label, "tcp") == 0 || g_strcmp0 (label, "ws") == 0, NULL);

  for (guint i = 0; i < self->slots->len; i++)
    {
      JstpPoolMember *member = ((Slot *) g_ptr_array_index (self->slots, i))->member;

      if (g_str_equal (jstp_pool_member_get_address (member), address) &&
          jstp_pool_member_get_port (member) == port &&
          g_str_equal (jstp_pool_member_get_label (member), label))
        return member;
    }

  slot = g_new0 (Slot, 1);
  slot->pool = self;
  slot->member = _jstp_pool_member_new (address, port, label);
  g_ptr_array_add (self->slots, slot);

  /* The BIND goes first, so that the network remembers it and re-binds
   * even if the member is not there yet; the GET follows once connected. */
  send_bind (self, slot, JSTP_METHOD_BIND);
  resolve (self, slot);
  schedule_tick (self);

  g_list_model_items_changed (G_LIST_MODEL (self), self->slots->len - 1, 0, 1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  return slot->member;
}

gboolean
jstp_pool_remove_member (JstpPool       *self,
                         JstpPoolMember *member)
{
  g_return_val_if_fail (JSTP_IS_POOL (self), FALSE);
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (member), FALSE);

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (slot->member != member)
        continue;
      send_bind (self, slot, JSTP_METHOD_RELEASE);
      if (self->last_choice == member)
        g_clear_object (&self->last_choice);
      g_ptr_array_remove_index (self->slots, i);
      g_list_model_items_changed (G_LIST_MODEL (self), i, 1, 0);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
      return TRUE;
    }
  return FALSE;
}

JstpPoolMember *
jstp_pool_choose (JstpPool *self)
{
  Slot *slot;

  g_return_val_if_fail (JSTP_IS_POOL (self), NULL);

  slot = choose_slot (self);
  return slot ? slot->member : NULL;
}

JstpPoolMember *
jstp_pool_emit (JstpPool       *self,
                JstpDispatch   *dispatch,
                JstpAnswerFunc  callback,
                gpointer        user_data,
                GDestroyNotify  destroy)
{
  Slot *slot;
  Pending *pending;

  g_return_val_if_fail (JSTP_IS_POOL (self), NULL);
  g_return_val_if_fail (dispatch != NULL, NULL);
  g_return_val_if_fail (jstp_dispatch_get_morphology (dispatch) == JSTP_MORPHOLOGY_REGULAR, NULL);
  g_return_val_if_fail (jstp_dispatch_get_n_hops (dispatch) == 0, NULL);

  slot = choose_slot (self);
  if (slot == NULL)
    {
      gboolean any_up = FALSE;

      for (guint i = 0; i < self->slots->len; i++)
        if (jstp_pool_member_get_state (((Slot *) g_ptr_array_index (self->slots, i))->member) ==
            JSTP_POOL_MEMBER_UP)
          any_up = TRUE;
      if (callback)
        answer_locally (self,
                        any_up ? JSTP_STATUS_SATURATED : JSTP_STATUS_UNREACHABLE,
                        any_up ? "every engine of the pool is saturated"
                               : "no engine of the pool can be reached",
                        callback, user_data);
      if (destroy)
        destroy (user_data);
      return NULL;
    }

  jstp_dispatch_add_hop (dispatch, jstp_pool_member_get_address (slot->member),
                         jstp_pool_member_get_port (slot->member),
                         jstp_pool_member_get_label (slot->member));
  slot->last_chosen = ++self->n_choices;
  g_set_object (&self->last_choice, slot->member);
  _jstp_pool_member_chosen (slot->member, callback != NULL);
  g_signal_emit (self, signals[MEMBER_CHOSEN], 0, slot->member, dispatch);

  if (callback == NULL)
    {
      jstp_engine_emit (self->engine, dispatch, NULL, NULL, NULL);
      if (destroy)
        destroy (user_data);
      return slot->member;
    }

  pending = pending_new (self, slot->member);
  pending->callback = callback;
  pending->user_data = user_data;
  pending->destroy = destroy;
  pending->in_flight = TRUE;
  jstp_engine_emit (self->engine, dispatch, member_answer_cb, pending, pending_free);
  return self->last_choice;
}

JstpPoolMember *
jstp_pool_get_last_choice (JstpPool *self)
{
  g_return_val_if_fail (JSTP_IS_POOL (self), NULL);
  return self->last_choice;
}

guint
jstp_pool_get_n_available (JstpPool *self)
{
  guint n = 0;

  g_return_val_if_fail (JSTP_IS_POOL (self), 0);

  for (guint i = 0; i < self->slots->len; i++)
    if (jstp_pool_member_is_available (((Slot *) g_ptr_array_index (self->slots, i))->member))
      n++;
  return n;
}

guint
jstp_pool_get_stale_intervals (JstpPool *self)
{
  g_return_val_if_fail (JSTP_IS_POOL (self), 0);
  return self->stale_intervals;
}

void
jstp_pool_set_stale_intervals (JstpPool *self,
                               guint     intervals)
{
  g_return_if_fail (JSTP_IS_POOL (self));
  g_return_if_fail (intervals >= 1);

  if (self->stale_intervals == intervals)
    return;
  self->stale_intervals = intervals;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STALE_INTERVALS]);
}
