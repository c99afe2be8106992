/* test-window.c: the real Tablero window over a real stack database
 *
 * SPDX-License-Identifier: MIT
 *
 * Each test gets a fresh SQLite store in a temporary folder. The window is
 * driven through its actions, the palette and the dialogs a user would
 * answer; saves are the window's own debounced, asynchronous ones. The main
 * states are rendered to PNG in $TEST_ARTIFACTS_DIR.
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>

#include "tablero-application.h"
#include "tablero-edge-dialog.h"
#include "tablero-node-pane.h"
#include "tablero-palette.h"
#include "tablero-window.h"

#include "gui-test-utils.h"

static TableroApplication *app;

/* ---- helpers ------------------------------------------------------------- */

static gboolean
not_busy (gpointer data)
{
  return !tablero_window_is_busy (data) && tablero_window_get_stack (data) != NULL;
}

static void
wait_idle (TableroWindow *window)
{
  g_assert_true (test_wait_until (not_busy, window, 5000));
}

typedef struct
{
  char              *dir;
  char              *path;
  TableroStackStore *store;
  TableroWindow     *window;
} Fixture;

static TableroWindow *
open_window (Fixture *f)
{
  TableroWindow *window = tablero_window_new (app, f->store);

  gui_test_show_window (GTK_WINDOW (window), 1280, 800);
  wait_idle (window);
  return window;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSettings) settings = NULL;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, APP_ID, TRUE)
                                              : NULL;

  /* A fresh start: no last stack from an earlier test. */
  if (schema != NULL)
    {
      settings = g_settings_new (APP_ID);
      g_settings_reset (settings, "last-stack");
    }

  f->dir = g_dir_make_tmp ("tablero-test-window-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "stacks.db", NULL);
  f->store = tablero_stack_store_new (f->path, &error);
  g_assert_no_error (error);
  f->window = open_window (f);
}

static void
destroy_window (TableroWindow *window)
{
  /* Closing saves; wait for the window to go away. */
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_close (GTK_WINDOW (window));
  for (int i = 0; i < 500 && window != NULL; i++)
    test_spin (10);
  if (window != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (window), (gpointer *) &window);
      gtk_window_destroy (GTK_WINDOW (window));
    }
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->window != NULL)
    destroy_window (f->window);
  g_clear_object (&f->store);
  g_remove (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static GListModel *
nodes_of (TableroWindow *window)
{
  return tablero_stack_get_nodes (tablero_window_get_stack (window));
}

static TableroNode *
nth_node (TableroWindow *window,
          guint          i)
{
  g_autoptr (TableroNode) node = g_list_model_get_item (nodes_of (window), i);
  return node;  /* the stack keeps it */
}

static void
activate (TableroWindow *window,
          const char    *action,
          GVariant      *parameter)
{
  g_action_group_activate_action (G_ACTION_GROUP (window), action, parameter);
}

/* The visible message dialog on top of @window. */
static AdwMessageDialog *
find_dialog (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();  /* transfer none */
  AdwMessageDialog *found = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (w, type) && gtk_widget_get_visible (GTK_WIDGET (w)))
        found = ADW_MESSAGE_DIALOG (w);
    }
  return found;
}

static gboolean
dialog_shown (gpointer data)
{
  return find_dialog (GPOINTER_TO_SIZE (data)) != NULL;
}

/* Answers the edge dialog the canvas's "edge-requested" opens. */
static void
connect_nodes (TableroWindow *window,
               TableroNode   *source,
               TableroNode   *target,
               const char    *method,
               const char    *resource)
{
  AdwMessageDialog *dialog;

  g_signal_emit_by_name (tablero_window_get_canvas (window), "edge-requested", source, target);
  g_assert_true (test_wait_until (dialog_shown, GSIZE_TO_POINTER (TABLERO_TYPE_EDGE_DIALOG),
                                  2000));
  dialog = find_dialog (TABLERO_TYPE_EDGE_DIALOG);
  if (method != NULL)
    tablero_edge_dialog_set_method (TABLERO_EDGE_DIALOG (dialog), method);
  if (resource != NULL)
    tablero_edge_dialog_set_resource (TABLERO_EDGE_DIALOG (dialog), resource);
  adw_message_dialog_response (dialog, "connect");
  test_spin (20);
}

