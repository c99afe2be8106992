/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "jstp-canonical.h"
#include "jstp-error.h"
#include "jstp-key.h"
#include "jstp-security-private.h"

/* Domain separation: a signature made for one purpose never verifies as
 * another (docs/protocol.md lists them all). */
#define KID_CONTEXT      "JSTP-KID-V1"
#define KEYCARD_CONTEXT  "JSTP-KEYCARD-V1"
#define KDF_CONTEXT      "JSTPKEYS"     /* crypto_kdf_CONTEXTBYTES = 8 */
#define KDF_SIGN_SUBKEY  1
#define KDF_BOX_SUBKEY   2

#define KEY_FILE_MAX     (64 * 1024)

/* Everything secret, in one sodium_malloc() block: guard pages around it,
 * no access while idle, wiped by sodium_free(). */
typedef struct {
  guint8 seed[JSTP_KEY_SEED_SIZE];
  guint8 sign_secret[crypto_sign_SECRETKEYBYTES];
  guint8 box_secret[crypto_box_SECRETKEYBYTES];
} Secret;

struct _JstpKey
{
  GObject parent_instance;

  guint8 sign_public[JSTP_KEY_SIGN_PUBLIC_SIZE];
  guint8 box_public[JSTP_KEY_BOX_PUBLIC_SIZE];
  gboolean has_box;
  char *id;
  char *name;
  gint64 created;
  gboolean trusted;
  char *card;       /* a peer's card exactly as imported, for re-export */
  Secret *secret;
};

G_DEFINE_FINAL_TYPE (JstpKey, jstp_key, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_FINGERPRINT,
  PROP_NAME,
  PROP_CREATED,
  PROP_HAS_SECRET,
  PROP_TRUSTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- shared helpers ---------------------------------------------------- */

gint64
_jstp_now_ms (void)
{
  return g_get_real_time () / 1000;
}

gboolean
_jstp_json_find_member (const char   *text,
                        JstpJsonSpan  object,
                        const char   *name,
                        JstpJsonSpan *value)
{
  JstpJsonIter iter;
  JstpJsonSpan n, v;

  if (object.type != JSTP_JSON_OBJECT)
    return FALSE;
  jstp_json_iter_init (&iter, text, object);
  while (jstp_json_iter_next_member (&iter, &n, &v))
    if (jstp_json_string_equal (text, n, name, FALSE))
      {
        if (value)
          *value = v;
        return TRUE;
      }
  return FALSE;
}

char *
_jstp_json_dup_string (const char   *text,
                       JstpJsonSpan  object,
                       const char   *name)
{
  JstpJsonSpan v;

  if (!_jstp_json_find_member (text, object, name, &v) || v.type != JSTP_JSON_STRING)
    return NULL;
  return jstp_json_string_dup (text, v, NULL);
}

gboolean
_jstp_json_get_int (const char   *text,
                    JstpJsonSpan  object,
                    const char   *name,
                    gint64       *out)
{
  JstpJsonSpan v;

  return _jstp_json_find_member (text, object, name, &v) &&
         jstp_json_number_get_int64 (text, v, out);
}

gboolean
_jstp_json_only_members (const char          *text,
                         JstpJsonSpan         object,
                         const char * const  *allowed)
{
  JstpJsonIter iter;
  JstpJsonSpan n, v;

  jstp_json_iter_init (&iter, text, object);
  while (jstp_json_iter_next_member (&iter, &n, &v))
    {
      gboolean known = FALSE;

      for (guint i = 0; allowed[i] && !known; i++)
        known = jstp_json_string_equal (text, n, allowed[i], FALSE);
      if (!known)
        return FALSE;
    }
  return TRUE;
}

gboolean
_jstp_json_get_base64 (const char   *text,
                       JstpJsonSpan  object,
                       const char   *name,
                       guint8       *out,
                       gsize         length)
{
  JstpJsonSpan v;

  /* base64url needs no escapes: the raw span between the quotes is the
   * string, and an escaped one is refused as non-canonical. */
  if (!_jstp_json_find_member (text, object, name, &v) || v.type != JSTP_JSON_STRING)
    return FALSE;
  return jstp_base64url_decode (text + v.offset + 1, v.length - 2, out, length);
}

gboolean
_jstp_key_name_is_valid (const char *name)
{
  gsize length;

  if (name == NULL)
    return FALSE;
  length = strlen (name);
  if (length == 0 || length > 64 || name[0] == '-' || !g_utf8_validate (name, length, NULL))
    return FALSE;
  for (const char *p = name; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) || c == '/' || c == '\\')
        return FALSE;
    }
  return TRUE;
}

