/* tablero-window.c: the main window, one stack at a time
 *
 * SPDX-License-Identifier: MIT
 *
 * The window shows one TableroStack on the canvas and keeps it saved:
 * every change schedules a save a moment later, which runs on the store's
 * worker thread, so the window never waits for the disk. Store operations
 * that have no asynchronous form (rename, duplicate, delete) are quick
 * single statements; they wait until no save is in flight, so they never
 * race with one.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "canvas/tablero-minimap.h"
#include "live/tablero-demo.h"
#include "live/tablero-live-stack.h"
#include "live/tablero-overview.h"
#include "tablero-edge-dialog.h"
#include "tablero-palette.h"
#include "tablero-window.h"
#include "tablero-composer.h"
#include "tablero-inspector.h"
#include "tablero-keys-dialog.h"

#define AUTOSAVE_DELAY_MS 600
#define FIRST_PORT        7000

typedef void (*IdleStoreFunc) (TableroWindow *self,
                               gpointer       data);

typedef struct
{
  IdleStoreFunc  func;
  gpointer       data;
  GDestroyNotify destroy;
} IdleStoreOp;

struct _TableroWindow
{
  AdwApplicationWindow parent_instance;

  TableroStackStore *store;
  TableroStack      *stack;
  gulong             stack_changed_id;
  gulong             modified_id;
  gulong             can_undo_id;
  gulong             can_redo_id;
  gulong             name_id;
  GSettings         *settings;
  GCancellable      *cancellable;
  guint              save_source;
  guint              title_source;
  guint              pending_saves;
  guint              pending_loads;
  GQueue             idle_ops;          /* IdleStoreOp *, run when no save is in flight */
  gboolean           closing;
  gboolean           demo_when_empty;
  TableroLiveStack  *live;
  GtkWidget         *overview;

  /* Template */
  AdwToastOverlay   *toast_overlay;
  AdwWindowTitle    *window_title;
  AdwHeaderBar      *header_bar;
  GtkWidget         *undo_button;
  GtkWidget         *redo_button;
  GtkMenuButton     *stacks_button;
  GtkPopover        *stacks_popover;
  GtkListBox        *stacks_list;
  GtkWidget         *palette;
  TableroCanvas     *canvas;
  TableroMinimap    *minimap;
  TableroNodePane   *node_pane;
  AdwFlap           *details_flap;
  GtkSearchBar      *search_bar;
  GtkSearchEntry    *search_entry;
  GtkStack          *bottom_stack;
  GtkPaned          *main_paned;
  GtkWidget         *empty_page;
  TableroInspector  *inspector;
};

G_DEFINE_FINAL_TYPE (TableroWindow, tablero_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_STORE,
  PROP_DEMO_WHEN_EMPTY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void save_stack (TableroWindow *self, TableroStack *stack, gboolean always);

/* ---- messages ------------------------------------------------------------ */

static void
show_error (TableroWindow *self,
            const char    *heading,
            const GError  *error)
{
  GtkWidget *dialog;

  if (self->closing)
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, error ? error->message : NULL);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
show_toast (TableroWindow *self,
            const char    *title)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (title));
}

/* ---- store operations --------------------------------------------------- */

static void
run_idle_ops (TableroWindow *self)
{
  IdleStoreOp *op;

  while (self->pending_saves == 0 && (op = g_queue_pop_head (&self->idle_ops)) != NULL)
    {
      op->func (self, op->data);
      if (op->destroy)
        op->destroy (op->data);
      g_free (op);
    }
}

/* Runs @func once no save is in flight. */
static void
when_saved (TableroWindow  *self,
            IdleStoreFunc   func,
            gpointer        data,
            GDestroyNotify  destroy)
{
  IdleStoreOp *op = g_new0 (IdleStoreOp, 1);

  op->func = func;
  op->data = data;
  op->destroy = destroy;
  g_queue_push_tail (&self->idle_ops, op);
  run_idle_ops (self);
}

static void
on_saved (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr (TableroWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!tablero_stack_store_save_finish (TABLERO_STACK_STORE (source), result, &error))
    show_error (self, _("Could Not Save the Stack"), error);

  g_assert (self->pending_saves > 0);
  self->pending_saves--;

  if (self->closing && self->pending_saves == 0)
    {
      GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

      gtk_window_destroy (GTK_WINDOW (self));
      if (app != NULL)
        g_application_release (G_APPLICATION (app));
      return;
    }
  run_idle_ops (self);
}

static void
save_stack (TableroWindow *self,
            TableroStack  *stack,
            gboolean       always)
{
  if (self->store == NULL || stack == NULL)
    return;
  /* Saved and unchanged: nothing to do. */
  if (!always && !tablero_stack_get_modified (stack) &&
      tablero_stack_store_contains (self->store, tablero_stack_get_name (stack)))
    return;

  self->pending_saves++;
  /* No cancellable: a save that started must finish, even on close. */
  tablero_stack_store_save_async (self->store, stack, NULL, on_saved, g_object_ref (self));
}

void
tablero_window_save (TableroWindow *self)
{
  g_return_if_fail (TABLERO_IS_WINDOW (self));

  g_clear_handle_id (&self->save_source, g_source_remove);
  save_stack (self, self->stack, FALSE);
}

gboolean
tablero_window_is_busy (TableroWindow *self)
{
  g_return_val_if_fail (TABLERO_IS_WINDOW (self), FALSE);

  return self->pending_saves > 0 || self->pending_loads > 0 || self->save_source != 0 ||
         !g_queue_is_empty (&self->idle_ops);
}

static gboolean
autosave_timeout (gpointer data)
{
  TableroWindow *self = data;

  self->save_source = 0;
  save_stack (self, self->stack, FALSE);
  return G_SOURCE_REMOVE;
}

static void
schedule_save (TableroWindow *self)
{
  if (self->store == NULL || self->stack == NULL)
    return;
  /* Debounced: a burst of edits is saved once, after it ends. */
  g_clear_handle_id (&self->save_source, g_source_remove);
  self->save_source = g_timeout_add (AUTOSAVE_DELAY_MS, autosave_timeout, self);
}

