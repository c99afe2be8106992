/* SPDX-License-Identifier: MIT */
/* jstp keys: the user's keys and the peers they know (JstpKeyring), and
 * the --sign / --encrypt-to options of jstp send. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "jstp-cli-common.h"
#include "jstp-keyring.h"
#include "jstp-security.h"

#define PASSPHRASE_MAX 1024
#define PASSPHRASE_ENV "JSTP_KEY_PASSPHRASE"

/* ---- passphrases ------------------------------------------------------- */

void
jstp_cli_passphrase_free (char *passphrase)
{
  if (passphrase)
    sodium_free (passphrase);
}

/* One line from the terminal with echo off, into locked memory. */
static char *
prompt_tty (const char  *prompt,
            GError     **error)
{
  struct termios saved, quiet;
  char *buffer;
  gsize used = 0;
  FILE *tty;
  int c;

  tty = fopen ("/dev/tty", "r+e");
  if (tty == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   /* TRANSLATORS: %s is the name of an environment variable */
                   _("no terminal to ask for the passphrase: set %s"), PASSPHRASE_ENV);
      return NULL;
    }
  if (tcgetattr (fileno (tty), &saved) != 0)
    {
      fclose (tty);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("no terminal to ask for the passphrase: set %s"), PASSPHRASE_ENV);
      return NULL;
    }
  quiet = saved;
  quiet.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
  quiet.c_lflag |= ICANON;
  fputs (prompt, tty);
  fflush (tty);
  tcsetattr (fileno (tty), TCSAFLUSH, &quiet);

  buffer = sodium_malloc (PASSPHRASE_MAX + 1);
  while ((c = fgetc (tty)) != EOF && c != '\n' && c != '\r')
    if (used < PASSPHRASE_MAX)
      buffer[used++] = (char) c;
  buffer[used] = '\0';

  tcsetattr (fileno (tty), TCSAFLUSH, &saved);
  fputc ('\n', tty);
  fclose (tty);
  return buffer;
}

char *
jstp_cli_read_passphrase (const char  *prompt,
                          gboolean     confirm,
                          GError     **error)
{
  const char *env = g_getenv (PASSPHRASE_ENV);
  char *first;
  char *second;
  gboolean same;

  if (env != NULL)
    {
      gsize length = strnlen (env, PASSPHRASE_MAX);
      char *copy = sodium_malloc (length + 1);

      memcpy (copy, env, length);
      copy[length] = '\0';
      return copy;
    }

  first = prompt_tty (prompt, error);
  if (first == NULL || !confirm)
    return first;
  second = prompt_tty (_("Repeat the passphrase: "), error);
  if (second == NULL)
    {
      jstp_cli_passphrase_free (first);
      return NULL;
    }
  same = strcmp (first, second) == 0;
  jstp_cli_passphrase_free (second);
  if (!same)
    {
      jstp_cli_passphrase_free (first);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("the passphrases differ"));
      return NULL;
    }
  return first;
}

/* ---- shared with jstp send --------------------------------------------- */

static JstpKeyring *
open_keyring (const char  *directory,
              GError     **error)
{
  g_autoptr(JstpKeyring) keyring = jstp_keyring_new (directory);

  if (!jstp_keyring_reload (keyring, error))
    return NULL;
  return g_steal_pointer (&keyring);
}

JstpKey *
jstp_cli_unlock_key (const char  *id_or_name,
                     GError     **error)
{
  g_autoptr(JstpKeyring) keyring = open_keyring (NULL, error);
  g_autofree char *prompt = NULL;
  char *passphrase;
  JstpKey *key;

  if (keyring == NULL)
    return NULL;
  if (jstp_keyring_lookup (keyring, id_or_name) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   /* TRANSLATORS: %s is a key name or key id the user gave */
                   _("no key “%s”: see “jstp keys list”"), id_or_name);
      return NULL;
    }
  /* TRANSLATORS: %s is the name or id of the user's key */
  prompt = g_strdup_printf (_("Passphrase for key %s: "), id_or_name);
  passphrase = jstp_cli_read_passphrase (prompt, FALSE, error);
  if (passphrase == NULL)
    return NULL;
  key = jstp_keyring_unlock (keyring, id_or_name, passphrase, error);
  jstp_cli_passphrase_free (passphrase);
  return key;
}

