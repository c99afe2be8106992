/* SPDX-License-Identifier: MIT */
/* tablero-node-link.c: one node's child process and status watch.
 *
 * Signals:
 *   output-line (const char *line): a line of the child's output.
 *   sample (const TableroMetricsSample *sample): a status report turned
 *     into figures, already in the history.
 *   status (JsonObject *status): the whole status report.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <signal.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "tablero-node-link.h"

#define KILL_DELAY_MS 2000

struct _TableroNodeLink
{
  GObject         parent_instance;

  TableroNode    *node;
  JstpPool       *pool;
  char           *data_key;
  gulong          node_notify_id;

  /* Local nodes */
  GSubprocess    *process;
  GCancellable   *cancellable;
  guint           listening_port;
  GPtrArray      *output;         /* char *, oldest first */

  /* Status */
  JstpPoolMember *member;
  gulong          member_state_id;
  gulong          member_status_id;
  gboolean        was_up;
  GArray         *history;        /* TableroMetricsSample */
  JsonObject     *status;
  gboolean        stopped;
};

G_DEFINE_FINAL_TYPE (TableroNodeLink, tablero_node_link, G_TYPE_OBJECT)

enum {
  SIGNAL_OUTPUT_LINE,
  SIGNAL_SAMPLE,
  SIGNAL_STATUS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void watch_member (TableroNodeLink *self, const char *address, guint port,
                          const char *transport);

/* ---- output -------------------------------------------------------------- */

static void
add_output (TableroNodeLink *self,
            const char      *line)
{
  if (self->output->len >= TABLERO_NODE_LINK_MAX_OUTPUT)
    g_ptr_array_remove_index (self->output, 0);
  g_ptr_array_add (self->output, g_strdup (line));
  g_signal_emit (self, signals[SIGNAL_OUTPUT_LINE], 0, line);
}

/* "jstpd listening: tcp 127.0.0.1:33333 ws 127.0.0.1:33334" */
static gboolean
parse_listening (const char *line,
                 char      **address,
                 guint      *port)
{
  const char *tcp = strstr (line, " listening:");
  g_auto (GStrv) words = NULL;

  if (tcp == NULL)
    return FALSE;
  words = g_strsplit (tcp + strlen (" listening:"), " ", -1);
  for (guint i = 0; words[i] != NULL; i++)
    {
      const char *colon;
      guint64 value;

      if (!g_str_equal (words[i], "tcp") || words[i + 1] == NULL)
        continue;
      colon = strrchr (words[i + 1], ':');
      if (colon == NULL ||
          !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &value, NULL))
        return FALSE;
      *address = g_strndup (words[i + 1], colon - words[i + 1]);
      /* "[::1]" */
      if (**address == '[')
        {
          char *bare = g_strndup (*address + 1, strlen (*address) - 2);
          g_free (*address);
          *address = bare;
        }
      *port = value;
      return TRUE;
    }
  return FALSE;
}

typedef struct
{
  TableroNodeLink  *self;   /* not a reference: the link cancels before it goes */
  GCancellable     *cancellable;
  GDataInputStream *stream;
  gboolean          is_stdout;
} Reader;

static void read_next (Reader *reader);

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Reader *reader = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  TableroNodeLink *self;
  g_autofree char *address = NULL;
  guint port;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL,
                                                    &error);
  if (line == NULL || g_cancellable_is_cancelled (reader->cancellable))
    {
      g_object_unref (reader->cancellable);
      g_object_unref (reader->stream);
      g_free (reader);
      return;
    }
  self = reader->self;
  add_output (self, line);
  if (reader->is_stdout && self->listening_port == 0 &&
      parse_listening (line, &address, &port))
    {
      self->listening_port = port;
      /* Wildcard listeners are reached on loopback. */
      if (g_str_equal (address, "0.0.0.0") || g_str_equal (address, "::"))
        g_clear_pointer (&address, g_free);
      tablero_node_set_address (self->node, address ? address : "127.0.0.1");
      tablero_node_set_transport (self->node, "tcp");
      tablero_node_set_port (self->node, port);
      watch_member (self, tablero_node_get_address (self->node), port, "tcp");
    }
  read_next (reader);
}

