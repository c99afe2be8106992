/* SPDX-License-Identifier: MIT */
/* jstpd: a headless JSTP engine that listens on TCP and WebSocket.
 *
 * Settings come from flags and an optional key file; a flag wins over the
 * file, the file over the defaults. Everything runs on the main context;
 * SIGINT and SIGTERM stop it cleanly. */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n.h>

#include "jstp-engine.h"
#include "jstp-host-program.h"
#include "jstp-log.h"
#include "jstp-network.h"
#include "jstp-service-registry.h"
#include "jstpd-security.h"
#include "jstp-status-reporter.h"

#define EXIT_USAGE 2

/* Flags not given keep these, so that the key file can fill them in. */
#define UNSET_INT   G_MININT
#define UNSET_INT64 G_MININT64

#define DEFAULT_TCP_PORT 33333
#define DEFAULT_WS_PORT  33334

typedef struct {
  char *label;
  char *address;
  guint16 port;
  JstpPattern *endpoint;
} Bridge;

typedef struct {
  JstpHostProgram host;     /* --name, --listen and the ports */
  gboolean gateway;
  char **allow;
  gboolean quirks;
  int answer_timeout;       /* ms */
  gint64 max_frame;         /* bytes */
  int max_connections;
  int max_subscriptions;    /* per connection */
  gint64 queue_limit;       /* bytes */
  int idle_timeout;         /* s */
  char **bridge_args;
  char **services;          /* NAME or NAME:KEY=VALUE,... */
  char *config;
  gboolean quiet;
  gboolean verbose;
  gboolean version;

  GPtrArray *bridges;       /* Bridge: the key file's first, then the flags' */
} Options;

static void
bridge_free (gpointer data)
{
  Bridge *bridge = data;

  g_free (bridge->label);
  g_free (bridge->address);
  g_clear_pointer (&bridge->endpoint, jstp_pattern_unref);
  g_free (bridge);
}

static void
options_clear (Options *options)
{
  jstp_host_program_clear (&options->host);
  g_clear_pointer (&options->allow, g_strfreev);
  g_clear_pointer (&options->bridge_args, g_strfreev);
  g_clear_pointer (&options->services, g_strfreev);
  g_clear_pointer (&options->config, g_free);
  g_clear_pointer (&options->bridges, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static void
print_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

static void
print_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("jstpd: %s\n", message);
}

/* ---- values ------------------------------------------------------------ */

static gboolean
check_range (const char  *what,
             gint64       value,
             gint64       min,
             gint64       max,
             GError     **error)
{
  if (value >= min && value <= max)
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               /* TRANSLATORS: %s is an option or key name; the numbers are its bounds */
               _("%s must be between %lld and %lld, not %lld"),
               what, (long long) min, (long long) max, (long long) value);
  return FALSE;
}

/* "tcp://ADDRESS:PORT" or "ws://ADDRESS:PORT"; a bare "ADDRESS:PORT" is tcp. */
static gboolean
parse_host (const char  *text,
            Bridge      *bridge,
            GError     **error)
{
  g_autofree char *with_scheme = NULL;
  g_autoptr(GUri) uri = NULL;
  const char *scheme;
  int port;

  with_scheme = strstr (text, "://") ? g_strdup (text) : g_strconcat ("tcp://", text, NULL);
  uri = g_uri_parse (with_scheme, G_URI_FLAGS_NON_DNS, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   /* TRANSLATORS: %s is what the user wrote as a host */
                   _("“%s” is not a host: write tcp://ADDRESS:PORT or ws://ADDRESS:PORT"),
                   text);
      return FALSE;
    }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "tcp") != 0 && g_ascii_strcasecmp (scheme, "ws") != 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("unknown transport “%s”: JSTP runs over tcp:// and ws://"), scheme);
      return FALSE;
    }
  port = g_uri_get_port (uri);
  if (port == 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s”: port 0 cannot be connected to"), text);
      return FALSE;
    }

  bridge->label = g_ascii_strdown (scheme, -1);
  bridge->address = g_strdup (g_uri_get_host (uri));
  if (port > 0)
    bridge->port = port;
  else
    bridge->port = g_str_equal (bridge->label, "ws") ? DEFAULT_WS_PORT : DEFAULT_TCP_PORT;
  return TRUE;
}

