/* SPDX-License-Identifier: MIT */
/* tablero-stack.c: the stack layout, its command history and its file format.
 *
 * History: every edit is a Command that can be applied and reverted. Commands
 * live on two stacks (undo, redo); a group is a Command holding children.
 * Whether the stack is modified is computed from a serial number: each
 * command gets a unique serial, and saving remembers the serial of the
 * command on top of the undo stack. Undoing back to it makes the stack
 * unmodified again; serials are never reused, so dropped history can't
 * fake a match. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "tablero-stack.h"
#include "tablero-stack-private.h"

G_DEFINE_QUARK (tablero-stack-error-quark, tablero_stack_error)

#define STACK_FORMAT  "tablero-stack"
#define STACK_VERSION 1

typedef enum {
  CMD_ADD_NODE,
  CMD_REMOVE_NODE,
  CMD_MOVE_NODE,
  CMD_RENAME_NODE,
  CMD_ADD_EDGE,
  CMD_REMOVE_EDGE,
  CMD_GROUP,
} CommandType;

typedef struct {
  TableroEdge *edge;
  guint position;
} EdgeSlot;

typedef struct {
  CommandType type;
  guint64 serial;
  char *label;

  TableroNode *node;
  TableroEdge *edge;
  guint position;       /* in the node or edge list, for add/remove */
  GArray *edge_slots;   /* CMD_REMOVE_NODE: edges removed with the node, by position */

  double old_x, old_y;
  double new_x, new_y;
  char *old_name;
  char *new_name;

  GPtrArray *children;  /* CMD_GROUP */
} Command;

/* What the stack keeps for each node and edge it contains. */
typedef struct {
  GObject *object;      /* owned */
  gulong notify_id;
  /* Nodes: the position the history knows about. A canvas may move a node
   * directly while dragging and record the move at the end; the undo step
   * then goes back to where the drag started. */
  double x, y;
} Entry;

struct _TableroStack
{
  GObject parent_instance;

  char *name;
  GListStore *nodes;
  GListStore *edges;
  GHashTable *node_entries;   /* id (owned by the node) -> Entry */
  GHashTable *edge_entries;   /* id (owned by the edge) -> Entry */
  guint next_id;

  GPtrArray *undo;            /* Command, oldest first */
  GPtrArray *redo;            /* Command, next to redo last */
  Command *group;             /* open group, or NULL */
  guint group_depth;
  guint64 next_serial;
  guint64 base_serial;        /* serial of the state below the oldest undo step */
  guint64 saved_serial;
  gboolean dirty;             /* changed outside the history since the save */
  guint64 edit_count;
  guint applying;             /* > 0 while the stack itself changes objects */

  gboolean can_undo;
  gboolean can_redo;
  gboolean modified;
};

G_DEFINE_FINAL_TYPE (TableroStack, tablero_stack, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  PROP_MODIFIED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Commands */

static void
command_free (gpointer data)
{
  Command *cmd = data;

  if (cmd == NULL)
    return;

  g_free (cmd->label);
  g_clear_object (&cmd->node);
  g_clear_object (&cmd->edge);
  if (cmd->edge_slots != NULL)
    {
      for (guint i = 0; i < cmd->edge_slots->len; i++)
        g_object_unref (g_array_index (cmd->edge_slots, EdgeSlot, i).edge);
      g_array_unref (cmd->edge_slots);
    }
  g_free (cmd->old_name);
  g_free (cmd->new_name);
  g_clear_pointer (&cmd->children, g_ptr_array_unref);
  g_free (cmd);
}

static Command *
command_new (TableroStack *self,
             CommandType   type,
             const char   *label)
{
  Command *cmd = g_new0 (Command, 1);

  cmd->type = type;
  cmd->serial = ++self->next_serial;
  cmd->label = g_strdup (label);
  return cmd;
}

/* Entries */

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_clear_signal_handler (&entry->notify_id, entry->object);
  g_object_unref (entry->object);
  g_free (entry);
}

/* Serial of the current state: the open group if it has edits, else the
 * newest undo step, else the state the history starts from. */
static guint64
current_serial (TableroStack *self)
{
  if (self->group != NULL && self->group->children->len > 0)
    return self->group->serial;
  if (self->undo->len > 0)
    return ((Command *) g_ptr_array_index (self->undo, self->undo->len - 1))->serial;
  return self->base_serial;
}

/* Keeps the newest TABLERO_STACK_MAX_HISTORY steps. */
static void
trim_history (TableroStack *self)
{
  guint excess;

  if (self->undo->len <= TABLERO_STACK_MAX_HISTORY)
    return;
  excess = self->undo->len - TABLERO_STACK_MAX_HISTORY;
  self->base_serial = ((Command *) g_ptr_array_index (self->undo, excess - 1))->serial;
  g_ptr_array_remove_range (self->undo, 0, excess);
}

