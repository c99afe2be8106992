/* SPDX-License-Identifier: MIT */
/* What the GUI tests share: showing a window, finding a widget in it, and
 * rendering widgets to PNG in $TEST_ARTIFACTS_DIR. */
#pragma once

#include <gtk/gtk.h>

#include "tablero-application.h"
#include "tablero-window.h"
#include "test-utils.h"

G_BEGIN_DECLS

/* Gives @window a default size, presents it and waits for its first frame. */
void        gui_test_show_window     (GtkWindow  *window,
                                      int         width,
                                      int         height);

/* The first widget of @type in @root's tree, @root included; NULL when none. */
GtkWidget  *gui_test_find_descendant (GtkWidget  *root,
                                      GType       type);

/* (transfer full): @name in $TEST_ARTIFACTS_DIR (or the current directory),
 * which is created if needed. */
char       *gui_test_artifact_path   (const char *name);

/* (transfer full): @widget as on screen, after its pending frame. */
GdkTexture *gui_test_render_widget   (GtkWidget  *widget);

/* Renders @widget to the artifact @name (a PNG) and logs where. */
void        gui_test_save_screenshot (GtkWidget  *widget,
                                      const char *name);

/* A real window on a stack database of its own in a temporary directory,
 * with the live stack that runs its nodes: the fixture of the tests that
 * start engines. */
typedef struct
{
  char              *dir;
  char              *path;
  TableroStackStore *store;
  TableroWindow     *window;
  TableroLiveStack  *live;
} GuiTestLiveWindow;

void        gui_test_live_window_open  (GuiTestLiveWindow  *f,
                                        TableroApplication *app);
/* Closes the window (its children stop) and removes the database. */
void        gui_test_live_window_close (GuiTestLiveWindow  *f);

G_END_DECLS
