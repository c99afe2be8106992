/* SPDX-License-Identifier: MIT */
/* bench-load.c: load against engines over loopback, ours beside mosquitto
 * and the reference JSTP engine, in one run and one table.
 *
 * Scenarios, each against a fresh target process:
 *  - fan-out: one publisher, 1, 10 and 100 subscribers, 100-byte bodies.
 *    The publisher stamps its send time in the body; subscribers take the
 *    latency on receipt. First the publisher goes as fast as the slowest
 *    subscriber allows, with a window of messages in flight (500: mosquitto
 *    drops QoS 0 messages once 1000 wait for one client, and no target
 *    should queue without bound): delivered dispatches per second. Then it
 *    sends at a fixed, light rate, the same for every target: p50 and p99
 *    latency. JSTP targets get POST ["bench","fan",seq], subscribers BIND
 *    POST ["bench","fan","..."] (the reference only knows `*`); mosquitto
 *    gets QoS 0 PUBLISH on bench/fan/seq, subscribers on bench/fan/#.
 *  - round trips: GET ["bench","echo"] with a transaction id, answered by
 *    the target; 1 and 16 connections, one request in flight on each.
 *  - idle connections: the growth of the target's VmRSS when N idle
 *    connections are opened (MQTT clients send CONNECT; JSTP has no
 *    handshake, its connections send nothing).
 *
 * Targets: bench-target (our engine, next to this program), mosquitto on a
 * free port with a temporary configuration, and the reference engine
 * (bench/reference-target.js, node and tests/interop/node_modules).
 *
 * The client is one thread on raw sockets with JSTP's framing: writes in
 * batches, reads in big chunks. MQTT clients are libmosquitto's, driven by
 * its read and write steps from the same loop; libmosquitto reads each
 * packet in three read() calls, so fan-out is run again with MQTT on raw
 * sockets, read in chunks, and that figure goes in the details. The
 * details also give the CPU use of the target and of the client: "target
 * CPU us each" is the figure least skewed by other work on the host.
 *
 * Usage: bench-load [--quick] [--seconds S] [--targets ours,mosquitto,reference]
 *                   [--scenarios fanout,rtt,idle] [--ours-port P [--ours-pid PID]]
 *                   (--help lists the rest)
 */
#define _GNU_SOURCE             /* memmem, epoll_pwait2 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#ifdef HAVE_MOSQUITTO
#include <mosquitto.h>
#endif

#include "jstp-dispatch.h"
#include "jstp-pattern.h"

#define BODY_SIZE        100
#define STAMP_PREFIX     "{\"t\":\""
#define STAMP_T_OFFSET   6          /* 20 digits: send time, ns */
#define STAMP_S_OFFSET   33         /* 10 digits: sequence number */
#define SEQ_DIGITS       8          /* the resource element / topic level */
#define READ_BUFFER      (256 * 1024)
#define PUBLISH_BATCH    64
#define MAX_EVENTS       256
#define CONNECT_TIMEOUT  (5 * G_TIME_SPAN_SECOND)

typedef enum {
  TARGET_OURS,
  TARGET_MOSQUITTO,
  TARGET_REFERENCE,
  N_TARGETS
} TargetKind;

static const char *target_names[N_TARGETS] = { "ours", "mosquitto", "reference" };

typedef struct {
  double fan_seconds;
  double latency_seconds;
  double rtt_seconds;
  guint idle_connections;
  guint window;
  guint latency_rate;          /* deliveries per second in the paced phase */
  gboolean enabled[N_TARGETS];
  gboolean fanout, rtt, idle;
  gboolean quick;              /* a smoke run: no second runs for comparison */
  gboolean reference_ws;       /* the reference's publisher over WebSocket */
  gboolean mqtt_raw;           /* fan-out MQTT clients on raw sockets */
  gboolean mqtt_compare;       /* ... and again with libmosquitto's */
  guint16 ours_port;           /* an already running bench-target */
  GPid ours_pid;
} Settings;

static Settings settings;


/* ---- clocks and figures ------------------------------------------------- */

static inline gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Log-linear buckets, 128 per power of two: under 1% error, any value. */
#define HIST_SUB_BITS 7
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) << HIST_SUB_BITS)

typedef struct {
  guint64 *counts;
  guint64 total;
} Histogram;

static void
hist_init (Histogram *h)
{
  h->counts = g_new0 (guint64, HIST_BUCKETS);
  h->total = 0;
}

static void
hist_clear (Histogram *h)
{
  g_clear_pointer (&h->counts, g_free);
}

static inline void
hist_add (Histogram *h,
          gint64     value)
{
  guint64 v = value > 0 ? (guint64) value : 0;
  guint index;

  if (v < (1u << HIST_SUB_BITS))
    index = v;
  else
    {
      int shift = 63 - __builtin_clzll (v) - HIST_SUB_BITS;

      index = ((shift + 1) << HIST_SUB_BITS) + (guint) ((v >> shift) - (1u << HIST_SUB_BITS));
    }
  h->counts[index]++;
  h->total++;
}

/* The value at quantile @q, in ns; NAN when empty. */
static double
hist_quantile (const Histogram *h,
               double           q)
{
  guint64 rank, seen = 0;

  if (h->total == 0)
    return NAN;
  rank = (guint64) ceil (q * h->total);
  rank = CLAMP (rank, 1, h->total);
  for (guint i = 0; i < HIST_BUCKETS; i++)
    {
      seen += h->counts[i];
      if (seen >= rank)
        {
          guint group = i >> HIST_SUB_BITS, sub = i & ((1u << HIST_SUB_BITS) - 1);
          double low, width;

          if (group == 0)
            return sub;
          low = (double) ((guint64) (sub + (1u << HIST_SUB_BITS)) << (group - 1));
          width = (double) (G_GUINT64_CONSTANT (1) << (group - 1));
          return low + width / 2;
        }
    }
  return NAN;
}

/* VmRSS in KiB; -1 when unknown. */
static gint64
read_rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  const char *line;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  line = strstr (text, "\nVmRSS:");
  return line ? g_ascii_strtoll (line + 7, NULL, 10) : -1;
}

/* User plus system CPU time of a process, in seconds; -1 when unknown. */
static double
read_cpu_seconds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  /* The command name may hold spaces; fields count from after it. */
  after = strrchr (text, ')');
  if (after == NULL)
    return -1;
  fields = g_strsplit (after + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return -1;
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) /
         sysconf (_SC_CLK_TCK);
}

static double
self_cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* CPU use of the target and of this client over one measured phase. */
typedef struct {
  GPid pid;
  gint64 start_ns;
  double target_start, self_start;
} CpuMeter;

static void
cpu_meter_start (CpuMeter *m,
                 GPid      pid)
{
  m->pid = pid;
  m->start_ns = now_ns ();
  m->target_start = read_cpu_seconds (pid);
  m->self_start = self_cpu_seconds ();
}

static void
cpu_meter_stop (CpuMeter *m,
                double   *target_percent,
                double   *self_percent)
{
  double elapsed = (now_ns () - m->start_ns) / 1e9;
  double target = read_cpu_seconds (m->pid);

  *target_percent = target >= 0 && m->target_start >= 0 ?
                    100 * (target - m->target_start) / elapsed : NAN;
  *self_percent = 100 * (self_cpu_seconds () - m->self_start) / elapsed;
}

/* ---- sockets ------------------------------------------------------------ */

static void
set_nonblocking (int fd)
{
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
}

/* Connection attempts given up because the target's accept queue was
 * full (a short listen backlog): the SYN was dropped. */
static guint slow_connects;

/* A blocking TCP connection to 127.0.0.1:@port, Nagle off; -1 on failure. */
static int
tcp_connect (guint16  port,
             GError **error)
{
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port) };
  int one = 1;

  static guint n_connects;

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  /* A SYN dropped by a full accept queue is sent again only a second
   * later: connects are paced, and an attempt that takes long is
   * abandoned and made again, so that a short listen backlog does not
   * stall a burst of connects. */
  if (++n_connects % 8 == 0)
    g_usleep (1000);
  for (guint attempt = 0; attempt < 200; attempt++)
    {
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      struct pollfd pfd = { fd, POLLOUT, 0 };
      int status = 0;
      socklen_t length = sizeof status;

      if (fd < 0)
        break;
      if (connect (fd, (struct sockaddr *) &address, sizeof address) < 0 && errno != EINPROGRESS)
        {
          close (fd);
          break;
        }
      if (poll (&pfd, 1, 10) == 1 &&
          getsockopt (fd, SOL_SOCKET, SO_ERROR, &status, &length) == 0 && status == 0)
        {
          fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
          setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          return fd;
        }
      close (fd);
      if (status != 0)
        {
          errno = status;
          break;
        }
      slow_connects++;
      g_usleep (5000);
    }
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
               "connect to 127.0.0.1:%u: %s", port, g_strerror (errno));
  return -1;
}

static guint16
free_port (void)
{
  struct sockaddr_in address = { .sin_family = AF_INET };
  socklen_t length = sizeof address;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  guint16 port = 0;

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd >= 0 && bind (fd, (struct sockaddr *) &address, sizeof address) == 0 &&
      getsockname (fd, (struct sockaddr *) &address, &length) == 0)
    port = ntohs (address.sin_port);
  if (fd >= 0)
    close (fd);
  return port;
}

