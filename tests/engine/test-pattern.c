/* SPDX-License-Identifier: MIT */
/* test-pattern.c: endpoint patterns against the shared vectors
 * (fixtures/endpoint-match.json, one test per case) and the corners of spec
 * section 4 the vectors leave out. */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "jstp-error.h"
#include "jstp-pattern.h"

#define STR(s) { JSTP_JSON_STRING, (s), sizeof (s) - 1 }
#define NUM(s) { JSTP_JSON_NUMBER, (s), sizeof (s) - 1 }

static JsonNode *fixture_root;

/* NULL-terminated element list; keeps the cases below readable. */
static JstpPattern *
make_pattern (JstpMode     mode,
              GError     **error,
              const char  *method,
              ...)
{
  g_autoptr(GPtrArray) elements = g_ptr_array_new ();
  const char *element;
  va_list args;

  va_start (args, method);
  while ((element = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (elements, (gpointer) element);
  va_end (args);

  return jstp_pattern_new (method, (const char * const *) elements->pdata, elements->len,
                           mode, error);
}

static JstpPattern *
make_valid (const char *method,
            ...)
{
  g_autoptr(GPtrArray) elements = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *element;
  JstpPattern *pattern;
  va_list args;

  va_start (args, method);
  while ((element = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (elements, (gpointer) element);
  va_end (args);

  pattern = jstp_pattern_new (method, (const char * const *) elements->pdata, elements->len,
                              JSTP_MODE_STRICT, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pattern);

  return pattern;
}

static void
assert_element_text (const JstpElement *element,
                     const char        *text)
{
  g_assert_nonnull (element);
  g_assert_cmpuint (element->length, ==, strlen (text));
  g_assert_true (memcmp (element->text, text, element->length) == 0);
}

/* Fixture values to matcher elements. json-glib keeps no number's text, so
 * the vectors' numbers must be integers, whose text is then unambiguous. */
static JstpElement
element_from_node (JsonNode  *node,
                   GPtrArray *keep)
{
  JstpElement element = { JSTP_JSON_NULL, "null", 4 };
  char *text = NULL;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_NULL:
      break;

    case JSON_NODE_OBJECT:
    case JSON_NODE_ARRAY:
      element.type = JSON_NODE_HOLDS_OBJECT (node) ? JSTP_JSON_OBJECT : JSTP_JSON_ARRAY;
      text = json_to_string (node, FALSE);
      break;

    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          element.type = JSTP_JSON_STRING;
          element.text = json_node_get_string (node);
          element.length = strlen (element.text);
          break;

        case G_TYPE_INT64:
          element.type = JSTP_JSON_NUMBER;
          text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
          break;

        case G_TYPE_BOOLEAN:
          element.type = json_node_get_boolean (node) ? JSTP_JSON_TRUE : JSTP_JSON_FALSE;
          element.text = json_node_get_boolean (node) ? "true" : "false";
          element.length = strlen (element.text);
          break;

        default:
          g_error ("fixture value of type %s: use integers and strings",
                   g_type_name (json_node_get_value_type (node)));
        }
      break;

    default:
      g_assert_not_reached ();
    }

  if (text != NULL)
    {
      element.text = text;
      element.length = strlen (text);
      g_ptr_array_add (keep, text);
    }

  return element;
}

static GPtrArray *
strings_from_array (JsonArray *array)
{
  GPtrArray *strings = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (strings, (gpointer) json_array_get_string_element (array, i));

  return strings;
}

static void
test_vector_match (gconstpointer data)
{
  JsonObject *vector = json_node_get_object ((JsonNode *) data);
  JsonObject *endpoint = json_object_get_object_member (vector, "endpoint");
  JsonArray *resource = json_object_get_array_member (vector, "resource");
  JsonObject *expected = json_object_get_object_member (vector, "captures");
  g_autoptr(GPtrArray) pattern_strings =
    strings_from_array (json_object_get_array_member (endpoint, "resource"));
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) elements = g_array_new (FALSE, FALSE, sizeof (JstpElement));
  g_autoptr(JstpPattern) pattern = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GList) names = NULL;
  JstpCaptures captures;
  gboolean matches;

  pattern = jstp_pattern_new (json_object_get_string_member (endpoint, "method"),
                              (const char * const *) pattern_strings->pdata,
                              pattern_strings->len, JSTP_MODE_STRICT, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pattern);

  for (guint i = 0; i < json_array_get_length (resource); i++)
    {
      JstpElement element = element_from_node (json_array_get_element (resource, i), keep);
      g_array_append_val (elements, element);
    }

  matches = jstp_pattern_match (pattern, json_object_get_string_member (vector, "method"),
                                (const JstpElement *) elements->data, elements->len,
                                &captures);
  g_assert_cmpint (matches, ==, json_object_get_boolean_member (vector, "matches"));

  if (!matches)
    {
      g_assert_cmpuint (captures.n_captures, ==, 0);
      return;
    }

  g_assert_cmpuint (captures.n_captures, ==, json_object_get_size (expected));

  names = json_object_get_members (expected);
  for (const GList *l = names; l != NULL; l = l->next)
    {
      JstpElement want = element_from_node (json_object_get_member (expected, l->data), keep);
      const JstpElement *got = jstp_captures_lookup (&captures, l->data);

      g_assert_nonnull (got);
      g_assert_cmpint (got->type, ==, want.type);
      g_assert_cmpmem (got->text, got->length, want.text, want.length);
    }
}