static void
add_demo_stack (TableroWindow *window)
{
  TableroCanvas *canvas = tablero_window_get_canvas (window);
  TableroNode *gateway, *posts, *docs, *worker;
  GListModel *edges;

  gateway = tablero_window_add_node (window, TABLERO_NODE_KIND_ENGINE, 0, 0);
  posts = tablero_window_add_node (window, TABLERO_NODE_KIND_PAJARO, 300, -120);
  docs = tablero_window_add_node (window, TABLERO_NODE_KIND_MONJE, 300, 120);
  worker = tablero_window_add_node (window, TABLERO_NODE_KIND_ENGINE, 600, 0);
  tablero_stack_rename_node (tablero_window_get_stack (window), gateway, "Gateway");
  tablero_stack_rename_node (tablero_window_get_stack (window), posts, "Timeline");
  tablero_stack_rename_node (tablero_window_get_stack (window), docs, "Documents");
  tablero_stack_rename_node (tablero_window_get_stack (window), worker, "Worker");

  connect_nodes (window, posts, gateway, "POST", "pajaro/posts/...");
  connect_nodes (window, docs, gateway, NULL, NULL);
  connect_nodes (window, gateway, worker, "GET", "jobs/...");
  edges = tablero_stack_get_edges (tablero_window_get_stack (window));
  g_assert_cmpuint (g_list_model_get_n_items (edges), ==, 3);

  /* Live figures as the engines would report them. */
  tablero_node_set_state (gateway, TABLERO_NODE_STATE_UP);
  tablero_node_set_metrics (gateway, 0.34, 0.52, 0.08, 0.21, 0.46);
  tablero_node_set_state (posts, TABLERO_NODE_STATE_UP);
  tablero_node_set_metrics (posts, 0.72, 0.61, 0.12, 0.55, 0.74);
  tablero_node_set_level (posts, TABLERO_LEVEL_BUSY);
  tablero_node_set_state (docs, TABLERO_NODE_STATE_RECONNECTING);
  tablero_node_set_metrics (docs, 0.97, 0.91, 0.88, 0.40, 0.96);
  tablero_node_set_level (docs, TABLERO_LEVEL_CRITICAL);
  tablero_node_set_state (worker, TABLERO_NODE_STATE_CONNECTING);
  for (guint i = 0; i < g_list_model_get_n_items (edges); i++)
    {
      g_autoptr (TableroEdge) edge = g_list_model_get_item (edges, i);
      tablero_edge_set_rate (edge, 4.0 * (i + 1) * (i + 1));
    }

  tablero_canvas_select_node (canvas, gateway, FALSE);
  tablero_canvas_zoom_to_fit (canvas);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_new_window (Fixture       *f,
                 gconstpointer  data)
{
  TableroStack *stack = tablero_window_get_stack (f->window);
  GListModel *stacks = tablero_stack_store_get_stacks (f->store);

  /* An empty database: the window starts a new stack and saves it. */
  g_assert_nonnull (stack);
  g_assert_cmpstr (tablero_stack_get_name (stack), ==, "Untitled Stack");
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 1);
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (f->window)), ==, "Untitled Stack — Tablero");
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "undo"));
  g_assert_cmpstr (tablero_node_pane_get_page (tablero_window_get_node_pane (f->window)), ==, "empty");
  gui_test_save_screenshot (GTK_WIDGET (f->window), "window-empty.png");
}