/* Writes all of @data to a blocking socket. */
static gboolean
write_all (int          fd,
           const void  *data,
           gsize        length,
           GError     **error)
{
  const char *p = data;

  while (length > 0)
    {
      gssize n = write (fd, p, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "write: %s", g_strerror (errno));
          return FALSE;
        }
      p += n;
      length -= n;
    }
  return TRUE;
}

/* The client side of a WebSocket opening handshake on a blocking socket. */
static gboolean
ws_handshake (int       fd,
              guint16   port,
              GError  **error)
{
  g_autofree char *request = g_strdup_printf (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", port);
  char response[4096];
  gsize length = 0;
  struct timeval timeout = { 5, 0 };

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (!write_all (fd, request, strlen (request), error))
    return FALSE;
  /* Byte by byte, so that nothing after the headers is taken. */
  while (length < sizeof response - 1)
    {
      if (read (fd, response + length, 1) != 1)
        break;
      length++;
      response[length] = '\0';
      if (length >= 4 && memcmp (response + length - 4, "\r\n\r\n", 4) == 0)
        {
          if (strncmp (response, "HTTP/1.1 101", 12) == 0)
            return TRUE;
          break;
        }
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "WebSocket handshake refused");
  return FALSE;
}

/* ---- targets ------------------------------------------------------------ */

typedef struct {
  TargetKind kind;
  GPid pid;
  gboolean external;           /* not started by us */
  int stdout_fd;
  guint16 tcp_port;
  guint16 ws_port;
  char *dir;                   /* mosquitto: its configuration */
} Target;

static char *
program_dir (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);

  return self ? g_path_get_dirname (self) : g_strdup (".");
}

static void
child_setup (gpointer data)
{
  /* No target outlives an interrupted bench. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Reads the first line a target prints, waiting up to 10 s. */
static char *
read_first_line (int      fd,
                 GError **error)
{
  GString *line = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (g_get_monotonic_time () < deadline)
    {
      GPollFD poll_fd = { fd, G_IO_IN, 0 };
      char c;

      if (g_poll (&poll_fd, 1, 100) <= 0)
        continue;
      if (read (fd, &c, 1) != 1)
        break;
      if (c == '\n')
        return g_string_free (line, FALSE);
      g_string_append_c (line, c);
    }
  g_string_free (line, TRUE);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the target never said where it listens");
  return NULL;
}

static void
target_stop (Target *target)
{
  if (target == NULL)
    return;
  if (!target->external && target->pid > 0)
    {
      int status;

      kill (target->pid, SIGTERM);
      for (int i = 0; i < 50; i++)
        {
          if (waitpid (target->pid, &status, WNOHANG) == target->pid)
            goto reaped;
          g_usleep (20000);
        }
      kill (target->pid, SIGKILL);
      waitpid (target->pid, &status, 0);
    reaped:
      g_spawn_close_pid (target->pid);
    }
  if (target->stdout_fd >= 0)
    close (target->stdout_fd);
  if (target->dir)
    {
      g_autofree char *config = g_build_filename (target->dir, "mosquitto.conf", NULL);

      g_unlink (config);
      g_rmdir (target->dir);
      g_free (target->dir);
    }
  g_free (target);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Target, target_stop)

static gboolean
spawn (Target       *target,
       char        **argv,
       gboolean      capture_stdout,
       GError      **error)
{
  GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD;

  if (!capture_stdout)
    flags |= G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL;
  return g_spawn_async_with_pipes (NULL, argv, NULL, flags, child_setup, NULL, &target->pid,
                                   NULL, capture_stdout ? &target->stdout_fd : NULL, NULL, error);
}

static Target *
target_start (TargetKind   kind,
              GError     **error)
{
  g_autoptr(Target) target = g_new0 (Target, 1);
  g_autofree char *line = NULL;

  target->kind = kind;
  target->stdout_fd = -1;

  switch (kind)
    {
    case TARGET_OURS:
      {
        g_autofree char *dir = program_dir ();
        g_autofree char *program = g_build_filename (dir, "bench-target", NULL);
        char *argv[] = { program, NULL };
        unsigned tcp = 0, ws = 0;

        if (settings.ours_port)
          {
            target->external = TRUE;
            target->pid = settings.ours_pid;
            target->tcp_port = settings.ours_port;
            return g_steal_pointer (&target);
          }
        if (!spawn (target, argv, TRUE, error) ||
            (line = read_first_line (target->stdout_fd, error)) == NULL)
          return NULL;
        if (sscanf (line, "bench-target listening: tcp 127.0.0.1:%u ws 127.0.0.1:%u",
                    &tcp, &ws) != 2)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "bench-target said: %s", line);
            return NULL;
          }
        target->tcp_port = tcp;
        target->ws_port = ws;
        break;
      }

    case TARGET_REFERENCE:
      {
        g_autofree char *node = g_find_program_in_path ("node");
        g_autofree char *script = g_build_filename (BENCH_SOURCE_DIR, "reference-target.js", NULL);
        g_autofree char *module = g_build_filename (BENCH_SOURCE_DIR, "..", "tests", "interop",
                                                    "node_modules", "jstp", NULL);
        char *argv[] = { node, script, NULL };
        unsigned tcp = 0, ws = 0;

        if (node == NULL)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "node is not installed");
            return NULL;
          }
        if (!g_getenv ("JSTP_REFERENCE_MODULES") && !g_file_test (module, G_FILE_TEST_IS_DIR))
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         "no reference engine: npm ci --prefix tests/interop");
            return NULL;
          }
        if (!spawn (target, argv, TRUE, error) ||
            (line = read_first_line (target->stdout_fd, error)) == NULL)
          return NULL;
        if (sscanf (line, "{\"tcp\":%u,\"ws\":%u", &tcp, &ws) != 2)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "reference-target said: %s", line);
            return NULL;
          }
        target->tcp_port = tcp;
        target->ws_port = ws;
        break;
      }

    case TARGET_MOSQUITTO:
      {
        g_autofree char *program = g_find_program_in_path ("mosquitto");
        g_autofree char *config = NULL;
        g_autofree char *text = NULL;
        char *argv[] = { NULL, (char *) "-c", NULL, NULL };
        gint64 deadline;

        if (program == NULL && g_file_test ("/usr/sbin/mosquitto", G_FILE_TEST_IS_EXECUTABLE))
          program = g_strdup ("/usr/sbin/mosquitto");
        if (program == NULL)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "mosquitto is not installed");
            return NULL;
          }
        target->dir = g_dir_make_tmp ("bench-load-XXXXXX", error);
        if (target->dir == NULL)
          return NULL;
        target->tcp_port = free_port ();
        config = g_build_filename (target->dir, "mosquitto.conf", NULL);
        text = g_strdup_printf ("listener %u 127.0.0.1\nallow_anonymous true\n",
                                target->tcp_port);
        if (!g_file_set_contents (config, text, -1, error))
          return NULL;
        argv[0] = program;
        argv[2] = config;
        if (!spawn (target, argv, FALSE, error))
          return NULL;
        /* Ready when it accepts a connection. */
        deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
        for (;;)
          {
            int fd = tcp_connect (target->tcp_port, NULL);

            if (fd >= 0)
              {
                close (fd);
                break;
              }
            if (g_get_monotonic_time () > deadline)
              {
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                             "mosquitto did not start on port %u", target->tcp_port);
                return NULL;
              }
            g_usleep (20000);
          }
        break;
      }

    default:
      g_assert_not_reached ();
    }
  return g_steal_pointer (&target);
}

/* ---- what travels ------------------------------------------------------- */

/* Writes @value as exactly @width decimal digits. */
static inline void
put_digits (char    *p,
            guint64  value,
            guint    width)
{
  for (guint i = width; i-- > 0;)
    {
      p[i] = '0' + value % 10;
      value /= 10;
    }
}

static inline gboolean
get_digits (const char *p,
            guint       width,
            guint64    *value)
{
  guint64 v = 0;

  for (guint i = 0; i < width; i++)
    {
      if (p[i] < '0' || p[i] > '9')
        return FALSE;
      v = v * 10 + (p[i] - '0');
    }
  *value = v;
  return TRUE;
}

/* {"t":"<send time>","s":"<sequence>","p":"xxx..."}: 100 bytes, valid
 * JSON whatever the digits (numbers could not keep leading zeros). */
static char *
body_template (void)
{
  GString *body = g_string_new (STAMP_PREFIX "00000000000000000000\","
                                "\"s\":\"0000000000\",\"p\":\"");

  while (body->len < BODY_SIZE - 2)
    g_string_append_c (body, 'x');
  g_string_append (body, "\"}");
  g_assert (body->len == BODY_SIZE);
  return g_string_free (body, FALSE);
}

static inline void
stamp_body (char    *body,
            guint64  seq)
{
  put_digits (body + STAMP_T_OFFSET, now_ns (), 20);
  put_digits (body + STAMP_S_OFFSET, seq, 10);
}

/* A dispatch as text, with `"token":[]` when it has none: the reference
 * drops dispatches without the header, and JSTP reads [] as no token.
 * Checked by our strict parser before use. */
