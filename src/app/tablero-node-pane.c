/* tablero-node-pane.c: details of the selected node or connection
 *
 * SPDX-License-Identifier: MIT
 *
 * Follows the one selected node (or edge) through its notify signal, so
 * the live figures stay current without polling.
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "live/tablero-plot.h"
#include "tablero-node-pane.h"

struct _TableroNodePane
{
  GtkWidget     parent_instance;

  TableroStack *stack;
  TableroNode  *node;
  TableroEdge  *edge;
  gulong        notify_id;

  GtkStack     *stack_widget;
  AdwStatusPage *many_page;
  AdwEntryRow  *name_row;
  GtkLabel     *kind_label;
  GtkLabel     *address_label;
  GtkLabel     *transport_label;
  GtkLabel     *local_label;
  GtkLabel     *state_label;
  GtkLevelBar  *saturation_bar;
  GtkLabel     *saturation_label;
  GtkLabel     *cpu_label;
  GtkLabel     *memory_label;
  GtkLabel     *disk_label;
  GtkLabel     *network_label;
  GtkLabel     *source_label;
  GtkLabel     *target_label;
  GtkLabel     *method_label;
  GtkLabel     *resource_label;
  GtkLabel     *rate_label;
  GtkBox       *live_box;

  /* Live: history plots and the child's output, from the node's link */
  TableroLiveStack *live;
  TableroNodeLink  *link;
  gulong        sample_id;
  gulong        output_id;
  GtkWidget    *plots[5];
  GtkExpander  *output_expander;
  GtkTextView  *output_view;

  /* What a Monje node holds or a Pajaro node tracks, asked of the node
   * on its status reports: GET ["db"] or GET ["pajaro","stats"]. */
  GtkWidget    *contents_group;
  GPtrArray    *contents_rows;  /* AdwActionRow */
  char         *contents_summary;
  gulong        status_id;
  guint         contents_generation;
  gboolean      contents_pending;
  gint64        contents_asked;
};

G_DEFINE_FINAL_TYPE (TableroNodePane, tablero_node_pane, GTK_TYPE_WIDGET)

static const char *
kind_name (TableroNodeKind kind)
{
  switch (kind)
    {
    case TABLERO_NODE_KIND_MONJE:
      return _("Monje document store");
    case TABLERO_NODE_KIND_PAJARO:
      return _("Pajaro social stream");
    case TABLERO_NODE_KIND_ENGINE:
    default:
      return _("Engine");
    }
}

static void
set_level_class (GtkWidget    *widget,
                 TableroLevel  level)
{
  gtk_widget_remove_css_class (widget, "warning");
  gtk_widget_remove_css_class (widget, "error");
  if (level == TABLERO_LEVEL_BUSY)
    gtk_widget_add_css_class (widget, "warning");
  else if (level == TABLERO_LEVEL_CRITICAL)
    gtk_widget_add_css_class (widget, "error");
}

static void
set_percent (GtkLabel *label,
             double    fraction)
{
  char text[16];

  g_snprintf (text, sizeof text, _("%d%%"), (int) (CLAMP (fraction, 0.0, 1.0) * 100 + 0.5));
  gtk_label_set_label (label, text);
}

