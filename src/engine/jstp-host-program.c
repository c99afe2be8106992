/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "jstp-host-program.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#define DEFAULT_LISTEN "127.0.0.1"

void
jstp_host_program_init (JstpHostProgram               *self,
                        const JstpHostProgramDefaults *defaults)
{
  const GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &self->name, defaults->name_help, N_("NAME") },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &self->listen,
      N_("Address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)"),
      N_("ADDRESS") },
    { "tcp-port", 0, 0, G_OPTION_ARG_INT, &self->tcp_port, defaults->tcp_port_help,
      N_("PORT") },
    { "ws-port", 0, 0, G_OPTION_ARG_INT, &self->ws_port, defaults->ws_port_help, N_("PORT") },
    { "no-tcp", 0, 0, G_OPTION_ARG_NONE, &self->no_tcp,
      N_("Do not listen on TCP"), NULL },
    { "no-ws", 0, 0, G_OPTION_ARG_NONE, &self->no_ws,
      N_("Do not listen on WebSocket"), NULL },
    { NULL }
  };

  G_STATIC_ASSERT (sizeof entries == sizeof self->entries);

  memset (self, 0, sizeof *self);
  self->defaults = defaults;
  self->tcp_port = defaults->default_tcp_port;
  self->ws_port = defaults->default_ws_port;
  memcpy (self->entries, entries, sizeof entries);
}

void
jstp_host_program_clear (JstpHostProgram *self)
{
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->listen, g_free);
  g_clear_object (&self->network);
  if (self->line)
    g_string_free (g_steal_pointer (&self->line), TRUE);
  g_clear_pointer (&self->loop, g_main_loop_unref);
}

const GOptionEntry *
jstp_host_program_get_entries (JstpHostProgram *self)
{
  return self->entries;
}

gboolean
jstp_host_program_check_ports (JstpHostProgram  *self,
                               GError          **error)
{
  if (self->tcp_port < -1 || self->tcp_port > 65535 ||
      self->ws_port < -1 || self->ws_port > 65535)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("ports are between 0 and 65535, or -1 to disable"));
      return FALSE;
    }
  return TRUE;
}

gboolean
jstp_host_program_resolve (JstpHostProgram  *self,
                           GError          **error)
{
  if (self->listen == NULL)
    self->listen = g_strdup (DEFAULT_LISTEN);
  if (self->name == NULL)
    self->name = g_strdup (self->defaults->default_name ? self->defaults->default_name
                                                        : g_get_host_name ());
  if (self->tcp_port == JSTP_HOST_PROGRAM_PORT_UNSET)
    self->tcp_port = self->defaults->default_tcp_port;
  if (self->ws_port == JSTP_HOST_PROGRAM_PORT_UNSET)
    self->ws_port = self->defaults->default_ws_port;
  if (self->no_tcp)
    self->tcp_port = -1;
  if (self->no_ws)
    self->ws_port = -1;

  if (self->tcp_port < 0 && self->ws_port < 0)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("nothing to listen on: both TCP and WebSocket are disabled"));
      return FALSE;
    }
  return TRUE;
}

/* The address is in our sentence already; GIO's message repeats it. */
static const char *
listen_error_reason (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    return g_strerror (EADDRINUSE);
  return error->message;
}

static gboolean
listen_one (JstpHostProgram  *self,
            JstpNetwork      *network,
            const char       *label,
            int               port,
            GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  guint16 bound;

  if (!jstp_network_listen (network, label, self->listen, port, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   /* TRANSLATORS: for example "cannot listen on tcp
                    * 127.0.0.1:33333: Address already in use" */
                   _("cannot listen on %s %s:%d: %s"), label, self->listen, port,
                   listen_error_reason (local_error));
      return FALSE;
    }

  bound = jstp_network_get_port (network, label);
  if (strchr (self->listen, ':'))
    g_string_append_printf (self->line, " %s [%s]:%u", label, self->listen, bound);
  else
    g_string_append_printf (self->line, " %s %s:%u", label, self->listen, bound);
  return TRUE;
}

gboolean
jstp_host_program_listen (JstpHostProgram  *self,
                          JstpNetwork      *network,
                          GError          **error)
{
  g_return_val_if_fail (self->network == NULL, FALSE);

  /* Machine-read (tests, scripts, service managers, Tablero): never translated. */
  self->line = g_string_new (self->defaults->program);
  g_string_append (self->line, " listening:");

  if (self->tcp_port >= 0 && !listen_one (self, network, "tcp", self->tcp_port, error))
    return FALSE;
  if (self->ws_port >= 0 && !listen_one (self, network, "ws", self->ws_port, error))
    {
      jstp_network_close (network);
      return FALSE;
    }
  self->network = g_object_ref (network);
  return TRUE;
}

static gboolean
quit_cb (gpointer user_data)
{
  JstpHostProgram *self = user_data;

  g_log (self->defaults->log_domain, G_LOG_LEVEL_DEBUG, "stopping on a signal");
  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

void
jstp_host_program_run (JstpHostProgram *self)
{
  guint sigint_id, sigterm_id;

  g_return_if_fail (self->line != NULL);

  /* Handlers first: whoever reads the line may signal us at once. */
  self->loop = g_main_loop_new (NULL, FALSE);
  sigint_id = g_unix_signal_add (SIGINT, quit_cb, self);
  sigterm_id = g_unix_signal_add (SIGTERM, quit_cb, self);

  g_print ("%s\n", self->line->str);
  fflush (stdout);

  g_main_loop_run (self->loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
}

void
jstp_host_program_shutdown (JstpHostProgram *self)
{
  g_return_if_fail (self->network != NULL);

  jstp_network_close (self->network);
  /* Let the closes reach the peers before the objects go away; bounded,
   * since periodic sources could keep the context busy forever. */
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_clear_object (&self->network);
}
