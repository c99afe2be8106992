/* SPDX-License-Identifier: MIT */
/* monje: a document store as a JSTP engine.
 *
 * Listens like jstpd and serves documents under ["db", ...] (see
 * monje-service.h), kept in SQLite in the data directory or in MongoDB.
 * Everything but the store's own thread runs on the main context; SIGINT
 * and SIGTERM stop it cleanly. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "jstp-status-reporter.h"
#include "monje-service.h"
#include "monje-sqlite-store.h"
#ifdef MONJE_HAVE_MONGOC
#include "monje-mongo-store.h"
#endif

#define EXIT_USAGE 2

#define DEFAULT_NAME     "monje"
#define DEFAULT_LISTEN   "127.0.0.1"
#define DEFAULT_TCP_PORT 33335
#define DEFAULT_WS_PORT  33336
#define DATABASE_FILE    "monje.sqlite3"

typedef struct {
  char *name;
  char *listen;
  int tcp_port;
  int ws_port;
  gboolean no_tcp;
  gboolean no_ws;
  char *data_dir;
  char *mongodb;
  int max_results;
  gboolean quiet;
  gboolean verbose;
  gboolean version;
} Options;

static void
options_clear (Options *options)
{
  g_clear_pointer (&options->name, g_free);
  g_clear_pointer (&options->listen, g_free);
  g_clear_pointer (&options->data_dir, g_free);
  g_clear_pointer (&options->mongodb, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static void
print_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

static void
print_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("monje: %s\n", message);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_debug ("stopping on a signal");
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static void
drop_log_cb (const char     *log_domain,
             GLogLevelFlags  log_level,
             const char     *message,
             gpointer        user_data)
{
}

static const char *
listen_error_reason (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    return g_strerror (EADDRINUSE);
  return error->message;
}

static void
append_endpoint (GString    *line,
                 const char *label,
                 const char *address,
                 guint16     port)
{
  if (strchr (address, ':'))
    g_string_append_printf (line, " %s [%s]:%u", label, address, port);
  else
    g_string_append_printf (line, " %s %s:%u", label, address, port);
}

static MonjeStore *
open_store (Options  *options,
            GError  **error)
{
  g_autofree char *path = NULL;
  MonjeSqliteStore *store;

  if (options->mongodb)
    {
#ifdef MONJE_HAVE_MONGOC
      return MONJE_STORE (monje_mongo_store_new (options->mongodb, error));
#else
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("this monje was built without MongoDB support (libmongoc)"));
      return NULL;
#endif
    }

  if (options->data_dir == NULL)
    options->data_dir = g_build_filename (g_get_user_data_dir (), "monje", NULL);
  if (g_mkdir_with_parents (options->data_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   /* TRANSLATORS: %s is a directory, then the reason */
                   _("cannot create the data directory %s: %s"), options->data_dir,
                   g_strerror (saved));
      return NULL;
    }
  path = g_build_filename (options->data_dir, DATABASE_FILE, NULL);
  store = monje_sqlite_store_new (path, error);
  return store ? MONJE_STORE (store) : NULL;
}