/* ---- the stack ------------------------------------------------------------ */

static void
update_title (TableroWindow *self)
{
  g_autofree char *subtitle = NULL;
  g_autofree char *title = NULL;
  const char *name;
  guint n_nodes = 0, n_edges = 0;

  if (self->stack == NULL)
    {
      adw_window_title_set_title (self->window_title, _("Tablero"));
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_window_set_title (GTK_WINDOW (self), _("Tablero"));
      return;
    }

  name = tablero_stack_get_name (self->stack);
  n_nodes = g_list_model_get_n_items (tablero_stack_get_nodes (self->stack));
  n_edges = g_list_model_get_n_items (tablero_stack_get_edges (self->stack));
  if (n_nodes == 0)
    subtitle = g_strdup (_("Empty"));
  else
    {
      g_autofree char *nodes = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u node",
                                                             "%u nodes", n_nodes), n_nodes);
      g_autofree char *edges = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u connection",
                                                             "%u connections", n_edges), n_edges);
      /* TRANSLATORS: "3 nodes, 2 connections" */
      subtitle = g_strdup_printf (C_("window subtitle", "%s, %s"), nodes, edges);
    }

  adw_window_title_set_title (self->window_title, name);
  adw_window_title_set_subtitle (self->window_title, subtitle);
  /* TRANSLATORS: window title, "<stack name> — Tablero" */
  title = g_strdup_printf (_("%s — Tablero"), name);
  gtk_window_set_title (GTK_WINDOW (self), title);
}

static void
update_actions (TableroWindow *self)
{
  gboolean has_stack = self->stack != NULL;
  gboolean has_store = self->store != NULL;
  GActionMap *map = G_ACTION_MAP (self);
  static const char *stack_actions[] = { "add-node", "find", "zoom-fit" };
  static const char *store_actions[] = {
    "open-stack", "rename-stack", "duplicate-stack", "delete-stack", "import-stack", "export-stack",
  };

  for (guint i = 0; i < G_N_ELEMENTS (stack_actions); i++)
    g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map,
                                                                              stack_actions[i])),
                                 has_stack);
  for (guint i = 0; i < G_N_ELEMENTS (store_actions); i++)
    {
      /* Opening and importing need no current stack. */
      gboolean needs_stack = !g_str_equal (store_actions[i], "open-stack") &&
                             !g_str_equal (store_actions[i], "import-stack");
      GAction *action = g_action_map_lookup_action (map, store_actions[i]);

      g_simple_action_set_enabled (G_SIMPLE_ACTION (action),
                                   has_store && (has_stack || !needs_stack));
    }

  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "undo")),
                               has_stack && tablero_stack_get_can_undo (self->stack));
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "redo")),
                               has_stack && tablero_stack_get_can_redo (self->stack));
  gtk_widget_set_sensitive (self->palette, has_stack);
}

static void
update_undo_tooltips (TableroWindow *self)
{
  /* "Undo Move Nodes" tells the user what will happen. */
  const char *label;
  g_autofree char *undo_text = NULL;
  g_autofree char *redo_text = NULL;

  if (self->stack != NULL && (label = tablero_stack_get_undo_label (self->stack)) != NULL)
    /* TRANSLATORS: tooltip, e.g. "Undo Move Nodes" */
    undo_text = g_strdup_printf (_("Undo %s"), label);
  if (self->stack != NULL && (label = tablero_stack_get_redo_label (self->stack)) != NULL)
    /* TRANSLATORS: tooltip, e.g. "Redo Move Nodes" */
    redo_text = g_strdup_printf (_("Redo %s"), label);
  gtk_widget_set_tooltip_text (self->undo_button, undo_text ? undo_text : _("Undo"));
  gtk_widget_set_tooltip_text (self->redo_button, redo_text ? redo_text : _("Redo"));
}

static gboolean
update_title_idle (gpointer data)
{
  TableroWindow *self = data;

  self->title_source = 0;
  update_title (self);
  update_undo_tooltips (self);
  return G_SOURCE_REMOVE;
}

static void
on_stack_changed (TableroWindow *self)
{
  /* A drag of many nodes changes the stack on every motion: update the
   * title once per burst, not once per node. */
  if (self->title_source == 0)
    /* Before the next frame is drawn (GDK redraws at a lower priority). */
    self->title_source = g_idle_add_full (G_PRIORITY_HIGH_IDLE, update_title_idle, self, NULL);
  schedule_save (self);
}

static void
on_stack_modified (TableroWindow *self)
{
  if (self->stack != NULL && tablero_stack_get_modified (self->stack))
    schedule_save (self);
}

static void
on_can_undo_redo (TableroWindow *self)
{
  update_actions (self);
  update_undo_tooltips (self);
}

static void
disconnect_stack (TableroWindow *self)
{
  if (self->stack == NULL)
    return;
  g_clear_signal_handler (&self->stack_changed_id, self->stack);
  g_clear_signal_handler (&self->modified_id, self->stack);
  g_clear_signal_handler (&self->can_undo_id, self->stack);
  g_clear_signal_handler (&self->can_redo_id, self->stack);
  g_clear_signal_handler (&self->name_id, self->stack);
}

static void rebind_stacks_list (TableroWindow *self);
static void on_layout_changed (TableroWindow *self);

/* The "application" property is set after construction: the stack shown
 * first goes live once it is. */
static void
ensure_live (TableroWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (self->live != NULL || !TABLERO_IS_APPLICATION (app) || self->closing)
    return;
  self->live = tablero_live_stack_new (tablero_application_get_network (TABLERO_APPLICATION (app)),
                                       self->store);
  tablero_node_pane_set_live (self->node_pane, self->live);
  tablero_live_stack_set_stack (self->live, self->stack);
}