static char *
dispatch_text (JstpDispatch *dispatch)
{
  g_autofree char *text = jstp_dispatch_to_string (dispatch);
  g_autoptr(JstpDispatch) check = NULL;
  g_autoptr(GError) error = NULL;
  char *out;

  if (jstp_dispatch_get_transaction_id (dispatch) == NULL)
    {
      text[strlen (text) - 1] = '\0';
      out = g_strconcat (text, ",\"token\":[]}", NULL);
    }
  else
    out = g_steal_pointer (&text);

  check = jstp_dispatch_parse (out, strlen (out), NULL, NULL, &error);
  if (check == NULL)
    g_error ("bench-load built an invalid dispatch (%s): %s", error->message, out);
  return out;
}

typedef struct {
  char *text;                  /* one line, without the newline */
  gsize length;
  gsize body;                  /* offset of the stamp */
  gsize seq;                   /* publish: the resource's last element */
  gsize tid;                   /* request: the transaction id's counter */
} Template;

static void
template_clear (Template *t)
{
  g_clear_pointer (&t->text, g_free);
}

static gsize
offset_of (const char *text,
           const char *needle)
{
  const char *p = strstr (text, needle);

  g_assert (p != NULL);
  return p - text;
}

static void
publish_template (Template *t)
{
  const char *resource[] = { "bench", "fan", "00000000", NULL };
  g_autoptr(JstpDispatch) dispatch = jstp_dispatch_new (JSTP_METHOD_POST, resource);
  g_autofree char *body = body_template ();

  jstp_dispatch_set_body_json (dispatch, body, NULL);
  t->text = dispatch_text (dispatch);
  t->length = strlen (t->text);
  t->body = offset_of (t->text, STAMP_PREFIX);
  t->seq = offset_of (t->text, "\"00000000\"") + 1;
}

/* GET ["bench","echo"] with token ["bench-CCC-NNNNNNNNNNNN"]: connection
 * and counter patched in, so that every request is its own transaction. */
#define TID_PREFIX "bench-000-"
#define TID_DIGITS 12

static void
request_template (Template *t)
{
  const char *resource[] = { "bench", "echo", NULL };
  g_autoptr(JstpDispatch) dispatch = jstp_dispatch_new (JSTP_METHOD_GET, resource);
  g_autofree char *body = body_template ();

  jstp_dispatch_set_body_json (dispatch, body, NULL);
  jstp_dispatch_set_token (dispatch, TID_PREFIX "000000000000", NULL);
  t->text = dispatch_text (dispatch);
  t->length = strlen (t->text);
  t->body = offset_of (t->text, STAMP_PREFIX);
  t->tid = offset_of (t->text, TID_PREFIX);
}

static char *
bind_text (TargetKind kind)
{
  /* The reference matches `*` only, and only resources of the same length. */
  const char *resource[] = { "bench", "fan", kind == TARGET_REFERENCE ? "*" : "...", NULL };
  g_autoptr(JstpPattern) pattern = jstp_pattern_new ("POST", resource, 3, JSTP_MODE_STRICT, NULL);
  g_autoptr(JstpDispatch) dispatch = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);

  return dispatch_text (dispatch);
}

/* ---- client connections ------------------------------------------------- */

typedef struct _Client Client;

typedef struct {
  Client *client;
  guint index;
  int fd;
  gboolean ws;                 /* writes are WebSocket frames */
  gboolean mqtt;               /* MQTT packets on the raw socket */
  guint8 *in;                  /* a partial line waits at the start */
  gsize in_length;
  GByteArray *out;
  gsize out_offset;
  gboolean polling_out;
  guint64 seen;                /* fan-out: messages, any phase */
  guint64 count;               /* fan-out: messages of this phase */
  guint64 progress;            /* fan-out: 1 + the highest sequence received */
  guint64 requests;            /* round trips: counter for transaction ids */
  gint64 sent_ns;
  guint64 stray_bytes;         /* publisher: what the target wrote back */
#ifdef HAVE_MOSQUITTO
  struct mosquitto *mosq;
  gboolean mqtt_connected;
  gboolean mqtt_subscribed;
#endif
} Conn;

typedef void (*LineFunc) (Client     *client,
                          Conn       *conn,
                          const char *line,
                          gsize       length,
                          gint64      recv_ns);

struct _Client {
  int epoll;
  LineFunc on_line;
  Conn *conns;                 /* [0] is the publisher in fan-out */
  guint n_conns;
  char *failure;               /* set once: what went wrong */
  guint8 mask[4];
  gboolean quickack;           /* acknowledge every read at once */
};

static void
client_fail (Client     *client,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

static void
client_fail (Client     *client,
             const char *format,
             ...)
{
  va_list args;

  if (client->failure)
    return;
  va_start (args, format);
  client->failure = g_strdup_vprintf (format, args);
  va_end (args);
}

static Client *
client_new (guint    n_conns,
            LineFunc on_line)
{
  Client *client = g_new0 (Client, 1);

  client->epoll = epoll_create1 (EPOLL_CLOEXEC);
  client->on_line = on_line;
  client->n_conns = n_conns;
  client->conns = g_new0 (Conn, n_conns);
  for (guint i = 0; i < n_conns; i++)
    {
      client->conns[i].client = client;
      client->conns[i].index = i;
      client->conns[i].fd = -1;
      client->conns[i].out = g_byte_array_new ();
    }
  for (guint i = 0; i < 4; i++)
    client->mask[i] = g_random_int_range (1, 256);
  return client;
}

static void
client_free (Client *client)
{
  for (guint i = 0; i < client->n_conns; i++)
    {
      Conn *conn = &client->conns[i];

#ifdef HAVE_MOSQUITTO
      if (conn->mosq)
        {
          mosquitto_disconnect (conn->mosq);
          mosquitto_destroy (conn->mosq);
          conn->fd = -1;
        }
#endif
      if (conn->fd >= 0)
        close (conn->fd);
      g_free (conn->in);
      g_byte_array_unref (conn->out);
    }
  close (client->epoll);
  g_free (client->conns);
  g_free (client->failure);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static void
conn_watch (Conn     *conn,
            gboolean  out)
{
  struct epoll_event event = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = conn };

  if (epoll_ctl (conn->client->epoll, EPOLL_CTL_MOD, conn->fd, &event) < 0)
    epoll_ctl (conn->client->epoll, EPOLL_CTL_ADD, conn->fd, &event);
  conn->polling_out = out;
}

/* A connected JSTP client connection, non-blocking from now on. */
static void
conn_attach (Conn *conn,
             int   fd)
{
  conn->fd = fd;
  conn->in = g_malloc (READ_BUFFER);
  set_nonblocking (fd);
  conn_watch (conn, FALSE);
}

static inline gboolean
conn_pending (Conn *conn)
{
#ifdef HAVE_MOSQUITTO
  if (conn->mosq)
    return mosquitto_want_write (conn->mosq);
#endif
  return conn->out->len > conn->out_offset;
}

/* Queues one dispatch: a line, or a masked WebSocket text frame. */
static inline void
conn_queue (Conn       *conn,
            const char *text,
            gsize       length)
{
  if (conn->ws)
    {
      guint8 header[8];
      gsize n = 0, start;
      const guint8 *mask = conn->client->mask;

      header[n++] = 0x81;
      if (length < 126)
        header[n++] = 0x80 | length;
      else
        {
          g_assert (length < 65536);
          header[n++] = 0x80 | 126;
          header[n++] = length >> 8;
          header[n++] = length & 0xff;
        }
      memcpy (header + n, mask, 4);
      n += 4;
      g_byte_array_append (conn->out, header, n);
      start = conn->out->len;
      g_byte_array_append (conn->out, (const guint8 *) text, length);
      for (gsize i = 0; i < length; i++)
        conn->out->data[start + i] ^= mask[i & 3];
    }
  else
    {
      g_byte_array_append (conn->out, (const guint8 *) text, length);
      g_byte_array_append (conn->out, (const guint8 *) "\n", 1);
    }
}

static void
conn_flush (Conn *conn)
{
#ifdef HAVE_MOSQUITTO
  if (conn->mosq)
    {
      int rc = mosquitto_loop_write (conn->mosq, 1);

      if (rc != MOSQ_ERR_SUCCESS)
        client_fail (conn->client, "mqtt write: %s", mosquitto_strerror (rc));
      conn_watch (conn, mosquitto_want_write (conn->mosq));
      return;
    }
#endif
  while (conn->out->len > conn->out_offset)
    {
      gssize n = write (conn->fd, conn->out->data + conn->out_offset,
                        conn->out->len - conn->out_offset);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno != EAGAIN)
            client_fail (conn->client, "write: %s", g_strerror (errno));
          break;
        }
      conn->out_offset += n;
    }
  if (conn->out_offset == conn->out->len)
    {
      g_byte_array_set_size (conn->out, 0);
      conn->out_offset = 0;
    }
  if (conn_pending (conn) != conn->polling_out)
    conn_watch (conn, conn_pending (conn));
}

