/* tablero-inspector.c: the live list of the embedded engine's dispatches
 *
 * SPDX-License-Identifier: MIT
 *
 * The engine's "traffic" signal can fire thousands of times a second, so
 * its handler only queues a cheap copy of the dispatch; a timer turns the
 * queue into rows at most every 100 ms, in two splices of the store (the
 * oldest rows out, the new ones in), so the list view relayouts once per
 * tick whatever the rate.
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "tablero-inspector.h"
#include "tablero-dispatch-item.h"
#include "tablero-application.h"
#include "tablero-edge.h"
#include "tablero-keys-dialog.h"
#include "tablero-node.h"
#include "tablero-stack.h"
#include "tablero-stack-store.h"
#include "tablero-window.h"

#define FLUSH_INTERVAL_MS 100
#define DEFAULT_HISTORY_SIZE 10000

typedef struct {
  JstpDispatch     *dispatch;
  char             *peer;
  gint64            time_us;
  TableroDirection  direction;
} Pending;

struct _TableroInspector
{
  GtkWidget parent_instance;

  JstpEngine       *engine;
  gulong            traffic_id;
  JstpSecurity     *security;

  GListStore       *history;
  GtkFilterListModel *filtered;
  GtkCustomFilter  *filter;
  GtkSingleSelection *selection;
  guint             history_size;

  GQueue            pending;        /* Pending *, newest last */
  guint             flush_source;
  GHashTable       *requests;       /* transaction id -> TableroDispatchItem (weak) */

  JstpPattern      *pattern;
  GRegex           *regex;
  GStrv             peers;
  gboolean          paused;
  gboolean          recording;

  /* Template */
  GtkWidget        *toolbar;
  GtkEntry         *pattern_entry;
  GtkSearchEntry   *search_entry;
  GtkToggleButton  *pause_button;
  GtkToggleButton  *record_button;
  GtkButton        *peer_button;
  GtkLabel         *count_label;
  GtkColumnView    *column_view;
  GtkTextView      *detail_view;
  GtkWidget        *paned;
};

G_DEFINE_FINAL_TYPE (TableroInspector, tablero_inspector, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_HISTORY_SIZE,
  PROP_PAUSED,
  PROP_RECORDING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  COL_TIME,
  COL_SECURITY,
  COL_DIRECTION,
  COL_METHOD,
  COL_RESOURCE,
  COL_PEER,
  COL_STATUS,
  COL_LATENCY,
};

static void
pending_free (Pending *p)
{
  jstp_dispatch_unref (p->dispatch);
  g_free (p->peer);
  g_free (p);
}

/* ---- traffic ------------------------------------------------------------- */

/* The address a dispatch is about: the connection's peer, otherwise the
 * first gateway hop it names. */
static char *
dup_peer (JstpDispatch   *dispatch,
          JstpConnection *connection)
{
  const JstpHop *hop;

  if (connection != NULL)
    return g_strdup (jstp_connection_get_peer_address (connection));
  if (jstp_dispatch_get_n_hops (dispatch) > 0 &&
      (hop = jstp_dispatch_get_hop (dispatch, 0)) != NULL)
    return g_strdup_printf ("%s:%u", hop->address, hop->port);
  return NULL;
}

static gboolean flush_cb (gpointer data);

/* Touches no widget: runs at the engine's rate. */
static void
on_traffic (JstpEngine       *engine,
            JstpDispatch     *dispatch,
            JstpConnection   *connection,
            gboolean          outgoing,
            TableroInspector *self)
{
  Pending *p;

  if (self->paused)
    return;

  p = g_new (Pending, 1);
  /* A copy: the engine goes on changing its own (hops, tokens). */
  p->dispatch = jstp_dispatch_copy (dispatch);
  p->peer = dup_peer (dispatch, connection);
  p->time_us = g_get_real_time ();
  p->direction = outgoing ? TABLERO_DIRECTION_OUT
               : connection ? TABLERO_DIRECTION_IN : TABLERO_DIRECTION_LOCAL;
  g_queue_push_tail (&self->pending, p);

  /* What would be dropped at the next flush anyway is dropped now. */
  while (self->pending.length > self->history_size)
    pending_free (g_queue_pop_head (&self->pending));

  if (self->flush_source == 0)
    self->flush_source = g_timeout_add (FLUSH_INTERVAL_MS, flush_cb, self);
}

static char *
dup_answered_id (JstpDispatch *answer)
{
  return jstp_dispatch_dup_resource_element (answer, 1);
}

