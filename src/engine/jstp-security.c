/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <sodium.h>

#include "jstp-canonical.h"
#include "jstp-error.h"
#include "jstp-security.h"
#include "jstp-security-private.h"

/* Domain separation strings, each followed by a NUL byte in the signed
 * message (docs/protocol.md). */
#define SIG_CONTEXT   "JSTP-SIG-V1"
#define ENC_CONTEXT   "JSTP-ENC-V1"

#define ENVELOPE_MEMBER  "jstp-sealed"
#define ENVELOPE_ALG     "x25519-xsalsa20poly1305-sealedbox"
#define PAD_BLOCK        256
#define MAX_SEALED       (1024 * 1024)
#define NONCE_SIZE       16

/* Notes on dispatches (jstp_dispatch_set_note): in-process only. */
#define NOTE_AUTHOR  "jstp-security-author"
#define NOTE_SIGNER  "jstp-security-signer"
#define NOTE_FLAGS   "jstp-security-flags"
#define NOTE_BODY    "jstp-security-body"

/* Answer messages: fixed texts that never echo what the peer sent. */
#define MSG_UNSIGNED     "unsigned: this engine accepts signed dispatches only"
#define MSG_MALFORMED    "malformed-signature: the signature header is not JSTP-SEC v1"
#define MSG_FLOAT        "float-in-signed-content: signed content carries integers " \
                         "within ±(2^53-1) only"
#define MSG_BAD_SIG      "bad-signature: the signature does not verify"
#define MSG_STALE        "stale: signed outside this engine's time window"
#define MSG_AUDIENCE     "wrong-audience: signed for another engine"
#define MSG_REPLAY       "replay: this signature was seen before"
#define MSG_UNTRUSTED    "untrusted: the author may not use this endpoint"
#define MSG_UNAUTHORED   "unsigned: this endpoint needs a signed dispatch from a trusted key"
#define MSG_DECRYPT      "cannot-decrypt: the envelope does not open for this engine"
#define MSG_CACHE_FULL   "replay-cache-full: too many signed dispatches in the window"

typedef struct {
  JstpPattern *pattern;
  GStrv key_ids;        /* NULL: any trusted key */
} Rule;

typedef struct {
  guint8 digest[16];
  char *author;
  gint64 expiry_us;     /* monotonic */
} ReplayEntry;

/* The outcome of one evaluation. */
typedef struct {
  guint status;
  const char *message;
  JstpSecurityFlags flags;
  char *author;
  char *signer;
  char *body;
  /* Replay entries to insert once everything else passed. */
  gboolean has_sig;
  guint8 sig_key[JSTP_KEY_SIGN_PUBLIC_SIZE];
  guint8 sig_nonce[NONCE_SIZE];
  char *sig_author;
  gboolean has_env;
  guint8 env_key[JSTP_KEY_SIGN_PUBLIC_SIZE];
  guint8 env_nonce[NONCE_SIZE];
  char *env_author;
} Result;

struct _JstpSecurity
{
  GObject parent_instance;

  JstpVerifyPolicy policy;
  guint window;
  gint64 started_ms;
  GPtrArray *keys;              /* own JstpKey */
  JstpKeyring *keyring;
  GHashTable *trusted;          /* key id set */
  GPtrArray *rules;             /* Rule */

  GHashTable *replay;           /* digest -> ReplayEntry (owned by replay_order) */
  GQueue replay_order;          /* by expiry */
  GHashTable *per_author;       /* key id -> count */
  guint8 replay_key[crypto_generichash_KEYBYTES];
  guint max_entries;
  guint max_per_key;

  JstpEngine *engine;           /* weak */
  guint hook_id;
  guint64 keys_binding;         /* GET ["jstp","keys"] */
};