/* Reads what is there and hands over each complete line. */
static void
conn_read_lines (Conn *conn)
{
  Client *client = conn->client;
  gssize n;
  gsize start = 0;
  gint64 recv_ns;
  guint8 *nl;

  n = read (conn->fd, conn->in + conn->in_length, READ_BUFFER - conn->in_length);
  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        client_fail (client, "read: %s", g_strerror (errno));
      return;
    }
  if (n == 0)
    {
      client_fail (client, "the target closed connection %u", conn->index);
      return;
    }
  recv_ns = now_ns ();
  if (client->quickack)
    {
      int one = 1;

      /* Linux falls back to delayed ACKs by itself: set again each time. */
      setsockopt (conn->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
  conn->in_length += n;
  while ((nl = memchr (conn->in + start, '\n', conn->in_length - start)) != NULL)
    {
      gsize end = nl - conn->in;

      client->on_line (client, conn, (const char *) conn->in + start, end - start, recv_ns);
      start = end + 1;
    }
  if (start > 0)
    {
      memmove (conn->in, conn->in + start, conn->in_length - start);
      conn->in_length -= start;
    }
  if (conn->in_length == READ_BUFFER)
    client_fail (client, "a line longer than %u bytes", READ_BUFFER);
}

#ifdef HAVE_MOSQUITTO
static void
conn_read_mqtt (Conn *conn)
{
  /* One packet per call: call again while whole messages come out. */
  for (guint i = 0; i < 4096; i++)
    {
      guint64 before = conn->seen;
      int rc = mosquitto_loop_read (conn->mosq, 1);

      if (rc != MOSQ_ERR_SUCCESS)
        {
          client_fail (conn->client, "mqtt read on %u: %s", conn->index, mosquitto_strerror (rc));
          return;
        }
      if (conn->seen == before)
        return;
    }
}
#endif

/* ---- MQTT 3.1.1 on raw sockets ----------------------------------------
 * What libmosquitto does with three read() calls per message, done with
 * one read per chunk, so that the client costs mosquitto's run no more
 * than it costs the JSTP runs. QoS 0 only. */

static void fan_on_payload (Client *client, Conn *conn, const char *data, gsize length,
                            gint64 recv_ns);

static void
mqtt_append_length (GByteArray *out,
                    gsize       length)
{
  do
    {
      guint8 byte = length % 128;

      length /= 128;
      if (length > 0)
        byte |= 0x80;
      g_byte_array_append (out, &byte, 1);
    }
  while (length > 0);
}

static void
mqtt_append_string (GByteArray *out,
                    const char *text,
                    gsize       length)
{
  guint8 size[2] = { length >> 8, length & 0xff };

  g_byte_array_append (out, size, 2);
  g_byte_array_append (out, (const guint8 *) text, length);
}

static inline void
mqtt_queue_publish (Conn       *conn,
                    const char *topic,
                    gsize       topic_length,
                    const char *payload,
                    gsize       length)
{
  guint8 type = 0x30;          /* PUBLISH, QoS 0, no retain */

  g_byte_array_append (conn->out, &type, 1);
  mqtt_append_length (conn->out, 2 + topic_length + length);
  mqtt_append_string (conn->out, topic, topic_length);
  g_byte_array_append (conn->out, (const guint8 *) payload, length);
}

static gboolean
read_exact (int      fd,
            guint8  *buffer,
            gsize    length)
{
  while (length > 0)
    {
      gssize n = read (fd, buffer, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      buffer += n;
      length -= n;
    }
  return TRUE;
}

/* CONNECT (and SUBSCRIBE to @filter) on a blocking socket. */
static gboolean
mqtt_handshake (int          fd,
                guint        index,
                const char  *filter,
                GError     **error)
{
  g_autoptr(GByteArray) packet = g_byte_array_new ();
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autofree char *id = g_strdup_printf ("bench-load-%d-%u", (int) getpid (), index);
  struct timeval timeout = { 5, 0 };
  guint8 header[] = { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 600 >> 8, 600 & 0xff };
  guint8 type, reply[5];

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  g_byte_array_append (body, header, sizeof header);
  mqtt_append_string (body, id, strlen (id));
  type = 0x10;
  g_byte_array_append (packet, &type, 1);
  mqtt_append_length (packet, body->len);
  g_byte_array_append (packet, body->data, body->len);
  if (!write_all (fd, packet->data, packet->len, error))
    return FALSE;
  if (!read_exact (fd, reply, 4) || reply[0] != 0x20 || reply[3] != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "mqtt: CONNECT not accepted");
      return FALSE;
    }

  if (filter)
    {
      guint8 id_bytes[2] = { 0, 1 }, qos = 0;

      g_byte_array_set_size (packet, 0);
      g_byte_array_set_size (body, 0);
      g_byte_array_append (body, id_bytes, 2);
      mqtt_append_string (body, filter, strlen (filter));
      g_byte_array_append (body, &qos, 1);
      type = 0x82;
      g_byte_array_append (packet, &type, 1);
      mqtt_append_length (packet, body->len);
      g_byte_array_append (packet, body->data, body->len);
      if (!write_all (fd, packet->data, packet->len, error))
        return FALSE;
      if (!read_exact (fd, reply, 5) || reply[0] != 0x90 || reply[4] != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "mqtt: SUBSCRIBE not granted");
          return FALSE;
        }
    }
  return TRUE;
}

/* Reads what is there and hands over the payload of each whole PUBLISH. */
static void
conn_read_mqtt_packets (Conn *conn)
{
  Client *client = conn->client;
  gsize start = 0;
  gint64 recv_ns;
  gssize n;

  n = read (conn->fd, conn->in + conn->in_length, READ_BUFFER - conn->in_length);
  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        client_fail (client, "read: %s", g_strerror (errno));
      return;
    }
  if (n == 0)
    {
      client_fail (client, "the target closed connection %u", conn->index);
      return;
    }
  recv_ns = now_ns ();
  conn->in_length += n;

  for (;;)
    {
      const guint8 *p = conn->in + start;
      gsize available = conn->in_length - start, length = 0, header = 1;
      guint shift = 0;

      /* Fixed header: type, then the remaining length in 1 to 4 bytes. */
      while (header < available && header <= 4)
        {
          length |= (gsize) (p[header] & 0x7f) << shift;
          shift += 7;
          if ((p[header++] & 0x80) == 0)
            break;
          if (header > 4)
            {
              client_fail (client, "mqtt: a malformed packet");
              return;
            }
        }
      if (header >= available || (p[header - 1] & 0x80) || header + length > available)
        break;
      if ((p[0] & 0xf0) == 0x30 && length >= 2)
        {
          gsize topic = (p[header] << 8) | p[header + 1];

          if ((p[0] & 0x06) == 0 && 2 + topic <= length)
            fan_on_payload (client, conn, (const char *) p + header + 2 + topic,
                            length - 2 - topic, recv_ns);
        }
      start += header + length;
    }
  if (start > 0)
    {
      memmove (conn->in, conn->in + start, conn->in_length - start);
      conn->in_length -= start;
    }
  if (conn->in_length == READ_BUFFER)
    client_fail (client, "an MQTT packet longer than %u bytes", READ_BUFFER);
}

static void
conn_readable (Conn *conn)
{
#ifdef HAVE_MOSQUITTO
  if (conn->mosq)
    {
      conn_read_mqtt (conn);
      return;
    }
#endif
  if (conn->mqtt)
    {
      conn_read_mqtt_packets (conn);
      return;
    }
  if (conn->ws)
    {
      /* Only the fan-out publisher speaks WebSocket, and nothing should
       * come back to it: count it. */
      guint8 sink[4096];
      gssize n = read (conn->fd, sink, sizeof sink);

      if (n == 0)
        client_fail (conn->client, "the target closed connection %u", conn->index);
      else if (n > 0)
        conn->stray_bytes += n;
      return;
    }
  conn_read_lines (conn);
}

/* Waits up to @timeout_ns for events and handles them. */
static void
client_poll (Client *client,
             gint64  timeout_ns)
{
  struct epoll_event events[MAX_EVENTS];
  struct timespec timeout = { timeout_ns / 1000000000, timeout_ns % 1000000000 };
  int n;

  n = epoll_pwait2 (client->epoll, events, MAX_EVENTS, &timeout, NULL);
  for (int i = 0; i < n && client->failure == NULL; i++)
    {
      Conn *conn = events[i].data.ptr;

      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        conn_readable (conn);
      if (events[i].events & EPOLLOUT)
        conn_flush (conn);
    }
}

/* ---- MQTT clients ------------------------------------------------------- */

#ifdef HAVE_MOSQUITTO
static void
on_mqtt_connect (struct mosquitto *mosq,
                 void             *data,
                 int               rc)
{
  Conn *conn = data;

  if (rc == 0)
    conn->mqtt_connected = TRUE;
  else
    client_fail (conn->client, "mqtt connect refused: %s", mosquitto_connack_string (rc));
}

static void
on_mqtt_subscribe (struct mosquitto *mosq,
                   void             *data,
                   int               mid,
                   int               qos_count,
                   const int        *granted)
{
  Conn *conn = data;

  conn->mqtt_subscribed = TRUE;
}

static void
on_mqtt_message (struct mosquitto               *mosq,
                 void                           *data,
                 const struct mosquitto_message *message)
{
  Conn *conn = data;

  fan_on_payload (conn->client, conn, message->payload, message->payloadlen, now_ns ());
}