void
tablero_window_set_stack (TableroWindow *self,
                          TableroStack  *stack)
{
  g_autoptr (TableroStack) old = NULL;

  g_return_if_fail (TABLERO_IS_WINDOW (self));
  g_return_if_fail (stack == NULL || TABLERO_IS_STACK (stack));

  if (self->stack == stack)
    return;

  /* The old stack is serialised by save_async before it returns. */
  g_clear_handle_id (&self->save_source, g_source_remove);
  save_stack (self, self->stack, FALSE);

  disconnect_stack (self);
  old = g_steal_pointer (&self->stack);
  if (stack != NULL)
    {
      self->stack = g_object_ref (stack);
      self->stack_changed_id = g_signal_connect_swapped (stack, "changed",
                                                         G_CALLBACK (on_stack_changed), self);
      self->modified_id = g_signal_connect_swapped (stack, "notify::modified",
                                                    G_CALLBACK (on_stack_modified), self);
      self->can_undo_id = g_signal_connect_swapped (stack, "notify::can-undo",
                                                    G_CALLBACK (on_can_undo_redo), self);
      self->can_redo_id = g_signal_connect_swapped (stack, "notify::can-redo",
                                                    G_CALLBACK (on_can_undo_redo), self);
      self->name_id = g_signal_connect_swapped (stack, "notify::name",
                                                G_CALLBACK (update_title), self);
      if (self->settings != NULL)
        g_settings_set_string (self->settings, "last-stack", tablero_stack_get_name (stack));
    }

  if (self->live != NULL)
    tablero_live_stack_set_stack (self->live, stack);
  else
    ensure_live (self);
  tablero_overview_set_stack (TABLERO_OVERVIEW (self->overview), stack);
  tablero_node_pane_set_stack (self->node_pane, stack);
  tablero_canvas_set_stack (self->canvas, stack);
  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
  update_title (self);
  update_actions (self);
  update_undo_tooltips (self);
  rebind_stacks_list (self);
  on_layout_changed (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->canvas));
}

static gboolean
name_is_taken (TableroWindow *self,
               const char    *name)
{
  if (self->stack != NULL && g_strcmp0 (tablero_stack_get_name (self->stack), name) == 0)
    return TRUE;
  return self->store != NULL && tablero_stack_store_contains (self->store, name);
}

/* "base", "base 2", "base 3", ... whichever is free first. */
static char *
unique_stack_name (TableroWindow *self,
                   const char    *base)
{
  if (!name_is_taken (self, base))
    return g_strdup (base);

  for (guint i = 2; ; i++)
    {
      /* TRANSLATORS: a stack name followed by a number, e.g. "Untitled Stack 2" */
      g_autofree char *name = g_strdup_printf (C_("stack name", "%s %u"), base, i);
      if (!name_is_taken (self, name))
        return g_steal_pointer (&name);
    }
}

void
tablero_window_new_stack (TableroWindow *self)
{
  g_autofree char *name = NULL;
  g_autoptr (TableroStack) stack = NULL;

  g_return_if_fail (TABLERO_IS_WINDOW (self));

  name = unique_stack_name (self, _("Untitled Stack"));
  stack = tablero_stack_new (name);
  tablero_window_set_stack (self, stack);
  /* Saved at once, so it is listed with the others. */
  save_stack (self, stack, FALSE);
}

void
tablero_window_new_demo_stack (TableroWindow *self)
{
  g_autofree char *name = NULL;
  g_autoptr (TableroStack) stack = NULL;

  g_return_if_fail (TABLERO_IS_WINDOW (self));

  name = unique_stack_name (self, _("Demo"));
  stack = tablero_demo_stack_new (name);
  tablero_window_set_stack (self, stack);
  save_stack (self, stack, TRUE);
  tablero_canvas_zoom_to_fit (self->canvas);
}

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr (TableroWindow) self = user_data;
  g_autoptr (TableroStack) stack = NULL;
  g_autoptr (GError) error = NULL;

  self->pending_loads--;
  stack = tablero_stack_store_load_finish (TABLERO_STACK_STORE (source), result, &error);
  if (stack == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          show_error (self, _("Could Not Open the Stack"), error);
          if (self->stack == NULL)
            tablero_window_new_stack (self);
        }
      return;
    }
  tablero_window_set_stack (self, stack);
}

void
tablero_window_open_stack (TableroWindow *self,
                           const char    *name)
{
  g_return_if_fail (TABLERO_IS_WINDOW (self));
  g_return_if_fail (name != NULL);

  if (self->store == NULL)
    return;
  if (self->stack != NULL && g_strcmp0 (tablero_stack_get_name (self->stack), name) == 0)
    return;

  /* Save what is shown now first: the store runs jobs in order, so the
   * save is done before the load reads. */
  g_clear_handle_id (&self->save_source, g_source_remove);
  save_stack (self, self->stack, FALSE);

  self->pending_loads++;
  tablero_stack_store_load_async (self->store, name, self->cancellable, on_loaded,
                                  g_object_ref (self));
}

static void
open_initial_stack (TableroWindow *self)
{
  g_autofree char *last = NULL;
  GListModel *recent;

  if (self->store == NULL)
    {
      g_autoptr (TableroStack) stack = tablero_stack_new (_("Untitled Stack"));
      tablero_window_set_stack (self, stack);
      return;
    }

  if (self->settings != NULL)
    last = g_settings_get_string (self->settings, "last-stack");
  if (last != NULL && *last != '\0' && tablero_stack_store_contains (self->store, last))
    {
      tablero_window_open_stack (self, last);
      return;
    }

  recent = tablero_stack_store_get_recent (self->store);
  if (g_list_model_get_n_items (recent) == 0)
    recent = tablero_stack_store_get_stacks (self->store);
  if (g_list_model_get_n_items (recent) > 0)
    {
      g_autoptr (TableroStackInfo) info = g_list_model_get_item (recent, 0);
      tablero_window_open_stack (self, tablero_stack_info_get_name (info));
      return;
    }

  /* A first start: something live to look at. */
  if (self->demo_when_empty)
    tablero_window_new_demo_stack (self);
  else
    tablero_window_new_stack (self);
}

/* ---- nodes and edges ----------------------------------------------------- */