static void
forget_request (TableroInspector    *self,
                TableroDispatchItem *item)
{
  JstpDispatch *d = tablero_dispatch_item_get_dispatch (item);
  const char *tx;

  if (jstp_dispatch_get_morphology (d) == JSTP_MORPHOLOGY_ANSWER)
    return;
  tx = jstp_dispatch_get_transaction_id (d);
  if (tx != NULL && g_hash_table_lookup (self->requests, tx) == item)
    g_hash_table_remove (self->requests, tx);
}

static const char *
direction_to_string (TableroDirection direction)
{
  switch (direction)
    {
    case TABLERO_DIRECTION_IN:
      return "in";
    case TABLERO_DIRECTION_OUT:
      return "out";
    case TABLERO_DIRECTION_LOCAL:
    default:
      return "local";
    }
}

static TableroStackStore *
find_store (TableroInspector *self,
            const char      **stack_name)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  TableroStack *stack;

  *stack_name = NULL;
  if (!TABLERO_IS_WINDOW (root))
    return NULL;
  stack = tablero_window_get_stack (TABLERO_WINDOW (root));
  if (stack != NULL)
    *stack_name = tablero_stack_get_name (stack);
  return tablero_window_get_store (TABLERO_WINDOW (root));
}

static void
record (TableroInspector     *self,
        TableroDispatchItem **items,
        guint                 n_items)
{
  g_autofree TableroDispatchRecord *records = NULL;
  g_autoptr (GError) error = NULL;
  const char *stack_name;
  TableroStackStore *store = find_store (self, &stack_name);

  if (store == NULL || n_items == 0)
    return;
  /* A stack not saved yet has no row to hang the records on. */
  if (stack_name != NULL && !tablero_stack_store_contains (store, stack_name))
    stack_name = NULL;

  records = g_new0 (TableroDispatchRecord, n_items);
  for (guint i = 0; i < n_items; i++)
    {
      records[i].time_ms = tablero_dispatch_item_get_time (items[i]) / 1000;
      records[i].direction = direction_to_string (tablero_dispatch_item_get_direction (items[i]));
      records[i].peer = tablero_dispatch_item_get_peer (items[i]);
      records[i].text = tablero_dispatch_item_get_text (items[i]);
    }
  if (!tablero_stack_store_append_dispatches (store, stack_name, records, n_items, &error))
    {
      g_warning ("Could not record dispatches: %s", error->message);
      tablero_inspector_set_recording (self, FALSE);
    }
}

static void
update_count (TableroInspector *self)
{
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->filtered));
  guint total = g_list_model_get_n_items (G_LIST_MODEL (self->history));
  g_autofree char *text = NULL;

  if (shown == total)
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u dispatch", "%u dispatches", total),
                            total);
  else
    /* TRANSLATORS: shown dispatches of all kept */
    text = g_strdup_printf (_("%u of %u"), shown, total);
  gtk_label_set_text (self->count_label, text);
}

void
tablero_inspector_flush (TableroInspector *self)
{
  guint n_new = self->pending.length;
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->history));
  g_autofree TableroDispatchItem **items = NULL;
  guint n_drop = 0;
  guint i = 0;

  g_return_if_fail (TABLERO_IS_INSPECTOR (self));

  g_clear_handle_id (&self->flush_source, g_source_remove);
  if (n_new == 0)
    return;

  items = g_new (TableroDispatchItem *, n_new);
  while (self->pending.length > 0)
    {
      Pending *p = g_queue_pop_head (&self->pending);
      JstpDispatch *d = p->dispatch;
      JstpSecurityFlags security = jstp_security_inspect (self->security, d, NULL);
      TableroDispatchItem *item = tablero_dispatch_item_new (d, p->direction, p->peer,
                                                             p->time_us, security);

      if (jstp_dispatch_get_morphology (d) == JSTP_MORPHOLOGY_ANSWER)
        {
          g_autofree char *tx = dup_answered_id (d);
          TableroDispatchItem *request = tx ? g_hash_table_lookup (self->requests, tx) : NULL;

          if (request != NULL)
            tablero_dispatch_item_set_answer (request, jstp_dispatch_get_status (d),
                                              p->time_us - tablero_dispatch_item_get_time (request));
        }
      else if (jstp_dispatch_get_transaction_id (d) != NULL &&
               !g_hash_table_contains (self->requests, jstp_dispatch_get_transaction_id (d)))
        g_hash_table_insert (self->requests,
                             g_strdup (jstp_dispatch_get_transaction_id (d)), item);
      items[i++] = item;
      pending_free (p);
    }

  if (self->recording)
    record (self, items, n_new);

  /* The ring: what does not fit goes, oldest first. */
  if (n_old + n_new > self->history_size)
    n_drop = MIN (n_old, n_old + n_new - self->history_size);
  for (guint k = 0; k < n_drop; k++)
    {
      g_autoptr (TableroDispatchItem) old = g_list_model_get_item (G_LIST_MODEL (self->history), k);
      forget_request (self, old);
    }
  if (n_drop > 0)
    g_list_store_splice (self->history, 0, n_drop, NULL, 0);
  g_list_store_splice (self->history, n_old - n_drop, 0, (gpointer *) items, n_new);
  for (i = 0; i < n_new; i++)
    g_object_unref (items[i]);
  update_count (self);
}