G_DEFINE_FINAL_TYPE (JstpSecurity, jstp_security, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_POLICY,
  PROP_WINDOW,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
result_clear (Result *r)
{
  g_free (r->author);
  g_free (r->signer);
  if (r->body)
    {
      sodium_memzero (r->body, strlen (r->body));
      g_free (r->body);
    }
  g_free (r->sig_author);
  g_free (r->env_author);
  memset (r, 0, sizeof *r);
}

/* ---- JSON building blocks ---------------------------------------------- */

/* Limits for re-reading text the engine already accepted under its own
 * limits: only the wrapping adds depth. */
static void
relaxed_limits (JstpJsonLimits *limits)
{
  jstp_json_limits_init (limits);
  limits->max_size = G_MAXSIZE / 2;
  limits->max_depth = 256;
  limits->max_tokens = G_MAXUINT;
  limits->max_array_elements = G_MAXUINT;
  limits->max_object_members = G_MAXUINT;
  limits->max_string_length = G_MAXSIZE / 2;
}

static char *
canonical (const char  *text,
           gsize        length,
           GError     **error)
{
  JstpJsonLimits limits;
  JstpJsonSpan root;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GString) out = NULL;

  relaxed_limits (&limits);
  if (!jstp_json_scan (text, length, &limits, &root, NULL, 0, NULL, &local_error))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "invalid JSON: %s",
                   local_error->message);
      return NULL;
    }
  out = g_string_sized_new (length + 1);
  if (!jstp_canonical_append (out, text, root, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
append_span (GString      *out,
             const char   *text,
             JstpJsonSpan  span)
{
  g_string_append_len (out, text + span.offset, span.length);
}

/* The dispatch as engines write it, scanned: the covered headers are taken
 * from the wire form, so every engine computes them alike. */
typedef struct {
  char *text;
  JstpJsonSpan root;
} Written;

static gboolean
written_init (Written       *w,
              JstpDispatch  *dispatch)
{
  JstpJsonLimits limits;

  relaxed_limits (&limits);
  w->text = jstp_dispatch_to_string (dispatch);
  return jstp_json_scan (w->text, strlen (w->text), &limits, &w->root, NULL, 0, NULL, NULL);
}

static void
written_clear (Written *w)
{
  g_clear_pointer (&w->text, g_free);
}

/* D': the dispatch without `signature`, `host`, `token` and `hop-*`
 * headers; an ANSWER's resource cut to [status, transaction id], since
 * gateways replace triggering ids. Not canonical yet. */
static GString *
covered_headers (JstpDispatch *dispatch,
                 Written      *w)
{
  GString *out = g_string_new ("{");
  gboolean answer = jstp_dispatch_get_method (dispatch) == JSTP_METHOD_ANSWER;
  gboolean first = TRUE;
  JstpJsonIter iter;
  JstpJsonSpan name, value;

  jstp_json_iter_init (&iter, w->text, w->root);
  while (jstp_json_iter_next_member (&iter, &name, &value))
    {
      g_autofree char *n = jstp_json_string_dup (w->text, name, NULL);

      if (g_str_equal (n, "signature") || g_str_equal (n, "host") || g_str_equal (n, "token") ||
          g_str_has_prefix (n, "hop-"))
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      append_span (out, w->text, name);
      g_string_append_c (out, ':');
      if (answer && g_str_equal (n, "resource"))
        {
          JstpJsonIter elements;
          JstpJsonSpan element;

          g_string_append_c (out, '[');
          jstp_json_iter_init (&elements, w->text, value);
          for (guint i = 0; i < 2 && jstp_json_iter_next (&elements, &element); i++)
            {
              if (i > 0)
                g_string_append_c (out, ',');
              append_span (out, w->text, element);
            }
          g_string_append_c (out, ']');
        }
      else
        append_span (out, w->text, value);
    }
  g_string_append_c (out, '}');
  return out;
}

/* The members of @object but @skip, as an object; not canonical yet. */
static GString *
object_without (const char   *text,
                JstpJsonSpan  object,
                const char   *skip)
{
  GString *out = g_string_new ("{");
  gboolean first = TRUE;
  JstpJsonIter iter;
  JstpJsonSpan name, value;

  jstp_json_iter_init (&iter, text, object);
  while (jstp_json_iter_next_member (&iter, &name, &value))
    {
      if (jstp_json_string_equal (text, name, skip, FALSE))
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      append_span (out, text, name);
      g_string_append_c (out, ':');
      append_span (out, text, value);
    }
  g_string_append_c (out, '}');
  return out;
}

/* What an envelope is bound to: {"method":...,"resource":...} (or
 * "endpoint" for BIND and RELEASE), canonical. */
static char *
envelope_binding (JstpDispatch  *dispatch,
                  GError       **error)
{
  Written w = { 0 };
  JstpJsonSpan method, target;
  gboolean subscription;
  g_autoptr(GString) raw = NULL;
  char *result = NULL;

  subscription = jstp_dispatch_get_morphology (dispatch) == JSTP_MORPHOLOGY_SUBSCRIPTION;
  if (written_init (&w, dispatch) &&
      _jstp_json_find_member (w.text, w.root, "method", &method) &&
      _jstp_json_find_member (w.text, w.root, subscription ? "endpoint" : "resource", &target))
    {
      raw = g_string_new ("{\"method\":");
      append_span (raw, w.text, method);
      g_string_append (raw, subscription ? ",\"endpoint\":" : ",\"resource\":");
      append_span (raw, w.text, target);
      g_string_append_c (raw, '}');
      result = canonical (raw->str, raw->len, error);
    }
  else
    g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "the dispatch cannot be written");
  written_clear (&w);
  return result;
}

/* @context NUL @canonical: the bytes a signature covers. */
static GBytes *
signing_input (const char *context,
               const char *canonical_text)
{
  gsize clen = strlen (context) + 1;
  gsize length = strlen (canonical_text);
  guint8 *data = g_malloc (clen + length);

  memcpy (data, context, clen);
  memcpy (data + clen, canonical_text, length);
  return g_bytes_new_take (data, clen + length);
}

/* M = "JSTP-SIG-V1" NUL C14N({"dispatch": D', "params": P}). */
static GBytes *
dispatch_signing_input (JstpDispatch  *dispatch,
                        const char    *params,
                        gsize          params_length,
                        GError       **error)
{
  Written w = { 0 };
  g_autoptr(GString) covered = NULL;
  g_autoptr(GString) raw = NULL;
  g_autofree char *c14n = NULL;

  if (!written_init (&w, dispatch))
    {
      written_clear (&w);
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "the dispatch cannot be written");
      return NULL;
    }
  covered = covered_headers (dispatch, &w);
  written_clear (&w);

  raw = g_string_new ("{\"dispatch\":");
  g_string_append_len (raw, covered->str, covered->len);
  g_string_append (raw, ",\"params\":");
  g_string_append_len (raw, params, params_length);
  g_string_append_c (raw, '}');
  c14n = canonical (raw->str, raw->len, error);
  if (c14n == NULL)
    return NULL;
  return signing_input (SIG_CONTEXT, c14n);
}

static gboolean
is_key_id (const char *text)
{
  if (text == NULL || strlen (text) != JSTP_KEY_ID_LENGTH)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7')))
      return FALSE;
  return TRUE;
}

/* ---- signing ----------------------------------------------------------- */

gboolean
jstp_security_sign (JstpDispatch  *dispatch,
                    JstpKey       *key,
                    const char    *audience,
                    GError       **error)
{
  guint8 nonce[NONCE_SIZE];
  guint8 sig[JSTP_KEY_SIGNATURE_SIZE];
  g_autofree char *nonce_text = NULL;
  g_autofree char *key_text = NULL;
  g_autofree char *sig_text = NULL;
  g_autofree char *header = NULL;
  g_autoptr(GString) params = NULL;
  g_autoptr(GBytes) message = NULL;

  g_return_val_if_fail (dispatch != NULL, FALSE);
  g_return_val_if_fail (JSTP_IS_KEY (key), FALSE);
  g_return_val_if_fail (jstp_key_has_secret (key), FALSE);
  g_return_val_if_fail (audience == NULL || is_key_id (audience), FALSE);

  jstp_dispatch_set_extension (dispatch, "signature", NULL, NULL);

  randombytes_buf (nonce, sizeof nonce);
  nonce_text = jstp_base64url_encode (nonce, sizeof nonce);
  key_text = jstp_base64url_encode (jstp_key_get_sign_public (key), JSTP_KEY_SIGN_PUBLIC_SIZE);

  params = g_string_new ("{\"v\":1,\"alg\":\"ed25519\",\"kid\":");
  jstp_json_append_string (params, jstp_key_get_id (key), -1);
  g_string_append_printf (params, ",\"key\":\"%s\",\"created\":%" G_GINT64_FORMAT
                          ",\"nonce\":\"%s\"", key_text, _jstp_now_ms (), nonce_text);
  if (audience)
    {
      g_string_append (params, ",\"aud\":");
      jstp_json_append_string (params, audience, -1);
    }
  g_string_append_c (params, '}');

  message = dispatch_signing_input (dispatch, params->str, params->len, error);
  if (message == NULL)
    return FALSE;
  jstp_key_sign (key, g_bytes_get_data (message, NULL), g_bytes_get_size (message), sig);
  sig_text = jstp_base64url_encode (sig, sizeof sig);

  g_string_truncate (params, params->len - 1);
  g_string_append_printf (params, ",\"sig\":\"%s\"}", sig_text);
  header = jstp_canonical_serialize (params->str, params->len, error);
  if (header == NULL)
    return FALSE;
  return jstp_dispatch_set_extension (dispatch, "signature", header, error);
}

