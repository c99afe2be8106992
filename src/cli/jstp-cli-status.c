/* SPDX-License-Identifier: MIT */
/* jstp status: a live table of the figures engines report (spec section 8),
 * one row per host, from their PUT ["jstp","status"] stream. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "jstp-cli-common.h"
#include "jstp-pool.h"

#define DEFAULT_ONCE_TIMEOUT_MS 5000

/* ANSI: cursor home + clear screen; hide and show the cursor; colours. */
#define ANSI_CLEAR       "\033[H\033[2J"
#define ANSI_HIDE_CURSOR "\033[?25l"
#define ANSI_SHOW_CURSOR "\033[?25h"
#define ANSI_BOLD        "\033[1m"
#define ANSI_GREEN       "\033[32m"
#define ANSI_YELLOW      "\033[33m"
#define ANSI_RED         "\033[31m"
#define ANSI_DIM         "\033[2m"
#define ANSI_RESET       "\033[0m"

typedef struct {
  JstpCliClient *client;
  JstpPool *pool;
  GPtrArray *hosts;       /* char *, as the user typed them, in pool order */
  gboolean terminal;      /* redraw in place */
  gboolean once;
  gboolean done;
  guint redraw_id;        /* a pending redraw after a state change */
} StatusState;

/* One column: its translated header, and whether it is right-aligned. */
typedef struct {
  const char *header;
  gboolean right;
} Column;

enum {
  COL_HOST,
  COL_NAME,
  COL_STATE,
  COL_CPU,
  COL_PROCESS_CPU,
  COL_MEMORY,
  COL_DISK,
  COL_RX,
  COL_TX,
  COL_CONNECTIONS,
  COL_IN,
  COL_OUT,
  COL_SATURATION,
  COL_LEVEL,
  N_COLUMNS
};

static const Column columns[N_COLUMNS] = {
  [COL_HOST]        = { NC_("status", "HOST"), FALSE },
  [COL_NAME]        = { NC_("status", "NAME"), FALSE },
  [COL_STATE]       = { NC_("status", "STATE"), FALSE },
  /* TRANSLATORS: the whole host's CPU use */
  [COL_CPU]         = { NC_("status", "CPU"), TRUE },
  /* TRANSLATORS: the engine process's own CPU use */
  [COL_PROCESS_CPU] = { NC_("status", "PROC"), TRUE },
  /* TRANSLATORS: memory in use, as a percentage */
  [COL_MEMORY]      = { NC_("status", "MEM"), TRUE },
  /* TRANSLATORS: disk space in use, as a percentage */
  [COL_DISK]        = { NC_("status", "DISK"), TRUE },
  /* TRANSLATORS: network bytes received per second */
  [COL_RX]          = { NC_("status", "RX/s"), TRUE },
  /* TRANSLATORS: network bytes sent per second */
  [COL_TX]          = { NC_("status", "TX/s"), TRUE },
  /* TRANSLATORS: open connections */
  [COL_CONNECTIONS] = { NC_("status", "CONN"), TRUE },
  /* TRANSLATORS: dispatches processed per second */
  [COL_IN]          = { NC_("status", "IN/s"), TRUE },
  /* TRANSLATORS: dispatches sent per second */
  [COL_OUT]         = { NC_("status", "OUT/s"), TRUE },
  /* TRANSLATORS: the combined saturation, between 0 and 1 */
  [COL_SATURATION]  = { NC_("status", "SAT"), TRUE },
  [COL_LEVEL]       = { NC_("status", "LEVEL"), FALSE },
};

/* ---- figures ----------------------------------------------------------- */

/* A status figure, or NAN when missing: a figure a peer did not send is
 * shown as missing, never as 0. */
/* What a missing figure looks like: a dash where the locale can show it. */
static const char *
missing (void)
{
  return g_get_charset (NULL) ? "–" : "-";
}