/* A JSON array of strings, checked by the engine's strict scanner. */
static JstpPattern *
parse_endpoint (const char  *method,
                const char  *json,
                JstpMode     mode,
                GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) resource = NULL;
  JstpJsonSpan root, element;
  JstpJsonIter iter;
  JstpPattern *pattern;

  if (!jstp_json_scan (json, strlen (json), NULL, &root, NULL, 0, NULL, &local_error))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   /* TRANSLATORS: %s is the JSON parser's message, which names the byte */
                   _("the resource pattern is not valid JSON: %s"), local_error->message);
      return NULL;
    }
  if (root.type != JSTP_JSON_ARRAY || jstp_json_count_children (json, root) == 0)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("the resource pattern must be a non-empty JSON array of "
                             "strings"));
      return NULL;
    }
  jstp_json_iter_init (&iter, json, root);
  while (jstp_json_iter_next (&iter, &element))
    {
      g_autofree char *text = NULL;

      if (element.type != JSTP_JSON_STRING)
        {
          g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               _("the resource pattern must be a non-empty JSON array of "
                                 "strings"));
          return NULL;
        }
      text = jstp_json_string_dup (json, element, NULL);
      g_strv_builder_add (builder, text);
    }
  resource = g_strv_builder_end (builder);

  pattern = jstp_pattern_new (method, (const char * const *) resource, g_strv_length (resource),
                              mode, &local_error);
  if (pattern == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   /* TRANSLATORS: the engine's explanation follows the colon */
                   _("not a valid endpoint: %s"), local_error->message);
      return NULL;
    }
  return pattern;
}

static Bridge *
bridge_new (const char  *host,
            const char  *method,
            const char  *resource,
            JstpMode     mode,
            GError     **error)
{
  Bridge *bridge = g_new0 (Bridge, 1);

  if (!parse_host (host, bridge, error) ||
      (bridge->endpoint = parse_endpoint (method, resource, mode, error)) == NULL)
    {
      bridge_free (bridge);
      return NULL;
    }
  return bridge;
}

/* --bridge "HOST METHOD RESOURCE-PATTERN-JSON": split on the first two
 * spaces, since the JSON may hold spaces of its own. */
static Bridge *
bridge_parse (const char  *text,
              JstpMode     mode,
              GError     **error)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  char *method, *resource;
  Bridge *bridge;
  g_autoptr(GError) local_error = NULL;

  method = strchr (copy, ' ');
  resource = method ? strchr (g_strchug (method + 1), ' ') : NULL;
  if (method == NULL || resource == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   /* TRANSLATORS: %s is the argument of --bridge; keep the example as is */
                   _("--bridge “%s”: write HOST METHOD RESOURCE-PATTERN-JSON, for example "
                     "'tcp://10.0.0.2:33333 PUT [\"jstp\",\"status\"]'"), text);
      return NULL;
    }
  *method++ = '\0';
  method = g_strchug (method);
  *resource++ = '\0';

  bridge = bridge_new (copy, method, resource, mode, &local_error);
  if (bridge == NULL)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--bridge “%s”: %s", text, local_error->message);
  return bridge;
}

/* "address:port" or "address:*", IPv6 addresses in brackets. Returns the
 * form the network compares with, "address:port" without brackets. */
static char *
parse_allow (const char  *entry,
             GError     **error)
{
  g_autofree char *address = NULL;
  const char *port = NULL;
  gint64 number;

  if (entry[0] == '[')
    {
      const char *end = strstr (entry, "]:");

      if (end && end > entry + 1)
        {
          address = g_strndup (entry + 1, end - entry - 1);
          port = end + 2;
        }
    }
  else
    {
      const char *colon = strrchr (entry, ':');

      /* A bare IPv6 address would be ambiguous: "::1:80". */
      if (colon && colon != entry && memchr (entry, ':', colon - entry) == NULL)
        {
          address = g_strndup (entry, colon - entry);
          port = colon + 1;
        }
    }

  if (address == NULL ||
      (!g_str_equal (port, "*") && !g_ascii_string_to_signed (port, 10, 1, 65535, &number, NULL)))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   /* TRANSLATORS: %s is a gateway destination the user wrote */
                   _("--allow “%s”: write ADDRESS:PORT or ADDRESS:* (IPv6 in brackets)"),
                   entry);
      return NULL;
    }
  return g_strdup_printf ("%s:%s", address, port);
}