static void
test_vector_validity (gconstpointer data)
{
  JsonObject *vector = json_node_get_object ((JsonNode *) data);
  g_autoptr(GPtrArray) strings =
    strings_from_array (json_object_get_array_member (vector, "resource"));
  const char * const *resource = (const char * const *) strings->pdata;
  g_autoptr(JstpPattern) strict = NULL;
  g_autoptr(JstpPattern) quirks = NULL;
  g_autoptr(GError) error = NULL;

  strict = jstp_pattern_new ("*", resource, strings->len, JSTP_MODE_STRICT, &error);
  if (json_object_get_boolean_member (vector, "strict"))
    {
      g_assert_no_error (error);
      g_assert_nonnull (strict);
      g_assert_cmpuint (jstp_pattern_get_n_elements (strict), ==, strings->len);
      for (guint i = 0; i < strings->len; i++)
        g_assert_cmpstr (jstp_pattern_get_element (strict, i), ==, resource[i]);
    }
  else
    {
      g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
      g_assert_null (strict);
      g_clear_error (&error);
    }

  quirks = jstp_pattern_new ("*", resource, strings->len, JSTP_MODE_QUIRKS, &error);
  if (json_object_get_boolean_member (vector, "quirks"))
    {
      JsonArray *reads_as = json_object_get_array_member (vector, "quirks_reads_as");
      g_autoptr(GPtrArray) expected = strings_from_array (reads_as);
      g_autoptr(JstpPattern) canonical = NULL;

      g_assert_no_error (error);
      g_assert_nonnull (quirks);
      g_assert_cmpuint (jstp_pattern_get_n_elements (quirks), ==, expected->len);
      for (guint i = 0; i < expected->len; i++)
        g_assert_cmpstr (jstp_pattern_get_element (quirks, i), ==, expected->pdata[i]);

      /* What quirks mode reads is itself a strict pattern, and the same one. */
      canonical = jstp_pattern_new ("*", (const char * const *) expected->pdata, expected->len,
                                    JSTP_MODE_STRICT, &error);
      g_assert_no_error (error);
      g_assert_true (jstp_pattern_equal (canonical, quirks));
      g_assert_cmpuint (jstp_pattern_hash (canonical), ==, jstp_pattern_hash (quirks));
    }
  else
    {
      g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
      g_assert_null (quirks);
    }
}

static void
test_method (void)
{
  const char *any[] = { "*" };
  const struct {
    const char *given;
    const char *stored;
  } cases[] = {
    { "get", "GET" }, { "Post", "POST" }, { "PUT", "PUT" }, { "patch", "PATCH" },
    { "delete", "DELETE" }, { "bind", "BIND" }, { "rElEaSe", "RELEASE" },
    { "answer", "ANSWER" }, { "*", "*" },
  };
  const char *refused[] = { "", "FOO", "GETS", "GE", " GET", "**", "OPTIONS" };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JstpPattern) pattern =
        jstp_pattern_new (cases[i].given, any, 1, JSTP_MODE_STRICT, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (jstp_pattern_get_method (pattern), ==, cases[i].stored);
    }

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      for (JstpMode mode = JSTP_MODE_STRICT; mode <= JSTP_MODE_QUIRKS; mode++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(JstpPattern) pattern = jstp_pattern_new (refused[i], any, 1, mode, &error);

          g_assert_error (error, JSTP_ERROR, JSTP_STATUS_METHOD_NOT_ALLOWED);
          g_assert_null (pattern);
        }
    }
}

static void
test_method_match (void)
{
  g_autoptr(JstpPattern) get = make_valid ("get", "a", NULL);
  g_autoptr(JstpPattern) any = make_valid ("*", "a", NULL);
  const JstpElement resource[] = { STR ("a") };
  const char *methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "BIND", "RELEASE",
                            "ANSWER" };

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      g_assert_true (jstp_pattern_match (any, methods[i], resource, 1, NULL));
      g_assert_cmpint (jstp_pattern_match (get, methods[i], resource, 1, NULL), ==, i == 0);
    }
}