static double
figure (JsonObject *status,
        const char *key)
{
  JsonNode *node = status ? json_object_get_member (status, key) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NAN;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return (double) json_node_get_int (node);
    case G_TYPE_DOUBLE:
      return json_node_get_double (node);
    default:
      return NAN;
    }
}

static char *
format_percent (double fraction)
{
  if (isnan (fraction))
    return g_strdup (missing ());
  return g_strdup_printf ("%.0f%%", CLAMP (fraction, 0.0, 1.0) * 100.0);
}

/* Used over total, from two figures. */
static char *
format_used (double free,
             double total)
{
  if (isnan (free) || isnan (total) || total <= 0)
    return g_strdup (missing ());
  return format_percent (1.0 - free / total);
}

static char *
format_rate (double bytes_per_second)
{
  g_autofree char *size = NULL;

  if (isnan (bytes_per_second))
    return g_strdup (missing ());
  size = g_format_size ((guint64) MAX (bytes_per_second, 0.0));
  return g_strdup (size);
}

static char *
format_count (double value)
{
  if (isnan (value))
    return g_strdup (missing ());
  return g_strdup_printf ("%.0f", value);
}

/* Per second: a tenth matters below ten. */
static char *
format_per_second (double value)
{
  if (isnan (value))
    return g_strdup (missing ());
  if (value > 0 && value < 10)
    return g_strdup_printf ("%.1f", value);
  return g_strdup_printf ("%.0f", value);
}

static char *
format_fraction (double value)
{
  if (isnan (value))
    return g_strdup (missing ());
  return g_strdup_printf ("%.2f", value);
}

static const char *
state_text (JstpPoolMemberState state)
{
  switch (state)
    {
    case JSTP_POOL_MEMBER_UP:
      return C_("status", "up");
    case JSTP_POOL_MEMBER_STALE:
      /* TRANSLATORS: connected, but the engine stopped reporting */
      return C_("status", "silent");
    case JSTP_POOL_MEMBER_DOWN:
      return C_("status", "down");
    case JSTP_POOL_MEMBER_UNKNOWN:
    default:
      /* TRANSLATORS: no report has arrived yet */
      return C_("status", "waiting");
    }
}

static const char *
level_text (const char *level)
{
  if (g_strcmp0 (level, "ok") == 0)
    return C_("status", "ok");
  if (g_strcmp0 (level, "busy") == 0)
    return C_("status", "busy");
  if (g_strcmp0 (level, "critical") == 0)
    return C_("status", "critical");
  return level ? level : missing ();
}

static const char *
level_colour (const char *level)
{
  if (g_strcmp0 (level, "busy") == 0)
    return ANSI_YELLOW;
  if (g_strcmp0 (level, "critical") == 0)
    return ANSI_RED;
  return ANSI_GREEN;
}

/* The cells of one row, N_COLUMNS strings. */
static GStrv
row_cells (JstpPoolMember *member,
           const char     *host)
{
  JstpPoolMemberState state = jstp_pool_member_get_state (member);
  JsonObject *status = jstp_pool_member_get_status (member);
  const char *name = jstp_pool_member_get_name (member);
  char **cells = g_new0 (char *, N_COLUMNS + 1);

  /* Figures of a member that is not up are old: shown as missing, so that
   * nobody reads a dead engine's last numbers as current. */
  if (state != JSTP_POOL_MEMBER_UP)
    status = NULL;

  cells[COL_HOST] = g_strdup (host);
  cells[COL_NAME] = g_strdup (name ? name : missing ());
  cells[COL_STATE] = g_strdup (state_text (state));
  cells[COL_CPU] = format_percent (figure (status, "cpu"));
  cells[COL_PROCESS_CPU] = format_percent (figure (status, "process_cpu"));
  /* The fractions saturation is computed from; older engines may only
   * send the byte counts. */
  cells[COL_MEMORY] = !isnan (figure (status, "memory_used"))
                      ? format_percent (figure (status, "memory_used"))
                      : format_used (figure (status, "memory_available"),
                                     figure (status, "memory_total"));
  cells[COL_DISK] = !isnan (figure (status, "disk_used"))
                    ? format_percent (figure (status, "disk_used"))
                    : format_used (figure (status, "disk_free"), figure (status, "disk_total"));
  cells[COL_RX] = format_rate (figure (status, "net_rx_bps"));
  cells[COL_TX] = format_rate (figure (status, "net_tx_bps"));
  cells[COL_CONNECTIONS] = format_count (figure (status, "connections"));
  cells[COL_IN] = format_per_second (figure (status, "dispatches_in_per_s"));
  cells[COL_OUT] = format_per_second (figure (status, "dispatches_out_per_s"));
  cells[COL_SATURATION] = format_fraction (figure (status, "saturation"));
  if (status && json_object_has_member (status, "level") &&
      JSON_NODE_HOLDS_VALUE (json_object_get_member (status, "level")) &&
      json_node_get_value_type (json_object_get_member (status, "level")) == G_TYPE_STRING)
    cells[COL_LEVEL] = g_strdup (json_object_get_string_member (status, "level"));
  else
    cells[COL_LEVEL] = g_strdup (missing ());
  return cells;
}