static void
test_add_from_palette (Fixture       *f,
                       gconstpointer  data)
{
  TableroPalette *palette = TABLERO_PALETTE (tablero_window_get_palette (f->window));
  TableroNodePane *pane = tablero_window_get_node_pane (f->window);
  graphene_rect_t a, b;

  /* The "Add Node" menu of the header bar. */
  activate (f->window, "add-node", g_variant_new_string ("engine"));
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (f->window)), ==, 1);
  g_assert_cmpstr (tablero_node_get_name (nth_node (f->window, 0)), ==, "Engine 1");
  g_assert_cmpuint (tablero_node_get_port (nth_node (f->window, 0)), ==, 7000);

  /* A palette row, as a click or Enter would activate it. */
  g_signal_emit_by_name (gtk_widget_get_parent (tablero_palette_get_row (palette, TABLERO_NODE_KIND_MONJE)),
                         "row-activated", tablero_palette_get_row (palette, TABLERO_NODE_KIND_MONJE));
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (f->window)), ==, 2);
  g_assert_cmpint (tablero_node_get_kind (nth_node (f->window, 1)), ==, TABLERO_NODE_KIND_MONJE);
  g_assert_cmpstr (tablero_node_get_name (nth_node (f->window, 1)), ==, "Monje 1");
  g_assert_cmpuint (tablero_node_get_port (nth_node (f->window, 1)), ==, 7001);

  /* Both were placed at the centre of the view, so they must not overlap. */
  tablero_canvas_get_node_bounds (nth_node (f->window, 0), &a);
  tablero_canvas_get_node_bounds (nth_node (f->window, 1), &b);
  g_assert_false (graphene_rect_intersection (&a, &b, NULL));

  /* The new node is selected and shown in the details pane. */
  g_assert_true (tablero_node_get_selected (nth_node (f->window, 1)));
  g_assert_cmpstr (tablero_node_pane_get_page (pane), ==, "node");
  g_assert_true (tablero_node_pane_get_node (pane) == nth_node (f->window, 1));

  /* A drop from the palette lands where it was dropped, if free. */
  g_signal_emit_by_name (tablero_window_get_canvas (f->window), "node-requested",
                         (int) TABLERO_NODE_KIND_PAJARO, 1000.0, 1000.0);
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (f->window)), ==, 3);
  g_assert_cmpfloat (tablero_node_get_x (nth_node (f->window, 2)), ==, 1000.0);

  /* Undo is enabled, and takes the last one away. */
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "undo"));
  activate (f->window, "undo", NULL);
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (f->window)), ==, 2);
  activate (f->window, "redo", NULL);
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (f->window)), ==, 3);
}

typedef struct
{
  char  *id;
  char  *name;
  int    kind;
  double x, y;
  guint  port;
} NodeCopy;

static void
test_rename_save_reopen (Fixture       *f,
                         gconstpointer  data)
{
  TableroCanvas *canvas = tablero_window_get_canvas (f->window);
  TableroNode *worker;
  g_autofree char *json_before = NULL;
  g_autofree char *json_after = NULL;
  g_autofree char *stack_name = NULL;
  TableroWindow *again;

  add_demo_stack (f->window);
  worker = nth_node (f->window, 3);

  /* Rename through the canvas's F2 popover. */
  tablero_canvas_select_node (canvas, worker, FALSE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (canvas), "canvas.rename", NULL));
  {
    GtkWidget *entry = NULL;

    for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (canvas)); c; c = gtk_widget_get_next_sibling (c))
      if (GTK_IS_POPOVER (c) && !GTK_IS_POPOVER_MENU (c))
        entry = gui_test_find_descendant (c, GTK_TYPE_ENTRY);
    g_assert_nonnull (entry);
    gtk_editable_set_text (GTK_EDITABLE (entry), "Job runner");
    g_signal_emit_by_name (entry, "activate");
  }
  g_assert_cmpstr (tablero_node_get_name (worker), ==, "Job runner");
  tablero_stack_move_node (tablero_window_get_stack (f->window), worker, 620.5, 40.25);

  /* The autosave happens by itself a moment later. */
  g_assert_true (tablero_window_is_busy (f->window));
  wait_idle (f->window);
  g_assert_false (tablero_stack_get_modified (tablero_window_get_stack (f->window)));

  json_before = tablero_stack_to_json (tablero_window_get_stack (f->window));
  stack_name = g_strdup (tablero_stack_get_name (tablero_window_get_stack (f->window)));
  destroy_window (f->window);
  f->window = NULL;

  /* A new window over the same database opens the same stack, unchanged. */
  again = open_window (f);
  f->window = again;
  g_assert_cmpstr (tablero_stack_get_name (tablero_window_get_stack (again)), ==, stack_name);
  json_after = tablero_stack_to_json (tablero_window_get_stack (again));
  g_assert_cmpstr (json_after, ==, json_before);
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (again)), ==, 4);
  g_assert_cmpstr (tablero_node_get_name (nth_node (again, 3)), ==, "Job runner");
  g_assert_cmpfloat (tablero_node_get_x (nth_node (again, 3)), ==, 620.5);
  g_assert_cmpfloat (tablero_node_get_y (nth_node (again, 3)), ==, 40.25);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_get_edges (tablero_window_get_stack (again))), ==, 3);
  gui_test_save_screenshot (GTK_WIDGET (again), "window-reopened.png");
}