/* ---- encryption -------------------------------------------------------- */

gboolean
jstp_security_encrypt (JstpDispatch  *dispatch,
                       JstpKey       *sender,
                       JstpKey       *recipient,
                       GError       **error)
{
  const char *body;
  guint8 nonce[NONCE_SIZE];
  guint8 sig[JSTP_KEY_SIGNATURE_SIZE];
  g_autofree char *binding = NULL;
  g_autofree char *nonce_text = NULL;
  g_autofree char *key_text = NULL;
  g_autofree char *sig_text = NULL;
  g_autofree char *signed_part = NULL;
  g_autofree char *inner = NULL;
  g_autofree char *ct_text = NULL;
  g_autoptr(GString) raw = NULL;
  g_autoptr(GString) envelope = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GBytes) sealed = NULL;
  guint8 *padded;
  gsize inner_length, padded_length, capacity;
  gboolean ok;

  g_return_val_if_fail (dispatch != NULL, FALSE);
  g_return_val_if_fail (JSTP_IS_KEY (sender), FALSE);
  g_return_val_if_fail (jstp_key_has_secret (sender), FALSE);
  g_return_val_if_fail (JSTP_IS_KEY (recipient), FALSE);
  g_return_val_if_fail (jstp_key_has_box (recipient), FALSE);

  if (jstp_dispatch_get_method (dispatch) == JSTP_METHOD_ANSWER)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "answers are not encrypted");
      return FALSE;
    }
  if (jstp_dispatch_get_extension (dispatch, "signature") != NULL)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "the dispatch is signed already: encrypt first, then sign");
      return FALSE;
    }
  body = jstp_dispatch_get_body_json (dispatch);
  if (body == NULL)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "there is no body to encrypt");
      return FALSE;
    }
  binding = envelope_binding (dispatch, error);
  if (binding == NULL)
    return FALSE;

  randombytes_buf (nonce, sizeof nonce);
  nonce_text = jstp_base64url_encode (nonce, sizeof nonce);
  key_text = jstp_base64url_encode (jstp_key_get_sign_public (sender), JSTP_KEY_SIGN_PUBLIC_SIZE);

  raw = g_string_new ("{\"v\":1,\"from\":");
  jstp_json_append_string (raw, jstp_key_get_id (sender), -1);
  g_string_append_printf (raw, ",\"key\":\"%s\",\"to\":", key_text);
  jstp_json_append_string (raw, jstp_key_get_id (recipient), -1);
  g_string_append_printf (raw, ",\"created\":%" G_GINT64_FORMAT ",\"nonce\":\"%s\",\"bind\":%s,"
                          "\"body\":%s}", _jstp_now_ms (), nonce_text, binding, body);
  signed_part = canonical (raw->str, raw->len, error);
  sodium_memzero (raw->str, raw->len);
  if (signed_part == NULL)
    return FALSE;

  message = signing_input (ENC_CONTEXT, signed_part);
  jstp_key_sign (sender, g_bytes_get_data (message, NULL), g_bytes_get_size (message), sig);
  sodium_memzero ((gpointer) g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  sig_text = jstp_base64url_encode (sig, sizeof sig);

  g_string_assign (raw, signed_part);
  g_string_truncate (raw, raw->len - 1);
  g_string_append_printf (raw, ",\"sig\":\"%s\"}", sig_text);
  inner = canonical (raw->str, raw->len, error);
  sodium_memzero (raw->str, raw->len);
  sodium_memzero (signed_part, strlen (signed_part));
  if (inner == NULL)
    return FALSE;

  /* Padding to 256-byte blocks hides the exact length from gateways. */
  inner_length = strlen (inner);
  capacity = inner_length + PAD_BLOCK;
  padded = g_malloc (capacity);
  memcpy (padded, inner, inner_length);
  sodium_memzero (inner, inner_length);
  ok = sodium_pad (&padded_length, padded, inner_length, PAD_BLOCK, capacity) == 0;
  if (ok && padded_length + crypto_box_SEALBYTES <= MAX_SEALED)
    sealed = jstp_key_seal (recipient, padded, padded_length);
  sodium_memzero (padded, capacity);
  g_free (padded);
  if (sealed == NULL)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_TOO_LARGE,
                   "the body is too large to encrypt (at most about %u KiB)",
                   MAX_SEALED / 1024 - 1);
      return FALSE;
    }

  ct_text = jstp_base64url_encode (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
  envelope = g_string_new ("{\"" ENVELOPE_MEMBER "\":{\"alg\":\"" ENVELOPE_ALG "\",\"ct\":\"");
  g_string_append (envelope, ct_text);
  g_string_append (envelope, "\",\"to\":");
  jstp_json_append_string (envelope, jstp_key_get_id (recipient), -1);
  g_string_append (envelope, ",\"v\":1}}");
  return jstp_dispatch_set_body_json (dispatch, envelope->str, error);
}

/* ---- verification ------------------------------------------------------ */

static JstpKey *
own_key (JstpSecurity *self,
         const char   *key_id)
{
  for (guint i = 0; i < self->keys->len; i++)
    {
      JstpKey *key = g_ptr_array_index (self->keys, i);

      if (g_str_equal (jstp_key_get_id (key), key_id))
        return key;
    }
  return NULL;
}

gboolean
jstp_security_is_trusted (JstpSecurity *self,
                          const char   *key_id)
{
  g_return_val_if_fail (JSTP_IS_SECURITY (self), FALSE);
  g_return_val_if_fail (key_id != NULL, FALSE);

  return own_key (self, key_id) != NULL ||
         g_hash_table_contains (self->trusted, key_id) ||
         (self->keyring && jstp_keyring_is_trusted (self->keyring, key_id));
}

static gboolean
in_window (JstpSecurity *self,
           gint64        created,
           gint64        now)
{
  gint64 window = (gint64) self->window * 1000;

  return created >= now - window && created <= now + window;
}