char *
jstp_base64url_encode (const guint8 *data,
                       gsize         length)
{
  gsize size = sodium_base64_ENCODED_LEN (length, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *out = g_malloc (size);

  sodium_bin2base64 (out, size, data, length, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

gboolean
jstp_base64url_decode (const char *text,
                       gsize       text_length,
                       guint8     *out,
                       gsize       length)
{
  gsize decoded = 0;

  g_return_val_if_fail (text != NULL || text_length == 0, FALSE);

  /* Exact length first: no padding, no spaces, nothing after. With a NULL
   * end pointer libsodium refuses any byte it cannot decode instead of
   * stopping there, and refuses non-zero trailing bits. */
  if (text_length + 1 !=
      sodium_base64_ENCODED_LEN (length, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
    return FALSE;
  if (sodium_base642bin (out, length, text, text_length, NULL, &decoded, NULL,
                         sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return FALSE;
  return decoded == length;
}

static char *
base32_encode (const guint8 *data,
               gsize         length)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  GString *out = g_string_sized_new ((length * 8 + 4) / 5 + 1);
  guint buffer = 0;
  guint bits = 0;

  for (gsize i = 0; i < length; i++)
    {
      buffer = (buffer << 8) | data[i];
      bits += 8;
      while (bits >= 5)
        {
          g_string_append_c (out, alphabet[(buffer >> (bits - 5)) & 31]);
          bits -= 5;
        }
    }
  if (bits > 0)
    g_string_append_c (out, alphabet[(buffer << (5 - bits)) & 31]);
  return g_string_free (out, FALSE);
}

char *
jstp_key_id_from_sign_public (const guint8 *sign_public)
{
  guint8 input[sizeof KID_CONTEXT + JSTP_KEY_SIGN_PUBLIC_SIZE];
  guint8 hash[20];

  g_return_val_if_fail (sign_public != NULL, NULL);

  /* sizeof includes the NUL: "JSTP-KID-V1\0" ‖ pk. */
  memcpy (input, KID_CONTEXT, sizeof KID_CONTEXT);
  memcpy (input + sizeof KID_CONTEXT, sign_public, JSTP_KEY_SIGN_PUBLIC_SIZE);
  crypto_generichash (hash, sizeof hash, input, sizeof input, NULL, 0);
  return base32_encode (hash, sizeof hash);
}

/* ---- secret access ----------------------------------------------------- */

static const Secret *
secret_open (JstpKey *self)
{
  sodium_mprotect_readonly (self->secret);
  return self->secret;
}

static void
secret_close (JstpKey *self)
{
  sodium_mprotect_noaccess (self->secret);
}

/* ---- construction ------------------------------------------------------ */

static void
ensure_sodium (void)
{
  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");
}

static void
set_sign_public (JstpKey      *self,
                 const guint8 *sign_public)
{
  memcpy (self->sign_public, sign_public, JSTP_KEY_SIGN_PUBLIC_SIZE);
  g_free (self->id);
  self->id = jstp_key_id_from_sign_public (sign_public);
}

JstpKey *
jstp_key_new_from_seed (const guint8 *seed,
                        gsize         seed_length)
{
  JstpKey *self;
  guint8 subseed[32];
  guint8 sign_public[JSTP_KEY_SIGN_PUBLIC_SIZE];

  g_return_val_if_fail (seed != NULL, NULL);
  g_return_val_if_fail (seed_length == JSTP_KEY_SEED_SIZE, NULL);

  ensure_sodium ();

  self = g_object_new (JSTP_TYPE_KEY, NULL);
  self->secret = sodium_malloc (sizeof (Secret));
  if (self->secret == NULL)
    g_error ("sodium_malloc failed");
  memcpy (self->secret->seed, seed, JSTP_KEY_SEED_SIZE);

  G_STATIC_ASSERT (crypto_kdf_KEYBYTES == JSTP_KEY_SEED_SIZE);
  crypto_kdf_derive_from_key (subseed, sizeof subseed, KDF_SIGN_SUBKEY, KDF_CONTEXT,
                              self->secret->seed);
  crypto_sign_seed_keypair (sign_public, self->secret->sign_secret, subseed);
  crypto_kdf_derive_from_key (subseed, sizeof subseed, KDF_BOX_SUBKEY, KDF_CONTEXT,
                              self->secret->seed);
  crypto_box_seed_keypair (self->box_public, self->secret->box_secret, subseed);
  sodium_memzero (subseed, sizeof subseed);
  secret_close (self);

  self->has_box = TRUE;
  set_sign_public (self, sign_public);
  return self;
}

JstpKey *
jstp_key_generate (void)
{
  guint8 *seed;
  JstpKey *self;

  ensure_sodium ();

  seed = sodium_malloc (JSTP_KEY_SEED_SIZE);
  randombytes_buf (seed, JSTP_KEY_SEED_SIZE);
  self = jstp_key_new_from_seed (seed, JSTP_KEY_SEED_SIZE);
  sodium_free (seed);
  self->created = _jstp_now_ms ();
  return self;
}

JstpKey *
jstp_key_new_from_sign_public (const guint8 *sign_public)
{
  JstpKey *self;

  g_return_val_if_fail (sign_public != NULL, NULL);

  ensure_sodium ();
  self = g_object_new (JSTP_TYPE_KEY, NULL);
  set_sign_public (self, sign_public);
  return self;
}

/* The card without "sig", canonical: what the self-signature covers. */
static char *
card_signed_part (const char   *id,
                  const guint8 *sign_public,
                  const guint8 *box_public,
                  gint64        created,
                  const char   *name)
{
  g_autoptr(GString) raw = g_string_new ("{\"jstp-key\":1,\"id\":");
  g_autofree char *sign = jstp_base64url_encode (sign_public, JSTP_KEY_SIGN_PUBLIC_SIZE);
  g_autofree char *box = jstp_base64url_encode (box_public, JSTP_KEY_BOX_PUBLIC_SIZE);

  jstp_json_append_string (raw, id, -1);
  g_string_append_printf (raw, ",\"sign\":\"%s\",\"box\":\"%s\",\"created\":%" G_GINT64_FORMAT,
                          sign, box, created);
  if (name)
    {
      g_string_append (raw, ",\"name\":");
      jstp_json_append_string (raw, name, -1);
    }
  g_string_append_c (raw, '}');
  return jstp_canonical_serialize (raw->str, raw->len, NULL);
}

static GBytes *
with_context (const char *context,
              const char *canonical)
{
  gsize clen = strlen (context) + 1;
  gsize length = strlen (canonical);
  guint8 *data = g_malloc (clen + length);

  memcpy (data, context, clen);
  memcpy (data + clen, canonical, length);
  return g_bytes_new_take (data, clen + length);
}

char *
jstp_key_to_public_json (JstpKey *self)
{
  g_autofree char *signed_part = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GString) card = NULL;
  g_autofree char *sig_text = NULL;
  guint8 sig[JSTP_KEY_SIGNATURE_SIZE];

  g_return_val_if_fail (JSTP_IS_KEY (self), NULL);

  if (self->secret == NULL)
    return g_strdup (self->card);

  signed_part = card_signed_part (self->id, self->sign_public, self->box_public,
                                  self->created, self->name);
  g_return_val_if_fail (signed_part != NULL, NULL);
  message = with_context (KEYCARD_CONTEXT, signed_part);
  jstp_key_sign (self, g_bytes_get_data (message, NULL), g_bytes_get_size (message), sig);
  sig_text = jstp_base64url_encode (sig, sizeof sig);

  card = g_string_new (signed_part);
  g_string_truncate (card, card->len - 1);
  g_string_append_printf (card, ",\"sig\":\"%s\"}", sig_text);
  return jstp_canonical_serialize (card->str, card->len, NULL);
}

static JstpKey *
key_from_card (const char    *text,
               JstpJsonSpan   root,
               GError       **error)
{
  static const char * const allowed[] = {
    "jstp-key", "id", "sign", "box", "created", "name", "sig", NULL
  };
  guint8 sign_public[JSTP_KEY_SIGN_PUBLIC_SIZE];
  guint8 box_public[JSTP_KEY_BOX_PUBLIC_SIZE];
  guint8 sig[JSTP_KEY_SIGNATURE_SIZE];
  gint64 version, created;
  g_autofree char *id = NULL;
  g_autofree char *name = NULL;
  g_autofree char *expected_id = NULL;
  g_autofree char *signed_part = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GString) card = NULL;
  JstpJsonSpan name_span;
  JstpKey *self;

  if (root.type != JSTP_JSON_OBJECT ||
      !_jstp_json_get_int (text, root, "jstp-key", &version) || version != 1 ||
      !_jstp_json_only_members (text, root, allowed) ||
      (id = _jstp_json_dup_string (text, root, "id")) == NULL ||
      !_jstp_json_get_base64 (text, root, "sign", sign_public, sizeof sign_public) ||
      !_jstp_json_get_base64 (text, root, "box", box_public, sizeof box_public) ||
      !_jstp_json_get_int (text, root, "created", &created) || created < 0 ||
      created > JSTP_CANONICAL_MAX_INTEGER ||
      !_jstp_json_get_base64 (text, root, "sig", sig, sizeof sig))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "not a JSTP public key card (version 1)");
      return NULL;
    }
  if (_jstp_json_find_member (text, root, "name", &name_span))
    {
      name = _jstp_json_dup_string (text, root, "name");
      if (!_jstp_key_name_is_valid (name))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "the key card's name is not a valid key name");
          return NULL;
        }
    }

  expected_id = jstp_key_id_from_sign_public (sign_public);
  if (!g_str_equal (id, expected_id))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "the key card's id does not belong to its signing key");
      return NULL;
    }

  signed_part = card_signed_part (id, sign_public, box_public, created, name);
  message = with_context (KEYCARD_CONTEXT, signed_part);
  if (crypto_sign_verify_detached (sig, g_bytes_get_data (message, NULL),
                                   g_bytes_get_size (message), sign_public) != 0)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_SIGNATURE,
                   "the key card's self-signature does not verify");
      return NULL;
    }

  self = jstp_key_new_from_sign_public (sign_public);
  memcpy (self->box_public, box_public, sizeof box_public);
  self->has_box = TRUE;
  self->created = created;
  self->name = g_steal_pointer (&name);

  /* Keep the card in canonical form, as its owner would write it. */
  card = g_string_new (signed_part);
  g_string_truncate (card, card->len - 1);
  {
    g_autofree char *sig_text = jstp_base64url_encode (sig, sizeof sig);
    g_string_append_printf (card, ",\"sig\":\"%s\"}", sig_text);
  }
  self->card = jstp_canonical_serialize (card->str, card->len, NULL);
  return self;
}