static void
answer_name_dialog (const char *name,
                    const char *response)
{
  AdwMessageDialog *dialog;
  GtkWidget *entry;

  g_assert_true (test_wait_until (dialog_shown, GSIZE_TO_POINTER (ADW_TYPE_MESSAGE_DIALOG), 2000));
  dialog = find_dialog (ADW_TYPE_MESSAGE_DIALOG);
  entry = adw_message_dialog_get_extra_child (dialog);
  if (name != NULL)
    {
      g_assert_true (GTK_IS_ENTRY (entry));
      gtk_editable_set_text (GTK_EDITABLE (entry), name);
    }
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, response));
  adw_message_dialog_response (dialog, response);
  test_spin (20);
}

static gboolean
stack_named (gpointer data)
{
  void **args = data;
  TableroStack *stack = tablero_window_get_stack (args[0]);

  return stack != NULL && g_strcmp0 (tablero_stack_get_name (stack), args[1]) == 0 &&
         !tablero_window_is_busy (args[0]);
}

static void
wait_for_stack (TableroWindow *window,
                const char    *name)
{
  void *args[2] = { window, (void *) name };

  g_assert_true (test_wait_until (stack_named, args, 5000));
}

static void
test_stack_management (Fixture       *f,
                       gconstpointer  data)
{
  GListModel *stacks = tablero_stack_store_get_stacks (f->store);

  add_demo_stack (f->window);
  wait_idle (f->window);

  /* Rename */
  activate (f->window, "rename-stack", NULL);
  answer_name_dialog ("Social demo", "ok");
  wait_for_stack (f->window, "Social demo");
  g_assert_true (tablero_stack_store_contains (f->store, "Social demo"));
  g_assert_false (tablero_stack_store_contains (f->store, "Untitled Stack"));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (f->window)), ==, "Social demo — Tablero");

  /* Duplicate: opens the copy */
  activate (f->window, "duplicate-stack", NULL);
  answer_name_dialog (NULL, "ok");
  wait_for_stack (f->window, "Social demo (copy)");
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (f->window)), ==, 4);

  /* New stack, then back to the first through the stack switcher list */
  tablero_window_new_stack (f->window);
  wait_idle (f->window);
  g_assert_cmpstr (tablero_stack_get_name (tablero_window_get_stack (f->window)), ==, "Untitled Stack");
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 3);
  tablero_window_open_stack (f->window, "Social demo");
  wait_for_stack (f->window, "Social demo");
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (f->window)), ==, 4);

  /* Delete the shown one: another opens */
  activate (f->window, "delete-stack", NULL);
  answer_name_dialog (NULL, "delete");
  g_assert_true (test_wait_until ((TestCondition) not_busy, f->window, 5000));
  test_spin (50);
  wait_idle (f->window);
  g_assert_false (tablero_stack_store_contains (f->store, "Social demo"));
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 2);
  g_assert_nonnull (tablero_window_get_stack (f->window));
  g_assert_cmpstr (tablero_stack_get_name (tablero_window_get_stack (f->window)), !=, "Social demo");
}

