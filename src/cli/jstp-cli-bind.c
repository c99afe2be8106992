/* SPDX-License-Identifier: MIT */
/* jstp bind: subscribe to an endpoint on a remote engine and print every
 * dispatch it sends us, one per line, until interrupted.
 *
 * A local callback is bound on the same endpoint and a BIND is forwarded to
 * the remote engine, which subscribes our outbound connection: what it sends
 * arrives to our engine and triggers the callback. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "jstp-cli-common.h"

typedef struct {
  JstpCliClient *client;
  JstpPattern *pattern;
  gboolean pretty;
  guint answer_status;      /* 0: do not answer */
  guint count;              /* 0: no limit */
  guint received;
  gboolean done;
  JstpCliExit exit_code;

  /* The dispatch being processed, exactly as it came off the wire: the
   * engine hands callbacks a copy with a triggering id of its own. */
  JstpDispatch *arrived;
  JstpConnection *arrived_on;

  char *bind_id;            /* the transaction id of our own BIND */
} BindState;

static void
show_dispatch (BindState    *state,
               JstpDispatch *dispatch)
{
  g_autofree char *text = NULL;

  text = state->pretty ? jstp_dispatch_to_pretty_string (dispatch)
                       : jstp_dispatch_to_string (dispatch);
  g_print ("%s\n", text);
  fflush (stdout);

  state->received++;
  if (state->count > 0 && state->received >= state->count)
    state->done = TRUE;
}

/* BIND and RELEASE match endpoints by their endpoint's resource taken as
 * plain strings (spec section 4). */
static gboolean
subscription_matches (JstpPattern  *pattern,
                      JstpDispatch *dispatch)
{
  JstpPattern *endpoint = jstp_dispatch_get_endpoint (dispatch);
  guint n = MIN (jstp_pattern_get_n_elements (endpoint), JSTP_PATTERN_MAX_ELEMENTS);
  JstpElement elements[JSTP_PATTERN_MAX_ELEMENTS];

  for (guint i = 0; i < n; i++)
    {
      elements[i].type = JSTP_JSON_STRING;
      elements[i].text = jstp_pattern_get_element (endpoint, i);
      elements[i].length = strlen (elements[i].text);
    }
  return jstp_pattern_match (pattern, jstp_method_to_string (jstp_dispatch_get_method (dispatch)),
                             elements, n, NULL);
}

static void
traffic_cb (JstpEngine     *engine,
            JstpDispatch   *dispatch,
            JstpConnection *connection,
            gboolean        outgoing,
            BindState      *state)
{
  if (outgoing || connection == NULL || state->done)
    return;

  switch (jstp_dispatch_get_morphology (dispatch))
    {
    case JSTP_MORPHOLOGY_ANSWER:
      return;

    case JSTP_MORPHOLOGY_SUBSCRIPTION:
      /* Our engine refuses the peer's subscriptions (see jstp_cli_bind()),
       * so BIND and RELEASE never reach the callback: show them here, but
       * not our own BIND, which the peer's observers echo back. */
      if (g_strcmp0 (jstp_dispatch_get_transaction_id (dispatch), state->bind_id) != 0 &&
          subscription_matches (state->pattern, dispatch))
        show_dispatch (state, dispatch);
      return;

    case JSTP_MORPHOLOGY_REGULAR:
    default:
      g_clear_pointer (&state->arrived, jstp_dispatch_unref);
      g_clear_object (&state->arrived_on);
      state->arrived = jstp_dispatch_ref (dispatch);
      state->arrived_on = g_object_ref (connection);
      return;
    }
}

/* Answers on the connection the dispatch came from, with the triggering id
 * the remote engine gave it.
 *
 * jstp_engine_answer() would answer with our engine's own triggering id,
 * which the remote engine does not know, so it would drop the answer. */
static void
answer_remote (BindState    *state,
               JstpDispatch *arrived)
{
  const char *txid = jstp_dispatch_get_transaction_id (arrived);
  g_autoptr(JstpDispatch) answer = NULL;

  if (txid == NULL || state->arrived_on == NULL)
    return;
  answer = jstp_dispatch_new_answer (state->answer_status, txid,
                                     jstp_dispatch_get_triggering_id (arrived));
  jstp_connection_send (state->arrived_on, answer, NULL);
}

