/* SPDX-License-Identifier: MIT */
/* test-stack.c: TableroNode, TableroEdge and TableroStack: edits, undo/redo,
 * grouping, free positions, and the JSON file format, including hostile
 * input. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "tablero-stack.h"

/* Helpers */

static TableroNode *
add_node (TableroStack *stack,
          const char   *name,
          double        x,
          double        y)
{
  g_autofree char *id = tablero_stack_new_id (stack);
  g_autoptr(TableroNode) node = tablero_node_new (id, TABLERO_NODE_KIND_ENGINE, name);

  tablero_node_set_position (node, x, y);
  tablero_stack_add_node (stack, node);
  return node;  /* the stack holds it */
}

static TableroEdge *
add_edge (TableroStack *stack,
          TableroNode  *source,
          TableroNode  *target)
{
  static const char * const resource[] = { "pajaro", "posts", "*", NULL };
  g_autofree char *id = tablero_stack_new_id (stack);
  g_autoptr(TableroEdge) edge = tablero_edge_new (id, tablero_node_get_id (source),
                                                  tablero_node_get_id (target), "POST",
                                                  resource);

  tablero_stack_add_edge (stack, edge);
  return edge;
}

static guint
n_nodes (TableroStack *stack)
{
  return g_list_model_get_n_items (tablero_stack_get_nodes (stack));
}

static guint
n_edges (TableroStack *stack)
{
  return g_list_model_get_n_items (tablero_stack_get_edges (stack));
}

static TableroNode *
node_at (TableroStack *stack,
         guint         i)
{
  g_autoptr(TableroNode) node = g_list_model_get_item (tablero_stack_get_nodes (stack), i);
  return node;  /* the stack still holds it */
}

static TableroEdge *
edge_at (TableroStack *stack,
         guint         i)
{
  g_autoptr(TableroEdge) edge = g_list_model_get_item (tablero_stack_get_edges (stack), i);
  return edge;
}

/* Connected swapped: the counter comes first, the signal's own arguments
 * are ignored. */
static void
count_signal (guint *counter)
{
  (*counter)++;
}

/* Node, edge, enums */

static void
test_node_properties (void)
{
  g_autoptr(TableroNode) node = tablero_node_new ("a", TABLERO_NODE_KIND_MONJE, "Docs");
  guint notifies = 0;

  g_assert_cmpstr (tablero_node_get_id (node), ==, "a");
  g_assert_cmpstr (tablero_node_get_name (node), ==, "Docs");
  g_assert_cmpint (tablero_node_get_kind (node), ==, TABLERO_NODE_KIND_MONJE);
  g_assert_cmpstr (tablero_node_get_address (node), ==, "127.0.0.1");
  g_assert_cmpstr (tablero_node_get_transport (node), ==, "tcp");
  g_assert_cmpuint (tablero_node_get_port (node), ==, 0);
  g_assert_false (tablero_node_get_local (node));
  g_assert_cmpint (tablero_node_get_state (node), ==, TABLERO_NODE_STATE_IDLE);
  g_assert_cmpint (tablero_node_get_level (node), ==, TABLERO_LEVEL_OK);

  g_signal_connect_swapped (node, "notify::cpu", G_CALLBACK (count_signal), &notifies);
  tablero_node_set_cpu (node, 0.5);
  tablero_node_set_cpu (node, 0.5);   /* no change, no notify */
  g_assert_cmpuint (notifies, ==, 1);
  tablero_node_set_cpu (node, 7.0);   /* clamped */
  g_assert_cmpfloat (tablero_node_get_cpu (node), ==, 1.0);
  tablero_node_set_cpu (node, NAN);
  g_assert_cmpfloat (tablero_node_get_cpu (node), ==, 0.0);

  tablero_node_set_metrics (node, 0.1, 0.2, 0.3, 0.4, 0.5);
  g_assert_cmpfloat (tablero_node_get_memory (node), ==, 0.2);
  g_assert_cmpfloat (tablero_node_get_saturation (node), ==, 0.5);

  tablero_node_set_position (node, 10, 20);
  g_assert_cmpfloat (tablero_node_get_x (node), ==, 10);
  g_assert_cmpfloat (tablero_node_get_y (node), ==, 20);

  tablero_node_set_transport (node, "ws");
  g_assert_cmpstr (tablero_node_get_transport (node), ==, "ws");
  tablero_node_set_port (node, 8080);
  g_assert_cmpuint (tablero_node_get_port (node), ==, 8080);
}

static void
test_edge_properties (void)
{
  static const char * const resource[] = { "pajaro", "posts", NULL };
  g_autoptr(TableroEdge) edge = tablero_edge_new ("e", "a", "b", NULL, NULL);

  g_assert_cmpstr (tablero_edge_get_method (edge), ==, "*");
  g_assert_nonnull (tablero_edge_get_resource (edge));
  g_assert_null (tablero_edge_get_resource (edge)[0]);

  tablero_edge_set_resource (edge, resource);
  g_assert_true (g_strv_equal (tablero_edge_get_resource (edge), resource));
  tablero_edge_set_rate (edge, -3);
  g_assert_cmpfloat (tablero_edge_get_rate (edge), ==, 0);
  tablero_edge_set_rate (edge, 12.5);
  g_assert_cmpfloat (tablero_edge_get_rate (edge), ==, 12.5);
}

