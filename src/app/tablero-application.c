/* tablero-application.c: the Tablero application
 *
 * SPDX-License-Identifier: MIT
 *
 * Owns the stack database, shared by all windows, and the app-wide actions
 * and keyboard shortcuts. libadwaita loads style.css and GTK the
 * gtk/help-overlay.ui shortcuts window from the resource base path.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tablero-application.h"
#include "tablero-window.h"

struct _TableroApplication
{
  AdwApplication     parent_instance;

  TableroStackStore *store;
  GError            *store_error;

  /* The engine Tablero embeds: it talks to every node of the stack. */
  JstpEngine        *engine;
  JstpNetwork       *network;
  JstpStatusReporter *reporter;
};

G_DEFINE_FINAL_TYPE (TableroApplication, tablero_application, ADW_TYPE_APPLICATION)

TableroStackStore *
tablero_application_get_store (TableroApplication  *self,
                               const GError       **error)
{
  g_return_val_if_fail (TABLERO_IS_APPLICATION (self), NULL);

  if (error != NULL)
    *error = self->store_error;
  return self->store;
}

void
tablero_application_set_store (TableroApplication *self,
                               TableroStackStore  *store)
{
  g_return_if_fail (TABLERO_IS_APPLICATION (self));
  g_return_if_fail (store == NULL || TABLERO_IS_STACK_STORE (store));

  g_set_object (&self->store, store);
  g_clear_error (&self->store_error);
}

static TableroWindow *
active_window (TableroApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  return TABLERO_IS_WINDOW (window) ? TABLERO_WINDOW (window) : NULL;
}

static void
action_quit (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  TableroApplication *self = user_data;
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Closing (not destroying) lets each window save its stack first. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
}

static void
action_about (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  TableroApplication *self = user_data;
  const char *developers[] = { _("The Tablero developers"), NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (GTK_APPLICATION (self)),
                        "modal", TRUE,
                        "application-name", _("Tablero"),
                        "application-icon", APP_ID,
                        "developer-name", _("The Tablero developers"),
                        "developers", developers,
                        "version", PACKAGE_VERSION,
                        "comments", _("Design, run and watch stacks of JSTP engines: place "
                                      "engines, document stores and social streams on a "
                                      "canvas, connect them and follow their load live."),
                        "license-type", GTK_LICENSE_MIT_X11,
                        /* TRANSLATORS: your name and e-mail, one translator a line */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
action_new_stack (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  TableroApplication *self = user_data;
  TableroWindow *window = active_window (self);

  if (window == NULL)
    {
      window = tablero_window_new (self, NULL);
      gtk_window_present (GTK_WINDOW (window));
    }
  tablero_window_new_stack (window);
}

static const GActionEntry app_actions[] = {
  { "quit", action_quit },
  { "about", action_about },
  { "new-stack", action_new_stack },
};

static void
tablero_application_startup (GApplication *application)
{
  TableroApplication *self = TABLERO_APPLICATION (application);
  static const struct { const char *action; const char *accels[3]; } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.new-stack", { "<Control>n", NULL } },
    { "win.open-stack", { "<Control>o", NULL } },
    { "win.undo", { "<Control>z", NULL } },
    { "win.redo", { "<Control><Shift>z", "<Control>y", NULL } },
    { "win.find", { "<Control>f", NULL } },
    { "win.show-details", { "F9", NULL } },
    { "win.show-help-overlay", { "<Control>question", NULL } },
  };

  G_APPLICATION_CLASS (tablero_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action,
                                           accels[i].accels);

  if (self->store == NULL && self->store_error == NULL)
    {
      g_autofree char *path = tablero_stack_store_get_default_path ();

      self->store = tablero_stack_store_new (path, &self->store_error);
      if (self->store == NULL)
        g_warning ("Could not open the stack database %s: %s", path, self->store_error->message);
    }
}

static void
tablero_application_activate (GApplication *application)
{
  TableroApplication *self = TABLERO_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  /* The first window of a first start opens the demo stack. */
  if (window == NULL)
    window = g_object_new (TABLERO_TYPE_WINDOW,
                           "application", self,
                           "store", self->store,
                           "demo-when-empty", TRUE,
                           NULL);
  gtk_window_present (window);
}

static void
tablero_application_shutdown (GApplication *application)
{
  TableroApplication *self = TABLERO_APPLICATION (application);

  G_APPLICATION_CLASS (tablero_application_parent_class)->shutdown (application);

  g_clear_object (&self->reporter);
  if (self->network)
    jstp_network_close (self->network);
}

static void
start_engine (TableroApplication *self)
{
  g_autoptr(GError) error = NULL;

  self->engine = jstp_engine_new ("tablero");
  jstp_engine_set_kind (self->engine, "tablero");
  self->network = jstp_network_new (self->engine);
  /* Loopback only, on free ports: nodes reach Tablero, the world does not. */
  if (!jstp_network_listen (self->network, "tcp", "127.0.0.1", 0, &error) ||
      !jstp_network_listen (self->network, "ws", "127.0.0.1", 0, &error))
    g_warning ("The embedded engine cannot listen: %s", error->message);
  self->reporter = jstp_status_reporter_new (self->engine, self->network);
}

JstpEngine *
tablero_application_get_engine (TableroApplication *self)
{
  g_return_val_if_fail (TABLERO_IS_APPLICATION (self), NULL);
  return self->engine;
}

JstpNetwork *
tablero_application_get_network (TableroApplication *self)
{
  g_return_val_if_fail (TABLERO_IS_APPLICATION (self), NULL);
  return self->network;
}

static void
tablero_application_dispose (GObject *object)
{
  TableroApplication *self = TABLERO_APPLICATION (object);

  g_clear_object (&self->store);
  g_clear_error (&self->store_error);
  g_clear_object (&self->reporter);
  g_clear_object (&self->network);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (tablero_application_parent_class)->dispose (object);
}

static void
tablero_application_class_init (TableroApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = tablero_application_dispose;
  application_class->startup = tablero_application_startup;
  application_class->activate = tablero_application_activate;
  application_class->shutdown = tablero_application_shutdown;
}

static void
tablero_application_init (TableroApplication *self)
{
  start_engine (self);
}

TableroApplication *
tablero_application_new (GApplicationFlags flags)
{
  return g_object_new (TABLERO_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", flags,
                       /* Pinned, so a .Devel app id still finds style.css and the menus. */
                       "resource-base-path", "/io/github/tablero/Tablero",
                       NULL);
}