/* Checks every entry and rewrites it in the network's form. */
static gboolean
normalize_allow (char    **allow,
                 GError  **error)
{
  for (guint i = 0; allow && allow[i]; i++)
    {
      char *normal = parse_allow (allow[i], error);

      if (normal == NULL)
        return FALSE;
      g_free (allow[i]);
      allow[i] = normal;
    }
  return TRUE;
}

/* ---- the key file ------------------------------------------------------ */

static const char * const main_keys[] = {
  "name", "listen", "tcp-port", "ws-port", "gateway", "allow", "quirks", "answer-timeout",
  "max-frame", "max-connections", "max-subscriptions", "queue-limit", "idle-timeout", "service",
  NULL
};
static const char * const bridge_keys[] = { "host", "method", "resource", NULL };

static gboolean
check_keys (GKeyFile            *file,
            const char          *group,
            const char * const  *known,
            GError             **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys (file, group, NULL, NULL);

  for (guint i = 0; keys && keys[i]; i++)
    if (!g_strv_contains (known, keys[i]))
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                     /* TRANSLATORS: first %s is a key, second a [group] of the config file */
                     _("unknown key “%s” in [%s]"), keys[i], group);
        return FALSE;
      }
  return TRUE;
}

/* Reads an integer key into *@value unless a flag set it already. */
static gboolean
config_int (GKeyFile    *file,
            const char  *key,
            gint64       min,
            gint64       max,
            gint64      *value,
            gint64       unset,
            GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 read;

  /* Checked even when a flag wins: a broken file is reported, not hidden. */
  if (!g_key_file_has_key (file, "jstpd", key, NULL))
    return TRUE;
  read = g_key_file_get_int64 (file, "jstpd", key, &local_error);
  if (local_error)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "%s: %s", key, local_error->message);
      return FALSE;
    }
  if (!check_range (key, read, min, max, error))
    return FALSE;
  if (*value == unset)
    *value = read;
  return TRUE;
}

static gboolean
config_int32 (GKeyFile    *file,
              const char  *key,
              gint64       min,
              gint64       max,
              int         *value,
              GError     **error)
{
  gint64 wide = *value == UNSET_INT ? UNSET_INT64 : *value;

  if (!config_int (file, key, min, max, &wide, UNSET_INT64, error))
    return FALSE;
  if (wide != UNSET_INT64)
    *value = (int) wide;
  return TRUE;
}

static gboolean
config_bool (GKeyFile    *file,
             const char  *key,
             gboolean    *value,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean read;

  if (!g_key_file_has_key (file, "jstpd", key, NULL))
    return TRUE;
  read = g_key_file_get_boolean (file, "jstpd", key, &local_error);
  if (local_error)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "%s: %s", key, local_error->message);
      return FALSE;
    }
  /* Boolean flags can only say yes; the file decides when they did not. */
  if (!*value)
    *value = read;
  return TRUE;
}

static gboolean
config_string (GKeyFile    *file,
               const char  *key,
               char       **value,
               GError     **error)
{
  g_autofree char *read = NULL;

  if (!g_key_file_has_key (file, "jstpd", key, NULL))
    return TRUE;
  read = g_key_file_get_string (file, "jstpd", key, error);
  if (read == NULL)
    return FALSE;
  if (*value == NULL)
    *value = g_steal_pointer (&read);
  return TRUE;
}

