/* SPDX-License-Identifier: MIT */
#include <glib/gstdio.h>

#include "gui-test-utils.h"

void
gui_test_show_window (GtkWindow *window,
                      int        width,
                      int        height)
{
  gtk_window_set_default_size (window, width, height);
  gtk_window_present (window);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
}

GtkWidget *
gui_test_find_descendant (GtkWidget *root,
                          GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = gui_test_find_descendant (child, type);

      if (found)
        return found;
    }
  return NULL;
}

char *
gui_test_artifact_path (const char *name)
{
  const char *dir = g_getenv ("TEST_ARTIFACTS_DIR");

  if (dir == NULL || *dir == '\0')
    dir = ".";
  g_mkdir_with_parents (dir, 0755);
  return g_build_filename (dir, name, NULL);
}

GdkTexture *
gui_test_render_widget (GtkWidget *widget)
{
  int w, h;
  g_autoptr (GdkPaintable) paintable = NULL;
  GtkSnapshot *snapshot;
  g_autoptr (GskRenderNode) node = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));

  /* Laid out and drawn first: a widget with a pending resize has no
   * allocation to draw. */
  gtk_test_widget_wait_for_draw (GTK_WIDGET (gtk_widget_get_native (widget)));
  w = gtk_widget_get_width (widget);
  h = gtk_widget_get_height (widget);
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
}

void
gui_test_save_screenshot (GtkWidget  *widget,
                          const char *name)
{
  g_autoptr (GdkTexture) texture = gui_test_render_widget (widget);
  g_autofree char *path = gui_test_artifact_path (name);

  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

static gboolean
window_ready (gpointer data)
{
  return !tablero_window_is_busy (data) && tablero_window_get_stack (data) != NULL;
}

void
gui_test_live_window_open (GuiTestLiveWindow  *f,
                           TableroApplication *app)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("tablero-test-live-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "stacks.db", NULL);
  f->store = tablero_stack_store_new (f->path, &error);
  g_assert_no_error (error);
  f->window = tablero_window_new (app, f->store);
  gui_test_show_window (GTK_WINDOW (f->window), 1280, 800);
  g_assert_true (test_wait_until (window_ready, f->window, 5000));
  f->live = tablero_window_get_live (f->window);
  g_assert_nonnull (f->live);
}

void
gui_test_live_window_close (GuiTestLiveWindow *f)
{
  TableroWindow *window = f->window;

  /* Closing waits for the last save; destroy only if it never comes. */
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_close (GTK_WINDOW (window));
  for (int i = 0; i < 500 && window != NULL; i++)
    test_spin (10);
  if (window != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (window), (gpointer *) &window);
      gtk_window_destroy (GTK_WINDOW (window));
    }
  g_clear_object (&f->store);
  g_remove (f->path);
  g_rmdir (f->dir);
  g_clear_pointer (&f->path, g_free);
  g_clear_pointer (&f->dir, g_free);
}