static void
test_find (Fixture       *f,
           gconstpointer  data)
{
  GtkWidget *bar = gui_test_find_descendant (GTK_WIDGET (f->window), GTK_TYPE_SEARCH_BAR);
  GtkWidget *entry = gui_test_find_descendant (bar, GTK_TYPE_SEARCH_ENTRY);

  add_demo_stack (f->window);
  activate (f->window, "find", NULL);
  g_assert_true (gtk_search_bar_get_search_mode (GTK_SEARCH_BAR (bar)));
  gtk_editable_set_text (GTK_EDITABLE (entry), "docu");
  g_signal_emit_by_name (entry, "search-changed");
  g_assert_true (tablero_node_get_selected (nth_node (f->window, 2)));
  g_assert_cmpstr (tablero_node_pane_get_page (tablero_window_get_node_pane (f->window)), ==, "node");
  g_assert_false (gtk_widget_has_css_class (entry, "error"));

  gtk_editable_set_text (GTK_EDITABLE (entry), "no such node");
  g_signal_emit_by_name (entry, "search-changed");
  g_assert_true (gtk_widget_has_css_class (entry, "error"));
  g_signal_emit_by_name (entry, "stop-search");
  g_assert_false (gtk_search_bar_get_search_mode (GTK_SEARCH_BAR (bar)));
}

static gboolean
file_exists (gpointer data)
{
  return g_file_query_exists (data, NULL);
}

static void
test_export_import (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "exported.json", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autofree char *contents = NULL;

  add_demo_stack (f->window);
  activate (f->window, "rename-stack", NULL);
  answer_name_dialog ("Shared", "ok");
  wait_for_stack (f->window, "Shared");

  /* What Export… does once the file is chosen (the chooser is GTK's). */
  tablero_window_export_file (f->window, file);
  g_assert_true (test_wait_until (file_exists, file, 5000));
  wait_idle (f->window);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "\"Shared\""));
  g_assert_nonnull (strstr (contents, "\"Timeline\""));

  /* Importing it again stores a second copy under a new name, and opens it. */
  tablero_window_import_file (f->window, file);
  wait_for_stack (f->window, "Shared (2)");
  g_assert_cmpuint (g_list_model_get_n_items (nodes_of (f->window)), ==, 4);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_store_get_stacks (f->store)), ==, 2);
  g_remove (path);
}

static void
test_screenshots (Fixture       *f,
                  gconstpointer  data)
{
  TableroCanvas *canvas = tablero_window_get_canvas (f->window);
  AdwStyleManager *style = adw_style_manager_get_default ();
  GListModel *edges;

  add_demo_stack (f->window);
  wait_idle (f->window);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->window));
  gui_test_save_screenshot (GTK_WIDGET (f->window), "window-stack.png");

  /* A connection selected: the details pane shows its endpoint. */
  edges = tablero_stack_get_edges (tablero_window_get_stack (f->window));
  {
    g_autoptr (TableroEdge) edge = g_list_model_get_item (edges, 0);
    tablero_canvas_unselect_all (canvas);
    tablero_edge_set_selected (edge, TRUE);
    g_signal_emit_by_name (canvas, "selection-changed");
  }
  g_assert_cmpstr (tablero_node_pane_get_page (tablero_window_get_node_pane (f->window)), ==, "edge");
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->window));
  gui_test_save_screenshot (GTK_WIDGET (f->window), "window-edge.png");

  /* Dark style */
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  tablero_canvas_select_node (canvas, nth_node (f->window, 2), FALSE);
  test_spin (100);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->window));
  gui_test_save_screenshot (GTK_WIDGET (f->window), "window-dark.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
  test_spin (100);

  /* The edge dialog over the window */
  g_signal_emit_by_name (canvas, "edge-requested", nth_node (f->window, 3), nth_node (f->window, 2));
  g_assert_true (test_wait_until (dialog_shown, GSIZE_TO_POINTER (TABLERO_TYPE_EDGE_DIALOG),
                                  2000));
  {
    AdwMessageDialog *dialog = find_dialog (TABLERO_TYPE_EDGE_DIALOG);
    gtk_test_widget_wait_for_draw (GTK_WIDGET (dialog));
    gui_test_save_screenshot (GTK_WIDGET (dialog), "window-edge-dialog.png");
    adw_message_dialog_response (dialog, "cancel");
  }

  /* The keyboard shortcuts window */
  {
    GtkShortcutsWindow *help = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (f->window));

    g_assert_nonnull (help);
    gtk_window_present (GTK_WINDOW (help));
    gtk_test_widget_wait_for_draw (GTK_WIDGET (help));
    gui_test_save_screenshot (GTK_WIDGET (help), "shortcuts.png");
    gtk_widget_set_visible (GTK_WIDGET (help), FALSE);
  }

  /* The stacks popover of the title */
  activate (f->window, "open-stack", NULL);
  test_spin (100);
  {
    GtkWidget *popover = (GtkWidget *) gtk_menu_button_get_popover (
      GTK_MENU_BUTTON (adw_header_bar_get_title_widget (
        ADW_HEADER_BAR (gui_test_find_descendant (GTK_WIDGET (f->window), ADW_TYPE_HEADER_BAR)))));
    gtk_test_widget_wait_for_draw (popover);
    gui_test_save_screenshot (popover, "stacks-popover.png");
    gtk_popover_popdown (GTK_POPOVER (popover));
  }

  /* 500 nodes, zoomed to fit */
  {
    TableroStack *stack = tablero_window_get_stack (f->window);

    tablero_stack_begin_group (stack, "Add many");
    for (guint i = 0; i < 500; i++)
      {
        g_autofree char *id = tablero_stack_new_id (stack);
        g_autofree char *name = g_strdup_printf ("Host %03u", i);
        g_autoptr (TableroNode) node = tablero_node_new (id, i % 3, name);

        tablero_node_set_position (node, 900 + (i % 25) * 200, 400 + (i / 25) * 140);
        tablero_node_set_state (node, TABLERO_NODE_STATE_UP + i % 3);
        tablero_node_set_metrics (node, (i % 10) / 10.0, 0.5, 0.2, 0.1, (i % 10) / 10.0);
        tablero_node_set_level (node, i % 10 >= 9 ? TABLERO_LEVEL_CRITICAL
                                                  : i % 10 >= 7 ? TABLERO_LEVEL_BUSY : TABLERO_LEVEL_OK);
        tablero_stack_add_node (stack, node);
      }
    tablero_stack_end_group (stack);
    tablero_canvas_zoom_to_fit (canvas);
    gtk_test_widget_wait_for_draw (GTK_WIDGET (f->window));
    gui_test_save_screenshot (GTK_WIDGET (f->window), "window-500.png");
    wait_idle (f->window);
  }
}

