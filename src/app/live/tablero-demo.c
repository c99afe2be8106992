/* SPDX-License-Identifier: MIT */
/* tablero-demo.c: the demo stack. */
#include "config.h"

#include <glib/gi18n.h>

#include "tablero-demo.h"

static TableroNode *
add_node (TableroStack    *stack,
          TableroNodeKind  kind,
          const char      *name,
          double           x,
          double           y)
{
  g_autofree char *id = tablero_stack_new_id (stack);
  g_autoptr (TableroNode) node = tablero_node_new (id, kind, name);

  tablero_node_set_position (node, x, y);
  tablero_node_set_local (node, TRUE);
  tablero_stack_add_node (stack, node);
  return node;  /* the stack keeps it */
}

static void
add_edge (TableroStack       *stack,
          TableroNode        *source,
          TableroNode        *target,
          const char         *method,
          const char * const *resource)
{
  g_autofree char *id = tablero_stack_new_id (stack);
  g_autoptr (TableroEdge) edge = tablero_edge_new (id, tablero_node_get_id (source),
                                                   tablero_node_get_id (target), method, resource);

  tablero_stack_add_edge (stack, edge);
}

TableroStack *
tablero_demo_stack_new (const char *name)
{
  g_autoptr (TableroStack) stack = tablero_stack_new (name);
  g_autofree char *json = NULL;
  TableroNode *gateway, *worker, *documents;

  gateway = add_node (stack, TABLERO_NODE_KIND_ENGINE, _("Gateway"), 0, 0);
  worker = add_node (stack, TABLERO_NODE_KIND_ENGINE, _("Worker"), 300, -90);
  documents = add_node (stack, TABLERO_NODE_KIND_MONJE, _("Documents"), 300, 90);
  add_edge (stack, gateway, worker, "*", (const char * const[]) { "jobs", "...", NULL });
  add_edge (stack, gateway, documents, "POST", (const char * const[]) { "db", "...", NULL });

  /* Through the export format: nothing to undo in a stack the user has not
   * touched yet. */
  json = tablero_stack_to_json (stack);
  return tablero_stack_new_from_json (json, NULL);
}
