/* SPDX-License-Identifier: MIT */
/* jstp: a command-line JSTP client. Each subcommand lives in its own file
 * and is one row of the table below. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "jstp-cli-common.h"

/* To add a subcommand: write jstp-cli-NAME.c with `int jstp_cli_NAME (int
 * argc, char **argv)` (argv[0] is the subcommand's name), declare it in
 * jstp-cli-common.h, add it to meson.build and a row here. */
static const JstpCliCommand commands[] = {
  { "send", N_("METHOD HOST RESOURCE-JSON [BODY-JSON]"),
    N_("Send a dispatch and print its answers"), jstp_cli_send },
  { "bind", N_("HOST METHOD PATTERN-JSON"),
    N_("Subscribe to an endpoint and print what arrives"), jstp_cli_bind },
  { "info", N_("HOST"),
    N_("Show what an engine says about itself"), jstp_cli_info },
  { "status", N_("HOST…"),
    N_("Watch how saturated engines are, in a live table"), jstp_cli_status },
  { "keys", N_("COMMAND [ARGUMENTS]"),
    N_("Manage your keys and your peers' public keys"), jstp_cli_keys },
};

static const JstpCliCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

static void
print_help (FILE *out)
{
  guint width = 0;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    width = MAX (width, strlen (commands[i].name));

  fprintf (out, "%s\n  jstp %s\n\n", _("Usage:"), _("COMMAND [OPTION…] ARGUMENTS"));
  fprintf (out, "%s\n\n",
           _("A command-line client for JSTP engines: send dispatches, subscribe to\n"
             "endpoints and inspect engines over TCP or WebSocket."));
  fprintf (out, "%s\n", _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      fprintf (out, "  %-*s  %s\n", (int) width, commands[i].name, _(commands[i].summary));
      fprintf (out, "  %-*s    jstp %s %s\n", (int) width, "", commands[i].name,
               _(commands[i].parameters));
    }
  fprintf (out, "\n%s\n",
           _("HOST is tcp://ADDRESS:PORT or ws://ADDRESS:PORT (IPv6 addresses in\n"
             "brackets); without a scheme it is tcp, and without a port 33333 for tcp\n"
             "and 33334 for ws."));
  fprintf (out, "\n%s\n",
           _("Exit status: 0 success (a 2xx answer), 1 an answer with another status,\n"
             "2 bad arguments, 3 the host cannot be reached or nothing answered in time."));
  fprintf (out, "\n%s\n",
           _("Examples:\n"
             "  jstp info tcp://127.0.0.1:33333\n"
             "  jstp send GET tcp://127.0.0.1:33333 '[\"user\",42]'\n"
             "  jstp bind ws://127.0.0.1:33334 POST '[\"chat\",\"...\"]'"));
  fprintf (out, "\n%s\n", _("Run “jstp COMMAND --help” for the options of a command."));
}

int
main (int    argc,
      char **argv)
{
  const JstpCliCommand *command;
  g_autofree char *prgname = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* stdout carries JSON; log messages must never mix with it. */
  g_log_writer_default_set_use_stderr (TRUE);

  if (argc < 2)
    {
      print_help (stderr);
      return JSTP_CLI_EXIT_USAGE;
    }

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "-?"))
    {
      print_help (stdout);
      return JSTP_CLI_EXIT_OK;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("jstp %s\n", PACKAGE_VERSION);
      return JSTP_CLI_EXIT_OK;
    }

  /* "jstp help send" is "jstp send --help". */
  if (g_str_equal (argv[1], "help"))
    {
      char *help_argv[] = { NULL, (char *) "--help", NULL };

      if (argc < 3)
        {
          print_help (stdout);
          return JSTP_CLI_EXIT_OK;
        }
      command = find_command (argv[2]);
      if (command == NULL)
        return jstp_cli_usage_error (NULL, _("unknown command “%s”"), argv[2]);
      prgname = g_strdup_printf ("jstp %s", command->name);
      g_set_prgname (prgname);
      help_argv[0] = (char *) command->name;
      return command->run (2, help_argv);
    }

  if (argv[1][0] == '-')
    return jstp_cli_usage_error (NULL, _("unknown option “%s”; options go after the command"),
                                 argv[1]);

  command = find_command (argv[1]);
  if (command == NULL)
    /* TRANSLATORS: %s is what the user typed as a subcommand */
    return jstp_cli_usage_error (NULL, _("unknown command “%s”"), argv[1]);

  /* GOptionContext prints "Usage: <prgname> ..." in --help. */
  prgname = g_strdup_printf ("jstp %s", command->name);
  g_set_prgname (prgname);
  return command->run (argc - 1, argv + 1);
}
