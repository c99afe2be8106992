/* test-canvas.c: the canvas and the small widgets, on a real display
 *
 * SPDX-License-Identifier: MIT
 *
 * Every widget is created and destroyed under gtk_test_init (warnings are
 * fatal). The canvas is then driven like a user would: through its gesture
 * signals, and with real pointer and key events sent through XTest on X11
 * (those cases skip on other backends). Without a display the whole file
 * reports a TAP skip.
 */
#include "config.h"

#include <adwaita.h>
#include <math.h>
#if HAVE_XTEST
#include <gdk/x11/gdkx.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#endif

#include "canvas/tablero-canvas.h"
#include "canvas/tablero-minimap.h"
#include "tablero-edge-dialog.h"
#include "tablero-node-pane.h"
#include "tablero-palette.h"

#include "gui-test-utils.h"

/* ---- helpers ------------------------------------------------------------- */

static guint32
pixel_at (GdkTexture *texture,
          int         x,
          int         y)
{
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  g_autofree guchar *data = g_malloc ((gsize) w * h * 4);

  gdk_texture_download (texture, data, w * 4);
  return ((guint32 *) data)[y * w + x] & 0xffffff;
}

static gboolean
color_near (guint32 a,
            guint32 b,
            int     tolerance)
{
  for (int shift = 0; shift < 24; shift += 8)
    if (ABS ((int) ((a >> shift) & 0xff) - (int) ((b >> shift) & 0xff)) > tolerance)
      return FALSE;
  return TRUE;
}

static GtkGesture *
find_drag_gesture (GtkWidget *widget,
                   guint      button)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_GESTURE_DRAG (c) && gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (c)) == button)
        return GTK_GESTURE (c);  /* owned by the widget */
    }
  return NULL;
}

/* A window with a canvas (and a minimap over it) showing @stack. */
typedef struct
{
  GtkWidget     *window;
  TableroCanvas *canvas;
  GtkWidget     *minimap;
  TableroStack  *stack;
} Fixture;

static TableroNode *
add_node (TableroStack    *stack,
          const char      *name,
          TableroNodeKind  kind,
          double           x,
          double           y)
{
  g_autofree char *id = tablero_stack_new_id (stack);
  g_autoptr (TableroNode) node = tablero_node_new (id, kind, name);

  tablero_node_set_position (node, x, y);
  tablero_node_set_port (node, 7000 + g_list_model_get_n_items (tablero_stack_get_nodes (stack)));
  tablero_stack_add_node (stack, node);
  return node;  /* owned by the stack */
}

static TableroEdge *
add_edge (TableroStack *stack,
          TableroNode  *source,
          TableroNode  *target,
          const char   *method,
          const char   *resource)
{
  g_autofree char *id = tablero_stack_new_id (stack);
  g_auto (GStrv) parts = g_strsplit (resource, "/", -1);
  g_autoptr (TableroEdge) edge = tablero_edge_new (id, tablero_node_get_id (source),
                                                   tablero_node_get_id (target), method,
                                                   (const char * const *) parts);

  tablero_stack_add_edge (stack, edge);
  return edge;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  GtkWidget *overlay = gtk_overlay_new ();

  f->stack = tablero_stack_new ("Test stack");
  f->window = gtk_window_new ();
  f->canvas = TABLERO_CANVAS (tablero_canvas_new ());
  f->minimap = tablero_minimap_new (f->canvas);
  gtk_widget_set_halign (f->minimap, GTK_ALIGN_END);
  gtk_widget_set_valign (f->minimap, GTK_ALIGN_END);
  gtk_widget_set_margin_end (f->minimap, 12);
  gtk_widget_set_margin_bottom (f->minimap, 12);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), GTK_WIDGET (f->canvas));
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), f->minimap);
  gtk_window_set_child (GTK_WINDOW (f->window), overlay);
  tablero_canvas_set_stack (f->canvas, f->stack);
  gui_test_show_window (GTK_WINDOW (f->window), 960, 640);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_object (&f->stack);
  test_spin (10);
}

static void
node_center_in_widget (Fixture     *f,
                       TableroNode *node,
                       double      *x,
                       double      *y)
{
  tablero_canvas_canvas_to_widget (f->canvas, tablero_node_get_x (node), tablero_node_get_y (node),
                                   x, y);
}

static void
drag_by_signals (GtkGesture *gesture,
                 double      x,
                 double      y,
                 double      dx,
                 double      dy)
{
  g_signal_emit_by_name (gesture, "drag-begin", x, y);
  for (int step = 1; step <= 4; step++)
    g_signal_emit_by_name (gesture, "drag-update", dx * step / 4, dy * step / 4);
  g_signal_emit_by_name (gesture, "drag-end", dx, dy);
}

static void
click_by_signals (GtkGesture *gesture,
                  double      x,
                  double      y)
{
  g_signal_emit_by_name (gesture, "drag-begin", x, y);
  g_signal_emit_by_name (gesture, "drag-end", 0.0, 0.0);
}

static guint
n_selected (Fixture *f)
{
  g_autoptr (GPtrArray) nodes = tablero_canvas_get_selected_nodes (f->canvas);
  return nodes->len;
}

/* Three nodes in an L and a fourth far away. */
static void
populate (Fixture      *f,
          TableroNode **nodes)
{
  nodes[0] = add_node (f->stack, "Alpha", TABLERO_NODE_KIND_ENGINE, 0, 0);
  nodes[1] = add_node (f->stack, "Beta", TABLERO_NODE_KIND_MONJE, 300, 0);
  nodes[2] = add_node (f->stack, "Gamma", TABLERO_NODE_KIND_PAJARO, 0, 220);
  nodes[3] = add_node (f->stack, "Delta", TABLERO_NODE_KIND_ENGINE, 640, 340);
  tablero_canvas_zoom_to_fit (f->canvas);
  gtk_test_widget_wait_for_draw (f->window);
}