JstpKey *
jstp_key_new_from_public_json (const char  *json,
                               GError     **error)
{
  JstpJsonSpan root;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (json != NULL, NULL);

  ensure_sodium ();

  if (!jstp_json_scan (json, strlen (json), NULL, &root, NULL, 0, NULL, &local_error))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "not a key card: %s",
                   local_error->message);
      return NULL;
    }
  return key_from_card (json, root, error);
}

/* ---- accessors --------------------------------------------------------- */

gboolean
jstp_key_has_secret (JstpKey *self)
{
  g_return_val_if_fail (JSTP_IS_KEY (self), FALSE);
  return self->secret != NULL;
}

gboolean
jstp_key_has_box (JstpKey *self)
{
  g_return_val_if_fail (JSTP_IS_KEY (self), FALSE);
  return self->has_box;
}

const char *
jstp_key_get_id (JstpKey *self)
{
  g_return_val_if_fail (JSTP_IS_KEY (self), NULL);
  return self->id;
}

char *
jstp_key_dup_fingerprint (JstpKey *self)
{
  GString *out;

  g_return_val_if_fail (JSTP_IS_KEY (self), NULL);

  out = g_string_sized_new (JSTP_KEY_ID_LENGTH + JSTP_KEY_ID_LENGTH / 4);
  for (guint i = 0; self->id[i]; i++)
    {
      if (i > 0 && i % 4 == 0)
        g_string_append_c (out, ' ');
      g_string_append_c (out, self->id[i]);
    }
  return g_string_free (out, FALSE);
}