static void
test_enums (void)
{
  TableroNodeKind kind = TABLERO_NODE_KIND_ENGINE;

  g_assert_cmpstr (tablero_node_kind_to_string (TABLERO_NODE_KIND_PAJARO), ==, "pajaro");
  g_assert_true (tablero_node_kind_from_string ("monje", &kind));
  g_assert_cmpint (kind, ==, TABLERO_NODE_KIND_MONJE);
  g_assert_false (tablero_node_kind_from_string ("toaster", &kind));
  g_assert_cmpint (kind, ==, TABLERO_NODE_KIND_MONJE);
  g_assert_cmpstr (tablero_node_state_to_string (TABLERO_NODE_STATE_RECONNECTING), ==,
                   "reconnecting");
  g_assert_cmpstr (tablero_level_to_string (TABLERO_LEVEL_CRITICAL), ==, "critical");
  g_assert_true (G_TYPE_IS_ENUM (TABLERO_TYPE_NODE_STATE));
}

/* Edits and history */

static void
test_add_remove_undo (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  TableroNode *a, *b, *c;
  TableroEdge *ab, *bc, *ac;
  guint changed = 0;

  g_signal_connect_swapped (stack, "changed", G_CALLBACK (count_signal), &changed);
  g_assert_false (tablero_stack_get_can_undo (stack));
  g_assert_false (tablero_stack_get_modified (stack));

  a = add_node (stack, "A", 0, 0);
  b = add_node (stack, "B", 300, 0);
  c = add_node (stack, "C", 600, 0);
  ab = add_edge (stack, a, b);
  bc = add_edge (stack, b, c);
  ac = add_edge (stack, a, c);
  g_assert_cmpuint (changed, ==, 6);
  g_assert_true (tablero_stack_get_can_undo (stack));
  g_assert_true (tablero_stack_get_modified (stack));
  g_assert_cmpstr (tablero_stack_get_undo_label (stack), ==, "Add Connection");
  g_assert_true (tablero_stack_find_node (stack, tablero_node_get_id (b)) == b);
  g_assert_true (tablero_stack_find_edge (stack, tablero_edge_get_id (bc)) == bc);

  /* Removing B takes its two edges; undo restores them in place. */
  tablero_stack_remove_node (stack, b);
  g_assert_cmpuint (n_nodes (stack), ==, 2);
  g_assert_cmpuint (n_edges (stack), ==, 1);
  g_assert_true (edge_at (stack, 0) == ac);
  g_assert_null (tablero_stack_find_node (stack, tablero_node_get_id (b)));
  g_assert_null (tablero_stack_find_edge (stack, tablero_edge_get_id (ab)));

  g_assert_true (tablero_stack_undo (stack));
  g_assert_cmpuint (n_nodes (stack), ==, 3);
  g_assert_true (node_at (stack, 1) == b);
  g_assert_cmpuint (n_edges (stack), ==, 3);
  g_assert_true (edge_at (stack, 0) == ab);
  g_assert_true (edge_at (stack, 1) == bc);
  g_assert_true (edge_at (stack, 2) == ac);

  g_assert_true (tablero_stack_redo (stack));
  g_assert_cmpuint (n_nodes (stack), ==, 2);
  g_assert_cmpuint (n_edges (stack), ==, 1);
  g_assert_true (tablero_stack_undo (stack));

  /* Remove an edge alone. */
  tablero_stack_remove_edge (stack, bc);
  g_assert_cmpuint (n_edges (stack), ==, 2);
  g_assert_true (tablero_stack_undo (stack));
  g_assert_true (edge_at (stack, 1) == bc);

  /* Undo everything, then redo everything. */
  while (tablero_stack_undo (stack))
    ;
  g_assert_cmpuint (n_nodes (stack), ==, 0);
  g_assert_cmpuint (n_edges (stack), ==, 0);
  g_assert_false (tablero_stack_get_modified (stack));
  g_assert_false (tablero_stack_get_can_undo (stack));
  g_assert_true (tablero_stack_get_can_redo (stack));
  /* The last step in the redo branch is the removal of B to C. */
  while (tablero_stack_redo (stack))
    ;
  g_assert_cmpuint (n_nodes (stack), ==, 3);
  g_assert_cmpuint (n_edges (stack), ==, 2);
  g_assert_null (tablero_stack_find_edge (stack, tablero_edge_get_id (bc)));
}

