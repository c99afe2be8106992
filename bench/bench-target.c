/* SPDX-License-Identifier: MIT */
/* bench-target.c: the engine bench-load measures, alone in its process so
 * that its memory and CPU can be read from /proc.
 *
 * An engine with its network, listening on loopback, that answers
 * GET ["bench","echo"] with the request's body. Fan-out needs nothing of
 * its own: subscribers BIND POST ["bench","fan","..."] over their
 * connections and the publisher's POSTs reach them as channels.
 *
 * Prints one line with its ports, then runs until SIGINT or SIGTERM:
 *   bench-target listening: tcp 127.0.0.1:41234 ws 127.0.0.1:41235
 *
 * Usage: bench-target [tcp-port [ws-port]]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <glib-unix.h>

#include "jstp-engine.h"
#include "jstp-network.h"

static void
on_echo (JstpEngine         *engine,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            user_data)
{
  jstp_engine_answer (engine, dispatch, 200, jstp_dispatch_get_body_json (dispatch));
}

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(JstpEngine) engine = NULL;
  g_autoptr(JstpNetwork) network = NULL;
  g_autoptr(GError) error = NULL;
  const char *echo[] = { "bench", "echo", NULL };
  guint16 tcp_port = argc > 1 ? (guint16) atoi (argv[1]) : 0;
  guint16 ws_port = argc > 2 ? (guint16) atoi (argv[2]) : 0;
  struct rlimit files;

  /* The idle-connection scenario opens a thousand sockets. */
  if (getrlimit (RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max)
    {
      files.rlim_cur = files.rlim_max;
      setrlimit (RLIMIT_NOFILE, &files);
    }

  loop = g_main_loop_new (NULL, FALSE);
  engine = jstp_engine_new ("bench-target");
  network = jstp_network_new (engine);

  if (jstp_engine_bind (engine, "GET", echo, on_echo, NULL, NULL, &error) == 0 ||
      !jstp_network_listen (network, "tcp", "127.0.0.1", tcp_port, &error) ||
      !jstp_network_listen (network, "ws", "127.0.0.1", ws_port, &error))
    {
      g_printerr ("bench-target: %s\n", error->message);
      return EXIT_FAILURE;
    }

  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);

  printf ("bench-target listening: tcp 127.0.0.1:%u ws 127.0.0.1:%u\n",
          jstp_network_get_port (network, "tcp"), jstp_network_get_port (network, "ws"));
  fflush (stdout);

  g_main_loop_run (loop);

  jstp_network_close (network);
  return EXIT_SUCCESS;
}
