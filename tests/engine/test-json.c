/* SPDX-License-Identifier: MIT */
/* test-json.c: the strict scanner against RFC 8259, the B catalogue of
 * security.md section 4, nst/JSONTestSuite and the project's limits. */

#include <string.h>

#include <json-glib/json-glib.h>

#include "jstp-json.h"

/* 2^1024 - 2^970: from here on a decimal number rounds to infinity. */
#define BOUNDARY_309 \
  "179769313486231580793728971405303415079934132710037826936173778980444968292764750946" \
  "649017977587207096330286416692887910946555547851940402630657488671505820681908902000" \
  "708383676273854845817711531764475730270069855571366959622842914819860834936475292719" \
  "074168444365510704342711559699508093042880177904174497792"

static gboolean
scan (const char           *text,
      gssize                length,
      const JstpJsonLimits *limits,
      JstpJsonSpan         *root,
      GError              **error)
{
  if (length < 0)
    length = strlen (text);
  return jstp_json_scan (text, length, limits, root, NULL, 0, NULL, error);
}

static void
assert_accepts_len (const char *text,
                    gssize      length)
{
  g_autoptr(GError) error = NULL;

  if (!scan (text, length, NULL, NULL, &error))
    g_error ("rejected %s: %s", text, error->message);
}

static void
assert_accepts (const char *text)
{
  assert_accepts_len (text, -1);
}

static void
assert_rejects_len (const char   *text,
                    gssize        length,
                    JstpJsonError code)
{
  g_autoptr(GError) error = NULL;
  JstpJsonSpan root = { 0, };

  if (scan (text, length, NULL, &root, &error))
    g_error ("accepted %s", text);
  g_assert_nonnull (error);
  if (!g_error_matches (error, JSTP_JSON_ERROR, code))
    g_error ("%s: expected code %d, got %d (%s)", text, code, error->code, error->message);
  g_assert_true (g_str_has_prefix (error->message, "at byte "));
}

static void
assert_rejects (const char   *text,
                JstpJsonError code)
{
  assert_rejects_len (text, -1, code);
}

static gint64
elapsed_usec (gint64 start)
{
  return g_get_monotonic_time () - start;
}

static void
test_limits_defaults (void)
{
  JstpJsonLimits limits;

  jstp_json_limits_init (&limits);
  g_assert_cmpuint (limits.max_size, ==, 1024 * 1024);
  g_assert_cmpuint (limits.max_depth, ==, 64);
  g_assert_cmpuint (limits.max_tokens, ==, 100000);
  g_assert_cmpuint (limits.max_array_elements, ==, 10000);
  g_assert_cmpuint (limits.max_object_members, ==, 1024);
  g_assert_cmpuint (limits.max_string_length, ==, 256 * 1024);
}

static void
test_valid (void)
{
  static const struct {
    const char *text;
    JstpJsonType type;
  } cases[] = {
    { "{}", JSTP_JSON_OBJECT },
    { "[]", JSTP_JSON_ARRAY },
    { "\"x\"", JSTP_JSON_STRING },  /* B2: top-level scalars are JSON; the engine refuses them */
    { "42", JSTP_JSON_NUMBER },
    { "null", JSTP_JSON_NULL },
    { "true", JSTP_JSON_TRUE },
    { "false", JSTP_JSON_FALSE },
    { "-0", JSTP_JSON_NUMBER },
    { "0.5", JSTP_JSON_NUMBER },
    { "1E5", JSTP_JSON_NUMBER },
    { "1e+5", JSTP_JSON_NUMBER },
    { "-1.25e-5", JSTP_JSON_NUMBER },
    { " \t\r\n[ 1 , \"a\" , { \"k\" : [ ] } , null ]\r\n", JSTP_JSON_ARRAY },
    { "{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"GET\",\"resource\":[\"a\"]}",
      JSTP_JSON_OBJECT },
    { "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD834\\uDD1E\"", JSTP_JSON_STRING },
    { "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x82 \xf4\x8f\xbf\xbf \x7f\"", JSTP_JSON_STRING },
    { "\"\xef\xbb\xbf\"", JSTP_JSON_STRING },  /* a BOM inside a string is just U+FEFF */
    { "[\"\\uFFFF\", \"\\uffff\"]", JSTP_JSON_ARRAY },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      JstpJsonSpan root = { 0, };
      const char *text = cases[i].text;
      gsize start = strspn (text, " \t\r\n");

      if (!scan (text, -1, NULL, &root, &error))
        g_error ("rejected %s: %s", text, error->message);
      g_assert_cmpint (root.type, ==, cases[i].type);
      g_assert_cmpuint (root.offset, ==, start);
      /* The root span ends at the value, not at the trailing whitespace. */
      g_assert_true (strchr (" \t\r\n", text[root.offset + root.length]) != NULL);
      g_assert_false (strchr (" \t\r\n", text[root.offset + root.length - 1]) != NULL &&
                      text[root.offset + root.length - 1] != '\0');
    }
}

