/* SPDX-License-Identifier: MIT */
/* test-dispatch.c: parsing, validation (spec sections 2 and 3) and output. */
#include <math.h>
#include <string.h>

#include "jstp-dispatch.h"
#include "jstp-error.h"
#include "jstp-json.h"

#define PROTO "\"protocol\":[\"JSTP\",\"0.5\"]"
#define TS "\"timestamp\":1700000000000"

static JstpDispatch *
parse (const char  *text,
       JstpMode     mode,
       char       **txid,
       GError     **error)
{
  JstpParseOptions options;

  jstp_parse_options_init (&options);
  options.mode = mode;
  return jstp_dispatch_parse (text, strlen (text), &options, txid, error);
}

static void
assert_valid_json (const char *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (jstp_json_scan (text, strlen (text), NULL, NULL, NULL, 0, NULL, &error));
  g_assert_no_error (error);
}

static void
test_parse_regular (void)
{
  const char *text = "{" PROTO ",\"method\":\"get\",\"resource\":[\"user\",42,\"a\\u0062c\"],"
                     TS ",\"token\":[\"t-1\"],\"body\":{\"x\":[1,2.5e3,null]},"
                     "\"referer\":\"cli\",\"X-Trace\":{\"id\":7}}";
  g_autoptr(GError) error = NULL;
  g_autofree char *txid = NULL;
  g_autoptr(JstpDispatch) d = parse (text, JSTP_MODE_STRICT, &txid, &error);
  const JstpElement *res;
  guint n;

  g_assert_no_error (error);
  g_assert_nonnull (d);
  g_assert_cmpstr (txid, ==, "t-1");
  g_assert_cmpint (jstp_dispatch_get_method (d), ==, JSTP_METHOD_GET);
  g_assert_cmpint (jstp_dispatch_get_morphology (d), ==, JSTP_MORPHOLOGY_REGULAR);
  g_assert_cmpint (jstp_dispatch_get_timestamp (d), ==, 1700000000000);
  g_assert_cmpstr (jstp_dispatch_get_transaction_id (d), ==, "t-1");
  g_assert_null (jstp_dispatch_get_triggering_id (d));

  res = jstp_dispatch_get_resource (d, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (res[0].type, ==, JSTP_JSON_STRING);
  g_assert_cmpmem (res[0].text, res[0].length, "user", 4);
  g_assert_cmpint (res[1].type, ==, JSTP_JSON_NUMBER);
  g_assert_cmpmem (res[1].text, res[1].length, "42", 2);
  g_assert_cmpmem (res[2].text, res[2].length, "abc", 3);

  g_assert_cmpstr (jstp_dispatch_get_body_json (d), ==, "{\"x\":[1,2.5e3,null]}");
  g_assert_cmpstr (jstp_dispatch_get_referer_json (d), ==, "\"cli\"");
  /* Unknown headers are kept, under lower-case names. */
  g_assert_cmpuint (jstp_dispatch_get_n_extensions (d), ==, 1);
  g_assert_cmpstr (jstp_dispatch_get_extension_name (d, 0), ==, "x-trace");
  g_assert_cmpstr (jstp_dispatch_get_extension (d, "X-TRACE"), ==, "{\"id\":7}");
}

static void
test_write_round_trip (void)
{
  const char *text = "{\"PROTOCOL\":[\"jstp\",\"0.4\"],\"Method\":\"post\",\n"
                     "\"resource\":[\"a\",1],\"timestamp\":5,\"token\":[\"t\",\"g\"],"
                     "\"host\":[[\"h.example\",\"8080\",\"ws\"]],"
                     "\"body\":[\n1,\r\n2],\"x-z\":true}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpDispatch) d = parse (text, JSTP_MODE_STRICT, NULL, &error);
  g_autofree char *out = NULL;
  g_autofree char *with_trig = NULL;
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(JstpDispatch) again = NULL;

  g_assert_no_error (error);
  out = jstp_dispatch_to_string (d);
  /* Strict 0.5 out, lower-case headers, compact, no raw newline. */
  g_assert_cmpstr (out, ==,
                   "{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"POST\",\"resource\":[\"a\",1],"
                   "\"timestamp\":5,\"token\":[\"t\",\"g\"],\"host\":[[\"h.example\",8080,\"ws\"]],"
                   "\"body\":[ 1,  2],\"x-z\":true}");
  assert_valid_json (out);
  g_assert_null (strchr (out, '\n'));

  jstp_dispatch_write (d, s, "other");
  g_assert_nonnull (strstr (s->str, "\"token\":[\"t\",\"other\"]"));

  again = parse (out, JSTP_MODE_STRICT, NULL, &error);
  g_assert_no_error (error);
  with_trig = jstp_dispatch_to_string (again);
  g_assert_cmpstr (with_trig, ==, out);
}

static void
test_build_and_body (void)
{
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_PUT,
                                                 (const char *[]) { "a\"b", "\x1f", NULL });
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) back = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "big");
  json_builder_add_double_value (builder, 1e21);
  json_builder_set_member_name (builder, "tenth");
  json_builder_add_double_value (builder, 0.1);
  json_builder_set_member_name (builder, "ctl");
  json_builder_add_string_value (builder, "\x1f\x7f");
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);

  /* json-glib 1.6 would write 1e+21.0 and a raw U+001F. */
  g_assert_true (jstp_dispatch_set_body (d, node, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (jstp_dispatch_get_body_json (d), ==,
                   "{\"big\":1e+21,\"tenth\":0.1,\"ctl\":\"\\u001f\x7f\"}");
  out = jstp_dispatch_to_string (d);
  assert_valid_json (out);

  back = jstp_dispatch_dup_body (d);
  g_assert_nonnull (back);
  g_assert_cmpfloat (json_object_get_double_member (json_node_get_object (back), "tenth"), ==, 0.1);

  g_assert_false (jstp_dispatch_set_body_json (d, "{\"a\":1,\"a\":2}", &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_clear_error (&error);
  g_assert_false (jstp_dispatch_set_body_json (d, "012", &error));
  g_clear_error (&error);
  g_assert_true (jstp_dispatch_set_body_json (d, " [ 1 ,\n 2 ] ", &error));
  g_assert_cmpstr (jstp_dispatch_get_body_json (d), ==, "[1,2]");
}

static void
test_non_finite_body (void)
{
  g_autoptr(JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_PUT, (const char *[]) { "a", NULL });
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  g_autoptr(GError) error = NULL;

  json_node_set_double (node, INFINITY);
  g_assert_false (jstp_dispatch_set_body (d, node, &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_assert_null (jstp_dispatch_get_body_json (d));
}

static void
test_subscription_and_answer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpDispatch) bind = parse ("{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"post\","
                                        "\"resource\":[\"chat\",\":room\",\"...\"]}," TS "}",
                                        JSTP_MODE_STRICT, NULL, &error);
  g_autoptr(JstpDispatch) answer = NULL;
  g_autofree char *out = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (jstp_dispatch_get_morphology (bind), ==, JSTP_MORPHOLOGY_SUBSCRIPTION);
  g_assert_cmpstr (jstp_pattern_get_method (jstp_dispatch_get_endpoint (bind)), ==, "POST");
  out = jstp_dispatch_to_string (bind);
  g_assert_cmpstr (out, ==, "{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"BIND\",\"endpoint\":"
                            "{\"method\":\"POST\",\"resource\":[\"chat\",\":room\",\"...\"]},"
                            "\"timestamp\":1700000000000}");

  answer = parse ("{" PROTO ",\"method\":\"ANSWER\",\"resource\":[404,\"t\",\"g\"]," TS "}",
                  JSTP_MODE_STRICT, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, 404);
}

typedef struct {
  const char *text;
  JstpMode mode;
  guint status;          /* 0: accepted */
  gboolean addressable;  /* a transaction id could be read */
  const char *names;     /* the message must mention this */
} Case;

static const Case cases[] = {
  /* C1: protocol missing */
  { "{\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":[\"t\"]}", 0, 400, TRUE, "protocol" },
  /* C2 */
  { "{\"protocol\":\"JSTP/0.5\",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":[\"t\"]}", 0, 400, TRUE, "protocol" },
  { "{\"protocol\":[\"JSTP\",\"0.4\"],\"method\":\"GET\",\"resource\":[\"a\"]," TS "}", 0, 0, FALSE, NULL },
  { "{\"protocol\":[\"JSTP\",\"9.9\"],\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":[\"t\"]}", 0, 505, TRUE, "version" },
  { "{\"protocol\":[\"JSTP\",\"9.9\"],\"method\":\"GET\",\"resource\":[\"a\"]," TS "}", JSTP_MODE_QUIRKS, 0, FALSE, NULL },
  { "{\"protocol\":[\"HTTP\",\"0.5\"],\"method\":\"GET\",\"resource\":[\"a\"]," TS "}", 0, 400, FALSE, "protocol" },
  /* C3 */
  { "{" PROTO ",\"method\":42,\"resource\":[\"a\"]," TS ",\"token\":[\"t\"]}", 0, 400, TRUE, "method" },
  { "{" PROTO ",\"method\":\"FOO\",\"resource\":[\"a\"]," TS ",\"token\":[\"t\"]}", 0, 405, TRUE, "FOO" },
  { "{" PROTO ",\"method\":[\"GET\"],\"resource\":[\"a\"]," TS "}", 0, 400, FALSE, "method" },
  { "{" PROTO ",\"resource\":[\"a\"]," TS "}", 0, 400, FALSE, "method" },
  /* C4 */
  { "{" PROTO ",\"method\":\"GET\"," TS ",\"token\":[\"t\"]}", 0, 400, TRUE, "resource" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":\"a\"," TS "}", 0, 400, FALSE, "resource" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[]," TS "}", 0, 400, FALSE, "resource" },
  /* C5, C6 */
  { "{" PROTO ",\"method\":\"BIND\",\"resource\":[\"a\"],\"endpoint\":{\"method\":\"*\",\"resource\":[\"*\"]}," TS "}", 0, 400, FALSE, "resource" },
  { "{" PROTO ",\"method\":\"BIND\"," TS ",\"token\":[\"t\"]}", 0, 400, TRUE, "endpoint" },
  { "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"*\"}," TS "}", 0, 400, FALSE, "endpoint" },
  { "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"*\",\"resource\":[1]}," TS "}", 0, 400, FALSE, "endpoint" },
  { "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"*\",\"resource\":[]}," TS "}", 0, 400, FALSE, "endpoint" },
  { "{" PROTO ",\"method\":\"BIND\",\"endpoint\":{\"method\":\"NOPE\",\"resource\":[\"a\"]}," TS "}", 0, 405, FALSE, "endpoint" },
  { "{" PROTO ",\"method\":\"GET\",\"endpoint\":{\"method\":\"*\",\"resource\":[\"a\"]},\"resource\":[\"a\"]," TS "}", 0, 400, FALSE, "endpoint" },
  /* C7 */
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"],\"timestamp\":\"5\"}", 0, 400, FALSE, "timestamp" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"],\"timestamp\":1.5}", 0, 400, FALSE, "timestamp" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"],\"timestamp\":-1}", 0, 400, FALSE, "timestamp" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"],\"timestamp\":true}", 0, 400, FALSE, "timestamp" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"],\"timestamp\":9007199254740992}", 0, 400, FALSE, "timestamp" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]}", 0, 400, FALSE, "timestamp" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]}", JSTP_MODE_QUIRKS, 0, FALSE, NULL },
  /* C8: malformed tokens make a dispatch unaddressable */
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":\"t\"}", 0, 400, FALSE, "token" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":[\"a\",\"b\",\"c\"]}", 0, 400, FALSE, "token" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":[1]}", 0, 400, FALSE, "token" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":[\"0123456789012345678901234567890123456789012345678901234567890123456789\"]}", 0, 400, FALSE, "token" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":[]}", 0, 0, FALSE, NULL },
  /* C9, C10, C11 */
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"host\":[]}", 0, 0, FALSE, NULL },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"token\":[\"t\"],\"host\":[null]}", 0, 400, TRUE, "host" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"host\":[[\"h\",0,\"tcp\"]]}", 0, 400, FALSE, "port" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"host\":[[\"h\",65536,\"tcp\"]]}", 0, 400, FALSE, "port" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"host\":[[\"h\",\"http\",\"tcp\"]]}", 0, 400, FALSE, "port" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"host\":[[\"\",80,\"tcp\"]]}", 0, 400, FALSE, "address" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"host\":[[\"h\",80]]}", 0, 400, FALSE, "host" },
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"host\":[[\"h\",80,\"udp\"]]}", 0, 0, FALSE, NULL },
  { "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[200,\"t\",\"g\"]," TS ",\"host\":[[\"h\",80,\"tcp\"]]}", 0, 400, FALSE, "host" },
  /* C12: too many headers */
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"a1\":1,\"a2\":1,\"a3\":1,\"a4\":1,\"a5\":1,\"a6\":1,\"a7\":1,\"a8\":1,\"a9\":1,\"a10\":1,\"a11\":1,\"a12\":1,\"a13\":1,\"a14\":1,\"a15\":1,\"a16\":1,\"a17\":1,\"a18\":1,\"a19\":1,\"a20\":1,\"a21\":1,\"a22\":1,\"a23\":1,\"a24\":1,\"a25\":1,\"a26\":1,\"a27\":1,\"a28\":1,\"a29\":1,\"a30\":1}", 0, 413, FALSE, "headers" },
  /* Duplicate headers, also differing in case (B5) */
  { "{" PROTO ",\"method\":\"GET\",\"METHOD\":\"DELETE\",\"resource\":[\"a\"]," TS ",\"token\":[\"t\"]}", 0, 400, TRUE, "twice" },
  { "{" PROTO ",\"method\":\"GET\",\"method\":\"DELETE\",\"resource\":[\"a\"]," TS ",\"token\":[\"t\"]}", 0, 400, FALSE, "duplicate" },
  /* Answers: D4, D5 */
  { "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[200,null,\"g\"]," TS "}", 0, 400, FALSE, "resource" },
  { "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[2000,\"t\",\"g\"]," TS "}", 0, 400, FALSE, "resource" },
  { "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[\"200\",\"t\",\"g\"]," TS "}", 0, 400, FALSE, "resource" },
  { "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[200.0,\"t\",\"g\"]," TS "}", 0, 400, FALSE, "resource" },
  { "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[200,\"t\"]," TS "}", 0, 400, FALSE, "resource" },
  { "{" PROTO ",\"method\":\"ANSWER\",\"resource\":[200,\"t\"]," TS "}", JSTP_MODE_QUIRKS, 0, FALSE, NULL },
  /* Not a dispatch at all (B1, B2) */
  { "{" PROTO ",\"method\":\"GET\"", 0, 400, FALSE, "valid" },
  { "[]", 0, 400, FALSE, "object" },
  { "", 0, 400, FALSE, "valid" },
  /* Header names: escapes and case fold; a near miss is an extension */
  { "{" PROTO ",\"\\u006dethod\":\"GET\",\"RESOURCE\":[\"a\"]," TS "}", 0, 0, FALSE, NULL },
  { "{" PROTO ",\"method\":\"GET\",\"resourc@\":[\"a\"]," TS ",\"token\":[\"t\"]}", 0, 400, TRUE, "resource" },
  /* C14: odd extension names are opaque */
  { "{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\"]," TS ",\"__proto__\":{},\"constructor\":1}", 0, 0, FALSE, NULL },
};