gboolean
jstp_cli_secure_dispatch (JstpDispatch  *dispatch,
                          const char    *sign_key,
                          const char    *encrypt_to,
                          GError       **error)
{
  g_autoptr(JstpKey) key = NULL;
  g_autoptr(JstpKeyring) keyring = NULL;
  JstpKey *recipient = NULL;

  if (sign_key == NULL && encrypt_to == NULL)
    return TRUE;
  if (sign_key == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("--encrypt-to needs --sign KEY: the recipient checks who wrote it"));
      return FALSE;
    }
  if (encrypt_to)
    {
      keyring = open_keyring (NULL, error);
      if (keyring == NULL)
        return FALSE;
      recipient = jstp_keyring_lookup (keyring, encrypt_to);
      if (recipient == NULL || !jstp_key_has_box (recipient))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       /* TRANSLATORS: %s is a peer's name; "jstp keys import" is a command */
                       _("no key “%s” to encrypt to: import it with “jstp keys import”"),
                       encrypt_to);
          return FALSE;
        }
      if (jstp_dispatch_get_body_json (dispatch) == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("--encrypt-to needs a BODY-JSON to encrypt"));
          return FALSE;
        }
    }

  key = jstp_cli_unlock_key (sign_key, error);
  if (key == NULL)
    return FALSE;
  if (recipient && !jstp_security_encrypt (dispatch, key, recipient, error))
    return FALSE;
  return jstp_security_sign (dispatch, key, recipient ? jstp_key_get_id (recipient) : NULL,
                             error);
}

/* ---- the subcommands --------------------------------------------------- */

typedef struct {
  const char *directory;
  gboolean force;
} KeysOptions;

static int
fail (GError *error)
{
  jstp_cli_error ("%s", error->message);
  return JSTP_CLI_EXIT_STATUS;
}

static void
print_key (JstpKey     *key,
           JstpKeyring *keyring)
{
  g_autofree char *fingerprint = jstp_key_dup_fingerprint (key);
  gboolean own = jstp_keyring_is_own (keyring, jstp_key_get_id (key));
  const char *name = jstp_key_get_name (key);

  g_print ("%-5s %-9s %-20s %s\n",
           /* TRANSLATORS: the kind column of "jstp keys list": one of the user's keys */
           own ? C_("key kind", "own")
               /* TRANSLATORS: the kind column of "jstp keys list": someone else's key */
               : C_("key kind", "peer"),
           jstp_key_get_trusted (key) ? C_("key trust", "trusted") : C_("key trust", "-"),
           name ? name : "-", fingerprint);
}

static int
keys_generate (KeysOptions  *options,
               int           argc,
               char        **argv)
{
  g_autoptr(JstpKeyring) keyring = NULL;
  g_autoptr(JstpKey) key = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *fingerprint = NULL;
  char *passphrase;

  if (argc != 2)
    return jstp_cli_usage_error ("keys", _("keys generate needs a NAME"));
  keyring = open_keyring (options->directory, &error);
  if (keyring == NULL)
    return fail (error);

  passphrase = jstp_cli_read_passphrase (_("Passphrase for the new key: "), TRUE, &error);
  if (passphrase == NULL)
    return fail (error);
  if (*passphrase == '\0')
    {
      jstp_cli_passphrase_free (passphrase);
      return jstp_cli_usage_error ("keys", _("a key needs a passphrase: it is never stored "
                                             "in the clear"));
    }
  key = jstp_keyring_generate (keyring, argv[1], passphrase, &error);
  jstp_cli_passphrase_free (passphrase);
  if (key == NULL)
    return fail (error);

  fingerprint = jstp_key_dup_fingerprint (key);
  /* TRANSLATORS: first %s is the key's name, second its fingerprint */
  g_printerr (_("Generated key %s, fingerprint %s\n"), argv[1], fingerprint);
  g_print ("%s\n", jstp_key_get_id (key));
  return JSTP_CLI_EXIT_OK;
}

static int
keys_list (KeysOptions  *options,
           int           argc,
           char        **argv)
{
  g_autoptr(JstpKeyring) keyring = NULL;
  g_autoptr(GError) error = NULL;
  guint n;

  if (argc != 1)
    return jstp_cli_usage_error ("keys", _("keys list takes no arguments"));
  keyring = open_keyring (options->directory, &error);
  if (keyring == NULL)
    return fail (error);

  n = g_list_model_get_n_items (G_LIST_MODEL (keyring));
  if (n == 0)
    {
      g_printerr (_("No keys yet: “jstp keys generate NAME” makes one.\n"));
      return JSTP_CLI_EXIT_OK;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JstpKey) key = g_list_model_get_item (G_LIST_MODEL (keyring), i);

      print_key (key, keyring);
    }
  return JSTP_CLI_EXIT_OK;
}

