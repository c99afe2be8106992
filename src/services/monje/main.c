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
#include <stdlib.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "jstp-engine.h"
#include "jstp-host-program.h"
#include "jstp-network.h"
#include "jstp-status-reporter.h"
#include "monje-service.h"
#include "monje-sqlite-store.h"
#ifdef MONJE_HAVE_MONGOC
#include "monje-mongo-store.h"
#endif

#define EXIT_USAGE 2

#define DATABASE_FILE    "monje.sqlite3"

typedef struct {
  JstpHostProgram host;     /* --name, --listen and the ports */
  char *data_dir;
  char *mongodb;
  int max_results;
  char *posts_collection;
  gboolean quiet;
  gboolean verbose;
  gboolean version;
} Options;

static void
options_clear (Options *options)
{
  jstp_host_program_clear (&options->host);
  g_clear_pointer (&options->data_dir, g_free);
  g_clear_pointer (&options->mongodb, g_free);
  g_clear_pointer (&options->posts_collection, g_free);
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

static void
drop_log_cb (const char     *log_domain,
             GLogLevelFlags  log_level,
             const char     *message,
             gpointer        user_data)
{
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
  static const JstpHostProgramDefaults host_defaults = {
    .program = "monje",
    .log_domain = G_LOG_DOMAIN,
    .default_name = "monje",
    .default_tcp_port = 33335,
    .default_ws_port = 33336,
    .name_help = N_("The engine's name in GET [\"jstp\",\"info\"] (default: monje)"),
    .tcp_port_help = N_("TCP port (default 33335; 0 picks a free one, -1 disables TCP)"),
    .ws_port_help = N_("WebSocket port (default 33336; 0 picks a free one, -1 disables "
                       "WebSocket)"),
  };
  g_auto(Options) options = {
    .max_results = 1000,
  };
  const GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &options.data_dir,
      N_("Where the SQLite database lives (default: the user data directory's monje)"),
      N_("DIR") },
    { "mongodb", 0, 0, G_OPTION_ARG_STRING, &options.mongodb,
      N_("Keep the documents in MongoDB instead of SQLite"), N_("URI") },
    { "max-results", 0, 0, G_OPTION_ARG_INT, &options.max_results,
      N_("Documents one list answer holds at most (default 1000)"), N_("N") },
    { "posts-collection", 0, 0, G_OPTION_ARG_STRING, &options.posts_collection,
      N_("Store the posts that arrive from Pajaro in this collection (default: posts; "
         "empty: do not store them)"), N_("NAME") },
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

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  jstp_host_program_init (&options.host, &host_defaults);
  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, jstp_host_program_get_entries (&options.host),
                                     GETTEXT_PACKAGE);
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
  if (!jstp_host_program_check_ports (&options.host, &error))
    {
      print_error ("%s", error->message);
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
  if (!jstp_host_program_resolve (&options.host, &error))
    {
      print_error ("%s", error->message);
      return EXIT_USAGE;
    }

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

  engine = jstp_engine_new (options.host.name);
  jstp_engine_set_kind (engine, "monje");
  network = jstp_network_new (engine);
  service = monje_service_new (engine, store);
  monje_service_set_max_results (service, options.max_results);
  if (options.posts_collection &&
      !monje_service_set_posts_collection (service, options.posts_collection, &error))
    {
      print_error ("--posts-collection: %s", error->message);
      return EXIT_USAGE;
    }

  /* Every engine reports how saturated its host is (spec section 8); the
   * disk that matters is the one the documents are on. */
  reporter = jstp_status_reporter_new (engine, network);
  if (options.data_dir)
    jstp_host_metrics_set_data_dir (jstp_status_reporter_get_metrics (reporter),
                                    options.data_dir);

  if (!jstp_host_program_listen (&options.host, network, &error))
    {
      print_error ("%s", error->message);
      return EXIT_FAILURE;
    }
  g_debug ("documents in %s", monje_store_get_backend (store));

  jstp_host_program_run (&options.host);
  jstp_host_program_shutdown (&options.host);
  /* Pending store operations hold the store: let them finish first. */
  g_clear_object (&service);
  return EXIT_SUCCESS;
}