const char *
jstp_key_get_name (JstpKey *self)
{
  g_return_val_if_fail (JSTP_IS_KEY (self), NULL);
  return self->name;
}

void
jstp_key_set_name (JstpKey    *self,
                   const char *name)
{
  g_return_if_fail (JSTP_IS_KEY (self));
  g_return_if_fail (name == NULL || _jstp_key_name_is_valid (name));

  if (g_strcmp0 (self->name, name) == 0)
    return;
  g_free (self->name);
  self->name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

gint64
jstp_key_get_created (JstpKey *self)
{
  g_return_val_if_fail (JSTP_IS_KEY (self), 0);
  return self->created;
}

gboolean
jstp_key_get_trusted (JstpKey *self)
{
  g_return_val_if_fail (JSTP_IS_KEY (self), FALSE);
  return self->trusted || self->secret != NULL;
}

void
jstp_key_set_trusted (JstpKey  *self,
                      gboolean  trusted)
{
  g_return_if_fail (JSTP_IS_KEY (self));

  trusted = !!trusted;
  if (self->trusted == trusted)
    return;
  self->trusted = trusted;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRUSTED]);
}

const guint8 *
jstp_key_get_sign_public (JstpKey *self)
{
  g_return_val_if_fail (JSTP_IS_KEY (self), NULL);
  return self->sign_public;
}