/* ---- create / destroy ---------------------------------------------------- */

static void
test_create_destroy (void)
{
  GType types[] = {
    TABLERO_TYPE_CANVAS, TABLERO_TYPE_MINIMAP, TABLERO_TYPE_PALETTE, TABLERO_TYPE_NODE_PANE,
  };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      GtkWidget *window = gtk_window_new ();
      GtkWidget *widget = g_object_new (types[i], NULL);

      g_object_ref_sink (widget);
      gtk_window_set_child (GTK_WINDOW (window), widget);
      gtk_window_present (GTK_WINDOW (window));
      gtk_test_widget_wait_for_draw (window);
      g_assert_true (gtk_widget_get_mapped (widget));
      gtk_window_destroy (GTK_WINDOW (window));
      g_object_unref (widget);
    }

  /* The edge dialog needs its two nodes. */
  {
    g_autoptr (TableroNode) a = tablero_node_new ("a", TABLERO_NODE_KIND_ENGINE, "A");
    g_autoptr (TableroNode) b = tablero_node_new ("b", TABLERO_NODE_KIND_MONJE, "B");
    GtkWidget *dialog = tablero_edge_dialog_new (NULL, a, b);
    g_auto (GStrv) resource = NULL;

    gtk_window_present (GTK_WINDOW (dialog));
    gtk_test_widget_wait_for_draw (dialog);
    g_assert_cmpstr (tablero_edge_dialog_get_method (TABLERO_EDGE_DIALOG (dialog)), ==, "*");
    resource = tablero_edge_dialog_dup_resource (TABLERO_EDGE_DIALOG (dialog));
    g_assert_cmpuint (g_strv_length (resource), ==, 1);
    g_assert_cmpstr (resource[0], ==, "...");
    tablero_edge_dialog_set_method (TABLERO_EDGE_DIALOG (dialog), "POST");
    tablero_edge_dialog_set_resource (TABLERO_EDGE_DIALOG (dialog), "/pajaro/posts/...");
    g_clear_pointer (&resource, g_strfreev);
    resource = tablero_edge_dialog_dup_resource (TABLERO_EDGE_DIALOG (dialog));
    g_assert_cmpstr (tablero_edge_dialog_get_method (TABLERO_EDGE_DIALOG (dialog)), ==, "POST");
    g_assert_cmpuint (g_strv_length (resource), ==, 3);
    g_assert_cmpstr (resource[1], ==, "posts");
    gui_test_save_screenshot (dialog, "edge-dialog.png");
    gtk_window_destroy (GTK_WINDOW (dialog));
  }

  /* A canvas that loses its stack while shown. */
  {
    g_autoptr (TableroStack) stack = tablero_stack_new ("Gone");
    GtkWidget *window = gtk_window_new ();
    GtkWidget *canvas = tablero_canvas_new ();

    add_node (stack, "Alone", TABLERO_NODE_KIND_ENGINE, 0, 0);
    tablero_canvas_set_stack (TABLERO_CANVAS (canvas), stack);
    gtk_window_set_child (GTK_WINDOW (window), canvas);
    gtk_window_present (GTK_WINDOW (window));
    gtk_test_widget_wait_for_draw (window);
    tablero_canvas_set_stack (TABLERO_CANVAS (canvas), NULL);
    gtk_test_widget_wait_for_draw (window);
    gtk_window_destroy (GTK_WINDOW (window));
  }
}

static void
test_accessible (Fixture       *f,
                 gconstpointer  data)
{
  gtk_test_accessible_assert_role (GTK_ACCESSIBLE (f->canvas), GTK_ACCESSIBLE_ROLE_WIDGET);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (f->canvas), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Stack canvas");
  g_assert_true (gtk_widget_get_focusable (GTK_WIDGET (f->canvas)));
  g_assert_cmpstr (gtk_widget_get_css_name (GTK_WIDGET (f->canvas)), ==, "canvas");
  tablero_canvas_select_node (f->canvas,
                              add_node (f->stack, "One", TABLERO_NODE_KIND_ENGINE, 0, 0), FALSE);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (f->canvas),
                                       GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                       "1 node, 0 connections; selected: One, Engine, Not connected");
  tablero_canvas_unselect_all (f->canvas);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (f->canvas),
                                       GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                       "1 node, 0 connections");
}

/* ---- model to screen ------------------------------------------------------- */

static void
test_add_and_hit (Fixture       *f,
                  gconstpointer  data)
{
  TableroNode *nodes[4];
  double x, y;

  populate (f, nodes);
  for (guint i = 0; i < 4; i++)
    {
      node_center_in_widget (f, nodes[i], &x, &y);
      g_assert_true (tablero_canvas_node_at (f->canvas, x, y) == nodes[i]);
    }
  /* Between Alpha and Beta there is nothing. */
  node_center_in_widget (f, nodes[0], &x, &y);
  g_assert_null (tablero_canvas_node_at (f->canvas, x + 150 * tablero_canvas_get_zoom (f->canvas), y));

  /* Removing through the stack (undoable) takes it off the canvas. */
  tablero_stack_remove_node (f->stack, nodes[3]);
  g_assert_true (tablero_stack_undo (f->stack));
  node_center_in_widget (f, nodes[3], &x, &y);
  g_assert_true (tablero_canvas_node_at (f->canvas, x, y) == nodes[3]);
}