/* Waits until *@flag is set, driving libmosquitto's read and write
 * steps (its mosquitto_loop() uses select(), which stops working past
 * descriptor 1023). */
static gboolean
mqtt_wait (Conn      *conn,
           gboolean  *flag,
           GError   **error)
{
  gint64 deadline = g_get_monotonic_time () + CONNECT_TIMEOUT;
  int rc = MOSQ_ERR_SUCCESS;

  while (!*flag && conn->client->failure == NULL && rc == MOSQ_ERR_SUCCESS &&
         g_get_monotonic_time () < deadline)
    {
      struct pollfd fd = { mosquitto_socket (conn->mosq), POLLIN, 0 };

      if (mosquitto_want_write (conn->mosq))
        fd.events |= POLLOUT;
      if (poll (&fd, 1, 100) <= 0)
        continue;
      if (fd.revents & POLLOUT)
        rc = mosquitto_loop_write (conn->mosq, 1);
      if (rc == MOSQ_ERR_SUCCESS && (fd.revents & (POLLIN | POLLERR | POLLHUP)))
        rc = mosquitto_loop_read (conn->mosq, 1);
    }
  if (conn->client->failure)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, conn->client->failure);
      return FALSE;
    }
  if (!*flag)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "mqtt: %s",
                   rc != MOSQ_ERR_SUCCESS ? mosquitto_strerror (rc) : "timed out");
      return FALSE;
    }
  return TRUE;
}

static gboolean
mqtt_connect (Conn     *conn,
              guint16   port,
              GError  **error)
{
  g_autofree char *id = g_strdup_printf ("bench-load-%d-%u", (int) getpid (), conn->index);
  int rc;

  conn->mosq = mosquitto_new (id, true, conn);
  mosquitto_int_option (conn->mosq, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set (conn->mosq, on_mqtt_connect);
  mosquitto_subscribe_callback_set (conn->mosq, on_mqtt_subscribe);
  mosquitto_message_callback_set (conn->mosq, on_mqtt_message);
  /* Runs are short: no keepalive traffic during one. */
  rc = mosquitto_connect (conn->mosq, "127.0.0.1", port, 600);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "mqtt connect: %s",
                   mosquitto_strerror (rc));
      return FALSE;
    }
  if (!mqtt_wait (conn, &conn->mqtt_connected, error))
    return FALSE;
  conn->fd = mosquitto_socket (conn->mosq);
  return TRUE;
}
#endif

/* ---- fan-out ------------------------------------------------------------ */

typedef struct {
  guint64 phase_from;          /* messages before this sequence are ignored */
  guint64 next_seq;
  guint64 received;            /* deliveries of this phase */
  guint64 bad;                 /* lines without a stamp */
  Histogram *latency;          /* NULL: not recorded */
  Template publish;
  char topic[32];
  char payload[BODY_SIZE + 1];
} FanState;

/* One per client; fan-out runs one client at a time. */
static FanState fan;

static void
fan_on_payload (Client     *client,
                Conn       *conn,
                const char *data,
                gsize       length,
                gint64      recv_ns)
{
  const char *stamp = memmem (data, length, STAMP_PREFIX, strlen (STAMP_PREFIX));
  guint64 t, s;

  if (stamp == NULL || (gsize) (data + length - stamp) < BODY_SIZE ||
      !get_digits (stamp + STAMP_T_OFFSET, 20, &t) || !get_digits (stamp + STAMP_S_OFFSET, 10, &s))
    {
      fan.bad++;
      return;
    }
  conn->seen++;
  conn->progress = MAX (conn->progress, s + 1);
  if (s < fan.phase_from)
    return;
  conn->count++;
  fan.received++;
  if (fan.latency)
    hist_add (fan.latency, recv_ns - (gint64) t);
}

static void
fan_on_line (Client     *client,
             Conn       *conn,
             const char *line,
             gsize       length,
             gint64      recv_ns)
{
  if (conn->index == 0)
    conn->stray_bytes += length + 1;
  else
    fan_on_payload (client, conn, line, length, recv_ns);
}

static void
fan_publish (Client *client,
             guint   n)
{
  Conn *pub = &client->conns[0];

  for (guint i = 0; i < n; i++)
    {
      guint64 seq = fan.next_seq++;

#ifdef HAVE_MOSQUITTO
      if (pub->mosq)
        {
          int rc;

          put_digits (fan.topic + strlen ("bench/fan/"), seq, SEQ_DIGITS);
          stamp_body (fan.payload, seq);
          rc = mosquitto_publish (pub->mosq, NULL, fan.topic, BODY_SIZE, fan.payload, 0, false);
          if (rc != MOSQ_ERR_SUCCESS)
            client_fail (client, "mqtt publish: %s", mosquitto_strerror (rc));
          continue;
        }
#endif
      if (pub->mqtt)
        {
          put_digits (fan.topic + strlen ("bench/fan/"), seq, SEQ_DIGITS);
          stamp_body (fan.payload, seq);
          mqtt_queue_publish (pub, fan.topic, strlen (fan.topic), fan.payload, BODY_SIZE);
          continue;
        }
      put_digits (fan.publish.text + fan.publish.seq, seq, SEQ_DIGITS);
      stamp_body (fan.publish.text + fan.publish.body, seq);
      conn_queue (pub, fan.publish.text, fan.publish.length);
    }
  conn_flush (pub);
}

/* How far every subscriber got. A lost message (mosquitto drops QoS 0
 * over its queue limit) then does not stall the window for good. */
static guint64
fan_min_progress (Client *client)
{
  guint64 least = G_MAXUINT64;

  for (guint i = 1; i < client->n_conns; i++)
    least = MIN (least, client->conns[i].progress);
  return least;
}

static gboolean
fan_all_seen (Client *client)
{
  for (guint i = 1; i < client->n_conns; i++)
    if (client->conns[i].seen == 0)
      return FALSE;
  return TRUE;
}

static gboolean
fan_all_delivered (Client *client)
{
  return fan_min_progress (client) >= fan.next_seq;
}

static void
fan_new_phase (Client    *client,
               Histogram *latency)
{
  fan.phase_from = fan.next_seq;
  fan.received = 0;
  fan.latency = latency;
  for (guint i = 1; i < client->n_conns; i++)
    client->conns[i].count = 0;
}

typedef enum {
  PUBLISH_NONE,
  PUBLISH_WINDOW,              /* as fast as the window allows */
  PUBLISH_PACED,               /* @rate per second */
} PublishMode;

/* Runs until @until_ns or until @done says so; TRUE when done. */
static gboolean
fan_pump (Client      *client,
          PublishMode  mode,
          double       rate,
          gint64       until_ns,
          gboolean   (*done) (Client *client))
{
  Conn *pub = &client->conns[0];
  gint64 interval = mode == PUBLISH_PACED ? (gint64) (1e9 / rate) : 0;
  gint64 next_due = now_ns ();

  for (;;)
    {
      gint64 now = now_ns ();
      gint64 wait = 1000000;

      if (client->failure)
        return FALSE;
      if (done && done (client))
        return TRUE;
      if (now >= until_ns)
        return FALSE;

      if (mode == PUBLISH_WINDOW && !conn_pending (pub))
        {
          guint64 in_flight = fan.next_seq - MAX (fan_min_progress (client), fan.phase_from);

          if (in_flight < settings.window)
            {
              fan_publish (client, MIN (PUBLISH_BATCH, settings.window - in_flight));
              wait = 0;
            }
        }
      else if (mode == PUBLISH_PACED)
        {
          while (next_due <= now)
            {
              fan_publish (client, 1);
              next_due += interval;
            }
          wait = next_due - now;
        }
      client_poll (client, MIN (wait, until_ns - now));
    }
}

typedef struct {
  double rate;                 /* deliveries per second, saturated */
  double p50, p99;             /* ns, paced */
  double paced_rate;           /* deliveries per second, paced */
  double sat_p50, sat_p99;     /* ns, saturated */
  double target_cpu, client_cpu;
  guint64 lost;                /* deliveries that never came (saturated phase) */
  guint64 bad, stray_bytes;
} FanResult;

static gboolean
fan_connect (Client     *client,
             Target     *target,
             GError    **error)
{
  g_autofree char *bind = NULL;

  if (target->kind == TARGET_MOSQUITTO && settings.mqtt_raw)
    {
      for (guint i = 0; i < client->n_conns; i++)
        {
          Conn *conn = &client->conns[i];
          int fd = tcp_connect (target->tcp_port, error);

          if (fd < 0)
            return FALSE;
          if (!mqtt_handshake (fd, i, i > 0 ? "bench/fan/#" : NULL, error))
            {
              close (fd);
              return FALSE;
            }
          conn->mqtt = TRUE;
          conn_attach (conn, fd);
        }
      return TRUE;
    }
#ifdef HAVE_MOSQUITTO
  if (target->kind == TARGET_MOSQUITTO)
    {
      for (guint i = 0; i < client->n_conns; i++)
        {
          Conn *conn = &client->conns[i];

          if (!mqtt_connect (conn, target->tcp_port, error))
            return FALSE;
          if (i > 0)
            {
              int rc = mosquitto_subscribe (conn->mosq, NULL, "bench/fan/#", 0);

              if (rc != MOSQ_ERR_SUCCESS)
                {
                  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "mqtt subscribe: %s",
                               mosquitto_strerror (rc));
                  return FALSE;
                }
              if (!mqtt_wait (conn, &conn->mqtt_subscribed, error))
                return FALSE;
            }
          conn_watch (conn, FALSE);
        }
      return TRUE;
    }