static gboolean
load_config (Options     *options,
             GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_auto(GStrv) groups = NULL;

  if (!g_key_file_load_from_file (file, options->config, G_KEY_FILE_NONE, error))
    return FALSE;

  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i]; i++)
    if (!g_str_equal (groups[i], "jstpd") && !g_str_has_prefix (groups[i], "bridge "))
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                     /* TRANSLATORS: do not translate [jstpd] and [bridge NAME] */
                     _("unknown group [%s]; the groups are [jstpd] and [bridge NAME]"),
                     groups[i]);
        return FALSE;
      }

  if (g_key_file_has_group (file, "jstpd"))
    {
      if (!check_keys (file, "jstpd", main_keys, error) ||
          !config_string (file, "name", &options->host.name, error) ||
          !config_string (file, "listen", &options->host.listen, error) ||
          !config_int32 (file, "tcp-port", -1, 65535, &options->host.tcp_port, error) ||
          !config_int32 (file, "ws-port", -1, 65535, &options->host.ws_port, error) ||
          !config_bool (file, "gateway", &options->gateway, error) ||
          !config_bool (file, "quirks", &options->quirks, error) ||
          !config_int32 (file, "answer-timeout", 1, G_MAXINT, &options->answer_timeout, error) ||
          !config_int (file, "max-frame", 256, G_MAXUINT32, &options->max_frame, UNSET_INT64,
                       error) ||
          !config_int32 (file, "max-connections", 1, G_MAXINT, &options->max_connections,
                         error) ||
          !config_int32 (file, "max-subscriptions", 1, G_MAXINT, &options->max_subscriptions,
                         error) ||
          !config_int (file, "queue-limit", 1024, G_MAXINT64, &options->queue_limit,
                       UNSET_INT64, error) ||
          !config_int32 (file, "idle-timeout", 1, G_MAXINT, &options->idle_timeout, error))
        return FALSE;

      if (g_key_file_has_key (file, "jstpd", "allow", NULL))
        {
          g_auto(GStrv) allow = g_key_file_get_string_list (file, "jstpd", "allow", NULL, error);

          if (allow == NULL || !normalize_allow (allow, error))
            return FALSE;
          if (options->allow == NULL)
            options->allow = g_steal_pointer (&allow);
        }
      if (g_key_file_has_key (file, "jstpd", "service", NULL))
        {
          g_auto(GStrv) services = g_key_file_get_string_list (file, "jstpd", "service", NULL,
                                                               error);

          if (services == NULL)
            return FALSE;
          if (options->services == NULL)
            options->services = g_steal_pointer (&services);
        }
    }

  for (guint i = 0; groups[i]; i++)
    {
      g_autofree char *host = NULL;
      g_autofree char *method = NULL;
      g_autofree char *resource = NULL;
      g_autoptr(GError) local_error = NULL;
      Bridge *bridge;

      if (!g_str_has_prefix (groups[i], "bridge "))
        continue;
      if (!check_keys (file, groups[i], bridge_keys, error))
        return FALSE;
      if ((host = g_key_file_get_string (file, groups[i], "host", &local_error)) == NULL ||
          (method = g_key_file_get_string (file, groups[i], "method", &local_error)) == NULL ||
          (resource = g_key_file_get_string (file, groups[i], "resource", &local_error)) == NULL)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                       "[%s]: %s", groups[i], local_error->message);
          return FALSE;
        }
      bridge = bridge_new (host, method, resource,
                           options->quirks ? JSTP_MODE_QUIRKS : JSTP_MODE_STRICT, &local_error);
      if (bridge == NULL)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "[%s]: %s", groups[i], local_error->message);
          return FALSE;
        }
      g_ptr_array_add (options->bridges, bridge);
    }
  return TRUE;
}

/* ---- flags ------------------------------------------------------------- */

static gboolean
check_flags (Options  *options,
             GError  **error)
{
  if (options->quiet && options->verbose)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                           _("--quiet and --verbose exclude each other"));
      return FALSE;
    }
  if ((options->host.tcp_port != UNSET_INT &&
       !check_range ("--tcp-port", options->host.tcp_port, -1, 65535, error)) ||
      (options->host.ws_port != UNSET_INT &&
       !check_range ("--ws-port", options->host.ws_port, -1, 65535, error)) ||
      (options->answer_timeout != UNSET_INT &&
       !check_range ("--answer-timeout", options->answer_timeout, 1, G_MAXINT, error)) ||
      (options->max_frame != UNSET_INT64 &&
       !check_range ("--max-frame", options->max_frame, 256, G_MAXUINT32, error)) ||
      (options->max_connections != UNSET_INT &&
       !check_range ("--max-connections", options->max_connections, 1, G_MAXINT, error)) ||
      (options->max_subscriptions != UNSET_INT &&
       !check_range ("--max-subscriptions", options->max_subscriptions, 1, G_MAXINT, error)) ||
      (options->queue_limit != UNSET_INT64 &&
       !check_range ("--queue-limit", options->queue_limit, 1024, G_MAXINT64, error)) ||
      (options->idle_timeout != UNSET_INT &&
       !check_range ("--idle-timeout", options->idle_timeout, 1, G_MAXINT, error)))
    return FALSE;
  if (options->host.listen && *options->host.listen == '\0')
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("--listen needs an address"));
      return FALSE;
    }
  if (!normalize_allow (options->allow, error))
    return FALSE;
  return TRUE;
}