static gboolean
flush_cb (gpointer data)
{
  TableroInspector *self = data;

  self->flush_source = 0;
  tablero_inspector_flush (self);
  return G_SOURCE_REMOVE;
}

/* ---- filtering ----------------------------------------------------------- */

static gboolean
matches_peer (TableroInspector    *self,
              TableroDispatchItem *item)
{
  const char *peer = tablero_dispatch_item_get_peer (item);
  JstpDispatch *d = tablero_dispatch_item_get_dispatch (item);

  if (self->peers == NULL)
    return TRUE;
  if (peer != NULL && g_strv_contains ((const char * const *) self->peers, peer))
    return TRUE;
  /* A local emitter's dispatch is about the hops it names. */
  for (guint i = 0; i < jstp_dispatch_get_n_hops (d); i++)
    {
      const JstpHop *hop = jstp_dispatch_get_hop (d, i);
      g_autofree char *text = g_strdup_printf ("%s:%u", hop->address, hop->port);

      if (g_strv_contains ((const char * const *) self->peers, text))
        return TRUE;
    }
  return FALSE;
}

static gboolean
matches_pattern (TableroInspector    *self,
                 TableroDispatchItem *item)
{
  JstpDispatch *d = tablero_dispatch_item_get_dispatch (item);
  const JstpElement *resource;
  guint n = 0;

  if (self->pattern == NULL)
    return TRUE;
  switch (jstp_dispatch_get_morphology (d))
    {
    case JSTP_MORPHOLOGY_REGULAR:
      resource = jstp_dispatch_get_resource (d, &n);
      return jstp_pattern_match (self->pattern,
                                 jstp_method_to_string (jstp_dispatch_get_method (d)),
                                 resource, n, NULL);
    case JSTP_MORPHOLOGY_SUBSCRIPTION:
      {
        /* A BIND or RELEASE matches when its endpoint, read as a resource,
         * does: the way the engine matches them too. */
        JstpPattern *endpoint = jstp_dispatch_get_endpoint (d);
        guint n_el = endpoint ? jstp_pattern_get_n_elements (endpoint) : 0;
        g_autofree JstpElement *elements = g_new0 (JstpElement, MAX (n_el, 1));

        for (guint i = 0; i < n_el; i++)
          {
            elements[i].type = JSTP_JSON_STRING;
            elements[i].text = jstp_pattern_get_element (endpoint, i);
            elements[i].length = strlen (elements[i].text);
          }
        return jstp_pattern_match (self->pattern,
                                   jstp_method_to_string (jstp_dispatch_get_method (d)),
                                   elements, n_el, NULL);
      }
    case JSTP_MORPHOLOGY_ANSWER:
    default:
      return FALSE;
    }
}

static gboolean
filter_func (gpointer object,
             gpointer data)
{
  TableroInspector *self = data;
  TableroDispatchItem *item = object;

  if (!matches_peer (self, item) || !matches_pattern (self, item))
    return FALSE;
  if (self->regex != NULL &&
      !g_regex_match (self->regex, tablero_dispatch_item_get_text (item), 0, NULL))
    return FALSE;
  return TRUE;
}

static void
refilter (TableroInspector *self)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_count (self);
}

static void
set_entry_error (GtkWidget  *entry,
                 const char *message)
{
  if (message != NULL)
    gtk_widget_add_css_class (entry, "error");
  else
    gtk_widget_remove_css_class (entry, "error");
  gtk_widget_set_tooltip_text (entry, message);
}

/* `GET ["user", "*"]`, `["user", "..."]` or `*`: a method (default any)
 * then a JSON array of strings. */
