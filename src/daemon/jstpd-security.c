/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <sodium.h>

#include "jstp-keyring.h"
#include "jstpd-security.h"

#define PASSPHRASE_MAX 1024
#define PASSPHRASE_ENV "JSTP_KEY_PASSPHRASE"

/* From the environment (services), or the terminal without echo. */
static char *
read_passphrase (const char  *key,
                 GError     **error)
{
  const char *env = g_getenv (PASSPHRASE_ENV);
  struct termios saved, quiet;
  char *buffer;
  gsize used = 0;
  FILE *tty;
  int c;

  if (env)
    {
      gsize length = strnlen (env, PASSPHRASE_MAX);

      buffer = sodium_malloc (length + 1);
      memcpy (buffer, env, length);
      buffer[length] = '\0';
      return buffer;
    }

  tty = fopen ("/dev/tty", "r+e");
  if (tty == NULL || tcgetattr (fileno (tty), &saved) != 0)
    {
      if (tty)
        fclose (tty);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   /* TRANSLATORS: %s is the name of an environment variable */
                   _("--key needs a passphrase and there is no terminal to ask: set %s"),
                   PASSPHRASE_ENV);
      return NULL;
    }
  quiet = saved;
  quiet.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
  /* TRANSLATORS: %s is a key file or key name */
  fprintf (tty, _("Passphrase for %s: "), key);
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

static JstpKey *
load_key (const char  *key,
          GError     **error)
{
  g_autofree char *path = NULL;
  char *passphrase;
  JstpKey *loaded;

  if (g_file_test (key, G_FILE_TEST_EXISTS))
    path = g_strdup (key);
  else
    {
      g_autoptr(JstpKeyring) keyring = jstp_keyring_new (NULL);
      JstpKey *found = jstp_keyring_reload (keyring, NULL) ? jstp_keyring_lookup (keyring, key)
                                                           : NULL;

      if (found == NULL || !jstp_keyring_is_own (keyring, jstp_key_get_id (found)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       /* TRANSLATORS: %s is what was given to --key */
                       _("--key %s: no such key file, nor a key of yours by that name"), key);
          return NULL;
        }
      path = jstp_keyring_dup_key_path (keyring, jstp_key_get_id (found));
    }

  passphrase = read_passphrase (key, error);
  if (passphrase == NULL)
    return NULL;
  loaded = jstp_key_load (path, passphrase, error);
  sodium_free (passphrase);
  return loaded;
}

/* A key id, a fingerprint as people write it, or a name in the keyring. */
static char *
resolve_trusted (const char  *text,
                 GError     **error)
{
  g_autoptr(GString) id = g_string_new (NULL);
  g_autoptr(JstpKeyring) keyring = NULL;
  JstpKey *found;

  for (const char *p = text; *p; p++)
    if (*p != ' ')
      g_string_append_c (id, g_ascii_tolower (*p));
  if (id->len == JSTP_KEY_ID_LENGTH &&
      strspn (id->str, "abcdefghijklmnopqrstuvwxyz234567") == JSTP_KEY_ID_LENGTH)
    return g_string_free (g_steal_pointer (&id), FALSE);

  keyring = jstp_keyring_new (NULL);
  found = jstp_keyring_reload (keyring, NULL) ? jstp_keyring_lookup (keyring, text) : NULL;
  if (found == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   /* TRANSLATORS: %s is what was given to --trust */
                   _("--trust %s: not a key id, nor a key in your keyring"), text);
      return NULL;
    }
  return g_strdup (jstp_key_get_id (found));
}

JstpSecurity *
jstpd_security_setup (JstpEngine         *engine,
                      const char         *key,
                      const char         *verify,
                      const char * const *trust,
                      GError            **error)
{
  g_autoptr(JstpSecurity) security = NULL;
  JstpVerifyPolicy policy = JSTP_VERIFY_IF_SIGNED;
  gboolean trusting = trust != NULL && trust[0] != NULL;

  if (key == NULL && verify == NULL && !trusting)
    return NULL;
  if (verify && !jstp_verify_policy_from_string (verify, &policy))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   /* TRANSLATORS: do not translate off, if-signed, require */
                   _("--verify must be off, if-signed or require, not “%s”"), verify);
      return NULL;
    }
  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");

  security = jstp_security_new ();
  jstp_security_set_policy (security, policy);
  if (key)
    {
      g_autoptr(JstpKey) loaded = load_key (key, error);

      if (loaded == NULL)
        return NULL;
      jstp_security_add_key (security, loaded);
      g_debug ("key %s loaded", jstp_key_get_id (loaded));
    }
  if (trusting)
    {
      for (guint i = 0; trust[i]; i++)
        {
          g_autofree char *id = resolve_trusted (trust[i], error);

          if (id == NULL)
            return NULL;
          jstp_security_trust (security, id);
        }
      /* Only trusted keys may write to this engine, on any endpoint. */
      if (!jstp_security_restrict (security, "*", (const char *[]) { "...", NULL }, NULL, error))
        return NULL;
    }
  jstp_security_attach (security, engine);
  g_debug ("verifying dispatches: %s", jstp_verify_policy_to_string (policy));
  return g_steal_pointer (&security);
}