/* Steps 1 to 5 of "Verification" in docs/protocol.md, section 2.4. */
static guint
verify_signature (JstpSecurity *self,
                  JstpDispatch *dispatch,
                  const char   *header,
                  gint64        now,
                  gboolean      from_network,
                  Result       *r)
{
  static const char * const allowed[] = {
    "v", "alg", "kid", "key", "created", "nonce", "aud", "sig", NULL
  };
  JstpJsonSpan root, aud_span;
  gint64 version, created;
  g_autofree char *alg = NULL;
  g_autofree char *kid = NULL;
  g_autofree char *aud = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GString) params = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  guint8 key[JSTP_KEY_SIGN_PUBLIC_SIZE];
  guint8 nonce[NONCE_SIZE];
  guint8 sig[JSTP_KEY_SIGNATURE_SIZE];

  r->message = MSG_MALFORMED;
  if (!jstp_json_scan (header, strlen (header), NULL, &root, NULL, 0, NULL, NULL) ||
      root.type != JSTP_JSON_OBJECT ||
      !_jstp_json_only_members (header, root, allowed) ||
      !_jstp_json_get_int (header, root, "v", &version) || version != 1 ||
      (alg = _jstp_json_dup_string (header, root, "alg")) == NULL ||
      !g_str_equal (alg, "ed25519") ||
      (kid = _jstp_json_dup_string (header, root, "kid")) == NULL || !is_key_id (kid) ||
      !_jstp_json_get_base64 (header, root, "key", key, sizeof key) ||
      !_jstp_json_get_int (header, root, "created", &created) ||
      created < 0 || created > JSTP_CANONICAL_MAX_INTEGER ||
      !_jstp_json_get_base64 (header, root, "nonce", nonce, sizeof nonce) ||
      !_jstp_json_get_base64 (header, root, "sig", sig, sizeof sig))
    return JSTP_STATUS_BAD_DISPATCH;
  if (_jstp_json_find_member (header, root, "aud", &aud_span))
    {
      aud = _jstp_json_dup_string (header, root, "aud");
      if (!is_key_id (aud))
        return JSTP_STATUS_BAD_DISPATCH;
    }

  /* The key id is a hash of the key: a mismatch is a forgery. */
  expected = jstp_key_id_from_sign_public (key);
  if (!g_str_equal (expected, kid))
    {
      r->message = MSG_BAD_SIG;
      return JSTP_STATUS_BAD_SIGNATURE;
    }

  /* Cheap checks before the signature: forged traffic costs little. A
   * signature older than this engine may have been seen by it before a
   * restart, and the replay cache does not survive one. Freshness and
   * audience only matter for what is admitted from the network. */
  if (from_network && (!in_window (self, created, now) || created < self->started_ms))
    {
      r->message = MSG_STALE;
      return JSTP_STATUS_UNAUTHORIZED;
    }
  if (from_network && aud && own_key (self, aud) == NULL)
    {
      r->message = MSG_AUDIENCE;
      return JSTP_STATUS_UNAUTHORIZED;
    }

  params = object_without (header, root, "sig");
  message = dispatch_signing_input (dispatch, params->str, params->len, &error);
  if (message == NULL)
    {
      r->message = MSG_FLOAT;
      return JSTP_STATUS_BAD_DISPATCH;
    }
  if (crypto_sign_verify_detached (sig, g_bytes_get_data (message, NULL),
                                   g_bytes_get_size (message), key) != 0)
    {
      r->message = MSG_BAD_SIG;
      return JSTP_STATUS_BAD_SIGNATURE;
    }

  r->signer = g_strdup (kid);
  r->has_sig = TRUE;
  memcpy (r->sig_key, key, sizeof key);
  memcpy (r->sig_nonce, nonce, sizeof nonce);
  r->sig_author = g_steal_pointer (&kid);
  r->message = NULL;
  return 0;
}

/* Whether @body is an envelope: {"jstp-sealed": ...} and nothing else. */
static gboolean
find_envelope (const char    *body,
               JstpJsonSpan  *body_root,
               JstpJsonSpan  *envelope)
{
  const char *p = body;
  JstpJsonLimits limits;

  /* An envelope has one member, so its name comes first: most bodies are
   * told apart without scanning them. */
  if (body == NULL)
    return FALSE;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (*p++ != '{')
    return FALSE;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (!g_str_has_prefix (p, "\"" ENVELOPE_MEMBER "\""))
    return FALSE;

  /* The body passed the engine's limits, which may be wider than ours. */
  relaxed_limits (&limits);
  if (!jstp_json_scan (body, strlen (body), &limits, body_root, NULL, 0, NULL, NULL) ||
      !_jstp_json_find_member (body, *body_root, ENVELOPE_MEMBER, envelope))
    return FALSE;
  return TRUE;
}

/* "Opening" in docs/protocol.md, section 2.5. Every failure up to
 * the inner signature answers the same 499, by the same path. Returns 0
 * with no DECRYPTED flag when the envelope is for a key we do not hold. */