JstpPattern *
tablero_inspector_parse_pattern (const char  *text,
                                 GError     **error)
{
  g_autofree char *method = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GPtrArray) elements = g_ptr_array_new ();
  const char *p = text;
  const char *array_text;
  JsonArray *array;

  while (g_ascii_isspace (*p))
    p++;
  array_text = strchr (p, '[');
  if (array_text == NULL)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (p));
      return jstp_pattern_new (stripped, (const char * const []) { "..." }, 1,
                               JSTP_MODE_STRICT, error);
    }
  method = g_strstrip (g_strndup (p, array_text - p));
  if (*method == '\0')
    {
      g_free (method);
      method = g_strdup ("*");
    }
  if (!jstp_json_scan (array_text, strlen (array_text), NULL, NULL, NULL, 0, NULL, error) ||
      !json_parser_load_from_data (parser, array_text, -1, error))
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, JSTP_ERROR, 400, _("The endpoint must be a JSON array"));
      return NULL;
    }
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (json_node_get_value_type (node) != G_TYPE_STRING)
        {
          g_set_error (error, JSTP_ERROR, 400,
                       _("Element %u of the endpoint is not a string"), i);
          return NULL;
        }
      g_ptr_array_add (elements, (gpointer) json_node_get_string (node));
    }
  return jstp_pattern_new (method, (const char * const *) elements->pdata, elements->len,
                           JSTP_MODE_STRICT, error);
}

gboolean
tablero_inspector_set_pattern (TableroInspector *self,
                               const char       *text)
{
  g_autoptr (GError) error = NULL;
  JstpPattern *pattern = NULL;

  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), FALSE);

  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->pattern_entry)), text ? text : "") != 0)
    {
      /* The entry's handler comes back here. */
      gtk_editable_set_text (GTK_EDITABLE (self->pattern_entry), text ? text : "");
      return self->pattern != NULL || text == NULL || *text == '\0';
    }

  if (text != NULL && *text != '\0')
    {
      pattern = tablero_inspector_parse_pattern (text, &error);
      if (pattern == NULL)
        {
          set_entry_error (GTK_WIDGET (self->pattern_entry), error->message);
          return FALSE;
        }
    }
  set_entry_error (GTK_WIDGET (self->pattern_entry), NULL);
  g_clear_pointer (&self->pattern, jstp_pattern_unref);
  self->pattern = pattern;
  refilter (self);
  return TRUE;
}

gboolean
tablero_inspector_set_search (TableroInspector *self,
                              const char       *text)
{
  g_autoptr (GError) error = NULL;
  GRegex *regex = NULL;

  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), FALSE);

  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->search_entry)), text ? text : "") != 0)
    {
      gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text ? text : "");
      /* GtkSearchEntry reports changes after a delay: apply at once. */
    }

  if (text != NULL && *text != '\0')
    {
      regex = g_regex_new (text, G_REGEX_OPTIMIZE, 0, &error);
      if (regex == NULL)
        {
          set_entry_error (GTK_WIDGET (self->search_entry), error->message);
          return FALSE;
        }
    }
  set_entry_error (GTK_WIDGET (self->search_entry), NULL);
  g_clear_pointer (&self->regex, g_regex_unref);
  self->regex = regex;
  refilter (self);
  return TRUE;
}

static void
on_pattern_changed (TableroInspector *self)
{
  tablero_inspector_set_pattern (self, gtk_editable_get_text (GTK_EDITABLE (self->pattern_entry)));
}

static void
on_search_changed (TableroInspector *self)
{
  tablero_inspector_set_search (self, gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
}

void
tablero_inspector_set_peers (TableroInspector   *self,
                             const char * const *peers)
{
  g_return_if_fail (TABLERO_IS_INSPECTOR (self));

  g_clear_pointer (&self->peers, g_strfreev);
  if (peers != NULL && peers[0] != NULL)
    {
      g_autofree char *joined = g_strjoinv (", ", (char **) peers);
      g_autofree char *label = g_strdup_printf (_("Only %s"), joined);

      self->peers = g_strdupv ((char **) peers);
      gtk_button_set_label (self->peer_button, label);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->peer_button), self->peers != NULL);
  refilter (self);
}

static void
add_node_peer (GPtrArray   *peers,
               TableroNode *node)
{
  char *text;

  if (node == NULL || tablero_node_get_address (node) == NULL || tablero_node_get_port (node) == 0)
    return;
  text = g_strdup_printf ("%s:%u", tablero_node_get_address (node), tablero_node_get_port (node));
  for (guint i = 0; i < peers->len; i++)
    if (g_str_equal (peers->pdata[i], text))
      {
        g_free (text);
        return;
      }
  g_ptr_array_add (peers, text);
}

void
tablero_inspector_set_selection (TableroInspector *self,
                                 GPtrArray        *nodes,
                                 GPtrArray        *edges)
{
  g_autoptr (GPtrArray) peers = g_ptr_array_new_with_free_func (g_free);
  GtkRoot *root;
  TableroStack *stack = NULL;

  g_return_if_fail (TABLERO_IS_INSPECTOR (self));

  root = gtk_widget_get_root (GTK_WIDGET (self));
  if (TABLERO_IS_WINDOW (root))
    stack = tablero_window_get_stack (TABLERO_WINDOW (root));

  for (guint i = 0; nodes != NULL && i < nodes->len; i++)
    add_node_peer (peers, nodes->pdata[i]);
  for (guint i = 0; edges != NULL && stack != NULL && i < edges->len; i++)
    {
      add_node_peer (peers, tablero_stack_find_node (stack, tablero_edge_get_source_id (edges->pdata[i])));
      add_node_peer (peers, tablero_stack_find_node (stack, tablero_edge_get_target_id (edges->pdata[i])));
    }
  g_ptr_array_add (peers, NULL);
  tablero_inspector_set_peers (self, (const char * const *) peers->pdata);
}