static void
read_next (Reader *reader)
{
  g_data_input_stream_read_line_async (reader->stream, G_PRIORITY_DEFAULT,
                                       reader->cancellable, on_line, reader);
}

static void
start_reader (TableroNodeLink *self,
              GInputStream    *pipe,
              gboolean         is_stdout)
{
  Reader *reader = g_new0 (Reader, 1);

  reader->self = self;
  reader->cancellable = g_object_ref (self->cancellable);
  reader->stream = g_data_input_stream_new (pipe);
  reader->is_stdout = is_stdout;
  read_next (reader);
}

/* ---- the child ----------------------------------------------------------- */

static void
child_setup (gpointer data)
{
#ifdef __linux__
  /* Should Tablero die without stopping it, the child goes too. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
#endif
}

static char *
find_program (TableroNodeKind kind)
{
  const char *name, *variable, *value;

  switch (kind)
    {
    case TABLERO_NODE_KIND_MONJE:
      name = "monje";
      variable = "TABLERO_MONJE";
      break;
    case TABLERO_NODE_KIND_PAJARO:
      name = "pajaro";
      variable = "TABLERO_PAJARO";
      break;
    case TABLERO_NODE_KIND_ENGINE:
    default:
      name = "jstpd";
      variable = "TABLERO_JSTPD";
      break;
    }
  value = g_getenv (variable);
  if (value != NULL && *value != '\0')
    return g_strdup (value);
  return g_find_program_in_path (name);
}

static void
set_state (TableroNodeLink  *self,
           TableroNodeState  state)
{
  if (state == TABLERO_NODE_STATE_UP)
    self->was_up = TRUE;
  tablero_node_set_state (self->node, state);
}

static void
on_child_exited (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (TableroNodeLink) self = user_data;
  GSubprocess *process = G_SUBPROCESS (source);
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;

  /* Cancelled: the link stopped it, or started another. */
  if (!g_subprocess_wait_finish (process, result, &error) || process != self->process)
    return;

  if (g_subprocess_get_if_exited (process))
    /* TRANSLATORS: %d is the exit status of a program */
    line = g_strdup_printf (_("The program ended with status %d"),
                            g_subprocess_get_exit_status (process));
  else
    /* TRANSLATORS: %d is a signal number */
    line = g_strdup_printf (_("The program was stopped by signal %d"),
                            g_subprocess_get_term_sig (process));
  add_output (self, line);
  g_clear_object (&self->process);
  self->listening_port = 0;
  if (self->member != NULL)
    {
      g_clear_signal_handler (&self->member_state_id, self->member);
      g_clear_signal_handler (&self->member_status_id, self->member);
      jstp_pool_remove_member (self->pool, self->member);
      g_clear_object (&self->member);
    }
  set_state (self, TABLERO_NODE_STATE_DOWN);
}

static void
start_child (TableroNodeLink *self)
{
  g_autofree char *program = find_program (tablero_node_get_kind (self->node));
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *command = NULL;

  if (program == NULL)
    {
      add_output (self, _("The program for this node was not found: install it, put it on "
                          "PATH, or name it with TABLERO_JSTPD, TABLERO_MONJE or "
                          "TABLERO_PAJARO"));
      set_state (self, TABLERO_NODE_STATE_DOWN);
      return;
    }

  g_ptr_array_add (argv, g_strdup (program));
  g_ptr_array_add (argv, g_strdup ("--name"));
  g_ptr_array_add (argv, g_strdup (tablero_node_get_name (self->node)));
  g_ptr_array_add (argv, g_strdup ("--tcp-port"));
  g_ptr_array_add (argv, g_strdup ("0"));
  g_ptr_array_add (argv, g_strdup ("--ws-port"));
  g_ptr_array_add (argv, g_strdup ("0"));
  if (tablero_node_get_kind (self->node) == TABLERO_NODE_KIND_MONJE)
    {
      g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "tablero", "monje",
                                               self->data_key, tablero_node_get_id (self->node),
                                               NULL);
      g_mkdir_with_parents (dir, 0700);
      g_ptr_array_add (argv, g_strdup ("--data-dir"));
      g_ptr_array_add (argv, g_steal_pointer (&dir));
    }
  g_ptr_array_add (argv, NULL);

  command = g_strjoinv (" ", (char **) argv->pdata);
  add_output (self, command);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                                &error);
  if (self->process == NULL)
    {
      add_output (self, error->message);
      set_state (self, TABLERO_NODE_STATE_DOWN);
      return;
    }
  set_state (self, TABLERO_NODE_STATE_CONNECTING);
  start_reader (self, g_subprocess_get_stdout_pipe (self->process), TRUE);
  start_reader (self, g_subprocess_get_stderr_pipe (self->process), FALSE);
  g_subprocess_wait_async (self->process, self->cancellable, on_child_exited,
                           g_object_ref (self));
}

