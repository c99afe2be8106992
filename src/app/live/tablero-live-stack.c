/* SPDX-License-Identifier: MIT */
/* tablero-live-stack.c: links for the nodes, bridges for the edges.
 *
 * Bridges are kept in step with the edges by ensure_bridges (), which runs
 * whenever something it depends on changes: an edge came or went, a node's
 * port or state changed, a status report arrived, or a retry is due. A
 * bridge is only created once the target engine is up and the source's
 * port is known (a local child prints it when it listens). The target's
 * status reports list its bridges: one that is missing from two reports in
 * a row is gone (the engine restarted) and is created again.
 */
#include "config.h"

#include "jstp-dispatch.h"
#include "jstp-json.h"
#include "jstp-pattern.h"
#include "jstp-pool.h"
#include "tablero-live-stack.h"

#define FLUSH_INTERVAL_S   5
#define RETRY_DELAY_MS     2000
#define HISTORY_SPAN_MS    (60 * 60 * G_GINT64_CONSTANT (1000))

typedef struct
{
  TableroEdge *edge;
  guint64      bridge_id;
  char        *bridge_host;     /* the source it points at */
  guint        bridge_port;
  char        *target_id;       /* the engine that holds it */
  gboolean     pending;         /* a POST or DELETE is on its way */
  guint        misses;          /* reports in a row without it */
  guint64      last_received;
  gint64       last_time_ms;
} EdgeLink;

struct _TableroLiveStack
{
  GObject            parent_instance;

  JstpNetwork       *network;
  JstpEngine        *engine;
  JstpPool          *pool;
  TableroStackStore *store;
  TableroStack      *stack;
  gulong             nodes_id;
  gulong             edges_id;
  GHashTable        *links;       /* TableroNode * -> TableroNodeLink * */
  GHashTable        *edges;       /* TableroEdge * -> EdgeLink * */
  guint              retry_source;
  guint              flush_source;
  GCancellable      *cancellable;

  /* Samples waiting to be written */
  GPtrArray         *pending_ids;      /* char * */
  GArray            *pending_samples;  /* TableroMetricsSample */
};

G_DEFINE_FINAL_TYPE (TableroLiveStack, tablero_live_stack, G_TYPE_OBJECT)

static void ensure_bridges (TableroLiveStack *self);

/* ---- requests to engines ------------------------------------------------- */

/* An answer arrives after the live stack, or the edge, may have gone. */
typedef struct
{
  GWeakRef     live;
  TableroEdge *edge;
} Request;

static Request *
request_new (TableroLiveStack *self,
             TableroEdge      *edge)
{
  Request *request = g_new0 (Request, 1);

  g_weak_ref_init (&request->live, self);
  request->edge = g_object_ref (edge);
  return request;
}

static void
request_free (gpointer data)
{
  Request *request = data;

  g_weak_ref_clear (&request->live);
  g_object_unref (request->edge);
  g_free (request);
}

static void
schedule_retry (TableroLiveStack *self);

static void
on_bridge_created (JstpEngine   *engine,
                   JstpDispatch *answer,
                   gpointer      user_data)
{
  Request *request = user_data;
  g_autoptr (TableroLiveStack) self = g_weak_ref_get (&request->live);
  g_autoptr (JsonNode) body = NULL;
  EdgeLink *link;

  if (self == NULL || (link = g_hash_table_lookup (self->edges, request->edge)) == NULL)
    return;
  link->pending = FALSE;
  body = jstp_dispatch_dup_body (answer);
  if (jstp_dispatch_get_status (answer) != 200 || body == NULL || !JSON_NODE_HOLDS_OBJECT (body) ||
      !json_object_has_member (json_node_get_object (body), "id"))
    {
      g_debug ("Bridge for edge %s refused: %u %s", tablero_edge_get_id (request->edge),
               jstp_dispatch_get_status (answer), jstp_dispatch_get_body_json (answer));
      g_clear_pointer (&link->bridge_host, g_free);
      link->bridge_port = 0;
      schedule_retry (self);
      return;
    }
  link->bridge_id = json_object_get_int_member (json_node_get_object (body), "id");
  link->misses = 0;
  link->last_time_ms = 0;
}

static void
send_to_node (TableroLiveStack *self,
              TableroNode      *node,
              JstpDispatch     *dispatch,
              JstpAnswerFunc    callback,
              gpointer          data)
{
  TableroNodeLink *link = g_hash_table_lookup (self->links, node);
  guint port = link ? tablero_node_link_get_ready_port (link) : 0;

  if (port == 0)
    {
      if (data != NULL)
        request_free (data);
      return;
    }
  jstp_dispatch_add_hop (dispatch, tablero_node_get_address (node), port,
                         g_strcmp0 (tablero_node_get_transport (node), "ws") == 0 ? "ws" : "tcp");
  jstp_engine_emit (self->engine, dispatch, callback, data, callback ? request_free : NULL);
}

