/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "jstp-cli-common.h"

/* ---- messages ---------------------------------------------------------- */

void
jstp_cli_error (const char *format,
                ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fflush (stdout);
  g_printerr ("jstp: %s\n", message);
}

int
jstp_cli_usage_error (const char *command,
                      const char *format,
                      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("jstp: %s\n", message);
  if (command)
    /* TRANSLATORS: %s is a subcommand name such as "send" */
    g_printerr (_("Run “jstp %s --help” to see the options.\n"), command);
  else
    g_printerr (_("Run “jstp --help” to see the commands.\n"));
  return JSTP_CLI_EXIT_USAGE;
}

/* ---- hosts ------------------------------------------------------------- */

static guint16
default_port (const char *label)
{
  return g_str_equal (label, "ws") ? 33334 : 33333;
}

JstpCliHost *
jstp_cli_host_parse (const char  *text,
                     GError     **error)
{
  g_autofree char *with_scheme = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(JstpCliHost) host = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *scheme;
  const char *path;
  int port;

  g_return_val_if_fail (text != NULL, NULL);

  if (*text == '\0')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("the host is empty"));
      return NULL;
    }

  /* A bare "addr:port" is TCP, the protocol's first transport. */
  with_scheme = strstr (text, "://") ? g_strdup (text) : g_strconcat ("tcp://", text, NULL);
  uri = g_uri_parse (with_scheme, G_URI_FLAGS_NON_DNS, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %s is what the user typed as a host */
                   _("“%s” is not a host: write tcp://ADDRESS:PORT or ws://ADDRESS:PORT"),
                   text);
      return NULL;
    }

  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "tcp") != 0 && g_ascii_strcasecmp (scheme, "ws") != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %s is a URI scheme such as "http" */
                   _("unknown transport “%s”: JSTP runs over tcp:// and ws://"), scheme);
      return NULL;
    }
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” names no address"), text);
      return NULL;
    }
  /* A hop has no room for a path, user or query; refusing them is clearer
   * than silently dropping them. */
  path = g_uri_get_path (uri);
  if ((path && *path && !g_str_equal (path, "/")) || g_uri_get_query (uri) ||
      g_uri_get_fragment (uri) || g_uri_get_userinfo (uri))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” has more than a transport, an address and a port"), text);
      return NULL;
    }

  host = g_new0 (JstpCliHost, 1);
  host->label = g_ascii_strdown (scheme, -1);
  host->address = g_strdup (g_uri_get_host (uri));
  port = g_uri_get_port (uri);
  if (port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s”: port 0 cannot be connected to"), text);
      return NULL;
    }
  host->port = port < 0 ? default_port (host->label) : (guint16) port;
  return g_steal_pointer (&host);
}

void
jstp_cli_host_free (JstpCliHost *host)
{
  if (host == NULL)
    return;
  g_free (host->label);
  g_free (host->address);
  g_free (host);
}

char *
jstp_cli_host_to_string (const JstpCliHost *host)
{
  g_return_val_if_fail (host != NULL, NULL);

  if (strchr (host->address, ':'))
    return g_strdup_printf ("%s://[%s]:%u", host->label, host->address, host->port);
  return g_strdup_printf ("%s://%s:%u", host->label, host->address, host->port);
}

/* ---- JSON arguments ---------------------------------------------------- */

gboolean
jstp_cli_check_json (const char  *what,
                     const char  *json,
                     GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!jstp_json_scan (json, strlen (json), NULL, NULL, NULL, 0, NULL, &local_error))
    {
      /* The scanner's message says where ("at byte 7: ..."); it is the
       * engine's, in English, so it goes after a translated sentence. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   /* TRANSLATORS: first %s is an argument name such as RESOURCE-JSON,
                    * second %s the parser's own message, which names the byte offset */
                   _("%s is not valid JSON: %s"), what, local_error->message);
      return FALSE;
    }
  return TRUE;
}

char **
jstp_cli_parse_string_array (const char  *what,
                             const char  *json,
                             GError     **error)
{
  JstpJsonSpan root, element;
  JstpJsonIter iter;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GError) local_error = NULL;
  guint index = 0;

  if (!jstp_json_scan (json, strlen (json), NULL, &root, NULL, 0, NULL, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s is not valid JSON: %s"), what, local_error->message);
      return NULL;
    }
  if (root.type != JSTP_JSON_ARRAY || jstp_json_count_children (json, root) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   /* TRANSLATORS: %s is an argument name such as PATTERN-JSON */
                   _("%s must be a non-empty JSON array of strings, like [\"user\", \"*\"]"),
                   what);
      return NULL;
    }

  jstp_json_iter_init (&iter, json, root);
  while (jstp_json_iter_next (&iter, &element))
    {
      g_autofree char *text = NULL;

      if (element.type != JSTP_JSON_STRING)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       /* TRANSLATORS: %s is an argument name, %u counts from 0, the
                        * second %u is a byte offset */
                       _("%s: element %u (at byte %u) is not a string; "
                         "patterns are made of strings"),
                       what, index, (guint) element.offset);
          return NULL;
        }
      text = jstp_json_string_dup (json, element, NULL);
      g_strv_builder_add (builder, text);
      index++;
    }
  return g_strv_builder_end (builder);
}