static guint
open_envelope (JstpSecurity *self,
               JstpDispatch *dispatch,
               const char   *body,
               JstpJsonSpan  body_root,
               JstpJsonSpan  envelope,
               gint64        now,
               gboolean      from_network,
               Result       *r)
{
  static const char * const envelope_members[] = { "v", "alg", "to", "ct", NULL };
  static const char * const body_members[] = { ENVELOPE_MEMBER, NULL };
  static const char * const inner_members[] = {
    "v", "from", "key", "to", "created", "nonce", "bind", "body", "sig", NULL
  };
  gint64 version, created;
  g_autofree char *alg = NULL;
  g_autofree char *to = NULL;
  g_autofree char *from = NULL;
  g_autofree char *inner_to = NULL;
  g_autofree char *expected_from = NULL;
  g_autofree char *signed_part = NULL;
  g_autofree char *binding = NULL;
  g_autofree char *expected_binding = NULL;
  g_autofree guint8 *ct = NULL;
  g_autoptr(GBytes) opened = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GString) without_sig = NULL;
  JstpJsonSpan ct_span, inner_root, bind_span, body_span;
  JstpKey *key;
  guint8 sender[JSTP_KEY_SIGN_PUBLIC_SIZE];
  guint8 nonce[NONCE_SIZE];
  guint8 sig[JSTP_KEY_SIGNATURE_SIZE];
  gsize ct_chars, ct_length, unpadded;
  guint8 *plain = NULL;
  gsize plain_length = 0;
  guint status = JSTP_STATUS_CANNOT_DECRYPT;

  r->flags |= JSTP_SECURITY_ENCRYPTED;
  r->message = MSG_DECRYPT;

  /* R1: the envelope's shape; `to` first, to know whether it is ours. */
  if (!_jstp_json_only_members (body, body_root, body_members) ||
      envelope.type != JSTP_JSON_OBJECT ||
      !_jstp_json_only_members (body, envelope, envelope_members) ||
      !_jstp_json_get_int (body, envelope, "v", &version) || version != 1 ||
      (alg = _jstp_json_dup_string (body, envelope, "alg")) == NULL ||
      !g_str_equal (alg, ENVELOPE_ALG) ||
      (to = _jstp_json_dup_string (body, envelope, "to")) == NULL || !is_key_id (to) ||
      !_jstp_json_find_member (body, envelope, "ct", &ct_span) ||
      ct_span.type != JSTP_JSON_STRING)
    return status;

  /* R2: sealed to a key we do not hold: pass it on unopened. */
  key = own_key (self, to);
  if (key == NULL)
    {
      r->message = NULL;
      return 0;
    }

  /* Lengths before any arithmetic on them: no size_t underflow (F19). */
  ct_chars = ct_span.length - 2;
  if (ct_chars % 4 == 1)
    return status;
  ct_length = ct_chars / 4 * 3 + (ct_chars % 4 ? ct_chars % 4 - 1 : 0);
  if (ct_length < crypto_box_SEALBYTES + PAD_BLOCK || ct_length > MAX_SEALED ||
      (ct_length - crypto_box_SEALBYTES) % PAD_BLOCK != 0)
    return status;
  ct = g_malloc (ct_length);
  if (!jstp_base64url_decode (body + ct_span.offset + 1, ct_chars, ct, ct_length))
    return status;

  /* R3: open and unpad. */
  opened = jstp_key_open (key, ct, ct_length);
  if (opened == NULL)
    return status;
  plain = (guint8 *) g_bytes_get_data (opened, &plain_length);
  if (sodium_unpad (&unpadded, plain, plain_length, PAD_BLOCK) != 0)
    goto out;

  /* R4, R5: the inside is strict JSON of the right shape. */
  if (!jstp_json_scan ((const char *) plain, unpadded, NULL, &inner_root, NULL, 0, NULL, NULL) ||
      inner_root.type != JSTP_JSON_OBJECT ||
      !_jstp_json_only_members ((const char *) plain, inner_root, inner_members) ||
      !_jstp_json_get_int ((const char *) plain, inner_root, "v", &version) || version != 1 ||
      (from = _jstp_json_dup_string ((const char *) plain, inner_root, "from")) == NULL ||
      (inner_to = _jstp_json_dup_string ((const char *) plain, inner_root, "to")) == NULL ||
      !_jstp_json_get_base64 ((const char *) plain, inner_root, "key", sender, sizeof sender) ||
      !_jstp_json_get_int ((const char *) plain, inner_root, "created", &created) ||
      !_jstp_json_get_base64 ((const char *) plain, inner_root, "nonce", nonce, sizeof nonce) ||
      !_jstp_json_find_member ((const char *) plain, inner_root, "bind", &bind_span) ||
      bind_span.type != JSTP_JSON_OBJECT ||
      !_jstp_json_find_member ((const char *) plain, inner_root, "body", &body_span) ||
      !_jstp_json_get_base64 ((const char *) plain, inner_root, "sig", sig, sizeof sig))
    goto out;

  /* R6, R7: signed by the key it names, for this recipient, bound to this
   * method and resource: never forwarded surreptitiously or moved. */
  expected_from = jstp_key_id_from_sign_public (sender);
  if (!g_str_equal (expected_from, from) || !g_str_equal (inner_to, to))
    goto out;
  without_sig = object_without ((const char *) plain, inner_root, "sig");
  signed_part = canonical (without_sig->str, without_sig->len, NULL);
  if (signed_part == NULL)
    goto out;
  message = signing_input (ENC_CONTEXT, signed_part);
  if (crypto_sign_verify_detached (sig, g_bytes_get_data (message, NULL),
                                   g_bytes_get_size (message), sender) != 0)
    goto out;
  binding = canonical ((const char *) plain + bind_span.offset, bind_span.length, NULL);
  expected_binding = envelope_binding (dispatch, NULL);
  if (binding == NULL || expected_binding == NULL || !g_str_equal (binding, expected_binding))
    goto out;

  /* R8: fresh. */
  if (from_network && (!in_window (self, created, now) || created < self->started_ms))
    {
      status = JSTP_STATUS_UNAUTHORIZED;
      r->message = MSG_STALE;
      goto out;
    }

  r->flags |= JSTP_SECURITY_DECRYPTED;
  r->body = g_strndup ((const char *) plain + body_span.offset, body_span.length);
  r->author = g_strdup (from);
  r->has_env = TRUE;
  memcpy (r->env_key, sender, sizeof sender);
  memcpy (r->env_nonce, nonce, sizeof nonce);
  r->env_author = g_steal_pointer (&from);
  r->message = NULL;
  status = 0;

out:
  if (plain)
    sodium_memzero (plain, plain_length);
  if (without_sig)
    sodium_memzero (without_sig->str, without_sig->len);
  if (signed_part)
    sodium_memzero (signed_part, strlen (signed_part));
  if (message)
    sodium_memzero ((gpointer) g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  return status;
}

/* The dispatch as endpoint patterns see it (section 4 of the spec). */
static gboolean
match_rule (Rule         *rule,
            JstpDispatch *dispatch)
{
  JstpElement elements[JSTP_PATTERN_MAX_ELEMENTS];
  const char *method = jstp_method_to_string (jstp_dispatch_get_method (dispatch));

  if (jstp_dispatch_get_morphology (dispatch) == JSTP_MORPHOLOGY_SUBSCRIPTION)
    {
      JstpPattern *endpoint = jstp_dispatch_get_endpoint (dispatch);
      guint n = MIN (jstp_pattern_get_n_elements (endpoint), G_N_ELEMENTS (elements));

      for (guint i = 0; i < n; i++)
        {
          elements[i].type = JSTP_JSON_STRING;
          elements[i].text = jstp_pattern_get_element (endpoint, i);
          elements[i].length = strlen (elements[i].text);
        }
      return jstp_pattern_match (rule->pattern, method, elements, n, NULL);
    }
  else
    {
      guint n;
      const JstpElement *resource = jstp_dispatch_get_resource (dispatch, &n);

      return jstp_pattern_match (rule->pattern, method, resource, n, NULL);
    }
}

static guint
check_rules (JstpSecurity *self,
             JstpDispatch *dispatch,
             const char   *author,
             Result       *r)
{
  gboolean matched = FALSE;

  for (guint i = 0; i < self->rules->len; i++)
    {
      Rule *rule = g_ptr_array_index (self->rules, i);

      if (!match_rule (rule, dispatch))
        continue;
      matched = TRUE;
      if (author == NULL)
        continue;
      if (rule->key_ids ? g_strv_contains ((const char * const *) rule->key_ids, author)
                        : jstp_security_is_trusted (self, author))
        return 0;
    }
  if (!matched)
    return 0;
  r->message = author ? MSG_UNTRUSTED : MSG_UNAUTHORED;
  return author ? JSTP_STATUS_FORBIDDEN : JSTP_STATUS_UNAUTHORIZED;
}