static void
dispatch_cb (JstpEngine         *engine,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures,
             gpointer            user_data)
{
  BindState *state = user_data;
  JstpDispatch *shown = dispatch;

  /* Remote BIND and RELEASE are shown by traffic_cb(); a local one is our
   * own binding seeing itself. */
  if (state->done || jstp_dispatch_get_morphology (dispatch) != JSTP_MORPHOLOGY_REGULAR)
    return;

  if (state->arrived &&
      g_strcmp0 (jstp_dispatch_get_transaction_id (state->arrived),
                 jstp_dispatch_get_transaction_id (dispatch)) == 0)
    shown = state->arrived;

  if (state->answer_status && shown == state->arrived)
    answer_remote (state, shown);
  show_dispatch (state, shown);
}

static void
ack_cb (JstpEngine   *engine,
        JstpDispatch *answer,
        gpointer      user_data)
{
  BindState *state = user_data;
  guint status = jstp_dispatch_get_status (answer);
  const char *body = jstp_dispatch_get_body_json (answer);

  if (state->done)
    return;

  /* Acknowledging subscriptions is this project's extension; a peer that
   * never answers (the reference engine) still subscribed us. */
  if (status == JSTP_STATUS_TIMEOUT && body == NULL)
    {
      g_autofree char *where = jstp_cli_host_to_string (state->client->host);

      jstp_cli_error (_("%s did not acknowledge the subscription; listening anyway"), where);
      return;
    }

  jstp_cli_print_status (status);
  if (jstp_cli_exit_for_status (status) != JSTP_CLI_EXIT_OK)
    {
      if (body)
        {
          g_autofree char *text = jstp_cli_format_json (body, FALSE);
          g_printerr ("%s\n", text);
        }
      state->exit_code = jstp_cli_exit_for_status (status);
      state->done = TRUE;
    }
}

static void
closed_cb (JstpConnection *connection,
           BindState      *state)
{
  g_autofree char *where = jstp_cli_host_to_string (state->client->host);

  if (state->done)
    return;
  jstp_cli_error (_("lost the connection to %s"), where);
  state->exit_code = JSTP_CLI_EXIT_UNREACHABLE;
  state->done = TRUE;
}

static gboolean
signal_cb (gpointer user_data)
{
  BindState *state = user_data;

  state->done = TRUE;
  return G_SOURCE_CONTINUE;
}

