/* SPDX-License-Identifier: MIT */
/* jstp send: one regular dispatch to a remote engine, its answers printed. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "jstp-cli-common.h"

typedef struct {
  gboolean pretty;
  gboolean wait;            /* collect answers until the timer, not just the first */
  gboolean done;
  guint n_answers;
  JstpCliExit exit_code;
} SendState;

static void
answer_cb (JstpEngine   *engine,
           JstpDispatch *answer,
           gpointer      user_data)
{
  SendState *state = user_data;
  guint status = jstp_dispatch_get_status (answer);
  const char *body = jstp_dispatch_get_body_json (answer);
  JstpCliExit code = jstp_cli_exit_for_status (status);

  if (state->done)
    return;

  jstp_cli_print_status (status);
  if (body)
    {
      g_autofree char *text = jstp_cli_format_json (body, state->pretty);

      g_print ("%s\n", text);
      fflush (stdout);
    }

  /* With several answers, the worst one decides. */
  if (state->n_answers == 0 || code > state->exit_code)
    state->exit_code = code;
  state->n_answers++;
  if (!state->wait)
    state->done = TRUE;
}

static gboolean
add_header (JstpDispatch  *dispatch,
            const char    *argument,
            GError       **error)
{
  const char *equals = strchr (argument, '=');
  g_autofree char *name = NULL;
  g_autofree char *what = NULL;
  g_autoptr(GError) local_error = NULL;

  if (equals == NULL || equals == argument)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %s is the argument of --header */
                   _("--header “%s”: write NAME=JSON, for example trace=\"abc\""), argument);
      return FALSE;
    }
  name = g_strndup (argument, equals - argument);
  what = g_strdup_printf ("--header %s", name);
  if (!jstp_cli_check_json (what, equals + 1, error))
    return FALSE;
  if (!jstp_dispatch_set_extension (dispatch, name, equals + 1, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %s is a header name; the engine explains why after the colon */
                   _("--header %s cannot be sent: %s"), name, local_error->message);
      return FALSE;
    }
  return TRUE;
}