static void
test_move_rename (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  TableroNode *a = add_node (stack, "A", 10, 20);

  tablero_stack_move_node (stack, a, 100, 200);
  tablero_stack_rename_node (stack, a, "Front");
  g_assert_cmpstr (tablero_stack_get_undo_label (stack), ==, "Rename Node");

  g_assert_true (tablero_stack_undo (stack));
  g_assert_cmpstr (tablero_node_get_name (a), ==, "A");
  g_assert_cmpstr (tablero_stack_get_redo_label (stack), ==, "Rename Node");
  g_assert_true (tablero_stack_undo (stack));
  g_assert_cmpfloat (tablero_node_get_x (a), ==, 10);
  g_assert_cmpfloat (tablero_node_get_y (a), ==, 20);
  g_assert_true (tablero_stack_redo (stack));
  g_assert_cmpfloat (tablero_node_get_x (a), ==, 100);
  g_assert_true (tablero_stack_redo (stack));
  g_assert_cmpstr (tablero_node_get_name (a), ==, "Front");
  g_assert_false (tablero_stack_redo (stack));
}

/* A canvas may move a node directly during a drag and record the move at
 * the end: undo must go back to where the drag started. */
static void
test_direct_drag_then_move (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  TableroNode *a = add_node (stack, "A", 0, 0);
  guint changed = 0;

  g_signal_connect_swapped (stack, "changed", G_CALLBACK (count_signal), &changed);
  tablero_stack_set_modified (stack, FALSE);

  for (int i = 1; i <= 10; i++)
    tablero_node_set_position (a, i * 5, i * 3);
  g_assert_cmpuint (changed, >=, 10);
  g_assert_true (tablero_stack_get_modified (stack));
  tablero_stack_move_node (stack, a, 50, 30);

  g_assert_true (tablero_stack_undo (stack));
  g_assert_cmpfloat (tablero_node_get_x (a), ==, 0);
  g_assert_cmpfloat (tablero_node_get_y (a), ==, 0);
}

static void
test_group (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  TableroNode *nodes[5];

  for (int i = 0; i < 5; i++)
    nodes[i] = add_node (stack, "N", i * 300, 0);
  tablero_stack_set_modified (stack, FALSE);

  /* A drag of five nodes, with many motion events and a nested group. */
  tablero_stack_begin_group (stack, "Move");
  g_assert_false (tablero_stack_get_can_undo (stack));
  for (int step = 1; step <= 20; step++)
    {
      tablero_stack_begin_group (stack, NULL);
      for (int i = 0; i < 5; i++)
        tablero_stack_move_node (stack, nodes[i], i * 300 + step, step * 2);
      tablero_stack_end_group (stack);
    }
  g_assert_true (tablero_stack_get_modified (stack));
  tablero_stack_end_group (stack);
  g_assert_true (tablero_stack_get_can_undo (stack));
  g_assert_cmpstr (tablero_stack_get_undo_label (stack), ==, "Move");

  g_assert_true (tablero_stack_undo (stack));
  for (int i = 0; i < 5; i++)
    {
      g_assert_cmpfloat (tablero_node_get_x (nodes[i]), ==, i * 300);
      g_assert_cmpfloat (tablero_node_get_y (nodes[i]), ==, 0);
    }
  g_assert_false (tablero_stack_get_modified (stack));

  g_assert_true (tablero_stack_redo (stack));
  for (int i = 0; i < 5; i++)
    {
      g_assert_cmpfloat (tablero_node_get_x (nodes[i]), ==, i * 300 + 20);
      g_assert_cmpfloat (tablero_node_get_y (nodes[i]), ==, 40);
    }

  /* The step before the group is still the fifth add. */
  g_assert_true (tablero_stack_undo (stack));
  g_assert_true (tablero_stack_undo (stack));
  g_assert_cmpuint (n_nodes (stack), ==, 4);

  /* An empty group makes no step. */
  tablero_stack_redo (stack);
  tablero_stack_redo (stack);
  tablero_stack_begin_group (stack, "Nothing");
  tablero_stack_end_group (stack);
  g_assert_cmpstr (tablero_stack_get_undo_label (stack), ==, "Move");

  /* A grouped delete of two connected nodes comes back whole. */
  add_edge (stack, nodes[0], nodes[1]);
  add_edge (stack, nodes[1], nodes[2]);
  tablero_stack_begin_group (stack, "Delete");
  tablero_stack_remove_node (stack, nodes[0]);
  tablero_stack_remove_node (stack, nodes[1]);
  tablero_stack_end_group (stack);
  g_assert_cmpuint (n_nodes (stack), ==, 3);
  g_assert_cmpuint (n_edges (stack), ==, 0);
  g_assert_true (tablero_stack_undo (stack));
  g_assert_cmpuint (n_nodes (stack), ==, 5);
  g_assert_cmpuint (n_edges (stack), ==, 2);
  g_assert_true (node_at (stack, 0) == nodes[0]);
  g_assert_true (node_at (stack, 1) == nodes[1]);
}

