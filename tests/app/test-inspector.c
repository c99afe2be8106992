/* test-inspector.c: the inspector, the composer and the key manager in the
 * real window, over the engine the application embeds
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "jstp-dispatch.h"
#include "tablero-application.h"
#include "tablero-composer.h"
#include "tablero-dispatch-item.h"
#include "tablero-inspector.h"
#include "tablero-keys-dialog.h"
#include "tablero-window.h"

#include "gui-test-utils.h"

static TableroApplication *app;

/* ---- helpers ------------------------------------------------------------- */

typedef struct
{
  char              *dir;
  TableroStackStore *store;
  TableroWindow     *window;
  TableroInspector  *inspector;
  TableroComposer   *composer;
  JstpEngine        *engine;
  guint64            echo_binding;
} Fixture;

static gboolean
window_ready (gpointer data)
{
  return !tablero_window_is_busy (data) && tablero_window_get_stack (data) != NULL;
}

/* GET ["test", "echo"] answers 200 with its body wrapped. */
static void
on_echo (JstpEngine         *engine,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            data)
{
  const char *body = jstp_dispatch_get_body_json (dispatch);
  g_autofree char *answer = g_strdup_printf ("{\"echo\":%s}", body ? body : "null");

  jstp_engine_answer (engine, dispatch, 200, answer);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  f->dir = g_dir_make_tmp ("tablero-test-inspector-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (f->dir, "stacks.db", NULL);
  f->store = tablero_stack_store_new (path, &error);
  g_assert_no_error (error);
  f->window = tablero_window_new (app, f->store);
  gui_test_show_window (GTK_WINDOW (f->window), 1280, 800);
  g_assert_true (test_wait_until (window_ready, f->window, 5000));

  f->inspector = TABLERO_INSPECTOR (gui_test_find_descendant (GTK_WIDGET (f->window),
                                                               TABLERO_TYPE_INSPECTOR));
  f->composer = TABLERO_COMPOSER (gui_test_find_descendant (GTK_WIDGET (f->window),
                                                             TABLERO_TYPE_COMPOSER));
  g_assert_nonnull (f->inspector);
  g_assert_nonnull (f->composer);
  f->engine = tablero_application_get_engine (app);
  g_assert_true (tablero_inspector_get_engine (f->inspector) == f->engine);
  tablero_inspector_clear (f->inspector);

  f->echo_binding = jstp_engine_bind (f->engine, "GET", (const char *[]) { "test", "echo", NULL },
                                      on_echo, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  jstp_engine_release (f->engine, f->echo_binding);
  g_object_add_weak_pointer (G_OBJECT (f->window), (gpointer *) &f->window);
  gtk_window_destroy (GTK_WINDOW (f->window));
  for (int i = 0; i < 200 && f->window != NULL; i++)
    test_spin (10);
  g_clear_object (&f->store);
  if (f->dir)
    {
      g_autofree char *cmd = NULL;
      GDir *d = g_dir_open (f->dir, 0, NULL);
      const char *name;

      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *p = g_build_filename (f->dir, name, NULL);
          g_remove (p);
        }
      g_clear_pointer (&d, g_dir_close);
      g_rmdir (f->dir);
      g_free (f->dir);
    }
}

typedef struct {
  guint status;
  guint n;
} Answer;

static void
on_answer (JstpEngine   *engine,
           JstpDispatch *answer,
           gpointer      data)
{
  Answer *a = data;

  a->status = jstp_dispatch_get_status (answer);
  a->n++;
}

static gboolean
answered (gpointer data)
{
  return ((Answer *) data)->n > 0;
}

static void
emit_get (Fixture    *f,
          const char *resource_json,
          Answer     *answer)
{
  g_autoptr (JstpDispatch) d = jstp_dispatch_new (JSTP_METHOD_GET, (const char *[]) { "x", NULL });

  g_assert_true (jstp_dispatch_set_resource_json (d, resource_json, NULL));
  jstp_engine_emit (f->engine, d, answer ? on_answer : NULL, answer, NULL);
  if (answer)
    g_assert_true (test_wait_until (answered, answer, 5000));
}

static TableroDispatchItem *
find_request (GListModel *model,
              const char *method,
              const char *resource_json)
{
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (TableroDispatchItem) item = g_list_model_get_item (model, i);
      JstpDispatch *d = tablero_dispatch_item_get_dispatch (item);

      if (jstp_dispatch_get_morphology (d) == JSTP_MORPHOLOGY_REGULAR &&
          g_str_equal (jstp_method_to_string (jstp_dispatch_get_method (d)), method) &&
          g_str_equal (jstp_dispatch_get_resource_json (d), resource_json))
        return item;  /* the model keeps it alive */
    }
  return NULL;
}

