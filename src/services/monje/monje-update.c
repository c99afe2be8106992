/* SPDX-License-Identifier: MIT */
/* monje-update.c: parsing PATCH bodies and applying them to documents. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "monje-update.h"

#include "jstp-error.h"
#include "monje-document.h"

#define MAX_STEPS 1000

static void
step_free (gpointer data)
{
  MonjeUpdateStep *step = data;

  g_free (step->path);
  g_strfreev (step->segments);
  g_clear_pointer (&step->value, json_node_unref);
  g_free (step);
}

static void
update_clear (gpointer data)
{
  MonjeUpdate *update = data;

  g_clear_pointer (&update->steps, g_ptr_array_unref);
  g_clear_pointer (&update->operators_json, json_node_unref);
}

MonjeUpdate *
monje_update_ref (MonjeUpdate *update)
{
  return g_atomic_rc_box_acquire (update);
}

void
monje_update_unref (MonjeUpdate *update)
{
  g_atomic_rc_box_release_full (update, update_clear);
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
add_step (MonjeUpdate      *update,
          MonjeUpdateKind   kind,
          const char       *path,
          JsonNode         *value,
          GError          **error)
{
  MonjeUpdateStep *step;
  char **segments;

  if (g_str_equal (path, "_id") || g_str_has_prefix (path, "_id."))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "_id cannot change");
      return FALSE;
    }
  if (update->steps->len >= MAX_STEPS)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "the update changes more than %d fields", MAX_STEPS);
      return FALSE;
    }
  if ((segments = monje_path_split (path, error)) == NULL)
    return FALSE;

  /* Overlapping paths would make the result depend on the order. */
  for (guint i = 0; i < update->steps->len; i++)
    {
      MonjeUpdateStep *other = g_ptr_array_index (update->steps, i);
      guint j = 0;

      while (segments[j] && other->segments[j] && g_str_equal (segments[j], other->segments[j]))
        j++;
      if (segments[j] == NULL || other->segments[j] == NULL)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "the update changes both “%s” and “%s”, which overlap",
                       other->path, path);
          g_strfreev (segments);
          return FALSE;
        }
    }

  step = g_new0 (MonjeUpdateStep, 1);
  step->kind = kind;
  step->path = g_strdup (path);
  step->segments = segments;
  step->value = value ? json_node_copy (value) : NULL;
  g_ptr_array_add (update->steps, step);
  return TRUE;
}

static gboolean
parse_operators (MonjeUpdate  *update,
                 JsonObject   *body,
                 GError      **error)
{
  JsonObjectIter iter;
  const char *op;
  JsonNode *fields;

  json_object_iter_init_ordered (&iter, body);
  while (json_object_iter_next_ordered (&iter, &op, &fields))
    {
      MonjeUpdateKind kind;
      JsonObjectIter inner;
      const char *path;
      JsonNode *value;

      if (g_str_equal (op, "$set"))
        kind = MONJE_UPDATE_SET;
      else if (g_str_equal (op, "$unset"))
        kind = MONJE_UPDATE_UNSET;
      else if (g_str_equal (op, "$inc"))
        kind = MONJE_UPDATE_INC;
      else
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "unknown update operator %s (known: $set $unset $inc)", op);
          return FALSE;
        }
      if (!JSON_NODE_HOLDS_OBJECT (fields))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "%s takes an object of field paths", op);
          return FALSE;
        }

      json_object_iter_init_ordered (&inner, json_node_get_object (fields));
      while (json_object_iter_next_ordered (&inner, &path, &value))
        {
          if (kind == MONJE_UPDATE_INC && !is_number (value))
            {
              g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "$inc of “%s” takes a number", path);
              return FALSE;
            }
          if (kind == MONJE_UPDATE_SET && !monje_document_check_value (value, path, error))
            return FALSE;
          if (!add_step (update, kind, path, kind == MONJE_UPDATE_UNSET ? NULL : value, error))
            return FALSE;
        }
    }
  return TRUE;
}

static gboolean
parse_merge_patch (MonjeUpdate  *update,
                   const char   *prefix,
                   JsonObject   *patch,
                   const char   *id,
                   GError      **error)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  json_object_iter_init_ordered (&iter, patch);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      g_autofree char *path = prefix ? g_strconcat (prefix, ".", name, NULL) : g_strdup (name);

      if (prefix == NULL && g_str_equal (name, "_id") &&
          JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING &&
          g_str_equal (json_node_get_string (value), id))
        continue;
      if (name[0] == '$' || strchr (name, '.'))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "merge patch member “%s” starts with $ or holds a dot", path);
          return FALSE;
        }

      if (JSON_NODE_HOLDS_NULL (value))
        {
          if (!add_step (update, MONJE_UPDATE_UNSET, path, NULL, error))
            return FALSE;
        }
      else if (JSON_NODE_HOLDS_OBJECT (value))
        {
          if (!parse_merge_patch (update, path, json_node_get_object (value), id, error))
            return FALSE;
        }
      else
        {
          if (!monje_document_check_value (value, path, error) ||
              !add_step (update, MONJE_UPDATE_SET, path, value, error))
            return FALSE;
        }
    }
  return TRUE;
}