static void
test_redo_branch_dropped (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  TableroNode *a = add_node (stack, "A", 0, 0);

  tablero_stack_move_node (stack, a, 100, 0);
  tablero_stack_move_node (stack, a, 200, 0);
  g_assert_true (tablero_stack_undo (stack));
  g_assert_true (tablero_stack_get_can_redo (stack));

  tablero_stack_rename_node (stack, a, "New");
  g_assert_false (tablero_stack_get_can_redo (stack));
  g_assert_false (tablero_stack_redo (stack));

  g_assert_true (tablero_stack_undo (stack));
  g_assert_true (tablero_stack_undo (stack));
  g_assert_cmpfloat (tablero_node_get_x (a), ==, 0);
}

static void
test_history_bound (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  TableroNode *a = add_node (stack, "A", 0, 0);
  guint undone = 0;

  for (int i = 1; i <= TABLERO_STACK_MAX_HISTORY + 50; i++)
    tablero_stack_move_node (stack, a, i, 0);

  while (tablero_stack_undo (stack))
    undone++;
  g_assert_cmpuint (undone, ==, TABLERO_STACK_MAX_HISTORY);
  g_assert_cmpfloat (tablero_node_get_x (a), ==, 50);
  /* The save point (the empty stack) fell off the history. */
  g_assert_true (tablero_stack_get_modified (stack));
}

static void
test_modified (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  TableroNode *a = add_node (stack, "A", 0, 0);
  guint notifies = 0;

  g_signal_connect_swapped (stack, "notify::modified", G_CALLBACK (count_signal), &notifies);
  tablero_stack_set_modified (stack, FALSE);
  g_assert_false (tablero_stack_get_modified (stack));
  g_assert_cmpuint (notifies, ==, 1);

  tablero_stack_move_node (stack, a, 5, 5);
  g_assert_true (tablero_stack_get_modified (stack));
  tablero_stack_undo (stack);
  g_assert_false (tablero_stack_get_modified (stack));
  tablero_stack_redo (stack);
  g_assert_true (tablero_stack_get_modified (stack));

  /* A saved property set directly also counts, and live ones don't. */
  tablero_stack_set_modified (stack, FALSE);
  tablero_node_set_cpu (a, 0.9);
  tablero_node_set_state (a, TABLERO_NODE_STATE_UP);
  tablero_node_set_selected (a, TRUE);
  g_assert_false (tablero_stack_get_modified (stack));
  tablero_node_set_port (a, 9000);
  g_assert_true (tablero_stack_get_modified (stack));
}

static void
test_new_id (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(TableroNode) taken = tablero_node_new ("n1", TABLERO_NODE_KIND_ENGINE, "Taken");
  TableroNode *b;

  tablero_stack_add_node (stack, taken);
  b = add_node (stack, "B", 300, 0);
  g_assert_cmpstr (tablero_node_get_id (b), !=, "n1");

  /* An id freed by an undone add is not handed out while redo can bring it
   * back. */
  tablero_stack_undo (stack);
  for (int i = 0; i < 100; i++)
    {
      char *id = tablero_stack_new_id (stack);

      g_assert_cmpstr (id, !=, tablero_node_get_id (b));
      g_assert_false (g_hash_table_contains (seen, id));
      g_hash_table_add (seen, id);
    }
}

/* Free position */

static gboolean
overlaps_any (TableroStack *stack,
              double        x,
              double        y)
{
  for (guint i = 0; i < n_nodes (stack); i++)
    {
      TableroNode *n = node_at (stack, i);

      if (fabs (tablero_node_get_x (n) - x) < TABLERO_NODE_WIDTH + TABLERO_NODE_GAP &&
          fabs (tablero_node_get_y (n) - y) < TABLERO_NODE_HEIGHT + TABLERO_NODE_GAP)
        return TRUE;
    }
  return FALSE;
}

static void
test_free_position (void)
{
  g_autoptr(TableroStack) stack = tablero_stack_new ("Test");
  double x = 40, y = 30;

  /* Empty stack: the wanted spot. */
  tablero_stack_free_position (stack, &x, &y);
  g_assert_cmpfloat (x, ==, 40);
  g_assert_cmpfloat (y, ==, 30);

  /* Fifty nodes all placed at the same wanted spot overlap nothing. */
  for (int i = 0; i < 50; i++)
    {
      x = 0;
      y = 0;
      tablero_stack_free_position (stack, &x, &y);
      g_assert_false (overlaps_any (stack, x, y));
      add_node (stack, "N", x, y);
    }

  /* Nearest: a node at the origin pushes a new one just out of the way,
   * vertically (nodes are wider than tall). */
  {
    g_autoptr(TableroStack) small = tablero_stack_new ("Small");
    add_node (small, "A", 0, 0);
    x = 0;
    y = 0;
    tablero_stack_free_position (small, &x, &y);
    g_assert_cmpfloat (x, ==, 0);
    g_assert_cmpfloat (fabs (y), >=, TABLERO_NODE_HEIGHT + TABLERO_NODE_GAP);
    g_assert_cmpfloat (fabs (y), <, TABLERO_NODE_HEIGHT + 2 * TABLERO_NODE_GAP);
  }

  /* A non-finite request does not hang or crash. */
  x = NAN;
  y = INFINITY;
  tablero_stack_free_position (stack, &x, &y);
  g_assert_true (isfinite (x) && isfinite (y));
  g_assert_false (overlaps_any (stack, x, y));
}