int
jstp_cli_send (int    argc,
               char **argv)
{
  gboolean pretty = FALSE, compact = FALSE, no_answer = FALSE;
  int wait_ms = -1, timeout_ms = JSTP_CLI_DEFAULT_TIMEOUT_MS;
  g_auto(GStrv) headers = NULL;
  g_auto(GStrv) vias = NULL;
  g_autofree char *sign_key = NULL;
  g_autofree char *encrypt_to = NULL;
  const GOptionEntry entries[] = {
    { "wait", 'w', 0, G_OPTION_ARG_INT, &wait_ms,
      N_("Collect answers for MS milliseconds instead of stopping at the first"), N_("MS") },
    { "no-answer", 'n', 0, G_OPTION_ARG_NONE, &no_answer,
      N_("Send without a transaction: nobody answers, exit once it is written"), NULL },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_ms,
      N_("Give up after MS milliseconds without an answer (default 15000)"), N_("MS") },
    { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &headers,
      N_("Add an extension header; repeatable"), N_("NAME=JSON") },
    { "via", 0, 0, G_OPTION_ARG_STRING_ARRAY, &vias,
      N_("Go through this gateway first; repeatable, in order"), N_("HOST") },
    { "sign", 0, 0, G_OPTION_ARG_STRING, &sign_key,
      N_("Sign the dispatch with this key of yours (see “jstp keys”)"), N_("KEY") },
    { "encrypt-to", 0, 0, G_OPTION_ARG_STRING, &encrypt_to,
      N_("Encrypt the body so that only this peer can read it (needs --sign)"), N_("NAME") },
    { "pretty", 'p', 0, G_OPTION_ARG_NONE, &pretty,
      N_("Indent the JSON (the default on a terminal)"), NULL },
    { "compact", 'c', 0, G_OPTION_ARG_NONE, &compact,
      N_("One line of JSON per answer (the default in a pipe)"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpCliHost) host = NULL;
  g_autoptr(GPtrArray) hops = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_cli_host_free);
  g_autoptr(JstpDispatch) dispatch = NULL;
  g_autofree char *stdin_body = NULL;
  const char *body = NULL;
  JstpMethod method;
  SendState state = { 0 };
  JstpCliClient *client = NULL;
  GSource *timer;

  context = g_option_context_new (_("METHOD HOST RESOURCE-JSON [BODY-JSON]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Sends one dispatch to a JSTP engine and prints its answers: the status line\n"
      "(“200 OK”) on standard error and the answer's body on standard output.\n"
      "\n"
      "METHOD is GET, POST, PUT, PATCH or DELETE. HOST is tcp://ADDRESS:PORT or\n"
      "ws://ADDRESS:PORT (IPv6 addresses in brackets); without a scheme it is tcp,\n"
      "and without a port 33333 for tcp and 33334 for ws. RESOURCE-JSON is a JSON\n"
      "array; BODY-JSON any JSON value, or - to read it from standard input."));
  g_option_context_set_description (context,
    _("Exit status: 0 for a 2xx answer, 1 for any other status, 2 for bad\n"
      "arguments, 3 when the host cannot be reached or nothing answers in time\n"
      "(including 502, 503 and 504 answers from gateways).\n"
      "\n"
      "Examples:\n"
      "  jstp send GET tcp://127.0.0.1:33333 '[\"user\",42]'\n"
      "  jstp send POST ws://[::1] '[\"chat\",\"room\"]' '{\"text\":\"hola\"}'\n"
      "  echo '{\"x\":1}' | jstp send PUT 10.0.0.5 '[\"config\"]' -\n"
      "  jstp send --via tcp://gateway:33333 GET tcp://10.0.0.9 '[\"jstp\",\"info\"]'\n"
      "  jstp send --wait 2000 GET tcp://127.0.0.1 '[\"sensors\",\"...\"]'\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return jstp_cli_usage_error ("send", "%s", error->message);

  if (argc < 4 || argc > 5)
    return jstp_cli_usage_error ("send", _("send needs METHOD HOST RESOURCE-JSON [BODY-JSON]"));
  if (timeout_ms <= 0)
    return jstp_cli_usage_error ("send", _("--timeout must be a positive number of milliseconds"));
  if (wait_ms == 0 || wait_ms < -1)
    return jstp_cli_usage_error ("send", _("--wait must be a positive number of milliseconds"));
  if (no_answer && wait_ms > 0)
    return jstp_cli_usage_error ("send", _("--no-answer and --wait exclude each other"));
  if (pretty && compact)
    return jstp_cli_usage_error ("send", _("--pretty and --compact exclude each other"));

  method = jstp_method_from_string (argv[1], -1);
  switch (method)
    {
    case JSTP_METHOD_GET:
    case JSTP_METHOD_POST:
    case JSTP_METHOD_PUT:
    case JSTP_METHOD_PATCH:
    case JSTP_METHOD_DELETE:
      break;
    case JSTP_METHOD_BIND:
    case JSTP_METHOD_RELEASE:
      return jstp_cli_usage_error ("send", _("to subscribe, use “jstp bind”"));
    case JSTP_METHOD_ANSWER:
      return jstp_cli_usage_error ("send",
                                   _("ANSWER dispatches are sent by engines, not by jstp send"));
    case JSTP_METHOD_INVALID:
    default:
      return jstp_cli_usage_error ("send",
                                   /* TRANSLATORS: %s is what the user typed as a method */
                                   _("unknown method “%s”: use GET, POST, PUT, PATCH "
                                     "or DELETE"), argv[1]);
    }

  for (guint i = 0; vias && vias[i]; i++)
    {
      JstpCliHost *via = jstp_cli_host_parse (vias[i], &error);

      if (via == NULL)
        return jstp_cli_usage_error ("send", "--via: %s", error->message);
      g_ptr_array_add (hops, via);
    }
  host = jstp_cli_host_parse (argv[2], &error);
  if (host == NULL)
    return jstp_cli_usage_error ("send", "%s", error->message);

  if (!jstp_cli_check_json ("RESOURCE-JSON", argv[3], &error))
    return jstp_cli_usage_error ("send", "%s", error->message);
  dispatch = jstp_dispatch_new (method, (const char *[]) { "", NULL });
  if (!jstp_dispatch_set_resource_json (dispatch, argv[3], &error))
    return jstp_cli_usage_error ("send",
                                 /* TRANSLATORS: the engine's explanation follows the colon */
                                 _("RESOURCE-JSON is not a resource: %s"), error->message);

  if (argc == 5)
    {
      if (g_str_equal (argv[4], "-"))
        {
          stdin_body = jstp_cli_read_stdin (&error);
          if (stdin_body == NULL)
            return jstp_cli_usage_error ("send", "%s", error->message);
          body = stdin_body;
        }
      else
        body = argv[4];
      if (!jstp_cli_check_json (g_str_equal (argv[4], "-") ? _("the body on standard input")
                                                            : "BODY-JSON",
                                body, &error))
        return jstp_cli_usage_error ("send", "%s", error->message);
      if (!jstp_dispatch_set_body_json (dispatch, body, &error))
        return jstp_cli_usage_error ("send", _("BODY-JSON cannot be sent: %s"), error->message);
    }

  for (guint i = 0; headers && headers[i]; i++)
    if (!add_header (dispatch, headers[i], &error))
      return jstp_cli_usage_error ("send", "%s", error->message);

  /* Last: the signature covers every header set above. */
  if (!jstp_cli_secure_dispatch (dispatch, sign_key, encrypt_to, &error))
    {
      jstp_cli_error ("%s", error->message);
      return JSTP_CLI_EXIT_USAGE;
    }

  /* The local engine removes the first hop and forwards to it; the rest
   * travel in the `host` header for the gateways. */
  for (guint i = 0; i < hops->len; i++)
    {
      JstpCliHost *via = g_ptr_array_index (hops, i);
      jstp_dispatch_add_hop (dispatch, via->address, via->port, via->label);
    }
  jstp_dispatch_add_hop (dispatch, host->address, host->port, host->label);

  client = jstp_cli_client_new ();
  if (!jstp_cli_client_connect (client, hops->len > 0 ? g_ptr_array_index (hops, 0) : host,
                                (guint) timeout_ms, &error))
    {
      jstp_cli_error ("%s", error->message);
      jstp_cli_client_free (client);
      return JSTP_CLI_EXIT_UNREACHABLE;
    }

  if (no_answer)
    {
      JstpCliExit code = JSTP_CLI_EXIT_OK;

      if (!jstp_cli_client_emit_and_flush (client, dispatch, (guint) timeout_ms))
        {
          g_autofree char *where = jstp_cli_host_to_string (client->host);

          jstp_cli_error (_("could not send to %s: the connection closed or stalled"), where);
          code = JSTP_CLI_EXIT_UNREACHABLE;
        }
      jstp_cli_client_free (client);
      return code;
    }

  state.pretty = jstp_cli_want_pretty (pretty, compact);
  state.wait = wait_ms > 0;

  /* The engine's timeout only keeps the transaction open; our timer ends
   * the wait, so that a timeout is reported as ours, not as a 504. */
  jstp_engine_set_answer_timeout (client->engine,
                                  (guint) (state.wait ? wait_ms : timeout_ms) + 5000);
  jstp_engine_emit (client->engine, dispatch, answer_cb, &state, NULL);

  timer = jstp_cli_timer_new (state.wait ? (guint) wait_ms : (guint) timeout_ms, &state.done);
  while (!state.done)
    g_main_context_iteration (NULL, TRUE);
  jstp_cli_timer_free (timer);

  /* The engine finishes the transaction without calling back when it is
   * disposed, so @state on the stack is safe from here on. */
  jstp_cli_client_free (client);

  if (state.n_answers == 0)
    {
      g_autofree char *where = jstp_cli_host_to_string (host);

      jstp_cli_error (_("no answer from %s within %d ms"), where,
                      state.wait ? wait_ms : timeout_ms);
      return JSTP_CLI_EXIT_UNREACHABLE;
    }
  return state.exit_code;
}