static gboolean
is_keys_request (JstpDispatch *dispatch)
{
  guint n;
  const JstpElement *resource;

  if (jstp_dispatch_get_method (dispatch) != JSTP_METHOD_GET)
    return FALSE;
  resource = jstp_dispatch_get_resource (dispatch, &n);
  return n == 2 &&
         resource[0].type == JSTP_JSON_STRING && resource[0].length == 4 &&
         memcmp (resource[0].text, "jstp", 4) == 0 &&
         resource[1].type == JSTP_JSON_STRING && resource[1].length == 4 &&
         memcmp (resource[1].text, "keys", 4) == 0;
}

/* Everything but the replay cache. With @from_network FALSE nothing is
 * refused: the result only says what was found. */
static guint
evaluate (JstpSecurity *self,
          JstpDispatch *dispatch,
          gboolean      from_network,
          Result       *r)
{
  const char *header = jstp_dispatch_get_extension (dispatch, "signature");
  const char *body = jstp_dispatch_get_body_json (dispatch);
  gint64 now = _jstp_now_ms ();
  JstpJsonSpan body_root, envelope;
  guint status;

  if (header)
    {
      r->flags |= JSTP_SECURITY_SIGNED;
      status = verify_signature (self, dispatch, header, now, from_network, r);
      if (status != 0)
        {
          r->flags |= JSTP_SECURITY_INVALID;
          if (from_network)
            return r->status = status;
        }
    }

  if (jstp_dispatch_get_method (dispatch) != JSTP_METHOD_ANSWER &&
      find_envelope (body, &body_root, &envelope))
    {
      status = open_envelope (self, dispatch, body, body_root, envelope, now, from_network, r);
      if (status != 0)
        {
          r->flags |= JSTP_SECURITY_INVALID;
          if (from_network)
            return r->status = status;
        }
    }

  /* The author is who the envelope says when we opened it, otherwise the
   * signer; a different signer is only a relay (F22). */
  if (r->author == NULL && r->signer)
    r->author = g_steal_pointer (&r->signer);
  else if (r->author && g_strcmp0 (r->author, r->signer) == 0)
    g_clear_pointer (&r->signer, g_free);

  if (r->author)
    {
      r->flags |= JSTP_SECURITY_VERIFIED;
      if (jstp_security_is_trusted (self, r->author))
        r->flags |= JSTP_SECURITY_TRUSTED;
    }

  if (!from_network)
    return 0;

  /* Key discovery cannot need a key: GET ["jstp","keys"] is public. */
  if (is_keys_request (dispatch))
    return 0;
  if (self->policy == JSTP_VERIFY_REQUIRE && r->author == NULL)
    {
      r->message = MSG_UNSIGNED;
      return r->status = JSTP_STATUS_UNAUTHORIZED;
    }
  return r->status = check_rules (self, dispatch, r->author, r);
}

/* ---- the replay cache -------------------------------------------------- */

static void
replay_digest (JstpSecurity *self,
               const guint8 *key,
               const guint8 *nonce,
               guint8        digest[16])
{
  crypto_generichash_state state;

  crypto_generichash_init (&state, self->replay_key, sizeof self->replay_key, 16);
  crypto_generichash_update (&state, key, JSTP_KEY_SIGN_PUBLIC_SIZE);
  crypto_generichash_update (&state, nonce, NONCE_SIZE);
  crypto_generichash_final (&state, digest, 16);
}

static guint
digest_hash (gconstpointer key)
{
  guint h;

  /* A keyed hash: its first bytes are as good as any hash of them. */
  memcpy (&h, key, sizeof h);
  return h;
}

static gboolean
digest_equal (gconstpointer a,
              gconstpointer b)
{
  return memcmp (a, b, 16) == 0;
}

static void
replay_entry_free (ReplayEntry *entry)
{
  g_free (entry->author);
  g_free (entry);
}

static void
replay_purge (JstpSecurity *self)
{
  gint64 now = g_get_monotonic_time ();
  ReplayEntry *entry;

  while ((entry = g_queue_peek_head (&self->replay_order)) != NULL && entry->expiry_us <= now)
    {
      guint count;

      g_queue_pop_head (&self->replay_order);
      g_hash_table_remove (self->replay, entry->digest);
      count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_author, entry->author));
      if (count <= 1)
        g_hash_table_remove (self->per_author, entry->author);
      else
        g_hash_table_insert (self->per_author, g_strdup (entry->author),
                             GUINT_TO_POINTER (count - 1));
      replay_entry_free (entry);
    }
}

/* Checks both entries of @r, then inserts both: a dispatch is either
 * fully new or refused, never half remembered. */
static guint
replay_check_and_insert (JstpSecurity *self,
                         Result       *r)
{
  guint8 digests[2][16];
  const char *authors[2] = { r->sig_author, r->env_author };
  gboolean present[2] = { r->has_sig, r->has_env };
  guint needed = 0;

  replay_purge (self);

  for (guint i = 0; i < 2; i++)
    {
      if (!present[i])
        continue;
      replay_digest (self, i == 0 ? r->sig_key : r->env_key,
                     i == 0 ? r->sig_nonce : r->env_nonce, digests[i]);
      if (g_hash_table_contains (self->replay, digests[i]))
        {
          r->message = MSG_REPLAY;
          return JSTP_STATUS_UNAUTHORIZED;
        }
      if (GPOINTER_TO_UINT (g_hash_table_lookup (self->per_author, authors[i])) >=
          self->max_per_key)
        {
          r->message = MSG_CACHE_FULL;
          return JSTP_STATUS_SATURATED;
        }
      needed++;
    }
  if (g_hash_table_size (self->replay) + needed > self->max_entries)
    {
      r->message = MSG_CACHE_FULL;
      return JSTP_STATUS_SATURATED;
    }

  for (guint i = 0; i < 2; i++)
    {
      ReplayEntry *entry;
      guint count;

      if (!present[i])
        continue;
      /* A signature is acceptable until `created` + window, and `created`
       * is at most now + window. */
      entry = g_new0 (ReplayEntry, 1);
      memcpy (entry->digest, digests[i], 16);
      entry->author = g_strdup (authors[i]);
      entry->expiry_us = g_get_monotonic_time () + (gint64) self->window * 2 * G_USEC_PER_SEC;
      g_queue_push_tail (&self->replay_order, entry);
      g_hash_table_insert (self->replay, entry->digest, entry);
      count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_author, entry->author));
      g_hash_table_insert (self->per_author, g_strdup (entry->author),
                           GUINT_TO_POINTER (count + 1));
    }
  return 0;
}

/* ---- public verification API ------------------------------------------- */

