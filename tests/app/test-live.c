/* test-live.c: the stack running, in the real window
 *
 * SPDX-License-Identifier: MIT
 *
 * Local nodes start the built jstpd and monje ($TABLERO_JSTPD,
 * $TABLERO_MONJE) on free loopback ports. The embedded engine of the
 * application plays the user: it sends dispatches to the nodes with a hop
 * and subscribes to them with remote BINDs. The main states are rendered
 * to PNG in $TEST_ARTIFACTS_DIR.
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "jstp-dispatch.h"
#include "jstp-pattern.h"
#include "live/tablero-overview.h"
#include "live/tablero-plot.h"
#include "tablero-application.h"
#include "tablero-node-pane.h"
#include "tablero-window.h"

#include "gui-test-utils.h"

#define TIMEOUT_MS 15000

static TableroApplication *app;

/* ---- helpers ------------------------------------------------------------- */

typedef GuiTestLiveWindow Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  gui_test_live_window_open (f, app);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gui_test_live_window_close (f);
}

/* Up, and has reported figures (memory in use is never 0 on a live host). */
static gboolean
node_live (gpointer data)
{
  TableroNode *node = data;

  return tablero_node_get_state (node) == TABLERO_NODE_STATE_UP &&
         (tablero_node_get_memory (node) > 0 || tablero_node_get_saturation (node) > 0);
}