#endif

  bind = bind_text (target->kind);
  for (guint i = 0; i < client->n_conns; i++)
    {
      Conn *conn = &client->conns[i];
      gboolean ws = i == 0 && target->kind == TARGET_REFERENCE && settings.reference_ws;
      int fd = tcp_connect (ws ? target->ws_port : target->tcp_port, error);

      if (fd < 0)
        return FALSE;
      if (ws && !ws_handshake (fd, target->ws_port, error))
        {
          close (fd);
          return FALSE;
        }
      conn->ws = ws;
      conn_attach (conn, fd);
      if (i > 0)
        {
          conn_queue (conn, bind, strlen (bind));
          conn_flush (conn);
        }
    }
  return TRUE;
}

static gboolean
fan_run (Target     *target,
         guint       n_subs,
         FanResult  *result,
         GError    **error)
{
  g_autoptr(Client) client = client_new (n_subs + 1, fan_on_line);
  Histogram saturated, paced;
  CpuMeter meter;
  gint64 t0, t1;
  guint64 published;
  double paced_publish_rate;
  gboolean ok = FALSE;

  memset (&fan, 0, sizeof fan);
  publish_template (&fan.publish);
  g_strlcpy (fan.topic, "bench/fan/00000000", sizeof fan.topic);
  {
    g_autofree char *body = body_template ();

    memcpy (fan.payload, body, BODY_SIZE);
  }
  hist_init (&saturated);
  hist_init (&paced);

  if (!fan_connect (client, target, error))
    goto out;

  /* Subscriptions are live once a probe reaches every subscriber; the
   * reference acknowledges nothing, so no acknowledgement is waited for. */
  fan_new_phase (client, NULL);
  if (!fan_pump (client, PUBLISH_PACED, 500, now_ns () + 20 * G_GINT64_CONSTANT (1000000000),
                 fan_all_seen))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s",
                   client->failure ? client->failure : "subscribers never received a probe");
      goto out;
    }
  fan_pump (client, PUBLISH_NONE, 0, now_ns () + 50000000, NULL);

  /* Saturated. */
  fan_new_phase (client, &saturated);
  cpu_meter_start (&meter, target->pid);
  t0 = now_ns ();
  fan_pump (client, PUBLISH_WINDOW, 0, t0 + (gint64) (settings.fan_seconds * 1e9), NULL);
  t1 = now_ns ();
  cpu_meter_stop (&meter, &result->target_cpu, &result->client_cpu);
  result->rate = fan.received / ((t1 - t0) / 1e9);
  published = fan.next_seq - fan.phase_from;
  fan_pump (client, PUBLISH_NONE, 0, now_ns () + 2 * G_GINT64_CONSTANT (1000000000),
            fan_all_delivered);
  result->lost = published * n_subs - MIN (fan.received, published * n_subs);
  result->sat_p50 = hist_quantile (&saturated, 0.50);
  result->sat_p99 = hist_quantile (&saturated, 0.99);
  if (client->failure)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, client->failure);
      goto out;
    }

  /* Paced: the same light load for every target, unless it cannot take it. */
  result->paced_rate = MIN (settings.latency_rate, result->rate / 2);
  paced_publish_rate = MAX (result->paced_rate / n_subs, 1);
  result->paced_rate = paced_publish_rate * n_subs;
  fan_new_phase (client, &paced);
  t0 = now_ns ();
  fan_pump (client, PUBLISH_PACED, paced_publish_rate,
            t0 + (gint64) (settings.latency_seconds * 1e9), NULL);
  fan_pump (client, PUBLISH_NONE, 0, now_ns () + 2 * G_GINT64_CONSTANT (1000000000),
            fan_all_delivered);
  published = fan.next_seq - fan.phase_from;
  result->lost += published * n_subs - MIN (fan.received, published * n_subs);
  result->p50 = hist_quantile (&paced, 0.50);
  result->p99 = hist_quantile (&paced, 0.99);
  result->bad = fan.bad;
  result->stray_bytes = client->conns[0].stray_bytes;
  if (client->failure)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, client->failure);
      goto out;
    }
  ok = TRUE;

out:
  hist_clear (&saturated);
  hist_clear (&paced);
  template_clear (&fan.publish);
  return ok;
}

/* ---- round trips -------------------------------------------------------- */

typedef struct {
  Template request;
  gboolean counting;
  guint64 done;
  guint64 failed;              /* answers other than 200 */
  Histogram latency;
} RttState;

static RttState rtt;

static void
rtt_send (Conn *conn)
{
  char *text = rtt.request.text;

  put_digits (text + rtt.request.tid + strlen ("bench-"), conn->index, 3);
  put_digits (text + rtt.request.tid + strlen (TID_PREFIX), conn->requests++, TID_DIGITS);
  stamp_body (text + rtt.request.body, conn->requests);
  conn->sent_ns = now_ns ();
  conn_queue (conn, text, rtt.request.length);
  conn_flush (conn);
}

static void
rtt_on_line (Client     *client,
             Conn       *conn,
             const char *line,
             gsize       length,
             gint64      recv_ns)
{
  /* The reference writes a RELEASE of the transaction's ANSWER endpoint
   * before the ANSWER itself: only the ANSWER counts. */
  if (memmem (line, length, "\"ANSWER\"", 8) == NULL ||
      memmem (line, length, "\"endpoint\"", 10) != NULL)
    return;
  if (memmem (line, length, "\"resource\":[200,", 16) == NULL)
    rtt.failed++;
  else if (rtt.counting)
    {
      rtt.done++;
      hist_add (&rtt.latency, recv_ns - conn->sent_ns);
    }
  rtt_send (conn);
}

typedef struct {
  double rate;
  double p50, p99;
  double target_cpu, client_cpu;
  guint64 failed;
} RttResult;

static gboolean
rtt_run (Target     *target,
         guint       n_conns,
         gboolean    quickack,
         RttResult  *result,
         GError    **error)
{
  g_autoptr(Client) client = client_new (n_conns, rtt_on_line);
  CpuMeter meter;
  gint64 t0, t1;
  gboolean ok = FALSE;

  client->quickack = quickack;
  memset (&rtt, 0, sizeof rtt);
  request_template (&rtt.request);
  hist_init (&rtt.latency);

  for (guint i = 0; i < n_conns; i++)
    {
      int fd = tcp_connect (target->tcp_port, error);

      if (fd < 0)
        goto out;
      conn_attach (&client->conns[i], fd);
    }
  for (guint i = 0; i < n_conns; i++)
    rtt_send (&client->conns[i]);

  /* Warm up, then count. */
  t0 = now_ns () + (settings.quick ? 100000000 : 200000000);
  while (now_ns () < t0 && client->failure == NULL)
    client_poll (client, 10000000);
  rtt.counting = TRUE;
  cpu_meter_start (&meter, target->pid);
  t0 = now_ns ();
  t1 = t0 + (gint64) (settings.rtt_seconds * 1e9);
  while (now_ns () < t1 && client->failure == NULL)
    client_poll (client, MIN (10000000, t1 - now_ns ()));
  rtt.counting = FALSE;
  t1 = now_ns ();
  cpu_meter_stop (&meter, &result->target_cpu, &result->client_cpu);
  if (client->failure)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, client->failure);
      goto out;
    }
  if (rtt.done == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no answer came back (%" G_GUINT64_FORMAT
                   " failed)", rtt.failed);
      goto out;
    }
  result->rate = rtt.done / ((t1 - t0) / 1e9);
  result->p50 = hist_quantile (&rtt.latency, 0.50);
  result->p99 = hist_quantile (&rtt.latency, 0.99);
  result->failed = rtt.failed;
  ok = TRUE;

out:
  hist_clear (&rtt.latency);
  template_clear (&rtt.request);
  return ok;
}

/* ---- idle connections --------------------------------------------------- */

typedef struct {
  double kib_per_connection;
  gint64 before_kib, after_kib;
  guint closed;                /* connections the target had closed by the end */
} IdleResult;