static void
update_state (TableroStack *self)
{
  gboolean can_undo = self->group_depth == 0 && self->undo->len > 0;
  gboolean can_redo = self->group_depth == 0 && self->redo->len > 0;
  gboolean modified = self->dirty || current_serial (self) != self->saved_serial;

  g_object_freeze_notify (G_OBJECT (self));
  if (can_undo != self->can_undo)
    {
      self->can_undo = can_undo;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
    }
  if (can_redo != self->can_redo)
    {
      self->can_redo = can_redo;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
    }
  if (modified != self->modified)
    {
      self->modified = modified;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
emit_changed (TableroStack *self)
{
  self->edit_count++;
  update_state (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static gboolean
is_saved_property (GObject    *object,
                   GParamSpec *pspec)
{
  static const char * const node_props[] = {
    "name", "kind", "x", "y", "address", "port", "transport", "local", NULL
  };
  static const char * const edge_props[] = { "method", "resource", NULL };

  if (TABLERO_IS_NODE (object))
    return g_strv_contains (node_props, pspec->name);
  return g_strv_contains (edge_props, pspec->name);
}

static void
on_object_notify (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  TableroStack *self = user_data;

  /* Only edits made around the stack's API count here; the stack's own
   * changes emit "changed" once, when the command is complete. */
  if (self->applying > 0 || !is_saved_property (object, pspec))
    return;

  self->dirty = TRUE;
  emit_changed (self);
}

/* Primitive edits: no history, no "changed". */

static void
insert_node (TableroStack *self,
             TableroNode  *node,
             guint         position)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->object = g_object_ref (G_OBJECT (node));
  entry->x = tablero_node_get_x (node);
  entry->y = tablero_node_get_y (node);
  entry->notify_id = g_signal_connect (node, "notify", G_CALLBACK (on_object_notify), self);
  g_hash_table_insert (self->node_entries, (gpointer) tablero_node_get_id (node), entry);

  position = MIN (position, g_list_model_get_n_items (G_LIST_MODEL (self->nodes)));
  g_list_store_insert (self->nodes, position, node);
}

static gboolean
find_in_store (GListStore *store,
               gpointer    item,
               guint      *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (store));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) other = g_list_model_get_item (G_LIST_MODEL (store), i);

      if (other == item)
        {
          *position = i;
          return TRUE;
        }
    }
  return FALSE;
}

static guint
remove_node (TableroStack *self,
             TableroNode  *node)
{
  guint position = 0;

  if (!find_in_store (self->nodes, node, &position))
    g_assert_not_reached ();

  /* The entry holds a reference; keep one while the store lets go. */
  g_object_ref (node);
  g_list_store_remove (self->nodes, position);
  g_hash_table_remove (self->node_entries, tablero_node_get_id (node));
  g_object_unref (node);

  return position;
}

static void
insert_edge (TableroStack *self,
             TableroEdge  *edge,
             guint         position)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->object = g_object_ref (G_OBJECT (edge));
  entry->notify_id = g_signal_connect (edge, "notify", G_CALLBACK (on_object_notify), self);
  g_hash_table_insert (self->edge_entries, (gpointer) tablero_edge_get_id (edge), entry);

  position = MIN (position, g_list_model_get_n_items (G_LIST_MODEL (self->edges)));
  g_list_store_insert (self->edges, position, edge);
}

static guint
remove_edge (TableroStack *self,
             TableroEdge  *edge)
{
  guint position = 0;

  if (!find_in_store (self->edges, edge, &position))
    g_assert_not_reached ();

  g_object_ref (edge);
  g_list_store_remove (self->edges, position);
  g_hash_table_remove (self->edge_entries, tablero_edge_get_id (edge));
  g_object_unref (edge);

  return position;
}

static void
place_node (TableroStack *self,
            TableroNode  *node,
            double        x,
            double        y)
{
  Entry *entry = g_hash_table_lookup (self->node_entries, tablero_node_get_id (node));

  g_assert (entry != NULL);
  entry->x = x;
  entry->y = y;
  tablero_node_set_position (node, x, y);
}

