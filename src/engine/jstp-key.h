/* SPDX-License-Identifier: MIT */
/* jstp-key.h: one JSTP identity (docs/protocol.md, "Keys").
 *
 * A key is two libsodium key pairs: Ed25519 to sign, X25519 to receive
 * sealed bodies. libsodium recommends distinct pairs over converting one
 * into the other; both are derived from one 32-byte secret seed with
 * crypto_kdf, so a key file stores 32 secret bytes. The key id is the
 * BLAKE2b-160 of the signing public key in lower-case base32 (32
 * characters); the encryption key is bound to it by a self-signed public
 * key card. Secret material lives in sodium_malloc() memory, locked
 * (no access) while idle and wiped when the key is finalized.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define JSTP_KEY_ID_LENGTH        32   /* characters of a key id */
#define JSTP_KEY_SIGN_PUBLIC_SIZE 32   /* crypto_sign_PUBLICKEYBYTES */
#define JSTP_KEY_BOX_PUBLIC_SIZE  32   /* crypto_box_PUBLICKEYBYTES */
#define JSTP_KEY_SIGNATURE_SIZE   64   /* crypto_sign_BYTES */
#define JSTP_KEY_SEED_SIZE        32

#define JSTP_TYPE_KEY (jstp_key_get_type ())

G_DECLARE_FINAL_TYPE (JstpKey, jstp_key, JSTP, KEY, GObject)

/* A new identity from the system's random source. */
JstpKey      *jstp_key_generate            (void);
/* The identity a seed stands for; the same seed always gives the same key
 * (test vectors, restoring a backup). */
JstpKey      *jstp_key_new_from_seed       (const guint8  *seed,
                                            gsize          seed_length);
/**
 * jstp_key_new_from_public_json:
 * @json: a public key card, as jstp_key_to_public_json() writes it
 * @error: a %JSTP_ERROR 400 when the card is malformed, its key id does not
 *   match its signing key, or its self-signature does not verify
 *
 * Returns: (transfer full) (nullable): a key without its secret part
 */
JstpKey      *jstp_key_new_from_public_json (const char   *json,
                                            GError       **error);
/* A key from a signing public key alone: enough to verify signatures (and
 * compute the key id), not to seal bodies to. */
JstpKey      *jstp_key_new_from_sign_public (const guint8 *sign_public);

/* The public key card: JSON with the key id, both public keys, the name
 * and the creation time, signed by the key itself. Only for keys with a
 * secret part or loaded from a card (a key made from a signing key alone
 * has no card). Free with g_free(). */
char         *jstp_key_to_public_json      (JstpKey       *self);

gboolean      jstp_key_has_secret          (JstpKey       *self);
/* FALSE for a key made from a signing public key alone. */
gboolean      jstp_key_has_box             (JstpKey       *self);
const char   *jstp_key_get_id              (JstpKey       *self);
/* The key id in 8 groups of 4 characters, for people to compare aloud. */
char         *jstp_key_dup_fingerprint     (JstpKey       *self);
/* The name the key's owner gave it (in its card); may be %NULL. */
const char   *jstp_key_get_name            (JstpKey       *self);
void          jstp_key_set_name            (JstpKey       *self,
                                            const char    *name);
/* Milliseconds since the Unix epoch; 0 when unknown. */
gint64        jstp_key_get_created         (JstpKey       *self);
/* Set by JstpKeyring for peers the user trusts; own keys are trusted. */
gboolean      jstp_key_get_trusted         (JstpKey       *self);
void          jstp_key_set_trusted         (JstpKey       *self,
                                            gboolean       trusted);

const guint8 *jstp_key_get_sign_public     (JstpKey       *self);
/* %NULL when jstp_key_has_box() is FALSE. */
const guint8 *jstp_key_get_box_public      (JstpKey       *self);

/* Detached Ed25519 over @message; FALSE without a secret part. */
gboolean      jstp_key_sign                (JstpKey       *self,
                                            const guint8  *message,
                                            gsize          length,
                                            guint8         signature[JSTP_KEY_SIGNATURE_SIZE]);
gboolean      jstp_key_verify              (JstpKey       *self,
                                            const guint8  *message,
                                            gsize          length,
                                            const guint8   signature[JSTP_KEY_SIGNATURE_SIZE]);
/* crypto_box_seal() of @message to this key's X25519 public key: anyone
 * may seal, only the holder of the secret part opens. (transfer full) */
GBytes       *jstp_key_seal                (JstpKey       *self,
                                            const guint8  *message,
                                            gsize          length);
/* Opens what jstp_key_seal() made; %NULL when this key cannot (no secret
 * part, another recipient, tampered or truncated). (transfer full) */
GBytes       *jstp_key_open                (JstpKey       *self,
                                            const guint8  *sealed,
                                            gsize          length);

/* Argon2id limits for key files: the bounds a file's parameters must stay
 * within before any derivation (a crafted file must not exhaust memory). */
#define JSTP_KEY_KDF_MAX_OPS    10
#define JSTP_KEY_KDF_MAX_MEM    (G_GUINT64_CONSTANT (1) << 30)

/**
 * jstp_key_save:
 * @passphrase: not empty; the file is useless without it
 * @error: a #GIOError, or %G_IO_ERROR_INVALID_ARGUMENT for an empty passphrase
 *
 * Writes the secret seed encrypted with @passphrase (Argon2id MODERATE +
 * XSalsa20-Poly1305 secretbox), atomically, mode 0600, in a directory
 * made 0700 when it has to be created.
 */
gboolean      jstp_key_save                (JstpKey       *self,
                                            const char    *path,
                                            const char    *passphrase,
                                            GError       **error);
/* jstp_key_save() with other Argon2id limits (tests, small devices). */
gboolean      jstp_key_save_with_limits    (JstpKey       *self,
                                            const char    *path,
                                            const char    *passphrase,
                                            guint64        opslimit,
                                            gsize          memlimit,
                                            GError       **error);
/**
 * jstp_key_load:
 * @error: %G_IO_ERROR_PERMISSION_DENIED when the file is readable or
 *   writable by group or others, or owned by another user (the message
 *   says how to fix it); %JSTP_ERROR 401 for a wrong passphrase; 400 for a
 *   malformed or altered file
 *
 * Returns: (transfer full) (nullable): the key with its secret part
 */
JstpKey      *jstp_key_load                (const char    *path,
                                            const char    *passphrase,
                                            GError       **error);
/* The public part of a key file, without the passphrase (listing keys).
 * Checks the file's permissions like jstp_key_load(). */
JstpKey      *jstp_key_load_public         (const char    *path,
                                            GError       **error);

/* Strict unpadded base64url (RFC 4648 section 5): the only encoding of
 * binary fields in JSTP's security extension. */
char         *jstp_base64url_encode        (const guint8  *data,
                                            gsize          length);
/* FALSE unless @text is canonical unpadded base64url of exactly
 * @length bytes. */
gboolean      jstp_base64url_decode        (const char    *text,
                                            gsize          text_length,
                                            guint8        *out,
                                            gsize          length);
/* The key id of a signing public key. Free with g_free(). */
char         *jstp_key_id_from_sign_public (const guint8  *sign_public);

G_END_DECLS