const guint8 *
jstp_key_get_box_public (JstpKey *self)
{
  g_return_val_if_fail (JSTP_IS_KEY (self), NULL);
  return self->has_box ? self->box_public : NULL;
}

/* ---- operations -------------------------------------------------------- */

gboolean
jstp_key_sign (JstpKey      *self,
               const guint8 *message,
               gsize         length,
               guint8        signature[JSTP_KEY_SIGNATURE_SIZE])
{
  const Secret *secret;

  g_return_val_if_fail (JSTP_IS_KEY (self), FALSE);
  g_return_val_if_fail (message != NULL || length == 0, FALSE);

  if (self->secret == NULL)
    return FALSE;
  secret = secret_open (self);
  crypto_sign_detached (signature, NULL, message, length, secret->sign_secret);
  secret_close (self);
  return TRUE;
}

gboolean
jstp_key_verify (JstpKey      *self,
                 const guint8 *message,
                 gsize         length,
                 const guint8  signature[JSTP_KEY_SIGNATURE_SIZE])
{
  g_return_val_if_fail (JSTP_IS_KEY (self), FALSE);
  g_return_val_if_fail (message != NULL || length == 0, FALSE);

  return crypto_sign_verify_detached (signature, message, length, self->sign_public) == 0;
}

GBytes *
jstp_key_seal (JstpKey      *self,
               const guint8 *message,
               gsize         length)
{
  guint8 *sealed;

  g_return_val_if_fail (JSTP_IS_KEY (self), NULL);
  g_return_val_if_fail (message != NULL || length == 0, NULL);
  g_return_val_if_fail (self->has_box, NULL);

  sealed = g_malloc (length + crypto_box_SEALBYTES);
  if (crypto_box_seal (sealed, message, length, self->box_public) != 0)
    {
      g_free (sealed);
      return NULL;
    }
  return g_bytes_new_take (sealed, length + crypto_box_SEALBYTES);
}