static gboolean
has_rows (gpointer data)
{
  Fixture *f = data;
  return g_list_model_get_n_items (tablero_inspector_get_history (f->inspector)) > 0;
}

/* ---- inspector ----------------------------------------------------------- */

/* Rows appear on their own (the 100 ms tick), with the answer's status and
 * the latency on the request's row. */
static void
test_rows_and_answers (Fixture       *f,
                       gconstpointer  data)
{
  Answer a = { 0 };
  TableroDispatchItem *request, *answer_row = NULL;
  GListModel *history = tablero_inspector_get_history (f->inspector);

  emit_get (f, "[\"test\",\"echo\"]", &a);
  g_assert_cmpuint (a.status, ==, 200);
  g_assert_true (test_wait_until (has_rows, f, 2000));
  test_spin (150);

  request = find_request (history, "GET", "[\"test\",\"echo\"]");
  g_assert_nonnull (request);
  g_assert_cmpuint (tablero_dispatch_item_get_status (request), ==, 200);
  g_assert_cmpint (tablero_dispatch_item_get_latency (request), >=, 0);
  g_assert_cmpint (tablero_dispatch_item_get_direction (request), ==, TABLERO_DIRECTION_LOCAL);
  g_assert_cmpint (tablero_dispatch_item_get_security (request) & JSTP_SECURITY_SIGNED, ==, 0);

  for (guint i = 0; i < g_list_model_get_n_items (history); i++)
    {
      g_autoptr (TableroDispatchItem) item = g_list_model_get_item (history, i);

      if (jstp_dispatch_get_morphology (tablero_dispatch_item_get_dispatch (item)) ==
          JSTP_MORPHOLOGY_ANSWER)
        answer_row = item;
    }
  g_assert_nonnull (answer_row);
  g_assert_cmpuint (tablero_dispatch_item_get_status (answer_row), ==, 200);
}

static guint
n_visible (Fixture *f)
{
  return g_list_model_get_n_items (tablero_inspector_get_visible (f->inspector));
}

static void
test_filters (Fixture       *f,
              gconstpointer  data)
{
  Answer a = { 0 }, b = { 0 };
  GtkWidget *pattern_entry;

  emit_get (f, "[\"test\",\"echo\"]", &a);
  emit_get (f, "[\"other\",\"thing\"]", &b);   /* nobody bound: 404 */
  tablero_inspector_flush (f->inspector);
  g_assert_cmpuint (n_visible (f), >=, 4);

  /* Endpoint pattern. */
  g_assert_true (tablero_inspector_set_pattern (f->inspector, "GET [\"test\", \"*\"]"));
  g_assert_cmpuint (n_visible (f), ==, 1);
  g_assert_true (tablero_inspector_set_pattern (f->inspector, "GET [\"...\"]"));
  g_assert_cmpuint (n_visible (f), ==, 2);
  g_assert_true (tablero_inspector_set_pattern (f->inspector, "POST [\"test\", \"echo\"]"));
  g_assert_cmpuint (n_visible (f), ==, 0);
  g_assert_false (tablero_inspector_set_pattern (f->inspector, "GET [\"test\""));
  pattern_entry = gui_test_find_descendant (GTK_WIDGET (f->inspector), GTK_TYPE_ENTRY);
  g_assert_true (gtk_widget_has_css_class (pattern_entry, "error"));
  g_assert_true (tablero_inspector_set_pattern (f->inspector, ""));
  g_assert_false (gtk_widget_has_css_class (pattern_entry, "error"));

  /* Regular expressions over the whole dispatch. */
  g_assert_true (tablero_inspector_set_search (f->inspector, "\"oth[e]r\""));
  g_assert_cmpuint (n_visible (f), ==, 1);
  g_assert_true (tablero_inspector_set_search (f->inspector, "^\\{.*\"echo\""));
  g_assert_cmpuint (n_visible (f), >=, 1);
  g_assert_true (tablero_inspector_set_search (f->inspector, "no such text"));
  g_assert_cmpuint (n_visible (f), ==, 0);
  g_assert_false (tablero_inspector_set_search (f->inspector, "(unclosed"));
  g_assert_true (tablero_inspector_set_search (f->inspector, ""));
  g_assert_cmpuint (n_visible (f), >=, 4);

  /* A peer nobody talked to hides everything; none shows all again. */
  tablero_inspector_set_peers (f->inspector, (const char *[]) { "10.9.9.9:1", NULL });
  g_assert_cmpuint (n_visible (f), ==, 0);
  tablero_inspector_set_peers (f->inspector, NULL);
  g_assert_cmpuint (n_visible (f), >=, 4);
}

