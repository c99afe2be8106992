/* SPDX-License-Identifier: MIT */
/* fuzz-framer.c: libFuzzer target for the TCP framer.
 *
 * Each input is the byte stream a peer sends on one inbound connection: a
 * JstpTcpConnection over one end of a socketpair, fed to an engine that
 * answers GET ["echo"]. The input is written in up to four chunks (split
 * where its first bytes say), the main context running in between, so that
 * lines arrive cut in arbitrary places; then the peer half-closes. Beyond
 * "no crash", every line the engine wrote back must be valid JSON and a
 * dispatch our own decoder accepts.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jstp-engine.h"
#include "jstp-json.h"
#include "jstp-network.h"
#include "jstp-tcp-connection.h"

/* Enough for every chunk to be read and its answers written; the loop
 * usually ends much earlier, when the connection closes. */
#define MAX_ITERATIONS 200

static JstpEngine *engine;
static JstpNetworkLimits limits;

static void
on_echo (JstpEngine         *e,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            user_data)
{
  jstp_engine_answer (e, dispatch, 200, jstp_dispatch_get_body_json (dispatch));
}

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(GError) error = NULL;

  engine = jstp_engine_new ("fuzz");
  if (jstp_engine_bind (engine, "GET", (const char *[]) { "echo", NULL },
                        on_echo, NULL, NULL, &error) == 0)
    g_error ("bind: %s", error->message);

  jstp_network_limits_init (&limits);
  limits.max_frame = 4096;
  limits.malformed_budget = 1000000;
  return 0;
}

static void
drain (int       fd,
       GString  *received)
{
  char buffer[8192];
  ssize_t n;

  while ((n = read (fd, buffer, sizeof buffer)) > 0)
    g_string_append_len (received, buffer, n);
}

static void
write_all (int           fd,
           const uint8_t *data,
           size_t        length,
           GString      *received)
{
  while (length > 0)
    {
      ssize_t n = write (fd, data, length);

      if (n < 0 && errno == EAGAIN)
        {
          /* The socket is full: let the connection read, and take what it
           * wrote so that it never waits on us. */
          g_main_context_iteration (NULL, FALSE);
          drain (fd, received);
          continue;
        }
      if (n <= 0)
        return; /* the connection closed its end */
      data += n;
      length -= n;
    }
}

static void
check_output (const GString *received)
{
  const char *p = received->str;
  const char *end = received->str + received->len;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      g_autoptr(GError) error = NULL;
      g_autoptr(JstpDispatch) d = NULL;

      /* A line cut short by the close is not a complete write. */
      if (nl == NULL)
        break;
      if (!jstp_json_scan (p, nl - p, NULL, NULL, NULL, 0, NULL, &error))
        g_error ("the engine wrote invalid JSON (%s): %.*s", error->message, (int) (nl - p), p);
      d = jstp_dispatch_parse (p, nl - p, NULL, NULL, &error);
      if (d == NULL)
        g_error ("the engine wrote a bad dispatch (%s): %.*s", error->message, (int) (nl - p), p);
      p = nl + 1;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(JstpTcpConnection) tcp = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  size_t cuts[5] = { 0, 0, 0, 0, size };
  int fds[2];
  guint i;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    g_error ("socketpair: %s", g_strerror (errno));
  fcntl (fds[1], F_SETFL, fcntl (fds[1], F_GETFL) | O_NONBLOCK);

  socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  tcp = jstp_tcp_connection_new (connection, TRUE, &limits);
  jstp_engine_add_connection (engine, JSTP_CONNECTION (tcp));
  jstp_tcp_connection_start (tcp);

  /* Chunk boundaries from the first three bytes, in order. */
  for (i = 1; i < 4; i++)
    cuts[i] = size > i - 1 ? (size_t) data[i - 1] * size / 256 : 0;
  for (i = 1; i < 4; i++)
    cuts[i] = MAX (cuts[i], cuts[i - 1]);

  for (i = 0; i < 4 && !jstp_connection_is_closed (JSTP_CONNECTION (tcp)); i++)
    {
      write_all (fds[1], data + cuts[i], cuts[i + 1] - cuts[i], received);
      for (guint j = 0; j < 4; j++)
        g_main_context_iteration (NULL, FALSE);
      drain (fds[1], received);
    }
  shutdown (fds[1], SHUT_WR);

  for (i = 0; i < MAX_ITERATIONS && !jstp_connection_is_closed (JSTP_CONNECTION (tcp)); i++)
    {
      g_main_context_iteration (NULL, FALSE);
      drain (fds[1], received);
    }
  if (!jstp_connection_is_closed (JSTP_CONNECTION (tcp)))
    jstp_connection_close (JSTP_CONNECTION (tcp));
  drain (fds[1], received);
  close (fds[1]);

  /* Let the engine finish with the connection (closed handlers, idles). */
  for (i = 0; i < MAX_ITERATIONS && g_main_context_iteration (NULL, FALSE); i++)
    ;

  /* To see what a reproducer made the engine say. */
  if (g_getenv ("JSTP_FUZZ_PRINT") != NULL)
    fprintf (stderr, "%s", received->str);
  check_output (received);
  return 0;
}