static JstpKey *
lookup_or_fail (JstpKeyring *keyring,
                const char  *id_or_name)
{
  JstpKey *key = jstp_keyring_lookup (keyring, id_or_name);

  if (key == NULL)
    jstp_cli_error (_("no key “%s”: see “jstp keys list”"), id_or_name);
  return key;
}

static int
keys_fingerprint (KeysOptions  *options,
                  int           argc,
                  char        **argv)
{
  g_autoptr(JstpKeyring) keyring = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *fingerprint = NULL;
  JstpKey *key;

  if (argc != 2)
    return jstp_cli_usage_error ("keys", _("keys fingerprint needs a NAME or KEY-ID"));
  keyring = open_keyring (options->directory, &error);
  if (keyring == NULL)
    return fail (error);
  key = lookup_or_fail (keyring, argv[1]);
  if (key == NULL)
    return JSTP_CLI_EXIT_STATUS;
  fingerprint = jstp_key_dup_fingerprint (key);
  g_print ("%s\n", fingerprint);
  return JSTP_CLI_EXIT_OK;
}

static int
keys_export (KeysOptions  *options,
             int           argc,
             char        **argv)
{
  g_autoptr(JstpKeyring) keyring = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *card = NULL;

  if (argc != 2 && argc != 3)
    return jstp_cli_usage_error ("keys", _("keys export needs a NAME or KEY-ID, and maybe a FILE"));
  keyring = open_keyring (options->directory, &error);
  if (keyring == NULL)
    return fail (error);
  if (lookup_or_fail (keyring, argv[1]) == NULL)
    return JSTP_CLI_EXIT_STATUS;
  card = jstp_keyring_export (keyring, argv[1], &error);
  if (card == NULL)
    return fail (error);

  if (argc == 3 && !g_str_equal (argv[2], "-"))
    {
      g_autofree char *text = g_strconcat (card, "\n", NULL);

      /* Public, but written like the rest of the keyring. */
      if (!g_file_set_contents_full (argv[2], text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                     &error))
        return fail (error);
      return JSTP_CLI_EXIT_OK;
    }
  g_print ("%s\n", card);
  return JSTP_CLI_EXIT_OK;
}

static int
keys_import (KeysOptions  *options,
             int           argc,
             char        **argv)
{
  g_autoptr(JstpKeyring) keyring = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *card = NULL;
  g_autofree char *fingerprint = NULL;
  JstpKey *key;

  if (argc != 3)
    return jstp_cli_usage_error ("keys", _("keys import needs a NAME and a FILE (- for standard "
                                           "input)"));
  if (g_str_equal (argv[2], "-"))
    card = jstp_cli_read_stdin (&error);
  else
    g_file_get_contents (argv[2], &card, NULL, &error);
  if (card == NULL)
    return fail (error);
  g_strstrip (card);

  keyring = open_keyring (options->directory, &error);
  if (keyring == NULL)
    return fail (error);
  key = jstp_keyring_import (keyring, argv[1], card, &error);
  if (key == NULL)
    return fail (error);

  fingerprint = jstp_key_dup_fingerprint (key);
  /* TRANSLATORS: first %s is the peer's name, second the key's fingerprint */
  g_print (_("Imported %s, fingerprint %s\n"), argv[1], fingerprint);
  g_print (_("Compare the fingerprint with its owner before “jstp keys trust %s”.\n"), argv[1]);
  return JSTP_CLI_EXIT_OK;
}

static int
keys_trust (KeysOptions  *options,
            int           argc,
            char        **argv,
            gboolean      trusted)
{
  g_autoptr(JstpKeyring) keyring = NULL;
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    return jstp_cli_usage_error ("keys", trusted ? _("keys trust needs a NAME or KEY-ID")
                                                 : _("keys untrust needs a NAME or KEY-ID"));
  keyring = open_keyring (options->directory, &error);
  if (keyring == NULL)
    return fail (error);
  if (lookup_or_fail (keyring, argv[1]) == NULL)
    return JSTP_CLI_EXIT_STATUS;
  if (!jstp_keyring_set_trusted (keyring, argv[1], trusted, &error))
    return fail (error);
  return JSTP_CLI_EXIT_OK;
}