static void
test_zoom_to_fit (Fixture       *f,
                  gconstpointer  data)
{
  TableroNode *nodes[4];
  graphene_rect_t visible, content;

  populate (f, nodes);
  add_node (f->stack, "Far", TABLERO_NODE_KIND_ENGINE, 3000, 2000);
  tablero_canvas_set_zoom (f->canvas, 2.0);
  g_assert_cmpfloat (tablero_canvas_get_zoom (f->canvas), ==, 2.0);

  tablero_canvas_zoom_to_fit (f->canvas);
  tablero_canvas_get_visible_area (f->canvas, &visible);
  g_assert_true (tablero_canvas_get_content_bounds (f->canvas, &content));
  g_assert_true (graphene_rect_contains_rect (&visible, &content));
  g_assert_cmpfloat (tablero_canvas_get_zoom (f->canvas), <, 0.5);

  /* Ctrl+1 is bound to the same action. */
  tablero_canvas_set_zoom (f->canvas, 1.0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->canvas), "canvas.zoom-fit", NULL));
  tablero_canvas_get_visible_area (f->canvas, &visible);
  g_assert_true (graphene_rect_contains_rect (&visible, &content));

  /* Zooming about a point keeps that point still. */
  {
    double cx, cy, after_x, after_y;

    tablero_canvas_widget_to_canvas (f->canvas, 100, 80, &cx, &cy);
    tablero_canvas_zoom_at (f->canvas, 1.5, 100, 80);
    tablero_canvas_widget_to_canvas (f->canvas, 100, 80, &after_x, &after_y);
    g_assert_cmpfloat_with_epsilon (cx, after_x, 1e-6);
    g_assert_cmpfloat_with_epsilon (cy, after_y, 1e-6);
  }
}

/* ---- selection and moves through the gesture --------------------------------- */

static void
test_select_and_drag (Fixture       *f,
                      gconstpointer  data)
{
  GtkGesture *drag = find_drag_gesture (GTK_WIDGET (f->canvas), GDK_BUTTON_PRIMARY);
  TableroNode *nodes[4];
  double x, y, zoom;
  double ax, ay, bx, by;

  g_assert_nonnull (drag);
  tablero_canvas_set_snap_to_grid (f->canvas, FALSE);
  populate (f, nodes);
  zoom = tablero_canvas_get_zoom (f->canvas);

  /* A click selects one node. */
  node_center_in_widget (f, nodes[0], &x, &y);
  click_by_signals (drag, x, y);
  g_assert_true (tablero_node_get_selected (nodes[0]));
  g_assert_cmpuint (n_selected (f), ==, 1);

  /* Another click selects another, alone. */
  node_center_in_widget (f, nodes[1], &x, &y);
  click_by_signals (drag, x, y);
  g_assert_false (tablero_node_get_selected (nodes[0]));
  g_assert_true (tablero_node_get_selected (nodes[1]));

  /* Add Alpha (Ctrl-click is covered by the XTest case) and drag both. */
  tablero_canvas_select_node (f->canvas, nodes[0], TRUE);
  g_assert_cmpuint (n_selected (f), ==, 2);
  ax = tablero_node_get_x (nodes[0]);
  ay = tablero_node_get_y (nodes[0]);
  bx = tablero_node_get_x (nodes[1]);
  by = tablero_node_get_y (nodes[1]);

  drag_by_signals (drag, x, y, 40 * zoom, 30 * zoom);
  g_assert_cmpfloat_with_epsilon (tablero_node_get_x (nodes[1]), bx + 40, 1e-6);
  g_assert_cmpfloat_with_epsilon (tablero_node_get_y (nodes[1]), by + 30, 1e-6);
  g_assert_cmpfloat_with_epsilon (tablero_node_get_x (nodes[0]), ax + 40, 1e-6);
  g_assert_cmpfloat_with_epsilon (tablero_node_get_y (nodes[0]), ay + 30, 1e-6);
  g_assert_cmpuint (n_selected (f), ==, 2);  /* a drag keeps the selection */

  /* The two-node drag is one undo step. */
  g_assert_true (tablero_stack_get_can_undo (f->stack));
  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpfloat (tablero_node_get_x (nodes[0]), ==, ax);
  g_assert_cmpfloat (tablero_node_get_y (nodes[0]), ==, ay);
  g_assert_cmpfloat (tablero_node_get_x (nodes[1]), ==, bx);
  g_assert_cmpfloat (tablero_node_get_y (nodes[1]), ==, by);
  g_assert_true (tablero_stack_redo (f->stack));
  g_assert_cmpfloat_with_epsilon (tablero_node_get_x (nodes[0]), ax + 40, 1e-6);
  g_assert_cmpfloat_with_epsilon (tablero_node_get_x (nodes[1]), bx + 40, 1e-6);

  /* A click on empty space clears the selection. */
  click_by_signals (drag, 4, 4);
  g_assert_cmpuint (n_selected (f), ==, 0);
}

static void
test_snap_to_grid (Fixture       *f,
                   gconstpointer  data)
{
  GtkGesture *drag = find_drag_gesture (GTK_WIDGET (f->canvas), GDK_BUTTON_PRIMARY);
  TableroNode *node = add_node (f->stack, "Snappy", TABLERO_NODE_KIND_ENGINE, 3, 7);
  double x, y, zoom, left, top;

  tablero_canvas_set_zoom (f->canvas, 1.0);
  tablero_canvas_center_on (f->canvas, 0, 0);
  g_assert_true (tablero_canvas_get_snap_to_grid (f->canvas));
  zoom = tablero_canvas_get_zoom (f->canvas);
  node_center_in_widget (f, node, &x, &y);
  drag_by_signals (drag, x, y, 33 * zoom, 47 * zoom);

  left = tablero_node_get_x (node) - TABLERO_CANVAS_NODE_WIDTH / 2;
  top = tablero_node_get_y (node) - TABLERO_CANVAS_NODE_HEIGHT / 2;
  g_assert_cmpfloat (fmod (fabs (left), TABLERO_CANVAS_GRID_SIZE), ==, 0);
  g_assert_cmpfloat (fmod (fabs (top), TABLERO_CANVAS_GRID_SIZE), ==, 0);
  g_assert_cmpfloat (fabs (tablero_node_get_x (node) - (3 + 33)), <=, TABLERO_CANVAS_GRID_SIZE);
}