static void
command_apply (TableroStack *self,
               Command      *cmd)
{
  switch (cmd->type)
    {
    case CMD_ADD_NODE:
      insert_node (self, cmd->node, cmd->position);
      break;

    case CMD_REMOVE_NODE:
      {
        const char *id = tablero_node_get_id (cmd->node);
        guint n = g_list_model_get_n_items (G_LIST_MODEL (self->edges));

        /* Collect attached edges in ascending position so that a revert can
         * insert them back in the same order. */
        g_array_set_size (cmd->edge_slots, 0);
        for (guint i = 0; i < n; i++)
          {
            g_autoptr(TableroEdge) edge = g_list_model_get_item (G_LIST_MODEL (self->edges), i);

            if (g_str_equal (tablero_edge_get_source_id (edge), id) ||
                g_str_equal (tablero_edge_get_target_id (edge), id))
              {
                EdgeSlot slot = { g_object_ref (edge), i };
                g_array_append_val (cmd->edge_slots, slot);
              }
          }
        for (guint i = cmd->edge_slots->len; i > 0; i--)
          remove_edge (self, g_array_index (cmd->edge_slots, EdgeSlot, i - 1).edge);
        cmd->position = remove_node (self, cmd->node);
      }
      break;

    case CMD_MOVE_NODE:
      place_node (self, cmd->node, cmd->new_x, cmd->new_y);
      break;

    case CMD_RENAME_NODE:
      tablero_node_set_name (cmd->node, cmd->new_name);
      break;

    case CMD_ADD_EDGE:
      insert_edge (self, cmd->edge, cmd->position);
      break;

    case CMD_REMOVE_EDGE:
      cmd->position = remove_edge (self, cmd->edge);
      break;

    case CMD_GROUP:
      for (guint i = 0; i < cmd->children->len; i++)
        command_apply (self, g_ptr_array_index (cmd->children, i));
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
command_revert (TableroStack *self,
                Command      *cmd)
{
  switch (cmd->type)
    {
    case CMD_ADD_NODE:
      cmd->position = remove_node (self, cmd->node);
      break;

    case CMD_REMOVE_NODE:
      insert_node (self, cmd->node, cmd->position);
      for (guint i = 0; i < cmd->edge_slots->len; i++)
        {
          EdgeSlot *slot = &g_array_index (cmd->edge_slots, EdgeSlot, i);
          insert_edge (self, slot->edge, slot->position);
        }
      for (guint i = 0; i < cmd->edge_slots->len; i++)
        g_object_unref (g_array_index (cmd->edge_slots, EdgeSlot, i).edge);
      g_array_set_size (cmd->edge_slots, 0);
      break;

    case CMD_MOVE_NODE:
      place_node (self, cmd->node, cmd->old_x, cmd->old_y);
      break;

    case CMD_RENAME_NODE:
      tablero_node_set_name (cmd->node, cmd->old_name);
      break;

    case CMD_ADD_EDGE:
      cmd->position = remove_edge (self, cmd->edge);
      break;

    case CMD_REMOVE_EDGE:
      insert_edge (self, cmd->edge, cmd->position);
      break;

    case CMD_GROUP:
      for (guint i = cmd->children->len; i > 0; i--)
        command_revert (self, g_ptr_array_index (cmd->children, i - 1));
      break;

    default:
      g_assert_not_reached ();
    }
}

/* Applies @cmd (taking ownership) and records it in the history. */
static void
do_command (TableroStack *self,
            Command      *cmd)
{
  self->applying++;
  command_apply (self, cmd);
  self->applying--;

  /* A new edit makes the redo branch unreachable. */
  g_ptr_array_set_size (self->redo, 0);

  if (self->group != NULL)
    {
      GPtrArray *children = self->group->children;
      Command *last = children->len > 0 ? g_ptr_array_index (children, children->len - 1) : NULL;

      /* A drag records a move per motion event: keep one per node. */
      if (cmd->type == CMD_MOVE_NODE && last != NULL &&
          last->type == CMD_MOVE_NODE && last->node == cmd->node)
        {
          last->new_x = cmd->new_x;
          last->new_y = cmd->new_y;
          command_free (cmd);
        }
      else
        {
          g_ptr_array_add (children, cmd);
        }
    }
  else
    {
      g_ptr_array_add (self->undo, cmd);
      trim_history (self);
    }

  emit_changed (self);
}

/* GObject */

static void
tablero_stack_dispose (GObject *object)
{
  TableroStack *self = TABLERO_STACK (object);

  g_clear_pointer (&self->group, command_free);
  if (self->undo != NULL)
    g_ptr_array_set_size (self->undo, 0);
  if (self->redo != NULL)
    g_ptr_array_set_size (self->redo, 0);
  /* Entries disconnect their notify handlers. */
  g_hash_table_remove_all (self->edge_entries);
  g_hash_table_remove_all (self->node_entries);
  g_list_store_remove_all (self->edges);
  g_list_store_remove_all (self->nodes);

  G_OBJECT_CLASS (tablero_stack_parent_class)->dispose (object);
}

static void
tablero_stack_finalize (GObject *object)
{
  TableroStack *self = TABLERO_STACK (object);

  g_free (self->name);
  g_clear_object (&self->nodes);
  g_clear_object (&self->edges);
  g_clear_pointer (&self->node_entries, g_hash_table_unref);
  g_clear_pointer (&self->edge_entries, g_hash_table_unref);
  g_clear_pointer (&self->undo, g_ptr_array_unref);
  g_clear_pointer (&self->redo, g_ptr_array_unref);

  G_OBJECT_CLASS (tablero_stack_parent_class)->finalize (object);
}

static void
tablero_stack_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TableroStack *self = TABLERO_STACK (object);

  switch (prop_id)
    {
    case PROP_NAME: g_value_set_string (value, self->name); break;
    case PROP_CAN_UNDO: g_value_set_boolean (value, self->can_undo); break;
    case PROP_CAN_REDO: g_value_set_boolean (value, self->can_redo); break;
    case PROP_MODIFIED: g_value_set_boolean (value, self->modified); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_stack_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TableroStack *self = TABLERO_STACK (object);

  switch (prop_id)
    {
    case PROP_NAME: tablero_stack_set_name (self, g_value_get_string (value)); break;
    case PROP_MODIFIED: tablero_stack_set_modified (self, g_value_get_boolean (value)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_stack_class_init (TableroStackClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tablero_stack_dispose;
  object_class->finalize = tablero_stack_finalize;
  object_class->get_property = tablero_stack_get_property;
  object_class->set_property = tablero_stack_set_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CAN_UNDO] =
    g_param_spec_boolean ("can-undo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_REDO] =
    g_param_spec_boolean ("can-redo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODIFIED] =
    g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TableroStack::changed:
   *
   * Emitted after any structural or position change: an edit, an undo, a
   * redo, or a saved property of a node or edge set directly.
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
tablero_stack_init (TableroStack *self)
{
  self->name = g_strdup ("");
  self->nodes = g_list_store_new (TABLERO_TYPE_NODE);
  self->edges = g_list_store_new (TABLERO_TYPE_EDGE);
  self->node_entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  self->edge_entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  self->undo = g_ptr_array_new_with_free_func (command_free);
  self->redo = g_ptr_array_new_with_free_func (command_free);
}

TableroStack *
tablero_stack_new (const char *name)
{
  return g_object_new (TABLERO_TYPE_STACK, "name", name, NULL);
}

const char *
tablero_stack_get_name (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);
  return self->name;
}

void
tablero_stack_set_name (TableroStack *self,
                        const char   *name)
{
  g_return_if_fail (TABLERO_IS_STACK (self));

  if (name == NULL)
    name = "";
  if (g_strcmp0 (self->name, name) == 0)
    return;
  g_free (self->name);
  self->name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

GListModel *
tablero_stack_get_nodes (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);
  return G_LIST_MODEL (self->nodes);
}

GListModel *
tablero_stack_get_edges (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);
  return G_LIST_MODEL (self->edges);
}

static gboolean
id_in_use (TableroStack *self,
           const char   *id)
{
  return g_hash_table_contains (self->node_entries, id) ||
         g_hash_table_contains (self->edge_entries, id);
}

static gboolean
id_in_history (GPtrArray  *commands,
               const char *id)
{
  for (guint i = 0; i < commands->len; i++)
    {
      Command *cmd = g_ptr_array_index (commands, i);

      if (cmd->node != NULL && g_str_equal (tablero_node_get_id (cmd->node), id))
        return TRUE;
      if (cmd->edge != NULL && g_str_equal (tablero_edge_get_id (cmd->edge), id))
        return TRUE;
      if (cmd->children != NULL && id_in_history (cmd->children, id))
        return TRUE;
    }
  return FALSE;
}

char *
tablero_stack_new_id (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);

  for (;;)
    {
      g_autofree char *id = g_strdup_printf ("n%u", ++self->next_id);

      /* An id held by a removed node in the redo branch would clash when
       * that removal is undone, so skip those too. */
      if (!id_in_use (self, id) &&
          !id_in_history (self->redo, id) &&
          !id_in_history (self->undo, id) &&
          (self->group == NULL || !id_in_history (self->group->children, id)))
        return g_steal_pointer (&id);
    }
}

void
tablero_stack_add_node (TableroStack *self,
                        TableroNode  *node)
{
  Command *cmd;

  g_return_if_fail (TABLERO_IS_STACK (self));
  g_return_if_fail (TABLERO_IS_NODE (node));
  g_return_if_fail (*tablero_node_get_id (node) != '\0');
  g_return_if_fail (!id_in_use (self, tablero_node_get_id (node)));

  cmd = command_new (self, CMD_ADD_NODE, _("Add Node"));
  cmd->node = g_object_ref (node);
  cmd->position = g_list_model_get_n_items (G_LIST_MODEL (self->nodes));
  do_command (self, cmd);
}

void
tablero_stack_remove_node (TableroStack *self,
                           TableroNode  *node)
{
  Command *cmd;

  g_return_if_fail (TABLERO_IS_STACK (self));
  g_return_if_fail (TABLERO_IS_NODE (node));
  g_return_if_fail (tablero_stack_find_node (self, tablero_node_get_id (node)) == node);

  cmd = command_new (self, CMD_REMOVE_NODE, _("Delete Node"));
  cmd->node = g_object_ref (node);
  cmd->edge_slots = g_array_new (FALSE, FALSE, sizeof (EdgeSlot));
  do_command (self, cmd);
}

void
tablero_stack_move_node (TableroStack *self,
                         TableroNode  *node,
                         double        x,
                         double        y)
{
  Command *cmd;
  Entry *entry;

  g_return_if_fail (TABLERO_IS_STACK (self));
  g_return_if_fail (TABLERO_IS_NODE (node));
  g_return_if_fail (isfinite (x) && isfinite (y));

  entry = g_hash_table_lookup (self->node_entries, tablero_node_get_id (node));
  g_return_if_fail (entry != NULL && entry->object == G_OBJECT (node));

  if (entry->x == x && entry->y == y)
    {
      /* Nothing to record, but a direct drag may have left it elsewhere. */
      self->applying++;
      tablero_node_set_position (node, x, y);
      self->applying--;
      return;
    }

  cmd = command_new (self, CMD_MOVE_NODE, _("Move Node"));
  cmd->node = g_object_ref (node);
  cmd->old_x = entry->x;
  cmd->old_y = entry->y;
  cmd->new_x = x;
  cmd->new_y = y;
  do_command (self, cmd);
}

void
tablero_stack_rename_node (TableroStack *self,
                           TableroNode  *node,
                           const char   *name)
{
  Command *cmd;

  g_return_if_fail (TABLERO_IS_STACK (self));
  g_return_if_fail (TABLERO_IS_NODE (node));
  g_return_if_fail (tablero_stack_find_node (self, tablero_node_get_id (node)) == node);

  if (name == NULL)
    name = "";
  if (g_str_equal (tablero_node_get_name (node), name))
    return;

  cmd = command_new (self, CMD_RENAME_NODE, _("Rename Node"));
  cmd->node = g_object_ref (node);
  cmd->old_name = g_strdup (tablero_node_get_name (node));
  cmd->new_name = g_strdup (name);
  do_command (self, cmd);
}

void
tablero_stack_add_edge (TableroStack *self,
                        TableroEdge  *edge)
{
  Command *cmd;

  g_return_if_fail (TABLERO_IS_STACK (self));
  g_return_if_fail (TABLERO_IS_EDGE (edge));
  g_return_if_fail (*tablero_edge_get_id (edge) != '\0');
  g_return_if_fail (!id_in_use (self, tablero_edge_get_id (edge)));
  g_return_if_fail (tablero_stack_find_node (self, tablero_edge_get_source_id (edge)) != NULL);
  g_return_if_fail (tablero_stack_find_node (self, tablero_edge_get_target_id (edge)) != NULL);

  cmd = command_new (self, CMD_ADD_EDGE, _("Add Connection"));
  cmd->edge = g_object_ref (edge);
  cmd->position = g_list_model_get_n_items (G_LIST_MODEL (self->edges));
  do_command (self, cmd);
}

void
tablero_stack_remove_edge (TableroStack *self,
                           TableroEdge  *edge)
{
  Command *cmd;

  g_return_if_fail (TABLERO_IS_STACK (self));
  g_return_if_fail (TABLERO_IS_EDGE (edge));
  g_return_if_fail (tablero_stack_find_edge (self, tablero_edge_get_id (edge)) == edge);

  cmd = command_new (self, CMD_REMOVE_EDGE, _("Delete Connection"));
  cmd->edge = g_object_ref (edge);
  do_command (self, cmd);
}

TableroNode *
tablero_stack_find_node (TableroStack *self,
                         const char   *id)
{
  Entry *entry;

  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);

  if (id == NULL)
    return NULL;
  entry = g_hash_table_lookup (self->node_entries, id);
  return entry != NULL ? TABLERO_NODE (entry->object) : NULL;
}

TableroEdge *
tablero_stack_find_edge (TableroStack *self,
                         const char   *id)
{
  Entry *entry;

  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);

  if (id == NULL)
    return NULL;
  entry = g_hash_table_lookup (self->edge_entries, id);
  return entry != NULL ? TABLERO_EDGE (entry->object) : NULL;
}

void
tablero_stack_begin_group (TableroStack *self,
                           const char   *label)
{
  g_return_if_fail (TABLERO_IS_STACK (self));

  if (self->group_depth++ == 0)
    {
      self->group = command_new (self, CMD_GROUP, label);
      self->group->children = g_ptr_array_new_with_free_func (command_free);
      update_state (self);
    }
}

void
tablero_stack_end_group (TableroStack *self)
{
  Command *group;

  g_return_if_fail (TABLERO_IS_STACK (self));
  g_return_if_fail (self->group_depth > 0);

  if (--self->group_depth > 0)
    return;

  group = g_steal_pointer (&self->group);
  if (group->children->len == 0)
    {
      command_free (group);
    }
  else
    {
      /* An unlabelled group of one edit reads like that edit in menus. */
      if (group->label == NULL && group->children->len == 1)
        group->label = g_strdup (((Command *) g_ptr_array_index (group->children, 0))->label);
      g_ptr_array_add (self->undo, group);
      trim_history (self);
    }
  update_state (self);
}

gboolean
tablero_stack_undo (TableroStack *self)
{
  Command *cmd;

  g_return_val_if_fail (TABLERO_IS_STACK (self), FALSE);
  g_return_val_if_fail (self->group_depth == 0, FALSE);

  if (self->undo->len == 0)
    return FALSE;

  cmd = g_ptr_array_steal_index (self->undo, self->undo->len - 1);
  self->applying++;
  command_revert (self, cmd);
  self->applying--;
  g_ptr_array_add (self->redo, cmd);

  emit_changed (self);
  return TRUE;
}

gboolean
tablero_stack_redo (TableroStack *self)
{
  Command *cmd;

  g_return_val_if_fail (TABLERO_IS_STACK (self), FALSE);
  g_return_val_if_fail (self->group_depth == 0, FALSE);

  if (self->redo->len == 0)
    return FALSE;

  cmd = g_ptr_array_steal_index (self->redo, self->redo->len - 1);
  self->applying++;
  command_apply (self, cmd);
  self->applying--;
  g_ptr_array_add (self->undo, cmd);

  emit_changed (self);
  return TRUE;
}

gboolean
tablero_stack_get_can_undo (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), FALSE);
  return self->can_undo;
}

