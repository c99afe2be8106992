/* SPDX-License-Identifier: MIT */
/* jstp info: what an engine says about itself (GET ["jstp","info"]). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "jstp-cli-common.h"

/* A member printed as "Label: value"; every other member follows as JSON,
 * so that fields added to the info resource later are never hidden. */
static const struct {
  const char *member;
  const char *label;
} known_members[] = {
  { "name", NC_("info", "Name") },
  { "kind", NC_("info", "Kind") },
  { "version", NC_("info", "Version") },
  { "protocol", NC_("info", "Protocol") },
  { "transports", NC_("info", "Transports") },
  { "resources", NC_("info", "Resources") },
  { "keys", NC_("info", "Keys") },
};

static const char *
label_for (const char *member)
{
  for (guint i = 0; i < G_N_ELEMENTS (known_members); i++)
    if (g_str_equal (known_members[i].member, member))
      return g_dpgettext2 (GETTEXT_PACKAGE, "info", known_members[i].label);
  return member;
}

/* Scalars plainly, strings without quotes, arrays of scalars joined. */
static char *
plain_text (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      g_autoptr(GString) out = g_string_new (NULL);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);
          g_autofree char *text = NULL;

          if (!JSON_NODE_HOLDS_VALUE (element))
            return NULL;
          text = plain_text (element);
          if (i > 0)
            g_string_append_c (out, ' ');
          g_string_append (out, text);
        }
      return g_string_free (g_steal_pointer (&out), FALSE);
    }

  if (JSON_NODE_HOLDS_VALUE (node) || JSON_NODE_HOLDS_NULL (node))
    return json_to_string (node, FALSE);
  return NULL;
}

/* One resource of the "resources" list: {"method": M, "resource": [...]}. */
static char *
resource_text (JsonNode *node)
{
  JsonObject *object;
  g_autofree char *resource = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return json_to_string (node, FALSE);
  object = json_node_get_object (node);
  if (!json_object_has_member (object, "method") || !json_object_has_member (object, "resource"))
    return json_to_string (node, FALSE);
  resource = json_to_string (json_object_get_member (object, "resource"), FALSE);
  return g_strdup_printf ("%-7s %s",
                          json_object_get_string_member_with_default (object, "method", "?"),
                          resource);
}

static void
print_member (const char *member,
              JsonNode   *value,
              guint       width)
{
  const char *label = label_for (member);
  g_autofree char *text = NULL;

  if (g_str_equal (member, "resources") && JSON_NODE_HOLDS_ARRAY (value))
    {
      JsonArray *array = json_node_get_array (value);

      if (json_array_get_length (array) == 0)
        {
          /* TRANSLATORS: shown when an engine serves no resources */
          g_print ("%s:%*s %s\n", label, (int) (width - g_utf8_strlen (label, -1)), "",
                   C_("info", "none"));
          return;
        }
      g_print ("%s:\n", label);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *line = resource_text (json_array_get_element (array, i));
          g_print ("  %s\n", line);
        }
      return;
    }

  text = plain_text (value);
  if (text == NULL)
    {
      g_autofree char *json = json_to_string (value, FALSE);
      g_autofree char *pretty = jstp_cli_format_json (json, TRUE);
      g_auto(GStrv) lines = g_strsplit (pretty, "\n", -1);

      g_print ("%s:\n", label);
      for (guint i = 0; lines[i]; i++)
        g_print ("  %s\n", lines[i]);
      return;
    }
  g_print ("%s:%*s %s\n", label, (int) (width - g_utf8_strlen (label, -1)), "", text);
}