static void
test_rubber_band (Fixture       *f,
                  gconstpointer  data)
{
  GtkGesture *drag = find_drag_gesture (GTK_WIDGET (f->canvas), GDK_BUTTON_PRIMARY);
  TableroNode *nodes[4];
  double x0, y0, x1, y1;
  g_autofree char *undo_label = NULL;

  populate (f, nodes);
  undo_label = g_strdup (tablero_stack_get_undo_label (f->stack));
  /* A band from above-left of Alpha to the middle of Beta, missing Gamma and Delta. */
  tablero_canvas_canvas_to_widget (f->canvas, -TABLERO_CANVAS_NODE_WIDTH, -TABLERO_CANVAS_NODE_HEIGHT,
                                   &x0, &y0);
  tablero_canvas_canvas_to_widget (f->canvas, 300, 10, &x1, &y1);
  drag_by_signals (drag, x0, y0, x1 - x0, y1 - y0);

  g_assert_true (tablero_node_get_selected (nodes[0]));
  g_assert_true (tablero_node_get_selected (nodes[1]));
  g_assert_false (tablero_node_get_selected (nodes[2]));
  g_assert_false (tablero_node_get_selected (nodes[3]));
  /* A rubber band changes no positions: no new undo step. */
  g_assert_cmpstr (tablero_stack_get_undo_label (f->stack), ==, undo_label);
}

static void
test_delete_and_undo (Fixture       *f,
                      gconstpointer  data)
{
  TableroNode *nodes[4];
  GListModel *model = tablero_stack_get_nodes (f->stack);
  GListModel *edges = tablero_stack_get_edges (f->stack);

  populate (f, nodes);
  add_edge (f->stack, nodes[0], nodes[1], "*", "...");
  add_edge (f->stack, nodes[1], nodes[2], "POST", "pajaro/posts");
  g_assert_cmpuint (g_list_model_get_n_items (edges), ==, 2);

  /* Deleting Beta takes both of its edges. */
  tablero_canvas_select_node (f->canvas, nodes[1], FALSE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->canvas), "canvas.delete", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 3);
  g_assert_cmpuint (g_list_model_get_n_items (edges), ==, 0);
  g_assert_cmpuint (n_selected (f), ==, 0);

  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 4);
  g_assert_cmpuint (g_list_model_get_n_items (edges), ==, 2);

  /* Select all and delete: one step brings everything back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->canvas), "canvas.select-all", NULL));
  g_assert_cmpuint (n_selected (f), ==, 4);
  tablero_canvas_delete_selection (f->canvas);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  gtk_test_widget_wait_for_draw (f->window);
  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 4);
  g_assert_cmpuint (g_list_model_get_n_items (edges), ==, 2);
}

static void
on_edge_requested (TableroCanvas *canvas,
                   TableroNode   *source,
                   TableroNode   *target,
                   TableroNode  **result)
{
  result[0] = source;
  result[1] = target;
}

static void
test_edge_request (Fixture       *f,
                   gconstpointer  data)
{
  GtkGesture *drag = find_drag_gesture (GTK_WIDGET (f->canvas), GDK_BUTTON_PRIMARY);
  TableroNode *nodes[4];
  TableroNode *result[2] = { NULL, NULL };
  double px, py, tx, ty;

  populate (f, nodes);
  tablero_canvas_set_zoom (f->canvas, 1.0);
  tablero_canvas_center_on (f->canvas, 150, 100);
  g_signal_connect (f->canvas, "edge-requested", G_CALLBACK (on_edge_requested), result);

  /* From Alpha's port handle, on the middle of its right side, to Beta. */
  tablero_canvas_canvas_to_widget (f->canvas, tablero_node_get_x (nodes[0]) + TABLERO_CANVAS_NODE_WIDTH / 2,
                                   tablero_node_get_y (nodes[0]), &px, &py);
  node_center_in_widget (f, nodes[1], &tx, &ty);
  drag_by_signals (drag, px, py, tx - px, ty - py);
  g_assert_true (result[0] == nodes[0]);
  g_assert_true (result[1] == nodes[1]);
  /* Drawing an edge moves nothing. */
  g_assert_cmpfloat (tablero_node_get_x (nodes[0]), ==, 0);

  /* Dropped on empty space: no request. */
  result[0] = result[1] = NULL;
  drag_by_signals (drag, px, py, 0, 600);
  g_assert_null (result[0]);
}

typedef struct
{
  int    kind;
  double x, y;
  int    count;
} NodeRequest;

static void
on_node_requested (TableroCanvas *canvas,
                   int            kind,
                   double         x,
                   double         y,
                   NodeRequest   *request)
{
  request->kind = kind;
  request->x = x;
  request->y = y;
  request->count++;
}

/* A palette drag dropped on the canvas, and the context menu's "Add Node". */
static void
test_node_requests (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->canvas));
  GtkDropTarget *target = NULL;
  NodeRequest request = { -1, 0, 0, 0 };
  GValue value = G_VALUE_INIT;
  gboolean accepted = FALSE;
  double x, y;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (c))
        target = GTK_DROP_TARGET (c);
    }
  g_assert_nonnull (target);
  g_signal_connect (f->canvas, "node-requested", G_CALLBACK (on_node_requested), &request);

  tablero_canvas_set_zoom (f->canvas, 1.0);
  tablero_canvas_center_on (f->canvas, 0, 0);
  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, "monje");
  g_signal_emit_by_name (target, "drop", &value, 100.0, 50.0, &accepted);
  g_assert_true (accepted);
  g_assert_cmpint (request.count, ==, 1);
  g_assert_cmpint (request.kind, ==, TABLERO_NODE_KIND_MONJE);
  tablero_canvas_widget_to_canvas (f->canvas, 100, 50, &x, &y);
  g_assert_cmpfloat (request.x, ==, x);
  g_assert_cmpfloat (request.y, ==, y);

  /* Something else dropped: refused. */
  g_value_set_string (&value, "toaster");
  accepted = TRUE;
  g_signal_emit_by_name (target, "drop", &value, 100.0, 50.0, &accepted);
  g_assert_false (accepted);
  g_assert_cmpint (request.count, ==, 1);
  g_value_unset (&value);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->canvas), "canvas.add-node", "s", "pajaro"));
  g_assert_cmpint (request.count, ==, 2);
  g_assert_cmpint (request.kind, ==, TABLERO_NODE_KIND_PAJARO);
}