int
jstp_cli_bind (int    argc,
               char **argv)
{
  gboolean pretty = FALSE, compact = FALSE;
  int count = 0, answer_status = 0, timeout_ms = JSTP_CLI_DEFAULT_TIMEOUT_MS;
  const GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &count,
      N_("Stop after N dispatches"), N_("N") },
    { "answer", 'a', 0, G_OPTION_ARG_INT, &answer_status,
      N_("Answer every dispatch that expects an answer with STATUS"), N_("STATUS") },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_ms,
      N_("Give up connecting after MS milliseconds (default 15000)"), N_("MS") },
    { "pretty", 'p', 0, G_OPTION_ARG_NONE, &pretty,
      N_("Indent each dispatch over several lines"), NULL },
    { "compact", 'c', 0, G_OPTION_ARG_NONE, &compact,
      N_("One line of JSON per dispatch (the default)"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpCliHost) host = NULL;
  g_auto(GStrv) resource = NULL;
  g_autoptr(JstpPattern) pattern = NULL;
  g_autoptr(JstpDispatch) bind = NULL;
  g_autoptr(JstpDispatch) release = NULL;
  BindState state = { 0 };
  guint sigint_id, sigterm_id;
  guint64 binding_id;
  gulong closed_id;

  context = g_option_context_new (_("HOST METHOD PATTERN-JSON"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Subscribes to an endpoint of a JSTP engine and prints every dispatch it\n"
      "sends, one JSON object per line, until interrupted (Ctrl+C sends a RELEASE\n"
      "and exits with status 0). The acknowledgement of the subscription\n"
      "(“200 OK”) is printed on standard error.\n"
      "\n"
      "HOST is tcp://ADDRESS:PORT or ws://ADDRESS:PORT. METHOD is a method name or\n"
      "* for any. PATTERN-JSON is a JSON array of strings where * matches one\n"
      "element, ... any number of elements, :name one element (captured) and a\n"
      "leading backslash makes the rest a literal."));
  g_option_context_set_description (context,
    _("Exit status: 0 when interrupted or after --count dispatches, 1 when the\n"
      "subscription is refused, 2 for bad arguments, 3 when the host cannot be\n"
      "reached or the connection is lost.\n"
      "\n"
      "Examples:\n"
      "  jstp bind tcp://127.0.0.1:33333 POST '[\"chat\",\"...\"]'\n"
      "  jstp bind --count 1 --answer 200 ws://127.0.0.1 '*' '[\"user\",\":id\"]'\n"
      "  jstp bind tcp://10.0.0.5 PUT '[\"jstp\",\"status\"]' | jq .body\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return jstp_cli_usage_error ("bind", "%s", error->message);
  if (argc != 4)
    return jstp_cli_usage_error ("bind", _("bind needs HOST METHOD PATTERN-JSON"));
  if (count < 0)
    return jstp_cli_usage_error ("bind", _("--count must be a positive number"));
  if (answer_status != 0 && (answer_status < 100 || answer_status > 599))
    return jstp_cli_usage_error ("bind", _("--answer must be a status between 100 and 599"));
  if (timeout_ms <= 0)
    return jstp_cli_usage_error ("bind", _("--timeout must be a positive number of milliseconds"));
  if (pretty && compact)
    return jstp_cli_usage_error ("bind", _("--pretty and --compact exclude each other"));

  host = jstp_cli_host_parse (argv[1], &error);
  if (host == NULL)
    return jstp_cli_usage_error ("bind", "%s", error->message);
  resource = jstp_cli_parse_string_array ("PATTERN-JSON", argv[3], &error);
  if (resource == NULL)
    return jstp_cli_usage_error ("bind", "%s", error->message);
  pattern = jstp_pattern_new (argv[2], (const char * const *) resource,
                              g_strv_length (resource), JSTP_MODE_STRICT, &error);
  if (pattern == NULL)
    {
      if (error->code == JSTP_STATUS_METHOD_NOT_ALLOWED)
        return jstp_cli_usage_error ("bind",
                                     /* TRANSLATORS: %s is what the user typed as a method */
                                     _("unknown method “%s”: use a method name or *"),
                                     argv[2]);
      return jstp_cli_usage_error ("bind",
                                   /* TRANSLATORS: the engine's explanation follows the colon */
                                   _("PATTERN-JSON is not a valid pattern: %s"), error->message);
    }

  state.client = jstp_cli_client_new ();
  state.pattern = pattern;
  state.pretty = pretty;
  state.answer_status = answer_status;
  state.count = count;

  if (!jstp_cli_client_connect (state.client, host, (guint) timeout_ms, &error))
    {
      jstp_cli_error ("%s", error->message);
      jstp_cli_client_free (state.client);
      return JSTP_CLI_EXIT_UNREACHABLE;
    }

  /* The peer's BIND observers echo our own BIND back to us (and a peer
   * bound to `*` would echo it forever if we subscribed it in turn): a
   * client takes no subscriptions from its peer. */
  jstp_engine_set_max_subscriptions_per_connection (state.client->engine, 0);

  g_signal_connect (state.client->engine, "traffic", G_CALLBACK (traffic_cb), &state);
  closed_id = g_signal_connect (state.client->connection, "closed",
                                G_CALLBACK (closed_cb), &state);
  sigint_id = g_unix_signal_add (SIGINT, signal_cb, &state);
  sigterm_id = g_unix_signal_add (SIGTERM, signal_cb, &state);

  binding_id = jstp_engine_bind_pattern (state.client->engine, pattern, dispatch_cb, &state, NULL);

  bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  jstp_dispatch_add_hop (bind, host->address, host->port, host->label);
  jstp_engine_set_answer_timeout (state.client->engine, (guint) timeout_ms);
  jstp_engine_emit (state.client->engine, bind, ack_cb, &state, NULL);
  state.bind_id = g_strdup (jstp_dispatch_get_transaction_id (bind));

  while (!state.done)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  /* Leave politely: the remote engine would release us when the connection
   * closes anyway, but RELEASE observers learn more from an explicit one. */
  jstp_engine_release (state.client->engine, binding_id);
  if (!jstp_connection_is_closed (state.client->connection))
    {
      release = jstp_dispatch_new_subscription (JSTP_METHOD_RELEASE, pattern);
      jstp_dispatch_add_hop (release, host->address, host->port, host->label);
      jstp_cli_client_emit_and_flush (state.client, release, 1000);
    }

  g_signal_handler_disconnect (state.client->connection, closed_id);
  g_signal_handlers_disconnect_by_func (state.client->engine, traffic_cb, &state);
  jstp_cli_client_free (state.client);
  g_clear_pointer (&state.arrived, jstp_dispatch_unref);
  g_clear_object (&state.arrived_on);
  g_free (state.bind_id);
  return state.exit_code;
}
