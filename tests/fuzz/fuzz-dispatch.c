/* SPDX-License-Identifier: MIT */
/* fuzz-dispatch.c: libFuzzer target for the dispatch decoder.
 *
 * Each input is parsed in strict and quirks mode, with the default limits
 * and with tight ones. Beyond "no crash", it checks what the engine relies
 * on when it forwards or stores a dispatch: what was accepted serialises to
 * one line of valid JSON, that line is accepted again and serialises to the
 * same text (so a dispatch does not drift as it crosses gateways), a refusal
 * always carries a JSTP status, and every getter is safe on whatever the
 * decoder let through.
 */

#include <stdint.h>
#include <string.h>

#include "jstp-dispatch.h"
#include "jstp-error.h"
#include "jstp-json.h"

static void
check_getters (JstpDispatch *d)
{
  g_autoptr(JsonNode) body = NULL;
  const JstpElement *resource;
  JstpPattern *endpoint;
  guint n_elements = 0;
  guint n;

  g_assert_cmpint (jstp_dispatch_get_method (d), <, JSTP_METHOD_INVALID);
  g_assert_nonnull (jstp_method_to_string (jstp_dispatch_get_method (d)));
  g_assert_nonnull (jstp_dispatch_get_version (d));
  (void) jstp_dispatch_get_timestamp (d);
  (void) jstp_dispatch_get_transaction_id (d);
  (void) jstp_dispatch_get_triggering_id (d);

  switch (jstp_dispatch_get_morphology (d))
    {
    case JSTP_MORPHOLOGY_SUBSCRIPTION:
      endpoint = jstp_dispatch_get_endpoint (d);
      g_assert_nonnull (endpoint);
      g_assert_nonnull (jstp_pattern_get_method (endpoint));
      n = jstp_pattern_get_n_elements (endpoint);
      g_assert_cmpuint (n, <=, JSTP_PATTERN_MAX_ELEMENTS);
      for (guint i = 0; i < n; i++)
        g_assert_nonnull (jstp_pattern_get_element (endpoint, i));
      (void) jstp_pattern_get_literal_prefix_length (endpoint);
      (void) jstp_pattern_hash (endpoint);
      g_assert_true (jstp_pattern_equal (endpoint, endpoint));
      break;

    case JSTP_MORPHOLOGY_ANSWER:
      g_assert_cmpuint (jstp_dispatch_get_status (d), >, 0);
      G_GNUC_FALLTHROUGH;
    case JSTP_MORPHOLOGY_REGULAR:
      resource = jstp_dispatch_get_resource (d, &n_elements);
      g_assert_true (n_elements == 0 || resource != NULL);
      for (guint i = 0; i < n_elements; i++)
        {
          g_autofree char *element = jstp_dispatch_dup_resource_element (d, i);

          g_assert_nonnull (element);
          if (resource[i].type == JSTP_JSON_STRING)
            {
              g_assert_true (g_utf8_validate (resource[i].text, resource[i].length, NULL));
              g_assert_cmpmem (element, strlen (element), resource[i].text, resource[i].length);
            }
        }
      g_assert_nonnull (jstp_dispatch_get_resource_json (d));
      break;

    default:
      g_assert_not_reached ();
    }

  n = jstp_dispatch_get_n_hops (d);
  for (guint i = 0; i < n; i++)
    {
      const JstpHop *hop = jstp_dispatch_get_hop (d, i);

      g_assert_nonnull (hop);
      g_assert_nonnull (hop->address);
      g_assert_nonnull (hop->label);
    }

  if (jstp_dispatch_get_body_json (d) != NULL)
    {
      body = jstp_dispatch_dup_body (d);
      g_assert_nonnull (body);
    }
  (void) jstp_dispatch_get_referer_json (d);

  n = jstp_dispatch_get_n_extensions (d);
  for (guint i = 0; i < n; i++)
    {
      const char *name = jstp_dispatch_get_extension_name (d, i);
      const char *value;

      g_assert_nonnull (name);
      value = jstp_dispatch_get_extension (d, name);
      g_assert_nonnull (value);
      g_assert_true (jstp_json_scan (value, strlen (value), NULL, NULL, NULL, 0, NULL, NULL));
    }
}

static void
check_one (const char             *text,
           gsize                   length,
           const JstpParseOptions *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again_error = NULL;
  g_autoptr(JstpDispatch) d = NULL;
  g_autoptr(JstpDispatch) again = NULL;
  g_autoptr(JstpDispatch) copy = NULL;
  g_autofree char *txid = NULL;
  g_autofree char *out = NULL;
  g_autofree char *out_again = NULL;
  g_autofree char *pretty = NULL;
  JstpParseOptions reparse;
  gsize out_length;

  d = jstp_dispatch_parse (text, length, options, &txid, &error);
  if (d == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == JSTP_ERROR);
      g_assert_cmpint (error->code, >=, 400);
      g_assert_cmpint (error->code, <, 600);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpstr (txid, ==, jstp_dispatch_get_transaction_id (d));

  check_getters (d);

  out = jstp_dispatch_to_string (d);
  out_length = strlen (out);
  g_assert_null (memchr (out, '\n', out_length));
  g_assert_null (memchr (out, '\r', out_length));
  g_assert_true (jstp_json_scan (out, out_length, NULL, NULL, NULL, 0, NULL, NULL));

  /* What we write may be longer than what we read (escapes we add), so it
   * is read back in the same mode with the default limits. */
  jstp_parse_options_init (&reparse);
  reparse.mode = options->mode;
  again = jstp_dispatch_parse (out, out_length, &reparse, NULL, &again_error);
  if (again == NULL)
    g_error ("our own output was refused (%s): %s\ninput: %.*s",
             again_error->message, out, (int) MIN (length, 4096), text);
  out_again = jstp_dispatch_to_string (again);
  if (strcmp (out, out_again) != 0)
    g_error ("output not idempotent:\n%s\n%s", out, out_again);
  check_getters (again);

  copy = jstp_dispatch_copy (d);
  g_free (out_again);
  out_again = jstp_dispatch_to_string (copy);
  g_assert_cmpstr (out, ==, out_again);

  pretty = jstp_dispatch_to_pretty_string (d);
  g_assert_true (jstp_json_scan (pretty, strlen (pretty), NULL, NULL, NULL, 0, NULL, NULL));
}

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *text = (const char *) data;
  JstpParseOptions options;
  JstpParseOptions tight;

  for (JstpMode mode = JSTP_MODE_STRICT; mode <= JSTP_MODE_QUIRKS; mode++)
    {
      jstp_parse_options_init (&options);
      options.mode = mode;
      check_one (text, size, &options);

      jstp_parse_options_init (&tight);
      tight.mode = mode;
      tight.json.max_depth = 4;
      tight.json.max_tokens = 40;
      tight.json.max_array_elements = 6;
      tight.json.max_object_members = 12;
      tight.json.max_string_length = 16;
      tight.max_headers = 10;
      tight.max_header_name = 12;
      tight.max_resource = 4;
      tight.max_element_length = 8;
      tight.max_hops = 2;
      check_one (text, size, &tight);
    }

  return 0;
}
