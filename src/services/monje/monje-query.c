/* SPDX-License-Identifier: MIT */
/* monje-query.c: parsing and checking query bodies; projections. */
#include "config.h"

#include <string.h>

#include "monje-query.h"

#include "jstp-error.h"
#include "monje-document.h"

#define MAX_FILTER_DEPTH 32
#define MAX_LIST         1000   /* $in, $nin, $and, $or, $nor elements */
#define MAX_SORT_KEYS    32

/* The projection as a tree of objects whose leaves are `true`; kept next to
 * the public struct so that callers never see it half-built. */
typedef struct {
  MonjeQuery query;
  JsonObject *projection_tree;
} Query;

static const char * const option_names[] = {
  "filter", "sort", "limit", "skip", "projection", "count", NULL
};

static const struct {
  const char *name;
  MonjeOperator op;
} operators[] = {
  { "$eq", MONJE_OPERATOR_EQ },
  { "$ne", MONJE_OPERATOR_NE },
  { "$gt", MONJE_OPERATOR_GT },
  { "$gte", MONJE_OPERATOR_GTE },
  { "$lt", MONJE_OPERATOR_LT },
  { "$lte", MONJE_OPERATOR_LTE },
  { "$in", MONJE_OPERATOR_IN },
  { "$nin", MONJE_OPERATOR_NIN },
  { "$exists", MONJE_OPERATOR_EXISTS },
};

static void
condition_free (gpointer data)
{
  MonjeCondition *condition = data;

  if (condition == NULL)
    return;
  g_clear_pointer (&condition->children, g_ptr_array_unref);
  g_free (condition->path);
  g_strfreev (condition->segments);
  g_clear_pointer (&condition->value, json_node_unref);
  g_free (condition);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MonjeCondition, condition_free)

static MonjeCondition *
condition_new_group (MonjeConditionKind kind)
{
  MonjeCondition *condition = g_new0 (MonjeCondition, 1);

  condition->kind = kind;
  condition->children = g_ptr_array_new_with_free_func (condition_free);
  return condition;
}

static void
sort_key_free (gpointer data)
{
  MonjeSortKey *key = data;

  g_free (key->path);
  g_strfreev (key->segments);
  g_free (key);
}

static gboolean
is_number (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static gboolean
is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
is_boolean (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
}

/* An object with at least one member whose name starts with `$`. */
static gboolean
has_operator_members (JsonNode *node,
                      gboolean *all)
{
  JsonObjectIter iter;
  const char *name;
  guint n = 0, n_dollar = 0;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &name, NULL))
    {
      n++;
      if (name[0] == '$')
        n_dollar++;
    }
  if (all)
    *all = n_dollar == n;
  return n_dollar > 0;
}

static gboolean
check_operand (JsonNode    *value,
               const char  *op_name,
               const char  *path,
               GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!monje_document_check_value (value, NULL, &local_error))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "the value of %s on “%s” is not a plain value: %s",
                   op_name, path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

static MonjeCondition *
parse_field_operator (const char  *path,
                      char       **segments,
                      const char  *op_name,
                      JsonNode    *value,
                      GError     **error)
{
  g_autoptr(MonjeCondition) condition = g_new0 (MonjeCondition, 1);
  gboolean known = FALSE;

  condition->kind = MONJE_CONDITION_FIELD;
  for (guint i = 0; i < G_N_ELEMENTS (operators); i++)
    if (g_str_equal (op_name, operators[i].name))
      {
        condition->op = operators[i].op;
        known = TRUE;
      }
  if (!known)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "unknown operator %s on “%s” (known: $eq $ne $gt $gte $lt $lte $in $nin "
                   "$exists)", op_name, path);
      return NULL;
    }

  switch (condition->op)
    {
    case MONJE_OPERATOR_EQ:
    case MONJE_OPERATOR_NE:
      if (!check_operand (value, op_name, path, error))
        return NULL;
      break;

    case MONJE_OPERATOR_GT:
    case MONJE_OPERATOR_GTE:
    case MONJE_OPERATOR_LT:
    case MONJE_OPERATOR_LTE:
      if (!is_number (value) && !is_string (value))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "%s on “%s” takes a number or a string", op_name, path);
          return NULL;
        }
      break;

    case MONJE_OPERATOR_IN:
    case MONJE_OPERATOR_NIN:
      if (!JSON_NODE_HOLDS_ARRAY (value))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "%s on “%s” takes an array", op_name, path);
          return NULL;
        }
      if (json_array_get_length (json_node_get_array (value)) > MAX_LIST)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "%s on “%s” has more than %d values", op_name, path, MAX_LIST);
          return NULL;
        }
      if (!check_operand (value, op_name, path, error))
        return NULL;
      break;

    case MONJE_OPERATOR_EXISTS:
      if (!is_boolean (value))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "$exists on “%s” takes true or false", path);
          return NULL;
        }
      break;
    }

  condition->path = g_strdup (path);
  condition->segments = g_strdupv (segments);
  condition->value = json_node_copy (value);
  return g_steal_pointer (&condition);
}