GBytes *
jstp_key_open (JstpKey      *self,
               const guint8 *sealed,
               gsize         length)
{
  const Secret *secret;
  guint8 *plain;
  int rc;

  g_return_val_if_fail (JSTP_IS_KEY (self), NULL);
  g_return_val_if_fail (sealed != NULL || length == 0, NULL);

  /* Checked before `length - SEALBYTES` can underflow. */
  if (self->secret == NULL || length < crypto_box_SEALBYTES)
    return NULL;

  plain = g_malloc (length - crypto_box_SEALBYTES + 1);
  secret = secret_open (self);
  rc = crypto_box_seal_open (plain, sealed, length, self->box_public, secret->box_secret);
  secret_close (self);
  if (rc != 0)
    {
      g_free (plain);
      return NULL;
    }
  return g_bytes_new_take (plain, length - crypto_box_SEALBYTES);
}

/* ---- key files --------------------------------------------------------- */

gboolean
jstp_key_save (JstpKey     *self,
               const char  *path,
               const char  *passphrase,
               GError     **error)
{
  return jstp_key_save_with_limits (self, path, passphrase,
                                    crypto_pwhash_OPSLIMIT_MODERATE,
                                    crypto_pwhash_MEMLIMIT_MODERATE, error);
}

gboolean
jstp_key_save_with_limits (JstpKey     *self,
                           const char  *path,
                           const char  *passphrase,
                           guint64      opslimit,
                           gsize        memlimit,
                           GError     **error)
{
  guint8 salt[crypto_pwhash_SALTBYTES];
  guint8 nonce[crypto_secretbox_NONCEBYTES];
  guint8 ct[JSTP_KEY_SEED_SIZE + crypto_secretbox_MACBYTES];
  guint8 *wrapping_key;
  const Secret *secret;
  g_autofree char *card = NULL;
  g_autofree char *salt_text = NULL;
  g_autofree char *nonce_text = NULL;
  g_autofree char *ct_text = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GString) file = NULL;

  g_return_val_if_fail (JSTP_IS_KEY (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (passphrase != NULL, FALSE);
  g_return_val_if_fail (self->secret != NULL, FALSE);

  if (*passphrase == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a key file needs a passphrase");
      return FALSE;
    }
  if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > JSTP_KEY_KDF_MAX_OPS ||
      memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > JSTP_KEY_KDF_MAX_MEM)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Argon2id limits out of bounds");
      return FALSE;
    }

  randombytes_buf (salt, sizeof salt);
  randombytes_buf (nonce, sizeof nonce);
  wrapping_key = sodium_malloc (crypto_secretbox_KEYBYTES);
  if (crypto_pwhash (wrapping_key, crypto_secretbox_KEYBYTES, passphrase, strlen (passphrase),
                     salt, opslimit, memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      sodium_free (wrapping_key);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "not enough memory to derive the key file's key");
      return FALSE;
    }
  secret = secret_open (self);
  crypto_secretbox_easy (ct, secret->seed, JSTP_KEY_SEED_SIZE, nonce, wrapping_key);
  secret_close (self);
  sodium_free (wrapping_key);

  card = jstp_key_to_public_json (self);
  salt_text = jstp_base64url_encode (salt, sizeof salt);
  nonce_text = jstp_base64url_encode (nonce, sizeof nonce);
  ct_text = jstp_base64url_encode (ct, sizeof ct);

  file = g_string_new ("{\"jstp-secret-key\":1,\"id\":");
  jstp_json_append_string (file, self->id, -1);
  g_string_append_printf (file,
                          ",\"card\":%s,\"kdf\":{\"alg\":\"argon2id13\",\"ops\":%" G_GUINT64_FORMAT
                          ",\"mem\":%" G_GSIZE_FORMAT ",\"salt\":\"%s\"},"
                          "\"cipher\":\"xsalsa20poly1305\",\"nonce\":\"%s\",\"ct\":\"%s\"}\n",
                          card, opslimit, memlimit, salt_text, nonce_text, ct_text);

  dir = g_path_get_dirname (path);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR) && g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  return g_file_set_contents_full (path, file->str, file->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* Reads a key file the way ssh reads its keys: a regular file of ours
 * that nobody else may read or write (@forbidden_mode 077), or nothing. */
char *
_jstp_read_private_file (const char  *path,
                         guint        forbidden_mode,
                         gsize       *length,
                         GError     **error)
{
  struct stat st;
  g_autofree char *data = NULL;
  gsize used = 0;
  int fd;

  fd = g_open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                   saved == ELOOP ? "is a symbolic link; key files must not be"
                                  : g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, "%s: not a regular file",
                   path);
      close (fd);
      return NULL;
    }
  if (st.st_uid != geteuid ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "%s belongs to another user; refusing to use a key file that "
                   "someone else controls", path);
      close (fd);
      return NULL;
    }
  if ((st.st_mode & forbidden_mode) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "%s is accessible by other users (mode %03o); refusing to use it. "
                   "Run: chmod 600 %s", path, (guint) (st.st_mode & 0777), path);
      close (fd);
      return NULL;
    }
  if (st.st_size > KEY_FILE_MAX)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "%s is too large for a key file",
                   path);
      close (fd);
      return NULL;
    }

  data = g_malloc (KEY_FILE_MAX + 1);
  for (;;)
    {
      gssize n = read (fd, data + used, KEY_FILE_MAX + 1 - used);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                       g_strerror (saved));
          close (fd);
          return NULL;
        }
      if (n == 0)
        break;
      used += n;
      if (used > KEY_FILE_MAX)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "%s is too large for a key file", path);
          close (fd);
          return NULL;
        }
    }
  close (fd);
  data[used] = '\0';
  *length = used;
  return g_steal_pointer (&data);
}