static void
test_syntax (void)
{
  static const char *cases[] = {
    /* B1: truncated */
    "{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"GET\"",
    "[", "{", "[1,", "{\"a\":", "{\"a\"", "\"abc", "[\"a\\",
    /* B7: comments */
    "[1 /* c */]", "/* c */ [1]", "[1] // c", "// c\n[1]", "#1",
    /* B8: numbers that other parsers take */
    "0x10", "[0x10]", "012", "[012]", "-012", "00", "+1", "[+1]", ".5", "[.5]", "1.", "[1.]",
    "1.e5", "NaN", "[NaN]", "Infinity", "-Infinity", "-", "[-]", "--1", "1e", "1e+", "1E-",
    "1.5.5", "0.", "-.5", "1_000", "１",
    /* B12: single quotes */
    "['a']", "{'a':1}",
    /* B13: more than one value */
    "{} {}", "{}{}", "[] []", "1 2", "\"a\" \"b\"", "null null", "[]x", "{} ,",
    /* literals */
    "tru", "nul", "fals", "truex", "TRUE", "True", "nulll", "[true false]", "undefined",
    /* structure */
    "[1,]", "[,1]", "[1,,2]", "{\"a\":1,}", "{,\"a\":1}", "{\"a\" 1}", "{\"a\"::1}", "{1:1}",
    "{\"a\":1 \"b\":2}", "{null:1}", "[1}", "{\"a\":1]", "]", "}", ":", ",", "[1]]", "{}}",
    "{\"a\"}", "{\"a\":}", "[\"a\":1]",
    /* escapes */
    "\"\\x41\"", "\"\\a\"", "\"\\U0041\"", "\"\\u41\"", "\"\\u00G1\"", "\"\\'\"", "\"\\\"",
    /* whitespace is only space, tab, CR, LF */
    "\f[]", "[]\v", "[\xc2\xa0]", "\xe2\x80\xa8[]", "\xc3\xa9", "[\xc3\xa9]",
    /* B18: byte order mark */
    "\xef\xbb\xbf{}", "\xef\xbb\xbf", "\xef\xbb\xbf[1]",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_rejects (cases[i], JSTP_JSON_ERROR_SYNTAX);
}

static void
test_empty (void)
{
  /* B14: empty or whitespace-only text has its own code, so that the
   * transport can ignore keep-alive lines; a lone BOM is a syntax error. */
  assert_rejects_len ("", 0, JSTP_JSON_ERROR_EMPTY);
  assert_rejects_len (NULL, 0, JSTP_JSON_ERROR_EMPTY);
  assert_rejects (" ", JSTP_JSON_ERROR_EMPTY);
  assert_rejects (" \t\r\n \r\n", JSTP_JSON_ERROR_EMPTY);
  assert_rejects ("\xef\xbb\xbf", JSTP_JSON_ERROR_SYNTAX);
}

static void
test_encoding (void)
{
  static const char *cases[] = {
    /* B3 */
    "[\"\xff\"]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xed\xbf\xbf\"]", "[\"\xe2\x82\"]",
    "[\"\xe2\"]", "[\"\xf0\x9f\x98\"]", "[\"\x80\"]", "[\"\xbf\"]", "[\"\xc1\xbf\"]",
    "[\"\xe0\x80\xaf\"]", "[\"\xe0\x9f\xbf\"]", "[\"\xf0\x80\x80\xaf\"]", "[\"\xf0\x8f\xbf\xbf\"]",
    "[\"\xf4\x90\x80\x80\"]", "[\"\xf5\x80\x80\x80\"]", "[\"\xf8\x88\x80\x80\x80\"]",
    "[\"\xfc\x84\x80\x80\x80\x80\"]", "[\"\xfe\"]", "[\"\xc3\x28\"]", "[\"a\xe9z\"]",
    "\xff", "[\xff]", "[1]\xff", "\xc3", "[\xc3]",
    /* B4: surrogate escapes without their pair */
    "\"\\ud800\"", "\"\\udc00\"", "\"\\udc00\\ud800\"", "\"\\uD800\\u\"", "\"\\uD800x\"",
    "\"\\uD800\\n\"", "\"\\uD800\\uD800\"", "\"\\uDBFF\\uE000\"", "\"\\uDFFF\"", "\"\\uD800",
    /* B15 */
    "\"a\\u0000b\"", "{\"a\\u0000\":1}", "\"\\u0000\"",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_rejects (cases[i], JSTP_JSON_ERROR_ENCODING);

  /* Truncated sequence at the very end of the text, without a NUL after it. */
  assert_rejects_len ("\"\xe2\x82", 3, JSTP_JSON_ERROR_ENCODING);
  assert_rejects_len ("[\"\xf0", 3, JSTP_JSON_ERROR_ENCODING);

  /* The edges of the valid ranges. */
  assert_accepts ("\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"");
  assert_accepts ("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"");
  assert_accepts ("\"\\uD800\\uDC00\\uDBFF\\uDFFF\\ud7ff\\ue000\"");
}

static void
test_nul_bytes (void)
{
  /* A7: length-based, so nothing is ever truncated at a NUL. */
  static const struct {
    const char *text;
    gsize length;
  } cases[] = {
    { "{\"a\":\"x\0y\"}", 11 },
    { "{\"a\":1}\0garbage", 15 },
    { "{\"a\":1}\0", 8 },
    { "\0", 1 },
    { "\0{}", 3 },
    { "[1,\0]", 5 },
    { " \0 ", 3 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (scan (cases[i].text, cases[i].length, NULL, NULL, &error));
      g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_ENCODING);
      g_assert_nonnull (strstr (error->message, "NUL"));
    }
}

static void
test_control_characters (void)
{
  /* B16: every raw byte below 0x20 inside a string; DEL is allowed. */
  for (guint c = 1; c < 0x20; c++)
    {
      char text[8];

      g_snprintf (text, sizeof text, "[\"a%cb\"]", c);
      assert_rejects (text, JSTP_JSON_ERROR_SYNTAX);

      g_snprintf (text, sizeof text, "{\"%c\":1}", c);
      assert_rejects (text, JSTP_JSON_ERROR_SYNTAX);
    }
  assert_accepts ("[\"\x7f\"]");
  assert_accepts ("[\"\\u001f\\u0001\\u007f\"]");
}

static void
test_encoding_wins (void)
{
  g_autoptr(GError) error = NULL;

  /* A grammar error at byte 1 and invalid UTF-8 later: the code is ENCODING,
   * so the transport can tell a broken frame from a bad dispatch. */
  g_assert_false (scan ("[x, \"\xff\"]", -1, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_ENCODING);
  g_assert_cmpstr (error->message, ==, "at byte 5: invalid UTF-8");
  g_clear_error (&error);

  g_assert_false (scan ("{\"a\":1,\"a\":2}\xc0\xaf", -1, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_ENCODING);
}

static void
test_numbers (void)
{
  static const char *valid[] = {
    "0", "-0", "1", "-1", "9", "9223372036854775807", "-9223372036854775808",
    "1.0", "-0.0", "0e0", "0E+0", "0e-0", "1e308", "-1e308", "1.7976931348623157e308",
    "1.7976931348623158e308", "-1.7976931348623157e308", "1e-400", "-1e-400", "123e-10000000",
    "0e999999999999999999999", "0.000e400", "0.1e309", "0.01e310", "100e306",
    "1.0e+0000000000000000000000000000000000000000000000000000000000000001",
    "[1e21]", "[1e-7,2E+2,-3.5e0]",
  };
  g_autofree char *below = g_strdup (BOUNDARY_309 ".0");
  g_autofree char *below_long = NULL;
  g_autofree char *digits = NULL;
  g_autofree char *int_digits = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    assert_accepts (valid[i]);

  /* B9 */
  assert_rejects ("9223372036854775808", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("18446744073709551616", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("-9223372036854775809", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("[9999999999999999999]", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("{\"a\":100000000000000000000}", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("-100000000000000000000", JSTP_JSON_ERROR_NUMBER_RANGE);

  /* B11 */
  assert_rejects ("1e400", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("-1e400", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("[1e309]", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("1.7976931348623159e308", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("1.8e308", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("10e308", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("0.4e0066999999999999999999999999999999999999999999999999999999999999",
                  JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects ("1e99999999999999999999999999", JSTP_JSON_ERROR_NUMBER_RANGE);

  /* The exact rounding boundary of a double: 2^1024 - 2^970 and just below. */
  below[308] = '1';
  assert_accepts (below);
  below_long = g_strconcat (below, "999999999999999999999999999999", NULL);
  assert_accepts (below_long);
  assert_rejects (BOUNDARY_309 ".0", JSTP_JSON_ERROR_NUMBER_RANGE);
  assert_rejects (BOUNDARY_309 "e0", JSTP_JSON_ERROR_NUMBER_RANGE);

  /* Long mantissas, without and with a harmless exponent. */
  digits = g_strnfill (1000, '1');
  digits[1] = '.';
  assert_accepts (digits);
  int_digits = g_strdup_printf ("0.%se-5", digits + 2);
  assert_accepts (int_digits);
  g_free (int_digits);
  int_digits = g_strdup_printf ("%s.5", digits + 2);
  assert_rejects (int_digits, JSTP_JSON_ERROR_NUMBER_RANGE);
  g_free (int_digits);
  int_digits = g_strdup_printf ("%s.5e-800", digits + 2);
  assert_accepts (int_digits);
}

static void
test_depth (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  JstpJsonLimits limits;
  char *deep;

  /* B17: boundaries 64 and 65. */
  for (guint n = 1; n <= 65; n++)
    {
      g_string_truncate (text, 0);
      for (guint i = 0; i < n; i++)
        g_string_append_c (text, '[');
      for (guint i = 0; i < n; i++)
        g_string_append_c (text, ']');
      if (n <= 64)
        assert_accepts (text->str);
      else
        {
          g_assert_false (scan (text->str, text->len, NULL, NULL, &error));
          g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_DEPTH);
          g_assert_cmpstr (error->message, ==, "at byte 64: nesting deeper than 64");
          g_clear_error (&error);
        }
    }

  /* The same with objects and a mix. */
  g_string_truncate (text, 0);
  for (guint i = 0; i < 64; i++)
    g_string_append (text, i % 2 ? "[" : "{\"a\":");
  g_string_append (text, "1");
  for (guint i = 64; i-- > 0;)
    g_string_append (text, i % 2 ? "]" : "}");
  assert_accepts (text->str);
  g_string_insert (text, 0, "[");
  g_string_append (text, "]");
  assert_rejects (text->str, JSTP_JSON_ERROR_DEPTH);

  /* B17: 100 000 '[' with constant stack. */
  deep = g_strnfill (100000, '[');
  g_assert_false (scan (deep, 100000, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_DEPTH);
  g_assert_cmpstr (error->message, ==, "at byte 64: nesting deeper than 64");
  g_clear_error (&error);

  /* A configured depth past the frame's own stack moves it to the heap. */
  jstp_json_limits_init (&limits);
  limits.max_depth = 5000;
  g_string_truncate (text, 0);
  for (guint i = 0; i < 5000; i++)
    g_string_append (text, "{\"k\":[");
  g_string_append (text, "1");
  for (guint i = 0; i < 5000; i++)
    g_string_append (text, "]}");
  g_assert_false (scan (text->str, text->len, &limits, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_DEPTH);
  g_clear_error (&error);
  limits.max_depth = 10000;
  g_assert_true (scan (text->str, text->len, &limits, NULL, &error));
  g_assert_no_error (error);
  limits.max_depth = 200000;
  limits.max_tokens = G_MAXUINT;
  g_assert_false (scan (deep, 100000, &limits, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_SYNTAX);
  g_clear_error (&error);

  limits.max_depth = 0;
  g_assert_true (scan ("1", 1, &limits, NULL, NULL));
  g_assert_false (scan ("[]", 2, &limits, NULL, NULL));

  g_free (deep);
}

static void
test_size_limits (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  JstpJsonLimits limits;
  char *big;

  jstp_json_limits_init (&limits);

  /* Size: exactly the limit passes, one byte more fails before scanning. */
  big = g_malloc (1024 * 1024 + 1);
  memset (big, ' ', 1024 * 1024 + 1);
  big[0] = '[';
  big[1024 * 1024 - 1] = ']';
  g_assert_true (scan (big, 1024 * 1024, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (scan (big, 1024 * 1024 + 1, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT);
  g_clear_error (&error);
  g_free (big);

  /* B20: 1 MiB of [0,0,...]; stopped by the element cap at element 10 001. */
  g_string_append_c (text, '[');
  while (text->len + 4 <= 1024 * 1024)
    g_string_append (text, "0,");
  g_string_append (text, "0]");
  g_assert_cmpuint (text->len, <=, 1024 * 1024);
  g_assert_false (scan (text->str, text->len, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT);
  g_assert_cmpstr (error->message, ==, "at byte 20001: array of more than 10000 elements");
  g_clear_error (&error);

  /* With the element cap lifted, the token cap stops it instead. */
  limits.max_array_elements = G_MAXUINT;
  g_assert_false (scan (text->str, text->len, &limits, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT);
  g_assert_nonnull (strstr (error->message, "tokens"));
  g_clear_error (&error);
  jstp_json_limits_init (&limits);

  /* Elements: 10 000 pass, 10 001 fail. */
  g_string_assign (text, "[0");
  for (guint i = 1; i < 10000; i++)
    g_string_append (text, ",0");
  g_string_append (text, "]");
  assert_accepts (text->str);
  g_string_insert (text, 1, "0,");
  assert_rejects (text->str, JSTP_JSON_ERROR_LIMIT);

  /* Tokens: values and names both count. */
  limits.max_tokens = 5;
  g_assert_true (scan ("[1,2,3,4]", -1, &limits, NULL, NULL));
  g_assert_false (scan ("[1,2,3,4,5]", -1, &limits, NULL, NULL));
  g_assert_true (scan ("{\"a\":1,\"b\":2}", -1, &limits, NULL, NULL));
  g_assert_false (scan ("{\"a\":1,\"b\":2,\"c\":3}", -1, &limits, NULL, NULL));
  limits.max_tokens = 1;
  g_assert_true (scan ("\"x\"", -1, &limits, NULL, NULL));
  g_assert_false (scan ("[1]", -1, &limits, NULL, NULL));
  jstp_json_limits_init (&limits);

  /* A small size limit. */
  limits.max_size = 4;
  g_assert_true (scan ("[12]", -1, &limits, NULL, NULL));
  g_assert_false (scan ("[123]", -1, &limits, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT);
  g_clear_error (&error);
  jstp_json_limits_init (&limits);

  limits.max_array_elements = 0;
  g_assert_true (scan ("[]", -1, &limits, NULL, NULL));
  g_assert_false (scan ("[1]", -1, &limits, NULL, NULL));
}

static void
test_string_limits (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  JstpJsonLimits limits;
  JstpJsonSpan root;

  jstp_json_limits_init (&limits);

  /* 256 KiB between the quotes pass, one more byte fails: values and names. */
  g_string_append_c (text, '"');
  for (guint i = 0; i < 256 * 1024; i++)
    g_string_append_c (text, 'a' + i % 26);
  g_string_append_c (text, '"');
  assert_accepts (text->str);
  g_string_insert_c (text, 1, 'x');
  assert_rejects (text->str, JSTP_JSON_ERROR_LIMIT);
  g_string_prepend_c (text, '{');
  g_string_append (text, ":1}");
  assert_rejects (text->str, JSTP_JSON_ERROR_LIMIT);

  /* Raw bytes count, not decoded ones. */
  g_string_assign (text, "\"");
  for (guint i = 0; i < 256 * 1024 / 6 + 1; i++)
    g_string_append (text, "\\u00e9");
  g_string_append_c (text, '"');
  assert_rejects (text->str, JSTP_JSON_ERROR_LIMIT);

  /* B19: one 900 KiB string. The default string cap (256 KiB, section 3.3)
   * refuses it; with the cap raised to the size limit it is accepted. */
  g_string_assign (text, "{\"body\":\"");
  for (guint i = 0; i < 900 * 1024; i++)
    g_string_append_c (text, i % 64 == 63 ? ' ' : '0' + i % 10);
  g_string_append (text, "\"}");
  g_assert_false (scan (text->str, text->len, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT);
  g_clear_error (&error);
  limits.max_string_length = limits.max_size;
  g_assert_true (scan (text->str, text->len, &limits, &root, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (root.length, ==, text->len);
}

/* Expects a duplicate-key error at the last occurrence of the name spelled
 * @raw, quoted as error messages quote attacker bytes: escaped, and cut
 * after 64 bytes. */
static void
assert_duplicate (const char *text,
                  const char *raw)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autofree char *quoted_raw = g_strdup_printf ("\"%s\"", raw);
  const char *last = NULL;

  for (const char *p = text; (p = strstr (p, quoted_raw)) != NULL; p++)
    last = p;
  g_assert_nonnull (last);

  g_string_printf (expected, "at byte %d: duplicate key \"", (int) (last - text));
  for (const guchar *p = (const guchar *) raw; *p && p - (const guchar *) raw < 64; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (expected, "\\%c", *p);
      else if (*p >= 0x20 && *p < 0x7f)
        g_string_append_c (expected, *p);
      else
        g_string_append_printf (expected, "\\x%02x", *p);
    }
  g_string_append_c (expected, '"');
  if (strlen (raw) > 64)
    g_string_append (expected, "...");

  g_assert_false (scan (text, -1, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_DUPLICATE_KEY);
  g_assert_cmpstr (error->message, ==, expected->str);
}

static void
test_duplicate_keys (void)
{
  g_autoptr(GString) text = g_string_new (NULL);

  /* B5 and B6 */
  assert_duplicate ("{\"method\":\"GET\",\"method\":\"DELETE\",\"resource\":[]}", "method");
  assert_duplicate ("{\"method\":\"GET\",\"body\":{\"x\":1,\"y\":2,\"x\":3}}", "x");
  assert_duplicate ("{\"a\":1,\"a\":1}", "a");
  assert_duplicate ("{\"a\":1 , \"a\" :2}", "a");
  assert_duplicate ("[{\"a\":1},{\"b\":1,\"b\":2}]", "b");

  /* Names are compared decoded. */
  assert_duplicate ("{\"a\":1,\"\\u0061\":2}", "\\u0061");
  assert_duplicate ("{\"\\u0061\":1,\"a\":2}", "a");
  assert_duplicate ("{\"\\u00e9\":1,\"\xc3\xa9\":2}", "\xc3\xa9");
  assert_duplicate ("{\"\xf0\x9d\x84\x9e\":1,\"\\uD834\\uDD1E\":2}", "\\uD834\\uDD1E");
  assert_duplicate ("{\"a/b\":1,\"a\\/b\":2}", "a\\/b");
  assert_duplicate ("{\"\\n\":1,\"\\u000a\":2}", "\\u000a");
  assert_duplicate ("{\"\":1,\"\":2}", "");

  /* Not duplicates: other objects, other spellings of other names. */
  assert_accepts ("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}");
  assert_accepts ("{\"a\":{\"b\":1},\"b\":2}");
  assert_accepts ("{\"a\":1,\"A\":2,\"a \":3,\"\\u0062\":4,\"\\u00e9\":5,\"e\":6}");
  assert_accepts ("{\"ab\":1,\"a\":2,\"abc\":3,\"\\u0061\\u0062\\u0063d\":4}");
  assert_duplicate ("{\"a\":{\"a\":1},\"a\":2}", "a");

  /* Large objects go through the hash set: a duplicate of the first, a
   * middle and the last name, escaped or not. */
  for (guint target = 0; target < 1000; target += 333)
    {
      g_autofree char *name = g_strdup_printf ("k%u", target);
      g_autofree char *escaped = g_strdup_printf ("\\u006b%u", target);
      gsize offset;

      g_string_assign (text, "{");
      for (guint i = 0; i < 1000; i++)
        g_string_append_printf (text, "\"k%u\":%u,", i, i);
      offset = text->len;
      g_string_append_printf (text, "\"%s\":0}", name);
      assert_duplicate (text->str, name);

      g_string_truncate (text, offset);
      g_string_append_printf (text, "\"%s\":0}", escaped);
      assert_duplicate (text->str, escaped);

      g_string_truncate (text, offset);
      g_string_append (text, "\"k1000\":0}");
      assert_accepts (text->str);
    }

  /* An escaped name first and its raw twin in the hash set. */
  g_string_assign (text, "{\"\\u006b\\u0035\":0");
  for (guint i = 0; i < 40; i++)
    g_string_append_printf (text, ",\"j%u\":0", i);
  g_string_append (text, ",\"k5\":0}");
  g_assert_false (scan (text->str, -1, NULL, NULL, NULL));

  /* A long escaped name in the hash set, and its raw twin. */
  {
    g_autofree char *raw = g_strnfill (400, 'x');
    g_autoptr(GString) escaped = g_string_new (NULL);

    for (guint i = 0; i < 400; i++)
      g_string_append (escaped, "\\u0078");
    g_string_assign (text, "{");
    for (guint i = 0; i < 40; i++)
      g_string_append_printf (text, "\"j%u\":0,", i);
    g_string_append_printf (text, "\"%s\":1,\"%s\":2}", escaped->str, raw);
    assert_duplicate (text->str, raw);
  }

  /* Nested large objects each have their own set. */
  g_string_assign (text, "{");
  for (guint i = 0; i < 50; i++)
    g_string_append_printf (text, "\"o%u\":{\"x\":1,\"y\":[{\"o%u\":1}]},", i, i);
  for (guint i = 0; i < 50; i++)
    {
      g_string_append_printf (text, "\"i%u\":{", i);
      for (guint j = 0; j < 30; j++)
        g_string_append_printf (text, "%s\"o%u\":%u", j ? "," : "", j, j);
      g_string_append (text, "},");
    }
  g_string_append (text, "\"end\":0}");
  assert_accepts (text->str);
  g_string_truncate (text, text->len - strlen ("\"end\":0}"));
  g_string_append (text, "\"o17\":0}");
  g_assert_false (scan (text->str, -1, NULL, NULL, NULL));
}

/* 2^blocks names that all collide under g_str_hash (djb2): "aA" and "b "
 * have the same hash, and so does every concatenation of them. */
static GString *
colliding_object (guint blocks)
{
  GString *text = g_string_new ("{");

  for (guint n = 0; n < 1u << blocks; n++)
    {
      g_string_append_c (text, '"');
      for (guint b = 0; b < blocks; b++)
        g_string_append (text, (n >> b) & 1 ? "b " : "aA");
      g_string_append (text, "\":0,");
    }
  text->str[text->len - 1] = '}';
  return text;
}

static gint64
best_scan_usec (GString              *text,
                const JstpJsonLimits *limits,
                gboolean              expect)
{
  gint64 best = G_MAXINT64;

  for (guint run = 0; run < 3; run++)
    {
      gint64 start = g_get_monotonic_time ();
      gboolean ok = scan (text->str, text->len, limits, NULL, NULL);

      best = MIN (best, elapsed_usec (start));
      g_assert_true (ok == expect);
    }
  return best;
}

static void
test_hash_flood (void)
{
  g_autoptr(GString) b21 = colliding_object (15);
  g_autoptr(GString) b22 = colliding_object (10);
  g_autoptr(GError) error = NULL;
  JstpJsonLimits limits;
  gint64 usec;

  /* B21: 32 768 colliding names (about 1.1 MB, so raise the size limit to
   * reach the member cap) are refused at member 1 025, fast. */
  jstp_json_limits_init (&limits);
  limits.max_size = 2 * 1024 * 1024;
  g_assert_cmpuint (b21->len, >, 1024 * 1024);
  usec = best_scan_usec (b21, &limits, FALSE);
  g_test_message ("B21: 32768 colliding names rejected in %" G_GINT64_FORMAT " us", usec);
  g_assert_cmpint (usec, <, 50000);
  g_assert_false (scan (b21->str, b21->len, &limits, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT);
  g_assert_nonnull (strstr (error->message, "object of more than 1024 members"));
  g_clear_error (&error);

  /* ...and with the default size limit, by the size. */
  g_assert_false (scan (b21->str, b21->len, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT);
  g_clear_error (&error);

  /* B22: 1 024 colliding names, at the cap: accepted. */
  usec = best_scan_usec (b22, NULL, TRUE);
  g_test_message ("B22: 1024 colliding names accepted in %" G_GINT64_FORMAT " us", usec);
  g_assert_cmpint (usec, <, 50000);

  /* With the member cap lifted, all 32 768 pass in linear time. */
  limits.max_object_members = G_MAXUINT;
  limits.max_tokens = G_MAXUINT;
  usec = best_scan_usec (b21, &limits, TRUE);
  g_test_message ("32768 colliding names accepted in %" G_GINT64_FORMAT " us", usec);
  g_assert_cmpint (usec, <, 200000);

  /* Members: 1 024 pass, 1 025 fail. */
  g_string_truncate (b22, b22->len - 1);
  g_string_append (b22, ",\"new\":1}");
  g_assert_false (scan (b22->str, b22->len, NULL, NULL, &error));
  g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT);
}

static const char dispatch[] =
  "{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"PUT\",\"resource\":[\"calc\",\"memory\"],"
  "\"token\":[\"tx-1\",\"\\u0074r-2\"],\"timestamp\":1700000000123,\"empty\":{},"
  "\"flag\":true,\"nothing\":null,\"no\":false,"
  "\"body\":{\"value\":-12.5e-1,\"list\":[1,[2,[3]],{\"k\":\"v\"}],\"s\":\"a\\\"b\"}}";

static void
test_members (void)
{
  static const struct {
    const char *name;
    JstpJsonType type;
    const char *value;
  } expected[] = {
    { "\"protocol\"", JSTP_JSON_ARRAY, "[\"JSTP\",\"0.5\"]" },
    { "\"method\"", JSTP_JSON_STRING, "\"PUT\"" },
    { "\"resource\"", JSTP_JSON_ARRAY, "[\"calc\",\"memory\"]" },
    { "\"token\"", JSTP_JSON_ARRAY, "[\"tx-1\",\"\\u0074r-2\"]" },
    { "\"timestamp\"", JSTP_JSON_NUMBER, "1700000000123" },
    { "\"empty\"", JSTP_JSON_OBJECT, "{}" },
    { "\"flag\"", JSTP_JSON_TRUE, "true" },
    { "\"nothing\"", JSTP_JSON_NULL, "null" },
    { "\"no\"", JSTP_JSON_FALSE, "false" },
    { "\"body\"", JSTP_JSON_OBJECT,
      "{\"value\":-12.5e-1,\"list\":[1,[2,[3]],{\"k\":\"v\"}],\"s\":\"a\\\"b\"}" },
  };
  JstpJsonMember members[16];
  JstpJsonSpan root;
  guint n = 99;
  g_autoptr(GError) error = NULL;
  g_autofree char *spaced = NULL;

  g_assert_true (jstp_json_scan (dispatch, strlen (dispatch), NULL, &root, members,
                                 G_N_ELEMENTS (members), &n, &error));
  g_assert_no_error (error);
  g_assert_cmpint (root.type, ==, JSTP_JSON_OBJECT);
  g_assert_cmpuint (root.offset, ==, 0);
  g_assert_cmpuint (root.length, ==, strlen (dispatch));
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (expected));

  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (members[i].name.type, ==, JSTP_JSON_STRING);
      g_assert_cmpmem (dispatch + members[i].name.offset, members[i].name.length,
                       expected[i].name, strlen (expected[i].name));
      g_assert_cmpint (members[i].value.type, ==, expected[i].type);
      g_assert_cmpmem (dispatch + members[i].value.offset, members[i].value.length,
                       expected[i].value, strlen (expected[i].value));
    }

  /* Fewer slots than members: the count is still the full one. */
  memset (members, 0xaa, sizeof members);
  g_assert_true (jstp_json_scan (dispatch, strlen (dispatch), NULL, NULL, members, 3, &n, NULL));
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (expected));
  g_assert_cmpmem (dispatch + members[2].value.offset, members[2].value.length,
                   expected[2].value, strlen (expected[2].value));
  g_assert_cmpuint (members[3].name.offset, ==, 0xaaaaaaaa);

  /* No storage at all. */
  g_assert_true (jstp_json_scan (dispatch, strlen (dispatch), NULL, NULL, NULL, 0, &n, NULL));
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (expected));

  /* Whitespace around names, colons and values stays outside the spans. */
  spaced = g_strdup (" { \"a\" : [ 1 ] ,\n\t\"b\" :\"x\" , \"c\"\r\n:\r\n{ } } ");
  g_assert_true (jstp_json_scan (spaced, strlen (spaced), NULL, &root, members, 16, &n, NULL));
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (root.offset, ==, 1);
  g_assert_cmpuint (root.length, ==, strlen (spaced) - 2);
  g_assert_cmpmem (spaced + members[0].name.offset, members[0].name.length, "\"a\"", 3);
  g_assert_cmpmem (spaced + members[0].value.offset, members[0].value.length, "[ 1 ]", 5);
  g_assert_cmpmem (spaced + members[1].value.offset, members[1].value.length, "\"x\"", 3);
  g_assert_cmpmem (spaced + members[2].value.offset, members[2].value.length, "{ }", 3);

  /* Not an object at the top: no members. */
  n = 99;
  g_assert_true (jstp_json_scan ("[{\"a\":1}]", 9, NULL, NULL, members, 16, &n, NULL));
  g_assert_cmpuint (n, ==, 0);
  n = 99;
  g_assert_true (jstp_json_scan ("{}", 2, NULL, NULL, members, 16, &n, NULL));
  g_assert_cmpuint (n, ==, 0);

  /* A failed scan reports no members. */
  n = 99;
  g_assert_false (jstp_json_scan ("{\"a\":1,", 7, NULL, NULL, members, 16, &n, NULL));
  g_assert_cmpuint (n, ==, 0);
}

static char *
span_dup (const char   *text,
          JstpJsonSpan  span)
{
  return g_strndup (text + span.offset, span.length);
}

static void
test_iterators (void)
{
  const char *text =
    " [ 1 , \"a,]\" ,[ [ ] , { } ] , {\"k\" : [1,{\"}\":\"]\"}] } ,-2.5e3,true , null,false ] ";
  static const char *elements[] = {
    "1", "\"a,]\"", "[ [ ] , { } ]", "{\"k\" : [1,{\"}\":\"]\"}] }",
    "-2.5e3", "true", "null", "false",
  };
  static const JstpJsonType types[] = {
    JSTP_JSON_NUMBER, JSTP_JSON_STRING, JSTP_JSON_ARRAY, JSTP_JSON_OBJECT,
    JSTP_JSON_NUMBER, JSTP_JSON_TRUE, JSTP_JSON_NULL, JSTP_JSON_FALSE,
  };
  JstpJsonSpan root;
  JstpJsonSpan value;
  JstpJsonSpan name;
  JstpJsonSpan inner = { 0, };
  JstpJsonIter iter;
  guint i = 0;

  g_assert_true (scan (text, -1, NULL, &root, NULL));
  g_assert_cmpuint (jstp_json_count_children (text, root), ==, G_N_ELEMENTS (elements));

  jstp_json_iter_init (&iter, text, root);
  while (jstp_json_iter_next (&iter, &value))
    {
      g_autofree char *s = span_dup (text, value);

      g_assert_cmpuint (i, <, G_N_ELEMENTS (elements));
      g_assert_cmpstr (s, ==, elements[i]);
      g_assert_cmpint (value.type, ==, types[i]);
      if (i == 3)
        inner = value;
      i++;
    }
  g_assert_cmpuint (i, ==, G_N_ELEMENTS (elements));
  g_assert_false (jstp_json_iter_next (&iter, &value));

  /* Members of the inner object. */
  g_assert_cmpuint (jstp_json_count_children (text, inner), ==, 1);
  jstp_json_iter_init (&iter, text, inner);
  g_assert_true (jstp_json_iter_next_member (&iter, &name, &value));
  g_assert_true (jstp_json_string_equal (text, name, "k", FALSE));
  g_assert_cmpint (value.type, ==, JSTP_JSON_ARRAY);
  g_assert_cmpuint (jstp_json_count_children (text, value), ==, 2);
  g_assert_false (jstp_json_iter_next_member (&iter, &name, &value));

  /* Empty containers, with and without whitespace. */
  g_assert_true (scan ("[ \n ]", -1, NULL, &root, NULL));
  g_assert_cmpuint (jstp_json_count_children ("[ \n ]", root), ==, 0);
  jstp_json_iter_init (&iter, "[ \n ]", root);
  g_assert_false (jstp_json_iter_next (&iter, &value));
  g_assert_true (scan ("{}", -1, NULL, &root, NULL));
  g_assert_cmpuint (jstp_json_count_children ("{}", root), ==, 0);
  jstp_json_iter_init (&iter, "{}", root);
  g_assert_false (jstp_json_iter_next_member (&iter, &name, &value));

  /* Every member of the dispatch, against the members of the scan. */
  {
    JstpJsonMember members[16];
    guint n;

    g_assert_true (jstp_json_scan (dispatch, strlen (dispatch), NULL, &root,
                                   members, 16, &n, NULL));
    g_assert_cmpuint (jstp_json_count_children (dispatch, root), ==, n);
    jstp_json_iter_init (&iter, dispatch, root);
    for (i = 0; jstp_json_iter_next_member (&iter, &name, &value); i++)
      {
        g_assert_cmpuint (name.offset, ==, members[i].name.offset);
        g_assert_cmpuint (name.length, ==, members[i].name.length);
        g_assert_cmpuint (value.offset, ==, members[i].value.offset);
        g_assert_cmpuint (value.length, ==, members[i].value.length);
        g_assert_cmpint (value.type, ==, members[i].value.type);
      }
    g_assert_cmpuint (i, ==, n);
  }
}

static void
test_string_dup (void)
{
  static const struct {
    const char *json;
    const char *decoded;
    gsize length;
  } cases[] = {
    { "\"\"", "", 0 },
    { "\"plain\"", "plain", 5 },
    { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8 },
    { "\"\\u0041\\u00e9\\u20AC\\uD834\\uDD1E\\uDBFF\\uDFFF\"",
      "A\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf", 14 },
    { "\"caf\xc3\xa9 \xf0\x9f\x98\x82\"", "caf\xc3\xa9 \xf0\x9f\x98\x82", 10 },
    { "\"a\\u0001b\\u001f\\u007f\"", "a\x01" "b\x1f\x7f", 5 },
    { "\"tail\\\\\"", "tail\\", 5 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      JstpJsonSpan root;
      gsize length = 0;
      g_autofree char *s = NULL;

      g_assert_true (scan (cases[i].json, -1, NULL, &root, NULL));
      s = jstp_json_string_dup (cases[i].json, root, &length);
      g_assert_cmpuint (length, ==, cases[i].length);
      g_assert_cmpmem (s, length, cases[i].decoded, cases[i].length);
      g_assert_cmpint (s[length], ==, '\0');
      g_assert_true (jstp_json_string_equal (cases[i].json, root, cases[i].decoded, FALSE));
      g_free (s);
      s = jstp_json_string_dup (cases[i].json, root, NULL);
      g_assert_cmpstr (s, ==, cases[i].decoded);
    }
}

static void
test_string_equal (void)
{
  const char *text = "[\"GET\",\"g\\u0045t\",\"\",\"caf\\u00e9\",\"\\uD834\\uDD1E!\",1]";
  JstpJsonSpan root;
  JstpJsonSpan v[6];
  JstpJsonIter iter;
  guint n = 0;

  g_assert_true (scan (text, -1, NULL, &root, NULL));
  jstp_json_iter_init (&iter, text, root);
  while (jstp_json_iter_next (&iter, &v[n]))
    n++;
  g_assert_cmpuint (n, ==, 6);

  g_assert_true (jstp_json_string_equal (text, v[0], "GET", FALSE));
  g_assert_true (jstp_json_string_equal (text, v[0], "get", TRUE));
  g_assert_false (jstp_json_string_equal (text, v[0], "get", FALSE));
  g_assert_false (jstp_json_string_equal (text, v[0], "GE", FALSE));
  g_assert_false (jstp_json_string_equal (text, v[0], "GETS", FALSE));
  g_assert_false (jstp_json_string_equal (text, v[0], "", FALSE));
  g_assert_true (jstp_json_string_equal (text, v[1], "gEt", FALSE));
  g_assert_true (jstp_json_string_equal (text, v[1], "GET", TRUE));
  g_assert_false (jstp_json_string_equal (text, v[1], "GET", FALSE));
  g_assert_true (jstp_json_string_equal (text, v[2], "", FALSE));
  g_assert_false (jstp_json_string_equal (text, v[2], "a", FALSE));
  g_assert_true (jstp_json_string_equal (text, v[3], "caf\xc3\xa9", FALSE));
  g_assert_true (jstp_json_string_equal (text, v[3], "CAF\xc3\xa9", TRUE));
  /* Case folding is ASCII only. */
  g_assert_false (jstp_json_string_equal (text, v[3], "CAF\xc3\x89", TRUE));
  g_assert_false (jstp_json_string_equal (text, v[3], "caf\xc3", FALSE));
  g_assert_true (jstp_json_string_equal (text, v[4], "\xf0\x9d\x84\x9e!", FALSE));
  g_assert_false (jstp_json_string_equal (text, v[4], "\xf0\x9d\x84\x9e", FALSE));
  /* Not a string. */
  g_assert_false (jstp_json_string_equal (text, v[5], "1", FALSE));
}

static void
test_number_get_int64 (void)
{
  static const struct {
    const char *text;
    gboolean ok;
    gint64 value;
  } cases[] = {
    { "0", TRUE, 0 },
    { "-0", TRUE, 0 },
    { "42", TRUE, 42 },
    { "-42", TRUE, -42 },
    { "9007199254740993", TRUE, G_GINT64_CONSTANT (9007199254740993) },
    { "9223372036854775807", TRUE, G_MAXINT64 },
    { "-9223372036854775808", TRUE, G_MININT64 },
    { "1.0", FALSE, 0 },
    { "1e2", FALSE, 0 },
    { "1E2", FALSE, 0 },
    { "-0.0", FALSE, 0 },
    { "\"5\"", FALSE, 0 },
    { "true", FALSE, 0 },
    { "null", FALSE, 0 },
    { "[1]", FALSE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      JstpJsonSpan root;
      gint64 value = 12345;

      g_assert_true (scan (cases[i].text, -1, NULL, &root, NULL));
      g_assert_cmpint (jstp_json_number_get_int64 (cases[i].text, root, &value), ==, cases[i].ok);
      if (cases[i].ok)
        g_assert_cmpint (value, ==, cases[i].value);
      else
        g_assert_cmpint (value, ==, 12345);
    }

  /* Spans that the scanner never produces are still refused, not wrapped. */
  {
    JstpJsonSpan span = { JSTP_JSON_NUMBER, 0, 19 };
    gint64 value;

    g_assert_false (jstp_json_number_get_int64 ("9223372036854775808", span, &value));
    g_assert_true (jstp_json_number_get_int64 ("9223372036854775807", span, &value));
    span.length = 20;
    g_assert_false (jstp_json_number_get_int64 ("-9223372036854775809", span, &value));
  }
}

static char *
append_string (const char *s,
               gssize      length)
{
  GString *out = g_string_new (NULL);

  jstp_json_append_string (out, s, length);
  return g_string_free (out, FALSE);
}

static void
test_append_string (void)
{
  static const struct {
    const char *in;
    gssize length;
    const char *out;
  } cases[] = {
    { "", 0, "\"\"" },
    { "plain", -1, "\"plain\"" },
    { "\"\\/", -1, "\"\\\"\\\\/\"" },
    { "\b\f\n\r\t", -1, "\"\\b\\f\\n\\r\\t\"" },
    { "\x01\x1f\x0b", -1, "\"\\u0001\\u001f\\u000b\"" },
    { "a\0b", 3, "\"a\\u0000b\"" },
    { "\x7f", -1, "\"\x7f\"" },
    { "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x82", -1,
      "\"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x82\"" },
    { "truncated", 4, "\"trun\"" },
    /* Not UTF-8: each bad byte becomes U+FFFD. */
    { "a\xff" "b", -1, "\"a\xef\xbf\xbd" "b\"" },
    { "\xc0\xaf", -1, "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
    { "\xed\xa0\x80", -1, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
    { "\xe2\x82", -1, "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
  };
  g_autoptr(GString) out = g_string_new ("prefix:");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *s = append_string (cases[i].in, cases[i].length);

      g_assert_cmpstr (s, ==, cases[i].out);
    }

  /* It appends, and never touches what is already there. */
  jstp_json_append_string (out, "x", -1);
  g_assert_cmpstr (out->str, ==, "prefix:\"x\"");
}

static gunichar
random_char (void)
{
  switch (g_test_rand_int_range (0, 8))
    {
    case 0: return g_test_rand_int_range (1, 0x20);
    case 1: return "\"\\/\x7f"[g_test_rand_int_range (0, 4)];
    case 2: return g_test_rand_int_range (0x20, 0x80);
    case 3: return g_test_rand_int_range (0x80, 0x800);
    case 4:
      {
        gunichar c = g_test_rand_int_range (0x800, 0x10000);
        return (c >= 0xd800 && c < 0xe000) ? 0xfffd : c;
      }
    case 5: return g_test_rand_int_range (0x10000, 0x110000);
    case 6: return g_test_rand_bit () ? 0x2028 : 0xfeff;
    default: return 'a' + g_test_rand_int_range (0, 26);
    }
}

static void
test_append_string_property (void)
{
  /* B16 and B11 property: whatever the string, the output rescans as JSON,
   * holds no raw control byte and decodes back to the input. */
  for (guint round = 0; round < 2000; round++)
    {
      g_autoptr(GString) in = g_string_new (NULL);
      g_autoptr(GString) out = g_string_new ("[");
      g_autoptr(GError) error = NULL;
      JstpJsonSpan root;
      JstpJsonSpan value;
      JstpJsonIter iter;
      guint len = g_test_rand_int_range (0, 40);
      g_autofree char *back = NULL;
      gsize back_length;

      for (guint i = 0; i < len; i++)
        g_string_append_unichar (in, random_char ());

      jstp_json_append_string (out, in->str, in->len);
      g_string_append_c (out, ',');
      jstp_json_append_string (out, in->str, -1);
      g_string_append_c (out, ']');

      for (gsize i = 0; i < out->len; i++)
        g_assert_cmpuint ((guchar) out->str[i], >=, 0x20);

      if (!scan (out->str, out->len, NULL, &root, &error))
        g_error ("%s: %s", out->str, error->message);
      jstp_json_iter_init (&iter, out->str, root);
      g_assert_true (jstp_json_iter_next (&iter, &value));
      back = jstp_json_string_dup (out->str, value, &back_length);
      g_assert_cmpmem (back, back_length, in->str, in->len);
      g_assert_true (jstp_json_string_equal (out->str, value, in->str, FALSE));
    }

  /* Random bytes, NUL excepted, valid UTF-8 or not. */
  for (guint round = 0; round < 2000; round++)
    {
      guchar bytes[32];
      guint len = g_test_rand_int_range (0, sizeof bytes);
      g_autofree char *s = NULL;
      g_autoptr(GError) error = NULL;

      for (guint i = 0; i < len; i++)
        bytes[i] = g_test_rand_int_range (1, 256);
      s = append_string ((const char *) bytes, len);
      if (!scan (s, -1, NULL, NULL, &error))
        g_error ("%s: %s", s, error->message);
    }
}

static void
test_error_messages (void)
{
  static const struct {
    const char *text;
    const char *message;
  } cases[] = {
    { "{\"method\":\"GET\",\"method\":\"GET\"}", "at byte 16: duplicate key \"method\"" },
    { "[1,]", "at byte 3: unexpected ']', expected a value" },
    { "{} {}", "at byte 3: unexpected '{', expected end of text after the value" },
    { "[012]", "at byte 1: number with a leading zero" },
    { "[\"a\\u0000\"]", "at byte 3: \\u0000 in a string" },
    { "[\"\\ud800\"]", "at byte 2: high surrogate \\ud800 without a low surrogate" },
    { "[\"a\tb\"]", "at byte 3: raw control character U+0009 in a string" },
    { "[1e400]", "at byte 1: number too large for a double" },
    { "[1", "at byte 2: unexpected end of text, expected ',' or ']'" },
    { "\"abc", "at byte 0: unterminated string" },
    { "  ", "at byte 2: no value, only whitespace" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (scan (cases[i].text, -1, NULL, NULL, &error));
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }

  /* Attacker bytes in a message are escaped and cut short. */
  {
    g_autoptr(GString) text = g_string_new ("{\"");
    g_autoptr(GError) error = NULL;

    for (guint i = 0; i < 100; i++)
      g_string_append (text, "\\n");
    g_string_append (text, "\":1,\"");
    for (guint i = 0; i < 100; i++)
      g_string_append (text, "\\u000a");
    g_string_append (text, "\":2}");
    g_assert_false (scan (text->str, text->len, NULL, NULL, &error));
    g_assert_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_DUPLICATE_KEY);
    g_assert_true (g_str_has_suffix (error->message, "..."));
    g_assert_cmpuint (strlen (error->message), <, 120);
    g_assert_null (strchr (error->message, '\n'));
  }
}

/* JSONTestSuite's test_parsing cases that our stricter rules refuse on
 * purpose, with the reason. Everything else in y_ must pass. */
static const struct {
  const char *file;
  const char *reason;
} y_exceptions[] = {
  { "y_object_duplicated_key.json", "duplicate keys are rejected (I-JSON, security.md 2.5)" },
  { "y_object_duplicated_key_and_value.json", "duplicate keys are rejected, equal values or not" },
  { "y_object_escaped_null_in_key.json", "\\u0000 is rejected: json-glib truncates at it" },
  { "y_string_null_escape.json", "\\u0000 is rejected: json-glib truncates at it" },
};

/* What we decide for the implementation-defined i_ cases: only the two
 * number underflows are accepted (they round to zero, which is finite);
 * every other one is rejected by a rule of jstp-json.h: huge exponents and
 * integers (NUMBER_RANGE), lone or inverted surrogate escapes, invalid or
 * overlong UTF-8, Latin-1 and UTF-16 text (ENCODING), a UTF-8 BOM (SYNTAX)
 * and 500 nested arrays (DEPTH). */
static const char *i_accepted[] = {
  "i_number_double_huge_neg_exp.json",
  "i_number_real_underflow.json",
};

static void
test_json_test_suite (void)
{
  const char *fixtures = g_getenv ("JSTP_FIXTURES_DIR");
  g_autofree char *dir_path = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint counts[3][2] = { { 0, }, };  /* [y, n, i][rejected, accepted] */
  guint failures = 0;
  const char *name;

  if (fixtures == NULL)
    {
      g_test_skip ("JSTP_FIXTURES_DIR is not set");
      return;
    }

  dir_path = g_build_filename (fixtures, "jsontestsuite", NULL);
  dir = g_dir_open (dir_path, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (g_str_has_suffix (name, ".json"))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_assert_cmpuint (names->len, ==, 318);

  for (guint i = 0; i < names->len; i++)
    {
      const char *file = names->pdata[i];
      g_autofree char *path = g_build_filename (dir_path, file, NULL);
      g_autofree char *contents = NULL;
      g_autoptr(GError) scan_error = NULL;
      gsize length;
      gboolean accepted;
      gboolean expected;
      int kind;

      g_file_get_contents (path, &contents, &length, &error);
      g_assert_no_error (error);
      accepted = jstp_json_scan (contents, length, NULL, NULL, NULL, 0, NULL, &scan_error);
      g_assert_true (accepted == (scan_error == NULL));

      switch (file[0])
        {
        case 'y':
          kind = 0;
          expected = TRUE;
          for (gsize e = 0; e < G_N_ELEMENTS (y_exceptions); e++)
            {
              if (strcmp (file, y_exceptions[e].file) == 0)
                expected = FALSE;
            }
          break;
        case 'n':
          kind = 1;
          expected = FALSE;
          break;
        case 'i':
          kind = 2;
          expected = g_strv_contains (i_accepted, file);
          break;
        default:
          g_assert_not_reached ();
        }
      counts[kind][accepted]++;

      if (accepted != expected)
        {
          g_test_message ("%s: %s (%s)", file, accepted ? "accepted" : "rejected",
                          scan_error ? scan_error->message : "");
          failures++;
        }

      /* What we accept, json-glib must build a tree from. */
      if (accepted)
        {
          g_autoptr(JsonParser) parser = json_parser_new_immutable ();

          if (!json_parser_load_from_data (parser, contents, length, &error))
            g_error ("%s: json-glib refused: %s", file, error->message);
        }
    }

  g_test_message ("JSONTestSuite: y %u accepted %u rejected; n %u accepted %u rejected; "
                  "i %u accepted %u rejected",
                  counts[0][1], counts[0][0], counts[1][1], counts[1][0],
                  counts[2][1], counts[2][0]);
  g_assert_cmpuint (failures, ==, 0);
  g_assert_cmpuint (counts[0][0], ==, G_N_ELEMENTS (y_exceptions));
  g_assert_cmpuint (counts[1][1], ==, 0);
}

static char *
dispatch_document (gsize target)
{
  GString *doc = g_string_new ("[");
  guint n = 0;

  while (doc->len < target - 600)
    {
      g_string_append_printf (doc,
        "%s{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"POST\",\"resource\":[\"notes\",\"%u\"],"
        "\"token\":[\"3f1c9a7e5b2d4c60\"],\"timestamp\":%u,"
        "\"body\":{\"title\":\"Meeting notes, week %u\",\"text\":\"Bring the quarterly figures "
        "and the caf\xc3\xa9 receipts; we go through the open items one by one, then the "
        "\\\"next steps\\\" list.\\nAll welcome.\",\"tags\":[\"work\",\"weekly\"],\"done\":false}}",
        n ? "," : "", n, 1700000000 + n, n % 52);
      n++;
    }
  g_string_append (doc, "]");
  return g_string_free (doc, FALSE);
}

static double
throughput (const char *text,
            gsize       length,
            double      seconds)
{
  guint64 bytes = 0;
  gint64 start = g_get_monotonic_time ();
  gint64 stop = start + seconds * G_USEC_PER_SEC;
  gint64 now;

  do
    {
      for (guint i = 0; i < 64; i++)
        {
          if (!jstp_json_scan (text, length, NULL, NULL, NULL, 0, NULL, NULL))
            g_error ("benchmark text rejected");
          bytes += length;
        }
      now = g_get_monotonic_time ();
    }
  while (now < stop);

  return bytes / ((now - start) / (double) G_USEC_PER_SEC) / 1e6;
}

static void
test_perf (void)
{
  static const char dispatch_280[] =
    "{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"GET\",\"resource\":[\"calculator\",\"memory\","
    "\"slot-3\"],\"token\":[\"8c1f0e3dad999083\",\"4f2a7c9e66797425\"],\"host\":[\"gw1.example"
    ".org:7000\"],\"timestamp\":1700000000123,\"content-type\":\"application/json\","
    "\"body\":{\"from\":12,\"to\":30,\"unit\":\"cm\",\"note\":\"rounded\"}}";
  g_autofree char *doc = dispatch_document (1024 * 1024);
  JstpJsonMember members[32];
  guint n;
  double mbs;

  if (!g_test_perf ())
    {
      g_test_skip ("run with -m perf");
      return;
    }

  g_assert_true (jstp_json_scan (dispatch_280, strlen (dispatch_280), NULL, NULL,
                                 members, 32, &n, NULL));

  mbs = throughput (dispatch_280, strlen (dispatch_280), 2.0);
  g_test_message ("dispatch of %zu bytes, %u members: %.0f MB/s", strlen (dispatch_280), n, mbs);
  g_test_minimized_result (1 / mbs, "%.0f MB/s on a %zu byte dispatch", mbs, strlen (dispatch_280));

  mbs = throughput (doc, strlen (doc), 2.0);
  g_test_message ("document of %zu bytes: %.0f MB/s", strlen (doc), mbs);
  g_test_minimized_result (1 / mbs, "%.0f MB/s on a %zu byte document", mbs, strlen (doc));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/json/limits/defaults", test_limits_defaults);
  g_test_add_func ("/json/scan/valid", test_valid);
  g_test_add_func ("/json/scan/syntax", test_syntax);
  g_test_add_func ("/json/scan/empty", test_empty);
  g_test_add_func ("/json/scan/encoding", test_encoding);
  g_test_add_func ("/json/scan/nul-bytes", test_nul_bytes);
  g_test_add_func ("/json/scan/control-characters", test_control_characters);
  g_test_add_func ("/json/scan/encoding-wins", test_encoding_wins);
  g_test_add_func ("/json/scan/numbers", test_numbers);
  g_test_add_func ("/json/scan/depth", test_depth);
  g_test_add_func ("/json/scan/size-limits", test_size_limits);
  g_test_add_func ("/json/scan/string-limits", test_string_limits);
  g_test_add_func ("/json/scan/duplicate-keys", test_duplicate_keys);
  g_test_add_func ("/json/scan/hash-flood", test_hash_flood);
  g_test_add_func ("/json/scan/members", test_members);
  g_test_add_func ("/json/scan/error-messages", test_error_messages);
  g_test_add_func ("/json/scan/json-test-suite", test_json_test_suite);
  g_test_add_func ("/json/iter", test_iterators);
  g_test_add_func ("/json/string-dup", test_string_dup);
  g_test_add_func ("/json/string-equal", test_string_equal);
  g_test_add_func ("/json/number-get-int64", test_number_get_int64);
  g_test_add_func ("/json/append-string", test_append_string);
  g_test_add_func ("/json/append-string/property", test_append_string_property);
  g_test_add_func ("/json/perf", test_perf);

  return g_test_run ();
}