static MonjeCondition *parse_filter (JsonNode *node, guint depth, GError **error);

static gboolean
parse_field (MonjeCondition  *parent,
             const char      *path,
             JsonNode        *value,
             GError         **error)
{
  g_auto(GStrv) segments = monje_path_split (path, error);
  gboolean all_operators = FALSE;

  if (segments == NULL)
    return FALSE;

  if (has_operator_members (value, &all_operators))
    {
      JsonObjectIter iter;
      const char *op_name;
      JsonNode *operand;

      if (!all_operators)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "the condition on “%s” mixes operators and plain members", path);
          return FALSE;
        }
      json_object_iter_init_ordered (&iter, json_node_get_object (value));
      while (json_object_iter_next_ordered (&iter, &op_name, &operand))
        {
          MonjeCondition *condition = parse_field_operator (path, segments, op_name, operand,
                                                            error);
          if (condition == NULL)
            return FALSE;
          g_ptr_array_add (parent->children, condition);
        }
      return TRUE;
    }

  {
    MonjeCondition *condition = parse_field_operator (path, segments, "$eq", value, error);

    if (condition == NULL)
      return FALSE;
    g_ptr_array_add (parent->children, condition);
  }
  return TRUE;
}

static MonjeCondition *
parse_group (MonjeConditionKind   kind,
             const char          *name,
             JsonNode            *value,
             guint                depth,
             GError             **error)
{
  g_autoptr(MonjeCondition) group = condition_new_group (kind);
  JsonArray *array;
  guint n;

  if (!JSON_NODE_HOLDS_ARRAY (value) ||
      (n = json_array_get_length (array = json_node_get_array (value))) == 0)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "%s takes a non-empty array of filters", name);
      return NULL;
    }
  if (n > MAX_LIST)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "%s has more than %d filters", name, MAX_LIST);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    {
      MonjeCondition *child = parse_filter (json_array_get_element (array, i), depth + 1, error);

      if (child == NULL)
        return NULL;
      g_ptr_array_add (group->children, child);
    }
  return g_steal_pointer (&group);
}

static MonjeCondition *
parse_filter (JsonNode  *node,
              guint      depth,
              GError   **error)
{
  g_autoptr(MonjeCondition) all = condition_new_group (MONJE_CONDITION_AND);
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (depth > MAX_FILTER_DEPTH)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "the filter nests $and/$or/$nor deeper than %d", MAX_FILTER_DEPTH);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "a filter must be a JSON object");
      return NULL;
    }

  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      if (name[0] == '$')
        {
          MonjeConditionKind kind;
          MonjeCondition *group;

          if (g_str_equal (name, "$and"))
            kind = MONJE_CONDITION_AND;
          else if (g_str_equal (name, "$or"))
            kind = MONJE_CONDITION_OR;
          else if (g_str_equal (name, "$nor"))
            kind = MONJE_CONDITION_NOR;
          else
            {
              g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "unknown top-level operator %s (known: $and $or $nor)", name);
              return NULL;
            }
          group = parse_group (kind, name, value, depth, error);
          if (group == NULL)
            return NULL;
          g_ptr_array_add (all->children, group);
        }
      else if (!parse_field (all, name, value, error))
        return NULL;
    }
  return g_steal_pointer (&all);
}

static gboolean
read_count (JsonNode    *node,
            const char  *name,
            gint64      *out,
            GError     **error)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 0)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "%s must be a whole number, 0 or more", name);
      return FALSE;
    }
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
parse_sort (MonjeQuery  *query,
            JsonNode    *node,
            GError     **error)
{
  JsonObjectIter iter;
  const char *path;
  JsonNode *value;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "sort must be an object such as {\"field\": 1, \"other\": -1}");
      return FALSE;
    }
  if (json_object_get_size (json_node_get_object (node)) > MAX_SORT_KEYS)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "sort has more than %d keys", MAX_SORT_KEYS);
      return FALSE;
    }
  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &path, &value))
    {
      MonjeSortKey *key;
      char **segments;
      gint64 direction;

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64 ||
          ((direction = json_node_get_int (value)) != 1 && direction != -1))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "sort direction of “%s” must be 1 or -1", path);
          return FALSE;
        }
      if ((segments = monje_path_split (path, error)) == NULL)
        return FALSE;
      key = g_new0 (MonjeSortKey, 1);
      key->path = g_strdup (path);
      key->segments = segments;
      key->direction = (int) direction;
      g_ptr_array_add (query->sort, key);
    }
  return TRUE;
}