gboolean
tablero_stack_get_can_redo (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), FALSE);
  return self->can_redo;
}

const char *
tablero_stack_get_undo_label (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);

  if (!self->can_undo)
    return NULL;
  return ((Command *) g_ptr_array_index (self->undo, self->undo->len - 1))->label;
}

const char *
tablero_stack_get_redo_label (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);

  if (!self->can_redo)
    return NULL;
  return ((Command *) g_ptr_array_index (self->redo, self->redo->len - 1))->label;
}

gboolean
tablero_stack_get_modified (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), FALSE);
  return self->modified;
}

void
tablero_stack_set_modified (TableroStack *self,
                            gboolean      modified)
{
  g_return_if_fail (TABLERO_IS_STACK (self));

  if (modified)
    {
      self->dirty = TRUE;
    }
  else
    {
      self->dirty = FALSE;
      self->saved_serial = current_serial (self);
    }
  update_state (self);
}

guint64
tablero_stack_get_edit_count (TableroStack *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK (self), 0);
  return self->edit_count;
}

/* Free position */

static gboolean
spot_is_free (TableroStack *self,
              double        x,
              double        y)
{
  const double min_dx = TABLERO_NODE_WIDTH + TABLERO_NODE_GAP;
  const double min_dy = TABLERO_NODE_HEIGHT + TABLERO_NODE_GAP;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->nodes));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TableroNode) node = g_list_model_get_item (G_LIST_MODEL (self->nodes), i);

      if (fabs (tablero_node_get_x (node) - x) < min_dx &&
          fabs (tablero_node_get_y (node) - y) < min_dy)
        return FALSE;
    }
  return TRUE;
}