static char *
unique_node_name (TableroWindow   *self,
                  TableroNodeKind  kind)
{
  const char *base;
  GListModel *nodes = tablero_stack_get_nodes (self->stack);

  switch (kind)
    {
    case TABLERO_NODE_KIND_MONJE:
      base = _("Monje");
      break;
    case TABLERO_NODE_KIND_PAJARO:
      base = _("Pajaro");
      break;
    case TABLERO_NODE_KIND_ENGINE:
    default:
      base = _("Engine");
      break;
    }

  for (guint n = 1; ; n++)
    {
      /* TRANSLATORS: a default node name, e.g. "Engine 1" */
      g_autofree char *name = g_strdup_printf (C_("node name", "%s %u"), base, n);
      gboolean taken = FALSE;

      for (guint i = 0; i < g_list_model_get_n_items (nodes) && !taken; i++)
        {
          g_autoptr (TableroNode) node = g_list_model_get_item (nodes, i);
          taken = g_strcmp0 (tablero_node_get_name (node), name) == 0;
        }
      if (!taken)
        return g_steal_pointer (&name);
    }
}

/* Each local engine needs its own port; take the first free one. */
static guint
free_port (TableroWindow *self)
{
  GListModel *nodes = tablero_stack_get_nodes (self->stack);

  for (guint port = FIRST_PORT; port < 65535; port++)
    {
      gboolean taken = FALSE;

      for (guint i = 0; i < g_list_model_get_n_items (nodes) && !taken; i++)
        {
          g_autoptr (TableroNode) node = g_list_model_get_item (nodes, i);
          taken = tablero_node_get_port (node) == port;
        }
      if (!taken)
        return port;
    }
  return 0;
}

TableroNode *
tablero_window_add_node (TableroWindow   *self,
                         TableroNodeKind  kind,
                         double           x,
                         double           y)
{
  g_autoptr (TableroNode) node = NULL;
  g_autofree char *id = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (TABLERO_IS_WINDOW (self), NULL);

  if (self->stack == NULL)
    return NULL;

  tablero_stack_free_position (self->stack, &x, &y);
  id = tablero_stack_new_id (self->stack);
  name = unique_node_name (self, kind);
  node = tablero_node_new (id, kind, name);
  tablero_node_set_position (node, x, y);
  tablero_node_set_port (node, free_port (self));
  tablero_node_set_local (node, TRUE);
  tablero_stack_add_node (self->stack, node);

  tablero_canvas_select_node (self->canvas, node, FALSE);
  gtk_widget_grab_focus (GTK_WIDGET (self->canvas));
  return node;
}

static void
on_palette_node_activated (TableroWindow *self,
                           int            kind)
{
  double x, y;

  tablero_canvas_get_insertion_point (self->canvas, &x, &y);
  tablero_window_add_node (self, kind, x, y);
}

static void
on_node_requested (TableroWindow *self,
                   int            kind,
                   double         x,
                   double         y)
{
  tablero_window_add_node (self, kind, x, y);
}

static gboolean
edge_exists (TableroWindow      *self,
             const char         *source_id,
             const char         *target_id,
             const char         *method,
             const char * const *resource)
{
  GListModel *edges = tablero_stack_get_edges (self->stack);

  for (guint i = 0; i < g_list_model_get_n_items (edges); i++)
    {
      g_autoptr (TableroEdge) edge = g_list_model_get_item (edges, i);

      if (g_str_equal (tablero_edge_get_source_id (edge), source_id) &&
          g_str_equal (tablero_edge_get_target_id (edge), target_id) &&
          g_strcmp0 (tablero_edge_get_method (edge), method) == 0 &&
          g_strv_equal ((const char * const *) tablero_edge_get_resource (edge), resource))
        return TRUE;
    }
  return FALSE;
}

static void
on_edge_dialog_response (TableroEdgeDialog *dialog,
                         const char        *response,
                         TableroWindow     *self)
{
  TableroNode *source = tablero_edge_dialog_get_source (dialog);
  TableroNode *target = tablero_edge_dialog_get_target (dialog);
  g_auto (GStrv) resource = NULL;
  g_autofree char *id = NULL;
  g_autoptr (TableroEdge) edge = NULL;
  const char *method;

  if (!g_str_equal (response, "connect") || self->stack == NULL)
    return;
  /* The nodes may have been deleted while the dialog was open. */
  if (tablero_stack_find_node (self->stack, tablero_node_get_id (source)) != source ||
      tablero_stack_find_node (self->stack, tablero_node_get_id (target)) != target)
    return;

  method = tablero_edge_dialog_get_method (dialog);
  resource = tablero_edge_dialog_dup_resource (dialog);
  if (edge_exists (self, tablero_node_get_id (source), tablero_node_get_id (target), method,
                   (const char * const *) resource))
    {
      show_toast (self, _("These nodes are already connected by this endpoint"));
      return;
    }

  id = tablero_stack_new_id (self->stack);
  edge = tablero_edge_new (id, tablero_node_get_id (source), tablero_node_get_id (target),
                           method, (const char * const *) resource);
  tablero_stack_add_edge (self->stack, edge);
}

static void
on_edge_requested (TableroWindow *self,
                   TableroNode   *source,
                   TableroNode   *target)
{
  GtkWidget *dialog = tablero_edge_dialog_new (GTK_WINDOW (self), source, target);

  g_signal_connect_object (dialog, "response", G_CALLBACK (on_edge_dialog_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_selection_changed (TableroWindow *self)
{
  g_autoptr (GPtrArray) nodes = tablero_canvas_get_selected_nodes (self->canvas);
  g_autoptr (GPtrArray) edges = tablero_canvas_get_selected_edges (self->canvas);

  tablero_node_pane_set_selection (self->node_pane, nodes, edges);
  tablero_inspector_set_selection (self->inspector, nodes, edges);
}

static void
on_layout_changed (TableroWindow *self)
{
  gboolean empty = self->stack != NULL &&
                   g_list_model_get_n_items (tablero_stack_get_nodes (self->stack)) == 0;

  if (gtk_widget_get_visible (self->empty_page) != empty)
    gtk_widget_set_visible (self->empty_page, empty);
}

/* ---- search --------------------------------------------------------------- */

static void
find (TableroWindow *self,
      gboolean       next)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  gboolean found = *text == '\0' || tablero_canvas_find (self->canvas, text, next);

  if (found)
    gtk_widget_remove_css_class (GTK_WIDGET (self->search_entry), "error");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->search_entry), "error");
}