/* ---- drawing ----------------------------------------------------------- */

static void
append_cell (GString    *out,
             const char *text,
             guint       width,
             gboolean    right,
             gboolean    last)
{
  guint length = g_utf8_strlen (text, -1);
  guint pad = width > length ? width - length : 0;

  if (right)
    {
      for (guint i = 0; i < pad; i++)
        g_string_append_c (out, ' ');
      g_string_append (out, text);
    }
  else
    {
      g_string_append (out, text);
      if (!last)
        for (guint i = 0; i < pad; i++)
          g_string_append_c (out, ' ');
    }
  if (!last)
    g_string_append (out, "  ");
}

static void
draw (StatusState *state)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (state->pool));
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GPtrArray) levels = g_ptr_array_new ();
  guint widths[N_COLUMNS];
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *clock = g_date_time_format (now, "%X");
  gboolean colour = state->terminal && !state->once;

  for (guint c = 0; c < N_COLUMNS; c++)
    widths[c] = g_utf8_strlen (g_dpgettext2 (GETTEXT_PACKAGE, "status", columns[c].header), -1);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JstpPoolMember) member = g_list_model_get_item (G_LIST_MODEL (state->pool), i);
      GStrv cells = row_cells (member, g_ptr_array_index (state->hosts, i));

      /* The level word is translated for display, its colour from the wire word. */
      g_ptr_array_add (levels, (gpointer) level_colour (cells[COL_LEVEL]));
      if (!g_str_equal (cells[COL_LEVEL], missing ()))
        {
          char *shown = g_strdup (level_text (cells[COL_LEVEL]));

          g_free (cells[COL_LEVEL]);
          cells[COL_LEVEL] = shown;
        }
      for (guint c = 0; c < N_COLUMNS; c++)
        widths[c] = MAX (widths[c], (guint) g_utf8_strlen (cells[c], -1));
      g_ptr_array_add (rows, cells);
    }

  if (state->terminal && !state->once)
    g_string_append (out, ANSI_CLEAR);
  if (!state->once)
    {
      /* TRANSLATORS: the title of the live table; %s is the time of day */
      g_autofree char *title = g_strdup_printf (_("jstp status at %s (Ctrl+C to quit)"), clock);

      if (colour)
        g_string_append_printf (out, ANSI_BOLD "%s" ANSI_RESET "\n", title);
      else
        g_string_append_printf (out, "%s\n", title);
    }

  if (colour)
    g_string_append (out, ANSI_DIM);
  for (guint c = 0; c < N_COLUMNS; c++)
    append_cell (out, g_dpgettext2 (GETTEXT_PACKAGE, "status", columns[c].header), widths[c],
                 columns[c].right, c == N_COLUMNS - 1);
  if (colour)
    g_string_append (out, ANSI_RESET);
  g_string_append_c (out, '\n');

  for (guint i = 0; i < rows->len; i++)
    {
      GStrv cells = g_ptr_array_index (rows, i);

      for (guint c = 0; c < N_COLUMNS; c++)
        {
          gboolean painted = colour && ((c == COL_LEVEL && !g_str_equal (cells[c], missing ())) ||
                                        (c == COL_STATE &&
                                         !g_str_equal (cells[c], C_("status", "up"))));

          if (painted)
            g_string_append (out, c == COL_LEVEL ? (const char *) g_ptr_array_index (levels, i)
                                                 : ANSI_RED);
          append_cell (out, cells[c], widths[c], columns[c].right, c == N_COLUMNS - 1);
          if (painted)
            g_string_append (out, ANSI_RESET);
        }
      g_string_append_c (out, '\n');
    }
  if (!state->terminal && !state->once)
    g_string_append_c (out, '\n');

  /* g_print(): in the locale's character set, like the other commands. */
  g_print ("%s", out->str);
  fflush (stdout);
}