void
tablero_stack_free_position (TableroStack *self,
                             double       *x,
                             double       *y)
{
  /* Grid step: the gap, so that spots line up with neatly spaced nodes. */
  const double step = TABLERO_NODE_GAP;
  double best_x = 0, best_y = 0, best_dist = INFINITY;
  double x0, y0;

  g_return_if_fail (TABLERO_IS_STACK (self));
  g_return_if_fail (x != NULL && y != NULL);

  x0 = isfinite (*x) ? *x : 0;
  y0 = isfinite (*y) ? *y : 0;

  /* Square rings around the wanted spot, nearest first. Every spot of ring
   * r is at least r * step away, so once that exceeds the best distance
   * found no later ring can beat it. The search ends: beyond the nodes'
   * extent every spot is free. */
  for (gint64 r = 0; r * step <= best_dist; r++)
    {
      /* The ring's perimeter: top and bottom rows, then the sides. */
      gint64 n_spots = r == 0 ? 1 : 8 * r;

      for (gint64 k = 0; k < n_spots; k++)
        {
          gint64 i, j;
          double cx, cy, dist;

          if (r == 0)
            i = j = 0;
          else if (k < 2 * r + 1)
            i = k - r, j = -r;
          else if (k < 4 * r + 2)
            i = k - (3 * r + 1), j = r;
          else if (k < 6 * r + 1)
            i = -r, j = k - (5 * r + 1);
          else
            i = r, j = k - (7 * r);

          cx = x0 + i * step;
          cy = y0 + j * step;
          dist = hypot (cx - x0, cy - y0);
          if (dist < best_dist && spot_is_free (self, cx, cy))
            {
              best_dist = dist;
              best_x = cx;
              best_y = cy;
            }
        }
    }

  *x = best_x;
  *y = best_y;
}

/* Export */

