/* SPDX-License-Identifier: MIT */
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