static void
delete_bridge (TableroLiveStack *self,
               EdgeLink         *link)
{
  TableroNode *target;
  g_autofree char *id = NULL;
  g_autoptr (JstpDispatch) dispatch = NULL;

  if (link->bridge_id == 0)
    return;
  target = self->stack ? tablero_stack_find_node (self->stack, link->target_id) : NULL;
  id = g_strdup_printf ("%" G_GUINT64_FORMAT, link->bridge_id);
  link->bridge_id = 0;
  g_clear_pointer (&link->bridge_host, g_free);
  link->bridge_port = 0;
  tablero_edge_set_rate (link->edge, 0);
  if (target == NULL)
    return;
  dispatch = jstp_dispatch_new (JSTP_METHOD_DELETE,
                                (const char * const[]) { "jstp", "bridges", id, NULL });
  send_to_node (self, target, dispatch, NULL, NULL);
}

static void
create_bridge (TableroLiveStack *self,
               EdgeLink         *link,
               TableroNode      *target,
               const char       *host,
               guint             port)
{
  g_autoptr (GString) body = g_string_new ("{\"host\":");
  g_autoptr (JstpDispatch) dispatch = NULL;
  const char * const *resource = tablero_edge_get_resource (link->edge);
  const char *method = tablero_edge_get_method (link->edge);

  jstp_json_append_string (body, host, -1);
  g_string_append_printf (body, ",\"port\":%u,\"transport\":\"tcp\",\"endpoint\":{\"method\":",
                          port);
  jstp_json_append_string (body, method ? method : "*", -1);
  g_string_append (body, ",\"resource\":[");
  for (guint i = 0; resource[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (body, ',');
      jstp_json_append_string (body, resource[i], -1);
    }
  g_string_append (body, "]}}");

  dispatch = jstp_dispatch_new (JSTP_METHOD_POST, (const char * const[]) { "jstp", "bridges", NULL });
  if (!jstp_dispatch_set_body_json (dispatch, body->str, NULL))
    return;
  link->pending = TRUE;
  link->bridge_host = g_strdup (host);
  link->bridge_port = port;
  send_to_node (self, target, dispatch, on_bridge_created, request_new (self, link->edge));
}

static void
ensure_bridges (TableroLiveStack *self)
{
  GHashTableIter iter;
  EdgeLink *link;

  if (self->stack == NULL)
    return;

  g_hash_table_iter_init (&iter, self->edges);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    {
      TableroNode *source = tablero_stack_find_node (self->stack,
                                                     tablero_edge_get_source_id (link->edge));
      TableroNode *target = tablero_stack_find_node (self->stack, link->target_id);
      TableroNodeLink *source_link = source ? g_hash_table_lookup (self->links, source) : NULL;
      guint port = source_link ? tablero_node_link_get_ready_port (source_link) : 0;
      const char *host = source ? tablero_node_get_address (source) : NULL;

      if (link->pending || target == NULL)
        continue;
      /* The source moved (a local child started again): point it anew. */
      if (link->bridge_id != 0 &&
          (port != link->bridge_port || g_strcmp0 (host, link->bridge_host) != 0))
        delete_bridge (self, link);
      if (link->bridge_id == 0 && port != 0 &&
          tablero_node_get_state (target) == TABLERO_NODE_STATE_UP)
        create_bridge (self, link, target, host, port);
    }
}

static gboolean
retry_timeout (gpointer data)
{
  TableroLiveStack *self = data;

  self->retry_source = 0;
  ensure_bridges (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (TableroLiveStack *self)
{
  if (self->retry_source == 0)
    self->retry_source = g_timeout_add (RETRY_DELAY_MS, retry_timeout, self);
}

/* ---- status reports ------------------------------------------------------ */

static void
on_link_status (TableroNodeLink  *node_link,
                JsonObject       *status,
                TableroLiveStack *self)
{
  TableroNode *node = tablero_node_link_get_node (node_link);
  JsonArray *bridges = NULL;
  gint64 now_ms;
  GHashTableIter iter;
  EdgeLink *link;

  if (json_object_has_member (status, "bridges") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (status, "bridges")))
    bridges = json_object_get_array_member (status, "bridges");
  now_ms = json_object_get_int_member_with_default (status, "timestamp",
                                                    g_get_real_time () / 1000);

  g_hash_table_iter_init (&iter, self->edges);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    {
      gboolean found = FALSE;

      if (link->bridge_id == 0 || link->pending ||
          g_strcmp0 (link->target_id, tablero_node_get_id (node)) != 0)
        continue;
      for (guint i = 0; bridges != NULL && i < json_array_get_length (bridges); i++)
        {
          JsonObject *bridge = json_array_get_object_element (bridges, i);
          guint64 received;

          if (bridge == NULL ||
              (guint64) json_object_get_int_member_with_default (bridge, "id", 0) != link->bridge_id)
            continue;
          found = TRUE;
          received = json_object_get_int_member_with_default (bridge, "received", 0);
          if (link->last_time_ms > 0 && now_ms > link->last_time_ms && received >= link->last_received)
            tablero_edge_set_rate (link->edge, (received - link->last_received) * 1000.0 /
                                               (now_ms - link->last_time_ms));
          link->last_received = received;
          link->last_time_ms = now_ms;
          break;
        }
      link->misses = found ? 0 : link->misses + 1;
      if (link->misses >= 2)
        {
          /* Gone with the engine that held it. */
          link->bridge_id = 0;
          link->misses = 0;
          g_clear_pointer (&link->bridge_host, g_free);
          link->bridge_port = 0;
          tablero_edge_set_rate (link->edge, 0);
        }
    }
  ensure_bridges (self);
}

/* ---- metrics history ----------------------------------------------------- */

static void
on_flushed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (GError) error = NULL;

  /* An unsaved stack has no history yet: nothing to report. */
  if (!tablero_stack_store_append_metrics_finish (TABLERO_STACK_STORE (source), result, &error))
    g_debug ("Metrics not kept: %s", error->message);
}

static void
flush_samples (TableroLiveStack *self)
{
  if (self->store != NULL && self->stack != NULL && self->pending_samples->len > 0)
    {
      g_ptr_array_add (self->pending_ids, NULL);
      tablero_stack_store_append_metrics_async (self->store, tablero_stack_get_name (self->stack),
                                                (const char * const *) self->pending_ids->pdata,
                                                (TableroMetricsSample *) self->pending_samples->data,
                                                self->pending_samples->len, NULL, on_flushed, NULL);
    }
  g_ptr_array_set_size (self->pending_ids, 0);
  g_array_set_size (self->pending_samples, 0);
}

static gboolean
flush_timeout (gpointer data)
{
  flush_samples (data);
  return G_SOURCE_CONTINUE;
}

static void
on_link_sample (TableroNodeLink            *node_link,
                const TableroMetricsSample *sample,
                TableroLiveStack           *self)
{
  g_ptr_array_add (self->pending_ids,
                   g_strdup (tablero_node_get_id (tablero_node_link_get_node (node_link))));
  g_array_append_vals (self->pending_samples, sample, 1);
}

typedef struct
{
  GWeakRef  link;
} HistoryLoad;

static void
on_history_loaded (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  HistoryLoad *load = user_data;
  g_autoptr (TableroNodeLink) link = g_weak_ref_get (&load->link);
  g_autoptr (GArray) samples = NULL;

  samples = tablero_stack_store_query_metrics_finish (TABLERO_STACK_STORE (source), result, NULL);
  if (link != NULL && samples != NULL)
    tablero_node_link_prepend_history (link, samples);
  g_weak_ref_clear (&load->link);
  g_free (load);
}

/* ---- nodes and edges ----------------------------------------------------- */

static void
on_node_changed (TableroLiveStack *self)
{
  ensure_bridges (self);
}

static void
add_link (TableroLiveStack *self,
          TableroNode      *node)
{
  TableroNodeLink *link;
  g_autofree char *key = g_compute_checksum_for_string (G_CHECKSUM_SHA1,
                                                        tablero_stack_get_name (self->stack), -1);
  HistoryLoad *load;
  gint64 now = g_get_real_time () / 1000;

  link = tablero_node_link_new (node, self->pool, key);
  g_hash_table_insert (self->links, g_object_ref (node), link);
  g_signal_connect_object (link, "status", G_CALLBACK (on_link_status), self, 0);
  g_signal_connect_object (link, "sample", G_CALLBACK (on_link_sample), self, 0);
  g_signal_connect_object (node, "notify::state", G_CALLBACK (on_node_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (node, "notify::port", G_CALLBACK (on_node_changed), self,
                           G_CONNECT_SWAPPED);

  if (self->store != NULL)
    {
      load = g_new0 (HistoryLoad, 1);
      g_weak_ref_init (&load->link, link);
      tablero_stack_store_query_metrics_async (self->store, tablero_stack_get_name (self->stack),
                                               tablero_node_get_id (node), now - HISTORY_SPAN_MS,
                                               now, self->cancellable, on_history_loaded, load);
    }
}

static void
remove_link (TableroLiveStack *self,
             TableroNode      *node)
{
  TableroNodeLink *link = g_hash_table_lookup (self->links, node);

  if (link == NULL)
    return;
  g_signal_handlers_disconnect_by_data (node, self);
  g_signal_handlers_disconnect_by_data (link, self);
  tablero_node_link_stop (link);
  g_hash_table_remove (self->links, node);
}

static void
sync_nodes (TableroLiveStack *self)
{
  GListModel *nodes = tablero_stack_get_nodes (self->stack);
  g_autoptr (GHashTable) present = g_hash_table_new (NULL, NULL);
  g_autoptr (GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter iter;
  TableroNode *node;

  for (guint i = 0; i < g_list_model_get_n_items (nodes); i++)
    {
      g_autoptr (TableroNode) item = g_list_model_get_item (nodes, i);

      g_hash_table_add (present, item);
      if (!g_hash_table_contains (self->links, item))
        add_link (self, item);
    }
  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, (gpointer *) &node, NULL))
    if (!g_hash_table_contains (present, node))
      g_ptr_array_add (gone, node);
  for (guint i = 0; i < gone->len; i++)
    remove_link (self, g_ptr_array_index (gone, i));
}

static void
edge_link_free (gpointer data)
{
  EdgeLink *link = data;

  g_object_unref (link->edge);
  g_free (link->bridge_host);
  g_free (link->target_id);
  g_free (link);
}

static void
sync_edges (TableroLiveStack *self)
{
  GListModel *edges = tablero_stack_get_edges (self->stack);
  g_autoptr (GHashTable) present = g_hash_table_new (NULL, NULL);
  g_autoptr (GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter iter;
  TableroEdge *edge;

  for (guint i = 0; i < g_list_model_get_n_items (edges); i++)
    {
      g_autoptr (TableroEdge) item = g_list_model_get_item (edges, i);

      g_hash_table_add (present, item);
      if (!g_hash_table_contains (self->edges, item))
        {
          EdgeLink *link = g_new0 (EdgeLink, 1);

          link->edge = g_object_ref (item);
          link->target_id = g_strdup (tablero_edge_get_target_id (item));
          g_hash_table_insert (self->edges, item, link);
        }
    }
  g_hash_table_iter_init (&iter, self->edges);
  while (g_hash_table_iter_next (&iter, (gpointer *) &edge, NULL))
    if (!g_hash_table_contains (present, edge))
      g_ptr_array_add (gone, edge);
  for (guint i = 0; i < gone->len; i++)
    {
      EdgeLink *link = g_hash_table_lookup (self->edges, g_ptr_array_index (gone, i));

      delete_bridge (self, link);
      g_hash_table_remove (self->edges, g_ptr_array_index (gone, i));
    }
  ensure_bridges (self);
}

static void
on_nodes_changed (TableroLiveStack *self)
{
  /* Edges first: a removed node takes its edges along, and their bridges
   * are deleted while the target still runs. */
  sync_edges (self);
  sync_nodes (self);
}

/* ---- public -------------------------------------------------------------- */

void
tablero_live_stack_set_stack (TableroLiveStack *self,
                              TableroStack     *stack)
{
  GHashTableIter iter;
  TableroNode *node;
  g_autoptr (GPtrArray) nodes = g_ptr_array_new ();

  g_return_if_fail (TABLERO_IS_LIVE_STACK (self));
  g_return_if_fail (stack == NULL || TABLERO_IS_STACK (stack));

  if (self->stack == stack)
    return;

  if (self->stack != NULL)
    {
      flush_samples (self);
      g_clear_signal_handler (&self->nodes_id, tablero_stack_get_nodes (self->stack));
      g_clear_signal_handler (&self->edges_id, tablero_stack_get_edges (self->stack));
      {
        EdgeLink *link;

        g_hash_table_iter_init (&iter, self->edges);
        while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
          delete_bridge (self, link);
        g_hash_table_remove_all (self->edges);
      }
      g_hash_table_iter_init (&iter, self->links);
      while (g_hash_table_iter_next (&iter, (gpointer *) &node, NULL))
        g_ptr_array_add (nodes, node);
      for (guint i = 0; i < nodes->len; i++)
        remove_link (self, g_ptr_array_index (nodes, i));
      g_clear_object (&self->stack);
    }
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  if (stack == NULL)
    return;
  self->stack = g_object_ref (stack);
  self->nodes_id = g_signal_connect_swapped (tablero_stack_get_nodes (stack), "items-changed",
                                             G_CALLBACK (on_nodes_changed), self);
  self->edges_id = g_signal_connect_swapped (tablero_stack_get_edges (stack), "items-changed",
                                             G_CALLBACK (sync_edges), self);
  sync_nodes (self);
  sync_edges (self);
}

TableroStack *
tablero_live_stack_get_stack (TableroLiveStack *self)
{
  g_return_val_if_fail (TABLERO_IS_LIVE_STACK (self), NULL);
  return self->stack;
}

TableroNodeLink *
tablero_live_stack_get_link (TableroLiveStack *self,
                             TableroNode      *node)
{
  g_return_val_if_fail (TABLERO_IS_LIVE_STACK (self), NULL);
  return node ? g_hash_table_lookup (self->links, node) : NULL;
}

guint64
tablero_live_stack_get_bridge_id (TableroLiveStack *self,
                                  TableroEdge      *edge)
{
  EdgeLink *link;

  g_return_val_if_fail (TABLERO_IS_LIVE_STACK (self), 0);
  link = g_hash_table_lookup (self->edges, edge);
  return link && !link->pending ? link->bridge_id : 0;
}

gboolean
tablero_live_stack_send (TableroLiveStack *self,
                         TableroNode      *node,
                         JstpDispatch     *dispatch,
                         JstpAnswerFunc    callback,
                         gpointer          data,
                         GDestroyNotify    destroy)
{
  TableroNodeLink *link;
  guint port;

  g_return_val_if_fail (TABLERO_IS_LIVE_STACK (self), FALSE);
  g_return_val_if_fail (TABLERO_IS_NODE (node), FALSE);

  link = self->links ? g_hash_table_lookup (self->links, node) : NULL;
  port = link ? tablero_node_link_get_ready_port (link) : 0;
  if (port == 0)
    {
      if (destroy)
        destroy (data);
      return FALSE;
    }
  jstp_dispatch_add_hop (dispatch, tablero_node_get_address (node), port,
                         g_strcmp0 (tablero_node_get_transport (node), "ws") == 0 ? "ws" : "tcp");
  jstp_engine_emit (self->engine, dispatch, callback, data, destroy);
  return TRUE;
}

/* ---- GObject ------------------------------------------------------------- */

static void
tablero_live_stack_dispose (GObject *object)
{
  TableroLiveStack *self = TABLERO_LIVE_STACK (object);

  if (self->links != NULL)
    tablero_live_stack_set_stack (self, NULL);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->pool);
  g_clear_object (&self->store);
  g_clear_object (&self->engine);
  g_clear_object (&self->network);

  G_OBJECT_CLASS (tablero_live_stack_parent_class)->dispose (object);
}

static void
tablero_live_stack_finalize (GObject *object)
{
  TableroLiveStack *self = TABLERO_LIVE_STACK (object);

  g_hash_table_unref (self->links);
  g_hash_table_unref (self->edges);
  g_ptr_array_unref (self->pending_ids);
  g_array_unref (self->pending_samples);

  G_OBJECT_CLASS (tablero_live_stack_parent_class)->finalize (object);
}

static void
tablero_live_stack_class_init (TableroLiveStackClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tablero_live_stack_dispose;
  object_class->finalize = tablero_live_stack_finalize;
}

static void
tablero_live_stack_init (TableroLiveStack *self)
{
  self->links = g_hash_table_new_full (NULL, NULL, g_object_unref, g_object_unref);
  self->edges = g_hash_table_new_full (NULL, NULL, NULL, edge_link_free);
  self->pending_ids = g_ptr_array_new_with_free_func (g_free);
  self->pending_samples = g_array_new (FALSE, FALSE, sizeof (TableroMetricsSample));
  self->cancellable = g_cancellable_new ();
}

TableroLiveStack *
tablero_live_stack_new (JstpNetwork       *network,
                        TableroStackStore *store)
{
  TableroLiveStack *self;

  g_return_val_if_fail (JSTP_IS_NETWORK (network), NULL);

  self = g_object_new (TABLERO_TYPE_LIVE_STACK, NULL);
  self->network = g_object_ref (network);
  self->engine = g_object_ref (jstp_network_get_engine (network));
  self->pool = jstp_pool_new (network);
  self->store = store ? g_object_ref (store) : NULL;
  self->flush_source = g_timeout_add_seconds (FLUSH_INTERVAL_S, flush_timeout, self);
  return self;
}