char *
tablero_stack_to_json (TableroStack *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  guint n;

  g_return_val_if_fail (TABLERO_IS_STACK (self), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, STACK_FORMAT);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, STACK_VERSION);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, self->name);

  json_builder_set_member_name (builder, "nodes");
  json_builder_begin_array (builder);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->nodes));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TableroNode) node = g_list_model_get_item (G_LIST_MODEL (self->nodes), i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, tablero_node_get_id (node));
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, tablero_node_get_name (node));
      json_builder_set_member_name (builder, "kind");
      json_builder_add_string_value (builder,
                                     tablero_node_kind_to_string (tablero_node_get_kind (node)));
      json_builder_set_member_name (builder, "x");
      json_builder_add_double_value (builder, tablero_node_get_x (node));
      json_builder_set_member_name (builder, "y");
      json_builder_add_double_value (builder, tablero_node_get_y (node));
      json_builder_set_member_name (builder, "address");
      json_builder_add_string_value (builder, tablero_node_get_address (node));
      json_builder_set_member_name (builder, "port");
      json_builder_add_int_value (builder, tablero_node_get_port (node));
      json_builder_set_member_name (builder, "transport");
      json_builder_add_string_value (builder, tablero_node_get_transport (node));
      json_builder_set_member_name (builder, "local");
      json_builder_add_boolean_value (builder, tablero_node_get_local (node));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "edges");
  json_builder_begin_array (builder);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->edges));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TableroEdge) edge = g_list_model_get_item (G_LIST_MODEL (self->edges), i);
      const char * const *resource = tablero_edge_get_resource (edge);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, tablero_edge_get_id (edge));
      json_builder_set_member_name (builder, "source");
      json_builder_add_string_value (builder, tablero_edge_get_source_id (edge));
      json_builder_set_member_name (builder, "target");
      json_builder_add_string_value (builder, tablero_edge_get_target_id (edge));
      json_builder_set_member_name (builder, "method");
      json_builder_add_string_value (builder, tablero_edge_get_method (edge));
      json_builder_set_member_name (builder, "resource");
      json_builder_begin_array (builder);
      for (guint j = 0; resource[j] != NULL; j++)
        json_builder_add_string_value (builder, resource[j]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  return json_generator_to_data (generator, NULL);
}

/* Import
 *
 * The document is checked before json-glib sees it (size, UTF-8, nesting:
 * json-glib's parser recurses, so a deeply nested hostile file could exhaust
 * the stack), then every member is checked by type and range. Messages name
 * the member as a path, e.g. "nodes[2].port". */

static gboolean
check_text (const char  *json,
            GError     **error)
{
  gsize length = strnlen (json, TABLERO_STACK_MAX_JSON_SIZE + 1);
  guint depth = 0;
  gboolean in_string = FALSE;

  if (length > TABLERO_STACK_MAX_JSON_SIZE)
    {
      g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_TOO_LARGE,
                   _("The stack file is larger than %d MiB"),
                   TABLERO_STACK_MAX_JSON_SIZE / (1024 * 1024));
      return FALSE;
    }

  if (!g_utf8_validate (json, length, NULL))
    {
      g_set_error_literal (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_PARSE,
                           _("The stack file is not valid UTF-8 text"));
      return FALSE;
    }

  for (gsize i = 0; i < length; i++)
    {
      char c = json[i];

      if (in_string)
        {
          if (c == '\\' && i + 1 < length)
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        {
          in_string = TRUE;
        }
      else if (c == '{' || c == '[')
        {
          if (++depth > TABLERO_STACK_MAX_DEPTH)
            {
              g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_TOO_LARGE,
                           _("The stack file nests objects and arrays deeper than %d levels"),
                           TABLERO_STACK_MAX_DEPTH);
              return FALSE;
            }
        }
      else if ((c == '}' || c == ']') && depth > 0)
        {
          depth--;
        }
    }

  return TRUE;
}

static gboolean
invalid (GError    **error,
         const char *path,
         const char *problem)
{
  g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_INVALID,
               /* Translators: %s are a member of the stack file, e.g.
                * "nodes[2].port", and what is wrong with it. */
               _("Invalid stack file: %s: %s"), path, problem);
  return FALSE;
}

/* Refuses members of @object not in @allowed. */
static gboolean
check_members (JsonObject         *object,
               const char         *path,
               const char * const *allowed,
               GError            **error)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        g_autofree char *member = path != NULL
          ? g_strdup_printf ("%s.%s", path, (const char *) l->data)
          : g_strdup (l->data);
        return invalid (error, member, _("unknown member"));
      }
  return TRUE;
}

/* Looks up @name in @object. Returns FALSE with an error if it is missing
 * and @required; *value is NULL if it is missing and optional. */
static gboolean
get_member (JsonObject  *object,
            const char  *path,
            const char  *name,
            gboolean     required,
            JsonNode   **value,
            GError     **error)
{
  g_autofree char *member = path != NULL ? g_strdup_printf ("%s.%s", path, name) : g_strdup (name);

  *value = json_object_get_member (object, name);
  if (*value == NULL)
    {
      if (required)
        return invalid (error, member, _("missing"));
      return TRUE;
    }
  return TRUE;
}

static gboolean
get_string (JsonObject  *object,
            const char  *path,
            const char  *name,
            gboolean     required,
            gboolean     allow_empty,
            gsize        max_length,
            const char **out,
            GError     **error)
{
  g_autofree char *member = path != NULL ? g_strdup_printf ("%s.%s", path, name) : g_strdup (name);
  JsonNode *value;
  const char *str;

  *out = NULL;
  if (!get_member (object, path, name, required, &value, error))
    return FALSE;
  if (value == NULL)
    return TRUE;

  if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
    return invalid (error, member, _("expected a string"));

  str = json_node_get_string (value);
  if (!allow_empty && *str == '\0')
    return invalid (error, member, _("must not be empty"));
  if (strlen (str) > max_length)
    {
      g_autofree char *problem = g_strdup_printf (_("longer than %u bytes"), (guint) max_length);
      return invalid (error, member, problem);
    }

  *out = str;
  return TRUE;
}