static int
keys_remove (KeysOptions  *options,
             int           argc,
             char        **argv)
{
  g_autoptr(JstpKeyring) keyring = NULL;
  g_autoptr(GError) error = NULL;
  JstpKey *key;

  if (argc != 2)
    return jstp_cli_usage_error ("keys", _("keys remove needs a NAME or KEY-ID"));
  keyring = open_keyring (options->directory, &error);
  if (keyring == NULL)
    return fail (error);
  key = lookup_or_fail (keyring, argv[1]);
  if (key == NULL)
    return JSTP_CLI_EXIT_STATUS;
  if (jstp_keyring_is_own (keyring, jstp_key_get_id (key)) && !options->force)
    {
      jstp_cli_error (_("“%s” is one of your own keys: removing it destroys it for good. "
                        "Add --force to do so."), argv[1]);
      return JSTP_CLI_EXIT_USAGE;
    }
  if (!jstp_keyring_remove (keyring, argv[1], &error))
    return fail (error);
  return JSTP_CLI_EXIT_OK;
}

int
jstp_cli_keys (int    argc,
               char **argv)
{
  KeysOptions options = { 0 };
  g_autofree char *directory = NULL;
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &directory,
      N_("The keyring directory (default $JSTP_KEYS_DIR, or ~/.local/share/jstp/keys)"),
      N_("DIR") },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &options.force,
      N_("Let “remove” destroy one of your own keys"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *command;

  context = g_option_context_new (_("COMMAND [ARGUMENTS]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Manages your JSTP keys and the public keys of your peers.\n"
      "\n"
      "Commands:\n"
      "  generate NAME         make a key of your own, protected by a passphrase\n"
      "  list                  your keys and your peers', with their fingerprints\n"
      "  fingerprint KEY       the fingerprint to compare with the key's owner\n"
      "  export KEY [FILE]     the public key card, to give to peers\n"
      "  import NAME FILE      add a peer's public key card under NAME (- reads stdin)\n"
      "  trust KEY             trust a peer's key (after comparing fingerprints)\n"
      "  untrust KEY           stop trusting it\n"
      "  remove KEY            forget a peer's key (your own needs --force)\n"
      "\n"
      "KEY is a name, a key id or a fingerprint."));
  g_option_context_set_description (context,
    _("The passphrase is read from the terminal without echo, or from the\n"
      "JSTP_KEY_PASSPHRASE environment variable when it is set. Secret keys are\n"
      "stored encrypted with it (Argon2id and XSalsa20-Poly1305), mode 0600, and\n"
      "are refused when other users can read them.\n"
      "\n"
      "Examples:\n"
      "  jstp keys generate laptop\n"
      "  jstp keys export laptop > laptop.jstpkey\n"
      "  jstp keys import bob bob.jstpkey\n"
      "  jstp keys fingerprint bob\n"
      "  jstp keys trust bob\n"
      "  jstp send --sign laptop --encrypt-to bob POST tcp://10.0.0.9 '[\"inbox\"]' '\"hi\"'\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return jstp_cli_usage_error ("keys", "%s", error->message);
  options.directory = directory;

  if (argc < 2)
    return jstp_cli_usage_error ("keys", _("keys needs a command: generate, list, fingerprint, "
                                           "export, import, trust, untrust or remove"));
  if (sodium_init () < 0)
    {
      jstp_cli_error ("libsodium could not be initialised");
      return JSTP_CLI_EXIT_STATUS;
    }

  command = argv[1];
  argc--;
  argv++;
  if (g_str_equal (command, "generate"))
    return keys_generate (&options, argc, argv);
  if (g_str_equal (command, "list"))
    return keys_list (&options, argc, argv);
  if (g_str_equal (command, "fingerprint"))
    return keys_fingerprint (&options, argc, argv);
  if (g_str_equal (command, "export"))
    return keys_export (&options, argc, argv);
  if (g_str_equal (command, "import"))
    return keys_import (&options, argc, argv);
  if (g_str_equal (command, "trust"))
    return keys_trust (&options, argc, argv, TRUE);
  if (g_str_equal (command, "untrust"))
    return keys_trust (&options, argc, argv, FALSE);
  if (g_str_equal (command, "remove"))
    return keys_remove (&options, argc, argv);
  /* TRANSLATORS: %s is what the user typed after "jstp keys" */
  return jstp_cli_usage_error ("keys", _("unknown keys command “%s”"), command);
}
