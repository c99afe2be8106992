/* SPDX-License-Identifier: MIT */
/* tablero-stack.h: one named stack layout (nodes and edges) with undo/redo.
 *
 * Every structural or position edit made through this API is one undo step;
 * edits between tablero_stack_begin_group () and tablero_stack_end_group ()
 * form a single step (a drag of five selected nodes is undone at once).
 * Inside a group, consecutive moves of the same node are merged, so a drag
 * may call tablero_stack_move_node () on every motion event. A new edit after
 * an undo drops the redo branch. History keeps the last
 * TABLERO_STACK_MAX_HISTORY steps.
 *
 * Export format (tablero_stack_to_json (), tablero_stack_new_from_json ()):
 *
 *   {
 *     "format": "tablero-stack",
 *     "version": 1,
 *     "name": "My stack",
 *     "nodes": [
 *       { "id": "n1", "name": "Front", "kind": "engine" | "monje" | "pajaro",
 *         "x": 120.0, "y": 80.0,
 *         "address": "127.0.0.1", "port": 8080,        (optional)
 *         "transport": "tcp" | "ws", "local": true }   (optional)
 *     ],
 *     "edges": [
 *       { "id": "e1", "source": "n1", "target": "n2",
 *         "method": "*", "resource": ["pajaro", "posts", "*"] }  (method and
 *                                                                resource optional)
 *     ]
 *   }
 *
 * Import is strict: unknown members, wrong types, duplicate ids, edges to
 * missing nodes, out-of-range values and oversized documents are errors in
 * TABLERO_STACK_ERROR whose message names the offending member. */
#pragma once

#include <gio/gio.h>

#include "tablero-edge.h"
#include "tablero-node.h"

G_BEGIN_DECLS

#define TABLERO_STACK_MAX_HISTORY 200

/* Import limits: a stack file beyond them is refused, not truncated. */
#define TABLERO_STACK_MAX_JSON_SIZE   (16 * 1024 * 1024)
#define TABLERO_STACK_MAX_NODES       4096
#define TABLERO_STACK_MAX_EDGES       16384
#define TABLERO_STACK_MAX_DEPTH       32
#define TABLERO_STACK_MAX_STRING      1024   /* bytes, any string member */
#define TABLERO_STACK_MAX_NAME        256    /* bytes of the stack's name */
#define TABLERO_STACK_MAX_RESOURCE    64     /* elements of an edge's resource */
#define TABLERO_STACK_MAX_COORDINATE  1.0e7  /* |x| and |y| */

#define TABLERO_STACK_ERROR (tablero_stack_error_quark ())

typedef enum {
  TABLERO_STACK_ERROR_PARSE,      /* not JSON, or not UTF-8 */
  TABLERO_STACK_ERROR_FORMAT,     /* not a Tablero stack file */
  TABLERO_STACK_ERROR_VERSION,    /* written by a newer Tablero */
  TABLERO_STACK_ERROR_INVALID,    /* a member is missing, mistyped or out of range */
  TABLERO_STACK_ERROR_TOO_LARGE,  /* beyond the import limits above */
} TableroStackError;

GQuark        tablero_stack_error_quark       (void);

#define TABLERO_TYPE_STACK (tablero_stack_get_type ())
G_DECLARE_FINAL_TYPE (TableroStack, tablero_stack, TABLERO, STACK, GObject)

TableroStack *tablero_stack_new               (const char   *name);

const char   *tablero_stack_get_name          (TableroStack *self);
void          tablero_stack_set_name          (TableroStack *self,
                                               const char   *name);

/* Item types TableroNode and TableroEdge. Transfer none. */
GListModel   *tablero_stack_get_nodes         (TableroStack *self);
GListModel   *tablero_stack_get_edges         (TableroStack *self);

/* An id not used by any node or edge of the stack. */
char         *tablero_stack_new_id            (TableroStack *self);

/* Undoable edits. add_node: the id must be new in the stack. add_edge:
 * both ends must be nodes of the stack. remove_node removes its edges too
 * (undo brings them back). */
void          tablero_stack_add_node          (TableroStack *self,
                                               TableroNode  *node);
void          tablero_stack_remove_node       (TableroStack *self,
                                               TableroNode  *node);
void          tablero_stack_move_node         (TableroStack *self,
                                               TableroNode  *node,
                                               double        x,
                                               double        y);
void          tablero_stack_rename_node       (TableroStack *self,
                                               TableroNode  *node,
                                               const char   *name);
void          tablero_stack_add_edge          (TableroStack *self,
                                               TableroEdge  *edge);
void          tablero_stack_remove_edge       (TableroStack *self,
                                               TableroEdge  *edge);

/* Transfer none; NULL if there is none. */
TableroNode  *tablero_stack_find_node         (TableroStack *self,
                                               const char   *id);
TableroEdge  *tablero_stack_find_edge         (TableroStack *self,
                                               const char   *id);

/* Groups nest; the outermost end_group () closes the step. @label is for
 * menus ("Move", "Delete"); may be NULL. An empty group makes no step. */
void          tablero_stack_begin_group       (TableroStack *self,
                                               const char   *label);
void          tablero_stack_end_group         (TableroStack *self);

/* Return FALSE when there is nothing to undo/redo. Not allowed while a group
 * is open. */
gboolean      tablero_stack_undo              (TableroStack *self);
gboolean      tablero_stack_redo              (TableroStack *self);
gboolean      tablero_stack_get_can_undo      (TableroStack *self);
gboolean      tablero_stack_get_can_redo      (TableroStack *self);
/* Label of the step undo/redo would apply, or NULL. */
const char   *tablero_stack_get_undo_label    (TableroStack *self);
const char   *tablero_stack_get_redo_label    (TableroStack *self);

/* TRUE when the stack differs from the last saved state. Undoing back to the
 * saved state clears it again. Setting FALSE marks the current state as
 * saved (TableroStackStore does that on save). */
gboolean      tablero_stack_get_modified      (TableroStack *self);
void          tablero_stack_set_modified      (TableroStack *self,
                                               gboolean      modified);

/* Moves (*x, *y) to the nearest grid spot where a node's footprint
 * (TABLERO_NODE_WIDTH x TABLERO_NODE_HEIGHT plus TABLERO_NODE_GAP) overlaps
 * no node of the stack. */
void          tablero_stack_free_position     (TableroStack *self,
                                               double       *x,
                                               double       *y);

/* The export format described above, pretty-printed. */
char         *tablero_stack_to_json           (TableroStack *self);
/* @json: NUL-terminated UTF-8. */
TableroStack *tablero_stack_new_from_json     (const char   *json,
                                               GError      **error);

G_END_DECLS