static gboolean
get_number (JsonObject  *object,
            const char  *path,
            const char  *name,
            double       limit,
            double      *out,
            GError     **error)
{
  g_autofree char *member = g_strdup_printf ("%s.%s", path, name);
  JsonNode *value;
  GType type;
  double number;

  if (!get_member (object, path, name, TRUE, &value, error))
    return FALSE;

  type = JSON_NODE_HOLDS_VALUE (value) ? json_node_get_value_type (value) : G_TYPE_INVALID;
  if (type == G_TYPE_INT64)
    number = (double) json_node_get_int (value);
  else if (type == G_TYPE_DOUBLE)
    number = json_node_get_double (value);
  else
    return invalid (error, member, _("expected a number"));

  if (!isfinite (number) || fabs (number) > limit)
    {
      g_autofree char *problem = g_strdup_printf (_("expected a number between %g and %g"),
                                                  -limit, limit);
      return invalid (error, member, problem);
    }

  *out = number;
  return TRUE;
}

static TableroNode *
parse_node (JsonNode    *item,
            const char  *path,
            GError     **error)
{
  static const char * const allowed[] = {
    "id", "name", "kind", "x", "y", "address", "port", "transport", "local", NULL
  };
  g_autoptr(TableroNode) node = NULL;
  g_autofree char *kind_path = g_strdup_printf ("%s.kind", path);
  JsonObject *object;
  JsonNode *value;
  const char *id, *name, *kind_name, *address, *transport;
  TableroNodeKind kind = TABLERO_NODE_KIND_ENGINE;
  double x, y;

  if (!JSON_NODE_HOLDS_OBJECT (item))
    {
      invalid (error, path, _("expected an object"));
      return NULL;
    }
  object = json_node_get_object (item);

  if (!check_members (object, path, allowed, error) ||
      !get_string (object, path, "id", TRUE, FALSE, TABLERO_STACK_MAX_STRING, &id, error) ||
      !get_string (object, path, "name", TRUE, TRUE, TABLERO_STACK_MAX_STRING, &name, error) ||
      !get_string (object, path, "kind", TRUE, FALSE, TABLERO_STACK_MAX_STRING, &kind_name,
                   error) ||
      !get_number (object, path, "x", TABLERO_STACK_MAX_COORDINATE, &x, error) ||
      !get_number (object, path, "y", TABLERO_STACK_MAX_COORDINATE, &y, error) ||
      !get_string (object, path, "address", FALSE, FALSE, 255, &address, error) ||
      !get_string (object, path, "transport", FALSE, FALSE, TABLERO_STACK_MAX_STRING,
                   &transport, error))
    return NULL;

  if (!tablero_node_kind_from_string (kind_name, &kind))
    {
      g_autofree char *problem = NULL;

      /* Translators: the words in quotes are file syntax; don't translate them. */
      problem = g_strdup_printf (_("unknown kind “%s” (expected “engine”, “monje” or “pajaro”)"),
                                 kind_name);
      invalid (error, kind_path, problem);
      return NULL;
    }

  if (transport != NULL && !g_str_equal (transport, "tcp") && !g_str_equal (transport, "ws"))
    {
      g_autofree char *member = g_strdup_printf ("%s.transport", path);
      g_autofree char *problem =
        g_strdup_printf (_("unknown transport “%s” (expected “tcp” or “ws”)"), transport);
      invalid (error, member, problem);
      return NULL;
    }

  node = tablero_node_new (id, kind, name);
  tablero_node_set_position (node, x, y);
  if (address != NULL)
    tablero_node_set_address (node, address);
  if (transport != NULL)
    tablero_node_set_transport (node, transport);

  value = json_object_get_member (object, "port");
  if (value != NULL)
    {
      g_autofree char *member = g_strdup_printf ("%s.port", path);

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64 ||
          json_node_get_int (value) < 0 || json_node_get_int (value) > 65535)
        {
          invalid (error, member, _("expected an integer from 0 to 65535"));
          return NULL;
        }
      tablero_node_set_port (node, (guint) json_node_get_int (value));
    }

  value = json_object_get_member (object, "local");
  if (value != NULL)
    {
      g_autofree char *member = g_strdup_printf ("%s.local", path);

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_BOOLEAN)
        {
          invalid (error, member, _("expected true or false"));
          return NULL;
        }
      tablero_node_set_local (node, json_node_get_boolean (value));
    }

  return g_steal_pointer (&node);
}

static TableroEdge *
parse_edge (JsonNode      *item,
            const char    *path,
            TableroStack  *stack,
            GError       **error)
{
  static const char * const allowed[] = {
    "id", "source", "target", "method", "resource", NULL
  };
  g_autoptr(GPtrArray) resource = g_ptr_array_new ();
  JsonObject *object;
  JsonNode *value;
  const char *id, *source, *target, *method;

  if (!JSON_NODE_HOLDS_OBJECT (item))
    {
      invalid (error, path, _("expected an object"));
      return NULL;
    }
  object = json_node_get_object (item);

  if (!check_members (object, path, allowed, error) ||
      !get_string (object, path, "id", TRUE, FALSE, TABLERO_STACK_MAX_STRING, &id, error) ||
      !get_string (object, path, "source", TRUE, FALSE, TABLERO_STACK_MAX_STRING, &source, error) ||
      !get_string (object, path, "target", TRUE, FALSE, TABLERO_STACK_MAX_STRING, &target, error) ||
      !get_string (object, path, "method", FALSE, FALSE, TABLERO_STACK_MAX_STRING, &method, error))
    return NULL;

  if (tablero_stack_find_node (stack, source) == NULL)
    {
      g_autofree char *member = g_strdup_printf ("%s.source", path);
      g_autofree char *problem = g_strdup_printf (_("no node has the id “%s”"), source);
      invalid (error, member, problem);
      return NULL;
    }
  if (tablero_stack_find_node (stack, target) == NULL)
    {
      g_autofree char *member = g_strdup_printf ("%s.target", path);
      g_autofree char *problem = g_strdup_printf (_("no node has the id “%s”"), target);
      invalid (error, member, problem);
      return NULL;
    }
  if (g_str_equal (source, target))
    {
      invalid (error, path, _("an edge cannot connect a node to itself"));
      return NULL;
    }

  value = json_object_get_member (object, "resource");
  if (value != NULL)
    {
      g_autofree char *member = g_strdup_printf ("%s.resource", path);
      JsonArray *array;
      guint n;

      if (!JSON_NODE_HOLDS_ARRAY (value))
        {
          invalid (error, member, _("expected an array of strings"));
          return NULL;
        }
      array = json_node_get_array (value);
      n = json_array_get_length (array);
      if (n > TABLERO_STACK_MAX_RESOURCE)
        {
          g_autofree char *problem = g_strdup_printf (_("more than %d elements"),
                                                      TABLERO_STACK_MAX_RESOURCE);
          invalid (error, member, problem);
          return NULL;
        }
      for (guint i = 0; i < n; i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (!JSON_NODE_HOLDS_VALUE (element) ||
              json_node_get_value_type (element) != G_TYPE_STRING ||
              strlen (json_node_get_string (element)) > TABLERO_STACK_MAX_STRING)
            {
              g_autofree char *element_path = g_strdup_printf ("%s[%u]", member, i);
              invalid (error, element_path, _("expected a string"));
              return NULL;
            }
          g_ptr_array_add (resource, (gpointer) json_node_get_string (element));
        }
    }
  g_ptr_array_add (resource, NULL);

  return tablero_edge_new (id, source, target, method,
                           (const char * const *) resource->pdata);
}