typedef struct {
  const char *elements[8];
  guint index;
  gboolean quirks_ok;
} IllegalCase;

static void
test_illegal (void)
{
  const IllegalCase cases[] = {
    { { "a", "...", "...", "b" }, 2, TRUE },
    { { "...", "*" }, 1, TRUE },
    { { "x", "...", "*", "y" }, 2, TRUE },
    { { ":" }, 0, TRUE },
    { { "a", ":" }, 1, TRUE },
    { { "...", ":x", "..." }, 1, FALSE },
    { { "a", "...", ":x", ":y", "..." }, 2, FALSE },
    { { "...", ":x", "*", "..." }, 1, FALSE },
    { { ":1" }, 0, TRUE },
    { { "a", ":a-b" }, 1, TRUE },
    { { ":\xc3\xb1" }, 0, TRUE },
    { { ":ab1" }, 0, TRUE },
    { { "...", "a", "...", "b", "..." }, 4, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JstpPattern) strict = NULL;
      g_autoptr(JstpPattern) quirks = NULL;
      g_autofree char *where = g_strdup_printf ("element %u:", cases[i].index);
      guint n = 0;

      while (n < G_N_ELEMENTS (cases[i].elements) && cases[i].elements[n] != NULL)
        n++;

      strict = jstp_pattern_new ("GET", cases[i].elements, n, JSTP_MODE_STRICT, &error);
      g_assert_null (strict);
      g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
      g_assert_nonnull (strstr (error->message, where));
      g_clear_error (&error);

      quirks = jstp_pattern_new ("GET", cases[i].elements, n, JSTP_MODE_QUIRKS, &error);
      if (cases[i].quirks_ok)
        {
          g_assert_no_error (error);
          g_assert_nonnull (quirks);
        }
      else
        {
          g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
          g_assert_nonnull (strstr (error->message, where));
        }
    }
}

static void
test_empty (void)
{
  for (JstpMode mode = JSTP_MODE_STRICT; mode <= JSTP_MODE_QUIRKS; mode++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JstpPattern) pattern = jstp_pattern_new ("GET", NULL, 0, mode, &error);

      g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
      g_assert_null (pattern);
    }
}

static void
assert_reads_as (JstpPattern *pattern,
                 ...)
{
  const char *element;
  guint i = 0;
  va_list args;

  g_assert_nonnull (pattern);

  va_start (args, pattern);
  while ((element = va_arg (args, const char *)) != NULL)
    {
      g_assert_cmpuint (i, <, jstp_pattern_get_n_elements (pattern));
      g_assert_cmpstr (jstp_pattern_get_element (pattern, i), ==, element);
      i++;
    }
  va_end (args);

  g_assert_cmpuint (i, ==, jstp_pattern_get_n_elements (pattern));
}

static void
test_quirks (void)
{
  g_autoptr(GError) error = NULL;
  JstpPattern *pattern;

  pattern = make_pattern (JSTP_MODE_QUIRKS, &error, "GET", "...", "...", "...", NULL);
  assert_reads_as (pattern, "...", NULL);
  jstp_pattern_unref (pattern);

  pattern = make_pattern (JSTP_MODE_QUIRKS, &error, "GET", "a", "...", "*", "*", "b", NULL);
  assert_reads_as (pattern, "a", "...", "b", NULL);
  jstp_pattern_unref (pattern);

  /* A bare `:` reads as `*`, which then reads as nothing after `...`. */
  pattern = make_pattern (JSTP_MODE_QUIRKS, &error, "GET", "...", ":", "...", "x", NULL);
  assert_reads_as (pattern, "...", "x", NULL);
  jstp_pattern_unref (pattern);

  pattern = make_pattern (JSTP_MODE_QUIRKS, &error, "GET", ":", ":", NULL);
  assert_reads_as (pattern, "*", "*", NULL);
  jstp_pattern_unref (pattern);

  pattern = make_pattern (JSTP_MODE_QUIRKS, &error, "GET", ":-", "...", NULL);
  assert_reads_as (pattern, "\\:-", "...", NULL);
  g_assert_cmpstr (jstp_pattern_get_element_value (pattern, 0), ==, ":-");
  jstp_pattern_unref (pattern);

  /* Caps count what quirks mode keeps: these `*` are read away. */
  pattern = make_pattern (JSTP_MODE_QUIRKS, &error, "GET", "a", "...", "*", "*", "*", "*", "*",
                          "*", "*", "*", "*", "*", "b", NULL);
  assert_reads_as (pattern, "a", "...", "b", NULL);
  jstp_pattern_unref (pattern);

  pattern = make_pattern (JSTP_MODE_QUIRKS, &error, "GET", "...", "...", "a", "...", "...", "b",
                          NULL);
  assert_reads_as (pattern, "...", "a", "...", "b", NULL);
  jstp_pattern_unref (pattern);

  g_assert_no_error (error);
}