guint
jstp_security_check (JstpSecurity  *self,
                     JstpDispatch  *dispatch,
                     gboolean       from_network,
                     char         **message)
{
  Result r = { 0 };
  guint status;

  g_return_val_if_fail (JSTP_IS_SECURITY (self), JSTP_STATUS_INTERNAL_ERROR);
  g_return_val_if_fail (dispatch != NULL, JSTP_STATUS_INTERNAL_ERROR);

  /* Notes come only from this check, never from an earlier life of the
   * same dispatch object. */
  jstp_dispatch_set_note (dispatch, NOTE_AUTHOR, NULL);
  jstp_dispatch_set_note (dispatch, NOTE_SIGNER, NULL);
  jstp_dispatch_set_note (dispatch, NOTE_FLAGS, NULL);
  jstp_dispatch_set_note (dispatch, NOTE_BODY, NULL);

  if (self->policy == JSTP_VERIFY_OFF)
    return 0;

  status = evaluate (self, dispatch, from_network, &r);
  if (status == 0 && from_network)
    status = replay_check_and_insert (self, &r);

  if (status != 0)
    {
      g_debug ("refused a dispatch with %u: %s", status, r.message);
      if (message)
        *message = g_strdup (r.message);
    }
  else
    {
      g_autofree char *flags = g_strdup_printf ("%u", (guint) r.flags);

      jstp_dispatch_set_note (dispatch, NOTE_FLAGS, flags);
      jstp_dispatch_set_note (dispatch, NOTE_AUTHOR, r.author);
      jstp_dispatch_set_note (dispatch, NOTE_SIGNER, r.signer);
      jstp_dispatch_set_note (dispatch, NOTE_BODY, r.body);
    }
  result_clear (&r);
  return status;
}

JstpSecurityFlags
jstp_security_inspect (JstpSecurity  *self,
                       JstpDispatch  *dispatch,
                       char         **author)
{
  Result r = { 0 };
  JstpSecurityFlags flags;

  g_return_val_if_fail (JSTP_IS_SECURITY (self), JSTP_SECURITY_NONE);
  g_return_val_if_fail (dispatch != NULL, JSTP_SECURITY_NONE);

  evaluate (self, dispatch, FALSE, &r);
  flags = r.flags;
  if (author)
    *author = g_steal_pointer (&r.author);
  result_clear (&r);
  return flags;
}

const char *
jstp_security_get_author (JstpDispatch *dispatch)
{
  g_return_val_if_fail (dispatch != NULL, NULL);
  return jstp_dispatch_get_note (dispatch, NOTE_AUTHOR);
}

const char *
jstp_security_get_signer (JstpDispatch *dispatch)
{
  g_return_val_if_fail (dispatch != NULL, NULL);
  return jstp_dispatch_get_note (dispatch, NOTE_SIGNER);
}

JstpSecurityFlags
jstp_security_get_flags (JstpDispatch *dispatch)
{
  const char *flags;

  g_return_val_if_fail (dispatch != NULL, JSTP_SECURITY_NONE);

  flags = jstp_dispatch_get_note (dispatch, NOTE_FLAGS);
  return flags ? (JstpSecurityFlags) g_ascii_strtoull (flags, NULL, 10) : JSTP_SECURITY_NONE;
}

const char *
jstp_security_get_body_json (JstpDispatch *dispatch)
{
  const char *body;

  g_return_val_if_fail (dispatch != NULL, NULL);

  body = jstp_dispatch_get_note (dispatch, NOTE_BODY);
  return body ? body : jstp_dispatch_get_body_json (dispatch);
}

/* ---- configuration ----------------------------------------------------- */

gboolean
jstp_verify_policy_from_string (const char       *text,
                                JstpVerifyPolicy *policy)
{
  static const struct { const char *name; JstpVerifyPolicy policy; } names[] = {
    { "off", JSTP_VERIFY_OFF },
    { "if-signed", JSTP_VERIFY_IF_SIGNED },
    { "require", JSTP_VERIFY_REQUIRE },
  };

  g_return_val_if_fail (policy != NULL, FALSE);

  for (guint i = 0; text && i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (text, names[i].name))
      {
        *policy = names[i].policy;
        return TRUE;
      }
  return FALSE;
}

const char *
jstp_verify_policy_to_string (JstpVerifyPolicy policy)
{
  switch (policy)
    {
    case JSTP_VERIFY_OFF: return "off";
    case JSTP_VERIFY_IF_SIGNED: return "if-signed";
    case JSTP_VERIFY_REQUIRE: return "require";
    default: return NULL;
    }
}

JstpVerifyPolicy
jstp_security_get_policy (JstpSecurity *self)
{
  g_return_val_if_fail (JSTP_IS_SECURITY (self), JSTP_VERIFY_OFF);
  return self->policy;
}

void
jstp_security_set_policy (JstpSecurity     *self,
                          JstpVerifyPolicy  policy)
{
  g_return_if_fail (JSTP_IS_SECURITY (self));
  g_return_if_fail (policy <= JSTP_VERIFY_REQUIRE);

  if (self->policy == policy)
    return;
  self->policy = policy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POLICY]);
}

guint
jstp_security_get_window (JstpSecurity *self)
{
  g_return_val_if_fail (JSTP_IS_SECURITY (self), 0);
  return self->window;
}

void
jstp_security_set_window (JstpSecurity *self,
                          guint         seconds)
{
  g_return_if_fail (JSTP_IS_SECURITY (self));
  g_return_if_fail (seconds > 0 && seconds <= 24 * 3600);

  if (self->window == seconds)
    return;
  self->window = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WINDOW]);
}

void
jstp_security_set_replay_limits (JstpSecurity *self,
                                 guint         max_entries,
                                 guint         max_per_key)
{
  g_return_if_fail (JSTP_IS_SECURITY (self));
  g_return_if_fail (max_entries > 0 && max_per_key > 0);

  self->max_entries = max_entries;
  self->max_per_key = max_per_key;
}

void
jstp_security_add_key (JstpSecurity *self,
                       JstpKey      *key)
{
  g_return_if_fail (JSTP_IS_SECURITY (self));
  g_return_if_fail (JSTP_IS_KEY (key));
  g_return_if_fail (jstp_key_has_secret (key));

  if (own_key (self, jstp_key_get_id (key)) == NULL)
    g_ptr_array_add (self->keys, g_object_ref (key));
}

void
jstp_security_set_keyring (JstpSecurity *self,
                           JstpKeyring  *keyring)
{
  g_return_if_fail (JSTP_IS_SECURITY (self));
  g_return_if_fail (keyring == NULL || JSTP_IS_KEYRING (keyring));

  g_set_object (&self->keyring, keyring);
}