static void
on_peer_button_clicked (TableroInspector *self)
{
  tablero_inspector_set_peers (self, NULL);
}

/* ---- rows ---------------------------------------------------------------- */

static char *
format_time (gint64 time_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
  g_autofree char *hms = NULL;

  if (dt == NULL)
    return g_strdup ("");
  hms = g_date_time_format (dt, "%H:%M:%S");
  return g_strdup_printf ("%s.%03d", hms, (int) ((time_us % G_USEC_PER_SEC) / 1000));
}

static char *
format_latency (gint64 latency_us)
{
  if (latency_us < 0)
    return g_strdup ("");
  if (latency_us < 10 * 1000)
    /* TRANSLATORS: a latency in milliseconds */
    return g_strdup_printf (_("%.2f ms"), latency_us / 1000.0);
  if (latency_us < 10 * G_USEC_PER_SEC)
    return g_strdup_printf (_("%.0f ms"), latency_us / 1000.0);
  /* TRANSLATORS: a latency in seconds */
  return g_strdup_printf (_("%.1f s"), latency_us / (double) G_USEC_PER_SEC);
}

static void
security_icon (JstpSecurityFlags  flags,
               const char       **icon,
               const char       **tooltip)
{
  *icon = NULL;
  *tooltip = NULL;
  if (flags & JSTP_SECURITY_INVALID)
    {
      *icon = "dialog-warning-symbolic";
      *tooltip = _("Invalid signature or envelope");
    }
  else if (flags & JSTP_SECURITY_DECRYPTED)
    {
      *icon = "channel-secure-symbolic";
      *tooltip = _("Encrypted to one of your keys");
    }
  else if (flags & JSTP_SECURITY_ENCRYPTED)
    {
      *icon = "channel-insecure-symbolic";
      *tooltip = _("Encrypted to someone else");
    }
  else if (flags & JSTP_SECURITY_VERIFIED)
    {
      *icon = "emblem-ok-symbolic";
      *tooltip = (flags & JSTP_SECURITY_TRUSTED) ? _("Valid signature by a trusted key")
                                                 : _("Valid signature");
    }
  else if (flags & JSTP_SECURITY_SIGNED)
    {
      *icon = "dialog-question-symbolic";
      *tooltip = _("Signed by an unknown key");
    }
}

static void
update_answer_cells (TableroDispatchItem *item,
                     GParamSpec          *pspec,
                     GtkLabel            *label)
{
  guint column = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (label), "column"));

  if (column == COL_STATUS)
    {
      guint status = tablero_dispatch_item_get_status (item);
      g_autofree char *text = status ? g_strdup_printf ("%u", status) : g_strdup ("");

      gtk_label_set_text (label, text);
      gtk_widget_remove_css_class (GTK_WIDGET (label), "error");
      gtk_widget_remove_css_class (GTK_WIDGET (label), "success");
      if (status >= 400)
        gtk_widget_add_css_class (GTK_WIDGET (label), "error");
      else if (status >= 200 && status < 300)
        gtk_widget_add_css_class (GTK_WIDGET (label), "success");
    }
  else
    {
      g_autofree char *text = format_latency (tablero_dispatch_item_get_latency (item));
      gtk_label_set_text (label, text);
    }
}

static void
setup_label (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             gpointer                  column)
{
  GtkWidget *widget;

  if (GPOINTER_TO_UINT (column) == COL_SECURITY)
    widget = gtk_image_new ();
  else
    {
      widget = gtk_label_new (NULL);
      gtk_label_set_xalign (GTK_LABEL (widget), 0);
      gtk_label_set_ellipsize (GTK_LABEL (widget), PANGO_ELLIPSIZE_END);
      gtk_label_set_single_line_mode (GTK_LABEL (widget), TRUE);
      if (GPOINTER_TO_UINT (column) == COL_RESOURCE || GPOINTER_TO_UINT (column) == COL_TIME)
        gtk_widget_add_css_class (widget, "monospace");
      if (GPOINTER_TO_UINT (column) == COL_STATUS || GPOINTER_TO_UINT (column) == COL_LATENCY)
        gtk_widget_add_css_class (widget, "numeric");
    }
  g_object_set_data (G_OBJECT (widget), "column", column);
  gtk_list_item_set_child (list_item, widget);
}