int
main (int    argc,
      char **argv)
{
  g_auto(Options) options = {
    .tcp_port = DEFAULT_TCP_PORT,
    .ws_port = DEFAULT_WS_PORT,
    .max_results = 1000,
  };
  const GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &options.name,
      N_("The engine's name in GET [\"jstp\",\"info\"] (default: monje)"), N_("NAME") },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &options.listen,
      N_("Address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)"),
      N_("ADDRESS") },
    { "tcp-port", 0, 0, G_OPTION_ARG_INT, &options.tcp_port,
      N_("TCP port (default 33335; 0 picks a free one, -1 disables TCP)"), N_("PORT") },
    { "ws-port", 0, 0, G_OPTION_ARG_INT, &options.ws_port,
      N_("WebSocket port (default 33336; 0 picks a free one, -1 disables WebSocket)"),
      N_("PORT") },
    { "no-tcp", 0, 0, G_OPTION_ARG_NONE, &options.no_tcp,
      N_("Do not listen on TCP"), NULL },
    { "no-ws", 0, 0, G_OPTION_ARG_NONE, &options.no_ws,
      N_("Do not listen on WebSocket"), NULL },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &options.data_dir,
      N_("Where the SQLite database lives (default: the user data directory's monje)"),
      N_("DIR") },
    { "mongodb", 0, 0, G_OPTION_ARG_STRING, &options.mongodb,
      N_("Keep the documents in MongoDB instead of SQLite"), N_("URI") },
    { "max-results", 0, 0, G_OPTION_ARG_INT, &options.max_results,
      N_("Documents one list answer holds at most (default 1000)"), N_("N") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &options.quiet,
      N_("Print only warnings and errors"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options.verbose,
      N_("Print debugging messages"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options.version,
      N_("Print the version and exit"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpEngine) engine = NULL;
  g_autoptr(JstpNetwork) network = NULL;
  g_autoptr(MonjeStore) store = NULL;
  g_autoptr(MonjeService) service = NULL;
  g_autoptr(JstpStatusReporter) reporter = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GString) line = NULL;
  guint sigint_id, sigterm_id;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("A document store as a JSTP engine. Documents are JSON objects in collections:\n"
      "  POST [\"db\",COLL] inserts, GET [\"db\",COLL] queries (MongoDB filters, sort,\n"
      "  limit, skip, projection), GET/PUT/PATCH/DELETE [\"db\",COLL,ID] read, replace,\n"
      "  update and remove one, GET [\"db\"] lists the collections.\n"
      "Every change is emitted as a dispatch with the header \"x-monje-event\": true,\n"
      "so subscribers of [\"db\", ...] receive changes live.\n"
      "\n"
      "Once listening it prints one line on standard output, such as\n"
      "  monje listening: tcp 127.0.0.1:33335 ws 127.0.0.1:33336\n"
      "and runs until SIGINT or SIGTERM."));
  g_option_context_set_description (context,
    _("Storage: SQLite in DIR/monje.sqlite3 by default; a write is answered once it is\n"
      "on disk. With --mongodb the documents live in the database named in the URI\n"
      "(default: monje), written with the write concern {w: \"majority\", j: true}\n"
      "unless the URI sets w or journal.\n"
      "\n"
      "Exit status: 0 after a signal, 1 when it cannot start (a port in use, a\n"
      "database it cannot open), 2 for bad flags.\n"
      "\n"
      "Examples:\n"
      "  monje\n"
      "  monje --data-dir /var/lib/monje --listen 0.0.0.0\n"
      "  monje --tcp-port 0 --ws-port 0 --data-dir /tmp/m\n"
      "  monje --mongodb mongodb://db1,db2,db3/notes?replicaSet=rs0\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      print_error ("%s", error->message);
      g_printerr (_("Run “monje --help” to see the options.\n"));
      return EXIT_USAGE;
    }
  if (options.version)
    {
      g_print ("monje %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (argc > 1)
    {
      /* TRANSLATORS: %s is an argument the user gave that monje does not take */
      print_error (_("unexpected argument “%s”"), argv[1]);
      g_printerr (_("Run “monje --help” to see the options.\n"));
      return EXIT_USAGE;
    }
  if (options.tcp_port < -1 || options.tcp_port > 65535 ||
      options.ws_port < -1 || options.ws_port > 65535)
    {
      print_error (_("ports are between 0 and 65535, or -1 to disable"));
      return EXIT_USAGE;
    }
  if (options.max_results < 1)
    {
      print_error (_("--max-results must be 1 or more"));
      return EXIT_USAGE;
    }
  if (options.mongodb && options.data_dir)
    {
      print_error (_("--data-dir and --mongodb exclude each other: the documents live in one "
                     "place"));
      return EXIT_USAGE;
    }
  if (options.no_tcp)
    options.tcp_port = -1;
  if (options.no_ws)
    options.ws_port = -1;
  if (options.tcp_port < 0 && options.ws_port < 0)
    {
      print_error (_("nothing to listen on: both TCP and WebSocket are disabled"));
      return EXIT_USAGE;
    }
  if (options.listen == NULL)
    options.listen = g_strdup (DEFAULT_LISTEN);
  if (options.name == NULL)
    options.name = g_strdup (DEFAULT_NAME);

  if (options.verbose)
    g_setenv ("G_MESSAGES_DEBUG", "Jstp monje", TRUE);
  if (options.quiet)
    {
      g_log_set_handler ("Jstp", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                         drop_log_cb, NULL);
      g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                         drop_log_cb, NULL);
    }

  store = open_store (&options, &error);
  if (store == NULL)
    {
      /* TRANSLATORS: %s says why, e.g. "cannot open /x/monje.sqlite3: disk I/O error" */
      print_error (_("cannot open the store: %s"), error->message);
      return EXIT_FAILURE;
    }

  engine = jstp_engine_new (options.name);
  jstp_engine_set_kind (engine, "monje");
  network = jstp_network_new (engine);
  service = monje_service_new (engine, store);
  monje_service_set_max_results (service, options.max_results);

  /* Every engine reports how saturated its host is (spec section 8); the
   * disk that matters is the one the documents are on. */
  reporter = jstp_status_reporter_new (engine, network);
  if (options.data_dir)
    jstp_host_metrics_set_data_dir (jstp_status_reporter_get_metrics (reporter),
                                    options.data_dir);

  /* Machine-read (tests, scripts, Tablero): never translated. */
  line = g_string_new ("monje listening:");
  if (options.tcp_port >= 0)
    {
      if (!jstp_network_listen (network, "tcp", options.listen, options.tcp_port, &error))
        {
          print_error (_("cannot listen on %s %s:%d: %s"), "tcp", options.listen,
                       options.tcp_port, listen_error_reason (error));
          return EXIT_FAILURE;
        }
      append_endpoint (line, "tcp", options.listen, jstp_network_get_port (network, "tcp"));
    }
  if (options.ws_port >= 0)
    {
      if (!jstp_network_listen (network, "ws", options.listen, options.ws_port, &error))
        {
          print_error (_("cannot listen on %s %s:%d: %s"), "ws", options.listen,
                       options.ws_port, listen_error_reason (error));
          jstp_network_close (network);
          return EXIT_FAILURE;
        }
      append_endpoint (line, "ws", options.listen, jstp_network_get_port (network, "ws"));
    }
  g_debug ("documents in %s", monje_store_get_backend (store));

  loop = g_main_loop_new (NULL, FALSE);
  sigint_id = g_unix_signal_add (SIGINT, quit_cb, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, quit_cb, loop);

  g_print ("%s\n", line->str);
  fflush (stdout);

  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  jstp_network_close (network);
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  /* Pending store operations hold the store: let them finish first. */
  g_clear_object (&service);
  return EXIT_SUCCESS;
}