/* JSON */

static TableroStack *
make_sample_stack (void)
{
  static const char * const resource[] = { "pajaro", "posts", "*", NULL };
  TableroStack *stack = tablero_stack_new ("Sample “stack” ñ");
  g_autoptr(TableroNode) a = tablero_node_new ("front", TABLERO_NODE_KIND_ENGINE, "Front");
  g_autoptr(TableroNode) b = tablero_node_new ("docs", TABLERO_NODE_KIND_MONJE, "Docs \"db\"\n");
  g_autoptr(TableroNode) c = tablero_node_new ("feed", TABLERO_NODE_KIND_PAJARO, "");
  g_autoptr(TableroEdge) e1 = tablero_edge_new ("e1", "front", "docs", "POST", resource);
  g_autoptr(TableroEdge) e2 = tablero_edge_new ("e2", "docs", "feed", NULL, NULL);

  tablero_node_set_position (a, 0.1, -250.75);
  tablero_node_set_position (b, 1e6, 3);
  tablero_node_set_position (c, -0.0001, 1.0 / 3.0);
  tablero_node_set_port (a, 8443);
  tablero_node_set_transport (a, "ws");
  tablero_node_set_local (a, TRUE);
  tablero_node_set_address (b, "10.0.0.7");
  tablero_stack_add_node (stack, a);
  tablero_stack_add_node (stack, b);
  tablero_stack_add_node (stack, c);
  tablero_stack_add_edge (stack, e1);
  tablero_stack_add_edge (stack, e2);
  return stack;
}

static void
assert_stacks_equal (TableroStack *s1,
                     TableroStack *s2)
{
  g_assert_cmpstr (tablero_stack_get_name (s1), ==, tablero_stack_get_name (s2));
  g_assert_cmpuint (n_nodes (s1), ==, n_nodes (s2));
  g_assert_cmpuint (n_edges (s1), ==, n_edges (s2));

  for (guint i = 0; i < n_nodes (s1); i++)
    {
      TableroNode *a = node_at (s1, i), *b = node_at (s2, i);

      g_assert_cmpstr (tablero_node_get_id (a), ==, tablero_node_get_id (b));
      g_assert_cmpstr (tablero_node_get_name (a), ==, tablero_node_get_name (b));
      g_assert_cmpint (tablero_node_get_kind (a), ==, tablero_node_get_kind (b));
      g_assert_cmpfloat (tablero_node_get_x (a), ==, tablero_node_get_x (b));
      g_assert_cmpfloat (tablero_node_get_y (a), ==, tablero_node_get_y (b));
      g_assert_cmpstr (tablero_node_get_address (a), ==, tablero_node_get_address (b));
      g_assert_cmpuint (tablero_node_get_port (a), ==, tablero_node_get_port (b));
      g_assert_cmpstr (tablero_node_get_transport (a), ==, tablero_node_get_transport (b));
      g_assert_cmpint (tablero_node_get_local (a), ==, tablero_node_get_local (b));
    }
  for (guint i = 0; i < n_edges (s1); i++)
    {
      TableroEdge *a = edge_at (s1, i), *b = edge_at (s2, i);

      g_assert_cmpstr (tablero_edge_get_id (a), ==, tablero_edge_get_id (b));
      g_assert_cmpstr (tablero_edge_get_source_id (a), ==, tablero_edge_get_source_id (b));
      g_assert_cmpstr (tablero_edge_get_target_id (a), ==, tablero_edge_get_target_id (b));
      g_assert_cmpstr (tablero_edge_get_method (a), ==, tablero_edge_get_method (b));
      g_assert_true (g_strv_equal (tablero_edge_get_resource (a), tablero_edge_get_resource (b)));
    }
}

static void
test_json_round_trip (void)
{
  g_autoptr(TableroStack) stack = make_sample_stack ();
  g_autoptr(TableroStack) copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *json = tablero_stack_to_json (stack);
  g_autofree char *json2 = NULL;
  JsonObject *root;

  /* The documented shape. */
  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==, "tablero-stack");
  g_assert_cmpint (json_object_get_int_member (root, "version"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "nodes")), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "edges")), ==, 2);

  copy = tablero_stack_new_from_json (json, &error);
  g_assert_no_error (error);
  assert_stacks_equal (stack, copy);
  g_assert_false (tablero_stack_get_modified (copy));
  g_assert_false (tablero_stack_get_can_undo (copy));

  /* Stable: exporting the import gives the same text. */
  json2 = tablero_stack_to_json (copy);
  g_assert_cmpstr (json, ==, json2);

  /* An imported stack is editable with ids that don't clash. */
  add_node (copy, "New", 0, 0);
  g_assert_cmpuint (n_nodes (copy), ==, 4);
}