static void
update_node (TableroNodePane *self)
{
  TableroNode *node = self->node;
  g_autofree char *address = NULL;
  const char *state;
  const char *state_class = NULL;
  GtkWidget *name_text;

  if (node == NULL)
    return;

  /* Don't overwrite what the user is typing. */
  name_text = gtk_widget_get_focus_child (GTK_WIDGET (self->name_row));
  if (name_text == NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->name_row), tablero_node_get_name (node));

  gtk_label_set_label (self->kind_label, kind_name (tablero_node_get_kind (node)));
  address = g_strdup_printf ("%s:%u", tablero_node_get_address (node),
                             tablero_node_get_port (node));
  gtk_label_set_label (self->address_label, address);
  gtk_label_set_label (self->transport_label,
                       g_strcmp0 (tablero_node_get_transport (node), "ws") == 0
                       ? _("WebSocket") : _("TCP"));
  gtk_label_set_label (self->local_label, tablero_node_get_local (node)
                                          ? _("Started by Tablero") : _("Remote"));

  switch (tablero_node_get_state (node))
    {
    case TABLERO_NODE_STATE_CONNECTING:
      state = _("Connecting…");
      break;
    case TABLERO_NODE_STATE_UP:
      state = _("Up");
      state_class = "success";
      break;
    case TABLERO_NODE_STATE_DOWN:
      state = _("Down");
      state_class = "error";
      break;
    case TABLERO_NODE_STATE_RECONNECTING:
      state = _("Reconnecting…");
      state_class = "warning";
      break;
    case TABLERO_NODE_STATE_IDLE:
    default:
      state = _("Not connected");
      break;
    }
  gtk_label_set_label (self->state_label, state);
  gtk_widget_remove_css_class (GTK_WIDGET (self->state_label), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (self->state_label), "warning");
  gtk_widget_remove_css_class (GTK_WIDGET (self->state_label), "error");
  if (state_class != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->state_label), state_class);

  gtk_level_bar_set_value (self->saturation_bar, CLAMP (tablero_node_get_saturation (node), 0, 1));
  gtk_widget_remove_css_class (GTK_WIDGET (self->saturation_bar), "busy");
  gtk_widget_remove_css_class (GTK_WIDGET (self->saturation_bar), "critical");
  if (tablero_node_get_level (node) == TABLERO_LEVEL_BUSY)
    gtk_widget_add_css_class (GTK_WIDGET (self->saturation_bar), "busy");
  else if (tablero_node_get_level (node) == TABLERO_LEVEL_CRITICAL)
    gtk_widget_add_css_class (GTK_WIDGET (self->saturation_bar), "critical");
  set_percent (self->saturation_label, tablero_node_get_saturation (node));
  set_level_class (GTK_WIDGET (self->saturation_label), tablero_node_get_level (node));
  set_percent (self->cpu_label, tablero_node_get_cpu (node));
  set_percent (self->memory_label, tablero_node_get_memory (node));
  set_percent (self->disk_label, tablero_node_get_disk (node));
  set_percent (self->network_label, tablero_node_get_network (node));
}

static void
update_edge (TableroNodePane *self)
{
  TableroEdge *edge = self->edge;
  TableroNode *source = NULL, *target = NULL;
  g_autofree char *resource = NULL;
  g_autofree char *path = NULL;
  char rate[32];

  if (edge == NULL)
    return;

  if (self->stack != NULL)
    {
      source = tablero_stack_find_node (self->stack, tablero_edge_get_source_id (edge));
      target = tablero_stack_find_node (self->stack, tablero_edge_get_target_id (edge));
    }
  gtk_label_set_label (self->source_label, source ? tablero_node_get_name (source)
                                                  : tablero_edge_get_source_id (edge));
  gtk_label_set_label (self->target_label, target ? tablero_node_get_name (target)
                                                  : tablero_edge_get_target_id (edge));
  gtk_label_set_label (self->method_label, tablero_edge_get_method (edge));
  resource = g_strjoinv ("/", (char **) tablero_edge_get_resource (edge));
  path = g_strconcat ("/", resource, NULL);
  gtk_label_set_label (self->resource_label, path);
  /* TRANSLATORS: dispatches per second */
  g_snprintf (rate, sizeof rate, _("%.1f/s"), tablero_edge_get_rate (edge));
  gtk_label_set_label (self->rate_label, rate);
}

static void
on_item_notify (TableroNodePane *self)
{
  if (self->node != NULL)
    update_node (self);
  else
    update_edge (self);
}

static void
append_output (TableroNodePane *self,
               const char      *line)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->output_view);
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  if (gtk_text_buffer_get_char_count (buffer) > 0)
    gtk_text_buffer_insert (buffer, &end, "\n", 1);
  gtk_text_buffer_insert (buffer, &end, line, -1);
  /* As many lines as the link keeps. */
  if (gtk_text_buffer_get_line_count (buffer) > TABLERO_NODE_LINK_MAX_OUTPUT)
    {
      GtkTextIter start, cut;

      gtk_text_buffer_get_start_iter (buffer, &start);
      gtk_text_buffer_get_iter_at_line (buffer, &cut,
                                        gtk_text_buffer_get_line_count (buffer) -
                                        TABLERO_NODE_LINK_MAX_OUTPUT);
      gtk_text_buffer_delete (buffer, &start, &cut);
    }
}

static void
on_output_line (TableroNodePane *self,
                const char      *line)
{
  append_output (self, line);
}

