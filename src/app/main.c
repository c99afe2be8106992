/* main.c: the tablero program
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "tablero-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (TableroApplication) app = NULL;

  setlocale (LC_ALL, "");
  /* TABLERO_LOCALEDIR: translations of an uninstalled build (tools/run). */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TABLERO_LOCALEDIR") ? g_getenv ("TABLERO_LOCALEDIR")
                                                                  : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("Tablero"));
  app = tablero_application_new (G_APPLICATION_DEFAULT_FLAGS);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