static void
test_caps (void)
{
  const char *elements[JSTP_PATTERN_MAX_ELEMENTS + 1];
  const char *stars[] = { "*", ":a", "*", ":b", "*", ":c", "*", ":d", "*" };

  for (guint i = 0; i < G_N_ELEMENTS (elements); i++)
    elements[i] = "x";

  for (JstpMode mode = JSTP_MODE_STRICT; mode <= JSTP_MODE_QUIRKS; mode++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JstpPattern) full = NULL;
      g_autoptr(JstpPattern) over = NULL;
      g_autoptr(JstpPattern) eight = NULL;
      g_autoptr(JstpPattern) nine = NULL;

      full = jstp_pattern_new ("GET", elements, JSTP_PATTERN_MAX_ELEMENTS, mode, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (jstp_pattern_get_n_elements (full), ==, JSTP_PATTERN_MAX_ELEMENTS);

      over = jstp_pattern_new ("GET", elements, JSTP_PATTERN_MAX_ELEMENTS + 1, mode, &error);
      g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
      g_assert_null (over);
      g_clear_error (&error);

      eight = jstp_pattern_new ("GET", stars, JSTP_PATTERN_MAX_STARS, mode, &error);
      g_assert_no_error (error);
      g_assert_nonnull (eight);

      nine = jstp_pattern_new ("GET", stars, JSTP_PATTERN_MAX_STARS + 1, mode, &error);
      g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
      g_assert_nonnull (strstr (error->message, "element 8:"));
      g_assert_null (nine);
    }
}

static void
test_numbers (void)
{
  g_autoptr(JstpPattern) integer = make_valid ("GET", "articles", "356", NULL);
  g_autoptr(JstpPattern) fraction = make_valid ("GET", "articles", "356.0", NULL);
  const JstpElement as_written[] = { STR ("articles"), NUM ("356") };
  const JstpElement as_string[] = { STR ("articles"), STR ("356") };
  const JstpElement with_fraction[] = { STR ("articles"), NUM ("356.0") };
  const JstpElement with_exponent[] = { STR ("articles"), NUM ("3.56e2") };
  const JstpElement negative[] = { STR ("articles"), NUM ("-356") };

  g_assert_true (jstp_pattern_match (integer, "GET", as_written, 2, NULL));
  g_assert_true (jstp_pattern_match (integer, "GET", as_string, 2, NULL));
  g_assert_false (jstp_pattern_match (integer, "GET", with_fraction, 2, NULL));
  g_assert_false (jstp_pattern_match (integer, "GET", with_exponent, 2, NULL));
  g_assert_false (jstp_pattern_match (integer, "GET", negative, 2, NULL));

  g_assert_true (jstp_pattern_match (fraction, "GET", with_fraction, 2, NULL));
  g_assert_false (jstp_pattern_match (fraction, "GET", as_written, 2, NULL));
}