static void
on_sample (TableroNodePane *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->plots); i++)
    gtk_widget_queue_draw (self->plots[i]);
}


/* ---- contents: Monje's collections, Pajaro's tracks ---------------------- */

typedef struct {
  TableroNodePane *self;
  guint generation;
  gboolean answered;
} ContentsQuery;

static void
contents_query_free (gpointer data)
{
  ContentsQuery *query = data;

  if (!query->answered && query->generation == query->self->contents_generation)
    query->self->contents_pending = FALSE;
  g_object_unref (query->self);
  g_free (query);
}

static void
contents_clear (TableroNodePane *self)
{
  for (guint i = 0; i < self->contents_rows->len; i++)
    adw_preferences_group_remove (ADW_PREFERENCES_GROUP (self->contents_group),
                                  g_ptr_array_index (self->contents_rows, i));
  g_ptr_array_set_size (self->contents_rows, 0);
  g_clear_pointer (&self->contents_summary, g_free);
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self->contents_group), NULL);
}

static void
contents_add_row (TableroNodePane *self,
                  const char      *title,
                  const char      *value)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *label = gtk_label_new (value);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_add_css_class (label, "numeric");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->contents_group), row);
  g_ptr_array_add (self->contents_rows, row);
}

static void
contents_set_summary (TableroNodePane *self,
                      char            *summary)
{
  g_free (self->contents_summary);
  self->contents_summary = summary;
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self->contents_group), summary);
}

static void
show_collections (TableroNodePane *self,
                  JsonObject      *answer)
{
  JsonNode *member = json_object_get_member (answer, "collections");
  JsonArray *collections;
  gint64 total = 0;
  guint n;

  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member))
    return;
  collections = json_node_get_array (member);
  n = json_array_get_length (collections);
  contents_clear (self);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (collections, i);
      JsonObject *collection;
      g_autofree char *count = NULL;
      gint64 documents;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      collection = json_node_get_object (element);
      documents = json_object_get_int_member_with_default (collection, "count", 0);
      total += documents;
      count = g_strdup_printf ("%" G_GINT64_FORMAT, documents);
      contents_add_row (self, json_object_get_string_member_with_default (collection, "name", "?"),
                        count);
    }
  {
    g_autofree char *number = g_strdup_printf ("%" G_GINT64_FORMAT, total);
    /* TRANSLATORS: the first half of "3 collections · 120 documents" */
    g_autofree char *collections_text =
      g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u collection", "%u collections", n), n);
    /* TRANSLATORS: the second half of "3 collections · 120 documents" */
    g_autofree char *documents_text =
      g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s document", "%s documents",
                                    (gulong) total), number);

    contents_set_summary (self, g_strdup_printf ("%s · %s", collections_text, documents_text));
  }
}

static void
show_tracks (TableroNodePane *self,
             JsonObject      *answer)
{
  JsonNode *member = json_object_get_member (answer, "tags");
  JsonObject *tags;
  g_autoptr (GList) names = NULL;
  g_autofree char *tags_text = NULL;
  g_autofree char *rate_text = NULL;
  guint n;

  if (member == NULL || !JSON_NODE_HOLDS_OBJECT (member))
    return;
  tags = json_node_get_object (member);
  contents_clear (self);
  names = g_list_sort (json_object_get_members (tags), (GCompareFunc) g_strcmp0);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *entry = json_object_get_member (tags, l->data);
      g_autofree char *value = NULL;
      double rate = 0;

      if (JSON_NODE_HOLDS_OBJECT (entry))
        rate = json_object_get_double_member_with_default (json_node_get_object (entry),
                                                           "rate", 0);
      /* TRANSLATORS: posts per second, e.g. "4.1/s" */
      value = g_strdup_printf (_("%.1f/s"), rate);
      contents_add_row (self, l->data, value);
    }
  n = g_list_length (names);
  /* TRANSLATORS: the first half of "2 tags · 4.1/s" */
  tags_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u tag", "%u tags", n), n);
  /* TRANSLATORS: posts per second, e.g. "4.1/s" */
  rate_text = g_strdup_printf (_("%.1f/s"),
                               json_object_get_double_member_with_default (answer, "rate", 0));
  contents_set_summary (self, g_strdup_printf ("%s · %s", tags_text, rate_text));
}

