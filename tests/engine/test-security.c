/* SPDX-License-Identifier: MIT */
/* test-security.c: the security extension in process: canonical JSON
 * vectors, keys and key files, the keyring, signatures, envelopes and the
 * engine's admission of what it receives (security.md catalogue F and H). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "jstp-canonical.h"
#include "jstp-engine.h"
#include "jstp-key.h"
#include "jstp-keyring.h"
#include "jstp-security.h"
#include "test-connection.h"

#define PROTO "\"protocol\":[\"JSTP\",\"0.5\"]"

static JstpKey *alice, *bob, *carol, *mallory;

/* ---- helpers ----------------------------------------------------------- */

static JstpDispatch *
reparse (JstpDispatch *dispatch)
{
  g_autofree char *text = jstp_dispatch_to_string (dispatch);
  g_autoptr(GError) error = NULL;
  JstpDispatch *copy = jstp_dispatch_parse (text, strlen (text), NULL, NULL, &error);

  g_assert_no_error (error);
  return copy;
}

static JstpDispatch *
letter (void)
{
  JstpDispatch *d = jstp_dispatch_new (JSTP_METHOD_POST,
                                       (const char *[]) { "inbox", "bob", NULL });

  g_assert_true (jstp_dispatch_set_body_json (d, "{\"text\":\"attack at dawn\",\"n\":7}", NULL));
  g_assert_true (jstp_dispatch_set_referer_json (d, "{\"name\":\"alice\"}", NULL));
  g_assert_true (jstp_dispatch_set_extension (d, "x-foo", "{\"trace\":[1,2]}", NULL));
  return d;
}

static JstpSecurity *
security_for (JstpKey          *key,
              JstpVerifyPolicy  policy)
{
  JstpSecurity *security = jstp_security_new ();

  if (key)
    jstp_security_add_key (security, key);
  jstp_security_set_policy (security, policy);
  return security;
}

/* Signs the documented way (docs/protocol.md), independently of
 * jstp_security_sign(): M = "JSTP-SIG-V1" NUL C14N({"dispatch": D',
 * "params": P}), with @created and @aud chosen by the test. */
static void
sign_with (JstpDispatch *dispatch,
           JstpKey      *key,
           gint64        created,
           const char   *aud)
{
  g_autofree char *text = NULL;
  g_autoptr(GString) covered = g_string_new ("{");
  g_autoptr(GString) params = NULL;
  g_autoptr(GString) wrapped = NULL;
  g_autofree char *c14n = NULL;
  g_autofree char *key_text = NULL;
  g_autofree char *nonce_text = NULL;
  g_autofree char *sig_text = NULL;
  guint8 nonce[16], sig[64];
  JstpJsonSpan root, name, value;
  JstpJsonIter iter;
  gboolean first = TRUE;
  GString *message;

  jstp_dispatch_set_extension (dispatch, "signature", NULL, NULL);
  text = jstp_dispatch_to_string (dispatch);
  g_assert_true (jstp_json_scan (text, strlen (text), NULL, &root, NULL, 0, NULL, NULL));
  jstp_json_iter_init (&iter, text, root);
  while (jstp_json_iter_next_member (&iter, &name, &value))
    {
      g_autofree char *n = jstp_json_string_dup (text, name, NULL);

      if (g_str_equal (n, "host") || g_str_equal (n, "token") || g_str_has_prefix (n, "hop-"))
        continue;
      if (!first)
        g_string_append_c (covered, ',');
      first = FALSE;
      g_string_append_len (covered, text + name.offset, name.length);
      g_string_append_c (covered, ':');
      g_string_append_len (covered, text + value.offset, value.length);
    }
  g_string_append_c (covered, '}');

  randombytes_buf (nonce, sizeof nonce);
  key_text = jstp_base64url_encode (jstp_key_get_sign_public (key), 32);
  nonce_text = jstp_base64url_encode (nonce, sizeof nonce);
  params = g_string_new (NULL);
  g_string_printf (params, "{\"v\":1,\"alg\":\"ed25519\",\"kid\":\"%s\",\"key\":\"%s\","
                   "\"created\":%" G_GINT64_FORMAT ",\"nonce\":\"%s\"",
                   jstp_key_get_id (key), key_text, created, nonce_text);
  if (aud)
    g_string_append_printf (params, ",\"aud\":\"%s\"", aud);
  g_string_append_c (params, '}');

  wrapped = g_string_new (NULL);
  g_string_printf (wrapped, "{\"dispatch\":%s,\"params\":%s}", covered->str, params->str);
  c14n = jstp_canonical_serialize (wrapped->str, wrapped->len, NULL);
  g_assert_nonnull (c14n);
  message = g_string_new ("JSTP-SIG-V1");
  g_string_append_len (message, "", 1);
  g_string_append (message, c14n);
  g_assert_true (jstp_key_sign (key, (const guint8 *) message->str, message->len, sig));
  g_string_free (message, TRUE);

  sig_text = jstp_base64url_encode (sig, sizeof sig);
  g_string_truncate (params, params->len - 1);
  g_string_append_printf (params, ",\"sig\":\"%s\"}", sig_text);
  g_assert_true (jstp_dispatch_set_extension (dispatch, "signature", params->str, NULL));
}

/* The signature header with one member replaced by raw JSON. */
static void
replace_in_signature (JstpDispatch *dispatch,
                      const char   *member,
                      const char   *json)
{
  const char *header = jstp_dispatch_get_extension (dispatch, "signature");
  g_autoptr(GString) out = g_string_new ("{");
  JstpJsonSpan root, name, value;
  JstpJsonIter iter;
  gboolean first = TRUE;

  g_assert_nonnull (header);
  g_assert_true (jstp_json_scan (header, strlen (header), NULL, &root, NULL, 0, NULL, NULL));
  jstp_json_iter_init (&iter, header, root);
  while (jstp_json_iter_next_member (&iter, &name, &value))
    {
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      g_string_append_len (out, header + name.offset, name.length);
      g_string_append_c (out, ':');
      if (jstp_json_string_equal (header, name, member, FALSE))
        g_string_append (out, json);
      else
        g_string_append_len (out, header + value.offset, value.length);
    }
  g_string_append_c (out, '}');
  g_assert_true (jstp_dispatch_set_extension (dispatch, "signature", out->str, NULL));
}

static char *
signature_member (JstpDispatch *dispatch,
                  const char   *member)
{
  const char *header = jstp_dispatch_get_extension (dispatch, "signature");
  JstpJsonSpan root, name, value;
  JstpJsonIter iter;

  g_assert_true (jstp_json_scan (header, strlen (header), NULL, &root, NULL, 0, NULL, NULL));
  jstp_json_iter_init (&iter, header, root);
  while (jstp_json_iter_next_member (&iter, &name, &value))
    if (jstp_json_string_equal (header, name, member, FALSE))
      return g_strndup (header + value.offset, value.length);
  return NULL;
}

/* "\"<base64url>\"", for JSON. */
static char *
quoted_base64 (const guint8 *data,
               gsize         length)
{
  g_autofree char *text = jstp_base64url_encode (data, length);

  return g_strdup_printf ("\"%s\"", text);
}

static guint
check (JstpSecurity *security,
       JstpDispatch *dispatch)
{
  g_autofree char *message = NULL;
  guint status = jstp_security_check (security, dispatch, TRUE, &message);

  if (status)
    g_test_message ("refused %u: %s", status, message);
  return status;
}

static char *
fixtures_path (const char *name)
{
  const char *dir = g_getenv ("JSTP_FIXTURES_DIR");

  if (dir == NULL)
    g_error ("JSTP_FIXTURES_DIR is not set: run through `meson test`");
  return g_build_filename (dir, name, NULL);
}

/* ---- canonical JSON ---------------------------------------------------- */

static void
test_c14n_vectors (void)
{
  g_autofree char *dir_path = fixtures_path ("c14n");
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *entry;
  guint passed = 0, rejected = 0;

  g_assert_nonnull (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *base = NULL;
      g_autofree char *input_path = NULL;
      g_autofree char *expected_path = NULL;
      g_autofree char *reject_path = NULL;
      g_autofree char *input = NULL;
      g_autofree char *expected = NULL;
      g_autofree char *output = NULL;
      g_autoptr(GError) error = NULL;
      gsize input_length, expected_length;

      if (!g_str_has_suffix (entry, ".json"))
        continue;
      base = g_strndup (entry, strlen (entry) - 5);
      input_path = g_build_filename (dir_path, entry, NULL);
      g_assert_true (g_file_get_contents (input_path, &input, &input_length, NULL));
      output = jstp_canonical_serialize (input, input_length, &error);

      expected_path = g_strconcat (dir_path, "/", base, ".c14n", NULL);
      reject_path = g_strconcat (dir_path, "/", base, ".reject", NULL);
      if (g_file_get_contents (expected_path, &expected, &expected_length, NULL))
        {
          g_test_message ("%s", base);
          g_assert_no_error (error);
          g_assert_cmpstr (output, ==, expected);
          g_assert_cmpuint (strlen (output), ==, expected_length);
          passed++;
        }
      else
        {
          g_autofree char *reason = NULL;

          g_assert_true (g_file_get_contents (reject_path, &reason, NULL, NULL));
          g_strstrip (reason);
          g_test_message ("%s: %s", base, error ? error->message : "(accepted)");
          g_assert_null (output);
          g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
          g_assert_nonnull (strstr (error->message, reason));
          rejected++;
        }
    }
  g_assert_cmpuint (passed, >=, 10);
  g_assert_cmpuint (rejected, >=, 10);
}

static void
test_c14n_key_order (void)
{
  /* U+1F602 is D83D DE02 in UTF-16, before U+FB33; strcmp on UTF-8
   * (F0 9F... against EF AC...) says the opposite. */
  const char *astral = "\xf0\x9f\x98\x82";
  const char *bmp = "\xef\xac\xb3";

  g_assert_cmpint (jstp_canonical_compare_keys (astral, strlen (astral), bmp, strlen (bmp)), <, 0);
  g_assert_cmpint (strcmp (astral, bmp), >, 0);
  g_assert_cmpint (jstp_canonical_compare_keys ("a", 1, "ab", 2), <, 0);
  g_assert_cmpint (jstp_canonical_compare_keys ("b", 1, "ab", 2), >, 0);
  g_assert_cmpint (jstp_canonical_compare_keys ("", 0, "", 0), ==, 0);
}

/* Canonical output is a fixed point and always strict JSON. */
static void
test_c14n_idempotent (void)
{
  const char *inputs[] = {
    "{\"b\":[1,{\"d\":\"\\u001f\\u007f\",\"c\":-5}],\"a\":\"\\ud83d\\ude02\"}",
    "[\"\\u2028\",{},[[]],\"\\\\\\\"\"]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autofree char *once = jstp_canonical_serialize (inputs[i], -1, NULL);
      g_autofree char *twice = jstp_canonical_serialize (once, -1, NULL);

      g_assert_nonnull (once);
      g_assert_cmpstr (once, ==, twice);
      g_assert_null (strchr (once, 0x1f));
    }
}