static void
test_validation_cases (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr(GError) error = NULL;
      g_autofree char *txid = NULL;
      g_autoptr(JstpDispatch) d = parse (c->text, c->mode, &txid, &error);

      g_test_message ("case %u: %s", i, c->text);
      if (c->status == 0)
        {
          g_assert_no_error (error);
          g_assert_nonnull (d);
          continue;
        }
      g_assert_null (d);
      g_assert_error (error, JSTP_ERROR, (gint) c->status);
      if (c->addressable)
        g_assert_cmpstr (txid, ==, "t");
      else
        g_assert_null (txid);
      if (c->names && strstr (error->message, c->names) == NULL)
        g_error ("case %u: message \"%s\" does not mention \"%s\"", i, error->message, c->names);
    }
}

static void
test_resource_limits (void)
{
  g_autoptr(GString) text = g_string_new ("{" PROTO ",\"method\":\"GET\"," TS ",\"token\":[\"t\"],\"resource\":[");
  g_autoptr(GError) error = NULL;
  g_autofree char *txid = NULL;
  g_autoptr(JstpDispatch) d = NULL;
  g_autofree char *big = g_strnfill (2048, 'x');

  for (guint i = 0; i < 65; i++)
    g_string_append_printf (text, "%s\"e%u\"", i ? "," : "", i);
  g_string_append (text, "]}");
  d = parse (text->str, JSTP_MODE_STRICT, &txid, &error);
  g_assert_null (d);
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_TOO_LARGE);
  g_assert_cmpstr (txid, ==, "t");
  g_clear_error (&error);

  g_string_printf (text, "{" PROTO ",\"method\":\"GET\"," TS ",\"resource\":[\"%s\"]}", big);
  d = parse (text->str, JSTP_MODE_STRICT, NULL, &error);
  g_assert_null (d);
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_TOO_LARGE);
}