/* Adds @segments to the projection tree; FALSE when a path collides with
 * another (one is a prefix of the other). */
static gboolean
tree_add (JsonObject  *tree,
          char       **segments)
{
  for (guint i = 0; segments[i]; i++)
    {
      JsonNode *node = json_object_get_member (tree, segments[i]);

      if (segments[i + 1] == NULL)
        {
          if (node)
            return FALSE;
          json_object_set_boolean_member (tree, segments[i], TRUE);
          return TRUE;
        }
      if (node == NULL)
        {
          JsonObject *inner = json_object_new ();

          json_object_set_object_member (tree, segments[i], inner);
          tree = inner;
        }
      else if (JSON_NODE_HOLDS_OBJECT (node))
        tree = json_node_get_object (node);
      else
        return FALSE;
    }
  return TRUE;
}

static gboolean
parse_projection (Query       *self,
                  JsonNode    *node,
                  GError     **error)
{
  MonjeQuery *query = &self->query;
  JsonObjectIter iter;
  const char *path;
  JsonNode *value;
  int mode = -1;    /* -1 unknown, 1 keeps, 0 drops */

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "projection must be an object such as {\"field\": 1}");
      return FALSE;
    }

  self->projection_tree = json_object_new ();
  query->projection_id = TRUE;
  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &path, &value))
    {
      g_auto(GStrv) segments = NULL;
      int keep;

      if (is_boolean (value))
        keep = json_node_get_boolean (value) ? 1 : 0;
      else if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_INT64 &&
               (json_node_get_int (value) == 0 || json_node_get_int (value) == 1))
        keep = (int) json_node_get_int (value);
      else
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "projection of “%s” must be 1, 0, true or false", path);
          return FALSE;
        }
      if ((segments = monje_path_split (path, error)) == NULL)
        return FALSE;
      if (g_str_equal (path, "_id"))
        {
          query->projection_id = keep;
          continue;
        }
      if (mode != -1 && mode != keep)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "projection mixes kept and dropped fields at “%s”: list either the "
                       "fields to keep (1) or those to drop (0)", path);
          return FALSE;
        }
      mode = keep;
      if (!tree_add (self->projection_tree, segments))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "projection path “%s” collides with another path", path);
          return FALSE;
        }
    }

  if (mode == -1 && query->projection_id)
    {
      /* {} or {"_id": 1}-only: MongoDB reads {} as no projection. */
      if (json_object_get_size (json_node_get_object (node)) == 0)
        {
          g_clear_pointer (&self->projection_tree, json_object_unref);
          return TRUE;
        }
      mode = 1;
    }
  query->projection_keeps = mode == 1;
  query->projection_json = json_node_copy (node);
  return TRUE;
}

static gboolean
is_options_shape (JsonObject *object)
{
  JsonObjectIter iter;
  const char *name;

  if (json_object_get_size (object) == 0)
    return FALSE;
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, NULL))
    if (!g_strv_contains (option_names, name))
      return FALSE;
  return TRUE;
}

static void
query_clear (gpointer data)
{
  Query *self = data;
  MonjeQuery *query = &self->query;

  g_clear_pointer (&query->filter, condition_free);
  g_clear_pointer (&query->filter_json, json_node_unref);
  g_clear_pointer (&query->sort, g_ptr_array_unref);
  g_clear_pointer (&query->projection_json, json_node_unref);
  g_clear_pointer (&self->projection_tree, json_object_unref);
}