void
jstp_security_trust (JstpSecurity *self,
                     const char   *key_id)
{
  g_return_if_fail (JSTP_IS_SECURITY (self));
  g_return_if_fail (is_key_id (key_id));

  g_hash_table_add (self->trusted, g_strdup (key_id));
}

static void
rule_free (gpointer data)
{
  Rule *rule = data;

  jstp_pattern_unref (rule->pattern);
  g_strfreev (rule->key_ids);
  g_free (rule);
}

gboolean
jstp_security_restrict (JstpSecurity        *self,
                        const char          *method,
                        const char * const  *resource,
                        const char * const  *key_ids,
                        GError             **error)
{
  Rule *rule;
  JstpPattern *pattern;

  g_return_val_if_fail (JSTP_IS_SECURITY (self), FALSE);
  g_return_val_if_fail (method != NULL, FALSE);
  g_return_val_if_fail (resource != NULL, FALSE);

  for (guint i = 0; key_ids && key_ids[i]; i++)
    if (!is_key_id (key_ids[i]))
      {
        g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "“%s” is not a key id",
                     key_ids[i]);
        return FALSE;
      }
  pattern = jstp_pattern_new (method, resource, g_strv_length ((char **) resource),
                              JSTP_MODE_STRICT, error);
  if (pattern == NULL)
    return FALSE;

  rule = g_new0 (Rule, 1);
  rule->pattern = pattern;
  rule->key_ids = key_ids ? g_strdupv ((char **) key_ids) : NULL;
  g_ptr_array_add (self->rules, rule);
  return TRUE;
}

/* ---- the engine hook --------------------------------------------------- */

static guint
admission_hook (JstpEngine      *engine,
                JstpConnection  *connection,
                JstpDispatch    *dispatch,
                char           **message,
                gpointer         user_data)
{
  return jstp_security_check (JSTP_SECURITY (user_data), dispatch, connection != NULL, message);
}

/* GET ["jstp","keys"]: the public key cards of the engine's own keys. */
static void
keys_cb (JstpEngine         *engine,
         JstpDispatch       *dispatch,
         const JstpCaptures *captures,
         gpointer            user_data)
{
  JstpSecurity *self = user_data;
  g_autoptr(GString) body = g_string_new ("[");

  for (guint i = 0; i < self->keys->len; i++)
    {
      g_autofree char *card = jstp_key_to_public_json (g_ptr_array_index (self->keys, i));

      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append (body, card);
    }
  g_string_append_c (body, ']');
  jstp_engine_answer (engine, dispatch, JSTP_STATUS_OK, body->str);
}

void
jstp_security_attach (JstpSecurity *self,
                      JstpEngine   *engine)
{
  g_return_if_fail (JSTP_IS_SECURITY (self));
  g_return_if_fail (JSTP_IS_ENGINE (engine));
  g_return_if_fail (self->engine == NULL);

  self->engine = engine;
  g_object_add_weak_pointer (G_OBJECT (engine), (gpointer *) &self->engine);
  self->hook_id = jstp_engine_add_admission_hook (engine, admission_hook, g_object_ref (self),
                                                  g_object_unref);
  /* The hook holds a reference to us for as long as the binding lives. */
  self->keys_binding = jstp_engine_bind (engine, "GET", (const char *[]) { "jstp", "keys", NULL },
                                         keys_cb, self, NULL, NULL);
}

void
jstp_security_detach (JstpSecurity *self)
{
  JstpEngine *engine;

  g_return_if_fail (JSTP_IS_SECURITY (self));

  engine = self->engine;
  if (engine == NULL)
    return;
  g_object_remove_weak_pointer (G_OBJECT (engine), (gpointer *) &self->engine);
  self->engine = NULL;
  jstp_engine_release (engine, self->keys_binding);
  self->keys_binding = 0;
  /* May drop the engine's reference to us: last. */
  jstp_engine_remove_admission_hook (engine, self->hook_id);
  self->hook_id = 0;
}

/* ---- GObject ----------------------------------------------------------- */

static void
jstp_security_finalize (GObject *object)
{
  JstpSecurity *self = JSTP_SECURITY (object);

  if (self->engine)
    g_object_remove_weak_pointer (G_OBJECT (self->engine), (gpointer *) &self->engine);
  g_ptr_array_unref (self->keys);
  g_clear_object (&self->keyring);
  g_hash_table_unref (self->trusted);
  g_ptr_array_unref (self->rules);
  g_hash_table_unref (self->replay);
  g_queue_clear_full (&self->replay_order, (GDestroyNotify) replay_entry_free);
  g_hash_table_unref (self->per_author);
  sodium_memzero (self->replay_key, sizeof self->replay_key);

  G_OBJECT_CLASS (jstp_security_parent_class)->finalize (object);
}

static void
jstp_security_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  JstpSecurity *self = JSTP_SECURITY (object);

  switch (prop_id)
    {
    case PROP_POLICY:
      g_value_set_int (value, self->policy);
      break;
    case PROP_WINDOW:
      g_value_set_uint (value, self->window);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_security_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  JstpSecurity *self = JSTP_SECURITY (object);

  switch (prop_id)
    {
    case PROP_POLICY:
      jstp_security_set_policy (self, g_value_get_int (value));
      break;
    case PROP_WINDOW:
      jstp_security_set_window (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_security_class_init (JstpSecurityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = jstp_security_finalize;
  object_class->get_property = jstp_security_get_property;
  object_class->set_property = jstp_security_set_property;

  /**
   * JstpSecurity:policy:
   *
   * A #JstpVerifyPolicy: what dispatches from the network must carry.
   */
  properties[PROP_POLICY] =
    g_param_spec_int ("policy", NULL, NULL, JSTP_VERIFY_OFF, JSTP_VERIFY_REQUIRE,
                      JSTP_VERIFY_IF_SIGNED,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_WINDOW] =
    g_param_spec_uint ("window", NULL, NULL, 1, 24 * 3600, JSTP_SECURITY_DEFAULT_WINDOW,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jstp_security_init (JstpSecurity *self)
{
  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");

  self->policy = JSTP_VERIFY_IF_SIGNED;
  self->window = JSTP_SECURITY_DEFAULT_WINDOW;
  self->started_ms = _jstp_now_ms ();
  self->keys = g_ptr_array_new_with_free_func (g_object_unref);
  self->trusted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->rules = g_ptr_array_new_with_free_func (rule_free);
  self->replay = g_hash_table_new (digest_hash, digest_equal);
  g_queue_init (&self->replay_order);
  self->per_author = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  randombytes_buf (self->replay_key, sizeof self->replay_key);
  self->max_entries = 1000000;
  self->max_per_key = 10000;
}

JstpSecurity *
jstp_security_new (void)
{
  return g_object_new (JSTP_TYPE_SECURITY, NULL);
}