static void
test_ids (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint ones[128] = { 0 };

  /* D16: UUID v4 from a cryptographic source, no duplicates. */
  for (guint i = 0; i < 10000; i++)
    {
      char *id = jstp_new_id ();

      g_assert_cmpuint (strlen (id), ==, 36);
      g_assert_cmpint (id[14], ==, '4');
      g_assert_true (strchr ("89ab", id[19]) != NULL);
      g_assert_true (g_hash_table_add (seen, id));
      for (guint j = 0; j < 36; j++)
        if (id[j] != '-')
          {
            guint v = g_ascii_xdigit_value (id[j]);
            for (guint b = 0; b < 4; b++)
              ones[(j * 4 + b) % 128] += (v >> b) & 1;
          }
    }
  /* Random bits are set about half of the time (version bits aside). */
  {
    guint balanced = 0;
    for (guint k = 0; k < 128; k++)
      if (ones[k] > 4000 && ones[k] < 16000)
        balanced++;
    g_assert_cmpuint (balanced, >, 100);
  }
}

static void
test_copy_shares_nothing_mutable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpDispatch) d = parse ("{" PROTO ",\"method\":\"GET\",\"resource\":[\"a\\nb\",1]," TS
                                     ",\"host\":[[\"h\",1,\"tcp\"]],\"body\":1}",
                                     JSTP_MODE_STRICT, NULL, &error);
  g_autoptr(JstpDispatch) copy = jstp_dispatch_copy (d);
  g_autoptr(JstpHop) hop = NULL;
  const JstpElement *res;
  guint n;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  g_assert_no_error (error);
  hop = jstp_dispatch_pop_hop (copy);
  g_assert_cmpstr (hop->address, ==, "h");
  g_assert_cmpuint (jstp_dispatch_get_n_hops (copy), ==, 0);
  g_assert_cmpuint (jstp_dispatch_get_n_hops (d), ==, 1);
  jstp_dispatch_set_token (copy, "x", "y");
  g_assert_null (jstp_dispatch_get_transaction_id (d));

  g_clear_pointer (&d, jstp_dispatch_unref);
  res = jstp_dispatch_get_resource (copy, &n);
  g_assert_cmpmem (res[0].text, res[0].length, "a\nb", 3);
  a = jstp_dispatch_to_string (copy);
  g_assert_null (strchr (a, '\n'));
  b = jstp_dispatch_dup_resource_element (copy, 1);
  g_assert_cmpstr (b, ==, "1");
}