/* ---- running ----------------------------------------------------------- */

static void
connection_added_cb (JstpEngine     *engine,
                     JstpConnection *connection,
                     gpointer        user_data)
{
  g_debug ("%s connection %s %s", jstp_connection_get_transport (connection),
           jstp_connection_get_inbound (connection) ? "from" : "to",
           jstp_connection_get_peer_address (connection));
}

static void
connection_removed_cb (JstpEngine     *engine,
                       JstpConnection *connection,
                       gpointer        user_data)
{
  g_debug ("%s connection with %s closed", jstp_connection_get_transport (connection),
           jstp_connection_get_peer_address (connection));
}

static void
drop_log_cb (const char     *log_domain,
             GLogLevelFlags  log_level,
             const char     *message,
             gpointer        user_data)
{
}

int
main (int    argc,
      char **argv)
{
  static const JstpHostProgramDefaults host_defaults = {
    .program = "jstpd",
    .log_domain = G_LOG_DOMAIN,
    .default_name = NULL,
    .default_tcp_port = DEFAULT_TCP_PORT,
    .default_ws_port = DEFAULT_WS_PORT,
    .name_help = N_("The engine's name in GET [\"jstp\",\"info\"] (default: the host name)"),
    .tcp_port_help = N_("TCP port (default 33333; 0 picks a free one, -1 disables TCP)"),
    .ws_port_help = N_("WebSocket port (default 33334; 0 picks a free one, -1 disables "
                       "WebSocket)"),
  };
  g_auto(Options) options = {
    .answer_timeout = UNSET_INT,
    .max_frame = UNSET_INT64,
    .max_connections = UNSET_INT,
    .max_subscriptions = UNSET_INT,
    .queue_limit = UNSET_INT64,
    .idle_timeout = UNSET_INT,
  };
  g_autofree char *key_file = NULL;
  g_autofree char *verify = NULL;
  g_auto(GStrv) trust = NULL;
  g_auto(GStrv) log_levels = NULL;
  g_autoptr(JstpSecurity) security = NULL;
  const GOptionEntry entries[] = {
    { "gateway", 0, 0, G_OPTION_ARG_NONE, &options.gateway,
      N_("Forward dispatches from network peers that name a host (needs --allow)"), NULL },
    { "allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.allow,
      N_("A destination the gateway may forward to; repeatable"), N_("ADDRESS:PORT") },
    { "quirks", 0, 0, G_OPTION_ARG_NONE, &options.quirks,
      N_("Accept recoverable protocol deviations instead of answering 400"), NULL },
    { "answer-timeout", 0, 0, G_OPTION_ARG_INT, &options.answer_timeout,
      N_("Milliseconds before unanswered dispatches are answered 504 (default 10000)"),
      N_("MS") },
    { "max-frame", 0, 0, G_OPTION_ARG_INT64, &options.max_frame,
      N_("Largest TCP line or WebSocket message accepted (default 1048576)"), N_("BYTES") },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &options.max_connections,
      N_("Inbound connections per listener (default 1024)"), N_("N") },
    { "max-subscriptions", 0, 0, G_OPTION_ARG_INT, &options.max_subscriptions,
      N_("Subscriptions one connection may hold (default 1000)"), N_("N") },
    { "queue-limit", 0, 0, G_OPTION_ARG_INT64, &options.queue_limit,
      N_("Bytes queued for a slow reader before its connection is closed (default 8388608)"),
      N_("BYTES") },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &options.idle_timeout,
      N_("Seconds a connection may stay silent before it is closed (default 300)"),
      N_("SECONDS") },
    { "bridge", 'b', 0, G_OPTION_ARG_STRING_ARRAY, &options.bridge_args,
      N_("Subscribe to an endpoint of another engine and process what it sends here; "
         "repeatable"), N_("'HOST METHOD RESOURCE-PATTERN-JSON'") },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key_file,
      N_("This engine's key: opens what is encrypted to it (passphrase from "
         "$JSTP_KEY_PASSPHRASE or the terminal)"), N_("FILE") },
    { "verify", 0, 0, G_OPTION_ARG_STRING, &verify,
      N_("Signatures: off, if-signed (the default with --key or --trust) or require"),
      N_("POLICY") },
    { "trust", 0, 0, G_OPTION_ARG_STRING_ARRAY, &trust,
      N_("Accept dispatches from this key only (and the others given); repeatable"),
      N_("KEYID") },
    { "service", 's', 0, G_OPTION_ARG_STRING_ARRAY, &options.services,
      N_("Run a built-in service on this engine (rpc, pubsub, presence); repeatable"),
      N_("NAME[:KEY=VALUE,...]") },
    { "log-level", 0, 0, G_OPTION_ARG_STRING_ARRAY, &log_levels,
      N_("Log messages of DOMAIN (engine, jstpd or a service's name) down to LEVEL "
         "(error, warning, message, info or debug, the default); repeatable"),
      N_("DOMAIN[=LEVEL]") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &options.config,
      N_("Read settings from a key file; flags win over it"), N_("FILE") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &options.quiet,
      N_("Print only warnings and errors"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options.verbose,
      N_("Print debugging messages (connections, dispatches dropped)"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options.version,
      N_("Print the version and exit"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpEngine) engine = NULL;
  g_autoptr(JstpNetwork) network = NULL;
  g_autoptr(JstpStatusReporter) reporter = NULL;
  /* After the engine: services leave it before it goes. */
  g_autoptr(GPtrArray) services = g_ptr_array_new_with_free_func (g_object_unref);
  JstpNetworkLimits *limits;
  JstpParseOptions *parse_options;
  JstpMode mode;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  jstp_host_program_init (&options.host, &host_defaults);
  /* Unset, so that the key file can fill them in. */
  options.host.tcp_port = JSTP_HOST_PROGRAM_PORT_UNSET;
  options.host.ws_port = JSTP_HOST_PROGRAM_PORT_UNSET;
  options.bridges = g_ptr_array_new_with_free_func (bridge_free);

  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, jstp_host_program_get_entries (&options.host),
                                     GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("A JSTP engine without a window: it listens on TCP (one JSON dispatch per line)\n"
      "and WebSocket (one dispatch per text message), answers GET [\"jstp\",\"info\"],\n"
      "and relays dispatches between the peers subscribed to them.\n"
      "\n"
      "Once listening it prints one line on standard output, such as\n"
      "  jstpd listening: tcp 127.0.0.1:33333 ws 127.0.0.1:33334\n"
      "and runs until SIGINT or SIGTERM, then closes every connection and exits 0."));
  g_option_context_set_description (context,
    _("Bridges: --bridge 'HOST METHOD RESOURCE-PATTERN-JSON' subscribes this engine\n"
      "to an endpoint of the engine at HOST (tcp://ADDRESS:PORT or ws://ADDRESS:PORT)\n"
      "and processes what arrives as its own dispatches, reconnecting when needed.\n"
      "\n"
      "Gateway: peers may ask this engine to forward a dispatch to another host\n"
      "(its `host` header). That is refused (506) unless --gateway is given, and then\n"
      "only towards the --allow destinations.\n"
      "\n"
      "Config file: a key file with a [jstpd] group whose keys are the long flag\n"
      "names (allow is a list separated by ;) and one [bridge NAME] group per\n"
      "bridge with the keys host, method and resource:\n"
      "  [jstpd]\n"
      "  listen=0.0.0.0\n"
      "  tcp-port=33333\n"
      "  ws-port=-1\n"
      "  gateway=true\n"
      "  allow=10.0.0.2:33333;10.0.0.3:*\n"
      "\n"
      "  [bridge status]\n"
      "  host=tcp://10.0.0.2:33333\n"
      "  method=PUT\n"
      "  resource=[\"jstp\",\"status\"]\n"
      "\n"
      "Services: --service NAME runs a built-in service under the resource [\"NAME\"]:\n"
      "rpc (a few methods to try clients on), pubsub (named channels with their last\n"
      "messages) and presence (who is in a channel). GET [\"NAME\"] answers a service's\n"
      "status and GET [\"jstp\",\"services\"] lists them. Options follow a colon:\n"
      "--service pubsub:history=50,prefix=chat. In the config file: service=rpc;pubsub\n"
      "\n"
      "Browsers: the WebSocket port also answers plain HTTP: / is a page with the\n"
      "engine's status, live, and a form to send dispatches; /jstp.js is the\n"
      "JavaScript client it is built on.\n"
      "\n"
      "Logging: --log-level engine=debug --log-level pubsub=info, or the same in\n"
      "JSTP_DEBUG=engine,pubsub=info; warnings are always shown.\n"
      "\n"
      "Exit status: 0 after a signal, 1 when it cannot start (a port in use, a bad\n"
      "config file), 2 for bad flags.\n"
      "\n"
      "Examples:\n"
      "  jstpd\n"
      "  jstpd --listen 0.0.0.0 --tcp-port 4000 --no-ws\n"
      "  jstpd --tcp-port 0 --ws-port 0 --verbose\n"
      "  jstpd --gateway --allow 10.0.0.2:33333 --allow 10.0.0.3:*\n"
      "  jstpd --bridge 'tcp://10.0.0.2:33333 PUT [\"jstp\",\"status\"]'\n"
      "  jstpd --service pubsub --service presence --log-level pubsub=debug\n"
      "  jstpd --config /etc/jstpd.conf --quiet\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      print_error ("%s", error->message);
      g_printerr (_("Run “jstpd --help” to see the options.\n"));
      return EXIT_USAGE;
    }
  if (options.version)
    {
      g_print ("jstpd %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (argc > 1)
    {
      /* TRANSLATORS: %s is an argument the user gave that jstpd does not take */
      print_error (_("unexpected argument “%s”"), argv[1]);
      g_printerr (_("Run “jstpd --help” to see the options.\n"));
      return EXIT_USAGE;
    }
  if (!check_flags (&options, &error))
    {
      print_error ("%s", error->message);
      return EXIT_USAGE;
    }

  if (options.config && !load_config (&options, &error))
    {
      /* TRANSLATORS: first %s is a file name, second what is wrong in it */
      print_error (_("bad config file %s: %s"), options.config, error->message);
      return EXIT_FAILURE;
    }

  /* Made now, so that a bad name or setting is a usage error. */
  for (guint i = 0; options.services && options.services[i]; i++)
    {
      JstpService *service = jstp_service_new_by_name (options.services[i], &error);

      if (service == NULL)
        {
          /* TRANSLATORS: %s is what is wrong with a --service argument */
          print_error (_("--service: %s"), error->message);
          return EXIT_USAGE;
        }
      g_ptr_array_add (services, service);
    }

  mode = options.quirks ? JSTP_MODE_QUIRKS : JSTP_MODE_STRICT;
  for (guint i = 0; options.bridge_args && options.bridge_args[i]; i++)
    {
      Bridge *bridge = bridge_parse (options.bridge_args[i], mode, &error);

      if (bridge == NULL)
        {
          print_error ("%s", error->message);
          return EXIT_USAGE;
        }
      g_ptr_array_add (options.bridges, bridge);
    }

  /* Defaults for whatever neither the flags nor the file set. */
  if (!jstp_host_program_resolve (&options.host, &error))
    {
      print_error ("%s", error->message);
      return EXIT_USAGE;
    }
  if (options.gateway && (options.allow == NULL || options.allow[0] == NULL))
    {
      print_error (_("--gateway needs at least one --allow destination: an open gateway "
                     "would relay for anyone"));
      return EXIT_USAGE;
    }
  if (!options.gateway && options.allow && options.allow[0])
    {
      print_error (_("--allow has no effect without --gateway"));
      return EXIT_USAGE;
    }

  /* Before the engine exists, so that its first messages obey too. Every
   * message goes to stderr: stdout carries the listening line alone. */
  g_log_writer_default_set_use_stderr (TRUE);
  if (options.verbose)
    g_setenv ("G_MESSAGES_DEBUG", "Jstp jstpd", TRUE);
  jstp_log_init ();
  /* --verbose covers the services too; --log-level can still say otherwise. */
  for (guint i = 0; options.verbose && i < services->len; i++)
    jstp_log_set_level (jstp_service_get_name (g_ptr_array_index (services, i)),
                        G_LOG_LEVEL_DEBUG);
  for (guint i = 0; log_levels && log_levels[i]; i++)
    if (!jstp_log_parse_levels (log_levels[i], &error))
      {
        print_error ("--log-level: %s", error->message);
        return EXIT_USAGE;
      }
  if (options.quiet)
    {
      g_log_set_handler ("Jstp", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                         drop_log_cb, NULL);
      g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                         drop_log_cb, NULL);
    }

  engine = jstp_engine_new (options.host.name);
  jstp_engine_set_mode (engine, mode);
  if (options.answer_timeout != UNSET_INT)
    jstp_engine_set_answer_timeout (engine, options.answer_timeout);
  if (options.max_subscriptions != UNSET_INT)
    jstp_engine_set_max_subscriptions_per_connection (engine, options.max_subscriptions);
  g_signal_connect (engine, "connection-added", G_CALLBACK (connection_added_cb), NULL);
  g_signal_connect (engine, "connection-removed", G_CALLBACK (connection_removed_cb), NULL);

  security = jstpd_security_setup (engine, key_file, verify, (const char * const *) trust,
                                   &error);
  if (error)
    {
      print_error ("%s", error->message);
      return error->domain == G_OPTION_ERROR ? EXIT_USAGE : EXIT_FAILURE;
    }

  network = jstp_network_new (engine);
  limits = jstp_network_get_limits (network);
  parse_options = jstp_engine_get_parse_options (engine);
  if (options.max_frame != UNSET_INT64)
    {
      /* A frame holds one dispatch: the parser's size limit follows. */
      limits->max_frame = options.max_frame;
      parse_options->json.max_size = options.max_frame;
      parse_options->json.max_string_length = MIN (parse_options->json.max_string_length,
                                                   (gsize) options.max_frame);
    }
  if (options.max_connections != UNSET_INT)
    limits->max_connections = options.max_connections;
  if (options.queue_limit != UNSET_INT64)
    {
      limits->queue_hard = options.queue_limit;
      limits->queue_soft = MIN (limits->queue_soft, limits->queue_hard);
    }
  if (options.idle_timeout != UNSET_INT)
    limits->idle_timeout = options.idle_timeout;

  /* Every engine reports how saturated its host is (spec section 8). */
  reporter = jstp_status_reporter_new (engine, network);

  for (guint i = 0; i < services->len; i++)
    {
      JstpService *service = g_ptr_array_index (services, i);

      if (!jstp_service_mount (service, engine, NULL, &error))
        {
          /* TRANSLATORS: first %s is a service's name, second why it failed */
          print_error (_("cannot run the %s service: %s"), jstp_service_get_name (service),
                       error->message);
          return EXIT_FAILURE;
        }
      g_debug ("service %s under %s", jstp_service_get_name (service),
               jstp_service_get_prefix (service)[0]);
    }

  if (options.gateway)
    {
      g_object_set (engine, "gateway-remote", TRUE, NULL);
      jstp_network_set_gateway_allowlist (network, (const char * const *) options.allow);
    }

  if (!jstp_host_program_listen (&options.host, network, &error))
    {
      print_error ("%s", error->message);
      return EXIT_FAILURE;
    }

  for (guint i = 0; i < options.bridges->len; i++)
    {
      Bridge *bridge = g_ptr_array_index (options.bridges, i);

      jstp_network_add_bridge (network, bridge->address, bridge->port, bridge->label,
                               bridge->endpoint);
      g_debug ("bridge to %s %s:%u", bridge->label, bridge->address, bridge->port);
    }

  jstp_host_program_run (&options.host);
  jstp_host_program_shutdown (&options.host);
  return EXIT_SUCCESS;
}