static void
bind_label (GtkSignalListItemFactory *factory,
            GtkListItem              *list_item,
            gpointer                  column)
{
  TableroDispatchItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *widget = gtk_list_item_get_child (list_item);
  JstpDispatch *d = tablero_dispatch_item_get_dispatch (item);
  g_autofree char *text = NULL;

  switch (GPOINTER_TO_UINT (column))
    {
    case COL_TIME:
      text = format_time (tablero_dispatch_item_get_time (item));
      break;
    case COL_SECURITY:
      {
        const char *icon, *tooltip;

        security_icon (tablero_dispatch_item_get_security (item), &icon, &tooltip);
        gtk_image_set_from_icon_name (GTK_IMAGE (widget), icon);
        gtk_widget_set_tooltip_text (widget, tooltip);
        return;
      }
    case COL_DIRECTION:
      switch (tablero_dispatch_item_get_direction (item))
        {
        case TABLERO_DIRECTION_IN:
          text = g_strdup (C_("direction", "In"));
          break;
        case TABLERO_DIRECTION_OUT:
          text = g_strdup (C_("direction", "Out"));
          break;
        case TABLERO_DIRECTION_LOCAL:
        default:
          text = g_strdup (C_("direction", "Local"));
          break;
        }
      break;
    case COL_METHOD:
      text = g_strdup (jstp_method_to_string (jstp_dispatch_get_method (d)));
      break;
    case COL_RESOURCE:
      if (jstp_dispatch_get_morphology (d) == JSTP_MORPHOLOGY_SUBSCRIPTION)
        {
          JstpPattern *endpoint = jstp_dispatch_get_endpoint (d);
          g_autoptr (GString) s = g_string_new ("[");

          for (guint i = 0; endpoint && i < jstp_pattern_get_n_elements (endpoint); i++)
            {
              if (i > 0)
                g_string_append_c (s, ',');
              jstp_json_append_string (s, jstp_pattern_get_element (endpoint, i), -1);
            }
          g_string_append_c (s, ']');
          text = g_string_free (g_steal_pointer (&s), FALSE);
        }
      else
        text = g_strdup (jstp_dispatch_get_resource_json (d));
      break;
    case COL_PEER:
      text = g_strdup (tablero_dispatch_item_get_peer (item));
      break;
    case COL_STATUS:
    case COL_LATENCY:
      update_answer_cells (item, NULL, GTK_LABEL (widget));
      if (jstp_dispatch_get_morphology (d) != JSTP_MORPHOLOGY_ANSWER &&
          tablero_dispatch_item_get_status (item) == 0)
        g_signal_connect_object (item, "notify::status", G_CALLBACK (update_answer_cells),
                                 widget, 0);
      return;
    default:
      g_assert_not_reached ();
    }
  gtk_label_set_text (GTK_LABEL (widget), text ? text : "");
}

static void
unbind_label (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  column)
{
  TableroDispatchItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *widget = gtk_list_item_get_child (list_item);

  if (item != NULL)
    g_signal_handlers_disconnect_by_func (item, update_answer_cells, widget);
}

static void
add_column (TableroInspector *self,
            const char       *title,
            guint             column,
            int               fixed_width,
            gboolean          expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *col;

  g_signal_connect (factory, "setup", G_CALLBACK (setup_label), GUINT_TO_POINTER (column));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_label), GUINT_TO_POINTER (column));
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_label), GUINT_TO_POINTER (column));
  col = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_resizable (col, TRUE);
  gtk_column_view_column_set_expand (col, expand);
  if (fixed_width > 0)
    gtk_column_view_column_set_fixed_width (col, fixed_width);
  gtk_column_view_append_column (self->column_view, col);
  g_object_unref (col);
}

static void
on_selected_changed (TableroInspector *self)
{
  TableroDispatchItem *item = gtk_single_selection_get_selected_item (self->selection);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->detail_view);
  g_autofree char *text = NULL;

  if (item != NULL)
    text = jstp_dispatch_to_pretty_string (tablero_dispatch_item_get_dispatch (item));
  gtk_text_buffer_set_text (buffer, text ? text : "", -1);
}

/* ---- pause, clear, record, export ---------------------------------------- */

gboolean
tablero_inspector_get_paused (TableroInspector *self)
{
  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), FALSE);
  return self->paused;
}

void
tablero_inspector_set_paused (TableroInspector *self,
                              gboolean          paused)
{
  g_return_if_fail (TABLERO_IS_INSPECTOR (self));

  paused = !!paused;
  if (self->paused == paused)
    return;
  self->paused = paused;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAUSED]);
}