static void
test_json_minimal (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStack) stack =
    tablero_stack_new_from_json ("{\"format\":\"tablero-stack\",\"version\":1,\"name\":\"M\","
                                 "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\","
                                 "\"x\":1,\"y\":2},{\"id\":\"b\",\"name\":\"B\","
                                 "\"kind\":\"pajaro\",\"x\":-1.5,\"y\":2e2}],"
                                 "\"edges\":[{\"id\":\"e\",\"source\":\"a\",\"target\":\"b\"}]}",
                                 &error);
  TableroNode *a;

  g_assert_no_error (error);
  g_assert_cmpuint (n_nodes (stack), ==, 2);
  a = tablero_stack_find_node (stack, "a");
  g_assert_cmpfloat (tablero_node_get_x (a), ==, 1);
  g_assert_cmpstr (tablero_node_get_transport (a), ==, "tcp");
  g_assert_cmpfloat (tablero_node_get_y (tablero_stack_find_node (stack, "b")), ==, 200);
  g_assert_cmpstr (tablero_edge_get_method (tablero_stack_find_edge (stack, "e")), ==, "*");
}

typedef struct {
  const char *json;
  TableroStackError code;
  const char *message_part;  /* must appear in the error message */
} BadCase;

#define HEAD "{\"format\":\"tablero-stack\",\"version\":1,\"name\":\"S\","
#define NODE_A "{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0}"
#define NODE_B "{\"id\":\"b\",\"name\":\"B\",\"kind\":\"monje\",\"x\":300,\"y\":0}"