static gboolean
parse_key_file (const char    *path,
                const char    *data,
                gsize          length,
                JstpJsonSpan  *root,
                JstpKey      **public_key,
                GError       **error)
{
  JstpJsonSpan card;
  g_autofree char *id = NULL;
  gint64 version;
  g_autoptr(GError) local_error = NULL;

  if (!jstp_json_scan (data, length, NULL, root, NULL, 0, NULL, &local_error) ||
      root->type != JSTP_JSON_OBJECT ||
      !_jstp_json_get_int (data, *root, "jstp-secret-key", &version) || version != 1 ||
      (id = _jstp_json_dup_string (data, *root, "id")) == NULL ||
      !_jstp_json_find_member (data, *root, "card", &card))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "%s is not a JSTP secret key file (version 1)", path);
      return FALSE;
    }
  *public_key = key_from_card (data, card, &local_error);
  if (*public_key == NULL || !g_str_equal (id, (*public_key)->id))
    {
      g_clear_object (public_key);
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "%s: the public part of the key file was altered", path);
      return FALSE;
    }
  return TRUE;
}

JstpKey *
jstp_key_load_public (const char  *path,
                      GError     **error)
{
  g_autofree char *data = NULL;
  gsize length;
  JstpJsonSpan root;
  JstpKey *key = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  ensure_sodium ();

  data = _jstp_read_private_file (path, 077, &length, error);
  if (data == NULL || !parse_key_file (path, data, length, &root, &key, error))
    return NULL;
  return key;
}