static void
on_contents_answer (JstpEngine   *engine,
                    JstpDispatch *answer,
                    gpointer      data)
{
  ContentsQuery *query = data;
  TableroNodePane *self = query->self;
  g_autoptr (JsonNode) body = NULL;

  if (query->answered || query->generation != self->contents_generation || self->node == NULL)
    return;
  /* The transaction stays open for other answers: the first is the node's. */
  query->answered = TRUE;
  self->contents_pending = FALSE;
  if (jstp_dispatch_get_status (answer) != 200)
    return;
  body = jstp_dispatch_dup_body (answer);
  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    return;
  if (tablero_node_get_kind (self->node) == TABLERO_NODE_KIND_MONJE)
    show_collections (self, json_node_get_object (body));
  else
    show_tracks (self, json_node_get_object (body));
}

/* Asks again at most once a second, and never while an answer is due. */
static void
contents_refresh (TableroNodePane *self)
{
  g_autoptr (JstpDispatch) dispatch = NULL;
  ContentsQuery *query;
  gint64 now = g_get_monotonic_time ();

  if (self->live == NULL || self->node == NULL || self->contents_pending ||
      now - self->contents_asked < G_USEC_PER_SEC)
    return;
  if (tablero_node_get_kind (self->node) == TABLERO_NODE_KIND_MONJE)
    dispatch = jstp_dispatch_new (JSTP_METHOD_GET, (const char * const[]) { "db", NULL });
  else if (tablero_node_get_kind (self->node) == TABLERO_NODE_KIND_PAJARO)
    dispatch = jstp_dispatch_new (JSTP_METHOD_GET, (const char * const[]) { "pajaro", "stats",
                                                                            NULL });
  else
    return;
  query = g_new0 (ContentsQuery, 1);
  query->self = g_object_ref (self);
  query->generation = self->contents_generation;
  self->contents_asked = now;
  self->contents_pending = TRUE;
  tablero_live_stack_send (self->live, self->node, dispatch, on_contents_answer, query,
                           contents_query_free);
}

static void
contents_reset (TableroNodePane *self)
{
  TableroNodeKind kind = self->node ? tablero_node_get_kind (self->node) : TABLERO_NODE_KIND_ENGINE;

  self->contents_generation++;
  self->contents_pending = FALSE;
  self->contents_asked = 0;
  contents_clear (self);
  gtk_widget_set_visible (self->contents_group,
                          kind == TABLERO_NODE_KIND_MONJE || kind == TABLERO_NODE_KIND_PAJARO);
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self->contents_group),
                                   kind == TABLERO_NODE_KIND_MONJE ? _("Collections")
                                                                   : _("Tracked Tags"));
}

static void
clear_link (TableroNodePane *self)
{
  if (self->link != NULL)
    {
      g_clear_signal_handler (&self->sample_id, self->link);
      g_clear_signal_handler (&self->output_id, self->link);
      g_clear_signal_handler (&self->status_id, self->link);
      g_clear_object (&self->link);
    }
  for (guint i = 0; i < G_N_ELEMENTS (self->plots); i++)
    tablero_plot_set_samples (TABLERO_PLOT (self->plots[i]), NULL);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->output_view), "", 0);
}

static void
set_link (TableroNodePane *self)
{
  TableroNodeLink *link;
  GPtrArray *output;

  clear_link (self);
  contents_reset (self);
  link = self->live && self->node ? tablero_live_stack_get_link (self->live, self->node) : NULL;
  gtk_widget_set_visible (GTK_WIDGET (self->output_expander),
                          self->node != NULL && tablero_node_get_local (self->node));
  if (link == NULL)
    return;
  self->link = g_object_ref (link);
  for (guint i = 0; i < G_N_ELEMENTS (self->plots); i++)
    tablero_plot_set_samples (TABLERO_PLOT (self->plots[i]), tablero_node_link_get_history (link));
  output = tablero_node_link_get_output (link);
  for (guint i = 0; i < output->len; i++)
    append_output (self, g_ptr_array_index (output, i));
  self->sample_id = g_signal_connect_swapped (link, "sample", G_CALLBACK (on_sample), self);
  self->output_id = g_signal_connect_swapped (link, "output-line", G_CALLBACK (on_output_line),
                                              self);
  self->status_id = g_signal_connect_swapped (link, "status", G_CALLBACK (contents_refresh), self);
  contents_refresh (self);
}