static JsonNode *
build_operators (MonjeUpdate *update)
{
  static const char * const names[] = { "$set", "$unset", "$inc" };
  JsonObject *operators = json_object_new ();

  for (guint i = 0; i < update->steps->len; i++)
    {
      MonjeUpdateStep *step = g_ptr_array_index (update->steps, i);
      const char *name = names[step->kind];
      JsonObject *fields;

      if (!json_object_has_member (operators, name))
        json_object_set_object_member (operators, name, json_object_new ());
      fields = json_object_get_object_member (operators, name);
      if (step->kind == MONJE_UPDATE_UNSET)
        json_object_set_string_member (fields, step->path, "");
      else
        json_object_set_member (fields, step->path, json_node_copy (step->value));
    }
  return json_node_init_object (json_node_alloc (), operators);
}

MonjeUpdate *
monje_update_new (JsonNode    *body,
                  const char  *id,
                  GError     **error)
{
  MonjeUpdate *update;
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  guint n = 0, n_operators = 0;
  gboolean ok;

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "PATCH takes an object: update operators ({\"$set\": {...}}) "
                           "or a JSON merge patch");
      return NULL;
    }
  object = json_node_get_object (body);
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, NULL))
    {
      n++;
      if (name[0] == '$')
        n_operators++;
    }
  if (n_operators > 0 && n_operators < n)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "the body mixes update operators and plain members: send either "
                           "operators ({\"$set\": {...}}) or a merge patch");
      return NULL;
    }

  update = g_atomic_rc_box_new0 (MonjeUpdate);
  update->steps = g_ptr_array_new_with_free_func (step_free);
  if (n_operators > 0)
    ok = parse_operators (update, object, error);
  else
    ok = parse_merge_patch (update, NULL, object, id, error);
  if (!ok)
    {
      monje_update_unref (update);
      return NULL;
    }
  update->operators_json = build_operators (update);
  return update;
}

static const char *
type_name (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  if (JSON_NODE_HOLDS_NULL (node))
    return "null";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    default:
      return "a number";
    }
}

/* The object that holds the last segment of @step's path; with @create,
 * missing objects on the way are made. NULL with @error set when a value
 * that is not an object is in the way; NULL without an error when nothing
 * is there and @create is FALSE. */
static JsonObject *
walk (JsonObject       *document,
      MonjeUpdateStep  *step,
      gboolean          create,
      GError          **error)
{
  JsonObject *object = document;

  for (guint i = 0; step->segments[i + 1]; i++)
    {
      JsonNode *node = json_object_get_member (object, step->segments[i]);

      if (node == NULL)
        {
          JsonObject *inner;

          if (!create)
            return NULL;
          inner = json_object_new ();
          json_object_set_object_member (object, step->segments[i], inner);
          object = inner;
        }
      else if (JSON_NODE_HOLDS_OBJECT (node))
        object = json_node_get_object (node);
      else
        {
          if (create)
            g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                         "cannot change “%s”: “%s” holds %s, not an object",
                         step->path, step->segments[i], type_name (node));
          return NULL;
        }
    }
  return object;
}

static gboolean
increment (MonjeUpdateStep  *step,
           JsonNode         *target,
           GError          **error)
{
  JsonNode *by = step->value;

  if (!is_number (target))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "cannot $inc “%s”: it holds %s, not a number",
                   step->path, type_name (target));
      return FALSE;
    }
  if (json_node_get_value_type (target) == G_TYPE_INT64 &&
      json_node_get_value_type (by) == G_TYPE_INT64)
    {
      gint64 a = json_node_get_int (target), b = json_node_get_int (by);

      if ((b > 0 && a > G_MAXINT64 - b) || (b < 0 && a < G_MININT64 - b))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "$inc of “%s” overflows a 64-bit integer", step->path);
          return FALSE;
        }
      json_node_set_int (target, a + b);
    }
  else
    {
      double sum = json_node_get_double (target) + json_node_get_double (by);

      if (!isfinite (sum))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "$inc of “%s” overflows", step->path);
          return FALSE;
        }
      json_node_set_double (target, sum);
    }
  return TRUE;
}

gboolean
monje_update_apply (MonjeUpdate  *update,
                    JsonObject   *document,
                    GError      **error)
{
  for (guint i = 0; i < update->steps->len; i++)
    {
      MonjeUpdateStep *step = g_ptr_array_index (update->steps, i);
      const char *last = step->segments[g_strv_length (step->segments) - 1];
      JsonObject *holder;
      JsonNode *target;

      holder = walk (document, step, step->kind != MONJE_UPDATE_UNSET, error);
      if (holder == NULL)
        {
          if (step->kind == MONJE_UPDATE_UNSET)
            continue;
          return FALSE;
        }

      switch (step->kind)
        {
        case MONJE_UPDATE_SET:
          json_object_set_member (holder, last, json_node_copy (step->value));
          break;

        case MONJE_UPDATE_UNSET:
          if (json_object_has_member (holder, last))
            json_object_remove_member (holder, last);
          break;

        case MONJE_UPDATE_INC:
          target = json_object_get_member (holder, last);
          if (target == NULL)
            json_object_set_member (holder, last, json_node_copy (step->value));
          else if (!increment (step, target, error))
            return FALSE;
          break;
        }
    }
  return TRUE;
}