static const BadCase bad_cases[] = {
  { "", TABLERO_STACK_ERROR_PARSE, "empty" },
  { " \n\t ", TABLERO_STACK_ERROR_PARSE, "empty" },
  { "not json", TABLERO_STACK_ERROR_PARSE, "JSON" },
  { "{\"format\":\"tablero-stack\"", TABLERO_STACK_ERROR_PARSE, "JSON" },
  { "[]", TABLERO_STACK_ERROR_FORMAT, "not a JSON object" },
  { "42", TABLERO_STACK_ERROR_FORMAT, "not a JSON object" },
  { "null", TABLERO_STACK_ERROR_FORMAT, "not a JSON object" },
  { "{}", TABLERO_STACK_ERROR_FORMAT, "format" },
  { "{\"format\":7}", TABLERO_STACK_ERROR_FORMAT, "format" },
  { "{\"format\":\"excalidraw\",\"version\":1}", TABLERO_STACK_ERROR_FORMAT, "excalidraw" },
  { "{\"format\":\"tablero-stack\"}", TABLERO_STACK_ERROR_INVALID, "version" },
  { "{\"format\":\"tablero-stack\",\"version\":\"1\"}", TABLERO_STACK_ERROR_INVALID, "version" },
  { "{\"format\":\"tablero-stack\",\"version\":0}", TABLERO_STACK_ERROR_INVALID, "version" },
  { "{\"format\":\"tablero-stack\",\"version\":1.0}", TABLERO_STACK_ERROR_INVALID, "version" },
  { "{\"format\":\"tablero-stack\",\"version\":2,\"name\":\"S\",\"nodes\":[],\"edges\":[]}",
    TABLERO_STACK_ERROR_VERSION, "version 2" },
  { "{\"format\":\"tablero-stack\",\"version\":1,\"nodes\":[],\"edges\":[]}",
    TABLERO_STACK_ERROR_INVALID, "name: missing" },
  { HEAD "\"nodes\":[],\"edges\":[],\"extra\":1}", TABLERO_STACK_ERROR_INVALID, "extra: unknown" },
  { "{\"format\":\"tablero-stack\",\"version\":1,\"name\":\"\",\"nodes\":[],\"edges\":[]}",
    TABLERO_STACK_ERROR_INVALID, "name: must not be empty" },
  { "{\"format\":\"tablero-stack\",\"version\":1,\"name\":[],\"nodes\":[],\"edges\":[]}",
    TABLERO_STACK_ERROR_INVALID, "name: expected a string" },
  { HEAD "\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes: missing" },
  { HEAD "\"nodes\":{},\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes: expected an array" },
  { HEAD "\"nodes\":null,\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes: expected an array" },
  { HEAD "\"nodes\":[]}", TABLERO_STACK_ERROR_INVALID, "edges: missing" },
  { HEAD "\"nodes\":[1],\"edges\":[]}", TABLERO_STACK_ERROR_INVALID,
    "nodes[0]: expected an object" },
  { HEAD "\"nodes\":[{\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0}],\"edges\":[]}",
    TABLERO_STACK_ERROR_INVALID, "nodes[0].id: missing" },
  { HEAD "\"nodes\":[{\"id\":5,\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0}],\"edges\":[]}",
    TABLERO_STACK_ERROR_INVALID, "nodes[0].id: expected a string" },
  { HEAD "\"nodes\":[{\"id\":\"\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0}],"
    "\"edges\":[]}",
    TABLERO_STACK_ERROR_INVALID, "nodes[0].id: must not be empty" },
  { HEAD "\"nodes\":[" NODE_A "," NODE_A "],\"edges\":[]}",
    TABLERO_STACK_ERROR_INVALID, "nodes[1].id: the id “a” is used twice" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"toaster\",\"x\":0,\"y\":0}],"
    "\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes[0].kind: unknown kind “toaster”" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":\"0\",\"y\":0}],"
    "\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes[0].x: expected a number" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":1e300,\"y\":0}],"
    "\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes[0].x: expected a number between" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0}],\"edges\":[]}",
    TABLERO_STACK_ERROR_INVALID, "nodes[0].y: missing" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0,"
    "\"port\":70000}],\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes[0].port" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0,"
    "\"port\":-1}],\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes[0].port" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0,"
    "\"port\":80.5}],\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes[0].port" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0,"
    "\"transport\":\"udp\"}],\"edges\":[]}", TABLERO_STACK_ERROR_INVALID,
    "unknown transport “udp”" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0,"
    "\"local\":\"yes\"}],\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes[0].local" },
  { HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"A\",\"kind\":\"engine\",\"x\":0,\"y\":0,"
    "\"colour\":\"red\"}],\"edges\":[]}", TABLERO_STACK_ERROR_INVALID, "nodes[0].colour: unknown" },
  { HEAD "\"nodes\":[" NODE_A "],\"edges\":[{\"id\":\"e\",\"source\":\"a\",\"target\":\"zz\"}]}",
    TABLERO_STACK_ERROR_INVALID, "edges[0].target: no node has the id “zz”" },
  { HEAD "\"nodes\":[" NODE_A "],\"edges\":[{\"id\":\"e\",\"source\":\"zz\",\"target\":\"a\"}]}",
    TABLERO_STACK_ERROR_INVALID, "edges[0].source: no node has the id “zz”" },
  { HEAD "\"nodes\":[" NODE_A "],\"edges\":[{\"id\":\"e\",\"source\":\"a\",\"target\":\"a\"}]}",
    TABLERO_STACK_ERROR_INVALID, "itself" },
  { HEAD "\"nodes\":[" NODE_A "," NODE_B "],\"edges\":[{\"id\":\"a\",\"source\":\"a\","
    "\"target\":\"b\"}]}", TABLERO_STACK_ERROR_INVALID, "edges[0].id: the id “a” is used twice" },
  { HEAD "\"nodes\":[" NODE_A "," NODE_B "],\"edges\":[{\"id\":\"e\",\"source\":\"a\","
    "\"target\":\"b\",\"resource\":\"posts\"}]}", TABLERO_STACK_ERROR_INVALID,
    "edges[0].resource" },
  { HEAD "\"nodes\":[" NODE_A "," NODE_B "],\"edges\":[{\"id\":\"e\",\"source\":\"a\","
    "\"target\":\"b\",\"resource\":[\"ok\",7]}]}", TABLERO_STACK_ERROR_INVALID,
    "edges[0].resource[1]" },
  { HEAD "\"nodes\":[" NODE_A "," NODE_B "],\"edges\":[{\"id\":\"e\",\"source\":\"a\","
    "\"target\":\"b\",\"method\":[]}]}", TABLERO_STACK_ERROR_INVALID, "edges[0].method" },
  { HEAD "\"nodes\":[" NODE_A "," NODE_B "],\"edges\":[7]}", TABLERO_STACK_ERROR_INVALID,
    "edges[0]: expected an object" },
  { "{\"format\":\"tablero-stack\",\"version\":1,\"name\":\"S\",\"nodes\":[],\"edges\":[]} x",
    TABLERO_STACK_ERROR_PARSE, "JSON" },
  { "\xff\xfe{}", TABLERO_STACK_ERROR_PARSE, "UTF-8" },
  { "{\"format\":\"tablero-stack\",\"version\":1,\"name\":\"\xc3\x28\"}",
    TABLERO_STACK_ERROR_PARSE, "UTF-8" },
};

static void
assert_bad (const char        *json,
            TableroStackError  code,
            const char        *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStack) stack = tablero_stack_new_from_json (json, &error);

  g_assert_null (stack);
  g_assert_error (error, TABLERO_STACK_ERROR, (int) code);
  if (strstr (error->message, message_part) == NULL)
    g_error ("Error “%s” does not mention “%s” (input: %.200s)",
             error->message, message_part, json);
}

static void
test_json_bad_cases (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    assert_bad (bad_cases[i].json, bad_cases[i].code, bad_cases[i].message_part);
}

