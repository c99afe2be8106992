/* SPDX-License-Identifier: MIT */
/* pajaro: live posts from social networks as JSTP dispatches.
 *
 * Listens like jstpd, reads the Twitter/X filtered stream and Mastodon's
 * streaming API, and emits each post as POST ["pajaro","posts",TAG] (see
 * pajaro-service.h). Everything runs on the main context; SIGINT and
 * SIGTERM stop it cleanly. */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n.h>
#include <sodium.h>

#include "jstp-engine.h"
#include "jstp-host-program.h"
#include "jstp-network.h"
#include "jstp-status-reporter.h"
#include "pajaro-mastodon-source.h"
#include "pajaro-service.h"
#include "pajaro-twitter-source.h"

#define EXIT_USAGE 2

#define TWITTER_BEARER_ENV "PAJARO_TWITTER_BEARER"
#define MASTODON_TOKEN_ENV "PAJARO_MASTODON_TOKEN"

typedef struct {
  JstpHostProgram host;     /* --name, --listen and the ports */
  char *twitter_bearer;
  char *twitter_url;
  char *mastodon_url;
  char *mastodon_token;
  char **tracks;
  int dedupe_window;
  gint64 max_line;
  int stats_interval;
  gboolean quiet;
  gboolean verbose;
  gboolean version;
} Options;

static void
clear_secret (char **secret)
{
  if (*secret)
    sodium_memzero (*secret, strlen (*secret));
  g_clear_pointer (secret, g_free);
}

static void
options_clear (Options *options)
{
  jstp_host_program_clear (&options->host);
  clear_secret (&options->twitter_bearer);
  g_clear_pointer (&options->twitter_url, g_free);
  g_clear_pointer (&options->mastodon_url, g_free);
  clear_secret (&options->mastodon_token);
  g_clear_pointer (&options->tracks, g_strfreev);
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
  g_printerr ("pajaro: %s\n", message);
}

static void
drop_log_cb (const char     *log_domain,
             GLogLevelFlags  log_level,
             const char     *message,
             gpointer        user_data)
{
}

/* A flag wins over the environment; the variable is removed either way,
 * so that nothing this process starts inherits the secret. */
static void
secret_from_env (char       **value,
                 const char  *variable)
{
  const char *env = g_getenv (variable);

  if (*value == NULL && env && *env)
    *value = g_strdup (env);
  g_unsetenv (variable);
}

static void
tracked_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autofree char *tag = user_data;
  g_autofree char *body = NULL;
  guint status;

  body = pajaro_service_track_finish (PAJARO_SERVICE (object), result, &status);
  if (status != JSTP_STATUS_OK)
    /* TRANSLATORS: %s is a tag, %u a status code, the last %s the details (JSON) */
    g_warning (_("cannot track %s (%u): %s"), tag, status, body);
  else
    g_debug ("tracking %s: %s", tag, body);
}