static void
test_other_types (void)
{
  const JstpElement values[] = {
    { JSTP_JSON_TRUE, "true", 4 },
    { JSTP_JSON_FALSE, "false", 5 },
    { JSTP_JSON_NULL, "null", 4 },
    { JSTP_JSON_OBJECT, "{}", 2 },
    { JSTP_JSON_ARRAY, "[1]", 3 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      /* Even a literal spelling the raw JSON text must not match it. */
      g_autofree char *text = g_strndup (values[i].text, values[i].length);
      const char *literal_elements[] = { text };
      g_autoptr(JstpPattern) literal =
        jstp_pattern_new ("GET", literal_elements, 1, JSTP_MODE_STRICT, NULL);
      g_autoptr(JstpPattern) any = make_valid ("GET", "*", NULL);
      g_autoptr(JstpPattern) capture = make_valid ("GET", ":v", NULL);
      g_autoptr(JstpPattern) ellipsis = make_valid ("GET", "...", NULL);
      JstpElement as_string = { JSTP_JSON_STRING, values[i].text, values[i].length };
      JstpCaptures captures;

      g_assert_nonnull (literal);
      g_assert_false (jstp_pattern_match (literal, "GET", &values[i], 1, NULL));
      g_assert_true (jstp_pattern_match (literal, "GET", &as_string, 1, NULL));
      g_assert_true (jstp_pattern_match (any, "GET", &values[i], 1, NULL));
      g_assert_true (jstp_pattern_match (ellipsis, "GET", &values[i], 1, NULL));
      g_assert_true (jstp_pattern_match (capture, "GET", &values[i], 1, &captures));
      g_assert_cmpuint (captures.n_captures, ==, 1);
      g_assert_cmpint (jstp_captures_lookup (&captures, "v")->type, ==, values[i].type);
    }
}

static void
test_escapes (void)
{
  const struct {
    const char *written;
    const char *value;
  } cases[] = {
    { "\\*", "*" }, { "\\...", "..." }, { "\\:name", ":name" }, { "\\\\x", "\\x" },
    { "\\", "" }, { "\\abc", "abc" }, { "", "" }, { "a\\b", "a\\b" }, { "\\:", ":" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *elements[] = { cases[i].written };
      g_autoptr(GError) error = NULL;
      g_autoptr(JstpPattern) pattern =
        jstp_pattern_new ("GET", elements, 1, JSTP_MODE_STRICT, &error);
      JstpElement same = { JSTP_JSON_STRING, cases[i].value, strlen (cases[i].value) };
      JstpElement other = STR ("other");

      g_assert_no_error (error);
      g_assert_cmpint (jstp_pattern_get_element_kind (pattern, 0), ==, JSTP_ELEMENT_LITERAL);
      g_assert_cmpstr (jstp_pattern_get_element (pattern, 0), ==, cases[i].written);
      g_assert_cmpstr (jstp_pattern_get_element_value (pattern, 0), ==, cases[i].value);
      g_assert_true (jstp_pattern_match (pattern, "GET", &same, 1, NULL));
      g_assert_false (jstp_pattern_match (pattern, "GET", &other, 1, NULL));
    }
}

static void
test_accessors (void)
{
  g_autoptr(JstpPattern) pattern = make_valid ("Post", "a", "\\*", ":name", "...", "b", "*",
                                               NULL);
  g_autoptr(JstpPattern) literals = make_valid ("GET", "a", "b", NULL);
  g_autoptr(JstpPattern) wild = make_valid ("GET", "*", "b", NULL);
  const JstpPatternElementKind kinds[] = {
    JSTP_ELEMENT_LITERAL, JSTP_ELEMENT_LITERAL, JSTP_ELEMENT_CAPTURE, JSTP_ELEMENT_ELLIPSIS,
    JSTP_ELEMENT_LITERAL, JSTP_ELEMENT_ANY,
  };
  const char *values[] = { "a", "*", "name", NULL, "b", NULL };
  JstpPattern *copy;

  g_assert_cmpstr (jstp_pattern_get_method (pattern), ==, "POST");
  g_assert_cmpuint (jstp_pattern_get_n_elements (pattern), ==, G_N_ELEMENTS (kinds));
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_assert_cmpint (jstp_pattern_get_element_kind (pattern, i), ==, kinds[i]);
      g_assert_cmpstr (jstp_pattern_get_element_value (pattern, i), ==, values[i]);
    }

  g_assert_cmpuint (jstp_pattern_get_literal_prefix_length (pattern), ==, 2);
  g_assert_cmpuint (jstp_pattern_get_literal_prefix_length (literals), ==, 2);
  g_assert_cmpuint (jstp_pattern_get_literal_prefix_length (wild), ==, 0);

  g_assert_true (G_TYPE_IS_BOXED (JSTP_TYPE_PATTERN));
  copy = g_boxed_copy (JSTP_TYPE_PATTERN, pattern);
  g_assert_true (copy == pattern);
  g_boxed_free (JSTP_TYPE_PATTERN, copy);
}

static void
test_equal_hash (void)
{
  g_autoptr(JstpPattern) a = make_valid ("get", "x", ":id", "...", NULL);
  g_autoptr(JstpPattern) b = make_valid ("GET", "\\x", ":id", "...", NULL);
  g_autoptr(JstpPattern) other_name = make_valid ("GET", "x", ":key", "...", NULL);
  g_autoptr(JstpPattern) other_method = make_valid ("*", "x", ":id", "...", NULL);
  g_autoptr(JstpPattern) star = make_valid ("GET", "*", NULL);
  g_autoptr(JstpPattern) escaped_star = make_valid ("GET", "\\*", NULL);
  g_autoptr(JstpPattern) shorter = make_valid ("GET", "x", ":id", NULL);
  g_autoptr(JstpPattern) colon = make_pattern (JSTP_MODE_QUIRKS, NULL, "GET", ":", NULL);

  /* A needless escape changes nothing a dispatch can see. */
  g_assert_true (jstp_pattern_equal (a, b));
  g_assert_cmpuint (jstp_pattern_hash (a), ==, jstp_pattern_hash (b));

  g_assert_false (jstp_pattern_equal (a, other_name));
  g_assert_false (jstp_pattern_equal (a, other_method));
  g_assert_false (jstp_pattern_equal (a, shorter));
  g_assert_false (jstp_pattern_equal (star, escaped_star));
  g_assert_true (jstp_pattern_equal (star, colon));
  g_assert_cmpuint (jstp_pattern_hash (star), ==, jstp_pattern_hash (colon));
}

static void
test_anchoring (void)
{
  g_autoptr(JstpPattern) one = make_valid ("GET", "a", NULL);
  g_autoptr(JstpPattern) tail = make_valid ("GET", "...", "a", NULL);
  g_autoptr(JstpPattern) head = make_valid ("GET", "a", "...", NULL);
  const JstpElement aa[] = { STR ("a"), STR ("a") };
  const JstpElement ab[] = { STR ("a"), STR ("b") };
  const JstpElement ba[] = { STR ("b"), STR ("a") };

  g_assert_false (jstp_pattern_match (one, "GET", aa, 2, NULL));
  g_assert_false (jstp_pattern_match (one, "GET", NULL, 0, NULL));
  g_assert_false (jstp_pattern_match (tail, "GET", ab, 2, NULL));
  g_assert_true (jstp_pattern_match (tail, "GET", ba, 2, NULL));
  g_assert_false (jstp_pattern_match (head, "GET", ba, 2, NULL));
  g_assert_true (jstp_pattern_match (head, "GET", ab, 2, NULL));
  g_assert_true (jstp_pattern_match (head, "GET", aa, 1, NULL));
}

static void
test_non_greedy (void)
{
  g_autoptr(JstpPattern) pattern =
    make_valid ("GET", "a", "...", ":x", "end", "...", ":tail", NULL);
  g_autoptr(JstpPattern) middle = make_valid ("GET", "...", ":x", "y", "...", NULL);
  const JstpElement resource[] = {
    STR ("a"), STR ("1"), STR ("2"), STR ("end"), STR ("3"), STR ("end"), STR ("t"),
  };
  const JstpElement ys[] = { STR ("q"), STR ("a"), STR ("y"), STR ("b"), STR ("y") };
  JstpCaptures captures;

  g_assert_true (jstp_pattern_match (pattern, "GET", resource, G_N_ELEMENTS (resource),
                                     &captures));
  g_assert_cmpuint (captures.n_captures, ==, 2);
  g_assert_cmpstr (captures.items[0].name, ==, "x");
  assert_element_text (&captures.items[0].value, "2");
  g_assert_cmpstr (captures.items[1].name, ==, "tail");
  assert_element_text (&captures.items[1].value, "t");

  g_assert_true (jstp_pattern_match (middle, "GET", ys, G_N_ELEMENTS (ys), &captures));
  assert_element_text (jstp_captures_lookup (&captures, "x"), "a");
  g_assert_null (jstp_captures_lookup (&captures, "y"));

  /* The second `...` may be empty, and the first may take nothing. */
  g_assert_true (jstp_pattern_match (pattern, "GET", resource, 5, &captures));
  assert_element_text (jstp_captures_lookup (&captures, "tail"), "3");
}

static void
test_duplicate_names (void)
{
  g_autoptr(JstpPattern) pattern = make_valid ("GET", ":a", ":a", NULL);
  const JstpElement resource[] = { STR ("first"), STR ("second") };
  JstpCaptures captures;

  g_assert_true (jstp_pattern_match (pattern, "GET", resource, 2, &captures));
  g_assert_cmpuint (captures.n_captures, ==, 2);
  assert_element_text (jstp_captures_lookup (&captures, "a"), "first");
}

/* The spec read literally: try every length for each `...`, fewest first,
 * and take the first full match. Exponential, so only for small inputs; it
 * shares nothing with the matcher but the accessors. */
static gboolean
reference_match (const JstpPattern *pattern,
                 guint              p,
                 const JstpElement *resource,
                 guint              n,
                 guint              r,
                 JstpCaptures      *captures)
{
  guint n_captures = captures->n_captures;

  if (p == jstp_pattern_get_n_elements (pattern))
    return r == n;

  switch (jstp_pattern_get_element_kind (pattern, p))
    {
    case JSTP_ELEMENT_ELLIPSIS:
      for (guint k = r; k <= n; k++)
        {
          if (reference_match (pattern, p + 1, resource, n, k, captures))
            return TRUE;
          captures->n_captures = n_captures;
        }
      return FALSE;

    case JSTP_ELEMENT_ANY:
      return r < n && reference_match (pattern, p + 1, resource, n, r + 1, captures);

    case JSTP_ELEMENT_CAPTURE:
      if (r == n)
        return FALSE;
      captures->items[n_captures].name = jstp_pattern_get_element_value (pattern, p);
      captures->items[n_captures].value = resource[r];
      captures->n_captures++;
      if (reference_match (pattern, p + 1, resource, n, r + 1, captures))
        return TRUE;
      captures->n_captures = n_captures;
      return FALSE;

    case JSTP_ELEMENT_LITERAL:
    default:
      {
        const char *value = jstp_pattern_get_element_value (pattern, p);

        if (r == n ||
            (resource[r].type != JSTP_JSON_STRING && resource[r].type != JSTP_JSON_NUMBER) ||
            resource[r].length != strlen (value) ||
            strncmp (resource[r].text, value, resource[r].length) != 0)
          return FALSE;
        return reference_match (pattern, p + 1, resource, n, r + 1, captures);
      }
    }
}

static void
test_against_reference (void)
{
  const char *tokens[] = { "a", "b", "1", "*", "...", ":x", ":y", ":", "\\*", ":1" };
  const JstpElement values[] = {
    STR ("a"), STR ("b"), NUM ("1"), STR ("1"), STR ("*"), NUM ("1.0"),
    { JSTP_JSON_NULL, "null", 4 }, { JSTP_JSON_OBJECT, "{}", 2 },
  };
  guint n_patterns = 0;
  guint n_matches = 0;

  for (guint iteration = 0; iteration < 20000; iteration++)
    {
      const char *elements[6];
      JstpElement resource[9];
      char texts[G_N_ELEMENTS (resource)][8];
      guint n_elements = g_test_rand_int_range (1, G_N_ELEMENTS (elements) + 1);
      guint n_resource = g_test_rand_int_range (0, G_N_ELEMENTS (resource) + 1);
      g_autoptr(JstpPattern) pattern = NULL;
      JstpCaptures expected = { 0 };
      JstpCaptures got;
      gboolean matches;

      for (guint i = 0; i < n_elements; i++)
        elements[i] = tokens[g_test_rand_int_range (0, G_N_ELEMENTS (tokens))];
      /* Each position gets its own copy of the text, so that a capture
       * taken from the wrong position shows. */
      for (guint i = 0; i < n_resource; i++)
        {
          resource[i] = values[g_test_rand_int_range (0, G_N_ELEMENTS (values))];
          memcpy (texts[i], resource[i].text, resource[i].length);
          resource[i].text = texts[i];
        }

      pattern = jstp_pattern_new ("GET", elements, n_elements, JSTP_MODE_QUIRKS, NULL);
      if (pattern == NULL)
        continue;
      n_patterns++;

      matches = jstp_pattern_match (pattern, "GET", resource, n_resource, &got);
      g_assert_cmpint (matches, ==,
                       reference_match (pattern, 0, resource, n_resource, 0, &expected));
      if (!matches)
        continue;
      n_matches++;

      g_assert_cmpuint (got.n_captures, ==, expected.n_captures);
      for (guint i = 0; i < got.n_captures; i++)
        {
          g_assert_cmpstr (got.items[i].name, ==, expected.items[i].name);
          g_assert_true (got.items[i].value.text == expected.items[i].value.text);
        }
    }

  /* Guard against a generator that tests nothing. */
  g_assert_cmpuint (n_patterns, >, 5000);
  g_assert_cmpuint (n_matches, >, 1000);
}

static void
fill_resource (JstpElement *resource,
               guint        n,
               GPtrArray   *keep)
{
  for (guint i = 0; i < n; i++)
    {
      char *text = g_strdup_printf ("e%u", i);

      g_ptr_array_add (keep, text);
      resource[i] = (JstpElement) { JSTP_JSON_STRING, text, strlen (text) };
    }
}

static void
check_linear_captures (guint n,
                       guint first_x)
{
  /* Two `...` and every capture the caps allow. */
  g_autoptr(JstpPattern) pattern = make_valid ("GET", ":a", ":b", "...", ":c", ":d", "x", ":e",
                                               "...", ":f", ":g", ":h", NULL);
  g_autofree JstpElement *resource = g_new (JstpElement, n);
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  const JstpElement x = STR ("x");
  const struct {
    const char *name;
    guint index;
  } expected[] = {
    { "a", 0 }, { "b", 1 }, { "c", first_x - 2 }, { "d", first_x - 1 }, { "e", first_x + 1 },
    { "f", n - 3 }, { "g", n - 2 }, { "h", n - 1 },
  };
  guint64 n_comparisons = 0;
  JstpCaptures captures;

  fill_resource (resource, n, keep);
  resource[first_x] = x;
  resource[n - 5] = x;

  g_assert_true (jstp_pattern_match_counted (pattern, "GET", resource, n, &captures,
                                             &n_comparisons));
  g_assert_cmpuint (captures.n_captures, ==, JSTP_PATTERN_MAX_CAPTURES);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_assert_cmpstr (captures.items[i].name, ==, expected[i].name);
      g_assert_true (captures.items[i].value.text == resource[expected[i].index].text);
    }
  g_assert_cmpuint (n_comparisons, <=, (guint64) n * jstp_pattern_get_n_elements (pattern));

  /* No `x` at all: the whole resource is scanned once, then it fails. */
  resource[first_x] = resource[0];
  resource[n - 5] = resource[0];
  n_comparisons = 0;
  g_assert_false (jstp_pattern_match_counted (pattern, "GET", resource, n, &captures,
                                              &n_comparisons));
  g_assert_cmpuint (captures.n_captures, ==, 0);
  g_assert_cmpuint (n_comparisons, <=, (guint64) n * jstp_pattern_get_n_elements (pattern));
}

