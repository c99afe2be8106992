/* SPDX-License-Identifier: MIT */
/* fuzz-json.c: libFuzzer target for the strict JSON scanner.
 *
 * Beyond "no crash", it checks the promises other code builds on: whatever
 * the scanner accepts, json-glib accepts too and builds the same tree; the
 * iterators, string_dup, string_equal, number_get_int64 and append_string
 * agree with that tree; and the limits only ever turn an acceptance into a
 * LIMIT or DEPTH error.
 */

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "jstp-json.h"

static void
check_string (const char   *text,
              JstpJsonSpan  span,
              const char   *expected)
{
  g_autofree char *decoded = NULL;
  g_autoptr(GString) again = g_string_new (NULL);
  JstpJsonSpan root;
  gsize length;

  decoded = jstp_json_string_dup (text, span, &length);
  g_assert_nonnull (decoded);
  g_assert_cmpuint (strlen (decoded), ==, length);
  g_assert_true (g_utf8_validate (decoded, length, NULL));
  g_assert_true (jstp_json_string_equal (text, span, decoded, FALSE));
  g_assert_true (jstp_json_string_equal (text, span, decoded, TRUE));
  if (expected != NULL)
    g_assert_cmpstr (decoded, ==, expected);

  /* Written back, it scans again to the same string. */
  jstp_json_append_string (again, decoded, length);
  g_assert_true (jstp_json_scan (again->str, again->len, NULL, &root, NULL, 0, NULL, NULL));
  g_assert_cmpint (root.type, ==, JSTP_JSON_STRING);
  g_assert_cmpuint (root.length, ==, again->len);
  g_assert_true (jstp_json_string_equal (again->str, root, decoded, FALSE));
}

static void
check_value (const char   *text,
             JstpJsonSpan  span,
             JsonNode     *node)
{
  JstpJsonIter iter;
  JstpJsonSpan name;
  JstpJsonSpan value;
  guint n = 0;

  g_assert_nonnull (node);

  switch (span.type)
    {
    case JSTP_JSON_OBJECT:
      {
        JsonObject *object;

        g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
        object = json_node_get_object (node);
        jstp_json_iter_init (&iter, text, span);
        while (jstp_json_iter_next_member (&iter, &name, &value))
          {
            g_autofree char *key = jstp_json_string_dup (text, name, NULL);

            check_string (text, name, NULL);
            check_value (text, value, json_object_get_member (object, key));
            n++;
          }
        /* No duplicates, so json-glib lost no member. */
        g_assert_cmpuint (n, ==, json_object_get_size (object));
      }
      break;

    case JSTP_JSON_ARRAY:
      {
        JsonArray *array;

        g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
        array = json_node_get_array (node);
        jstp_json_iter_init (&iter, text, span);
        while (jstp_json_iter_next (&iter, &value))
          {
            g_assert_cmpuint (n, <, json_array_get_length (array));
            check_value (text, value, json_array_get_element (array, n));
            n++;
          }
        g_assert_cmpuint (n, ==, json_array_get_length (array));
      }
      break;

    case JSTP_JSON_STRING:
      g_assert_true (JSON_NODE_HOLDS_VALUE (node));
      g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
      check_string (text, span, json_node_get_string (node));
      return;

    case JSTP_JSON_NUMBER:
      {
        gboolean integer = memchr (text + span.offset, '.', span.length) == NULL &&
                           memchr (text + span.offset, 'e', span.length) == NULL &&
                           memchr (text + span.offset, 'E', span.length) == NULL;
        gint64 i;

        g_assert_true (JSON_NODE_HOLDS_VALUE (node));
        g_assert_true (jstp_json_number_get_int64 (text, span, &i) == integer);
        if (integer)
          {
            g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_INT64);
            g_assert_cmpint (json_node_get_int (node), ==, i);
          }
        else
          {
            g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_DOUBLE);
            g_assert_true (isfinite (json_node_get_double (node)));
          }
      }
      return;

    case JSTP_JSON_TRUE:
    case JSTP_JSON_FALSE:
      g_assert_true (JSON_NODE_HOLDS_VALUE (node));
      g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_BOOLEAN);
      g_assert_true (json_node_get_boolean (node) == (span.type == JSTP_JSON_TRUE));
      return;

    case JSTP_JSON_NULL:
      g_assert_true (JSON_NODE_HOLDS_NULL (node));
      return;

    default:
      g_assert_not_reached ();
    }

  g_assert_cmpuint (jstp_json_count_children (text, span), ==, n);
}

