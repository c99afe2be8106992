/* SPDX-License-Identifier: MIT */
/* tablero-overview.c: a list bound to the stack's nodes; each row follows
 * its node's notify signal, so figures stay current without polling. */
#include "config.h"

#include <glib/gi18n.h>

#include "tablero-overview.h"

#define NAME_CHARS    16
#define STATE_CHARS   13
#define FIGURE_CHARS   8

struct _TableroOverview
{
  GtkWidget     parent_instance;

  TableroStack *stack;
  GtkListBox   *list;
};

G_DEFINE_FINAL_TYPE (TableroOverview, tablero_overview, GTK_TYPE_WIDGET)

static const char *
state_name (TableroNodeState state)
{
  switch (state)
    {
    case TABLERO_NODE_STATE_CONNECTING:
      return _("Connecting…");
    case TABLERO_NODE_STATE_UP:
      return _("Up");
    case TABLERO_NODE_STATE_DOWN:
      return _("Down");
    case TABLERO_NODE_STATE_RECONNECTING:
      return _("Reconnecting…");
    case TABLERO_NODE_STATE_IDLE:
    default:
      return _("Not connected");
    }
}

static GtkWidget *
cell (const char *text,
      int         chars,
      float       xalign)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_width_chars (GTK_LABEL (label), chars);
  gtk_label_set_max_width_chars (GTK_LABEL (label), chars);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  gtk_widget_add_css_class (label, "numeric");
  return label;
}

static void
set_percent (GtkWidget *label,
             double     value)
{
  char text[16];

  g_snprintf (text, sizeof text, _("%d%%"), (int) (CLAMP (value, 0, 1) * 100 + 0.5));
  gtk_label_set_label (GTK_LABEL (label), text);
}

static void
update_row (GtkWidget   *box,
            GParamSpec  *pspec,
            TableroNode *node)
{
  GtkWidget *child = gtk_widget_get_first_child (box);
  TableroLevel level = tablero_node_get_level (node);
  TableroNodeState state = tablero_node_get_state (node);
  double figures[] = {
    tablero_node_get_cpu (node), tablero_node_get_memory (node), tablero_node_get_disk (node),
    tablero_node_get_network (node), tablero_node_get_saturation (node),
  };

  gtk_label_set_label (GTK_LABEL (child), tablero_node_get_name (node));
  child = gtk_widget_get_next_sibling (child);
  gtk_label_set_label (GTK_LABEL (child), state_name (state));
  gtk_widget_remove_css_class (child, "success");
  gtk_widget_remove_css_class (child, "error");
  if (state == TABLERO_NODE_STATE_UP)
    gtk_widget_add_css_class (child, "success");
  else if (state == TABLERO_NODE_STATE_DOWN)
    gtk_widget_add_css_class (child, "error");
  for (guint i = 0; i < G_N_ELEMENTS (figures); i++)
    {
      child = gtk_widget_get_next_sibling (child);
      set_percent (child, figures[i]);
    }
  /* The combined figure carries the colour. */
  gtk_widget_remove_css_class (child, "warning");
  gtk_widget_remove_css_class (child, "error");
  if (level == TABLERO_LEVEL_BUSY)
    gtk_widget_add_css_class (child, "warning");
  else if (level == TABLERO_LEVEL_CRITICAL)
    gtk_widget_add_css_class (child, "error");
}

static GtkWidget *
row_box (void)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  return box;
}

static GtkWidget *
create_row (gpointer item,
            gpointer user_data)
{
  TableroNode *node = item;
  GtkWidget *box = row_box ();
  GtkWidget *name = cell (NULL, NAME_CHARS, 0);

  gtk_widget_set_hexpand (name, TRUE);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), cell (NULL, STATE_CHARS, 0));
  for (guint i = 0; i < 5; i++)
    gtk_box_append (GTK_BOX (box), cell (NULL, FIGURE_CHARS, 1));
  update_row (box, NULL, node);
  g_signal_connect_object (node, "notify", G_CALLBACK (update_row), box, G_CONNECT_SWAPPED);
  return box;
}

void
tablero_overview_set_stack (TableroOverview *self,
                            TableroStack    *stack)
{
  g_return_if_fail (TABLERO_IS_OVERVIEW (self));

  if (!g_set_object (&self->stack, stack))
    return;
  gtk_list_box_bind_model (self->list, stack ? tablero_stack_get_nodes (stack) : NULL,
                           create_row, NULL, NULL);
}

guint
tablero_overview_get_n_rows (TableroOverview *self)
{
  g_return_val_if_fail (TABLERO_IS_OVERVIEW (self), 0);

  return self->stack ? g_list_model_get_n_items (tablero_stack_get_nodes (self->stack)) : 0;
}

GtkWidget *
tablero_overview_new (void)
{
  return g_object_new (TABLERO_TYPE_OVERVIEW, NULL);
}

static void
tablero_overview_dispose (GObject *object)
{
  TableroOverview *self = TABLERO_OVERVIEW (object);
  GtkWidget *child;

  if (self->list != NULL)
    gtk_list_box_bind_model (self->list, NULL, NULL, NULL, NULL);
  self->list = NULL;
  g_clear_object (&self->stack);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (tablero_overview_parent_class)->dispose (object);
}

static void
tablero_overview_class_init (TableroOverviewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tablero_overview_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "overview");
}

static void
tablero_overview_init (TableroOverview *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *title = gtk_label_new (_("Hosts"));
  GtkWidget *header = row_box ();
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *placeholder = gtk_label_new (_("No nodes in this stack"));
  const char *figures[] = {
    /* TRANSLATORS: column headings of the hosts overview; keep them short */
    N_("CPU"), N_("Memory"), N_("Disk"), N_("Network"), N_("Load"),
  };
  GtkWidget *name;

  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_set_margin_start (title, 12);
  gtk_widget_set_margin_top (title, 6);
  gtk_box_append (GTK_BOX (box), title);

  name = cell (_("Host"), NAME_CHARS, 0);
  gtk_widget_set_hexpand (name, TRUE);
  gtk_box_append (GTK_BOX (header), name);
  gtk_box_append (GTK_BOX (header), cell (_("State"), STATE_CHARS, 0));
  for (guint i = 0; i < G_N_ELEMENTS (figures); i++)
    gtk_box_append (GTK_BOX (header), cell (_(figures[i]), FIGURE_CHARS, 1));
  for (GtkWidget *c = gtk_widget_get_first_child (header); c; c = gtk_widget_get_next_sibling (c))
    gtk_widget_add_css_class (c, "dim-label");
  gtk_box_append (GTK_BOX (box), header);

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_widget_add_css_class (placeholder, "dim-label");
  gtk_widget_set_margin_top (placeholder, 12);
  gtk_widget_set_margin_bottom (placeholder, 12);
  gtk_list_box_set_placeholder (self->list, placeholder);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scrolled), 420);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->list));
  gtk_widget_set_margin_start (scrolled, 6);
  gtk_widget_set_margin_end (scrolled, 6);
  gtk_widget_set_margin_bottom (scrolled, 6);
  gtk_box_append (GTK_BOX (box), scrolled);
  gtk_widget_set_parent (box, GTK_WIDGET (self));
}
