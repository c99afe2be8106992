/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "pajaro-json.h"

JsonNode *
pajaro_json_parse (const char           *text,
                   gsize                 length,
                   const JstpJsonLimits *limits,
                   GError              **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  g_return_val_if_fail (text != NULL || length == 0, NULL);

  if (!jstp_json_scan (text, length, limits, NULL, NULL, 0, NULL, error))
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, length, &local_error))
    {
      /* The scanner is stricter than json-glib: this cannot happen. */
      g_set_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_SYNTAX, "%s",
                   local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  return root ? json_node_ref (root) : NULL;
}

static JsonNode *
member (JsonObject *object,
        const char *name)
{
  return object ? json_object_get_member (object, name) : NULL;
}

const char *
pajaro_json_get_string (JsonObject *object,
                        const char *name)
{
  JsonNode *node = member (object, name);

  if (node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}

JsonObject *
pajaro_json_get_object (JsonObject *object,
                        const char *name)
{
  JsonNode *node = member (object, name);

  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JsonArray *
pajaro_json_get_array (JsonObject *object,
                       const char *name)
{
  JsonNode *node = member (object, name);

  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

JsonObject *
pajaro_json_array_get_object (JsonArray *array,
                              guint      index)
{
  JsonNode *node;

  if (array == NULL || index >= json_array_get_length (array))
    return NULL;
  node = json_array_get_element (array, index);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

const char *
pajaro_json_array_get_string (JsonArray *array,
                              guint      index)
{
  JsonNode *node;

  if (array == NULL || index >= json_array_get_length (array))
    return NULL;
  node = json_array_get_element (array, index);
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}