static gboolean
is_limit (const GError *error)
{
  return g_error_matches (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT) ||
         g_error_matches (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_DEPTH);
}

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *text = (const char *) data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) loose_error = NULL;
  g_autoptr(GError) tight_error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JstpJsonLimits loose;
  JstpJsonLimits tight;
  JstpJsonMember members[4];
  JstpJsonSpan root;
  JstpJsonSpan name;
  JstpJsonSpan value;
  JstpJsonIter iter;
  gboolean accepted;
  gboolean loose_accepted;
  guint n_members;

  jstp_json_limits_init (&loose);
  loose.max_depth = 100000;
  loose.max_tokens = G_MAXUINT;
  loose.max_array_elements = G_MAXUINT;
  loose.max_object_members = G_MAXUINT;
  loose.max_string_length = G_MAXSIZE;

  jstp_json_limits_init (&tight);
  tight.max_depth = 3;
  tight.max_tokens = 20;
  tight.max_array_elements = 5;
  tight.max_object_members = 4;
  tight.max_string_length = 8;

  accepted = jstp_json_scan (text, size, NULL, &root, members, G_N_ELEMENTS (members),
                             &n_members, &error);
  loose_accepted = jstp_json_scan (text, size, &loose, NULL, NULL, 0, NULL, &loose_error);

  /* Limits only ever add LIMIT or DEPTH errors. */
  if (accepted)
    g_assert_true (loose_accepted);
  else if (loose_accepted)
    g_assert_true (is_limit (error));
  else
    g_assert_true (g_error_matches (loose_error, JSTP_JSON_ERROR, error->code) || is_limit (error));

  if (!jstp_json_scan (text, size, &tight, NULL, NULL, 0, NULL, &tight_error))
    g_assert_true (!accepted || is_limit (tight_error));

  if (!accepted)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == JSTP_JSON_ERROR);
      g_assert_true (g_str_has_prefix (error->message, "at byte "));
      g_assert_cmpuint (n_members, ==, 0);
      return 0;
    }

  g_assert_no_error (error);
  g_assert_cmpuint (root.offset + root.length, <=, size);
  g_assert_true (g_utf8_validate_len (text, size, NULL));

  /* The members reported by the scan are the ones the iterator finds. */
  if (root.type == JSTP_JSON_OBJECT)
    {
      guint i = 0;

      jstp_json_iter_init (&iter, text, root);
      while (jstp_json_iter_next_member (&iter, &name, &value))
        {
          if (i < G_N_ELEMENTS (members))
            {
              g_assert_cmpuint (members[i].name.offset, ==, name.offset);
              g_assert_cmpuint (members[i].name.length, ==, name.length);
              g_assert_cmpuint (members[i].value.offset, ==, value.offset);
              g_assert_cmpuint (members[i].value.length, ==, value.length);
              g_assert_cmpint (members[i].value.type, ==, value.type);
            }
          i++;
        }
      g_assert_cmpuint (i, ==, n_members);
    }
  else
    g_assert_cmpuint (n_members, ==, 0);

  /* json-glib must accept what we accept, and read the same values. */
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, size, &error))
    g_error ("json-glib refused a text the scanner accepted: %s", error->message);
  check_value (text, root, json_parser_get_root (parser));

  return 0;
}