static gboolean
tick_cb (gpointer data)
{
  draw (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
redraw_cb (gpointer data)
{
  StatusState *state = data;

  state->redraw_id = 0;
  draw (state);
  return G_SOURCE_REMOVE;
}

/* On a terminal a host going up or down shows at once; piped output keeps
 * one table per interval. */
static void
member_state_cb (JstpPoolMember *member,
                 GParamSpec     *pspec,
                 StatusState    *state)
{
  if (state->terminal && !state->once && state->redraw_id == 0)
    state->redraw_id = g_idle_add (redraw_cb, state);
}

static gboolean
signal_cb (gpointer data)
{
  ((StatusState *) data)->done = TRUE;
  return G_SOURCE_CONTINUE;
}

/* Every host has either reported or is known to be down. */
static gboolean
all_settled (StatusState *state)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (state->pool));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JstpPoolMember) member = g_list_model_get_item (G_LIST_MODEL (state->pool), i);

      if (jstp_pool_member_get_state (member) == JSTP_POOL_MEMBER_UNKNOWN)
        return FALSE;
    }
  return TRUE;
}

static gboolean
all_up (StatusState *state)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (state->pool));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JstpPoolMember) member = g_list_model_get_item (G_LIST_MODEL (state->pool), i);

      if (jstp_pool_member_get_state (member) != JSTP_POOL_MEMBER_UP)
        return FALSE;
    }
  return TRUE;
}