/* ---- keys -------------------------------------------------------------- */

static void
test_key_seed_vector (void)
{
  guint8 seed[32];
  g_autoptr(JstpKey) a = NULL;
  g_autoptr(JstpKey) b = NULL;
  g_autofree char *fingerprint = NULL;

  for (guint i = 0; i < sizeof seed; i++)
    seed[i] = i;
  a = jstp_key_new_from_seed (seed, sizeof seed);
  b = jstp_key_new_from_seed (seed, sizeof seed);

  /* The vector docs/protocol.md gives for seed 00 01 ... 1f. */
  g_test_message ("kid %s", jstp_key_get_id (a));
  g_assert_cmpstr (jstp_key_get_id (a), ==, jstp_key_get_id (b));
  g_assert_cmpuint (strlen (jstp_key_get_id (a)), ==, JSTP_KEY_ID_LENGTH);
  g_assert_cmpstr (jstp_key_get_id (a), ==, "2r4nvtc4ij7gpxpgs3xyaww4evsmuqbe");
  {
    g_autofree char *sign = jstp_base64url_encode (jstp_key_get_sign_public (a), 32);
    g_autofree char *box = jstp_base64url_encode (jstp_key_get_box_public (a), 32);

    g_assert_cmpstr (sign, ==, "_e5gHZCeJ26RxTI9i8AiVHCobGxSh9q8SQHHc_3uYIk");
    g_assert_cmpstr (box, ==, "bte1szoANe_CGpm9q5uiFARA_saCGd-a_dPp2LuqqDo");
  }
  g_assert_cmpmem (jstp_key_get_box_public (a), 32, jstp_key_get_box_public (b), 32);
  /* Two distinct key pairs, not one converted into the other. */
  g_assert_true (memcmp (jstp_key_get_sign_public (a), jstp_key_get_box_public (a), 32) != 0);

  fingerprint = jstp_key_dup_fingerprint (a);
  g_assert_cmpuint (strlen (fingerprint), ==, 39);
  g_assert_cmpint (fingerprint[4], ==, ' ');
}

static void
test_key_card (void)
{
  g_autofree char *card = NULL;
  g_autoptr(JstpKey) peer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JstpKey) named = jstp_key_generate ();

  jstp_key_set_name (named, "Ana’s laptop");
  card = jstp_key_to_public_json (named);
  g_test_message ("%s", card);
  peer = jstp_key_new_from_public_json (card, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (jstp_key_get_id (peer), ==, jstp_key_get_id (named));
  g_assert_cmpstr (jstp_key_get_name (peer), ==, "Ana’s laptop");
  g_assert_false (jstp_key_has_secret (peer));
  g_assert_cmpmem (jstp_key_get_box_public (peer), 32, jstp_key_get_box_public (named), 32);
  /* Re-exported byte for byte, and canonical. */
  {
    g_autofree char *again = jstp_key_to_public_json (peer);
    g_autofree char *c14n = jstp_canonical_serialize (card, -1, NULL);

    g_assert_cmpstr (again, ==, card);
    g_assert_cmpstr (c14n, ==, card);
  }

  /* H6: a card whose box key, name or id was changed is refused. */
  {
    g_autoptr(JstpKey) other = jstp_key_generate ();
    g_autofree char *other_box = jstp_base64url_encode (jstp_key_get_box_public (other), 32);
    g_autofree char *box = jstp_base64url_encode (jstp_key_get_box_public (named), 32);
    g_autofree char *swapped = NULL;
    g_autofree char *renamed = NULL;
    g_autofree char *reid = NULL;
    g_auto(GStrv) parts = g_strsplit (card, box, 2);
    JstpKey *refused;

    swapped = g_strjoinv (other_box, parts);
    refused = jstp_key_new_from_public_json (swapped, &error);
    g_assert_null (refused);
    g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_SIGNATURE);
    g_clear_error (&error);

    g_strfreev (parts);
    parts = g_strsplit (card, "Ana", 2);
    renamed = g_strjoinv ("Eve", parts);
    g_assert_null (jstp_key_new_from_public_json (renamed, &error));
    g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_SIGNATURE);
    g_clear_error (&error);

    g_strfreev (parts);
    parts = g_strsplit (card, jstp_key_get_id (named), 2);
    reid = g_strjoinv (jstp_key_get_id (other), parts);
    g_assert_null (jstp_key_new_from_public_json (reid, &error));
    g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
    g_clear_error (&error);

    g_assert_null (jstp_key_new_from_public_json ("{\"jstp-key\":2}", &error));
    g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  }
}

/* F8: only canonical unpadded base64url of the exact length decodes. */
static void
test_key_base64 (void)
{
  guint8 bytes[64], out[64];
  g_autofree char *text = NULL;
  g_autofree char *padded = NULL;
  g_autofree char *spaced = NULL;
  g_autofree char *standard = NULL;

  for (guint i = 0; i < sizeof bytes; i++)
    bytes[i] = 0xfb + i;
  text = jstp_base64url_encode (bytes, 64);
  g_assert_cmpuint (strlen (text), ==, 86);
  g_assert_true (jstp_base64url_decode (text, 86, out, 64));
  g_assert_cmpmem (out, 64, bytes, 64);

  g_assert_false (jstp_base64url_decode (text, 85, out, 64));   /* truncated */
  g_assert_false (jstp_base64url_decode (text, 86, out, 63));   /* 63 expected */
  padded = g_strconcat (text, "==", NULL);
  g_assert_false (jstp_base64url_decode (padded, 88, out, 64));
  spaced = g_strdup (text);
  spaced[10] = ' ';
  g_assert_false (jstp_base64url_decode (spaced, 86, out, 64));
  standard = g_strdup (text);
  g_strdelimit (standard, "-", '+');
  g_strdelimit (standard, "_", '/');
  g_assert_cmpstr (standard, !=, text);
  g_assert_false (jstp_base64url_decode (standard, 86, out, 64));
  /* Non-zero trailing bits: "AB" is 0x00 with 4 leftover bits set. */
  g_assert_true (jstp_base64url_decode ("AA", 2, out, 1));
  g_assert_false (jstp_base64url_decode ("AB", 2, out, 1));
}

static void
test_key_seal (void)
{
  const char *plain = "a sealed message";
  g_autoptr(GBytes) sealed = jstp_key_seal (bob, (const guint8 *) plain, strlen (plain));
  g_autoptr(GBytes) opened = NULL;
  g_autofree guint8 *flipped = NULL;
  gsize length;
  const guint8 *data = g_bytes_get_data (sealed, &length);

  g_assert_cmpuint (length, ==, strlen (plain) + 48);
  opened = jstp_key_open (bob, data, length);
  g_assert_nonnull (opened);
  g_assert_cmpmem (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened),
                   plain, strlen (plain));

  /* A wrong recipient, a public-only key, truncations, a flipped bit. */
  g_assert_null (jstp_key_open (carol, data, length));
  {
    g_autofree char *card = jstp_key_to_public_json (bob);
    g_autoptr(JstpKey) public_bob = jstp_key_new_from_public_json (card, NULL);

    g_assert_null (jstp_key_open (public_bob, data, length));
  }
  g_assert_null (jstp_key_open (bob, data, length - 1));
  g_assert_null (jstp_key_open (bob, data, 47));
  g_assert_null (jstp_key_open (bob, data, 0));
  flipped = g_memdup2 (data, length);
  flipped[length / 2] ^= 1;
  g_assert_null (jstp_key_open (bob, flipped, length));
}

/* ---- key files (H1 to H4) ---------------------------------------------- */