char *
jstp_cli_read_stdin (GError **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  char buffer[8192];
  size_t n;

  while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0)
    g_string_append_len (text, buffer, n);
  if (ferror (stdin))
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("cannot read standard input: %s"), g_strerror (saved_errno));
      return NULL;
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* ---- output ------------------------------------------------------------ */

static void
indent (GString *out,
        guint    depth)
{
  g_string_append_c (out, '\n');
  for (guint i = 0; i < depth; i++)
    g_string_append (out, "  ");
}

/* Recursion is bounded by the scanner's depth limit (64). */
static void
format_value (GString      *out,
              const char   *text,
              JstpJsonSpan  span,
              gboolean      pretty,
              guint         depth)
{
  JstpJsonIter iter;
  JstpJsonSpan name, value;
  gboolean first = TRUE;

  switch (span.type)
    {
    case JSTP_JSON_ARRAY:
      g_string_append_c (out, '[');
      jstp_json_iter_init (&iter, text, span);
      while (jstp_json_iter_next (&iter, &value))
        {
          if (!first)
            g_string_append_c (out, ',');
          if (pretty)
            indent (out, depth + 1);
          format_value (out, text, value, pretty, depth + 1);
          first = FALSE;
        }
      if (pretty && !first)
        indent (out, depth);
      g_string_append_c (out, ']');
      break;

    case JSTP_JSON_OBJECT:
      g_string_append_c (out, '{');
      jstp_json_iter_init (&iter, text, span);
      while (jstp_json_iter_next_member (&iter, &name, &value))
        {
          if (!first)
            g_string_append_c (out, ',');
          if (pretty)
            indent (out, depth + 1);
          g_string_append_len (out, text + name.offset, name.length);
          g_string_append (out, pretty ? ": " : ":");
          format_value (out, text, value, pretty, depth + 1);
          first = FALSE;
        }
      if (pretty && !first)
        indent (out, depth);
      g_string_append_c (out, '}');
      break;

    case JSTP_JSON_NULL:
    case JSTP_JSON_FALSE:
    case JSTP_JSON_TRUE:
    case JSTP_JSON_NUMBER:
    case JSTP_JSON_STRING:
    default:
      g_string_append_len (out, text + span.offset, span.length);
      break;
    }
}

char *
jstp_cli_format_json (const char *json,
                      gboolean    pretty)
{
  JstpJsonSpan root;
  GString *out;

  g_return_val_if_fail (json != NULL, NULL);

  if (!jstp_json_scan (json, strlen (json), NULL, &root, NULL, 0, NULL, NULL))
    return g_strdup (json);
  out = g_string_sized_new (strlen (json) + 16);
  format_value (out, json, root, pretty, 0);
  return g_string_free (out, FALSE);
}

gboolean
jstp_cli_want_pretty (gboolean pretty,
                      gboolean compact)
{
  if (pretty)
    return TRUE;
  if (compact)
    return FALSE;
  return isatty (STDOUT_FILENO);
}

/* The engine's phrases are English by design; these are the same words,
 * marked for translation (in a context: "OK" is a button label elsewhere). */
static const struct {
  guint status;
  const char *phrase;
} status_phrases[] = {
  { 200, NC_("status", "OK") },
  { 400, NC_("status", "Bad Dispatch") },
  { 401, NC_("status", "Unauthorized") },
  { 403, NC_("status", "Forbidden") },
  { 404, NC_("status", "Not Found") },
  { 405, NC_("status", "Method Not Allowed") },
  { 406, NC_("status", "Unbound Endpoint") },
  { 409, NC_("status", "Unrecognized Transport Protocol") },
  { 413, NC_("status", "Too Large") },
  { 429, NC_("status", "Saturated") },
  { 498, NC_("status", "Bad Signature") },
  { 499, NC_("status", "Cannot Decrypt") },
  { 500, NC_("status", "Internal Error") },
  { 501, NC_("status", "Not Implemented") },
  { 502, NC_("status", "Unreachable Remote Host") },
  { 503, NC_("status", "Invalid Remote Host") },
  { 504, NC_("status", "Timeout") },
  { 505, NC_("status", "JSTP Version Not Supported") },
  { 506, NC_("status", "Gateway Disabled") },
};

