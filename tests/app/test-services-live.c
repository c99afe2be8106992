/* test-services-live.c: Monje and Pajaro nodes running, in the real window
 *
 * SPDX-License-Identifier: MIT
 *
 * A local Pajaro node (the built pajaro, started through a wrapper that
 * points it at a fake Mastodon served by this test and tracks "demo") and
 * a local Monje node, joined by an edge for POST ["pajaro","posts","..."]:
 * the post the fake Mastodon streams is stored by Monje, and Monje's pane
 * shows it in its collections. Rendered to PNG in $TEST_ARTIFACTS_DIR.
 */
#include "config.h"

#include <string.h>
#include <adwaita.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "jstp-dispatch.h"
#include "tablero-application.h"
#include "tablero-node-pane.h"
#include "tablero-window.h"
#include "gui-test-utils.h"
#include "test-utils.h"

#define TIMEOUT_MS 15000

static TableroApplication *app;

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

/* ---- a fake Mastodon ------------------------------------------------------ */

#define STATUS_EVENT \
  "event: update\n" \
  "data: {\"id\":\"%u\",\"created_at\":\"2024-05-01T10:00:00.500Z\"," \
  "\"url\":\"https://social.example/@ana/%u\",\"content\":\"<p>hola #demo</p>\"," \
  "\"account\":{\"id\":\"7\",\"username\":\"ana\",\"acct\":\"ana\",\"display_name\":\"Ana\"," \
  "\"url\":\"https://social.example/@ana\"},\"media_attachments\":[],\"mentions\":[]," \
  "\"tags\":[{\"name\":\"demo\",\"url\":\"https://social.example/tags/demo\"}]}\n\n"

/* Every hashtag stream gets one post, a new one each time (Pajaro drops
 * repeated ids), and stays open. */
static void
mastodon_handler (SoupServer        *server,
                  SoupServerMessage *msg,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           data)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  guint *streams = data;
  g_autofree char *first = NULL;

  if (!g_str_equal (path, "/api/v1/streaming/hashtag"))
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }
  (*streams)++;
  first = g_strdup_printf (":)\n" STATUS_EVENT, 4200 + *streams, 4200 + *streams);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                            first, strlen (first));
}

/* ---- waiting ------------------------------------------------------------- */