static void
test_linear (void)
{
  check_linear_captures (64, 40);
  check_linear_captures (100000, 50000);
}

/* The worst case for placing a middle segment: it almost matches at every
 * position. Still at most (segment length) comparisons per position. */
static void
test_linear_worst_case (void)
{
  const guint n = 100000;
  const guint segment = JSTP_PATTERN_MAX_ELEMENTS - 3;
  const char *elements[JSTP_PATTERN_MAX_ELEMENTS];
  g_autofree JstpElement *resource = g_new (JstpElement, n);
  g_autoptr(JstpPattern) pattern = NULL;
  g_autoptr(GError) error = NULL;
  const JstpElement y = STR ("y");
  const JstpElement x = STR ("x");
  guint64 n_comparisons = 0;
  guint n_elements = 0;

  elements[n_elements++] = "...";
  for (guint i = 0; i < segment; i++)
    elements[n_elements++] = "y";
  elements[n_elements++] = "x";
  elements[n_elements++] = "...";

  pattern = jstp_pattern_new ("GET", elements, n_elements, JSTP_MODE_STRICT, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < n; i++)
    resource[i] = y;

  g_assert_false (jstp_pattern_match_counted (pattern, "GET", resource, n, NULL,
                                              &n_comparisons));
  g_assert_cmpuint (n_comparisons, <=, (guint64) n * (segment + 1));

  resource[n - 1] = x;
  n_comparisons = 0;
  g_assert_true (jstp_pattern_match_counted (pattern, "GET", resource, n, NULL,
                                             &n_comparisons));
  g_assert_cmpuint (n_comparisons, <=, (guint64) n * (segment + 1));

  /* Without `...` a wrong length is refused before any comparison. */
  {
    g_autoptr(JstpPattern) fixed = make_valid ("GET", "y", "y", NULL);

    n_comparisons = 0;
    g_assert_false (jstp_pattern_match_counted (fixed, "GET", resource, n, NULL,
                                                &n_comparisons));
    g_assert_cmpuint (n_comparisons, ==, 0);
  }
}