const char *
jstp_cli_status_phrase (guint status)
{
  for (guint i = 0; i < G_N_ELEMENTS (status_phrases); i++)
    if (status_phrases[i].status == status)
      return g_dpgettext2 (GETTEXT_PACKAGE, "status", status_phrases[i].phrase);
  return NULL;
}

void
jstp_cli_print_status (guint status)
{
  /* stdout first, so that a terminal shows status and body in order. */
  fflush (stdout);
  if (jstp_cli_status_phrase (status))
    g_printerr ("%u %s\n", status, jstp_cli_status_phrase (status));
  else
    g_printerr ("%u\n", status);
}

JstpCliExit
jstp_cli_exit_for_status (guint status)
{
  if (status >= 200 && status < 300)
    return JSTP_CLI_EXIT_OK;
  /* A gateway that could not reach the next hop, or nobody answering in
   * time, is the same failure as our own connection failing. */
  if (status == JSTP_STATUS_UNREACHABLE || status == JSTP_STATUS_INVALID_REMOTE_HOST ||
      status == JSTP_STATUS_TIMEOUT)
    return JSTP_CLI_EXIT_UNREACHABLE;
  return JSTP_CLI_EXIT_STATUS;
}

/* ---- the local engine -------------------------------------------------- */

JstpCliClient *
jstp_cli_client_new (void)
{
  JstpCliClient *client = g_new0 (JstpCliClient, 1);

  client->engine = jstp_engine_new ("jstp-cli");
  jstp_engine_set_kind (client->engine, "cli");
  client->network = jstp_network_new (client->engine);
  return client;
}

void
jstp_cli_client_free (JstpCliClient *client)
{
  if (client == NULL)
    return;
  if (client->network)
    jstp_network_close (client->network);
  g_clear_object (&client->connection);
  g_clear_object (&client->network);
  g_clear_object (&client->engine);
  g_clear_pointer (&client->host, jstp_cli_host_free);
  g_free (client);
}

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* A one-shot timer as a GSource, so that it can be destroyed whether or
 * not it has fired. */
static GSource *
timer_new (guint        timeout_ms,
           GSourceFunc  callback,
           gpointer     user_data)
{
  GSource *source = g_timeout_source_new (timeout_ms);

  g_source_set_callback (source, callback, user_data, NULL);
  g_source_set_static_name (source, "[jstp-cli] timer");
  g_source_attach (source, NULL);
  return source;
}

static void
timer_free (GSource *source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

GSource *
jstp_cli_timer_new (guint     timeout_ms,
                    gboolean *flag)
{
  return timer_new (timeout_ms, set_flag_cb, flag);
}

void
jstp_cli_timer_free (GSource *timer)
{
  timer_free (timer);
}

typedef struct {
  gboolean done;
  gboolean timed_out;
  JstpConnection *connection;
  GError *error;
  GCancellable *cancellable;
} ConnectData;

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ConnectData *data = user_data;

  data->connection = jstp_network_connect_finish (JSTP_NETWORK (source), result, &data->error);
  data->done = TRUE;
}

static gboolean
connect_timeout_cb (gpointer user_data)
{
  ConnectData *data = user_data;

  data->timed_out = TRUE;
  g_cancellable_cancel (data->cancellable);
  return G_SOURCE_REMOVE;
}

/* A short reason for the end of "cannot reach HOST: ...". */
static char *
describe_connect_error (const GError *error,
                        gboolean      timed_out,
                        guint         timeout_ms)
{
  if (timed_out || error == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_strdup_printf (_("no connection within %u ms"), timeout_ms);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_strdup (g_strerror (ECONNREFUSED));
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE))
    return g_strdup (g_strerror (EHOSTUNREACH));
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return g_strdup (g_strerror (ENETUNREACH));
  if (error->domain == JSTP_ERROR && error->code == JSTP_STATUS_INVALID_REMOTE_HOST)
    /* TRANSLATORS: %s is the engine's own explanation, in English */
    return g_strdup_printf (_("the peer does not speak JSTP (%s)"), error->message);
  if (error->domain == JSTP_ERROR && error->code == JSTP_STATUS_UNREACHABLE)
    {
      /* The network wraps the system's reason ("cannot reach ADDR:PORT:
       * Could not connect to ADDR: Connection refused"); the host is
       * named by our own sentence already, so keep only the reason. */
      const char *reason = g_strrstr (error->message, ": ");

      if (reason && reason[2] != '\0')
        return g_strdup (reason + 2);
    }
  return g_strdup (error->message);
}

