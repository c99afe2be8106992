/* SPDX-License-Identifier: MIT */
/* monje-bson.c: the two conversions, recursive over documents that the
 * engine's scanner already bounded in depth. */
#include "config.h"

#include <math.h>

#include "monje-bson.h"

#include "jstp-error.h"
#include "jstp-json.h"
#include "jstp-json-writer.h"

static void append_node (bson_t *bson, const char *key, JsonNode *node);

static void
append_object (bson_t     *bson,
               JsonObject *object)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    append_node (bson, name, member);
}

static void
append_node (bson_t     *bson,
             const char *key,
             JsonNode   *node)
{
  bson_t child;

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      bson_append_document_begin (bson, key, -1, &child);
      append_object (&child, json_node_get_object (node));
      bson_append_document_end (bson, &child);
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        bson_append_array_begin (bson, key, -1, &child);
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            char buffer[16];
            const char *index;

            bson_uint32_to_string (i, &index, buffer, sizeof buffer);
            append_node (&child, index, json_array_get_element (array, i));
          }
        bson_append_array_end (bson, &child);
      }
      break;

    case JSON_NODE_NULL:
      bson_append_null (bson, key, -1);
      break;

    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          {
            gint64 value = json_node_get_int (node);

            if (value >= G_MININT32 && value <= G_MAXINT32)
              bson_append_int32 (bson, key, -1, (gint32) value);
            else
              bson_append_int64 (bson, key, -1, value);
          }
          break;
        case G_TYPE_DOUBLE:
          bson_append_double (bson, key, -1, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          bson_append_bool (bson, key, -1, json_node_get_boolean (node));
          break;
        case G_TYPE_STRING:
          bson_append_utf8 (bson, key, -1, json_node_get_string (node), -1);
          break;
        default:
          bson_append_null (bson, key, -1);
          break;
        }
      break;
    }
}

bson_t *
monje_bson_from_node (JsonNode *node)
{
  bson_t *bson = bson_new ();

  g_return_val_if_fail (JSON_NODE_HOLDS_OBJECT (node), bson);
  append_object (bson, json_node_get_object (node));
  return bson;
}

bson_t *
monje_bson_from_text (const char  *json,
                      GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, json, -1, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR,
                           "a document is not a JSON object");
      return NULL;
    }
  return monje_bson_from_node (root);
}

static void append_value (GString *out, const bson_iter_t *iter);

static void
append_container (GString           *out,
                  const bson_iter_t *iter,
                  gboolean           is_array)
{
  bson_iter_t child;
  gboolean first = TRUE;

  g_string_append_c (out, is_array ? '[' : '{');
  if (bson_iter_recurse (iter, &child))
    while (bson_iter_next (&child))
      {
        if (!first)
          g_string_append_c (out, ',');
        first = FALSE;
        if (!is_array)
          {
            jstp_json_append_string (out, bson_iter_key (&child), bson_iter_key_len (&child));
            g_string_append_c (out, ':');
          }
        append_value (out, &child);
      }
  g_string_append_c (out, is_array ? ']' : '}');
}

static void
append_value (GString           *out,
              const bson_iter_t *iter)
{
  switch (bson_iter_type (iter))
    {
    case BSON_TYPE_DOUBLE:
      if (!jstp_json_append_double (out, bson_iter_double (iter)))
        g_string_append (out, "null");
      break;
    case BSON_TYPE_UTF8:
      {
        guint32 length;
        const char *text = bson_iter_utf8 (iter, &length);

        jstp_json_append_string (out, text, length);
      }
      break;
    case BSON_TYPE_DOCUMENT:
      append_container (out, iter, FALSE);
      break;
    case BSON_TYPE_ARRAY:
      append_container (out, iter, TRUE);
      break;
    case BSON_TYPE_OID:
      {
        char hex[25];

        bson_oid_to_string (bson_iter_oid (iter), hex);
        jstp_json_append_string (out, hex, -1);
      }
      break;
    case BSON_TYPE_BOOL:
      g_string_append (out, bson_iter_bool (iter) ? "true" : "false");
      break;
    case BSON_TYPE_INT32:
      g_string_append_printf (out, "%d", bson_iter_int32 (iter));
      break;
    case BSON_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, (gint64) bson_iter_int64 (iter));
      break;
    case BSON_TYPE_DATE_TIME:
      g_string_append_printf (out, "{\"$date\":%" G_GINT64_FORMAT "}",
                              (gint64) bson_iter_date_time (iter));
      break;
    case BSON_TYPE_DECIMAL128:
      {
        bson_decimal128_t value;
        char text[BSON_DECIMAL128_STRING];

        bson_iter_decimal128 (iter, &value);
        bson_decimal128_to_string (&value, text);
        jstp_json_append_string (out, text, -1);
      }
      break;
    default:
      g_string_append (out, "null");
      break;
    }
}

void
monje_bson_append_json (GString      *out,
                        const bson_t *document)
{
  bson_iter_t iter;
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  if (bson_iter_init (&iter, document))
    while (bson_iter_next (&iter))
      {
        if (!first)
          g_string_append_c (out, ',');
        first = FALSE;
        jstp_json_append_string (out, bson_iter_key (&iter), bson_iter_key_len (&iter));
        g_string_append_c (out, ':');
        append_value (out, &iter);
      }
  g_string_append_c (out, '}');
}

char *
monje_bson_to_json (const bson_t *document)
{
  GString *out = g_string_new (NULL);

  monje_bson_append_json (out, document);
  return g_string_free (out, FALSE);
}