typedef struct
{
  GSubprocess *process;
  guint        timer;
} Reaper;

static gboolean
reaper_kill (gpointer data)
{
  Reaper *reaper = data;

  reaper->timer = 0;
  g_subprocess_force_exit (reaper->process);
  return G_SOURCE_REMOVE;
}

static void
reaper_exited (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  Reaper *reaper = data;

  g_subprocess_wait_finish (reaper->process, result, NULL);
  g_clear_handle_id (&reaper->timer, g_source_remove);
  g_object_unref (reaper->process);
  g_free (reaper);
}

/* SIGTERM now, SIGKILL if it is still there after KILL_DELAY_MS; outlives
 * the link. */
static void
stop_child (GSubprocess *process)
{
  Reaper *reaper = g_new0 (Reaper, 1);

  reaper->process = process;
  g_subprocess_send_signal (process, SIGTERM);
  reaper->timer = g_timeout_add (KILL_DELAY_MS, reaper_kill, reaper);
  g_subprocess_wait_async (process, NULL, reaper_exited, reaper);
}

/* ---- status -------------------------------------------------------------- */

static double
member_double (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return 0;
  return json_node_get_double (node);
}

static void
on_member_state (TableroNodeLink *self)
{
  switch (jstp_pool_member_get_state (self->member))
    {
    case JSTP_POOL_MEMBER_UP:
      set_state (self, TABLERO_NODE_STATE_UP);
      break;
    case JSTP_POOL_MEMBER_STALE:
      set_state (self, TABLERO_NODE_STATE_RECONNECTING);
      break;
    case JSTP_POOL_MEMBER_DOWN:
      /* The pool keeps probing: it comes back by itself. */
      set_state (self, self->was_up ? TABLERO_NODE_STATE_RECONNECTING
                                    : TABLERO_NODE_STATE_DOWN);
      break;
    case JSTP_POOL_MEMBER_UNKNOWN:
    default:
      set_state (self, self->was_up ? TABLERO_NODE_STATE_RECONNECTING
                                    : TABLERO_NODE_STATE_CONNECTING);
      break;
    }
}