void
tablero_inspector_clear (TableroInspector *self)
{
  g_return_if_fail (TABLERO_IS_INSPECTOR (self));

  g_queue_clear_full (&self->pending, (GDestroyNotify) pending_free);
  g_hash_table_remove_all (self->requests);
  g_list_store_remove_all (self->history);
  update_count (self);
}

gboolean
tablero_inspector_get_recording (TableroInspector *self)
{
  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), FALSE);
  return self->recording;
}

void
tablero_inspector_set_recording (TableroInspector *self,
                                 gboolean          recording)
{
  g_return_if_fail (TABLERO_IS_INSPECTOR (self));

  recording = !!recording;
  if (self->recording == recording)
    return;
  self->recording = recording;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECORDING]);
}

gboolean
tablero_inspector_export (TableroInspector  *self,
                          GFile             *file,
                          GError           **error)
{
  GListModel *model;
  g_autoptr (GString) out = g_string_new (NULL);

  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  tablero_inspector_flush (self);
  model = G_LIST_MODEL (self->filtered);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (TableroDispatchItem) item = g_list_model_get_item (model, i);

      g_string_append (out, tablero_dispatch_item_get_text (item));
      g_string_append_c (out, '\n');
    }
  return g_file_replace_contents (file, out->str, out->len, NULL, FALSE,
                                  G_FILE_CREATE_REPLACE_DESTINATION, NULL, NULL, error);
}

static void
on_export_response (GtkNativeDialog  *dialog,
                    int               response,
                    TableroInspector *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr (GError) error = NULL;

      if (!tablero_inspector_export (self, file, &error))
        {
          GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
          GtkWidget *message = adw_message_dialog_new (GTK_WINDOW (root),
                                                       _("Could Not Export the Dispatches"),
                                                       error->message);

          adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (message), "close", _("_Close"));
          gtk_window_present (GTK_WINDOW (message));
        }
    }
  g_object_unref (dialog);
}

static void
on_export_clicked (TableroInspector *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Export Dispatches"), GTK_WINDOW (root),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "dispatches.jsonl");
  g_signal_connect (chooser, "response", G_CALLBACK (on_export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_clear_clicked (TableroInspector *self)
{
  tablero_inspector_clear (self);
}

/* ---- engine -------------------------------------------------------------- */

JstpEngine *
tablero_inspector_get_engine (TableroInspector *self)
{
  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), NULL);
  return self->engine;
}

void
tablero_inspector_set_engine (TableroInspector *self,
                              JstpEngine       *engine)
{
  g_return_if_fail (TABLERO_IS_INSPECTOR (self));
  g_return_if_fail (engine == NULL || JSTP_IS_ENGINE (engine));

  if (self->engine == engine)
    return;
  if (self->engine != NULL)
    g_clear_signal_handler (&self->traffic_id, self->engine);
  g_set_object (&self->engine, engine);
  if (engine != NULL)
    self->traffic_id = g_signal_connect (engine, "traffic", G_CALLBACK (on_traffic), self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENGINE]);
}

GListModel *
tablero_inspector_get_history (TableroInspector *self)
{
  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), NULL);
  return G_LIST_MODEL (self->history);
}

GListModel *
tablero_inspector_get_visible (TableroInspector *self)
{
  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), NULL);
  return G_LIST_MODEL (self->filtered);
}

guint
tablero_inspector_get_history_size (TableroInspector *self)
{
  g_return_val_if_fail (TABLERO_IS_INSPECTOR (self), 0);
  return self->history_size;
}

void
tablero_inspector_set_history_size (TableroInspector *self,
                                    guint             size)
{
  guint n;

  g_return_if_fail (TABLERO_IS_INSPECTOR (self));
  g_return_if_fail (size > 0);

  if (self->history_size == size)
    return;
  self->history_size = size;
  n = g_list_model_get_n_items (G_LIST_MODEL (self->history));
  if (n > size)
    {
      for (guint k = 0; k < n - size; k++)
        {
          g_autoptr (TableroDispatchItem) old = g_list_model_get_item (G_LIST_MODEL (self->history), k);
          forget_request (self, old);
        }
      g_list_store_splice (self->history, 0, n - size, NULL, 0);
      update_count (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HISTORY_SIZE]);
}

/* ---- GObject ------------------------------------------------------------- */

GtkWidget *
tablero_inspector_new (void)
{
  return g_object_new (TABLERO_TYPE_INSPECTOR, NULL);
}

static void
tablero_inspector_dispose (GObject *object)
{
  TableroInspector *self = TABLERO_INSPECTOR (object);

  tablero_inspector_set_engine (self, NULL);
  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_queue_clear_full (&self->pending, (GDestroyNotify) pending_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), TABLERO_TYPE_INSPECTOR);
  {
    GtkWidget *child;

    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
      gtk_widget_unparent (child);
  }

  G_OBJECT_CLASS (tablero_inspector_parent_class)->dispose (object);
}