JstpKey *
jstp_key_load (const char  *path,
               const char  *passphrase,
               GError     **error)
{
  static const char * const kdf_members[] = { "alg", "ops", "mem", "salt", NULL };
  g_autofree char *data = NULL;
  g_autofree char *alg = NULL;
  g_autofree char *cipher = NULL;
  g_autoptr(JstpKey) public_key = NULL;
  JstpKey *key;
  gsize length;
  JstpJsonSpan root, kdf;
  gint64 ops, mem;
  guint8 salt[crypto_pwhash_SALTBYTES];
  guint8 nonce[crypto_secretbox_NONCEBYTES];
  guint8 ct[JSTP_KEY_SEED_SIZE + crypto_secretbox_MACBYTES];
  guint8 *wrapping_key;
  guint8 *seed;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);

  ensure_sodium ();

  data = _jstp_read_private_file (path, 077, &length, error);
  if (data == NULL || !parse_key_file (path, data, length, &root, &public_key, error))
    return NULL;

  /* Every parameter is checked before the KDF runs: a crafted file must
   * not make us allocate a terabyte (H3). */
  if (!_jstp_json_find_member (data, root, "kdf", &kdf) || kdf.type != JSTP_JSON_OBJECT ||
      !_jstp_json_only_members (data, kdf, kdf_members) ||
      (alg = _jstp_json_dup_string (data, kdf, "alg")) == NULL ||
      !g_str_equal (alg, "argon2id13") ||
      !_jstp_json_get_int (data, kdf, "ops", &ops) ||
      ops < crypto_pwhash_OPSLIMIT_MIN || ops > JSTP_KEY_KDF_MAX_OPS ||
      !_jstp_json_get_int (data, kdf, "mem", &mem) ||
      mem < crypto_pwhash_MEMLIMIT_MIN || (guint64) mem > JSTP_KEY_KDF_MAX_MEM ||
      !_jstp_json_get_base64 (data, kdf, "salt", salt, sizeof salt) ||
      (cipher = _jstp_json_dup_string (data, root, "cipher")) == NULL ||
      !g_str_equal (cipher, "xsalsa20poly1305") ||
      !_jstp_json_get_base64 (data, root, "nonce", nonce, sizeof nonce) ||
      !_jstp_json_get_base64 (data, root, "ct", ct, sizeof ct))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "%s: the key file's parameters are malformed or out of bounds", path);
      return NULL;
    }

  wrapping_key = sodium_malloc (crypto_secretbox_KEYBYTES);
  seed = sodium_malloc (JSTP_KEY_SEED_SIZE);
  if (crypto_pwhash (wrapping_key, crypto_secretbox_KEYBYTES, passphrase, strlen (passphrase),
                     salt, (guint64) ops, (gsize) mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      sodium_free (wrapping_key);
      sodium_free (seed);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "not enough memory to derive the key file's key");
      return NULL;
    }
  if (crypto_secretbox_open_easy (seed, ct, sizeof ct, nonce, wrapping_key) != 0)
    {
      sodium_free (wrapping_key);
      sodium_free (seed);
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_UNAUTHORIZED,
                   "%s: wrong passphrase (or the file was altered)", path);
      return NULL;
    }
  sodium_free (wrapping_key);

  key = jstp_key_new_from_seed (seed, JSTP_KEY_SEED_SIZE);
  sodium_free (seed);
  if (!g_str_equal (key->id, public_key->id) ||
      memcmp (key->box_public, public_key->box_public, JSTP_KEY_BOX_PUBLIC_SIZE) != 0)
    {
      g_object_unref (key);
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "%s: the public part does not match the secret key", path);
      return NULL;
    }
  key->created = public_key->created;
  key->name = g_strdup (public_key->name);
  return key;
}

/* ---- GObject ----------------------------------------------------------- */

static void
jstp_key_finalize (GObject *object)
{
  JstpKey *self = JSTP_KEY (object);

  if (self->secret)
    sodium_free (self->secret);   /* unlocks and wipes before unmapping */
  g_free (self->id);
  g_free (self->name);
  g_free (self->card);

  G_OBJECT_CLASS (jstp_key_parent_class)->finalize (object);
}

static void
jstp_key_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  JstpKey *self = JSTP_KEY (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_FINGERPRINT:
      g_value_take_string (value, jstp_key_dup_fingerprint (self));
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_CREATED:
      g_value_set_int64 (value, self->created);
      break;
    case PROP_HAS_SECRET:
      g_value_set_boolean (value, self->secret != NULL);
      break;
    case PROP_TRUSTED:
      g_value_set_boolean (value, jstp_key_get_trusted (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_key_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  JstpKey *self = JSTP_KEY (object);

  switch (prop_id)
    {
    case PROP_NAME:
      jstp_key_set_name (self, g_value_get_string (value));
      break;
    case PROP_TRUSTED:
      jstp_key_set_trusted (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_key_class_init (JstpKeyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = jstp_key_finalize;
  object_class->get_property = jstp_key_get_property;
  object_class->set_property = jstp_key_set_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FINGERPRINT] =
    g_param_spec_string ("fingerprint", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CREATED] =
    g_param_spec_int64 ("created", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_SECRET] =
    g_param_spec_boolean ("has-secret", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TRUSTED] =
    g_param_spec_boolean ("trusted", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jstp_key_init (JstpKey *self)
{
}