/* A multi-line dispatch (a WebSocket peer may send one) must still be written
 * as one line after its parts were read through the getters, which keep an
 * uncompacted copy of the received text. */
static void
test_getters_keep_output_one_line (void)
{
  const char *text = "{" PROTO ",\n\"method\":\"POST\",\"resource\":[\"a\",\r\n1]," TS ",\n"
                     "\"body\":{\n  \"x\": [1,\n 2]\n},\"referer\":[\n\"cli\"\n],"
                     "\"X-Trace\":{\r\n\"id\":7}\n}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpDispatch) d = parse (text, JSTP_MODE_STRICT, NULL, &error);
  g_autofree char *out = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (jstp_dispatch_get_body_json (d));
  g_assert_nonnull (jstp_dispatch_get_referer_json (d));
  g_assert_nonnull (jstp_dispatch_get_extension (d, "x-trace"));
  g_assert_nonnull (jstp_dispatch_get_resource_json (d));

  out = jstp_dispatch_to_string (d);
  g_assert_null (strchr (out, '\n'));
  g_assert_null (strchr (out, '\r'));
  assert_valid_json (out);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/dispatch/parse-regular", test_parse_regular);
  g_test_add_func ("/dispatch/write-round-trip", test_write_round_trip);
  g_test_add_func ("/dispatch/build-and-body", test_build_and_body);
  g_test_add_func ("/dispatch/non-finite-body", test_non_finite_body);
  g_test_add_func ("/dispatch/subscription-and-answer", test_subscription_and_answer);
  g_test_add_func ("/dispatch/validation-cases", test_validation_cases);
  g_test_add_func ("/dispatch/resource-limits", test_resource_limits);
  g_test_add_func ("/dispatch/ids", test_ids);
  g_test_add_func ("/dispatch/copy", test_copy_shares_nothing_mutable);
  g_test_add_func ("/dispatch/getters-keep-output-one-line", test_getters_keep_output_one_line);

  return g_test_run ();
}