static void
tablero_inspector_finalize (GObject *object)
{
  TableroInspector *self = TABLERO_INSPECTOR (object);

  g_clear_object (&self->security);
  g_clear_object (&self->selection);
  g_clear_object (&self->filtered);
  g_clear_object (&self->history);
  g_clear_pointer (&self->requests, g_hash_table_unref);
  g_clear_pointer (&self->pattern, jstp_pattern_unref);
  g_clear_pointer (&self->regex, g_regex_unref);
  g_strfreev (self->peers);

  G_OBJECT_CLASS (tablero_inspector_parent_class)->finalize (object);
}

static void
tablero_inspector_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  TableroInspector *self = TABLERO_INSPECTOR (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_HISTORY_SIZE:
      g_value_set_uint (value, self->history_size);
      break;
    case PROP_PAUSED:
      g_value_set_boolean (value, self->paused);
      break;
    case PROP_RECORDING:
      g_value_set_boolean (value, self->recording);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_inspector_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  TableroInspector *self = TABLERO_INSPECTOR (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      tablero_inspector_set_engine (self, g_value_get_object (value));
      break;
    case PROP_HISTORY_SIZE:
      tablero_inspector_set_history_size (self, g_value_get_uint (value));
      break;
    case PROP_PAUSED:
      tablero_inspector_set_paused (self, g_value_get_boolean (value));
      break;
    case PROP_RECORDING:
      tablero_inspector_set_recording (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_inspector_class_init (TableroInspectorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tablero_inspector_dispose;
  object_class->finalize = tablero_inspector_finalize;
  object_class->get_property = tablero_inspector_get_property;
  object_class->set_property = tablero_inspector_set_property;

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, JSTP_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HISTORY_SIZE] =
    g_param_spec_uint ("history-size", NULL, NULL, 1, G_MAXUINT, DEFAULT_HISTORY_SIZE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PAUSED] =
    g_param_spec_boolean ("paused", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RECORDING] =
    g_param_spec_boolean ("recording", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tablero/Tablero/inspector/tablero-inspector.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, toolbar);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, pattern_entry);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, search_entry);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, pause_button);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, record_button);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, peer_button);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, count_label);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, column_view);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, detail_view);
  gtk_widget_class_bind_template_child (widget_class, TableroInspector, paned);
  gtk_widget_class_bind_template_callback (widget_class, on_pattern_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_clear_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_export_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_peer_button_clicked);
}

static void
tablero_inspector_init (TableroInspector *self)
{
  GApplication *app = g_application_get_default ();
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;

  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  gtk_widget_init_template (GTK_WIDGET (self));

  g_queue_init (&self->pending);
  self->history_size = DEFAULT_HISTORY_SIZE;
  self->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->security = jstp_security_new ();
  jstp_security_set_keyring (self->security, tablero_keys_dialog_get_keyring ());

  self->history = g_list_store_new (TABLERO_TYPE_DISPATCH_ITEM);
  self->filter = gtk_custom_filter_new (filter_func, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->history)),
                                              GTK_FILTER (self->filter));
  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->filtered)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_swapped (self->selection, "notify::selected-item",
                            G_CALLBACK (on_selected_changed), self);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));

  add_column (self, _("Time"), COL_TIME, 110, FALSE);
  add_column (self, "", COL_SECURITY, 28, FALSE);
  add_column (self, _("Direction"), COL_DIRECTION, 70, FALSE);
  add_column (self, _("Method"), COL_METHOD, 80, FALSE);
  add_column (self, _("Resource"), COL_RESOURCE, -1, TRUE);
  add_column (self, _("Peer"), COL_PEER, 150, FALSE);
  add_column (self, _("Status"), COL_STATUS, 60, FALSE);
  add_column (self, _("Latency"), COL_LATENCY, 80, FALSE);

  g_object_bind_property (self->pause_button, "active", self, "paused",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->record_button, "active", self, "recording",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);

  if (source != NULL &&
      (schema = g_settings_schema_source_lookup (source, APP_ID, TRUE)) != NULL &&
      g_settings_schema_has_key (schema, "inspector-history-size"))
    {
      g_autoptr (GSettings) settings = g_settings_new (APP_ID);

      tablero_inspector_set_history_size (self, g_settings_get_uint (settings,
                                                                     "inspector-history-size"));
    }

  if (TABLERO_IS_APPLICATION (app))
    tablero_inspector_set_engine (self, tablero_application_get_engine (TABLERO_APPLICATION (app)));
  update_count (self);
}
