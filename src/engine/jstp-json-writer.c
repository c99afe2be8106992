/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>
#include <string.h>

#include "jstp-error.h"
#include "jstp-json.h"
#include "jstp-json-writer.h"

gboolean
jstp_json_append_double (GString *out,
                         double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    return FALSE;

  /* %.17g round-trips; try shorter forms first so 0.1 stays 0.1. */
  for (int precision = 15; precision <= 17; precision++)
    {
      g_ascii_formatd (buf, sizeof buf, precision == 15 ? "%.15g" :
                       precision == 16 ? "%.16g" : "%.17g", value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }

  /* %g may write "inf" never (finite checked) but can write "1e+21": valid
   * JSON. It never writes a leading '.', so the text is valid as is. */
  g_string_append (out, buf);
  return TRUE;
}

static gboolean
append_node (GString   *out,
             JsonNode  *node,
             guint      depth,
             GError   **error)
{
  if (depth > 512)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "JSON nested too deeply");
      return FALSE;
    }

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      return TRUE;

    case JSON_NODE_VALUE:
      {
        GType type = json_node_get_value_type (node);

        if (type == G_TYPE_INT64)
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
        else if (type == G_TYPE_DOUBLE)
          {
            if (!jstp_json_append_double (out, json_node_get_double (node)))
              {
                g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                             "a number is not finite and has no JSON form");
                return FALSE;
              }
          }
        else if (type == G_TYPE_BOOLEAN)
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
        else if (type == G_TYPE_STRING)
          jstp_json_append_string (out, json_node_get_string (node), -1);
        else
          g_string_append (out, "null");
        return TRUE;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            if (!append_node (out, json_array_get_element (array, i), depth + 1, error))
              return FALSE;
          }
        g_string_append_c (out, ']');
        return TRUE;
      }

    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(GList) names = json_object_get_members (object);
        gboolean ok = TRUE;

        /* get_members keeps insertion order; the iterator would not. */
        g_string_append_c (out, '{');
        for (GList *l = names; l != NULL && ok; l = l->next)
          {
            if (l != names)
              g_string_append_c (out, ',');
            jstp_json_append_string (out, l->data, -1);
            g_string_append_c (out, ':');
            ok = append_node (out, json_object_get_member (object, l->data), depth + 1, error);
          }
        g_string_append_c (out, '}');
        return ok;
      }

    default:
      g_string_append (out, "null");
      return TRUE;
    }
}

gboolean
jstp_json_append_node (GString   *out,
                       JsonNode  *node,
                       GError   **error)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (node == NULL)
    {
      g_string_append (out, "null");
      return TRUE;
    }
  return append_node (out, node, 0, error);
}

char *
jstp_json_prettify (const char *json,
                    gsize       length)
{
  GString *out = g_string_sized_new (length * 2);
  guint indent = 0;
  gboolean in_string = FALSE;

  /* A lexical pass is enough: the text was validated, and it keeps numbers
   * exactly as written, which a round trip through a tree would not. */
  for (gsize i = 0; i < length; i++)
    {
      char c = json[i];

      if (in_string)
        {
          g_string_append_c (out, c);
          if (c == '\\' && i + 1 < length)
            g_string_append_c (out, json[++i]);
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          g_string_append_c (out, c);
          break;
        case '{':
        case '[':
          {
            gsize j = i + 1;
            while (j < length && strchr (" \t\r\n", json[j]))
              j++;
            if (j < length && (json[j] == '}' || json[j] == ']'))
              {
                g_string_append_c (out, c);
                g_string_append_c (out, json[j]);
                i = j;
                break;
              }
            g_string_append_c (out, c);
            indent++;
            g_string_append_c (out, '\n');
            for (guint k = 0; k < indent; k++)
              g_string_append (out, "  ");
          }
          break;
        case '}':
        case ']':
          indent = indent > 0 ? indent - 1 : 0;
          g_string_append_c (out, '\n');
          for (guint k = 0; k < indent; k++)
            g_string_append (out, "  ");
          g_string_append_c (out, c);
          break;
        case ',':
          g_string_append (out, ",\n");
          for (guint k = 0; k < indent; k++)
            g_string_append (out, "  ");
          break;
        case ':':
          g_string_append (out, ": ");
          break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
          break;
        default:
          g_string_append_c (out, c);
        }
    }

  return g_string_free (out, FALSE);
}