static void
on_search_changed (TableroWindow *self)
{
  find (self, FALSE);
}

static void
on_search_activate (TableroWindow *self)
{
  find (self, TRUE);
}

static void
on_search_stop (TableroWindow *self)
{
  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
  gtk_widget_grab_focus (GTK_WIDGET (self->canvas));
}

/* ---- the stacks list ------------------------------------------------------- */

static GtkWidget *
create_stack_row (gpointer item,
                  gpointer user_data)
{
  TableroWindow *self = user_data;
  TableroStackInfo *info = item;
  GtkWidget *row = adw_action_row_new ();
  GDateTime *modified = tablero_stack_info_get_modified_time (info);
  g_autofree char *when = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), tablero_stack_info_get_name (info));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  if (modified != NULL)
    {
      /* TRANSLATORS: when a stack was last saved, as a strftime format */
      g_autofree char *date = g_date_time_format (modified, _("%e %b %Y, %H:%M"));
      /* TRANSLATORS: subtitle in the stacks list, %s is a date */
      when = g_strdup_printf (_("Saved %s"), g_strstrip (date));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), when);
    }
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data_full (G_OBJECT (row), "stack-name",
                          g_strdup (tablero_stack_info_get_name (info)), g_free);

  if (self->stack != NULL &&
      g_strcmp0 (tablero_stack_get_name (self->stack), tablero_stack_info_get_name (info)) == 0)
    {
      GtkWidget *check = gtk_image_new_from_icon_name ("object-select-symbolic");
      gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Open"), -1);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), check);
    }
  return row;
}

static void
rebind_stacks_list (TableroWindow *self)
{
  gtk_list_box_bind_model (self->stacks_list,
                           self->store ? tablero_stack_store_get_stacks (self->store) : NULL,
                           self->store ? create_stack_row : NULL, self, NULL);
}

static void
on_stack_row_activated (TableroWindow *self,
                        GtkListBoxRow *row)
{
  const char *name = g_object_get_data (G_OBJECT (row), "stack-name");

  gtk_popover_popdown (self->stacks_popover);
  if (name != NULL)
    tablero_window_open_stack (self, name);
}

/* ---- stack actions ----------------------------------------------------------- */

static void
action_undo (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  TableroWindow *self = user_data;

  if (self->stack != NULL)
    tablero_stack_undo (self->stack);
}

static void
action_redo (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  TableroWindow *self = user_data;

  if (self->stack != NULL)
    tablero_stack_redo (self->stack);
}

static void
action_open_stack (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  TableroWindow *self = user_data;

  rebind_stacks_list (self);
  gtk_menu_button_popup (self->stacks_button);
}

/* A dialog asking for a stack name, shared by rename and duplicate. */
typedef struct
{
  TableroWindow *window;
  GtkWidget     *entry;
  char          *old_name;
  gboolean       duplicate;
} NameDialog;

static void
name_dialog_free (gpointer data)
{
  NameDialog *nd = data;

  g_free (nd->old_name);
  g_free (nd);
}

static void
on_name_changed (GtkEditable      *entry,
                 AdwMessageDialog *dialog)
{
  NameDialog *nd = g_object_get_data (G_OBJECT (dialog), "name-dialog");
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  gboolean valid = *name != '\0' && strlen (name) <= TABLERO_STACK_STORE_MAX_NAME &&
                   (g_strcmp0 (name, nd->old_name) == 0 ? !nd->duplicate
                                                        : !name_is_taken (nd->window, name));

  adw_message_dialog_set_response_enabled (dialog, "ok", valid);
}

static void
do_rename (TableroWindow *self,
           gpointer       data)
{
  char **names = data;  /* { old, new } */
  g_autoptr (GError) error = NULL;

  if (self->store != NULL && tablero_stack_store_contains (self->store, names[0]) &&
      !tablero_stack_store_rename (self->store, names[0], names[1], &error))
    {
      show_error (self, _("Could Not Rename the Stack"), error);
      return;
    }
  if (self->stack != NULL && g_strcmp0 (tablero_stack_get_name (self->stack), names[0]) == 0)
    {
      tablero_stack_set_name (self->stack, names[1]);
      if (self->settings != NULL)
        g_settings_set_string (self->settings, "last-stack", names[1]);
      /* The saved document carries the name too: write it again. */
      save_stack (self, self->stack, TRUE);
    }
  update_title (self);
  rebind_stacks_list (self);
}

static void
do_duplicate (TableroWindow *self,
              gpointer       data)
{
  char **names = data;  /* { old, new } */
  g_autoptr (GError) error = NULL;
  g_autofree char *toast = NULL;

  if (!tablero_stack_store_duplicate (self->store, names[0], names[1], &error))
    {
      show_error (self, _("Could Not Duplicate the Stack"), error);
      return;
    }
  tablero_window_open_stack (self, names[1]);
  /* TRANSLATORS: %s is the name of the new copy */
  toast = g_strdup_printf (_("Opened the copy “%s”"), names[1]);
  show_toast (self, toast);
}

static void
on_name_response (AdwMessageDialog *dialog,
                  const char       *response,
                  gpointer          user_data)
{
  NameDialog *nd = g_object_get_data (G_OBJECT (dialog), "name-dialog");
  TableroWindow *self = nd->window;
  g_autofree char *name = NULL;
  char **names;

  if (!g_str_equal (response, "ok"))
    return;

  name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (nd->entry))));
  if (!nd->duplicate && g_strcmp0 (name, nd->old_name) == 0)
    return;

  names = g_new0 (char *, 3);
  names[0] = g_strdup (nd->old_name);
  names[1] = g_steal_pointer (&name);

  /* Pending edits first, under the old name; then the store change. */
  tablero_window_save (self);
  when_saved (self, nd->duplicate ? do_duplicate : do_rename, names, (GDestroyNotify) g_strfreev);
}