static void
add_vector_tests (void)
{
  const char *dir = g_getenv ("JSTP_FIXTURES_DIR");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  JsonObject *root;
  const char *sections[] = { "match", "validity" };

  if (dir == NULL)
    g_error ("JSTP_FIXTURES_DIR is not set: run through `meson test`");

  path = g_build_filename (dir, "endpoint-match.json", NULL);
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);

  fixture_root = json_node_copy (json_parser_get_root (parser));
  root = json_node_get_object (fixture_root);

  for (guint s = 0; s < G_N_ELEMENTS (sections); s++)
    {
      JsonArray *cases = json_object_get_array_member (root, sections[s]);

      g_assert_cmpuint (json_array_get_length (cases), >, 0);

      for (guint i = 0; i < json_array_get_length (cases); i++)
        {
          g_autofree char *name = g_strdup_printf ("/pattern/vectors/%s/%u", sections[s], i);

          g_test_add_data_func (name, json_array_get_element (cases, i),
                                s == 0 ? test_vector_match : test_vector_validity);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  add_vector_tests ();

  g_test_add_func ("/pattern/method", test_method);
  g_test_add_func ("/pattern/method-match", test_method_match);
  g_test_add_func ("/pattern/illegal", test_illegal);
  g_test_add_func ("/pattern/empty", test_empty);
  g_test_add_func ("/pattern/quirks", test_quirks);
  g_test_add_func ("/pattern/caps", test_caps);
  g_test_add_func ("/pattern/numbers", test_numbers);
  g_test_add_func ("/pattern/other-types", test_other_types);
  g_test_add_func ("/pattern/escapes", test_escapes);
  g_test_add_func ("/pattern/accessors", test_accessors);
  g_test_add_func ("/pattern/equal-hash", test_equal_hash);
  g_test_add_func ("/pattern/anchoring", test_anchoring);
  g_test_add_func ("/pattern/non-greedy", test_non_greedy);
  g_test_add_func ("/pattern/duplicate-names", test_duplicate_names);
  g_test_add_func ("/pattern/reference", test_against_reference);
  g_test_add_func ("/pattern/linear", test_linear);
  g_test_add_func ("/pattern/linear-worst-case", test_linear_worst_case);

  status = g_test_run ();

  g_clear_pointer (&fixture_root, json_node_unref);

  return status;
}
