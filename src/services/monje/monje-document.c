/* SPDX-License-Identifier: MIT */
/* monje-document.c: ids, member names and field paths. */
#include "config.h"

#include <string.h>
#include <sodium.h>

#include "monje-document.h"

#include "jstp-error.h"
#include "jstp-json.h"
#include "jstp-json-writer.h"

#define PATH_MAX_SEGMENTS 32
#define PATH_MAX_LENGTH   256

char *
monje_document_new_id (void)
{
  guint8 random[8];
  guint32 seconds = (guint32) (g_get_real_time () / G_USEC_PER_SEC);
  GString *id = g_string_sized_new (25);

  randombytes_buf (random, sizeof random);
  g_string_append_printf (id, "%08x", seconds);
  for (guint i = 0; i < sizeof random; i++)
    g_string_append_printf (id, "%02x", random[i]);
  return g_string_free (id, FALSE);
}

gboolean
monje_document_check_id (const char  *id,
                         GError     **error)
{
  gsize length = strlen (id);

  if (length == 0 || length > MONJE_ID_MAX_LENGTH)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "_id must be a string of 1 to %d bytes", MONJE_ID_MAX_LENGTH);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_name (const char  *name,
            const char  *where,
            GError     **error)
{
  if (name[0] == '$')
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "member “%s%s%s” starts with $: names starting with $ are operators",
                   where ? where : "", where ? "." : "", name);
      return FALSE;
    }
  if (strchr (name, '.'))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "member “%s%s%s” holds a dot: dots separate the segments of field paths",
                   where ? where : "", where ? "." : "", name);
      return FALSE;
    }
  return TRUE;
}

gboolean
monje_document_check_value (JsonNode    *value,
                            const char  *where,
                            GError     **error)
{
  if (JSON_NODE_HOLDS_OBJECT (value))
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init_ordered (&iter, json_node_get_object (value));
      while (json_object_iter_next_ordered (&iter, &name, &member))
        {
          g_autofree char *inner = NULL;

          if (!check_name (name, where, error))
            return FALSE;
          inner = where ? g_strconcat (where, ".", name, NULL) : g_strdup (name);
          if (!monje_document_check_value (member, inner, error))
            return FALSE;
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (value))
    {
      JsonArray *array = json_node_get_array (value);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (!monje_document_check_value (json_array_get_element (array, i), where, error))
          return FALSE;
    }
  return TRUE;
}

char *
monje_document_prepare (JsonNode    *body,
                        const char  *id,
                        char       **out_id,
                        GError     **error)
{
  JsonObject *object;
  JsonNode *given;
  g_autofree char *own_id = NULL;
  g_autoptr(GString) text = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "the body must be the document: a JSON object");
      return NULL;
    }
  object = json_node_get_object (body);

  given = json_object_get_member (object, "_id");
  if (given)
    {
      const char *given_id;

      if (json_node_get_value_type (given) != G_TYPE_STRING)
        {
          g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                               "_id must be a string");
          return NULL;
        }
      given_id = json_node_get_string (given);
      if (!monje_document_check_id (given_id, error))
        return NULL;
      if (id && !g_str_equal (id, given_id))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "_id “%s” in the body differs from the id “%s” in the resource",
                       given_id, id);
          return NULL;
        }
      own_id = g_strdup (given_id);
    }
  else if (id)
    own_id = g_strdup (id);
  else
    own_id = monje_document_new_id ();

  if (!monje_document_check_value (body, NULL, error))
    return NULL;

  /* `_id` first: a document reads the same whichever backend wrote it. */
  text = g_string_new ("{\"_id\":");
  jstp_json_append_string (text, own_id, -1);
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      if (g_str_equal (name, "_id"))
        continue;
      g_string_append_c (text, ',');
      jstp_json_append_string (text, name, -1);
      g_string_append_c (text, ':');
      if (!jstp_json_append_node (text, member, error))
        return NULL;
    }
  g_string_append_c (text, '}');

  if (out_id)
    *out_id = g_steal_pointer (&own_id);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

char **
monje_path_split (const char  *path,
                  GError     **error)
{
  g_auto(GStrv) segments = NULL;
  guint n;

  if (strlen (path) > PATH_MAX_LENGTH)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "field path “%.32s…” is longer than %d bytes", path, PATH_MAX_LENGTH);
      return NULL;
    }
  segments = g_strsplit (path, ".", -1);
  n = g_strv_length (segments);
  if (n > PATH_MAX_SEGMENTS)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "field path “%s” has more than %d segments", path, PATH_MAX_SEGMENTS);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    {
      const char *problem = NULL;

      if (segments[i][0] == '\0')
        problem = "has an empty segment";
      else if (segments[i][0] == '$')
        problem = "has a segment starting with $";
      else if (strpbrk (segments[i], "\"\\"))
        problem = "holds a double quote or a backslash";
      else
        for (const char *c = segments[i]; *c && problem == NULL; c++)
          if ((guchar) *c < 0x20)
            problem = "holds a control character";
      if (problem)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "field path “%s” %s", path, problem);
          return NULL;
        }
    }
  return g_steal_pointer (&segments);
}

JsonObject *
monje_document_parse (const char  *text,
                      GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, -1, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR,
                           "a stored document is not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

char *
monje_document_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  GString *text = g_string_new (NULL);

  json_node_set_object (node, object);
  if (!jstp_json_append_node (text, node, NULL))
    g_assert_not_reached ();  /* trees parsed from JSON hold finite numbers only */
  return g_string_free (text, FALSE);
}

JsonNode *
monje_document_lookup (JsonObject  *object,
                       char       **segments)
{
  JsonNode *node = NULL;

  for (guint i = 0; segments[i]; i++)
    {
      if (object == NULL)
        return NULL;
      node = json_object_get_member (object, segments[i]);
      if (node == NULL)
        return NULL;
      object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    }
  return node;
}