static void
test_json_limits (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autofree char *long_name = NULL;
  g_autofree char *big = NULL;

  /* Deep nesting would exhaust json-glib's recursion: refused first. */
  for (int i = 0; i < 200000; i++)
    g_string_append_c (s, '[');
  assert_bad (s->str, TABLERO_STACK_ERROR_TOO_LARGE, "deeper");

  g_string_truncate (s, 0);
  g_string_append (s, HEAD "\"nodes\":[],\"edges\":[],\"x\":");
  for (int i = 0; i < 100; i++)
    g_string_append (s, "{\"a\":");
  assert_bad (s->str, TABLERO_STACK_ERROR_TOO_LARGE, "deeper");

  /* Brackets inside strings don't count as nesting. */
  g_string_truncate (s, 0);
  g_string_append (s, "{\"format\":\"tablero-stack\",\"version\":1,\"name\":\"");
  for (int i = 0; i < 40; i++)
    g_string_append (s, "[{\\\"");
  g_string_append (s, "\",\"nodes\":[],\"edges\":[]}");
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(TableroStack) stack = tablero_stack_new_from_json (s->str, &error);
    g_assert_no_error (error);
  }

  /* Too many nodes. */
  g_string_truncate (s, 0);
  g_string_append (s, HEAD "\"nodes\":[");
  for (int i = 0; i <= TABLERO_STACK_MAX_NODES; i++)
    g_string_append_printf (s, "%s{\"id\":\"n%d\",\"name\":\"\",\"kind\":\"engine\","
                            "\"x\":0,\"y\":0}",
                            i > 0 ? "," : "", i);
  g_string_append (s, "],\"edges\":[]}");
  assert_bad (s->str, TABLERO_STACK_ERROR_TOO_LARGE, "nodes");

  /* An oversized string member. */
  long_name = g_strnfill (TABLERO_STACK_MAX_STRING + 1, 'x');
  g_string_truncate (s, 0);
  g_string_append_printf (s, HEAD "\"nodes\":[{\"id\":\"a\",\"name\":\"%s\",\"kind\":\"engine\","
                          "\"x\":0,\"y\":0}],\"edges\":[]}", long_name);
  assert_bad (s->str, TABLERO_STACK_ERROR_INVALID, "nodes[0].name: longer than");

  /* A document over the size limit is refused before parsing. */
  big = g_strnfill (TABLERO_STACK_MAX_JSON_SIZE + 1, ' ');
  assert_bad (big, TABLERO_STACK_ERROR_TOO_LARGE, "MiB");
}

/* Random damage to a valid document: every result is a stack or a clean
 * TABLERO_STACK_ERROR, never a crash or a critical. */
static void
test_json_mutations (void)
{
  g_autoptr(TableroStack) stack = make_sample_stack ();
  g_autofree char *json = tablero_stack_to_json (stack);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240607);
  static const char alphabet[] = "{}[]\",:0123456789.-eE \\tnulfase\xc3\xff";
  gsize len = strlen (json);
  guint ok = 0, failed = 0;

  for (int round = 0; round < 3000; round++)
    {
      g_autofree char *copy = g_strdup (json);
      g_autoptr(GError) error = NULL;
      g_autoptr(TableroStack) result = NULL;
      int n_changes = g_rand_int_range (rand, 1, 6);

      for (int k = 0; k < n_changes; k++)
        {
          gsize at = g_rand_int_range (rand, 0, len);

          switch (g_rand_int_range (rand, 0, 3))
            {
            case 0:  /* replace a byte */
              copy[at] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
              break;
            case 1:  /* cut the document */
              copy[at] = '\0';
              break;
            default:  /* swap two bytes */
              {
                gsize other = g_rand_int_range (rand, 0, len);
                char c = copy[at];
                copy[at] = copy[other];
                copy[other] = c;
              }
            }
        }

      result = tablero_stack_new_from_json (copy, &error);
      if (result != NULL)
        {
          g_assert_no_error (error);
          ok++;
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == TABLERO_STACK_ERROR);
          g_assert_cmpstr (error->message, !=, "");
          failed++;
        }
    }

  g_test_message ("%u mutated documents accepted, %u refused", ok, failed);
  g_assert_cmpuint (failed, >, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/node/properties", test_node_properties);
  g_test_add_func ("/edge/properties", test_edge_properties);
  g_test_add_func ("/enums", test_enums);
  g_test_add_func ("/stack/add-remove-undo", test_add_remove_undo);
  g_test_add_func ("/stack/move-rename", test_move_rename);
  g_test_add_func ("/stack/direct-drag-then-move", test_direct_drag_then_move);
  g_test_add_func ("/stack/group", test_group);
  g_test_add_func ("/stack/redo-branch-dropped", test_redo_branch_dropped);
  g_test_add_func ("/stack/history-bound", test_history_bound);
  g_test_add_func ("/stack/modified", test_modified);
  g_test_add_func ("/stack/new-id", test_new_id);
  g_test_add_func ("/stack/free-position", test_free_position);
  g_test_add_func ("/json/round-trip", test_json_round_trip);
  g_test_add_func ("/json/minimal", test_json_minimal);
  g_test_add_func ("/json/bad-cases", test_json_bad_cases);
  g_test_add_func ("/json/limits", test_json_limits);
  g_test_add_func ("/json/mutations", test_json_mutations);

  return g_test_run ();
}