static gboolean
node_up (gpointer data)
{
  return tablero_node_get_state (data) == TABLERO_NODE_STATE_UP && tablero_node_get_port (data) > 0;
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

static gboolean
summary_is (gpointer data)
{
  const char **wait = data;
  static char *last;

  if (g_strcmp0 (last, tablero_node_pane_get_contents_summary (TABLERO_NODE_PANE ((gpointer) wait[0]))) != 0)
    {
      g_free (last);
      last = g_strdup (tablero_node_pane_get_contents_summary (TABLERO_NODE_PANE ((gpointer) wait[0])));
      g_test_message ("summary: %s", last);
    }

  return g_strcmp0 (tablero_node_pane_get_contents_summary (TABLERO_NODE_PANE ((gpointer) wait[0])),
                    wait[1]) == 0;
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

  if (result->answered)
    return;
  result->answered = TRUE;
  result->body = g_strdup (jstp_dispatch_get_body_json (answer));
}

static gboolean
answered (gpointer data)
{
  return ((Answer *) data)->answered;
}

/* Scrolls the pane down to the group of its live box that comes first: the
 * collections or tracked tags, above the history plots. */
static void
scroll_to_contents (TableroNodePane *pane)
{
  GtkWidget *plot = tablero_node_pane_get_plot (pane, 0);
  GtkWidget *history = gtk_widget_get_ancestor (plot, ADW_TYPE_PREFERENCES_GROUP);
  GtkWidget *contents = gtk_widget_get_first_child (gtk_widget_get_parent (history));
  GtkWidget *scrolled = gtk_widget_get_ancestor (plot, GTK_TYPE_SCROLLED_WINDOW);
  GtkWidget *child = gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scrolled));
  graphene_point_t point;

  test_spin (300);  /* laid out with the new rows first */
  g_assert_true (gtk_widget_compute_point (contents, child, &GRAPHENE_POINT_INIT (0, 0), &point));
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled)),
                            point.y - 12);
  test_spin (300);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_posts_stored (Fixture       *f,
                   gconstpointer  data)
{
  TableroStack *stack = tablero_window_get_stack (f->window);
  GtkWidget *pane = GTK_WIDGET (tablero_window_get_node_pane (f->window));
  g_autoptr (SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSList) uris = NULL;
  g_autofree char *wrapper = g_build_filename (f->dir, "pajaro-wrapper", NULL);
  g_autofree char *script = NULL;
  g_autofree char *edge_id = NULL;
  g_autoptr (TableroEdge) edge = NULL;
  g_autoptr (GPtrArray) selection = g_ptr_array_new ();
  g_autoptr (JstpDispatch) get = NULL;
  TableroNode *pajaro, *monje;
  const char *wait[2];
  EdgeWait edge_wait;
  Answer db = { 0 };
  guint streams = 0;

  soup_server_add_handler (server, NULL, mastodon_handler, &streams, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  script = g_strdup_printf ("#!/bin/sh\nexec '%s' --mastodon-url 'http://127.0.0.1:%d' "
                            "\"$@\"\n",
                            g_getenv ("TABLERO_PAJARO"), g_uri_get_port (uris->data));
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  g_assert_true (g_file_set_contents (wrapper, script, -1, &error));
  g_assert_cmpint (g_chmod (wrapper, 0755), ==, 0);
  g_setenv ("TABLERO_PAJARO", wrapper, TRUE);

  pajaro = tablero_window_add_node (f->window, TABLERO_NODE_KIND_PAJARO, 0, 0);
  monje = tablero_window_add_node (f->window, TABLERO_NODE_KIND_MONJE, 360, 0);
  g_assert_true (test_wait_until (node_up, pajaro, TIMEOUT_MS));
  g_assert_true (test_wait_until (node_up, monje, TIMEOUT_MS));

  /* Monje's pane before the edge: no collections. */
  g_ptr_array_add (selection, monje);
  tablero_node_pane_set_selection (TABLERO_NODE_PANE (pane), selection, NULL);
  wait[0] = (const char *) pane;
  wait[1] = "0 collections · 0 documents";
  g_assert_true (test_wait_until (summary_is, wait, TIMEOUT_MS));

  edge_id = tablero_stack_new_id (stack);
  edge = tablero_edge_new (edge_id, tablero_node_get_id (pajaro), tablero_node_get_id (monje),
                           "POST", (const char * const[]) { "pajaro", "posts", "...", NULL });
  tablero_stack_add_edge (stack, edge);
  edge_wait = (EdgeWait) { f->live, edge };
  g_assert_true (test_wait_until (bridge_made, &edge_wait, TIMEOUT_MS));

  /* Tracking "demo" opens a stream, which delivers one post. The bridge
   * may bind a little after it is made: track again until Monje has it. */
  wait[1] = "1 collection · 1 document";
  for (int attempt = 0; attempt < 10 && !summary_is (wait); attempt++)
    {
      g_autoptr (JstpDispatch) untrack = jstp_dispatch_new (JSTP_METHOD_DELETE,
        (const char * const[]) { "pajaro", "track", "demo", NULL });
      g_autoptr (JstpDispatch) track = jstp_dispatch_new (JSTP_METHOD_PUT,
        (const char * const[]) { "pajaro", "track", "demo", NULL });
      Answer untracked = { 0 }, tracked = { 0 };

      if (attempt > 0 && test_wait_until (summary_is, wait, 2000))
        break;
      jstp_dispatch_add_hop (untrack, "127.0.0.1", tablero_node_get_port (pajaro), "tcp");
      jstp_engine_emit (tablero_application_get_engine (app), untrack, on_answer, &untracked, NULL);
      g_assert_true (test_wait_until (answered, &untracked, TIMEOUT_MS));
      jstp_dispatch_add_hop (track, "127.0.0.1", tablero_node_get_port (pajaro), "tcp");
      jstp_engine_emit (tablero_application_get_engine (app), track, on_answer, &tracked, NULL);
      g_assert_true (test_wait_until (answered, &tracked, TIMEOUT_MS));
      g_test_message ("re-tracked: %s %s", untracked.body, tracked.body);
      g_free (untracked.body);
      g_free (tracked.body);
    }
  if (!test_wait_until (summary_is, wait, TIMEOUT_MS))
    {
      GPtrArray *output = tablero_node_link_get_output (tablero_live_stack_get_link (f->live, pajaro));

      for (guint i = 0; i < output->len; i++)
        g_test_message ("pajaro: %s", (char *) g_ptr_array_index (output, i));
      g_error ("no post in Monje: %s, %u streams",
               tablero_node_pane_get_contents_summary (TABLERO_NODE_PANE (pane)), streams);
    }
  g_assert_cmpuint (streams, >, 0);

  /* Asked directly: one document in "posts". */
  get = jstp_dispatch_new (JSTP_METHOD_GET, (const char * const[]) { "db", NULL });
  jstp_dispatch_add_hop (get, "127.0.0.1", tablero_node_get_port (monje), "tcp");
  jstp_engine_emit (tablero_application_get_engine (app), get, on_answer, &db, NULL);
  g_assert_true (test_wait_until (answered, &db, TIMEOUT_MS));
  g_assert_cmpstr (db.body, ==, "{\"collections\":[{\"name\":\"posts\",\"count\":1}]}");
  g_free (db.body);

  scroll_to_contents (TABLERO_NODE_PANE (pane));
  gui_test_save_screenshot (GTK_WIDGET (f->window), "live-monje-posts.png");

  /* Pajaro's pane: its tracked tag. */
  g_ptr_array_set_size (selection, 0);
  g_ptr_array_add (selection, pajaro);
  tablero_node_pane_set_selection (TABLERO_NODE_PANE (pane), selection, NULL);
  wait[1] = NULL;
  {
    gint64 end = g_get_monotonic_time () + TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;

    while (tablero_node_pane_get_contents_summary (TABLERO_NODE_PANE (pane)) == NULL &&
           g_get_monotonic_time () < end)
      test_spin (50);
  }
  g_assert_true (g_str_has_prefix (tablero_node_pane_get_contents_summary (TABLERO_NODE_PANE (pane)),
                                   "1 tag · "));
  scroll_to_contents (TABLERO_NODE_PANE (pane));
  gui_test_save_screenshot (GTK_WIDGET (f->window), "live-pajaro-tags.png");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *store_dir = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr (TableroStackStore) app_store = NULL;
  g_autofree char *data_dir = NULL;
  int status;

  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL &&
      g_strcmp0 (g_getenv ("GDK_BACKEND"), "broadway") != 0)
    {
      g_print ("1..0 # SKIP no display: run under xvfb-run -a\n");
      return 0;
    }
  /* The summaries are checked in English. */
  g_setenv ("LANGUAGE", "C", TRUE);
  /* Monje nodes keep their documents under the data directory: start empty. */
  data_dir = g_dir_make_tmp ("tablero-test-services-data-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_DATA_HOME", data_dir, TRUE);

  g_mkdir_with_parents (g_get_user_cache_dir (), 0700);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  store_dir = g_dir_make_tmp ("tablero-test-services-app-XXXXXX", &error);
  g_assert_no_error (error);
  store_path = g_build_filename (store_dir, "stacks.db", NULL);
  app_store = tablero_stack_store_new (store_path, &error);
  g_assert_no_error (error);
  app = tablero_application_new (G_APPLICATION_NON_UNIQUE);
  tablero_application_set_store (app, app_store);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_hold (G_APPLICATION (app));

  g_test_add ("/services-live/posts-stored", Fixture, NULL, fixture_set_up, test_posts_stored,
              fixture_tear_down);

  status = g_test_run ();
  if (!g_test_failed ())
    {
      g_autofree char *command = g_strdup_printf ("rm -rf '%s'", data_dir);

      g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL);
    }
  return status;
}