int
jstp_cli_status (int    argc,
                 char **argv)
{
  gboolean once = FALSE;
  int interval_ms = 1000, timeout_ms = DEFAULT_ONCE_TIMEOUT_MS;
  const GOptionEntry entries[] = {
    { "once", '1', 0, G_OPTION_ARG_NONE, &once,
      N_("Print one table once every host has answered, and exit"), NULL },
    { "interval", 'i', 0, G_OPTION_ARG_INT, &interval_ms,
      N_("Redraw every MS milliseconds (default 1000)"), N_("MS") },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_ms,
      N_("With --once, wait at most MS milliseconds for the hosts (default 5000)"), N_("MS") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  StatusState state = { 0 };
  guint tick_id = 0, sigint_id, sigterm_id;
  int exit_code = JSTP_CLI_EXIT_OK;

  context = g_option_context_new (_("HOST…"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Watches how saturated engines are: one row per HOST with its CPU, memory,\n"
      "disk, network, connections, dispatches per second, saturation and level,\n"
      "from the figures it reports (PUT [\"jstp\",\"status\"]). On a terminal the\n"
      "table is redrawn in place; otherwise one table is printed per interval.\n"
      "Hosts that cannot be reached are shown as down and tried again.\n"
      "HOST is tcp://ADDRESS:PORT or ws://ADDRESS:PORT."));
  g_option_context_set_description (context,
    _("Columns: CPU is the whole host's, PROC the engine process's (1 CPU of 4\n"
      "is 25%), MEM and DISK the share in use, RX/s and TX/s the network bytes\n"
      "per second, CONN the open connections, IN/s and OUT/s dispatches per\n"
      "second, SAT the saturation (0 to 1) and LEVEL ok, busy or critical.\n"
      "\n"
      "Exit status: 0 when interrupted, or with --once when every host reported;\n"
      "2 for bad arguments; 3 with --once when a host could not be reached or\n"
      "reports no status.\n"
      "\n"
      "Examples:\n"
      "  jstp status tcp://10.0.0.1:33333 tcp://10.0.0.2:33333\n"
      "  jstp status --once ws://127.0.0.1:33334\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return jstp_cli_usage_error ("status", "%s", error->message);
  if (argc < 2)
    return jstp_cli_usage_error ("status", _("status needs at least one HOST"));
  if (interval_ms <= 0)
    return jstp_cli_usage_error ("status",
                                 _("--interval must be a positive number of milliseconds"));
  if (timeout_ms <= 0)
    return jstp_cli_usage_error ("status",
                                 _("--timeout must be a positive number of milliseconds"));

  state.client = jstp_cli_client_new ();
  state.hosts = g_ptr_array_new_with_free_func (g_free);
  state.once = once;
  state.terminal = isatty (STDOUT_FILENO);

  /* A watcher should notice an engine's return within seconds. */
  jstp_network_get_limits (state.client->network)->reconnect_max_ms = 5000;
  /* A client takes no subscriptions from the engines it watches. */
  jstp_engine_set_max_subscriptions_per_connection (state.client->engine, 0);
  state.pool = jstp_pool_new (state.client->network);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(JstpCliHost) host = jstp_cli_host_parse (argv[i], &error);
      JstpPoolMember *member;
      guint before;

      if (host == NULL)
        {
          g_clear_object (&state.pool);
          jstp_cli_client_free (state.client);
          g_ptr_array_unref (state.hosts);
          return jstp_cli_usage_error ("status", "%s", error->message);
        }
      before = g_list_model_get_n_items (G_LIST_MODEL (state.pool));
      member = jstp_pool_add_member (state.pool, host->address, host->port, host->label);
      if (g_list_model_get_n_items (G_LIST_MODEL (state.pool)) == before)
        continue;   /* named twice */
      g_ptr_array_add (state.hosts, jstp_cli_host_to_string (host));
      g_signal_connect (member, "notify::state", G_CALLBACK (member_state_cb), &state);
    }

  sigint_id = g_unix_signal_add (SIGINT, signal_cb, &state);
  sigterm_id = g_unix_signal_add (SIGTERM, signal_cb, &state);

  if (once)
    {
      GSource *timer = jstp_cli_timer_new ((guint) timeout_ms, &state.done);

      while (!state.done && !all_settled (&state))
        g_main_context_iteration (NULL, TRUE);
      jstp_cli_timer_free (timer);
      draw (&state);
      exit_code = all_up (&state) ? JSTP_CLI_EXIT_OK : JSTP_CLI_EXIT_UNREACHABLE;
    }
  else
    {
      if (state.terminal)
        g_print (ANSI_HIDE_CURSOR);
      draw (&state);
      tick_id = g_timeout_add ((guint) interval_ms, tick_cb, &state);
      while (!state.done)
        g_main_context_iteration (NULL, TRUE);
      g_source_remove (tick_id);
      if (state.terminal)
        {
          g_print (ANSI_SHOW_CURSOR);
          fflush (stdout);
        }
    }

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_clear_handle_id (&state.redraw_id, g_source_remove);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (state.pool)); i++)
    {
      g_autoptr(JstpPoolMember) member = g_list_model_get_item (G_LIST_MODEL (state.pool), i);

      g_signal_handlers_disconnect_by_func (member, member_state_cb, &state);
    }
  g_clear_object (&state.pool);
  jstp_cli_client_free (state.client);
  g_ptr_array_unref (state.hosts);
  return exit_code;
}