static void
test_align (Fixture       *f,
            gconstpointer  data)
{
  TableroNode *nodes[4];
  GVariant *left = g_variant_new_string ("left");

  populate (f, nodes);
  tablero_canvas_select_node (f->canvas, nodes[1], FALSE);
  tablero_canvas_select_node (f->canvas, nodes[3], TRUE);
  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (f->canvas), "canvas.align", left));
  g_assert_cmpfloat (tablero_node_get_x (nodes[1]), ==, 300);
  g_assert_cmpfloat (tablero_node_get_x (nodes[3]), ==, 300);

  tablero_canvas_align_selection (f->canvas, TABLERO_CANVAS_ALIGN_BOTTOM);
  g_assert_cmpfloat (tablero_node_get_y (nodes[1]), ==, 340);
  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpfloat (tablero_node_get_y (nodes[1]), ==, 0);
  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpfloat (tablero_node_get_x (nodes[3]), ==, 640);
}

static void
test_find (Fixture       *f,
           gconstpointer  data)
{
  TableroNode *nodes[4];
  graphene_rect_t visible;

  populate (f, nodes);
  tablero_canvas_set_zoom (f->canvas, 2.0);
  tablero_canvas_center_on (f->canvas, 0, 0);
  g_assert_true (tablero_canvas_find (f->canvas, "delt", FALSE));
  g_assert_true (tablero_node_get_selected (nodes[3]));
  g_assert_cmpuint (n_selected (f), ==, 1);
  tablero_canvas_get_visible_area (f->canvas, &visible);
  g_assert_true (graphene_rect_contains_point (&visible, &GRAPHENE_POINT_INIT (640, 340)));
  g_assert_false (tablero_canvas_find (f->canvas, "nothing like it", FALSE));

  /* "a" is in every name: next goes round them in order. */
  g_assert_true (tablero_canvas_find (f->canvas, "A", FALSE));
  g_assert_true (tablero_node_get_selected (nodes[0]));
  g_assert_true (tablero_canvas_find (f->canvas, "A", TRUE));
  g_assert_true (tablero_node_get_selected (nodes[1]));
}

static void
test_rename (Fixture       *f,
             gconstpointer  data)
{
  TableroNode *nodes[4];
  GtkWidget *popover = NULL, *entry = NULL;

  populate (f, nodes);
  tablero_canvas_select_node (f->canvas, nodes[2], FALSE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->canvas), "canvas.rename", NULL));

  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (f->canvas)); c; c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_POPOVER (c) && !GTK_IS_POPOVER_MENU (c))
      popover = c;
  g_assert_nonnull (popover);
  g_assert_true (gtk_widget_get_visible (popover));
  for (GtkWidget *w = popover; w != NULL && entry == NULL; )
    {
      if (GTK_IS_ENTRY (w))
        entry = w;
      else if (gtk_widget_get_first_child (w))
        w = gtk_widget_get_first_child (w);
      else
        {
          while (w != popover && gtk_widget_get_next_sibling (w) == NULL)
            w = gtk_widget_get_parent (w);
          w = w == popover ? NULL : gtk_widget_get_next_sibling (w);
        }
    }
  g_assert_nonnull (entry);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "Gamma");
  gui_test_save_screenshot (f->window, "canvas-rename.png");

  gtk_editable_set_text (GTK_EDITABLE (entry), "  Gamma prime ");
  g_signal_emit_by_name (entry, "activate");
  g_assert_cmpstr (tablero_node_get_name (nodes[2]), ==, "Gamma prime");
  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpstr (tablero_node_get_name (nodes[2]), ==, "Gamma");
}

static void
test_keyboard_actions (Fixture       *f,
                       gconstpointer  data)
{
  TableroNode *nodes[4];

  populate (f, nodes);
  /* Tab cycles through the nodes in stack order. */
  tablero_canvas_select_next (f->canvas, FALSE);
  g_assert_true (tablero_node_get_selected (nodes[0]));
  tablero_canvas_select_next (f->canvas, FALSE);
  g_assert_true (tablero_node_get_selected (nodes[1]));
  tablero_canvas_select_next (f->canvas, TRUE);
  g_assert_true (tablero_node_get_selected (nodes[0]));
  tablero_canvas_select_next (f->canvas, TRUE);
  g_assert_true (tablero_node_get_selected (nodes[3]));
  g_assert_cmpuint (n_selected (f), ==, 1);

  tablero_canvas_move_selection (f->canvas, 20, -40);
  g_assert_cmpfloat (tablero_node_get_x (nodes[3]), ==, 660);
  g_assert_cmpfloat (tablero_node_get_y (nodes[3]), ==, 300);
  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpfloat (tablero_node_get_x (nodes[3]), ==, 640);

  /* Zoom actions */
  tablero_canvas_set_zoom (f->canvas, 1.0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->canvas), "canvas.zoom-in", NULL));
  g_assert_cmpfloat (tablero_canvas_get_zoom (f->canvas), >, 1.0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->canvas), "canvas.zoom-reset", NULL));
  g_assert_cmpfloat (tablero_canvas_get_zoom (f->canvas), ==, 1.0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->canvas), "canvas.zoom-out", NULL));
  g_assert_cmpfloat (tablero_canvas_get_zoom (f->canvas), <, 1.0);
}