int
main (int    argc,
      char **argv)
{
  static const JstpHostProgramDefaults host_defaults = {
    .program = "pajaro",
    .log_domain = G_LOG_DOMAIN,
    .default_name = "pajaro",
    .default_tcp_port = 33337,
    .default_ws_port = 33338,
    .name_help = N_("The engine's name in GET [\"jstp\",\"info\"] (default: pajaro)"),
    .tcp_port_help = N_("TCP port (default 33337; 0 picks a free one, -1 disables TCP)"),
    .ws_port_help = N_("WebSocket port (default 33338; 0 picks a free one, -1 disables "
                       "WebSocket)"),
  };
  g_auto(Options) options = {
    .dedupe_window = PAJARO_SERVICE_DEFAULT_DEDUPE_WINDOW,
    .stats_interval = PAJARO_SERVICE_DEFAULT_STATS_INTERVAL,
  };
  const GOptionEntry entries[] = {
    { "twitter-bearer", 0, 0, G_OPTION_ARG_STRING, &options.twitter_bearer,
      N_("The Twitter/X app's bearer token (better: the PAJARO_TWITTER_BEARER variable)"),
      N_("TOKEN") },
    { "twitter-url", 0, 0, G_OPTION_ARG_STRING, &options.twitter_url,
      N_("Where the Twitter/X API is (default https://api.twitter.com)"), N_("URL") },
    { "mastodon-url", 0, 0, G_OPTION_ARG_STRING, &options.mastodon_url,
      N_("The Mastodon server (or its streaming host) to read"), N_("URL") },
    { "mastodon-token", 0, 0, G_OPTION_ARG_STRING, &options.mastodon_token,
      N_("A Mastodon access token (better: the PAJARO_MASTODON_TOKEN variable)"),
      N_("TOKEN") },
    { "track", 't', 0, G_OPTION_ARG_STRING_ARRAY, &options.tracks,
      N_("Follow a hashtag from the start; repeatable"), N_("TAG") },
    { "dedupe-window", 0, 0, G_OPTION_ARG_INT, &options.dedupe_window,
      N_("Seconds a post id is remembered to drop duplicates (default 600)"), N_("SECONDS") },
    { "max-line", 0, 0, G_OPTION_ARG_INT64, &options.max_line,
      N_("Longest stream line or event accepted (default 524288)"), N_("BYTES") },
    { "stats-interval", 0, 0, G_OPTION_ARG_INT, &options.stats_interval,
      N_("Milliseconds between PUT [\"pajaro\",\"stats\"] (default 1000; 0: none)"),
      N_("MS") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &options.quiet,
      N_("Print only warnings and errors"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options.verbose,
      N_("Print debugging messages (connections, reconnections, dropped posts)"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options.version,
      N_("Print the version and exit"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpEngine) engine = NULL;
  g_autoptr(JstpNetwork) network = NULL;
  g_autoptr(JstpStatusReporter) reporter = NULL;
  g_autoptr(PajaroService) service = NULL;
  g_autoptr(PajaroTwitterSource) twitter = NULL;
  g_autoptr(PajaroMastodonSource) mastodon = NULL;
  g_autoptr(GPtrArray) tracks =
    g_ptr_array_new_with_free_func ((GDestroyNotify) pajaro_track_unref);

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
    _("Live posts from social networks as a JSTP engine. It reads the Twitter/X\n"
      "filtered stream and Mastodon's streaming API and emits each post as\n"
      "  POST [\"pajaro\",\"posts\",TAG]\n"
      "so a client that BINDs that endpoint receives posts live. Tags are followed\n"
      "with PUT [\"pajaro\",\"track\",TAG] and dropped with DELETE; GET [\"pajaro\",\"track\"]\n"
      "lists them and GET [\"pajaro\",\"stats\"] answers what was delivered and dropped\n"
      "and how each connection is doing.\n"
      "\n"
      "Once listening it prints one line on standard output, such as\n"
      "  pajaro listening: tcp 127.0.0.1:33337 ws 127.0.0.1:33338\n"
      "and runs until SIGINT or SIGTERM."));
  g_option_context_set_description (context,
    _("Sources: Twitter/X is read when a bearer token is given, Mastodon when\n"
      "--mastodon-url is. Tokens are best passed in the environment variables\n"
      "PAJARO_TWITTER_BEARER and PAJARO_MASTODON_TOKEN, which other users cannot read\n"
      "in the process list.\n"
      "\n"
      "A PUT body may ask for a keyword instead of the hashtag, {\"keyword\": \"rust lang\"},\n"
      "or for Mastodon's whole public timeline, {\"timeline\": \"public\"}.\n"
      "\n"
      "Exit status: 0 after a signal, 1 when it cannot start (a port in use), 2 for\n"
      "bad flags.\n"
      "\n"
      "Examples:\n"
      "  PAJARO_TWITTER_BEARER=AAAA... pajaro --track rust\n"
      "  pajaro --mastodon-url https://mastodon.social --track gnome --track linux\n"
      "  pajaro --tcp-port 0 --ws-port 0 --mastodon-url http://127.0.0.1:8080\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      print_error ("%s", error->message);
      g_printerr (_("Run “pajaro --help” to see the options.\n"));
      return EXIT_USAGE;
    }
  if (options.version)
    {
      g_print ("pajaro %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (argc > 1)
    {
      /* TRANSLATORS: %s is an argument the user gave that pajaro does not take */
      print_error (_("unexpected argument “%s”"), argv[1]);
      g_printerr (_("Run “pajaro --help” to see the options.\n"));
      return EXIT_USAGE;
    }
  if (!jstp_host_program_check_ports (&options.host, &error))
    {
      print_error ("%s", error->message);
      return EXIT_USAGE;
    }
  if (options.dedupe_window < 0 || options.stats_interval < 0)
    {
      print_error (_("--dedupe-window and --stats-interval cannot be negative"));
      return EXIT_USAGE;
    }
  if (options.max_line != 0 && (options.max_line < 1024 || options.max_line > G_MAXUINT32))
    {
      print_error (_("--max-line must be between 1024 and 4294967295"));
      return EXIT_USAGE;
    }
  for (guint i = 0; options.tracks && options.tracks[i]; i++)
    {
      g_autofree char *tag = pajaro_track_normalize_tag (options.tracks[i],
                                                         strlen (options.tracks[i]), &error);

      if (tag == NULL)
        {
          /* TRANSLATORS: %s is the tag, then why it is refused */
          print_error (_("--track “%s”: %s"), options.tracks[i], error->message);
          return EXIT_USAGE;
        }
      g_ptr_array_add (tracks, pajaro_track_new (tag));
    }

  secret_from_env (&options.twitter_bearer, TWITTER_BEARER_ENV);
  secret_from_env (&options.mastodon_token, MASTODON_TOKEN_ENV);
  if (options.twitter_url && options.twitter_bearer == NULL)
    {
      print_error (_("--twitter-url needs a bearer token: --twitter-bearer or "
                     "PAJARO_TWITTER_BEARER"));
      return EXIT_USAGE;
    }
  if (options.mastodon_token && options.mastodon_url == NULL)
    {
      print_error (_("a Mastodon token needs --mastodon-url"));
      return EXIT_USAGE;
    }
  if (!jstp_host_program_resolve (&options.host, &error))
    {
      print_error ("%s", error->message);
      return EXIT_USAGE;
    }

  /* Every message goes to stderr: stdout carries the listening line alone. */
  g_log_writer_default_set_use_stderr (TRUE);
  if (options.verbose)
    g_setenv ("G_MESSAGES_DEBUG", "Jstp pajaro", TRUE);
  if (options.quiet)
    {
      g_log_set_handler ("Jstp", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                         drop_log_cb, NULL);
      g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                         drop_log_cb, NULL);
    }

  if (options.twitter_bearer)
    {
      twitter = pajaro_twitter_source_new (options.twitter_url ? options.twitter_url
                                                               : PAJARO_TWITTER_DEFAULT_URL,
                                           options.twitter_bearer, &error);
      if (twitter == NULL)
        {
          print_error ("--twitter-url: %s", error->message);
          return EXIT_USAGE;
        }
      clear_secret (&options.twitter_bearer);
      if (options.max_line)
        g_object_set (twitter, "max-line", (guint64) options.max_line, NULL);
    }
  if (options.mastodon_url)
    {
      mastodon = pajaro_mastodon_source_new (options.mastodon_url, options.mastodon_token,
                                             &error);
      if (mastodon == NULL)
        {
          print_error ("--mastodon-url: %s", error->message);
          return EXIT_USAGE;
        }
      clear_secret (&options.mastodon_token);
      if (options.max_line)
        g_object_set (mastodon, "max-event", (guint64) options.max_line, NULL);
    }
  if (twitter == NULL && mastodon == NULL)
    print_error (_("no source configured (give a Twitter bearer token or --mastodon-url): "
                   "tracks will be refused"));

  engine = jstp_engine_new (options.host.name);
  jstp_engine_set_kind (engine, "pajaro");
  network = jstp_network_new (engine);
  reporter = jstp_status_reporter_new (engine, network);
  service = pajaro_service_new (engine);
  pajaro_service_set_dedupe_window (service, options.dedupe_window);
  pajaro_service_set_stats_interval (service, options.stats_interval);
  if (twitter)
    pajaro_service_add_source (service, PAJARO_SOURCE (twitter));
  if (mastodon)
    pajaro_service_add_source (service, PAJARO_SOURCE (mastodon));

  if (!jstp_host_program_listen (&options.host, network, &error))
    {
      print_error ("%s", error->message);
      return EXIT_FAILURE;
    }

  pajaro_service_start (service);
  for (guint i = 0; i < tracks->len; i++)
    {
      PajaroTrack *track = g_ptr_array_index (tracks, i);

      pajaro_service_track_async (service, track, NULL, tracked_cb, g_strdup (track->tag));
    }

  jstp_host_program_run (&options.host);
  pajaro_service_stop (service);
  jstp_host_program_shutdown (&options.host);
  return EXIT_SUCCESS;
}