static void
on_member_status (TableroNodeLink *self)
{
  JsonObject *status = jstp_pool_member_get_status (self->member);
  TableroMetricsSample sample = { 0 };
  const char *level;
  gint64 timestamp;

  if (status == NULL)
    return;
  g_clear_pointer (&self->status, json_object_unref);
  self->status = json_object_ref (status);

  timestamp = (gint64) member_double (status, "timestamp");
  sample.time_ms = timestamp > 0 ? timestamp : g_get_real_time () / 1000;
  sample.cpu = CLAMP (member_double (status, "cpu"), 0, 1);
  sample.memory = CLAMP (member_double (status, "memory_used"), 0, 1);
  sample.disk = CLAMP (member_double (status, "disk_used"), 0, 1);
  sample.network = CLAMP ((member_double (status, "net_rx_bps") +
                           member_double (status, "net_tx_bps")) /
                          TABLERO_NODE_LINK_NETWORK_SCALE, 0, 1);
  sample.saturation = CLAMP (member_double (status, "saturation"), 0, 1);

  tablero_node_set_metrics (self->node, sample.cpu, sample.memory, sample.disk, sample.network,
                            sample.saturation);
  level = json_object_has_member (status, "level")
          ? json_object_get_string_member_with_default (status, "level", "ok") : "ok";
  tablero_node_set_level (self->node, g_strcmp0 (level, "critical") == 0 ? TABLERO_LEVEL_CRITICAL
                                      : g_strcmp0 (level, "busy") == 0 ? TABLERO_LEVEL_BUSY
                                      : TABLERO_LEVEL_OK);

  if (self->history->len >= TABLERO_NODE_LINK_MAX_HISTORY)
    g_array_remove_index (self->history, 0);
  g_array_append_val (self->history, sample);

  g_signal_emit (self, signals[SIGNAL_STATUS], 0, status);
  g_signal_emit (self, signals[SIGNAL_SAMPLE], 0, &sample);
}

static void
unwatch_member (TableroNodeLink *self)
{
  if (self->member == NULL)
    return;
  g_clear_signal_handler (&self->member_state_id, self->member);
  g_clear_signal_handler (&self->member_status_id, self->member);
  jstp_pool_remove_member (self->pool, self->member);
  g_clear_object (&self->member);
}

static void
watch_member (TableroNodeLink *self,
              const char      *address,
              guint            port,
              const char      *transport)
{
  unwatch_member (self);
  if (address == NULL || *address == '\0' || port == 0 || port > 65535)
    {
      set_state (self, TABLERO_NODE_STATE_IDLE);
      return;
    }
  if (g_strcmp0 (transport, "ws") != 0)
    transport = "tcp";

  self->member = g_object_ref (jstp_pool_add_member (self->pool, address, port, transport));
  self->member_state_id = g_signal_connect_swapped (self->member, "notify::state",
                                                    G_CALLBACK (on_member_state), self);
  self->member_status_id = g_signal_connect_swapped (self->member, "notify::status-json",
                                                     G_CALLBACK (on_member_status), self);
  on_member_state (self);
}

/* ---- starting and stopping ----------------------------------------------- */

static void
start (TableroNodeLink *self)
{
  self->stopped = FALSE;
  self->was_up = FALSE;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  if (tablero_node_get_local (self->node))
    start_child (self);
  else
    watch_member (self, tablero_node_get_address (self->node), tablero_node_get_port (self->node),
                  tablero_node_get_transport (self->node));
}

static void
halt (TableroNodeLink *self)
{
  g_cancellable_cancel (self->cancellable);
  unwatch_member (self);
  if (self->process != NULL)
    stop_child (g_steal_pointer (&self->process));
  self->listening_port = 0;
}

void
tablero_node_link_stop (TableroNodeLink *self)
{
  g_return_if_fail (TABLERO_IS_NODE_LINK (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;
  halt (self);
  g_clear_signal_handler (&self->node_notify_id, self->node);
  tablero_node_set_state (self->node, TABLERO_NODE_STATE_IDLE);
}

static void
on_node_notify (TableroNodeLink *self,
                GParamSpec      *pspec)
{
  const char *name = pspec->name;

  if (g_str_equal (name, "local"))
    {
      halt (self);
      start (self);
      return;
    }
  /* A remote node that was moved to another address; a local node's own
   * address and port are ours to set. */
  if (!tablero_node_get_local (self->node) &&
      (g_str_equal (name, "address") || g_str_equal (name, "port") ||
       g_str_equal (name, "transport")))
    {
      const char *address = tablero_node_get_address (self->node);
      guint port = tablero_node_get_port (self->node);
      const char *transport = tablero_node_get_transport (self->node);

      if (self->member != NULL &&
          g_strcmp0 (jstp_pool_member_get_address (self->member), address) == 0 &&
          jstp_pool_member_get_port (self->member) == port &&
          g_strcmp0 (jstp_pool_member_get_label (self->member), transport) == 0)
        return;
      self->was_up = FALSE;
      watch_member (self, address, port, transport);
    }
}

/* ---- accessors ------------------------------------------------------------ */

TableroNode *
tablero_node_link_get_node (TableroNodeLink *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_LINK (self), NULL);
  return self->node;
}

guint
tablero_node_link_get_ready_port (TableroNodeLink *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_LINK (self), 0);

  if (self->stopped)
    return 0;
  if (tablero_node_get_local (self->node))
    return self->listening_port;
  return tablero_node_get_port (self->node);
}