static void
print_info (const char *where,
            const char *body)
{
  const char *host_label = C_("info", "Host");
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  g_autoptr(GList) members = NULL;
  guint width = 0;

  /* The body passed the engine's strict scanner, so json-glib is safe here. */
  if (!json_parser_load_from_data (parser, body, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_autofree char *text = jstp_cli_format_json (body, TRUE);
      g_print ("%s\n%s\n", where, text);
      return;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (object);

  width = g_utf8_strlen (host_label, -1);
  for (GList *l = members; l; l = l->next)
    width = MAX (width, (guint) g_utf8_strlen (label_for (l->data), -1));

  g_print ("%s:%*s %s\n", host_label, (int) (width - g_utf8_strlen (host_label, -1)), "", where);

  /* Known members first, in a fixed order; then the rest as they came. */
  for (guint i = 0; i < G_N_ELEMENTS (known_members); i++)
    if (json_object_has_member (object, known_members[i].member))
      print_member (known_members[i].member,
                    json_object_get_member (object, known_members[i].member), width);
  for (GList *l = members; l; l = l->next)
    if (label_for (l->data) == l->data)
      print_member (l->data, json_object_get_member (object, l->data), width);
}

int
jstp_cli_info (int    argc,
               char **argv)
{
  gboolean json = FALSE;
  int timeout_ms = JSTP_CLI_DEFAULT_TIMEOUT_MS;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
      N_("Print the answer's body as JSON instead"), NULL },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_ms,
      N_("Give up after MS milliseconds without an answer (default 15000)"), N_("MS") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpCliHost) host = NULL;
  g_autoptr(JstpDispatch) request = NULL;
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(JstpCliClient) client = NULL;
  const char *body;
  guint status;

  context = g_option_context_new (_("HOST"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Asks a JSTP engine about itself (GET [\"jstp\",\"info\"]): its name, kind,\n"
      "version, transports, the resources it serves and its public keys.\n"
      "HOST is tcp://ADDRESS:PORT or ws://ADDRESS:PORT."));
  g_option_context_set_description (context,
    _("Examples:\n"
      "  jstp info tcp://127.0.0.1:33333\n"
      "  jstp info --json ws://[::1]:33334 | jq .resources\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return jstp_cli_usage_error ("info", "%s", error->message);
  if (argc != 2)
    return jstp_cli_usage_error ("info", _("info needs HOST"));
  if (timeout_ms <= 0)
    return jstp_cli_usage_error ("info", _("--timeout must be a positive number of milliseconds"));

  host = jstp_cli_host_parse (argv[1], &error);
  if (host == NULL)
    return jstp_cli_usage_error ("info", "%s", error->message);

  client = jstp_cli_client_new ();
  if (!jstp_cli_client_connect (client, host, (guint) timeout_ms, &error))
    {
      jstp_cli_error ("%s", error->message);
      return JSTP_CLI_EXIT_UNREACHABLE;
    }

  request = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "jstp", "info", NULL });
  jstp_dispatch_add_hop (request, host->address, host->port, host->label);
  answer = jstp_cli_client_request (client, request, (guint) timeout_ms);
  if (answer == NULL)
    {
      g_autofree char *where = jstp_cli_host_to_string (host);

      jstp_cli_error (_("no answer from %s within %d ms"), where, timeout_ms);
      return JSTP_CLI_EXIT_UNREACHABLE;
    }

  status = jstp_dispatch_get_status (answer);
  body = jstp_dispatch_get_body_json (answer);
  if (jstp_cli_exit_for_status (status) != JSTP_CLI_EXIT_OK)
    {
      jstp_cli_print_status (status);
      if (body)
        {
          g_autofree char *text = jstp_cli_format_json (body, FALSE);
          g_print ("%s\n", text);
        }
      return jstp_cli_exit_for_status (status);
    }

  if (json)
    {
      g_autofree char *text = jstp_cli_format_json (body ? body : "null",
                                                    jstp_cli_want_pretty (FALSE, FALSE));
      g_print ("%s\n", text);
    }
  else if (body)
    {
      g_autofree char *where = jstp_cli_host_to_string (host);

      print_info (where, body);
    }
  return JSTP_CLI_EXIT_OK;
}