static void
test_minimap (Fixture       *f,
              gconstpointer  data)
{
  TableroNode *nodes[4];
  GtkGesture *drag;
  double cx, cy;
  graphene_rect_t visible;

  populate (f, nodes);
  tablero_canvas_set_zoom (f->canvas, 1.5);
  tablero_canvas_center_on (f->canvas, 0, 0);
  gtk_test_widget_wait_for_draw (f->window);
  g_assert_true (gtk_widget_get_child_visible (f->minimap));

  /* Click the spot of Delta on the map: the canvas centres there. */
  drag = find_drag_gesture (f->minimap, GDK_BUTTON_PRIMARY);
  g_assert_nonnull (drag);
  {
    double mx = 0, my = 0;
    int w = gtk_widget_get_width (f->minimap), h = gtk_widget_get_height (f->minimap);

    /* Search the map for the point that maps to Delta's centre. */
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        {
          double px, py;
          tablero_minimap_to_canvas (TABLERO_MINIMAP (f->minimap), x, y, &px, &py);
          if (fabs (px - 640) < 30 && fabs (py - 340) < 30)
            {
              mx = x;
              my = y;
            }
        }
    g_assert_cmpfloat (mx, >, 0);
    click_by_signals (drag, mx, my);
  }
  tablero_canvas_get_visible_area (f->canvas, &visible);
  cx = visible.origin.x + visible.size.width / 2;
  cy = visible.origin.y + visible.size.height / 2;
  g_assert_cmpfloat (fabs (cx - 640), <, 40);
  g_assert_cmpfloat (fabs (cy - 340), <, 40);

  /* When the whole stack is in view the map has nothing to add and would
   * only cover cards: it steps aside. */
  tablero_canvas_zoom_to_fit (f->canvas);
  gtk_test_widget_wait_for_draw (f->window);
  g_assert_false (gtk_widget_get_child_visible (f->minimap));
  tablero_canvas_set_zoom (f->canvas, 1.5);
  gtk_test_widget_wait_for_draw (f->window);
  g_assert_true (gtk_widget_get_child_visible (f->minimap));
}

/* Live status is drawn: a critical node's border is the error colour. */
static void
test_screenshot (Fixture       *f,
                 gconstpointer  data)
{
  TableroNode *nodes[4];
  TableroEdge *edge;
  g_autoptr (GdkTexture) shot = NULL;
  double x, y;
  guint32 border;

  populate (f, nodes);
  tablero_node_set_state (nodes[0], TABLERO_NODE_STATE_UP);
  tablero_node_set_metrics (nodes[0], 0.12, 0.40, 0.03, 0.05, 0.42);
  tablero_node_set_state (nodes[1], TABLERO_NODE_STATE_RECONNECTING);
  tablero_node_set_metrics (nodes[1], 0.81, 0.66, 0.20, 0.35, 0.78);
  tablero_node_set_level (nodes[1], TABLERO_LEVEL_BUSY);
  tablero_node_set_state (nodes[2], TABLERO_NODE_STATE_DOWN);
  tablero_node_set_metrics (nodes[2], 0.99, 0.95, 0.90, 0.97, 0.98);
  tablero_node_set_level (nodes[2], TABLERO_LEVEL_CRITICAL);
  tablero_node_set_state (nodes[3], TABLERO_NODE_STATE_CONNECTING);
  edge = add_edge (f->stack, nodes[0], nodes[1], "*", "...");
  tablero_edge_set_rate (edge, 12.0);
  edge = add_edge (f->stack, nodes[1], nodes[0], "POST", "pajaro/posts");
  tablero_edge_set_rate (edge, 0.5);
  edge = add_edge (f->stack, nodes[0], nodes[2], "GET", "monje/...");
  add_edge (f->stack, nodes[2], nodes[3], "*", "...");
  tablero_canvas_select_node (f->canvas, nodes[0], FALSE);
  tablero_canvas_set_zoom (f->canvas, 1.0);
  tablero_canvas_center_on (f->canvas, 300, 170);
  gtk_test_widget_wait_for_draw (f->window);
  gui_test_save_screenshot (f->window, "canvas.png");

  /* Zoomed out: the simple cards. */
  tablero_canvas_set_zoom (f->canvas, 0.4);
  gtk_test_widget_wait_for_draw (f->window);
  gui_test_save_screenshot (f->window, "canvas-zoom-40.png");
  tablero_canvas_set_zoom (f->canvas, 0.2);
  gtk_test_widget_wait_for_draw (f->window);
  gui_test_save_screenshot (f->window, "canvas-zoom-20.png");

  tablero_canvas_set_zoom (f->canvas, 1.0);
  tablero_canvas_center_on (f->canvas, 300, 170);
  gtk_test_widget_wait_for_draw (f->window);
  shot = gui_test_render_widget (GTK_WIDGET (f->canvas));
  /* Gamma's left border, halfway down: the error colour (#c01c28 or close). */
  tablero_canvas_canvas_to_widget (f->canvas, -TABLERO_CANVAS_NODE_WIDTH / 2 + 0.5, 220, &x, &y);
  border = pixel_at (shot, (int) x, (int) y);
  g_test_message ("border pixel %06x", border);
  g_assert_true (color_near (border, 0xc01c28, 40) || color_near (border, 0xe01b24, 40));
}

#if HAVE_XTEST
/* ---- real input through the X server --------------------------------------- */

static Display *
xdisplay (void)
{
  return gdk_x11_display_get_xdisplay (gdk_display_get_default ());
}

static gboolean
skip_unless_xtest (void)
{
  int ev, err, maj, min;

  if (!GDK_IS_X11_DISPLAY (gdk_display_get_default ()))
    {
      g_test_skip ("not an X11 display");
      return TRUE;
    }
  if (!XTestQueryExtension (xdisplay (), &ev, &err, &maj, &min))
    {
      g_test_skip ("X server lacks XTEST");
      return TRUE;
    }
  return FALSE;
}