GSubprocess *
tablero_node_link_get_process (TableroNodeLink *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_LINK (self), NULL);
  return self->process;
}

GPtrArray *
tablero_node_link_get_output (TableroNodeLink *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_LINK (self), NULL);
  return self->output;
}

GArray *
tablero_node_link_get_history (TableroNodeLink *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_LINK (self), NULL);
  return self->history;
}

void
tablero_node_link_prepend_history (TableroNodeLink *self,
                                   GArray          *samples)
{
  gint64 first;
  guint n = 0;

  g_return_if_fail (TABLERO_IS_NODE_LINK (self));

  if (samples == NULL || samples->len == 0)
    return;
  /* Only what is older than the live samples already here. */
  first = self->history->len > 0
          ? g_array_index (self->history, TableroMetricsSample, 0).time_ms : G_MAXINT64;
  while (n < samples->len && g_array_index (samples, TableroMetricsSample, n).time_ms < first)
    n++;
  g_array_prepend_vals (self->history, samples->data, n);
  if (self->history->len > TABLERO_NODE_LINK_MAX_HISTORY)
    g_array_remove_range (self->history, 0, self->history->len - TABLERO_NODE_LINK_MAX_HISTORY);
}

JsonObject *
tablero_node_link_get_status (TableroNodeLink *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE_LINK (self), NULL);
  return self->status;
}

/* ---- GObject -------------------------------------------------------------- */

static void
tablero_node_link_dispose (GObject *object)
{
  TableroNodeLink *self = TABLERO_NODE_LINK (object);

  if (self->node != NULL)
    tablero_node_link_stop (self);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->node);
  g_clear_object (&self->pool);

  G_OBJECT_CLASS (tablero_node_link_parent_class)->dispose (object);
}

static void
tablero_node_link_finalize (GObject *object)
{
  TableroNodeLink *self = TABLERO_NODE_LINK (object);

  g_ptr_array_unref (self->output);
  g_array_unref (self->history);
  g_clear_pointer (&self->status, json_object_unref);
  g_free (self->data_key);

  G_OBJECT_CLASS (tablero_node_link_parent_class)->finalize (object);
}

static void
tablero_node_link_class_init (TableroNodeLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tablero_node_link_dispose;
  object_class->finalize = tablero_node_link_finalize;

  signals[SIGNAL_OUTPUT_LINE] =
    g_signal_new ("output-line", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_SAMPLE] =
    g_signal_new ("sample", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_STATUS] =
    g_signal_new ("status", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
tablero_node_link_init (TableroNodeLink *self)
{
  self->output = g_ptr_array_new_with_free_func (g_free);
  self->history = g_array_new (FALSE, FALSE, sizeof (TableroMetricsSample));
}

TableroNodeLink *
tablero_node_link_new (TableroNode *node,
                       JstpPool    *pool,
                       const char  *data_key)
{
  TableroNodeLink *self;

  g_return_val_if_fail (TABLERO_IS_NODE (node), NULL);
  g_return_val_if_fail (JSTP_IS_POOL (pool), NULL);

  self = g_object_new (TABLERO_TYPE_NODE_LINK, NULL);
  self->node = g_object_ref (node);
  self->pool = g_object_ref (pool);
  self->data_key = g_strdup (data_key ? data_key : "default");
  self->node_notify_id = g_signal_connect_swapped (node, "notify", G_CALLBACK (on_node_notify),
                                                   self);
  start (self);
  return self;
}