/* The application's activate opens a TableroWindow. */
static void
test_app_activate (void)
{
  GtkWindow *window;

  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_assert_true (TABLERO_IS_WINDOW (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  wait_idle (TABLERO_WINDOW (window));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "quit"));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "about"));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "new-stack"));
  destroy_window (TABLERO_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *store_dir = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr (TableroStackStore) app_store = NULL;
  int status;

  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL &&
      g_strcmp0 (g_getenv ("GDK_BACKEND"), "broadway") != 0)
    {
      g_print ("1..0 # SKIP no display: run under xvfb-run -a\n");
      return 0;
    }

  g_mkdir_with_parents (g_get_user_cache_dir (), 0700);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  /* A registered application (accelerators, the shortcuts window) with its
   * own throwaway database. */
  store_dir = g_dir_make_tmp ("tablero-test-app-XXXXXX", &error);
  g_assert_no_error (error);
  store_path = g_build_filename (store_dir, "stacks.db", NULL);
  app_store = tablero_stack_store_new (store_path, &error);
  g_assert_no_error (error);
  app = tablero_application_new (G_APPLICATION_NON_UNIQUE);
  tablero_application_set_store (app, app_store);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_hold (G_APPLICATION (app));

#define ADD(path, func) \
  g_test_add ("/window/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("new-window", test_new_window);
  ADD ("add-from-palette", test_add_from_palette);
  ADD ("rename-save-reopen", test_rename_save_reopen);
  ADD ("stack-management", test_stack_management);
  ADD ("find", test_find);
  ADD ("export-import", test_export_import);
  ADD ("screenshots", test_screenshots);
#undef ADD
  g_test_add_func ("/window/app-activate", test_app_activate);

  status = g_test_run ();

  g_application_release (G_APPLICATION (app));
  g_clear_object (&app);
  g_clear_object (&app_store);
  g_remove (store_path);
  g_rmdir (store_dir);
  return status;
}