static void
to_root (GtkWidget *widget,
         double     x,
         double     y,
         int       *rx,
         int       *ry)
{
  GtkNative *native = gtk_widget_get_native (widget);
  graphene_point_t p;
  double sx, sy;
  Window child;

  g_assert_true (gtk_widget_compute_point (widget, GTK_WIDGET (native),
                                           &GRAPHENE_POINT_INIT (x, y), &p));
  gtk_native_get_surface_transform (native, &sx, &sy);
  XTranslateCoordinates (xdisplay (), gdk_x11_surface_get_xid (gtk_native_get_surface (native)),
                         DefaultRootWindow (xdisplay ()),
                         (int) (p.x + sx), (int) (p.y + sy), rx, ry, &child);
}

static void
xtest_motion (int x,
              int y)
{
  XTestFakeMotionEvent (xdisplay (), -1, x, y, CurrentTime);
  XSync (xdisplay (), False);
  test_spin (15);
}

static void
xtest_button (guint    button,
              gboolean press)
{
  XTestFakeButtonEvent (xdisplay (), button, press, CurrentTime);
  XSync (xdisplay (), False);
  test_spin (15);
}

static void
xtest_key (KeySym   keysym,
           gboolean press)
{
  XTestFakeKeyEvent (xdisplay (), XKeysymToKeycode (xdisplay (), keysym), press, CurrentTime);
  XSync (xdisplay (), False);
  test_spin (15);
}

static void
xtest_tap (KeySym keysym)
{
  xtest_key (keysym, TRUE);
  xtest_key (keysym, FALSE);
}

static void
xtest_drag (GtkWidget *widget,
            guint      button,
            double     x,
            double     y,
            double     dx,
            double     dy)
{
  int rx, ry, ex, ey;

  to_root (widget, x, y, &rx, &ry);
  to_root (widget, x + dx, y + dy, &ex, &ey);
  xtest_motion (rx, ry);
  xtest_button (button, TRUE);
  for (int step = 1; step <= 8; step++)
    xtest_motion (rx + (ex - rx) * step / 8, ry + (ey - ry) * step / 8);
  xtest_button (button, FALSE);
}

typedef struct
{
  TableroNode *node;
  double       x, y;
} NodeAt;

static gboolean
node_is_at (gpointer data)
{
  NodeAt *at = data;
  return fabs (tablero_node_get_x (at->node) - at->x) < 1.5 &&
         fabs (tablero_node_get_y (at->node) - at->y) < 1.5;
}

static gboolean
has_focus (gpointer data)
{
  return gtk_widget_has_focus (data);
}

static void
focus_canvas (Fixture *f)
{
  int rx, ry;

  /* Pointer in the window so it gets the keyboard without a window manager. */
  to_root (GTK_WIDGET (f->canvas), 5, 5, &rx, &ry);
  xtest_motion (rx, ry);
  gtk_widget_grab_focus (GTK_WIDGET (f->canvas));
  g_assert_true (test_wait_until (has_focus, f->canvas, 2000));
}

static void
test_xtest_drag_and_undo (Fixture       *f,
                          gconstpointer  data)
{
  TableroNode *nodes[4];
  double x, y, zoom;
  NodeAt want;

  if (skip_unless_xtest ())
    return;

  tablero_canvas_set_snap_to_grid (f->canvas, FALSE);
  populate (f, nodes);
  zoom = tablero_canvas_get_zoom (f->canvas);
  node_center_in_widget (f, nodes[2], &x, &y);

  xtest_drag (GTK_WIDGET (f->canvas), 1, x, y, 100, 60);
  want = (NodeAt) { nodes[2], 100 / zoom, 220 + 60 / zoom };
  g_assert_true (test_wait_until (node_is_at, &want, 2000));
  g_assert_true (tablero_node_get_selected (nodes[2]));

  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpfloat (tablero_node_get_x (nodes[2]), ==, 0);
  g_assert_cmpfloat (tablero_node_get_y (nodes[2]), ==, 220);
}

static gboolean
two_selected (gpointer data)
{
  return n_selected (data) == 2;
}

static void
test_xtest_ctrl_click_and_keys (Fixture       *f,
                                gconstpointer  data)
{
  TableroNode *nodes[4];
  double x, y;
  int rx, ry;

  if (skip_unless_xtest ())
    return;

  populate (f, nodes);
  focus_canvas (f);

  /* Click Alpha, Ctrl-click Delta: both selected. */
  node_center_in_widget (f, nodes[0], &x, &y);
  to_root (GTK_WIDGET (f->canvas), x, y, &rx, &ry);
  xtest_motion (rx, ry);
  xtest_button (1, TRUE);
  xtest_button (1, FALSE);
  test_spin (450);  /* not a double click */
  node_center_in_widget (f, nodes[3], &x, &y);
  to_root (GTK_WIDGET (f->canvas), x, y, &rx, &ry);
  xtest_motion (rx, ry);
  xtest_key (XK_Control_L, TRUE);
  xtest_button (1, TRUE);
  xtest_button (1, FALSE);
  xtest_key (XK_Control_L, FALSE);
  g_assert_true (test_wait_until (two_selected, f, 2000));
  g_assert_true (tablero_node_get_selected (nodes[0]));
  g_assert_true (tablero_node_get_selected (nodes[3]));

  /* Right arrow moves both by a grid step, as one undo step. */
  xtest_tap (XK_Right);
  test_spin (50);
  g_assert_cmpfloat (tablero_node_get_x (nodes[0]), ==, TABLERO_CANVAS_GRID_SIZE);
  g_assert_cmpfloat (tablero_node_get_x (nodes[3]), ==, 640 + TABLERO_CANVAS_GRID_SIZE);

  /* Ctrl+A, then Delete, then Ctrl+Z through the stack. */
  xtest_key (XK_Control_L, TRUE);
  xtest_tap (XK_a);
  xtest_key (XK_Control_L, FALSE);
  test_spin (50);
  g_assert_cmpuint (n_selected (f), ==, 4);
  xtest_tap (XK_Delete);
  test_spin (50);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_get_nodes (f->stack)), ==, 0);
  g_assert_true (tablero_stack_undo (f->stack));
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_get_nodes (f->stack)), ==, 4);

  /* Tab selects the first node. */
  tablero_canvas_unselect_all (f->canvas);
  xtest_tap (XK_Tab);
  test_spin (50);
  g_assert_cmpuint (n_selected (f), ==, 1);
  g_assert_true (tablero_node_get_selected (nodes[0]));
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (f->canvas)));

  /* Ctrl+minus zooms out. */
  {
    double zoom = tablero_canvas_get_zoom (f->canvas);
    xtest_key (XK_Control_L, TRUE);
    xtest_tap (XK_minus);
    xtest_key (XK_Control_L, FALSE);
    test_spin (50);
    g_assert_cmpfloat (tablero_canvas_get_zoom (f->canvas), <, zoom);
  }
}