MonjeQuery *
monje_query_new (JsonNode  *body,
                 GError   **error)
{
  Query *self = g_atomic_rc_box_new0 (Query);
  MonjeQuery *query = &self->query;
  JsonNode *filter = NULL;

  query->sort = g_ptr_array_new_with_free_func (sort_key_free);

  if (body && !JSON_NODE_HOLDS_NULL (body))
    {
      JsonObject *object;

      if (!JSON_NODE_HOLDS_OBJECT (body))
        {
          g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                               "the query must be a JSON object: a filter, or "
                               "{\"filter\", \"sort\", \"limit\", \"skip\", \"projection\", "
                               "\"count\"}");
          goto fail;
        }
      object = json_node_get_object (body);
      if (is_options_shape (object))
        {
          JsonNode *node;

          filter = json_object_get_member (object, "filter");
          if (filter && JSON_NODE_HOLDS_NULL (filter))
            filter = NULL;
          if ((node = json_object_get_member (object, "sort")) && !JSON_NODE_HOLDS_NULL (node) &&
              !parse_sort (query, node, error))
            goto fail;
          if ((node = json_object_get_member (object, "limit")) &&
              !read_count (node, "limit", &query->limit, error))
            goto fail;
          if ((node = json_object_get_member (object, "skip")) &&
              !read_count (node, "skip", &query->skip, error))
            goto fail;
          if ((node = json_object_get_member (object, "projection")) &&
              !JSON_NODE_HOLDS_NULL (node) && !parse_projection (self, node, error))
            goto fail;
          if ((node = json_object_get_member (object, "count")))
            {
              if (!is_boolean (node))
                {
                  g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                                       "count must be true or false");
                  goto fail;
                }
              query->count = json_node_get_boolean (node);
            }
        }
      else
        filter = body;
    }

  if (filter)
    {
      query->filter = parse_filter (filter, 0, error);
      if (query->filter == NULL)
        goto fail;
      query->filter_json = json_node_copy (filter);
    }
  else
    {
      query->filter = condition_new_group (MONJE_CONDITION_AND);
      query->filter_json = json_node_init_object (json_node_alloc (), json_object_new ());
    }
  return query;

fail:
  g_atomic_rc_box_release_full (self, query_clear);
  return NULL;
}

MonjeQuery *
monje_query_ref (MonjeQuery *query)
{
  return &((Query *) g_atomic_rc_box_acquire ((Query *) query))->query;
}

void
monje_query_unref (MonjeQuery *query)
{
  g_atomic_rc_box_release_full ((Query *) query, query_clear);
}

static void
collect_condition (MonjeCondition *condition,
                   GHashTable     *paths)
{
  if (condition->kind == MONJE_CONDITION_FIELD)
    {
      g_hash_table_add (paths, g_strdup (condition->path));
      return;
    }
  for (guint i = 0; i < condition->children->len; i++)
    collect_condition (g_ptr_array_index (condition->children, i), paths);
}

void
monje_query_collect_paths (MonjeQuery *query,
                           GHashTable *paths)
{
  collect_condition (query->filter, paths);
  for (guint i = 0; i < query->sort->len; i++)
    {
      MonjeSortKey *key = g_ptr_array_index (query->sort, i);

      g_hash_table_add (paths, g_strdup (key->path));
    }
}

static JsonNode *project_node (JsonNode *node, JsonObject *tree, gboolean keeps);

static JsonObject *
project_object (JsonObject *object,
                JsonObject *tree,
                gboolean    keeps)
{
  JsonObject *out = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      JsonNode *rule = json_object_get_member (tree, name);

      if (rule == NULL)
        {
          if (!keeps)
            json_object_set_member (out, name, json_node_copy (member));
        }
      else if (JSON_NODE_HOLDS_VALUE (rule))
        {
          if (keeps)
            json_object_set_member (out, name, json_node_copy (member));
        }
      else
        {
          JsonNode *inner = project_node (member, json_node_get_object (rule), keeps);

          if (inner)
            json_object_set_member (out, name, inner);
        }
    }
  return out;
}

/* A member under a subtree of rules: objects are projected, arrays
 * element by element; other values go when keeping, stay when dropping. */
static JsonNode *
project_node (JsonNode   *node,
              JsonObject *tree,
              gboolean    keeps)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonNode *out = json_node_alloc ();

      json_node_init_object (out, NULL);
      json_node_take_object (out, project_object (json_node_get_object (node), tree, keeps));
      return out;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      JsonArray *result = json_array_new ();
      JsonNode *out = json_node_alloc ();

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = project_node (json_array_get_element (array, i), tree, keeps);

          if (element)
            json_array_add_element (result, element);
        }
      json_node_init_array (out, NULL);
      json_node_take_array (out, result);
      return out;
    }
  return keeps ? NULL : json_node_copy (node);
}

JsonObject *
monje_query_project (MonjeQuery *query,
                     JsonObject *document)
{
  Query *self = (Query *) query;
  JsonObject *out;
  JsonNode *id;

  if (self->projection_tree == NULL)
    return json_object_ref (document);

  out = project_object (document, self->projection_tree, query->projection_keeps);
  id = json_object_get_member (document, "_id");
  if (query->projection_id && id && !json_object_has_member (out, "_id"))
    {
      /* `_id` first, as stored. */
      JsonObject *with_id = json_object_new ();
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_set_member (with_id, "_id", json_node_copy (id));
      json_object_iter_init_ordered (&iter, out);
      while (json_object_iter_next_ordered (&iter, &name, &member))
        json_object_set_member (with_id, name, json_node_copy (member));
      json_object_unref (out);
      out = with_id;
    }
  else if (!query->projection_id)
    json_object_remove_member (out, "_id");
  return out;
}