static void
ask_name (TableroWindow *self,
          gboolean       duplicate)
{
  GtkWidget *dialog;
  NameDialog *nd;
  g_autofree char *suggestion = NULL;
  const char *old_name = tablero_stack_get_name (self->stack);

  nd = g_new0 (NameDialog, 1);
  nd->window = self;
  nd->duplicate = duplicate;
  nd->old_name = g_strdup (old_name);

  if (duplicate)
    {
      /* TRANSLATORS: default name of a copy, e.g. "Demo (copy)" */
      g_autofree char *base = g_strdup_printf (_("%s (copy)"), old_name);
      suggestion = unique_stack_name (self, base);
    }
  else
    suggestion = g_strdup (old_name);

  dialog = adw_message_dialog_new (GTK_WINDOW (self),
                                   duplicate ? _("Duplicate Stack") : _("Rename Stack"),
                                   NULL);
  nd->entry = gtk_entry_new ();
  gtk_entry_set_activates_default (GTK_ENTRY (nd->entry), TRUE);
  gtk_editable_set_text (GTK_EDITABLE (nd->entry), suggestion);
  gtk_accessible_update_property (GTK_ACCESSIBLE (nd->entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Stack name"), -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), nd->entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "ok", duplicate ? _("_Duplicate") : _("_Rename"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "ok",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "ok");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "name-dialog", nd, name_dialog_free);
  g_signal_connect (nd->entry, "changed", G_CALLBACK (on_name_changed), dialog);
  g_signal_connect (dialog, "response", G_CALLBACK (on_name_response), NULL);
  on_name_changed (GTK_EDITABLE (nd->entry), ADW_MESSAGE_DIALOG (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (nd->entry);
}

static void
action_rename_stack (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  ask_name (user_data, FALSE);
}

static void
action_duplicate_stack (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  ask_name (user_data, TRUE);
}

static void
do_delete (TableroWindow *self,
           gpointer       data)
{
  const char *name = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *toast = NULL;
  GListModel *stacks;

  if (tablero_stack_store_contains (self->store, name) &&
      !tablero_stack_store_delete (self->store, name, &error))
    {
      show_error (self, _("Could Not Delete the Stack"), error);
      return;
    }

  /* TRANSLATORS: %s is the name of the deleted stack */
  toast = g_strdup_printf (_("Deleted “%s”"), name);
  show_toast (self, toast);

  if (self->stack == NULL || g_strcmp0 (tablero_stack_get_name (self->stack), name) != 0)
    {
      rebind_stacks_list (self);
      return;
    }

  /* Forget the deleted stack without saving it back, then show another. */
  g_clear_handle_id (&self->save_source, g_source_remove);
  tablero_stack_set_modified (self->stack, FALSE);
  disconnect_stack (self);
  g_clear_object (&self->stack);
  tablero_canvas_set_stack (self->canvas, NULL);
  tablero_node_pane_set_stack (self->node_pane, NULL);

  stacks = tablero_stack_store_get_recent (self->store);
  if (g_list_model_get_n_items (stacks) == 0)
    stacks = tablero_stack_store_get_stacks (self->store);
  if (g_list_model_get_n_items (stacks) > 0)
    {
      g_autoptr (TableroStackInfo) info = g_list_model_get_item (stacks, 0);
      tablero_window_open_stack (self, tablero_stack_info_get_name (info));
    }
  else
    tablero_window_new_stack (self);
  update_actions (self);
  update_title (self);
}

static void
on_delete_response (AdwMessageDialog *dialog,
                    const char       *response,
                    TableroWindow    *self)
{
  const char *name = g_object_get_data (G_OBJECT (dialog), "stack-name");

  if (!g_str_equal (response, "delete"))
    return;
  when_saved (self, do_delete, g_strdup (name), g_free);
}

static void
action_delete_stack (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  TableroWindow *self = user_data;
  const char *name = tablero_stack_get_name (self->stack);
  GtkWidget *dialog;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), NULL,
                                   _("Its layout and its metrics history are deleted for good."));
  /* TRANSLATORS: %s is a stack name */
  adw_message_dialog_format_heading (ADW_MESSAGE_DIALOG (dialog), _("Delete “%s”?"), name);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "stack-name", g_strdup (name), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_delete_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static GtkFileFilter *
json_filter (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Stack files (JSON)"));
  gtk_file_filter_add_mime_type (filter, "application/json");
  gtk_file_filter_add_suffix (filter, "json");
  return filter;
}

static void
on_imported (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (TableroWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *toast = NULL;

  name = tablero_stack_store_import_file_finish (TABLERO_STACK_STORE (source), result, &error);
  if (name == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, _("Could Not Import the Stack"), error);
      return;
    }
  tablero_window_open_stack (self, name);
  /* TRANSLATORS: %s is a stack name */
  toast = g_strdup_printf (_("Imported “%s”"), name);
  show_toast (self, toast);
}

void
tablero_window_import_file (TableroWindow *self,
                            GFile         *file)
{
  g_return_if_fail (TABLERO_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->store == NULL)
    return;
  tablero_stack_store_import_file_async (self->store, file, self->cancellable, on_imported,
                                         g_object_ref (self));
}

static void
on_import_response (GtkNativeDialog *chooser,
                    int              response,
                    TableroWindow   *self)
{
  g_autoptr (GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT &&
      (file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))) != NULL)
    tablero_window_import_file (self, file);
  g_object_unref (chooser);
}

static void
action_import_stack (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  TableroWindow *self = user_data;
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) filter = json_filter ();

  chooser = gtk_file_chooser_native_new (_("Import Stack"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Import"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (on_import_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

typedef struct
{
  char  *name;
  GFile *file;
} ExportJob;

static void
export_job_free (gpointer data)
{
  ExportJob *job = data;

  g_free (job->name);
  g_clear_object (&job->file);
  g_free (job);
}

static void
on_exported (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (TableroWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!tablero_stack_store_export_file_finish (TABLERO_STACK_STORE (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, _("Could Not Export the Stack"), error);
      return;
    }
  show_toast (self, _("Stack exported"));
}

static void
do_export (TableroWindow *self,
           gpointer       data)
{
  ExportJob *job = data;

  tablero_stack_store_export_file_async (self->store, job->name, job->file, self->cancellable,
                                         on_exported, g_object_ref (self));
}

void
tablero_window_export_file (TableroWindow *self,
                            GFile         *file)
{
  ExportJob *job;

  g_return_if_fail (TABLERO_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->stack == NULL || self->store == NULL)
    return;

  job = g_new0 (ExportJob, 1);
  job->name = g_strdup (tablero_stack_get_name (self->stack));
  job->file = g_object_ref (file);
  /* The store exports what it has saved: save pending edits first. */
  tablero_window_save (self);
  when_saved (self, do_export, job, export_job_free);
}

static void
on_export_response (GtkNativeDialog *chooser,
                    int              response,
                    TableroWindow   *self)
{
  g_autoptr (GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT &&
      (file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))) != NULL)
    tablero_window_export_file (self, file);
  g_object_unref (chooser);
}

static void
action_export_stack (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  TableroWindow *self = user_data;
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) filter = json_filter ();
  g_autofree char *file_name = NULL;

  chooser = gtk_file_chooser_native_new (_("Export Stack"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  file_name = g_strconcat (tablero_stack_get_name (self->stack), ".json", NULL);
  g_strdelimit (file_name, "/\\", '-');
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (on_export_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
action_add_node (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  TableroWindow *self = user_data;
  TableroNodeKind kind;
  double x, y;

  if (!tablero_node_kind_from_string (g_variant_get_string (parameter, NULL), &kind))
    return;
  tablero_canvas_get_insertion_point (self->canvas, &x, &y);
  tablero_window_add_node (self, kind, x, y);
}

static void
action_find (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  TableroWindow *self = user_data;

  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
action_zoom_fit (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  TableroWindow *self = user_data;

  tablero_canvas_zoom_to_fit (self->canvas);
}

static void
action_show_details (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  TableroWindow *self = user_data;

  adw_flap_set_reveal_flap (self->details_flap, !adw_flap_get_reveal_flap (self->details_flap));
}

static void
action_snap_to_grid (GSimpleAction *action,
                     GVariant      *state,
                     gpointer       user_data)
{
  TableroWindow *self = user_data;

  tablero_canvas_set_snap_to_grid (self->canvas, g_variant_get_boolean (state));
  g_simple_action_set_state (action, state);
}

static void
action_new_demo_stack (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  tablero_window_new_demo_stack (TABLERO_WINDOW (user_data));
}

static void
action_keys (GSimpleAction *action,
             GVariant      *param,
             gpointer       data)
{
  gtk_window_present (GTK_WINDOW (tablero_keys_dialog_new (GTK_WINDOW (data))));
}

static const GActionEntry win_actions[] = {
  { "keys", action_keys },
  { "new-demo-stack", action_new_demo_stack },
  { "undo", action_undo },
  { "redo", action_redo },
  { "open-stack", action_open_stack },
  { "rename-stack", action_rename_stack },
  { "duplicate-stack", action_duplicate_stack },
  { "delete-stack", action_delete_stack },
  { "import-stack", action_import_stack },
  { "export-stack", action_export_stack },
  { "add-node", action_add_node, "s" },
  { "find", action_find },
  { "zoom-fit", action_zoom_fit },
  { "show-details", action_show_details },
  { "snap-to-grid", NULL, NULL, "true", action_snap_to_grid },
};

/* ---- GtkWindow --------------------------------------------------------- */

static gboolean
tablero_window_close_request (GtkWindow *window)
{
  TableroWindow *self = TABLERO_WINDOW (window);
  GtkApplication *app = gtk_window_get_application (window);

  if (self->closing)
    return TRUE;  /* already waiting for the last save */

  tablero_window_save (self);
  if (self->pending_saves == 0)
    return GTK_WINDOW_CLASS (tablero_window_parent_class)->close_request (window);

  /* Let the save finish: hide now, destroy when it is done. */
  self->closing = TRUE;
  if (app != NULL)
    g_application_hold (G_APPLICATION (app));
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
  return TRUE;
}

/* ---- GObject ------------------------------------------------------------- */

static gboolean
show_store_error (gpointer data)
{
  TableroWindow *self = data;
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  const GError *error = NULL;

  if (TABLERO_IS_APPLICATION (app))
    tablero_application_get_store (TABLERO_APPLICATION (app), &error);
  if (error != NULL)
    show_error (self, _("Stacks Cannot Be Saved"), error);
  return G_SOURCE_REMOVE;
}

static void
tablero_window_constructed (GObject *object)
{
  TableroWindow *self = TABLERO_WINDOW (object);
  GtkApplication *app;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;

  G_OBJECT_CLASS (tablero_window_parent_class)->constructed (object);

  app = gtk_window_get_application (GTK_WINDOW (self));
  if (self->store == NULL && TABLERO_IS_APPLICATION (app))
    {
      TableroStackStore *store = tablero_application_get_store (TABLERO_APPLICATION (app), NULL);
      if (store != NULL)
        self->store = g_object_ref (store);
      else
        g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, show_store_error, g_object_ref (self),
                         g_object_unref);
    }

  /* Without the installed schema (a bare build-tree run) the window
   * simply doesn't remember its size or last stack. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema != NULL)
    {
      self->settings = g_settings_new (APP_ID);
      g_settings_bind (self->settings, "window-width", self, "default-width",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-height", self, "default-height",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-maximized", self, "maximized",
                       G_SETTINGS_BIND_DEFAULT);
    }

  update_actions (self);
  open_initial_stack (self);
}

static void
tablero_window_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TableroWindow *self = TABLERO_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_DEMO_WHEN_EMPTY:
      g_value_set_boolean (value, self->demo_when_empty);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_window_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  TableroWindow *self = TABLERO_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_DEMO_WHEN_EMPTY:
      self->demo_when_empty = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_window_dispose (GObject *object)
{
  TableroWindow *self = TABLERO_WINDOW (object);
  IdleStoreOp *op;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->save_source, g_source_remove);
  g_clear_handle_id (&self->title_source, g_source_remove);
  while ((op = g_queue_pop_head (&self->idle_ops)) != NULL)
    {
      if (op->destroy)
        op->destroy (op->data);
      g_free (op);
    }

  if (self->canvas != NULL)
    tablero_canvas_set_stack (self->canvas, NULL);
  if (self->stacks_list != NULL)
    gtk_list_box_bind_model (self->stacks_list, NULL, NULL, NULL, NULL);
  disconnect_stack (self);
  /* Stops the stack's local engines. */
  if (self->live != NULL)
    tablero_live_stack_set_stack (self->live, NULL);
  g_clear_object (&self->live);
  g_clear_object (&self->stack);
  g_clear_object (&self->settings);
  g_clear_object (&self->store);
  g_clear_object (&self->cancellable);

  gtk_widget_dispose_template (GTK_WIDGET (self), TABLERO_TYPE_WINDOW);

  G_OBJECT_CLASS (tablero_window_parent_class)->dispose (object);
}

static void
tablero_window_class_init (TableroWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = tablero_window_constructed;
  object_class->get_property = tablero_window_get_property;
  object_class->set_property = tablero_window_set_property;
  object_class->dispose = tablero_window_dispose;
  window_class->close_request = tablero_window_close_request;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, TABLERO_TYPE_STACK_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* Opens the demo stack when the store has none (a first start). */
  properties[PROP_DEMO_WHEN_EMPTY] =
    g_param_spec_boolean ("demo-when-empty", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (TABLERO_TYPE_CANVAS);
  g_type_ensure (TABLERO_TYPE_MINIMAP);
  g_type_ensure (TABLERO_TYPE_PALETTE);
  g_type_ensure (TABLERO_TYPE_NODE_PANE);
  g_type_ensure (TABLERO_TYPE_INSPECTOR);
  g_type_ensure (TABLERO_TYPE_COMPOSER);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tablero/Tablero/tablero-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, header_bar);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, undo_button);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, redo_button);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, stacks_button);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, stacks_popover);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, stacks_list);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, palette);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, canvas);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, minimap);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, node_pane);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, details_flap);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, bottom_stack);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, inspector);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, main_paned);
  gtk_widget_class_bind_template_child (widget_class, TableroWindow, empty_page);
  gtk_widget_class_bind_template_callback (widget_class, on_palette_node_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_node_requested);
  gtk_widget_class_bind_template_callback (widget_class, on_edge_requested);
  gtk_widget_class_bind_template_callback (widget_class, on_selection_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_layout_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_search_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_search_stop);
  gtk_widget_class_bind_template_callback (widget_class, on_stack_row_activated);
}