gboolean
jstp_cli_client_connect (JstpCliClient      *client,
                         const JstpCliHost  *host,
                         guint               timeout_ms,
                         GError            **error)
{
  ConnectData data = { 0 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  JstpNetworkLimits *limits = jstp_network_get_limits (client->network);
  GSource *timer;

  g_return_val_if_fail (client->connection == NULL, FALSE);

  /* The network's own limit is in whole seconds; ours decides. */
  limits->connect_timeout = MAX (1, (timeout_ms + 999) / 1000);

  data.cancellable = cancellable;
  timer = timer_new (timeout_ms, connect_timeout_cb, &data);
  jstp_network_connect_async (client->network, host->address, host->port, host->label,
                              cancellable, connect_cb, &data);
  while (!data.done)
    g_main_context_iteration (NULL, TRUE);
  timer_free (timer);

  if (data.connection == NULL)
    {
      g_autofree char *where = jstp_cli_host_to_string (host);
      g_autofree char *why = describe_connect_error (data.error, data.timed_out, timeout_ms);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   /* TRANSLATORS: "cannot reach tcp://127.0.0.1:1: Connection refused" */
                   _("cannot reach %s: %s"), where, why);
      g_clear_error (&data.error);
      return FALSE;
    }

  client->connection = data.connection;
  client->host = g_new0 (JstpCliHost, 1);
  client->host->label = g_strdup (host->label);
  client->host->address = g_strdup (host->address);
  client->host->port = host->port;
  return TRUE;
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
jstp_cli_client_emit_and_flush (JstpCliClient *client,
                                JstpDispatch  *dispatch,
                                guint          timeout_ms)
{
  gboolean timed_out = FALSE;
  gboolean written = FALSE;
  guint64 before;
  GSource *timer, *wake;

  g_return_val_if_fail (client->connection != NULL, FALSE);

  before = jstp_connection_get_dispatches_out (client->connection);
  jstp_engine_emit (client->engine, dispatch, NULL, NULL, NULL);

  /* The engine forwards once the pooled connection reports ready, which
   * may take a main loop turn, and the connection has no "drained" signal:
   * look every few milliseconds until the bytes have left. */
  timer = timer_new (timeout_ms, set_flag_cb, &timed_out);
  wake = timer_new (5, wake_cb, NULL);
  while (!timed_out && !jstp_connection_is_closed (client->connection))
    {
      if (jstp_connection_get_dispatches_out (client->connection) > before &&
          jstp_connection_get_queued_bytes (client->connection) == 0)
        {
          written = TRUE;
          break;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  timer_free (wake);
  timer_free (timer);
  return written;
}

typedef struct {
  gatomicrefcount ref;
  gboolean done;
  JstpDispatch *answer;
} RequestData;

static void
request_data_unref (gpointer user_data)
{
  RequestData *data = user_data;

  if (g_atomic_ref_count_dec (&data->ref))
    {
      g_clear_pointer (&data->answer, jstp_dispatch_unref);
      g_free (data);
    }
}

static void
request_answer_cb (JstpEngine   *engine,
                   JstpDispatch *answer,
                   gpointer      user_data)
{
  RequestData *data = user_data;

  if (data->answer == NULL)
    data->answer = jstp_dispatch_ref (answer);
  data->done = TRUE;
}

JstpDispatch *
jstp_cli_client_request (JstpCliClient *client,
                         JstpDispatch  *dispatch,
                         guint          timeout_ms)
{
  RequestData *data = g_new0 (RequestData, 1);
  JstpDispatch *answer;
  GSource *timer;

  /* One reference for us, one for the transaction, which may outlive this
   * call (forwarded transactions last until the answer timeout). */
  g_atomic_ref_count_init (&data->ref);
  g_atomic_ref_count_inc (&data->ref);

  /* Our own timer decides; the engine's keeps the transaction open a
   * little longer so that its 504 never races ours. */
  jstp_engine_set_answer_timeout (client->engine, timeout_ms + 5000);
  jstp_engine_emit (client->engine, dispatch, request_answer_cb, data, request_data_unref);

  timer = timer_new (timeout_ms, set_flag_cb, &data->done);
  while (!data->done)
    g_main_context_iteration (NULL, TRUE);
  timer_free (timer);

  answer = g_steal_pointer (&data->answer);
  request_data_unref (data);
  return answer;
}