static void
test_xtest_shift_drag_connects (Fixture       *f,
                                gconstpointer  data)
{
  TableroNode *nodes[4];
  TableroNode *result[2] = { NULL, NULL };
  double x, y, tx, ty;

  if (skip_unless_xtest ())
    return;

  populate (f, nodes);
  focus_canvas (f);
  g_signal_connect (f->canvas, "edge-requested", G_CALLBACK (on_edge_requested), result);

  node_center_in_widget (f, nodes[2], &x, &y);
  node_center_in_widget (f, nodes[3], &tx, &ty);
  xtest_key (XK_Shift_L, TRUE);
  xtest_drag (GTK_WIDGET (f->canvas), 1, x, y, tx - x, ty - y);
  xtest_key (XK_Shift_L, FALSE);
  test_spin (30);
  g_assert_true (result[0] == nodes[2]);
  g_assert_true (result[1] == nodes[3]);
  /* Nothing moved. */
  g_assert_cmpfloat (tablero_node_get_x (nodes[2]), ==, 0);
  g_assert_cmpfloat (tablero_node_get_y (nodes[2]), ==, 220);
}

static void
test_xtest_rubber_band_and_pan (Fixture       *f,
                                gconstpointer  data)
{
  TableroNode *nodes[4];
  double x0, y0, x1, y1;
  graphene_rect_t before, after;

  if (skip_unless_xtest ())
    return;

  populate (f, nodes);
  focus_canvas (f);

  tablero_canvas_canvas_to_widget (f->canvas, -TABLERO_CANVAS_NODE_WIDTH, 120, &x0, &y0);
  tablero_canvas_canvas_to_widget (f->canvas, 10, 400, &x1, &y1);
  xtest_drag (GTK_WIDGET (f->canvas), 1, x0, y0, x1 - x0, y1 - y0);
  test_spin (30);
  g_assert_true (tablero_node_get_selected (nodes[2]));
  g_assert_cmpuint (n_selected (f), ==, 1);

  /* Middle-drag pans by the distance dragged. */
  tablero_canvas_get_visible_area (f->canvas, &before);
  xtest_drag (GTK_WIDGET (f->canvas), 2, 300, 300, -80, -40);
  test_spin (30);
  tablero_canvas_get_visible_area (f->canvas, &after);
  g_assert_cmpfloat (fabs ((after.origin.x - before.origin.x) * tablero_canvas_get_zoom (f->canvas) - 80), <, 2);
  g_assert_cmpfloat (fabs ((after.origin.y - before.origin.y) * tablero_canvas_get_zoom (f->canvas) - 40), <, 2);

  /* Space + drag on empty space pans too, and selects nothing. */
  tablero_canvas_get_visible_area (f->canvas, &before);
  xtest_key (XK_space, TRUE);
  xtest_drag (GTK_WIDGET (f->canvas), 1, 20, 20, 50, 50);
  xtest_key (XK_space, FALSE);
  test_spin (30);
  tablero_canvas_get_visible_area (f->canvas, &after);
  g_assert_cmpfloat (fabs ((before.origin.x - after.origin.x) * tablero_canvas_get_zoom (f->canvas) - 50), <, 2);
}
#endif

int
main (int   argc,
      char *argv[])
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL &&
      g_strcmp0 (g_getenv ("GDK_BACKEND"), "broadway") != 0)
    {
      g_print ("1..0 # SKIP no display: run under xvfb-run -a\n");
      return 0;
    }

  g_mkdir_with_parents (g_get_user_cache_dir (), 0700);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/canvas/create-destroy", test_create_destroy);
#define ADD(path, func) \
  g_test_add ("/canvas/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("accessible", test_accessible);
  ADD ("add-and-hit", test_add_and_hit);
  ADD ("zoom-to-fit", test_zoom_to_fit);
  ADD ("select-and-drag", test_select_and_drag);
  ADD ("snap-to-grid", test_snap_to_grid);
  ADD ("rubber-band", test_rubber_band);
  ADD ("delete-and-undo", test_delete_and_undo);
  ADD ("edge-request", test_edge_request);
  ADD ("node-requests", test_node_requests);
  ADD ("align", test_align);
  ADD ("find", test_find);
  ADD ("rename", test_rename);
  ADD ("keyboard-actions", test_keyboard_actions);
  ADD ("minimap", test_minimap);
  ADD ("screenshot", test_screenshot);
#if HAVE_XTEST
  ADD ("xtest/drag-and-undo", test_xtest_drag_and_undo);
  ADD ("xtest/ctrl-click-and-keys", test_xtest_ctrl_click_and_keys);
  ADD ("xtest/rubber-band-and-pan", test_xtest_rubber_band_and_pan);
  ADD ("xtest/shift-drag-connects", test_xtest_shift_drag_connects);
#endif
#undef ADD

  return g_test_run ();
}