static void
test_pause_clear (Fixture       *f,
                  gconstpointer  data)
{
  Answer a = { 0 }, b = { 0 };
  guint before;

  emit_get (f, "[\"test\",\"echo\"]", &a);
  tablero_inspector_flush (f->inspector);
  before = g_list_model_get_n_items (tablero_inspector_get_history (f->inspector));
  g_assert_cmpuint (before, >=, 2);

  tablero_inspector_set_paused (f->inspector, TRUE);
  emit_get (f, "[\"test\",\"echo\"]", &b);
  test_spin (250);
  tablero_inspector_flush (f->inspector);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_inspector_get_history (f->inspector)), ==, before);

  tablero_inspector_set_paused (f->inspector, FALSE);
  emit_get (f, "[\"test\",\"echo\"]", &b);
  tablero_inspector_flush (f->inspector);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_inspector_get_history (f->inspector)), >, before);

  tablero_inspector_clear (f->inspector);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_inspector_get_history (f->inspector)), ==, 0);
}

static void
test_export_and_record (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "out.jsonl", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  Answer a = { 0 };
  guint n_lines = 0;

  tablero_inspector_set_recording (f->inspector, TRUE);
  emit_get (f, "[\"test\",\"echo\"]", &a);
  tablero_inspector_flush (f->inspector);
  tablero_inspector_set_recording (f->inspector, FALSE);
  g_assert_cmpint (tablero_stack_store_count_dispatches (f->store, NULL, &error) +
                   tablero_stack_store_count_dispatches (f->store,
                                                         tablero_stack_get_name (tablero_window_get_stack (f->window)),
                                                         NULL),
                   >=, 2);
  g_assert_no_error (error);

  g_assert_true (tablero_inspector_export (f->inspector, file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_true (g_str_has_suffix (contents, "\n"));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    {
      g_autoptr (JstpDispatch) d = jstp_dispatch_parse (lines[i], strlen (lines[i]), NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (d);
      n_lines++;
    }
  g_assert_cmpuint (n_lines, ==, n_visible (f));
  g_assert_cmpuint (n_lines, >=, 2);
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
is_set (gpointer data)
{
  return *(gboolean *) data;
}

/* A burst bigger than the history: the ring keeps the newest, and the main
 * loop goes on serving other sources while the rows come in. */
static void
test_burst_bounded (Fixture       *f,
                    gconstpointer  data)
{
  gboolean idle_ran = FALSE;
  GListModel *history = tablero_inspector_get_history (f->inspector);
  g_autoptr (TableroDispatchItem) last = NULL;

  tablero_inspector_set_history_size (f->inspector, 1000);
  for (guint i = 0; i < 5000; i++)
    {
      g_autofree char *resource = g_strdup_printf ("[\"burst\",%u]", i);
      emit_get (f, resource, NULL);
    }
  g_idle_add (set_flag, &idle_ran);
  g_assert_true (test_wait_until (is_set, &idle_ran, 2000));
  test_spin (300);
  g_assert_cmpuint (g_list_model_get_n_items (history), ==, 1000);
  /* The newest burst dispatch is kept (the status reporter may add its own
   * after it). */
  for (guint i = 1000; i-- > 0 && last == NULL;)
    {
      g_autoptr (TableroDispatchItem) item = g_list_model_get_item (history, i);

      if (g_str_has_prefix (jstp_dispatch_get_resource_json (tablero_dispatch_item_get_dispatch (item)),
                            "[\"burst\""))
        last = g_steal_pointer (&item);
    }
  g_assert_nonnull (last);
  g_assert_cmpstr (jstp_dispatch_get_resource_json (tablero_dispatch_item_get_dispatch (last)),
                   ==, "[\"burst\",4999]");
  tablero_inspector_set_history_size (f->inspector, 10000);
}

static void
test_screenshot_inspector (Fixture       *f,
                           gconstpointer  data)
{
  GtkWidget *paned = gui_test_find_descendant (GTK_WIDGET (f->window), GTK_TYPE_PANED);
  GtkStack *stack = GTK_STACK (gtk_widget_get_ancestor (GTK_WIDGET (f->inspector), GTK_TYPE_STACK));
  GtkColumnView *view = GTK_COLUMN_VIEW (gui_test_find_descendant (GTK_WIDGET (f->inspector),
                                                          GTK_TYPE_COLUMN_VIEW));
  Answer a = { 0 }, b = { 0 };

  gtk_stack_set_visible_child (stack, GTK_WIDGET (f->inspector));
  gtk_paned_set_position (GTK_PANED (paned), 380);
  test_spin (500);
  emit_get (f, "[\"test\",\"echo\"]", &a);
  emit_get (f, "[\"users\",\"ana\"]", &b);
  tablero_inspector_flush (f->inspector);
  gtk_selection_model_select_item (gtk_column_view_get_model (view), 0, TRUE);
  gui_test_save_screenshot (GTK_WIDGET (f->window), "inspector.png");
}

/* ---- composer ------------------------------------------------------------ */

static gboolean
composer_answered (gpointer data)
{
  TableroComposer *c = data;
  return tablero_composer_get_n_sent (c) > 0 && tablero_composer_get_sent_status (c, 0) != 0;
}

static void
test_composer_send (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  GtkWidget *paned = gui_test_find_descendant (GTK_WIDGET (f->window), GTK_TYPE_PANED);
  GtkStack *stack = GTK_STACK (gtk_widget_get_ancestor (GTK_WIDGET (f->composer), GTK_TYPE_STACK));

  gtk_stack_set_visible_child (stack, GTK_WIDGET (f->composer));
  gtk_paned_set_position (GTK_PANED (paned), 420);
  test_spin (500);  /* the crossfade */

  g_assert_cmpuint (tablero_composer_get_n_targets (f->composer), >=, 1);
  tablero_composer_set_method (f->composer, "GET");
  tablero_composer_set_resource (f->composer, "[\"test\", \"echo\"]");
  tablero_composer_set_body (f->composer, "{\"hello\": [1, 2, 3]}");
  tablero_composer_set_target (f->composer, 0);
  g_assert_null (tablero_composer_get_problem (f->composer));
  g_assert_true (tablero_composer_get_can_send (f->composer));
  g_assert_true (tablero_composer_send (f->composer, &error));
  g_assert_no_error (error);
  g_assert_true (test_wait_until (composer_answered, f->composer, 5000));
  g_assert_cmpuint (tablero_composer_get_sent_status (f->composer, 0), ==, 200);
  g_assert_cmpint (tablero_composer_get_sent_latency (f->composer, 0), >=, 0);
  g_assert_cmpstr (tablero_composer_get_sent_answer_body (f->composer, 0), ==,
                   "{\"echo\":{\"hello\":[1,2,3]}}");

  /* Sent again from the list. */
  g_assert_true (tablero_composer_resend (f->composer, 0, &error));
  g_assert_cmpuint (tablero_composer_get_n_sent (f->composer), ==, 2);
  g_assert_true (test_wait_until (composer_answered, f->composer, 5000));

  /* Invalid JSON: the scanner's message, and no Send. */
  tablero_composer_set_body (f->composer, "{\"hello\": ");
  g_assert_nonnull (tablero_composer_get_problem (f->composer));
  g_assert_true (g_str_has_prefix (tablero_composer_get_problem (f->composer), "Body"));
  g_assert_false (tablero_composer_get_can_send (f->composer));
  gui_test_save_screenshot (GTK_WIDGET (f->window), "composer.png");
  tablero_composer_set_resource (f->composer, "[\"test\", ");
  g_assert_true (g_str_has_prefix (tablero_composer_get_problem (f->composer), "Resource"));
  tablero_composer_set_resource (f->composer, "{\"a\": 1}");
  g_assert_nonnull (tablero_composer_get_problem (f->composer));
  tablero_composer_set_resource (f->composer, "[\"test\", \"echo\"]");
  tablero_composer_set_body (f->composer, "");
  g_assert_true (tablero_composer_get_can_send (f->composer));
}

static gboolean
stream_received (gpointer data)
{
  return tablero_composer_get_stream_received (data, 0) > 0;
}

static void
test_composer_bind (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JstpDispatch) post = jstp_dispatch_new (JSTP_METHOD_POST,
                                                     (const char *[]) { "chat", "room1", NULL });

  tablero_composer_set_method (f->composer, "BIND");
  tablero_composer_set_resource (f->composer, "POST [\"chat\", \"*\"]");
  tablero_composer_set_body (f->composer, "");
  tablero_composer_set_target (f->composer, 0);
  g_assert_null (tablero_composer_get_problem (f->composer));
  g_assert_true (tablero_composer_send (f->composer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tablero_composer_get_n_streams (f->composer), ==, 1);

  g_assert_true (jstp_dispatch_set_body_json (post, "{\"text\":\"hola\"}", NULL));
  jstp_engine_emit (f->engine, post, NULL, NULL, NULL);
  g_assert_true (test_wait_until (stream_received, f->composer, 5000));
  g_assert_cmpuint (tablero_composer_get_stream_received (f->composer, 0), ==, 1);
  gui_test_save_screenshot (GTK_WIDGET (tablero_composer_get_stream_window (f->composer, 0)),
                            "bind-stream.png");

  /* Closing the stream releases the subscription. */
  gtk_window_close (tablero_composer_get_stream_window (f->composer, 0));
  test_spin (50);
  g_assert_cmpuint (tablero_composer_get_n_streams (f->composer), ==, 0);
  jstp_engine_emit (f->engine, post, NULL, NULL, NULL);
  test_spin (50);
}

/* ---- keys ---------------------------------------------------------------- */

static void
test_keys_dialog (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  TableroKeysDialog *dialog = tablero_keys_dialog_new (GTK_WINDOW (f->window));
  g_autoptr (JstpKey) key = NULL;
  g_autoptr (JstpKey) other = jstp_key_generate ();
  g_autofree char *card = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *peer_id = NULL;
  JstpKey *peer;

  /* Cheap key derivation: the test is about the dialog. */
  jstp_keyring_set_kdf_limits (tablero_keys_dialog_get_keyring (), 1, 8192);
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_cmpuint (tablero_keys_dialog_get_n_rows (dialog), ==, 0);

  key = tablero_keys_dialog_generate (dialog, "Ana’s laptop", "correct horse", &error);
  g_assert_no_error (error);
  g_assert_nonnull (key);
  fingerprint = jstp_key_dup_fingerprint (key);
  g_assert_cmpuint (tablero_keys_dialog_get_n_rows (dialog), ==, 1);
  g_assert_cmpstr (tablero_keys_dialog_get_shown_fingerprint (dialog, jstp_key_get_id (key)), ==,
                   fingerprint);

  jstp_key_set_name (other, "bruno");
  card = jstp_key_to_public_json (other);
  peer = tablero_keys_dialog_import (dialog, "Bruno", card, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peer);
  g_assert_cmpuint (tablero_keys_dialog_get_n_rows (dialog), ==, 2);
  /* Trusting is the row's switch. */
  peer_id = g_strdup (jstp_key_get_id (peer));
  g_assert_false (jstp_keyring_is_trusted (tablero_keys_dialog_get_keyring (), peer_id));
  gtk_switch_set_active (GTK_SWITCH (gui_test_find_descendant (GTK_WIDGET (dialog),
                                                               GTK_TYPE_SWITCH)), TRUE);
  g_assert_true (jstp_keyring_is_trusted (tablero_keys_dialog_get_keyring (), peer_id));

  /* The same peer twice is refused. */
  g_assert_null (tablero_keys_dialog_import (dialog, "Bruno", card, &error));
  g_assert_nonnull (error);

  gui_test_save_screenshot (GTK_WIDGET (dialog), "keys-dialog.png");
  gtk_window_destroy (GTK_WINDOW (dialog));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *keys_dir = NULL;
  g_autofree char *store_dir = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr (TableroStackStore) app_store = NULL;
  int status;

  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL &&
      g_strcmp0 (g_getenv ("GDK_BACKEND"), "broadway") != 0)
    {
      g_print ("1..0 # SKIP no display: run under xvfb-run -a\n");
      return 0;
    }

  /* A throwaway keyring: never the user's. */
  keys_dir = g_dir_make_tmp ("tablero-test-keys-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("JSTP_KEYS_DIR", keys_dir, TRUE);

  g_mkdir_with_parents (g_get_user_cache_dir (), 0700);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  store_dir = g_dir_make_tmp ("tablero-test-app-XXXXXX", &error);
  g_assert_no_error (error);
  store_path = g_build_filename (store_dir, "stacks.db", NULL);
  app_store = tablero_stack_store_new (store_path, &error);
  g_assert_no_error (error);
  app = tablero_application_new (G_APPLICATION_NON_UNIQUE);
  tablero_application_set_store (app, app_store);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_hold (G_APPLICATION (app));

#define ADD(path, func) \
  g_test_add ("/inspector/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("rows-and-answers", test_rows_and_answers);
  ADD ("filters", test_filters);
  ADD ("pause-clear", test_pause_clear);
  ADD ("export-and-record", test_export_and_record);
  ADD ("burst-bounded", test_burst_bounded);
  ADD ("screenshot", test_screenshot_inspector);
  ADD ("composer-send", test_composer_send);
  ADD ("composer-bind", test_composer_bind);
  ADD ("keys-dialog", test_keys_dialog);
#undef ADD

  status = g_test_run ();

  g_application_release (G_APPLICATION (app));
  g_clear_object (&app);
  g_clear_object (&app_store);
  return status;
}