static gboolean
idle_run (Target      *target,
          IdleResult  *result,
          GError     **error)
{
  guint n = settings.idle_connections;
  g_autoptr(Client) client = client_new (n, NULL);
  gint64 last = -1, deadline;
  guint stable = 0;

  if (target->pid <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "the target's pid is unknown");
      return FALSE;
    }
  /* Let the freshly started target settle. */
  g_usleep (200000);
  result->before_kib = read_rss_kib (target->pid);

  for (guint i = 0; i < n; i++)
    {
      Conn *conn = &client->conns[i];

#ifdef HAVE_MOSQUITTO
      if (target->kind == TARGET_MOSQUITTO)
        {
          if (!mqtt_connect (conn, target->tcp_port, error))
            return FALSE;
          continue;
        }
#endif
      conn->fd = tcp_connect (target->tcp_port, error);
      if (conn->fd < 0)
        return FALSE;
      if (target->kind == TARGET_MOSQUITTO && !mqtt_handshake (conn->fd, i, NULL, error))
        return FALSE;
    }

  /* Accepting happens on the target's time: wait for its RSS to settle. */
  deadline = g_get_monotonic_time () + 3 * G_TIME_SPAN_SECOND;
  while (stable < 3 && g_get_monotonic_time () < deadline)
    {
      gint64 rss;

      g_usleep (100000);
      rss = read_rss_kib (target->pid);
      stable = rss == last ? stable + 1 : 0;
      last = rss;
    }
  result->after_kib = last;
  result->kib_per_connection = (double) (result->after_kib - result->before_kib) / n;

  for (guint i = 0; i < n; i++)
    {
      char c;

      if (recv (client->conns[i].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
        result->closed++;
    }
  return TRUE;
}

/* ---- the table ---------------------------------------------------------- */

typedef enum {
  UNIT_RATE,                   /* higher is better */
  UNIT_MICROSECONDS,           /* lower is better */
  UNIT_KIB,                    /* lower is better */
} Unit;

typedef struct {
  char *label;
  Unit unit;
  double value[N_TARGETS];     /* NAN: not measured */
} Row;

static GPtrArray *rows;
static GString *details;

static Row *
row_add (const char *label,
         Unit        unit)
{
  Row *row = g_new0 (Row, 1);

  row->label = g_strdup (label);
  row->unit = unit;
  for (guint i = 0; i < N_TARGETS; i++)
    row->value[i] = NAN;
  g_ptr_array_add (rows, row);
  return row;
}

static void
row_free (gpointer data)
{
  Row *row = data;

  g_free (row->label);
  g_free (row);
}

static char *
format_value (Unit   unit,
              double value)
{
  if (isnan (value))
    return g_strdup ("-");
  switch (unit)
    {
    case UNIT_RATE:
      return g_strdup_printf ("%.0f", value);
    case UNIT_MICROSECONDS:
      return g_strdup_printf (value < 10000 ? "%.2f" : "%.1f", value / 1000);
    case UNIT_KIB:
      return g_strdup_printf ("%.1f", value);
    default:
      g_assert_not_reached ();
    }
}

static char *
format_ratio (double ours,
              double other)
{
  if (isnan (ours) || isnan (other) || other == 0)
    return g_strdup ("-");
  return g_strdup_printf ("%.2fx", ours / other);
}

static void
print_table (void)
{
  printf ("\n%-41s %10s %10s %10s %10s %10s\n", "scenario", "ours", "mosquitto", "reference",
          "ours/mosq", "ours/ref");
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = g_ptr_array_index (rows, i);
      g_autofree char *ours = format_value (row->unit, row->value[TARGET_OURS]);
      g_autofree char *mosq = format_value (row->unit, row->value[TARGET_MOSQUITTO]);
      g_autofree char *ref = format_value (row->unit, row->value[TARGET_REFERENCE]);
      g_autofree char *r1 = format_ratio (row->value[TARGET_OURS], row->value[TARGET_MOSQUITTO]);
      g_autofree char *r2 = format_ratio (row->value[TARGET_OURS], row->value[TARGET_REFERENCE]);

      printf ("%-41s %10s %10s %10s %10s %10s\n", row->label, ours, mosq, ref, r1, r2);
    }
  printf ("(rates: higher is better; latency, CPU and memory: lower is better; '-': not "
          "measured. \"target CPU us each\": the target's CPU time per delivery or round trip,\n"
          " the figure least skewed by other work on the host)\n");
  if (details->len > 0)
    printf ("\n%s", details->str);
}

/* ---- scenarios ---------------------------------------------------------- */

static void
note (const char *format,
      ...) G_GNUC_PRINTF (1, 2);

static void
note (const char *format,
      ...)
{
  va_list args;

  va_start (args, format);
  g_string_append_vprintf (details, format, args);
  va_end (args);
  g_string_append_c (details, '\n');
}

static Target *
start_or_note (TargetKind  kind,
               const char *scenario)
{
  g_autoptr(GError) error = NULL;
  Target *target = target_start (kind, &error);

  if (target == NULL)
    note ("%-9s %-18s not run: %s", target_names[kind], scenario, error->message);
  return target;
}

/* Notes connects that waited for a SYN to be sent again. */
static void
note_slow_connects (TargetKind  kind,
                    const char *scenario,
                    guint       before)
{
  if (slow_connects > before)
    note ("%-9s %-18s %u connection attempts made again (accept queue full, SYN dropped)",
          target_names[kind], scenario, slow_connects - before);
}

/* Runs one fan-out against a fresh @kind target; FALSE when it could not. */
static gboolean
fan_measure (TargetKind  kind,
             const char *name,
             const char *client_name,
             guint       n_subs,
             FanResult  *result)
{
  g_autoptr(Target) target = start_or_note (kind, name);
  g_autoptr(GError) error = NULL;
  guint slow = slow_connects;
  gboolean ok;

  if (target == NULL)
    return FALSE;
  ok = fan_run (target, n_subs, result, &error);
  note_slow_connects (kind, name, slow);
  if (!ok)
    {
      note ("%-9s %-18s failed: %s", target_names[kind], name, error->message);
      return FALSE;
    }
  note ("%-9s %-18s %.0f deliveries/s saturated (p50 %.0f us, p99 %.0f us), target CPU %.0f%% "
        "(%.2f us per delivery), client CPU %.0f%%, lost %" G_GUINT64_FORMAT
        "; latency at %.0f deliveries/s%s%s%s",
        target_names[kind], name, result->rate, result->sat_p50 / 1000, result->sat_p99 / 1000,
        result->target_cpu, result->target_cpu / 100 / result->rate * 1e6, result->client_cpu,
        result->lost, result->paced_rate, client_name ? "; " : "", client_name ? client_name : "",
        result->bad || result->stray_bytes ? "; unexpected lines or bytes came back" : "");
  return TRUE;
}

static void
scenario_fanout (guint n_subs)
{
  g_autofree char *name = g_strdup_printf ("fan-out %u sub%s", n_subs, n_subs > 1 ? "s" : "");
  g_autofree char *label_rate = g_strdup_printf ("%s: deliveries/s", name);
  g_autofree char *label_p50 = g_strdup_printf ("%s: p50 latency us", name);
  g_autofree char *label_p99 = g_strdup_printf ("%s: p99 latency us", name);
  g_autofree char *label_cost = g_strdup_printf ("%s: target CPU us each", name);
  Row *rate = row_add (label_rate, UNIT_RATE);
  Row *p50 = row_add (label_p50, UNIT_MICROSECONDS);
  Row *p99 = row_add (label_p99, UNIT_MICROSECONDS);
  Row *cost = row_add (label_cost, UNIT_MICROSECONDS);

  for (TargetKind kind = 0; kind < N_TARGETS; kind++)
    {
      FanResult result = { 0, };
      const char *client_name = NULL;

      if (!settings.enabled[kind])
        continue;
      g_printerr ("%s: %s...\n", name, target_names[kind]);
      if (kind == TARGET_REFERENCE)
        client_name = settings.reference_ws ? "publisher over WebSocket" : "publisher over TCP";
      else if (kind == TARGET_MOSQUITTO)
        client_name = settings.mqtt_raw ? "raw MQTT client" : "libmosquitto client";
      if (!fan_measure (kind, name, client_name, n_subs, &result))
        continue;
      rate->value[kind] = result.rate;
      p50->value[kind] = result.p50;
      p99->value[kind] = result.p99;
      cost->value[kind] = result.target_cpu / 100 / result.rate * 1e9;

      /* libmosquitto reads a packet in three read() calls and writes one
       * per message: the same load from the raw client shows whether the
       * client held mosquitto back. */
      if (kind == TARGET_MOSQUITTO && settings.mqtt_compare)
        {
          FanResult other = { 0, };

          settings.mqtt_raw = !settings.mqtt_raw;
          fan_measure (kind, name, settings.mqtt_raw ? "raw MQTT client (not in the table)" :
                                   "libmosquitto client (not in the table)", n_subs, &other);
          settings.mqtt_raw = !settings.mqtt_raw;
        }
    }
}