static gboolean
all_live (gpointer data)
{
  GListModel *nodes = tablero_stack_get_nodes (data);

  for (guint i = 0; i < g_list_model_get_n_items (nodes); i++)
    {
      g_autoptr (TableroNode) node = g_list_model_get_item (nodes, i);
      if (!node_live (node))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  TableroLiveStack *live;
  TableroEdge      *edge;
} EdgeWait;

static gboolean
bridge_made (gpointer data)
{
  EdgeWait *wait = data;

  return tablero_live_stack_get_bridge_id (wait->live, wait->edge) != 0;
}

static void
emit_to (TableroNode  *node,
         JstpDispatch *dispatch,
         JstpAnswerFunc callback,
         gpointer      data)
{
  jstp_dispatch_add_hop (dispatch, "127.0.0.1", tablero_node_get_port (node), "tcp");
  jstp_engine_emit (tablero_application_get_engine (app), dispatch, callback, data, NULL);
}

static void
on_probe (JstpEngine         *engine,
          JstpDispatch       *dispatch,
          const JstpCaptures *captures,
          gpointer            data)
{
  (*(guint *) data)++;
}

typedef struct
{
  guint        *received;
  TableroEdge  *edge;
  TableroNode  *source;
} FlowWait;

static gboolean
flowing (gpointer data)
{
  FlowWait *wait = data;
  static gint64 last_emit;
  gint64 now = g_get_monotonic_time ();

  /* A few dispatches every 100 ms until they show. */
  if (now - last_emit > 100 * G_TIME_SPAN_MILLISECOND)
    {
      last_emit = now;
      for (int i = 0; i < 5; i++)
        {
          g_autoptr (JstpDispatch) post = jstp_dispatch_new (JSTP_METHOD_POST,
                                                             (const char * const[]) { "demo", "orders", NULL });
          jstp_dispatch_set_body_json (post, "{\"n\":1}", NULL);
          emit_to (wait->source, post, NULL, NULL);
        }
    }
  return *wait->received > 0 && tablero_edge_get_rate (wait->edge) > 0;
}

typedef struct
{
  gboolean  answered;
  char     *body;
} Answer;

static void
on_answer (JstpEngine   *engine,
           JstpDispatch *answer,
           gpointer      data)
{
  Answer *result = data;

  result->answered = TRUE;
  g_free (result->body);
  result->body = g_strdup (jstp_dispatch_get_body_json (answer));
}

static gboolean
answered (gpointer data)
{
  return ((Answer *) data)->answered;
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) data = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_bridge (Fixture       *f,
             gconstpointer  data)
{
  TableroStack *stack = tablero_window_get_stack (f->window);
  JstpEngine *engine = tablero_application_get_engine (app);
  TableroNode *a, *b;
  g_autoptr (TableroEdge) edge = NULL;
  g_autofree char *edge_id = NULL;
  g_autoptr (JstpPattern) pattern = NULL;
  g_autoptr (JstpDispatch) bind = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GPtrArray) selection = g_ptr_array_new ();
  guint received = 0;
  guint64 probe;
  gboolean exited = FALSE;
  EdgeWait edge_wait;
  FlowWait flow;
  Answer bind_answer = { 0 }, bridges = { 0 };

  a = tablero_window_add_node (f->window, TABLERO_NODE_KIND_ENGINE, 0, 0);
  b = tablero_window_add_node (f->window, TABLERO_NODE_KIND_ENGINE, 320, 0);
  g_assert_nonnull (tablero_node_link_get_process (tablero_live_stack_get_link (f->live, a)));
  g_assert_true (test_wait_until (node_live, a, TIMEOUT_MS));
  g_assert_true (test_wait_until (node_live, b, TIMEOUT_MS));
  g_assert_cmpuint (tablero_node_get_port (a), >, 0);
  g_assert_cmpuint (tablero_node_get_port (a), !=, tablero_node_get_port (b));
  g_assert_cmpuint (tablero_overview_get_n_rows (TABLERO_OVERVIEW (tablero_window_get_overview (f->window))), ==, 2);
  /* The child's listening line is in its output. */
  {
    GPtrArray *output = tablero_node_link_get_output (tablero_live_stack_get_link (f->live, a));
    gboolean listening = FALSE;

    for (guint i = 0; i < output->len; i++)
      listening |= strstr (g_ptr_array_index (output, i), "listening: tcp") != NULL;
    g_assert_true (listening);
  }

  /* b subscribes to POST ["demo", ...] on a: a real bridge on b. */
  edge_id = tablero_stack_new_id (stack);
  edge = tablero_edge_new (edge_id, tablero_node_get_id (a), tablero_node_get_id (b), "POST",
                           (const char * const[]) { "demo", "...", NULL });
  tablero_stack_add_edge (stack, edge);
  edge_wait = (EdgeWait) { f->live, edge };
  g_assert_true (test_wait_until (bridge_made, &edge_wait, TIMEOUT_MS));

  /* A probe on b, through the embedded engine. */
  pattern = jstp_pattern_new ("POST", (const char * const[]) { "demo", "..." }, 2,
                              JSTP_MODE_STRICT, NULL);
  g_assert_nonnull (pattern);
  probe = jstp_engine_bind_pattern (engine, pattern, on_probe, &received, NULL);
  bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  emit_to (b, bind, on_answer, &bind_answer);
  g_assert_true (test_wait_until (answered, &bind_answer, TIMEOUT_MS));

  /* POSTs emitted on a arrive at b (and at the probe), and the edge shows
   * their rate. */
  flow = (FlowWait) { &received, edge, a };
  g_assert_true (test_wait_until (flowing, &flow, TIMEOUT_MS));
  g_test_message ("edge rate %.1f/s, %u dispatches at the probe", tablero_edge_get_rate (edge),
                  received);

  g_ptr_array_add (selection, b);
  tablero_node_pane_set_selection (tablero_window_get_node_pane (f->window), selection, NULL);
  test_spin (300);
  g_assert_cmpfloat (tablero_plot_get_last_value (TABLERO_PLOT (tablero_node_pane_get_plot (tablero_window_get_node_pane (f->window), TABLERO_PLOT_MEMORY))), >, 0);
  gui_test_save_screenshot (GTK_WIDGET (f->window), "live-bridge.png");

  /* Deleting the edge deletes the bridge. */
  tablero_stack_remove_edge (stack, edge);
  for (int attempt = 0; attempt < 20; attempt++)
    {
      g_autoptr (JstpDispatch) get = jstp_dispatch_new (JSTP_METHOD_GET,
                                                        (const char * const[]) { "jstp", "bridges", NULL });
      bridges.answered = FALSE;
      emit_to (b, get, on_answer, &bridges);
      g_assert_true (test_wait_until (answered, &bridges, TIMEOUT_MS));
      if (g_strcmp0 (bridges.body, "[]") == 0)
        break;
      test_spin (100);
    }
  g_assert_cmpstr (bridges.body, ==, "[]");
  g_assert_cmpfloat (tablero_edge_get_rate (edge), ==, 0);
  jstp_engine_release (engine, probe);

  /* Removing a node stops its child. */
  process = g_object_ref (tablero_node_link_get_process (tablero_live_stack_get_link (f->live, a)));
  g_subprocess_wait_async (process, NULL, on_exited, &exited);
  tablero_stack_remove_node (stack, a);
  g_assert_null (tablero_live_stack_get_link (f->live, a));
  g_assert_true (test_wait_until (is_true, &exited, 5000));
  g_assert_true (g_subprocess_get_if_signaled (process) || g_subprocess_get_if_exited (process));

  g_free (bind_answer.body);
  g_free (bridges.body);
}