/* The hosts overview, a popover from the header bar. */
static void
add_overview_button (TableroWindow *self)
{
  GtkWidget *button = gtk_menu_button_new ();
  GtkWidget *popover = gtk_popover_new ();

  self->overview = tablero_overview_new ();
  gtk_widget_set_size_request (self->overview, 560, -1);
  gtk_popover_set_child (GTK_POPOVER (popover), self->overview);
  gtk_menu_button_set_popover (GTK_MENU_BUTTON (button), popover);
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "computer-symbolic");
  gtk_widget_set_tooltip_text (button, _("Hosts Overview"));
  gtk_widget_set_name (button, "overview_button");
  adw_header_bar_pack_end (self->header_bar, button);
}

static void
tablero_window_init (TableroWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->idle_ops);

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions,
                                   G_N_ELEMENTS (win_actions), self);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));
  add_overview_button (self);
  g_signal_connect (self, "notify::application", G_CALLBACK (ensure_live), NULL);
  /* Room for the canvas first; the bottom area starts at its minimum. */
  gtk_paned_set_position (self->main_paned, 520);
}

TableroWindow *
tablero_window_new (TableroApplication *application,
                    TableroStackStore  *store)
{
  /* "application" is set after constructed () runs, which opens the first
   * stack: the store must be known by then. */
  if (store == NULL && application != NULL)
    store = tablero_application_get_store (application, NULL);
  return g_object_new (TABLERO_TYPE_WINDOW,
                       "application", application,
                       "store", store,
                       NULL);
}