static void
clear_item (TableroNodePane *self)
{
  clear_link (self);
  if (self->node != NULL)
    g_clear_signal_handler (&self->notify_id, self->node);
  if (self->edge != NULL)
    g_clear_signal_handler (&self->notify_id, self->edge);
  g_clear_object (&self->node);
  g_clear_object (&self->edge);
}

void
tablero_node_pane_set_selection (TableroNodePane *self,
                                 GPtrArray       *nodes,
                                 GPtrArray       *edges)
{
  guint n_nodes, n_edges;

  g_return_if_fail (TABLERO_IS_NODE_PANE (self));

  n_nodes = nodes ? nodes->len : 0;
  n_edges = edges ? edges->len : 0;

  if (n_nodes == 1 && n_edges == 0 && self->node == g_ptr_array_index (nodes, 0))
    return;
  if (n_nodes == 0 && n_edges == 1 && self->edge == g_ptr_array_index (edges, 0))
    return;

  clear_item (self);

  if (n_nodes == 1 && n_edges == 0)
    {
      self->node = g_object_ref (g_ptr_array_index (nodes, 0));
      self->notify_id = g_signal_connect_swapped (self->node, "notify",
                                                  G_CALLBACK (on_item_notify), self);
      gtk_editable_set_text (GTK_EDITABLE (self->name_row), tablero_node_get_name (self->node));
      update_node (self);
      set_link (self);
      gtk_stack_set_visible_child_name (self->stack_widget, "node");
    }
  else if (n_nodes == 0 && n_edges == 1)
    {
      self->edge = g_object_ref (g_ptr_array_index (edges, 0));
      self->notify_id = g_signal_connect_swapped (self->edge, "notify",
                                                  G_CALLBACK (on_item_notify), self);
      update_edge (self);
      gtk_stack_set_visible_child_name (self->stack_widget, "edge");
    }
  else if (n_nodes + n_edges > 1)
    {
      g_autofree char *title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                             "%u Item Selected",
                                                             "%u Items Selected",
                                                             n_nodes + n_edges),
                                                n_nodes + n_edges);
      adw_status_page_set_title (self->many_page, title);
      gtk_stack_set_visible_child_name (self->stack_widget, "many");
    }
  else
    gtk_stack_set_visible_child_name (self->stack_widget, "empty");
}

void
tablero_node_pane_set_live (TableroNodePane  *self,
                            TableroLiveStack *live)
{
  g_return_if_fail (TABLERO_IS_NODE_PANE (self));
  g_return_if_fail (live == NULL || TABLERO_IS_LIVE_STACK (live));

  if (g_set_object (&self->live, live))
    set_link (self);
}

GtkWidget *
tablero_node_pane_get_plot (TableroNodePane *self,
                            guint            figure)
{
  g_return_val_if_fail (TABLERO_IS_NODE_PANE (self), NULL);
  g_return_val_if_fail (figure < G_N_ELEMENTS (self->plots), NULL);

  return self->plots[figure];
}

TableroNode *
tablero_node_pane_get_node (TableroNodePane *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_PANE (self), NULL);

  return self->node;
}

const char *
tablero_node_pane_get_page (TableroNodePane *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_PANE (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack_widget);
}

void
tablero_node_pane_set_stack (TableroNodePane *self,
                             TableroStack    *stack)
{
  g_return_if_fail (TABLERO_IS_NODE_PANE (self));
  g_return_if_fail (stack == NULL || TABLERO_IS_STACK (stack));

  if (g_set_object (&self->stack, stack))
    tablero_node_pane_set_selection (self, NULL, NULL);
}

static void
on_name_apply (TableroNodePane *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->name_row));
  g_autofree char *name = g_strstrip (g_strdup (text));

  if (self->node == NULL || self->stack == NULL)
    return;
  if (*name == '\0')
    {
      /* An empty name is not applied: show the current one again. */
      gtk_editable_set_text (GTK_EDITABLE (self->name_row), tablero_node_get_name (self->node));
      return;
    }
  if (g_strcmp0 (name, tablero_node_get_name (self->node)) != 0 &&
      tablero_stack_find_node (self->stack, tablero_node_get_id (self->node)) == self->node)
    tablero_stack_rename_node (self->stack, self->node, name);
}

GtkWidget *
tablero_node_pane_new (void)
{
  return g_object_new (TABLERO_TYPE_NODE_PANE, NULL);
}