typedef struct
{
  TableroLiveStack *live;
  TableroStack     *stack;
} DemoWait;

static gboolean
demo_bridged (gpointer data)
{
  DemoWait *wait = data;
  GListModel *edges = tablero_stack_get_edges (wait->stack);

  if (!all_live (wait->stack))
    return FALSE;
  for (guint i = 0; i < g_list_model_get_n_items (edges); i++)
    {
      g_autoptr (TableroEdge) edge = g_list_model_get_item (edges, i);
      if (tablero_live_stack_get_bridge_id (wait->live, edge) == 0)
        return FALSE;
    }
  return TRUE;
}

static void
test_demo (Fixture       *f,
           gconstpointer  data)
{
  TableroStack *stack;
  DemoWait wait;
  GtkWidget *overview;
  GtkWidget *popover;

  tablero_window_new_demo_stack (f->window);
  stack = tablero_window_get_stack (f->window);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_get_nodes (stack)), ==, 3);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_get_edges (stack)), ==, 2);
  g_assert_false (tablero_stack_get_can_undo (stack));

  wait = (DemoWait) { f->live, stack };
  g_assert_true (test_wait_until (demo_bridged, &wait, TIMEOUT_MS));
  test_spin (1500);  /* a second report, for the plots */
  {
    g_autoptr (TableroNode) gateway = g_list_model_get_item (tablero_stack_get_nodes (stack), 0);
    g_autoptr (GPtrArray) selection = g_ptr_array_new ();

    g_ptr_array_add (selection, gateway);
    tablero_node_pane_set_selection (tablero_window_get_node_pane (f->window), selection, NULL);
  }
  test_spin (300);
  gui_test_save_screenshot (GTK_WIDGET (f->window), "live-demo.png");
  /* The history plots of the selected node, on their own. */
  gui_test_save_screenshot (
    gtk_widget_get_parent (tablero_node_pane_get_plot (tablero_window_get_node_pane (f->window), 0)),
    "live-plots.png");

  overview = tablero_window_get_overview (f->window);
  popover = gtk_widget_get_ancestor (overview, GTK_TYPE_POPOVER);
  gtk_popover_popup (GTK_POPOVER (popover));
  test_spin (300);
  gui_test_save_screenshot (overview, "live-overview.png");
  gtk_popover_popdown (GTK_POPOVER (popover));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *store_dir = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr (TableroStackStore) app_store = NULL;

  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL &&
      g_strcmp0 (g_getenv ("GDK_BACKEND"), "broadway") != 0)
    {
      g_print ("1..0 # SKIP no display: run under xvfb-run -a\n");
      return 0;
    }

  g_mkdir_with_parents (g_get_user_cache_dir (), 0700);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  store_dir = g_dir_make_tmp ("tablero-test-live-app-XXXXXX", &error);
  g_assert_no_error (error);
  store_path = g_build_filename (store_dir, "stacks.db", NULL);
  app_store = tablero_stack_store_new (store_path, &error);
  g_assert_no_error (error);
  app = tablero_application_new (G_APPLICATION_NON_UNIQUE);
  tablero_application_set_store (app, app_store);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_hold (G_APPLICATION (app));

  g_test_add ("/live/bridge", Fixture, NULL, fixture_set_up, test_bridge, fixture_tear_down);
  g_test_add ("/live/demo", Fixture, NULL, fixture_set_up, test_demo, fixture_tear_down);

  return g_test_run ();
}