static char *
temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("jstp-keys-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir)
    while ((entry = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, entry, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
test_key_file (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "sub", "me.key", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *card = jstp_key_to_public_json (alice);
  g_autoptr(JstpKey) loaded = NULL;
  g_autoptr(JstpKey) public_part = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;

  g_assert_false (jstp_key_save_with_limits (alice, path, "", 1, 8192, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (jstp_key_save_with_limits (alice, path, "correct horse", 1, 8192, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  {
    g_autofree char *parent = g_path_get_dirname (path);

    g_assert_cmpint (g_stat (parent, &st), ==, 0);
    g_assert_cmpuint (st.st_mode & 0777, ==, 0700);
  }

  loaded = jstp_key_load (path, "correct horse", &error);
  g_assert_no_error (error);
  g_assert_true (jstp_key_has_secret (loaded));
  g_assert_cmpstr (jstp_key_get_id (loaded), ==, jstp_key_get_id (alice));
  {
    guint8 sig[64];

    g_assert_true (jstp_key_sign (loaded, (const guint8 *) "x", 1, sig));
    g_assert_true (jstp_key_verify (alice, (const guint8 *) "x", 1, sig));
  }

  public_part = jstp_key_load_public (path, &error);
  g_assert_no_error (error);
  g_assert_false (jstp_key_has_secret (public_part));
  g_assert_cmpstr (jstp_key_get_id (public_part), ==, jstp_key_get_id (alice));

  /* H4: neither the card nor the file holds the secret in the clear. */
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_null (strstr (card, "\"ct\""));
  g_assert_nonnull (strstr (contents, "\"argon2id13\""));
  g_assert_nonnull (strstr (contents, card));

  /* H2: a wrong passphrase is a clean 401. */
  g_assert_null (jstp_key_load (path, "wrong horse", &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_UNAUTHORIZED);
  g_clear_error (&error);

  /* H1: readable by others, writable by the group, or a symbolic link. */
  {
    const guint modes[] = { 0644, 0640, 0604, 0620, 0666 };
    g_autofree char *link = g_build_filename (dir, "link.key", NULL);

    for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
      {
        g_assert_cmpint (g_chmod (path, modes[i]), ==, 0);
        g_assert_null (jstp_key_load (path, "correct horse", &error));
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
        g_assert_nonnull (strstr (error->message, "chmod 600"));
        g_clear_error (&error);
        g_assert_null (jstp_key_load_public (path, &error));
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
        g_clear_error (&error);
      }
    g_assert_cmpint (g_chmod (path, 0600), ==, 0);

    g_assert_cmpint (symlink (path, link), ==, 0);
    g_assert_null (jstp_key_load (link, "correct horse", &error));
    g_assert_nonnull (error);
    g_clear_error (&error);

    /* Owned by another user: only root can arrange that. */
    if (geteuid () == 0)
      {
        g_assert_cmpint (chown (path, 65534, 65534), ==, 0);
        g_assert_null (jstp_key_load (path, "correct horse", &error));
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
        g_assert_nonnull (strstr (error->message, "another user"));
        g_clear_error (&error);
        g_assert_cmpint (chown (path, 0, 0), ==, 0);
      }
    else
      g_test_message ("not root: the other-owner case is skipped");
  }

  /* Saving again replaces the file atomically, still 0600. */
  g_assert_true (jstp_key_save_with_limits (alice, path, "correct horse", 1, 8192, &error));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0600);

  remove_tree (dir);
}

static void
write_private (const char *path,
               const char *contents,
               gssize      length)
{
  g_assert_true (g_file_set_contents_full (path, contents, length,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
}

/* H3: tampered key files fail cleanly, parameter bombs before the KDF. */
static void
test_key_file_tampered (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "me.key", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  struct {
    const char *from, *to;
    gint status;
  } cases[] = {
    { "\"mem\":8192", "\"mem\":1099511627776", JSTP_STATUS_BAD_DISPATCH },
    { "\"ops\":1", "\"ops\":4000000000", JSTP_STATUS_BAD_DISPATCH },
    { "\"alg\":\"argon2id13\"", "\"alg\":\"argon2i13\"", JSTP_STATUS_BAD_DISPATCH },
    { "\"cipher\":\"xsalsa20poly1305\"", "\"cipher\":\"none\"", JSTP_STATUS_BAD_DISPATCH },
    { "\"jstp-secret-key\":1", "\"jstp-secret-key\":2", JSTP_STATUS_BAD_DISPATCH },
    { "\"ops\":1", "\"ops\":2", JSTP_STATUS_UNAUTHORIZED },   /* another key: MAC fails */
  };

  g_assert_true (jstp_key_save_with_limits (alice, path, "pw", 1, 8192, &error));
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(GStrv) parts = g_strsplit (contents, cases[i].from, 2);
      g_autofree char *changed = g_strjoinv (cases[i].to, parts);
      gint64 start = g_get_monotonic_time ();

      g_assert_nonnull (parts[1]);
      write_private (path, changed, -1);
      g_assert_null (jstp_key_load (path, "pw", &error));
      g_test_message ("%s -> %s: %s", cases[i].from, cases[i].to, error->message);
      g_assert_error (error, JSTP_ERROR, cases[i].status);
      g_clear_error (&error);
      /* A terabyte of Argon2id would not come back at all. */
      g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
    }

  /* Changed salt, nonce or ciphertext, truncation, garbage. */
  {
    const char *members[] = { "\"salt\":\"", "\"nonce\":\"", "\"ct\":\"" };

    for (guint i = 0; i < G_N_ELEMENTS (members); i++)
      {
        g_autofree char *changed = g_strdup (contents);
        char *p = strstr (changed, members[i]) + strlen (members[i]);

        *p = *p == 'A' ? 'B' : 'A';
        write_private (path, changed, -1);
        g_assert_null (jstp_key_load (path, "pw", &error));
        g_assert_nonnull (error);
        g_test_message ("%s changed: %s", members[i], error->message);
        g_clear_error (&error);
      }
  }
  for (gsize cut = 1; cut < strlen (contents); cut += 37)
    {
      write_private (path, contents, cut);
      g_assert_null (jstp_key_load (path, "pw", &error));
      g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
      g_clear_error (&error);
    }
  write_private (path, "\xff\xfe garbage", -1);
  g_assert_null (jstp_key_load (path, "pw", &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_clear_error (&error);

  /* Another key's public part with this secret: refused. */
  {
    g_autofree char *alice_card = jstp_key_to_public_json (alice);
    g_autofree char *bob_card = jstp_key_to_public_json (bob);
    g_auto(GStrv) parts = g_strsplit (contents, alice_card, 2);
    g_autofree char *swapped = g_strjoinv (bob_card, parts);
    g_auto(GStrv) parts2 = g_strsplit (swapped, jstp_key_get_id (alice), 2);
    g_autofree char *swapped2 = g_strjoinv (jstp_key_get_id (bob), parts2);

    write_private (path, swapped2, -1);
    g_assert_null (jstp_key_load (path, "pw", &error));
    g_assert_nonnull (error);
    g_test_message ("swapped public part: %s", error->message);
    g_clear_error (&error);
  }

  remove_tree (dir);
}

/* ---- the keyring ------------------------------------------------------- */

typedef struct {
  guint removed;
  guint added;
  guint signals;
} ItemsChanged;

static void
items_changed_cb (GListModel   *model,
                  guint         position,
                  guint         removed,
                  guint         added,
                  ItemsChanged *changes)
{
  changes->removed += removed;
  changes->added += added;
  changes->signals++;
}

static void
test_keyring (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *ring_dir = g_build_filename (dir, "ring", NULL);
  g_autoptr(JstpKeyring) keyring = jstp_keyring_new (ring_dir);
  g_autoptr(JstpKey) mine = NULL;
  g_autoptr(JstpKey) unlocked = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bob_card = jstp_key_to_public_json (bob);
  g_autofree char *exported = NULL;
  g_autofree char *fingerprint = NULL;
  g_auto(GStrv) trusted = NULL;
  ItemsChanged changes = { 0 };
  JstpKey *peer;
  struct stat st;

  g_signal_connect (keyring, "items-changed", G_CALLBACK (items_changed_cb), &changes);
  jstp_keyring_set_kdf_limits (keyring, 1, 8192);

  g_assert_true (jstp_keyring_reload (keyring, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (ring_dir, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (keyring)), ==, 0);

  mine = jstp_keyring_generate (keyring, "laptop", "pw", &error);
  g_assert_no_error (error);
  g_assert_true (jstp_key_has_secret (mine));
  g_assert_true (jstp_keyring_is_own (keyring, jstp_key_get_id (mine)));
  g_assert_true (jstp_keyring_is_trusted (keyring, jstp_key_get_id (mine)));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (keyring)), ==, 1);
  g_assert_cmpuint (changes.added, ==, 1);
  {
    g_autofree char *path = jstp_keyring_dup_key_path (keyring, jstp_key_get_id (mine));

    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  }

  /* Names are unique; key ids cannot be names. */
  g_assert_null (jstp_keyring_generate (keyring, "laptop", "pw", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_null (jstp_keyring_import (keyring, jstp_key_get_id (carol), bob_card, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (jstp_keyring_import (keyring, "bad\nname", bob_card, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  peer = jstp_keyring_import (keyring, "bob", bob_card, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peer);
  g_assert_false (jstp_key_get_trusted (peer));
  g_assert_false (jstp_keyring_is_trusted (keyring, jstp_key_get_id (bob)));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (keyring)), ==, 2);

  /* The same key twice, under another name: refused. */
  g_assert_null (jstp_keyring_import (keyring, "robert", bob_card, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  /* A tampered card is never stored (H6). */
  {
    g_autofree char *bad = g_strdup (bob_card);
    char *sig = strstr (bad, "\"sig\":\"") + 7;

    *sig = *sig == 'A' ? 'B' : 'A';
    g_assert_null (jstp_keyring_import (keyring, "bob2", bad, &error));
    g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_SIGNATURE);
    g_clear_error (&error);
  }

  /* Lookups by name, id and fingerprint typed by a person. */
  fingerprint = jstp_key_dup_fingerprint (bob);
  g_assert_true (jstp_keyring_lookup (keyring, "bob") == peer);
  g_assert_true (jstp_keyring_lookup (keyring, jstp_key_get_id (bob)) == peer);
  {
    g_autofree char *upper = g_ascii_strup (fingerprint, -1);

    g_assert_true (jstp_keyring_lookup (keyring, upper) == peer);
  }
  g_assert_null (jstp_keyring_lookup (keyring, "nobody"));

  g_assert_true (jstp_keyring_set_trusted (keyring, "bob", TRUE, &error));
  g_assert_true (jstp_keyring_is_trusted (keyring, jstp_key_get_id (bob)));
  g_assert_false (jstp_keyring_set_trusted (keyring, "laptop", FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  trusted = jstp_keyring_dup_trusted_ids (keyring);
  g_assert_cmpuint (g_strv_length (trusted), ==, 2);

  /* What a second keyring on the same directory reads back. */
  {
    g_autoptr(JstpKeyring) again = jstp_keyring_new (ring_dir);

    g_assert_true (jstp_keyring_is_trusted (again, jstp_key_get_id (bob)));
    g_assert_cmpstr (jstp_key_get_name (jstp_keyring_lookup (again, jstp_key_get_id (bob))), ==,
                     "bob");
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 0 + 2);
  }

  exported = jstp_keyring_export (keyring, "bob", &error);
  g_assert_cmpstr (exported, ==, bob_card);
  g_clear_pointer (&exported, g_free);
  exported = jstp_keyring_export (keyring, "laptop", &error);
  {
    g_autoptr(JstpKey) card = jstp_key_new_from_public_json (exported, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (jstp_key_get_name (card), ==, "laptop");
  }

  unlocked = jstp_keyring_unlock (keyring, "laptop", "pw", &error);
  g_assert_no_error (error);
  g_assert_true (jstp_key_has_secret (unlocked));
  g_assert_null (jstp_keyring_unlock (keyring, "bob", "pw", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (jstp_keyring_unlock (keyring, "laptop", "nope", &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_UNAUTHORIZED);
  g_clear_error (&error);

  g_assert_true (jstp_keyring_set_trusted (keyring, "bob", FALSE, &error));
  g_assert_false (jstp_keyring_is_trusted (keyring, jstp_key_get_id (bob)));
  g_assert_true (jstp_keyring_remove (keyring, "bob", &error));
  g_assert_null (jstp_keyring_lookup (keyring, "bob"));
  g_assert_true (jstp_keyring_remove (keyring, "laptop", &error));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (keyring)), ==, 0);
  g_assert_false (jstp_keyring_remove (keyring, "laptop", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (changes.added, ==, changes.removed);

  /* A keyring others may write into decides nothing. */
  g_assert_cmpint (g_chmod (ring_dir, 0777), ==, 0);
  g_assert_false (jstp_keyring_reload (keyring, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (ring_dir, 0700), ==, 0);

  remove_tree (dir);
}

/* ---- signatures (F1 to F16) -------------------------------------------- */

/* F1, F4, F7: valid; host and token may change; the author is the key. */
static void
test_sign_valid (void)
{
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_REQUIRE);
  g_autoptr(JstpDispatch) d = letter ();
  g_autoptr(JstpDispatch) wire = NULL;
  g_autoptr(GError) error = NULL;

  jstp_dispatch_set_token (d, "tx-1", "trig-1");
  jstp_dispatch_add_hop (d, "127.0.0.1", 1000, "tcp");
  jstp_dispatch_add_hop (d, "127.0.0.1", 1001, "ws");
  g_assert_true (jstp_security_sign (d, mallory, NULL, &error));
  g_assert_no_error (error);

  /* F4: a gateway removes a hop and replaces the triggering id. */
  wire = reparse (d);
  jstp_hop_free (jstp_dispatch_pop_hop (wire));
  jstp_dispatch_set_token (wire, "tx-1", "trig-2");
  g_assert_cmpuint (check (security, wire), ==, 0);
  /* F7: referer says "alice"; the author is Mallory's key, nothing else. */
  g_assert_cmpstr (jstp_security_get_author (wire), ==, jstp_key_get_id (mallory));
  g_assert_null (jstp_security_get_signer (wire));
  g_assert_cmpuint (jstp_security_get_flags (wire), ==,
                    JSTP_SECURITY_SIGNED | JSTP_SECURITY_VERIFIED);
  g_assert_cmpstr (jstp_security_get_body_json (wire), ==, jstp_dispatch_get_body_json (wire));

  /* Notes travel with copies (what bind callbacks get). */
  {
    g_autoptr(JstpDispatch) copy = jstp_dispatch_copy (wire);
    g_autofree char *written = jstp_dispatch_to_string (copy);

    g_assert_cmpstr (jstp_security_get_author (copy), ==, jstp_key_get_id (mallory));
    /* ... and are never written. */
    g_assert_null (strstr (written, "jstp-security"));
  }

  /* The signature the test makes by the documented recipe verifies too. */
  {
    g_autoptr(JstpDispatch) e = letter ();

    sign_with (e, alice, g_get_real_time () / 1000, NULL);
    g_assert_cmpuint (check (security, e), ==, 0);
    g_assert_cmpstr (jstp_security_get_author (e), ==, jstp_key_get_id (alice));
    g_assert_true (jstp_security_get_flags (e) & JSTP_SECURITY_TRUSTED ? FALSE : TRUE);
  }
}

typedef void (*Tamper) (JstpDispatch *d);

static void
tamper_resource (JstpDispatch *d)
{
  jstp_dispatch_set_resource_json (d, "[\"inbox\",\"eve\"]", NULL);
}
static void
tamper_resource_number (JstpDispatch *d)
{
  jstp_dispatch_set_resource_json (d, "[\"inbox\",\"bob\",1]", NULL);
}
static void
tamper_body (JstpDispatch *d)
{
  jstp_dispatch_set_body_json (d, "{\"text\":\"attack at dusk\",\"n\":7}", NULL);
}
static void
tamper_body_number (JstpDispatch *d)
{
  jstp_dispatch_set_body_json (d, "{\"text\":\"attack at dawn\",\"n\":8}", NULL);
}
static void
tamper_timestamp (JstpDispatch *d)
{
  jstp_dispatch_set_timestamp (d, jstp_dispatch_get_timestamp (d) + 1);
}
static void
tamper_referer (JstpDispatch *d)
{
  jstp_dispatch_set_referer_json (d, "{\"name\":\"eve\"}", NULL);
}
static void
tamper_extension (JstpDispatch *d)
{
  jstp_dispatch_set_extension (d, "x-foo", "{\"trace\":[1,3]}", NULL);
}
/* F5: headers added in transit. */
static void
add_extension (JstpDispatch *d)
{
  jstp_dispatch_set_extension (d, "x-new", "1", NULL);
}
static void
remove_referer (JstpDispatch *d)
{
  jstp_dispatch_set_referer_json (d, NULL, NULL);
}
static void
remove_body (JstpDispatch *d)
{
  jstp_dispatch_set_body_json (d, NULL, NULL);
}
static void reorder_body (JstpDispatch *d)
{
  /* The same members in another order and spacing: canonically equal. */
  jstp_dispatch_set_body_json (d, "{ \"n\" : 7 , \"text\" : \"attack at \\u0064awn\" }", NULL);
}

/* A dispatch signed by an independent implementation of the document. */
static void
test_sign_vector (void)
{
  g_autofree char *path = fixtures_path ("security/signed-dispatch.json");
  g_autofree char *text = NULL;
  g_autofree char *author = NULL;
  g_autoptr(JstpDispatch) d = NULL;
  g_autoptr(JstpDispatch) rewritten = NULL;
  g_autoptr(JstpSecurity) security = jstp_security_new ();
  g_autoptr(GError) error = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &text, &length, NULL));
  d = jstp_dispatch_parse (text, length, NULL, NULL, &error);
  g_assert_no_error (error);

  /* Signed in 2024: valid, though far outside the window for admission. */
  g_assert_cmpuint (jstp_security_inspect (security, d, &author), ==,
                    JSTP_SECURITY_SIGNED | JSTP_SECURITY_VERIFIED);
  g_assert_cmpstr (author, ==, "2r4nvtc4ij7gpxpgs3xyaww4evsmuqbe");
  g_assert_cmpuint (check (security, d), ==, JSTP_STATUS_UNAUTHORIZED);

  /* As our engine writes it on (compact, one hop fewer, new token). */
  jstp_hop_free (jstp_dispatch_pop_hop (d));
  jstp_dispatch_set_token (d, "another", "trigger");
  rewritten = reparse (d);
  g_assert_cmpuint (jstp_security_inspect (security, rewritten, NULL), ==,
                    JSTP_SECURITY_SIGNED | JSTP_SECURITY_VERIFIED);
  jstp_dispatch_set_extension (rewritten, "x-trace", "\"abd\"", NULL);
  g_assert_cmpuint (jstp_security_inspect (security, rewritten, NULL), ==,
                    JSTP_SECURITY_SIGNED | JSTP_SECURITY_INVALID);
}

/* F3, F5: any change to a covered header breaks the signature: 498. */
static void
test_sign_tamper (void)
{
  struct {
    const char *name;
    Tamper tamper;
    guint status;
  } cases[] = {
    { "resource", tamper_resource, JSTP_STATUS_BAD_SIGNATURE },
    { "resource element added", tamper_resource_number, JSTP_STATUS_BAD_SIGNATURE },
    { "body", tamper_body, JSTP_STATUS_BAD_SIGNATURE },
    { "body number", tamper_body_number, JSTP_STATUS_BAD_SIGNATURE },
    { "timestamp", tamper_timestamp, JSTP_STATUS_BAD_SIGNATURE },
    { "referer", tamper_referer, JSTP_STATUS_BAD_SIGNATURE },
    { "extension", tamper_extension, JSTP_STATUS_BAD_SIGNATURE },
    { "added extension", add_extension, JSTP_STATUS_BAD_SIGNATURE },
    { "removed referer", remove_referer, JSTP_STATUS_BAD_SIGNATURE },
    { "removed body", remove_body, JSTP_STATUS_BAD_SIGNATURE },
    { "reordered body", reorder_body, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
      g_autoptr(JstpDispatch) d = letter ();
      g_autoptr(JstpDispatch) wire = NULL;

      g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
      wire = reparse (d);
      cases[i].tamper (wire);
      g_test_message ("%s", cases[i].name);
      g_assert_cmpuint (check (security, wire), ==, cases[i].status);
      if (cases[i].status)
        g_assert_null (jstp_security_get_author (wire));
    }

  /* The method itself, changed on the wire. */
  {
    g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
    g_autoptr(JstpDispatch) d = letter ();
    g_autofree char *text = NULL;
    g_auto(GStrv) parts = NULL;
    g_autofree char *changed = NULL;
    g_autoptr(JstpDispatch) wire = NULL;

    g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
    text = jstp_dispatch_to_string (d);
    parts = g_strsplit (text, "\"method\":\"POST\"", 2);
    changed = g_strjoinv ("\"method\":\"PATCH\"", parts);
    wire = jstp_dispatch_parse (changed, strlen (changed), NULL, NULL, NULL);
    g_assert_nonnull (wire);
    g_assert_cmpuint (check (security, wire), ==, JSTP_STATUS_BAD_SIGNATURE);
  }

  /* F5: a body added to a body-less signed GET. */
  {
    g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
    g_autoptr(JstpDispatch) get = jstp_dispatch_new (JSTP_METHOD_GET,
                                                     (const char *[]) { "status", NULL });

    g_assert_true (jstp_security_sign (get, alice, NULL, NULL));
    jstp_dispatch_set_body_json (get, "{}", NULL);
    g_assert_cmpuint (check (security, get), ==, JSTP_STATUS_BAD_SIGNATURE);
  }
}

/* F2, F8, F9, F10, F25: bad signatures, malformed headers, no header. */
static void
test_sign_malformed (void)
{
  g_autofree char *random_sig = NULL;
  g_autofree char *short_sig = NULL;
  g_autofree char *long_sig = NULL;
  g_autofree char *zero_key = NULL;
  g_autofree char *zero_kid = NULL;
  g_autofree char *zero_id = NULL;
  g_autofree char *bob_kid = NULL;
  guint8 bytes[65] = { 0 };
  struct {
    const char *member;
    const char *json;
    guint status;
  } cases[] = {
    { "sig", NULL, JSTP_STATUS_BAD_SIGNATURE },       /* F2, filled below */
    { "sig", NULL, JSTP_STATUS_BAD_DISPATCH },        /* 63 bytes */
    { "sig", NULL, JSTP_STATUS_BAD_DISPATCH },        /* 65 bytes */
    { "alg", "\"none\"", JSTP_STATUS_BAD_DISPATCH },  /* F9 */
    { "alg", "\"ed448\"", JSTP_STATUS_BAD_DISPATCH },
    { "v", "2", JSTP_STATUS_BAD_DISPATCH },
    { "v", "\"1\"", JSTP_STATUS_BAD_DISPATCH },
    { "created", "1.5", JSTP_STATUS_BAD_DISPATCH },
    { "nonce", "\"AAAA\"", JSTP_STATUS_BAD_DISPATCH },
    { "kid", "\"ABC\"", JSTP_STATUS_BAD_DISPATCH },
    { "kid", NULL, JSTP_STATUS_BAD_SIGNATURE },       /* another key's id */
    { "key", NULL, JSTP_STATUS_BAD_SIGNATURE },       /* F25: the all-zero key */
  };

  randombytes_buf (bytes, sizeof bytes);
  random_sig = quoted_base64 (bytes, 64);
  short_sig = quoted_base64 (bytes, 63);
  long_sig = quoted_base64 (bytes, 65);
  memset (bytes, 0, sizeof bytes);
  zero_key = quoted_base64 (bytes, 32);
  zero_id = jstp_key_id_from_sign_public (bytes);
  zero_kid = g_strdup_printf ("\"%s\"", zero_id);
  bob_kid = g_strdup_printf ("\"%s\"", jstp_key_get_id (bob));
  cases[0].json = random_sig;
  cases[1].json = short_sig;
  cases[2].json = long_sig;
  cases[10].json = bob_kid;
  cases[11].json = zero_key;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
      g_autoptr(JstpDispatch) d = letter ();

      g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
      replace_in_signature (d, cases[i].member, cases[i].json);
      if (i == 11)
        replace_in_signature (d, "kid", zero_kid);
      g_test_message ("%s = %s", cases[i].member, cases[i].json);
      g_assert_cmpuint (check (security, d), ==, cases[i].status);
      g_assert_null (jstp_security_get_author (d));
    }

  /* sig with '=' padding, a space, the standard alphabet. */
  {
    g_autoptr(JstpDispatch) d = letter ();
    g_autofree char *sig = NULL;
    const char *variants[] = { "=", " ", "+", "/" };

    g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
    sig = signature_member (d, "sig");
    for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
      {
        g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
        g_autoptr(JstpDispatch) e = jstp_dispatch_copy (d);
        g_autofree char *changed = g_strdup (sig);

        if (i == 0)
          {
            g_free (changed);
            changed = g_strdup_printf ("%.*s==\"", (int) strlen (sig) - 1, sig);
          }
        else
          changed[5] = variants[i][0];
        replace_in_signature (e, "sig", changed);
        g_assert_cmpuint (check (security, e), ==, JSTP_STATUS_BAD_DISPATCH);
      }
  }

  /* Unknown members, wrong types of header. */
  {
    const char *headers[] = { "null", "[]", "\"sig\"", "{}", "{\"v\":1,\"alg\":\"ed25519\"}" };

    for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
      {
        g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
        g_autoptr(JstpDispatch) d = letter ();

        jstp_dispatch_set_extension (d, "signature", headers[i], NULL);
        g_assert_cmpuint (check (security, d), ==, JSTP_STATUS_BAD_DISPATCH);
      }
  }
  {
    g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
    g_autoptr(JstpDispatch) d = letter ();

    g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
    replace_in_signature (d, "v", "1,\"extra\":true");
    g_assert_cmpuint (check (security, d), ==, JSTP_STATUS_BAD_DISPATCH);
  }

  /* F10: no signature where one is required; accepted where optional. */
  {
    g_autoptr(JstpSecurity) require = security_for (bob, JSTP_VERIFY_REQUIRE);
    g_autoptr(JstpSecurity) optional = security_for (bob, JSTP_VERIFY_IF_SIGNED);
    g_autoptr(JstpSecurity) off = security_for (bob, JSTP_VERIFY_OFF);
    g_autoptr(JstpDispatch) d = letter ();
    g_autoptr(JstpDispatch) bad = letter ();

    g_assert_cmpuint (check (require, d), ==, JSTP_STATUS_UNAUTHORIZED);
    g_assert_cmpuint (check (optional, d), ==, 0);
    g_assert_null (jstp_security_get_author (d));
    g_assert_cmpuint (jstp_security_get_flags (d), ==, JSTP_SECURITY_NONE);
    /* Off checks nothing, not even a broken signature. */
    jstp_dispatch_set_extension (bad, "signature", "{}", NULL);
    g_assert_cmpuint (check (off, bad), ==, 0);
    g_assert_null (jstp_security_get_author (bad));
  }
}

/* E9, B10: what has no canonical form cannot be signed, and a float put
 * into signed content is refused, never rewritten. */
static void
test_sign_floats (void)
{
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
  g_autoptr(JstpDispatch) d = letter ();
  g_autoptr(JstpDispatch) e = letter ();
  g_autoptr(GError) error = NULL;

  jstp_dispatch_set_body_json (d, "{\"price\":0.1}", NULL);
  g_assert_false (jstp_security_sign (d, alice, NULL, &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_assert_nonnull (strstr (error->message, "float-in-signed-content"));
  g_clear_error (&error);
  g_assert_null (jstp_dispatch_get_extension (d, "signature"));

  jstp_dispatch_set_body_json (d, "{\"big\":9007199254740992}", NULL);
  g_assert_false (jstp_security_sign (d, alice, NULL, &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_clear_error (&error);

  g_assert_true (jstp_security_sign (e, alice, NULL, NULL));
  jstp_dispatch_set_body_json (e, "{\"text\":\"attack at dawn\",\"n\":7.0}", NULL);
  g_assert_cmpuint (check (security, e), ==, JSTP_STATUS_BAD_DISPATCH);
  g_assert_cmpstr (jstp_dispatch_get_body_json (e), ==, "{\"text\":\"attack at dawn\",\"n\":7.0}");

  /* Unsigned dispatches keep carrying floats. */
  g_assert_cmpuint (check (security, d), ==, 0);
}

/* F11 to F14: replays and the time window. */
static void
test_sign_replay_window (void)
{
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
  g_autoptr(JstpDispatch) d = letter ();
  g_autoptr(JstpDispatch) first = NULL;
  g_autoptr(JstpDispatch) again = NULL;
  gint64 now = g_get_real_time () / 1000;
  gint64 window = JSTP_SECURITY_DEFAULT_WINDOW * 1000;
  g_autofree char *message = NULL;

  /* F11: the same signed dispatch twice, even with another token. */
  g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
  first = reparse (d);
  again = reparse (d);
  jstp_dispatch_set_token (again, "another-transaction", "another-trigger");
  g_assert_cmpuint (check (security, first), ==, 0);
  g_assert_cmpuint (jstp_security_check (security, again, TRUE, &message), ==,
                    JSTP_STATUS_UNAUTHORIZED);
  g_assert_true (g_str_has_prefix (message, "replay"));
  /* Local emitters are never refused, and never fill the cache. */
  g_assert_cmpuint (jstp_security_check (security, again, FALSE, NULL), ==, 0);
  g_assert_cmpstr (jstp_security_get_author (again), ==, jstp_key_get_id (alice));

  /* F12, F13: outside the window by a second either way; just inside. */
  {
    struct { gint64 created; guint status; } cases[] = {
      { now - window - 1000, JSTP_STATUS_UNAUTHORIZED },
      { now + window + 1000, JSTP_STATUS_UNAUTHORIZED },
      { now + window - 1000, 0 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(JstpDispatch) e = letter ();

        sign_with (e, alice, cases[i].created, NULL);
        g_assert_cmpuint (check (security, e), ==, cases[i].status);
      }
  }

  /* F14: after a restart, what was signed before it is refused (the
   * replay cache does not survive a restart). */
  {
    g_autoptr(JstpDispatch) e = letter ();
    g_autoptr(JstpSecurity) restarted = NULL;

    g_assert_true (jstp_security_sign (e, alice, NULL, NULL));
    g_usleep (2000);
    restarted = security_for (bob, JSTP_VERIFY_IF_SIGNED);
    g_assert_cmpuint (check (restarted, e), ==, JSTP_STATUS_UNAUTHORIZED);
  }
}

/* F15: a flood of fresh nonces from one key fills only its own quota. */
static void
test_sign_replay_quota (void)
{
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);

  jstp_security_set_replay_limits (security, 6, 3);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(JstpDispatch) d = letter ();

      g_assert_true (jstp_security_sign (d, mallory, NULL, NULL));
      g_assert_cmpuint (check (security, d), ==, i < 3 ? 0 : JSTP_STATUS_SATURATED);
    }
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(JstpDispatch) d = letter ();

      g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
      g_assert_cmpuint (check (security, d), ==, i < 3 ? 0 : JSTP_STATUS_SATURATED);
    }
  /* The global cap (6) is reached: a third key is refused too. */
  {
    g_autoptr(JstpDispatch) d = letter ();

    g_assert_true (jstp_security_sign (d, carol, NULL, NULL));
    g_assert_cmpuint (check (security, d), ==, JSTP_STATUS_SATURATED);
  }
}

/* F16: the audience. */
static void
test_sign_audience (void)
{
  g_autoptr(JstpSecurity) at_bob = security_for (bob, JSTP_VERIFY_IF_SIGNED);
  g_autoptr(JstpSecurity) at_carol = security_for (carol, JSTP_VERIFY_IF_SIGNED);
  g_autoptr(JstpDispatch) d = letter ();
  g_autoptr(JstpDispatch) copy = NULL;

  g_assert_true (jstp_security_sign (d, alice, jstp_key_get_id (bob), NULL));
  copy = jstp_dispatch_copy (d);
  g_assert_cmpuint (check (at_carol, copy), ==, JSTP_STATUS_UNAUTHORIZED);
  g_assert_cmpuint (check (at_bob, d), ==, 0);
  /* The audience is signed: removing it breaks the signature. */
  {
    g_autoptr(JstpDispatch) e = letter ();

    g_autofree char *carol_kid = g_strdup_printf ("\"%s\"", jstp_key_get_id (carol));

    sign_with (e, alice, g_get_real_time () / 1000, jstp_key_get_id (bob));
    replace_in_signature (e, "aud", carol_kid);
    g_assert_cmpuint (check (at_carol, e), ==, JSTP_STATUS_BAD_SIGNATURE);
  }
}

/* F6: trust rules per endpoint. */
static void
test_sign_trust (void)
{
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
  const char *alice_only[] = { jstp_key_get_id (alice), NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (jstp_security_restrict (security, "POST",
                                         (const char *[]) { "inbox", "...", NULL },
                                         alice_only, &error));
  g_assert_true (jstp_security_restrict (security, "*", (const char *[]) { "admin", "...", NULL },
                                         NULL, &error));
  g_assert_false (jstp_security_restrict (security, "POST", (const char *[]) { "x", NULL },
                                          (const char *[]) { "not a key id", NULL }, &error));
  g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  g_clear_error (&error);

  {
    g_autoptr(JstpDispatch) a = letter ();
    g_autoptr(JstpDispatch) m = letter ();
    g_autoptr(JstpDispatch) u = letter ();

    g_assert_true (jstp_security_sign (a, alice, NULL, NULL));
    g_assert_true (jstp_security_sign (m, mallory, NULL, NULL));
    g_assert_cmpuint (check (security, a), ==, 0);
    g_assert_cmpuint (check (security, m), ==, JSTP_STATUS_FORBIDDEN);
    g_assert_cmpuint (check (security, u), ==, JSTP_STATUS_UNAUTHORIZED);
  }

  /* "Any trusted key": own keys, trusted ids, a keyring's trusted peers. */
  {
    JstpDispatch *d[4];
    JstpKey *signers[4] = { bob, carol, mallory, alice };

    jstp_security_trust (security, jstp_key_get_id (carol));
    g_assert_true (jstp_security_is_trusted (security, jstp_key_get_id (carol)));
    g_assert_false (jstp_security_is_trusted (security, jstp_key_get_id (mallory)));
    for (guint i = 0; i < 4; i++)
      {
        d[i] = jstp_dispatch_new (JSTP_METHOD_PUT, (const char *[]) { "admin", "x", NULL });
        g_assert_true (jstp_security_sign (d[i], signers[i], NULL, NULL));
      }
    g_assert_cmpuint (check (security, d[0]), ==, 0);
    g_assert_true (jstp_security_get_flags (d[0]) & JSTP_SECURITY_TRUSTED);
    g_assert_cmpuint (check (security, d[1]), ==, 0);
    g_assert_cmpuint (check (security, d[2]), ==, JSTP_STATUS_FORBIDDEN);
    g_assert_cmpuint (check (security, d[3]), ==, JSTP_STATUS_FORBIDDEN);
    for (guint i = 0; i < 4; i++)
      jstp_dispatch_unref (d[i]);
  }

  /* Subscriptions are matched on their endpoint. */
  {
    g_autoptr(JstpPattern) endpoint =
      jstp_pattern_new ("PUT", (const char *[]) { "admin", "*" }, 2, JSTP_MODE_STRICT, NULL);
    g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, endpoint);
    g_autoptr(JstpDispatch) signed_bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND,
                                                                          endpoint);

    g_assert_cmpuint (check (security, bind), ==, JSTP_STATUS_UNAUTHORIZED);
    g_assert_true (jstp_security_sign (signed_bind, carol, NULL, NULL));
    g_assert_cmpuint (check (security, signed_bind), ==, 0);
  }
}

/* Answers: the triggering id a gateway replaces is not covered. */
static void
test_sign_answer (void)
{
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
  g_autoptr(JstpDispatch) answer = jstp_dispatch_new_answer (200, "tx-9", "trig-1");
  g_autoptr(JstpDispatch) moved = NULL;
  g_autofree char *author = NULL;

  jstp_dispatch_set_body_json (answer, "{\"ok\":true}", NULL);
  g_assert_true (jstp_security_sign (answer, alice, NULL, NULL));
  moved = jstp_dispatch_new_answer (200, "tx-9", "trig-2");
  jstp_dispatch_set_body_json (moved, "{\"ok\":true}", NULL);
  jstp_dispatch_set_timestamp (moved, jstp_dispatch_get_timestamp (answer));
  jstp_dispatch_set_extension (moved, "signature",
                               jstp_dispatch_get_extension (answer, "signature"), NULL);
  g_assert_cmpuint (jstp_security_inspect (security, moved, &author), ==,
                    JSTP_SECURITY_SIGNED | JSTP_SECURITY_VERIFIED);
  g_assert_cmpstr (author, ==, jstp_key_get_id (alice));

  /* The status is covered. */
  {
    g_autoptr(JstpDispatch) other = jstp_dispatch_new_answer (403, "tx-9", "trig-1");

    jstp_dispatch_set_body_json (other, "{\"ok\":true}", NULL);
    jstp_dispatch_set_timestamp (other, jstp_dispatch_get_timestamp (answer));
    jstp_dispatch_set_extension (other, "signature",
                                 jstp_dispatch_get_extension (answer, "signature"), NULL);
    g_assert_cmpuint (jstp_security_inspect (security, other, NULL), ==,
                      JSTP_SECURITY_SIGNED | JSTP_SECURITY_INVALID);
  }
}

/* ---- envelopes (F17 to F24) -------------------------------------------- */

static JstpDispatch *
sealed_letter (JstpKey *from,
               JstpKey *to)
{
  JstpDispatch *d = letter ();
  g_autoptr(GError) error = NULL;

  g_assert_true (jstp_security_encrypt (d, from, to, &error));
  g_assert_no_error (error);
  return d;
}

static void
test_encrypt_valid (void)
{
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_REQUIRE);
  g_autoptr(JstpDispatch) d = sealed_letter (alice, bob);
  g_autoptr(JstpDispatch) wire = reparse (d);
  const char *body = jstp_dispatch_get_body_json (wire);

  /* Nothing of the body is readable on the way. */
  g_test_message ("%s", body);
  g_assert_null (strstr (body, "attack"));
  g_assert_true (g_str_has_prefix (body, "{\"jstp-sealed\":{"));

  /* F17: the inner signature authenticates: accepted even under
   * "require" without an outer signature. */
  g_assert_cmpuint (check (security, wire), ==, 0);
  g_assert_cmpstr (jstp_security_get_body_json (wire), ==,
                   "{\"n\":7,\"text\":\"attack at dawn\"}");
  g_assert_cmpstr (jstp_security_get_author (wire), ==, jstp_key_get_id (alice));
  g_assert_cmpuint (jstp_security_get_flags (wire), ==,
                    JSTP_SECURITY_VERIFIED | JSTP_SECURITY_ENCRYPTED | JSTP_SECURITY_DECRYPTED);
  /* The dispatch itself still holds the envelope (channels get that). */
  g_assert_cmpstr (jstp_dispatch_get_body_json (wire), ==, body);

  /* The same envelope again is a replay. */
  {
    g_autoptr(JstpDispatch) again = reparse (d);

    g_assert_cmpuint (check (security, again), ==, JSTP_STATUS_UNAUTHORIZED);
  }

  /* Signed after encrypting: one author, both checks. */
  {
    g_autoptr(JstpDispatch) both = sealed_letter (alice, bob);
    g_autoptr(GError) error = NULL;

    g_assert_true (jstp_security_sign (both, alice, jstp_key_get_id (bob), &error));
    g_assert_cmpuint (check (security, both), ==, 0);
    g_assert_cmpstr (jstp_security_get_author (both), ==, jstp_key_get_id (alice));
    g_assert_null (jstp_security_get_signer (both));
    g_assert_cmpuint (jstp_security_get_flags (both), ==,
                      JSTP_SECURITY_SIGNED | JSTP_SECURITY_VERIFIED | JSTP_SECURITY_ENCRYPTED |
                      JSTP_SECURITY_DECRYPTED);
    /* Encrypting a signed dispatch would break the signature: refused. */
    g_assert_false (jstp_security_encrypt (both, alice, bob, &error));
    g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  }

  /* Bodies are padded to 256-byte blocks: equal sizes for close lengths. */
  {
    g_autoptr(JstpDispatch) a = letter ();
    g_autoptr(JstpDispatch) b = letter ();

    jstp_dispatch_set_body_json (a, "\"x\"", NULL);
    jstp_dispatch_set_body_json (b, "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"", NULL);
    g_assert_true (jstp_security_encrypt (a, alice, bob, NULL));
    g_assert_true (jstp_security_encrypt (b, alice, bob, NULL));
    g_assert_cmpuint (strlen (jstp_dispatch_get_body_json (a)), ==,
                      strlen (jstp_dispatch_get_body_json (b)));
  }

  /* Nothing to encrypt, a float, an answer. */
  {
    g_autoptr(JstpDispatch) empty = jstp_dispatch_new (JSTP_METHOD_GET,
                                                       (const char *[]) { "x", NULL });
    g_autoptr(JstpDispatch) floats = letter ();
    g_autoptr(GError) error = NULL;

    g_assert_false (jstp_security_encrypt (empty, alice, bob, &error));
    g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
    g_clear_error (&error);
    jstp_dispatch_set_body_json (floats, "[0.5]", NULL);
    g_assert_false (jstp_security_encrypt (floats, alice, bob, &error));
    g_assert_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH);
  }
}

/* F18: an envelope for someone else is passed on unopened; one whose `to`
 * was rewritten to us does not open: 499. */
static void
test_encrypt_wrong_recipient (void)
{
  g_autoptr(JstpSecurity) at_bob = security_for (bob, JSTP_VERIFY_IF_SIGNED);
  g_autoptr(JstpDispatch) for_carol = sealed_letter (alice, carol);
  g_autofree char *body = g_strdup (jstp_dispatch_get_body_json (for_carol));
  g_auto(GStrv) parts = NULL;
  g_autofree char *redirected = NULL;

  g_assert_cmpuint (check (at_bob, for_carol), ==, 0);
  g_assert_cmpuint (jstp_security_get_flags (for_carol), ==, JSTP_SECURITY_ENCRYPTED);
  g_assert_null (jstp_security_get_author (for_carol));
  g_assert_cmpstr (jstp_security_get_body_json (for_carol), ==, body);

  parts = g_strsplit (body, jstp_key_get_id (carol), 2);
  redirected = g_strjoinv (jstp_key_get_id (bob), parts);
  jstp_dispatch_set_body_json (for_carol, redirected, NULL);
  g_assert_cmpuint (check (at_bob, for_carol), ==, JSTP_STATUS_CANNOT_DECRYPT);
  g_assert_null (jstp_security_get_body_json (for_carol) == NULL ? NULL : strstr (
                   jstp_security_get_body_json (for_carol), "attack"));
}

static char *
envelope_body (const guint8 *data,
               gsize         length,
               const char   *to)
{
  g_autofree char *ct = jstp_base64url_encode (data, length);

  return g_strdup_printf ("{\"jstp-sealed\":{\"alg\":\"x25519-xsalsa20poly1305-sealedbox\","
                          "\"ct\":\"%s\",\"to\":\"%s\",\"v\":1}}", ct, to);
}

/* F19, F20, F24, F29: broken envelopes all get the same 499. */
static void
test_encrypt_garbage (void)
{
  g_autoptr(JstpDispatch) d = sealed_letter (alice, bob);
  const char *body = jstp_dispatch_get_body_json (d);
  const char *ct = strstr (body, "\"ct\":\"") + 6;
  gsize ct_chars = strchr (ct, '"') - ct;
  g_autofree guint8 *bytes = g_malloc (ct_chars);
  gsize ct_length = ct_chars / 4 * 3 + (ct_chars % 4 ? ct_chars % 4 - 1 : 0);
  g_autoptr(GPtrArray) bodies = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *reference_message = NULL;
  const char *bob_id = jstp_key_get_id (bob);

  g_assert_true (jstp_base64url_decode (ct, ct_chars, bytes, ct_length));

#define ENVELOPE_TEXT(ct_text) \
  g_strdup_printf ("{\"jstp-sealed\":{\"alg\":\"x25519-xsalsa20poly1305-sealedbox\"," \
                   "\"ct\":\"%s\",\"to\":\"%s\",\"v\":1}}", (ct_text), bob_id)
#define ENVELOPE(data, length) \
  envelope_body ((data), (length), bob_id)

  /* Truncated by one byte, 47 bytes, empty, one bit flipped, garbage of a
   * plausible length, one block more. */
  g_ptr_array_add (bodies, ENVELOPE (bytes, ct_length - 1));
  g_ptr_array_add (bodies, ENVELOPE (bytes, 47));
  g_ptr_array_add (bodies, ENVELOPE_TEXT (""));
  g_ptr_array_add (bodies, ENVELOPE_TEXT ("A"));
  bytes[ct_length / 2] ^= 0x10;
  g_ptr_array_add (bodies, ENVELOPE (bytes, ct_length));
  bytes[ct_length / 2] ^= 0x10;
  {
    guint8 junk[48 + 512];

    randombytes_buf (junk, sizeof junk);
    g_ptr_array_add (bodies, ENVELOPE (junk, sizeof junk));
  }
  g_ptr_array_add (bodies, ENVELOPE_TEXT ("not base64 at all!"));
  /* Not canonical: the envelope's own members wrong. */
  g_ptr_array_add (bodies, g_strdup_printf ("{\"jstp-sealed\":{\"alg\":\"none\",\"ct\":\"\","
                                            "\"to\":\"%s\",\"v\":1}}", bob_id));
  g_ptr_array_add (bodies, g_strdup_printf ("{\"jstp-sealed\":{\"alg\":\"x25519-xsalsa20poly1305"
                                            "-sealedbox\",\"ct\":\"\",\"to\":\"%s\",\"v\":2}}",
                                            bob_id));
  g_ptr_array_add (bodies, g_strdup ("{\"jstp-sealed\":null}"));
  g_ptr_array_add (bodies, g_strdup ("{\"jstp-sealed\":{},\"other\":1}"));

  /* F24: sealed to Bob correctly, but what is inside is wrong. */
  {
    const char *insides[] = {
      "not json",
      "{\"v\":1}",
      "[1,2,3]",
      "{\"v\":1,\"from\":\"x\",\"key\":\"x\",\"to\":\"x\",\"created\":1,\"nonce\":\"x\","
      "\"bind\":{},\"body\":1,\"sig\":\"x\"}",
    };

    for (guint i = 0; i < G_N_ELEMENTS (insides); i++)
      {
        gsize length = strlen (insides[i]);
        gsize padded_length;
        g_autofree guint8 *padded = g_malloc0 (length + 256);
        g_autoptr(GBytes) sealed = NULL;

        memcpy (padded, insides[i], length);
        g_assert_cmpint (sodium_pad (&padded_length, padded, length, 256, length + 256), ==, 0);
        sealed = jstp_key_seal (bob, padded, padded_length);
        g_ptr_array_add (bodies, ENVELOPE (g_bytes_get_data (sealed, NULL),
                                           g_bytes_get_size (sealed)));
      }
    /* Not padded at all. */
    {
      g_autoptr(GBytes) sealed = jstp_key_seal (bob, (const guint8 *) "{}", 2);
      g_ptr_array_add (bodies, ENVELOPE (g_bytes_get_data (sealed, NULL),
                                         g_bytes_get_size (sealed)));
    }
  }
#undef ENVELOPE
#undef ENVELOPE_TEXT

  for (guint i = 0; i < bodies->len; i++)
    {
      g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
      g_autoptr(JstpDispatch) e = letter ();
      g_autofree char *message = NULL;

      g_assert_true (jstp_dispatch_set_body_json (e, g_ptr_array_index (bodies, i), NULL));
      g_assert_cmpuint (jstp_security_check (security, e, TRUE, &message), ==,
                        JSTP_STATUS_CANNOT_DECRYPT);
      /* SG-5: every failure answers the same words. */
      if (reference_message == NULL)
        reference_message = g_strdup (message);
      g_assert_cmpstr (message, ==, reference_message);
      /* The inspector sees it as invalid, and locally nothing is refused. */
      g_assert_true (jstp_security_inspect (security, e, NULL) & JSTP_SECURITY_INVALID);
      g_assert_cmpuint (jstp_security_check (security, e, FALSE, NULL), ==, 0);
    }
}

/* F29: a ciphertext over 1 MiB is refused before any decryption, even on
 * an engine whose frame limit lets it in. */
static void
test_encrypt_oversized (void)
{
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_IF_SIGNED);
  g_autoptr(GString) text = g_string_new ("{" PROTO ",\"method\":\"POST\","
                                          "\"resource\":[\"inbox\",\"bob\"],"
                                          "\"timestamp\":1,\"body\":{\"jstp-sealed\":{"
                                          "\"alg\":\"x25519-xsalsa20poly1305-sealedbox\","
                                          "\"ct\":\"");
  g_autoptr(JstpDispatch) d = NULL;
  g_autoptr(GError) error = NULL;
  JstpParseOptions options;
  /* 48 + 256 * 4097 bytes: the right shape, one block too many. */
  gsize bytes = 48 + 256 * 4097;
  gsize chars = bytes / 3 * 4 + (bytes % 3 ? bytes % 3 + 1 : 0);

  for (gsize i = 0; i < chars; i++)
    g_string_append_c (text, 'A');
  g_string_append_printf (text, "\",\"to\":\"%s\",\"v\":1}}}", jstp_key_get_id (bob));

  jstp_parse_options_init (&options);
  options.json.max_size = 4 * 1024 * 1024;
  options.json.max_string_length = 4 * 1024 * 1024;
  d = jstp_dispatch_parse (text->str, text->len, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (check (security, d), ==, JSTP_STATUS_CANNOT_DECRYPT);
}

/* F21 to F23: surreptitious forwarding, a relay's signature, moving. */
static void
test_encrypt_binding (void)
{
  /* F21: Bob opens Alice's letter and seals the same inside to Carol. */
  {
    g_autoptr(JstpSecurity) at_carol = security_for (carol, JSTP_VERIFY_IF_SIGNED);
    g_autoptr(JstpDispatch) d = sealed_letter (alice, bob);
    const char *body = jstp_dispatch_get_body_json (d);
    const char *ct = strstr (body, "\"ct\":\"") + 6;
    gsize chars = strchr (ct, '"') - ct;
    gsize length = chars / 4 * 3 + (chars % 4 ? chars % 4 - 1 : 0);
    g_autofree guint8 *bytes = g_malloc (length);
    g_autoptr(GBytes) inner = NULL;
    g_autoptr(GBytes) resealed = NULL;
    g_autofree char *ct_text = NULL;
    g_autofree char *envelope = NULL;

    g_assert_true (jstp_base64url_decode (ct, chars, bytes, length));
    inner = jstp_key_open (bob, bytes, length);
    g_assert_nonnull (inner);
    resealed = jstp_key_seal (carol, g_bytes_get_data (inner, NULL), g_bytes_get_size (inner));
    ct_text = jstp_base64url_encode (g_bytes_get_data (resealed, NULL),
                                     g_bytes_get_size (resealed));
    envelope = g_strdup_printf ("{\"jstp-sealed\":{\"alg\":\"x25519-xsalsa20poly1305-sealedbox\","
                                "\"ct\":\"%s\",\"to\":\"%s\",\"v\":1}}", ct_text,
                                jstp_key_get_id (carol));
    jstp_dispatch_set_body_json (d, envelope, NULL);
    g_assert_cmpuint (check (at_carol, d), ==, JSTP_STATUS_CANNOT_DECRYPT);
    g_assert_null (jstp_security_get_author (d));
  }

  /* F22: Mallory signs the outside of Alice's envelope: the author stays
   * Alice, Mallory is only the signer. */
  {
    g_autoptr(JstpSecurity) at_bob = security_for (bob, JSTP_VERIFY_IF_SIGNED);
    g_autoptr(JstpDispatch) d = sealed_letter (alice, bob);

    g_assert_true (jstp_security_sign (d, mallory, NULL, NULL));
    g_assert_cmpuint (check (at_bob, d), ==, 0);
    g_assert_cmpstr (jstp_security_get_author (d), ==, jstp_key_get_id (alice));
    g_assert_cmpstr (jstp_security_get_signer (d), ==, jstp_key_get_id (mallory));
  }

  /* F23: the envelope moved to another resource, or another method. */
  {
    g_autoptr(JstpSecurity) at_bob = security_for (bob, JSTP_VERIFY_IF_SIGNED);
    g_autoptr(JstpDispatch) d = sealed_letter (alice, bob);
    g_autoptr(JstpDispatch) moved = jstp_dispatch_new (JSTP_METHOD_POST,
                                                       (const char *[]) { "inbox", "eve", NULL });
    g_autoptr(JstpDispatch) put = jstp_dispatch_new (JSTP_METHOD_PUT,
                                                     (const char *[]) { "inbox", "bob", NULL });

    jstp_dispatch_set_body_json (moved, jstp_dispatch_get_body_json (d), NULL);
    jstp_dispatch_set_body_json (put, jstp_dispatch_get_body_json (d), NULL);
    g_assert_cmpuint (check (at_bob, moved), ==, JSTP_STATUS_CANNOT_DECRYPT);
    g_assert_cmpuint (check (at_bob, put), ==, JSTP_STATUS_CANNOT_DECRYPT);
    /* The original still opens: refusals above did not mark it replayed. */
    g_assert_cmpuint (check (at_bob, d), ==, 0);
  }

  /* Encrypted BINDs are bound to their endpoint. */
  {
    g_autoptr(JstpSecurity) at_bob = security_for (bob, JSTP_VERIFY_IF_SIGNED);
    g_autoptr(JstpPattern) endpoint =
      jstp_pattern_new ("POST", (const char *[]) { "inbox", "*" }, 2, JSTP_MODE_STRICT, NULL);
    g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, endpoint);

    jstp_dispatch_set_body_json (bind, "{\"since\":42}", NULL);
    g_assert_true (jstp_security_encrypt (bind, alice, bob, NULL));
    g_assert_cmpuint (check (at_bob, bind), ==, 0);
    g_assert_cmpstr (jstp_security_get_body_json (bind), ==, "{\"since\":42}");
  }
}

/* ---- the engine's admission -------------------------------------------- */

typedef struct {
  GPtrArray *received;
  GPtrArray *authors;
  GPtrArray *bodies;
} Inbox;

static void
on_letter (JstpEngine         *engine,
           JstpDispatch       *dispatch,
           const JstpCaptures *captures,
           gpointer            user_data)
{
  Inbox *inbox = user_data;
  const char *author = jstp_security_get_author (dispatch);

  /* "*" also matches the BIND that made this subscription. */
  if (jstp_dispatch_get_morphology (dispatch) == JSTP_MORPHOLOGY_SUBSCRIPTION)
    return;
  g_ptr_array_add (inbox->received, jstp_dispatch_ref (dispatch));
  g_ptr_array_add (inbox->authors, g_strdup (author ? author : "(none)"));
  g_ptr_array_add (inbox->bodies, g_strdup (jstp_security_get_body_json (dispatch)));
  jstp_engine_answer (engine, dispatch, 200, NULL);
}

static guint
last_status (TestConnection *conn)
{
  g_autoptr(JstpDispatch) last = test_connection_parse_last (conn);

  g_assert_nonnull (last);
  g_assert_cmpint (jstp_dispatch_get_method (last), ==, JSTP_METHOD_ANSWER);
  if (jstp_dispatch_get_body_json (last))
    g_test_message ("answer %u %s", jstp_dispatch_get_status (last),
                    jstp_dispatch_get_body_json (last));
  return jstp_dispatch_get_status (last);
}

static void
receive (TestConnection *conn,
         JstpDispatch   *dispatch)
{
  g_autofree char *text = NULL;
  g_autofree char *txid = jstp_new_id ();

  jstp_dispatch_set_token (dispatch, txid, NULL);
  text = jstp_dispatch_to_string (dispatch);
  test_connection_receive (conn, text);
}

static void
test_engine_admission (void)
{
  g_autoptr(JstpEngine) engine = jstp_engine_new ("bob");
  g_autoptr(JstpSecurity) security = security_for (bob, JSTP_VERIFY_REQUIRE);
  g_autoptr(TestConnection) conn = test_connection_new ();
  Inbox inbox = {
    g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref),
    g_ptr_array_new_with_free_func (g_free),
    g_ptr_array_new_with_free_func (g_free),
  };

  jstp_security_attach (security, engine);
  jstp_engine_bind (engine, "*", (const char *[]) { "inbox", ":who", NULL }, on_letter, &inbox,
                    NULL, NULL);
  jstp_engine_add_connection (engine, JSTP_CONNECTION (conn));

  /* Unsigned from the network: 401, nothing triggered. */
  {
    g_autoptr(JstpDispatch) d = letter ();

    receive (conn, d);
    g_assert_cmpuint (last_status (conn), ==, JSTP_STATUS_UNAUTHORIZED);
    g_assert_cmpuint (inbox.received->len, ==, 0);
  }
  /* Signed: delivered with its author, answered 200. */
  {
    g_autoptr(JstpDispatch) d = letter ();

    g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
    receive (conn, d);
    g_assert_cmpuint (last_status (conn), ==, 200);
    g_assert_cmpuint (inbox.received->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (inbox.authors, 0), ==, jstp_key_get_id (alice));

    /* Replayed (the engine gives it a new transaction id: same signature). */
    receive (conn, d);
    g_assert_cmpuint (last_status (conn), ==, JSTP_STATUS_UNAUTHORIZED);
    g_assert_cmpuint (inbox.received->len, ==, 1);
  }
  /* Tampered: 498. */
  {
    g_autoptr(JstpDispatch) d = letter ();

    g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
    tamper_body (d);
    receive (conn, d);
    g_assert_cmpuint (last_status (conn), ==, JSTP_STATUS_BAD_SIGNATURE);
    g_assert_cmpuint (inbox.received->len, ==, 1);
  }
  /* Sealed to Bob: the callback reads the opened body. */
  {
    g_autoptr(JstpDispatch) d = sealed_letter (alice, bob);

    receive (conn, d);
    g_assert_cmpuint (last_status (conn), ==, 200);
    g_assert_cmpuint (inbox.received->len, ==, 2);
    g_assert_cmpstr (g_ptr_array_index (inbox.bodies, 1), ==,
                     "{\"n\":7,\"text\":\"attack at dawn\"}");
  }
  /* A broken envelope for Bob: 499, and the engine lives on. */
  {
    g_autoptr(JstpDispatch) d = letter ();
    g_autofree char *body = g_strdup_printf (
      "{\"jstp-sealed\":{\"alg\":\"x25519-xsalsa20poly1305-sealedbox\",\"ct\":\"AAAA\","
      "\"to\":\"%s\",\"v\":1}}", jstp_key_get_id (bob));

    g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
    jstp_dispatch_set_extension (d, "signature", NULL, NULL);
    jstp_dispatch_set_body_json (d, body, NULL);
    g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
    receive (conn, d);
    g_assert_cmpuint (last_status (conn), ==, JSTP_STATUS_CANNOT_DECRYPT);
  }
  /* A remote BIND must be signed too: unsigned, refused before the table. */
  {
    JstpEngineCounters before, after;
    g_autoptr(JstpPattern) endpoint =
      jstp_pattern_new ("POST", (const char *[]) { "feed" }, 1, JSTP_MODE_STRICT, NULL);
    g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, endpoint);
    g_autoptr(JstpDispatch) signed_bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND,
                                                                          endpoint);

    jstp_engine_get_counters (engine, &before);
    receive (conn, bind);
    g_assert_cmpuint (last_status (conn), ==, JSTP_STATUS_UNAUTHORIZED);
    jstp_engine_get_counters (engine, &after);
    g_assert_cmpuint (after.subscriptions, ==, before.subscriptions);

    g_assert_true (jstp_security_sign (signed_bind, alice, NULL, NULL));
    receive (conn, signed_bind);
    g_assert_cmpuint (last_status (conn), ==, 200);
    jstp_engine_get_counters (engine, &after);
    g_assert_cmpuint (after.subscriptions, ==, before.subscriptions + 1);
  }
  /* Key discovery is public, even under "require". */
  {
    g_autoptr(JstpDispatch) get = jstp_dispatch_new (JSTP_METHOD_GET,
                                                     (const char *[]) { "jstp", "keys", NULL });
    g_autoptr(JstpDispatch) answer = NULL;
    g_autofree char *card = jstp_key_to_public_json (bob);
    g_autofree char *expected = g_strdup_printf ("[%s]", card);

    receive (conn, get);
    answer = test_connection_parse_last (conn);
    g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, 200);
    g_assert_cmpstr (jstp_dispatch_get_body_json (answer), ==, expected);
  }
  /* Local emitters are never refused, and own binds work as ever. */
  {
    g_autoptr(JstpDispatch) d = letter ();

    jstp_engine_emit (engine, d, NULL, NULL, NULL);
    g_assert_cmpuint (inbox.received->len, ==, 3);
    g_assert_cmpstr (g_ptr_array_index (inbox.authors, 2), ==, "(none)");
  }
  /* A local emitter's sealed letter is opened for local subscribers. */
  {
    g_autoptr(JstpDispatch) d = sealed_letter (alice, bob);

    jstp_engine_emit (engine, d, NULL, NULL, NULL);
    g_assert_cmpuint (inbox.received->len, ==, 4);
    g_assert_cmpstr (g_ptr_array_index (inbox.authors, 3), ==, jstp_key_get_id (alice));
  }

  /* Detached: nothing is checked any more. */
  jstp_security_detach (security);
  {
    g_autoptr(JstpDispatch) d = letter ();

    receive (conn, d);
    g_assert_cmpuint (last_status (conn), ==, 200);
  }

  g_ptr_array_unref (inbox.received);
  g_ptr_array_unref (inbox.authors);
  g_ptr_array_unref (inbox.bodies);
}

/* Two hooks: the first refusal wins; removing one works; the engine
 * drops its hooks (and their data) when disposed. */
static guint
refuse_put (JstpEngine      *engine,
            JstpConnection  *connection,
            JstpDispatch    *dispatch,
            char           **message,
            gpointer         user_data)
{
  (*(guint *) user_data)++;
  if (jstp_dispatch_get_method (dispatch) == JSTP_METHOD_PUT)
    {
      *message = g_strdup ("no PUT here");
      return JSTP_STATUS_FORBIDDEN;
    }
  return 0;
}

static void
count_destroy (gpointer data)
{
  (*(guint *) data) += 100;
}

static void
test_engine_hooks (void)
{
  JstpEngine *engine = jstp_engine_new ("hooks");
  g_autoptr(TestConnection) conn = test_connection_new ();
  guint calls = 0, calls2 = 0;
  guint id;
  Inbox inbox = {
    g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref),
    g_ptr_array_new_with_free_func (g_free),
    g_ptr_array_new_with_free_func (g_free),
  };

  jstp_engine_bind (engine, "*", (const char *[]) { "inbox", ":who", NULL }, on_letter, &inbox,
                    NULL, NULL);
  jstp_engine_add_connection (engine, JSTP_CONNECTION (conn));
  id = jstp_engine_add_admission_hook (engine, refuse_put, &calls, NULL);
  jstp_engine_add_admission_hook (engine, refuse_put, &calls2, count_destroy);

  {
    g_autoptr(JstpDispatch) put = jstp_dispatch_new (JSTP_METHOD_PUT,
                                                     (const char *[]) { "inbox", "x", NULL });
    g_autoptr(JstpDispatch) post = jstp_dispatch_new (JSTP_METHOD_POST,
                                                      (const char *[]) { "inbox", "x", NULL });

    receive (conn, put);
    g_assert_cmpuint (last_status (conn), ==, JSTP_STATUS_FORBIDDEN);
    g_assert_cmpuint (calls, ==, 1);
    g_assert_cmpuint (calls2, ==, 0);
    receive (conn, post);
    g_assert_cmpuint (last_status (conn), ==, 200);
    g_assert_cmpuint (calls, ==, 2);
    g_assert_cmpuint (calls2, ==, 1);

    jstp_engine_remove_admission_hook (engine, id);
    receive (conn, post);
    g_assert_cmpuint (calls, ==, 2);
    g_assert_cmpuint (calls2, ==, 2);
  }

  jstp_connection_close (JSTP_CONNECTION (conn));
  g_object_unref (engine);
  g_assert_cmpuint (calls2, ==, 102);
  g_ptr_array_unref (inbox.received);
  g_ptr_array_unref (inbox.authors);
  g_ptr_array_unref (inbox.bodies);
}

int
main (int    argc,
      char **argv)
{
  int result;

  g_test_init (&argc, &argv, NULL);

  alice = jstp_key_generate ();
  bob = jstp_key_generate ();
  carol = jstp_key_generate ();
  mallory = jstp_key_generate ();

  g_test_add_func ("/security/c14n/vectors", test_c14n_vectors);
  g_test_add_func ("/security/c14n/key-order", test_c14n_key_order);
  g_test_add_func ("/security/c14n/idempotent", test_c14n_idempotent);
  g_test_add_func ("/security/key/seed-vector", test_key_seed_vector);
  g_test_add_func ("/security/key/card", test_key_card);
  g_test_add_func ("/security/key/base64", test_key_base64);
  g_test_add_func ("/security/key/seal", test_key_seal);
  g_test_add_func ("/security/key/file", test_key_file);
  g_test_add_func ("/security/key/file-tampered", test_key_file_tampered);
  g_test_add_func ("/security/keyring", test_keyring);
  g_test_add_func ("/security/sign/valid", test_sign_valid);
  g_test_add_func ("/security/sign/vector", test_sign_vector);
  g_test_add_func ("/security/sign/tamper", test_sign_tamper);
  g_test_add_func ("/security/sign/malformed", test_sign_malformed);
  g_test_add_func ("/security/sign/floats", test_sign_floats);
  g_test_add_func ("/security/sign/replay-window", test_sign_replay_window);
  g_test_add_func ("/security/sign/replay-quota", test_sign_replay_quota);
  g_test_add_func ("/security/sign/audience", test_sign_audience);
  g_test_add_func ("/security/sign/trust", test_sign_trust);
  g_test_add_func ("/security/sign/answer", test_sign_answer);
  g_test_add_func ("/security/encrypt/valid", test_encrypt_valid);
  g_test_add_func ("/security/encrypt/wrong-recipient", test_encrypt_wrong_recipient);
  g_test_add_func ("/security/encrypt/garbage", test_encrypt_garbage);
  g_test_add_func ("/security/encrypt/oversized", test_encrypt_oversized);
  g_test_add_func ("/security/encrypt/binding", test_encrypt_binding);
  g_test_add_func ("/security/engine/admission", test_engine_admission);
  g_test_add_func ("/security/engine/hooks", test_engine_hooks);

  result = g_test_run ();
  g_object_unref (alice);
  g_object_unref (bob);
  g_object_unref (carol);
  g_object_unref (mallory);
  return result;
}