static void
tablero_node_pane_dispose (GObject *object)
{
  TableroNodePane *self = TABLERO_NODE_PANE (object);
  GtkWidget *child;

  clear_item (self);
  g_clear_object (&self->stack);
  g_clear_object (&self->live);
  g_clear_pointer (&self->contents_rows, g_ptr_array_unref);
  g_clear_pointer (&self->contents_summary, g_free);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  gtk_widget_dispose_template (GTK_WIDGET (self), TABLERO_TYPE_NODE_PANE);

  G_OBJECT_CLASS (tablero_node_pane_parent_class)->dispose (object);
}

static void
build_live (TableroNodePane *self)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *plots = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *contents = adw_preferences_group_new ();
  const char *titles[] = {
    _("CPU"), _("Memory"), _("Disk"), _("Network"), _("Saturation"),
  };

  self->contents_group = contents;
  self->contents_rows = g_ptr_array_new ();
  gtk_widget_set_visible (contents, FALSE);
  gtk_box_append (self->live_box, contents);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("History"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group), _("Up to the last 10 minutes"));
  gtk_widget_add_css_class (plots, "card");
  gtk_widget_add_css_class (plots, "plots");
  for (guint i = 0; i < G_N_ELEMENTS (self->plots); i++)
    {
      self->plots[i] = tablero_plot_new (i, titles[i]);
      gtk_widget_set_margin_start (self->plots[i], 12);
      gtk_widget_set_margin_end (self->plots[i], 12);
      gtk_widget_set_margin_top (self->plots[i], i == 0 ? 10 : 0);
      gtk_widget_set_margin_bottom (self->plots[i], i == G_N_ELEMENTS (self->plots) - 1 ? 10 : 0);
      gtk_box_append (GTK_BOX (plots), self->plots[i]);
      /* One hover line for all of them. */
      if (i > 0)
        g_object_bind_property (self->plots[0], "hover-time", self->plots[i], "hover-time",
                                G_BINDING_BIDIRECTIONAL);
    }
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), plots);
  gtk_box_append (self->live_box, group);

  self->output_view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_text_view_set_editable (self->output_view, FALSE);
  gtk_text_view_set_monospace (self->output_view, TRUE);
  gtk_text_view_set_wrap_mode (self->output_view, GTK_WRAP_CHAR);
  gtk_text_view_set_left_margin (self->output_view, 6);
  gtk_text_view_set_right_margin (self->output_view, 6);
  gtk_text_view_set_top_margin (self->output_view, 6);
  gtk_text_view_set_bottom_margin (self->output_view, 6);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->output_view));
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scrolled), 160);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_widget_add_css_class (scrolled, "card");
  gtk_widget_set_margin_top (scrolled, 6);
  self->output_expander = GTK_EXPANDER (gtk_expander_new_with_mnemonic (_("_Output")));
  gtk_expander_set_child (self->output_expander, scrolled);
  gtk_box_append (self->live_box, GTK_WIDGET (self->output_expander));
}

static void
tablero_node_pane_class_init (TableroNodePaneClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tablero_node_pane_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tablero/Tablero/tablero-node-pane.ui");
  gtk_widget_class_bind_template_child_full (widget_class, "stack", FALSE,
                                             G_STRUCT_OFFSET (TableroNodePane, stack_widget));
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, many_page);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, name_row);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, kind_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, address_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, transport_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, local_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, state_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, saturation_bar);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, saturation_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, cpu_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, memory_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, disk_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, network_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, source_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, target_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, method_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, resource_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, rate_label);
  gtk_widget_class_bind_template_child (widget_class, TableroNodePane, live_box);
  gtk_widget_class_bind_template_callback (widget_class, on_name_apply);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "nodepane");
}

static void
tablero_node_pane_init (TableroNodePane *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_stack_set_visible_child_name (self->stack_widget, "empty");

  /* One colour for the bar, set from the node's level by CSS class. */
  gtk_level_bar_remove_offset_value (self->saturation_bar, GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (self->saturation_bar, GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value (self->saturation_bar, GTK_LEVEL_BAR_OFFSET_FULL);

  build_live (self);
}

const char *
tablero_node_pane_get_contents_summary (TableroNodePane *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_PANE (self), NULL);
  return self->contents_summary;
}