static void
scenario_rtt (guint n_conns)
{
  g_autofree char *name = g_strdup_printf ("round trips %u conn%s", n_conns,
                                           n_conns > 1 ? "s" : "");
  g_autofree char *label = g_strdup_printf ("%s: per s", name);
  g_autofree char *label_cost = g_strdup_printf ("%s: target CPU us each", name);
  Row *row = row_add (label, UNIT_RATE);
  Row *cost = row_add (label_cost, UNIT_MICROSECONDS);

  for (TargetKind kind = 0; kind < N_TARGETS; kind++)
    {
      g_autoptr(Target) target = NULL;
      g_autoptr(GError) error = NULL;
      RttResult result = { 0, };
      guint slow;
      gboolean ok;

      if (!settings.enabled[kind])
        continue;
      if (kind == TARGET_MOSQUITTO)
        continue;              /* MQTT has no request and answer */
      g_printerr ("%s: %s...\n", name, target_names[kind]);
      target = start_or_note (kind, name);
      if (target == NULL)
        continue;
      slow = slow_connects;
      ok = rtt_run (target, n_conns, FALSE, &result, &error);
      note_slow_connects (kind, name, slow);
      if (!ok)
        {
          note ("%-9s %-18s failed: %s", target_names[kind], name, error->message);
          continue;
        }
      row->value[kind] = result.rate;
      cost->value[kind] = result.target_cpu / 100 / result.rate * 1e9;
      note ("%-9s %-18s %.0f/s, round trip p50 %.0f us, p99 %.0f us, target CPU %.0f%%, "
            "client CPU %.0f%%%s",
            target_names[kind], name, result.rate, result.p50 / 1000, result.p99 / 1000,
            result.target_cpu, result.client_cpu, result.failed ? ", some answers not 200" : "");

      /* The reference never sets TCP_NODELAY and writes a RELEASE and then
       * the ANSWER: the ANSWER waits for the client's delayed ACK (40 ms).
       * Measured again with the client acknowledging at once, to show what
       * its engine itself can do. */
      if (kind == TARGET_REFERENCE && !settings.quick)
        {
          g_autoptr(Target) again = start_or_note (kind, name);
          RttResult quick = { 0, };

          g_clear_error (&error);
          if (again == NULL)
            continue;
          if (!rtt_run (again, n_conns, TRUE, &quick, &error))
            {
              note ("%-9s %-18s with TCP_QUICKACK failed: %s", target_names[kind], name,
                    error->message);
              continue;
            }
          note ("%-9s %-18s with TCP_QUICKACK on the client: %.0f/s (ours/reference %.2fx), "
                "round trip p50 %.0f us, p99 %.0f us, target CPU %.0f%%",
                target_names[kind], name, quick.rate, row->value[TARGET_OURS] / quick.rate,
                quick.p50 / 1000, quick.p99 / 1000, quick.target_cpu);
        }
    }
}

static void
scenario_idle (void)
{
  g_autofree char *name = g_strdup_printf ("%u idle connections", settings.idle_connections);
  Row *row = row_add ("idle connection: KiB each", UNIT_KIB);

  for (TargetKind kind = 0; kind < N_TARGETS; kind++)
    {
      g_autoptr(Target) target = NULL;
      g_autoptr(GError) error = NULL;
      IdleResult result = { 0, };
      guint slow;
      gboolean ok;

      if (!settings.enabled[kind])
        continue;
      g_printerr ("%s: %s...\n", name, target_names[kind]);
      target = start_or_note (kind, name);
      if (target == NULL)
        continue;
      slow = slow_connects;
      ok = idle_run (target, &result, &error);
      note_slow_connects (kind, name, slow);
      if (!ok)
        {
          note ("%-9s %-18s failed: %s", target_names[kind], name, error->message);
          continue;
        }
      row->value[kind] = result.kib_per_connection;
      note ("%-9s %-18s VmRSS %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " KiB%s",
            target_names[kind], name, result.before_kib, result.after_kib,
            result.closed ? ", the target closed some of them" : "");
    }
}

/* ---- main --------------------------------------------------------------- */

static gboolean
parse_list (const char  *text,
            const char **names,
            guint        n_names,
            gboolean    *enabled,
            const char  *what,
            GError     **error)
{
  g_auto(GStrv) items = g_strsplit (text, ",", 0);

  for (guint i = 0; i < n_names; i++)
    enabled[i] = FALSE;
  for (guint i = 0; items[i]; i++)
    {
      guint j;

      for (j = 0; j < n_names; j++)
        if (g_strcmp0 (g_strstrip (items[i]), names[j]) == 0)
          break;
      if (j == n_names)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "unknown %s \"%s\"", what, items[i]);
          return FALSE;
        }
      enabled[j] = TRUE;
    }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  gboolean quick = FALSE;
  double seconds = 3;
  int idle = 1000, window = 500, latency_rate = 10000, ours_port = 0, ours_pid = 0;
  g_autofree char *targets = NULL;
  g_autofree char *scenarios = NULL;
  g_autofree char *reference_publisher = NULL;
  g_autofree char *mqtt_client = NULL;
  g_autofree char *subscribers = NULL;
  GOptionEntry entries[] = {
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick, "A short smoke run (about 10 s)", NULL },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds per measured phase (3)", "S" },
    { "targets", 't', 0, G_OPTION_ARG_STRING, &targets,
      "Which targets (ours,mosquitto,reference)", "LIST" },
    { "scenarios", 0, 0, G_OPTION_ARG_STRING, &scenarios,
      "Which scenarios (fanout,rtt,idle)", "LIST" },
    { "subscribers", 0, 0, G_OPTION_ARG_STRING, &subscribers,
      "Fan-out subscriber counts (1,10,100)", "LIST" },
    { "idle", 0, 0, G_OPTION_ARG_INT, &idle, "Idle connections to open (1000)", "N" },
    { "window", 0, 0, G_OPTION_ARG_INT, &window,
      "Fan-out messages in flight, saturated phase (500)", "N" },
    { "latency-rate", 0, 0, G_OPTION_ARG_INT, &latency_rate,
      "Deliveries per second while measuring latency (10000)", "N" },
    { "reference-publisher", 0, 0, G_OPTION_ARG_STRING, &reference_publisher,
      "Transport of the reference's fan-out publisher: ws (default) or tcp", "T" },
    { "mqtt-client", 0, 0, G_OPTION_ARG_STRING, &mqtt_client,
      "MQTT fan-out clients: libmosquitto, raw (packets on raw sockets, read in chunks) "
      "or both (the default: libmosquitto in the table, raw in the details)", "C" },
    { "ours-port", 0, 0, G_OPTION_ARG_INT, &ours_port,
      "Use the bench-target already listening on this TCP port", "PORT" },
    { "ours-pid", 0, 0, G_OPTION_ARG_INT, &ours_pid,
      "Its pid, for memory and CPU figures", "PID" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *scenario_names[] = { "fanout", "rtt", "idle" };
  gboolean scenario_enabled[3] = { TRUE, TRUE, TRUE };
  struct rlimit files;

  context = g_option_context_new ("- load ours, mosquitto and the reference JSTP engine");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-load: %s\n", error->message);
      return EXIT_FAILURE;
    }

  for (guint i = 0; i < N_TARGETS; i++)
    settings.enabled[i] = TRUE;
  if ((targets && !parse_list (targets, target_names, N_TARGETS, settings.enabled,
                               "target", &error)) ||
      (scenarios && !parse_list (scenarios, scenario_names, 3, scenario_enabled,
                                 "scenario", &error)))
    {
      g_printerr ("bench-load: %s\n", error->message);
      return EXIT_FAILURE;
    }
  settings.fanout = scenario_enabled[0];
  settings.rtt = scenario_enabled[1];
  settings.idle = scenario_enabled[2];
  settings.quick = quick;
  settings.fan_seconds = quick ? 0.25 : seconds;
  settings.latency_seconds = quick ? 0.15 : MAX (seconds / 2, 0.2);
  settings.rtt_seconds = quick ? 0.25 : seconds;
  settings.idle_connections = MAX (idle, 1);
  settings.window = MAX (window, 1);
  settings.latency_rate = MAX (latency_rate, 1);
  settings.reference_ws = g_strcmp0 (reference_publisher, "tcp") != 0;
#ifdef HAVE_MOSQUITTO
  settings.mqtt_raw = g_strcmp0 (mqtt_client, "raw") == 0;
  settings.mqtt_compare = (mqtt_client == NULL && !quick) || g_strcmp0 (mqtt_client, "both") == 0;
#else
  settings.mqtt_raw = TRUE;
#endif
  settings.ours_port = ours_port;
  settings.ours_pid = ours_pid;

  /* Each idle connection is a descriptor here too. */
  if (getrlimit (RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max)
    {
      files.rlim_cur = files.rlim_max;
      setrlimit (RLIMIT_NOFILE, &files);
    }
  signal (SIGPIPE, SIG_IGN);
#ifdef HAVE_MOSQUITTO
  mosquitto_lib_init ();
#endif

  rows = g_ptr_array_new_with_free_func (row_free);
  details = g_string_new (NULL);

  {
    g_autofree char *loadavg = NULL;

    g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL);
    printf ("bench-load: %g s saturated and %g s paced per fan-out, %g s per round-trip "
            "run, window %u, latency at %u deliveries/s, %u idle connections\n"
            "host: %u CPUs, load average at start %.*s (other work skews every figure)\n",
            settings.fan_seconds, settings.latency_seconds, settings.rtt_seconds, settings.window,
            settings.latency_rate, settings.idle_connections, g_get_num_processors (),
            loadavg ? (int) strcspn (loadavg, " ") : 1, loadavg ? loadavg : "?");
  }
  fflush (stdout);

  if (settings.fanout)
    {
      g_auto(GStrv) counts = g_strsplit (subscribers ? subscribers : "1,10,100", ",", 0);

      for (guint i = 0; counts[i]; i++)
        if (atoi (counts[i]) > 0)
          scenario_fanout (atoi (counts[i]));
    }
  if (settings.rtt)
    {
      scenario_rtt (1);
      scenario_rtt (16);
    }
  if (settings.idle)
    scenario_idle ();

  print_table ();

#ifdef HAVE_MOSQUITTO
  mosquitto_lib_cleanup ();
#endif
  g_ptr_array_unref (rows);
  g_string_free (details, TRUE);
  return EXIT_SUCCESS;
}