TableroCanvas *
tablero_window_get_canvas (TableroWindow *self)
{
  g_return_val_if_fail (TABLERO_IS_WINDOW (self), NULL);

  return self->canvas;
}

TableroNodePane *
tablero_window_get_node_pane (TableroWindow *self)
{
  g_return_val_if_fail (TABLERO_IS_WINDOW (self), NULL);

  return self->node_pane;
}

GtkWidget *
tablero_window_get_palette (TableroWindow *self)
{
  g_return_val_if_fail (TABLERO_IS_WINDOW (self), NULL);

  return self->palette;
}

TableroStackStore *
tablero_window_get_store (TableroWindow *self)
{
  g_return_val_if_fail (TABLERO_IS_WINDOW (self), NULL);

  return self->store;
}

TableroLiveStack *
tablero_window_get_live (TableroWindow *self)
{
  g_return_val_if_fail (TABLERO_IS_WINDOW (self), NULL);

  return self->live;
}

GtkWidget *
tablero_window_get_overview (TableroWindow *self)
{
  g_return_val_if_fail (TABLERO_IS_WINDOW (self), NULL);

  return self->overview;
}

TableroStack *
tablero_window_get_stack (TableroWindow *self)
{
  g_return_val_if_fail (TABLERO_IS_WINDOW (self), NULL);

  return self->stack;
}