static gboolean
check_id_unique (TableroStack *stack,
                 const char   *path,
                 const char   *id,
                 GError      **error)
{
  if (id_in_use (stack, id))
    {
      g_autofree char *member = g_strdup_printf ("%s.id", path);
      g_autofree char *problem = g_strdup_printf (_("the id “%s” is used twice"), id);
      return invalid (error, member, problem);
    }
  return TRUE;
}

TableroStack *
tablero_stack_new_from_json (const char  *json,
                             GError     **error)
{
  static const char * const allowed[] = {
    "format", "version", "name", "nodes", "edges", NULL
  };
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(TableroStack) stack = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonObject *root;
  JsonNode *value;
  JsonArray *nodes, *edges;
  const char *format, *name;
  guint n;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_text (json, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, json, -1, &local_error))
    {
      g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_PARSE,
                   _("The stack file is not valid JSON: %s"), local_error->message);
      return NULL;
    }

  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error_literal (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_PARSE,
                           _("The stack file is empty"));
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_FORMAT,
                           _("Not a Tablero stack file: the document is not a JSON object"));
      return NULL;
    }
  root = json_node_get_object (json_parser_get_root (parser));

  value = json_object_get_member (root, "format");
  if (value == NULL || !JSON_NODE_HOLDS_VALUE (value) ||
      json_node_get_value_type (value) != G_TYPE_STRING)
    {
      g_set_error_literal (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_FORMAT,
                           _("Not a Tablero stack file: “format” is missing"));
      return NULL;
    }
  format = json_node_get_string (value);
  if (!g_str_equal (format, STACK_FORMAT))
    {
      g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_FORMAT,
                   _("Not a Tablero stack file: “format” is “%.64s”, not “%s”"),
                   format, STACK_FORMAT);
      return NULL;
    }

  value = json_object_get_member (root, "version");
  if (value == NULL || !JSON_NODE_HOLDS_VALUE (value) ||
      json_node_get_value_type (value) != G_TYPE_INT64 || json_node_get_int (value) < 1)
    {
      invalid (error, "version", _("expected a positive integer"));
      return NULL;
    }
  if (json_node_get_int (value) > STACK_VERSION)
    {
      /* %lld, not G_GINT64_FORMAT: xgettext can't expand macros. */
      g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_VERSION,
                   _("The stack file has format version %lld, but this version of "
                     "Tablero reads only version %d; update Tablero to open it"),
                   (long long) json_node_get_int (value), STACK_VERSION);
      return NULL;
    }

  if (!check_members (root, NULL, allowed, error) ||
      !get_string (root, NULL, "name", TRUE, FALSE, TABLERO_STACK_MAX_NAME, &name, error))
    return NULL;

  value = json_object_get_member (root, "nodes");
  if (value == NULL || !JSON_NODE_HOLDS_ARRAY (value))
    {
      invalid (error, "nodes", value == NULL ? _("missing") : _("expected an array"));
      return NULL;
    }
  nodes = json_node_get_array (value);

  value = json_object_get_member (root, "edges");
  if (value == NULL || !JSON_NODE_HOLDS_ARRAY (value))
    {
      invalid (error, "edges", value == NULL ? _("missing") : _("expected an array"));
      return NULL;
    }
  edges = json_node_get_array (value);

  if (json_array_get_length (nodes) > TABLERO_STACK_MAX_NODES)
    {
      g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_TOO_LARGE,
                   _("The stack file has more than %d nodes"), TABLERO_STACK_MAX_NODES);
      return NULL;
    }
  if (json_array_get_length (edges) > TABLERO_STACK_MAX_EDGES)
    {
      g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_TOO_LARGE,
                   _("The stack file has more than %d edges"), TABLERO_STACK_MAX_EDGES);
      return NULL;
    }

  stack = tablero_stack_new (name);

  n = json_array_get_length (nodes);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("nodes[%u]", i);
      g_autoptr(TableroNode) node = parse_node (json_array_get_element (nodes, i), path, error);

      if (node == NULL || !check_id_unique (stack, path, tablero_node_get_id (node), error))
        return NULL;
      insert_node (stack, node, G_MAXUINT);
    }

  n = json_array_get_length (edges);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("edges[%u]", i);
      g_autoptr(TableroEdge) edge = parse_edge (json_array_get_element (edges, i), path,
                                                stack, error);

      if (edge == NULL || !check_id_unique (stack, path, tablero_edge_get_id (edge), error))
        return NULL;
      insert_edge (stack, edge, G_MAXUINT);
    }

  return g_steal_pointer (&stack);
}
