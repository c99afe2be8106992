/* SPDX-License-Identifier: MIT */
/* jstp-security.h: the security extension (docs/protocol.md, "Security
 * extension"): signed dispatches, bodies sealed to one recipient, and the
 * verification an engine runs before it triggers anything.
 *
 *   jstp_security_encrypt (dispatch, me, bob, &error);   (optional, first)
 *   jstp_security_sign (dispatch, me, NULL, &error);
 *   jstp_engine_emit (engine, dispatch, on_answer, NULL, NULL);
 *
 * and on the receiving engine:
 *
 *   security = jstp_security_new ();
 *   jstp_security_add_key (security, my_key);           (to open envelopes)
 *   jstp_security_set_policy (security, JSTP_VERIFY_REQUIRE);
 *   jstp_security_attach (security, engine);
 *   ...in a bind callback: jstp_security_get_author (dispatch),
 *      jstp_security_get_body_json (dispatch)
 *
 * Refusals are answered with 400 (a malformed signature or envelope, or a
 * fractional number in signed content), 401 (unsigned where a signature
 * is required, stale, replayed, for another audience), 403 (an author not
 * trusted for the endpoint), 429 (the replay cache is full), 498 (the
 * signature does not verify) and 499 (an envelope addressed to one of our
 * keys that does not open, or whose inside does not check out).
 */
#pragma once

#include <glib-object.h>

#include "jstp-dispatch.h"
#include "jstp-engine.h"
#include "jstp-key.h"
#include "jstp-keyring.h"

G_BEGIN_DECLS

/* What an engine demands of dispatches that arrive from the network.
 * Local emitters are never refused: their dispatches are only read
 * (signatures verified, envelopes for our keys opened). */
typedef enum {
  JSTP_VERIFY_OFF,          /* nothing is checked or opened */
  JSTP_VERIFY_IF_SIGNED,    /* unsigned passes; a signature must verify */
  JSTP_VERIFY_REQUIRE,      /* unsigned gets 401 */
} JstpVerifyPolicy;

/* What the security extension found out about a dispatch. */
typedef enum {
  JSTP_SECURITY_NONE       = 0,
  JSTP_SECURITY_SIGNED     = 1 << 0,  /* it carries a `signature` header */
  JSTP_SECURITY_VERIFIED   = 1 << 1,  /* an author is proven (signature or envelope) */
  JSTP_SECURITY_TRUSTED    = 1 << 2,  /* ... and that author is a trusted key */
  JSTP_SECURITY_ENCRYPTED  = 1 << 3,  /* its body is a sealed envelope */
  JSTP_SECURITY_DECRYPTED  = 1 << 4,  /* ... which one of our keys opened */
  JSTP_SECURITY_INVALID    = 1 << 5,  /* a signature or envelope that fails */
} JstpSecurityFlags;

#define JSTP_SECURITY_DEFAULT_WINDOW 120   /* seconds of clock skew allowed */

#define JSTP_TYPE_SECURITY (jstp_security_get_type ())

G_DECLARE_FINAL_TYPE (JstpSecurity, jstp_security, JSTP, SECURITY, GObject)

JstpSecurity     *jstp_security_new            (void);

JstpVerifyPolicy  jstp_security_get_policy     (JstpSecurity       *self);
void              jstp_security_set_policy     (JstpSecurity       *self,
                                                JstpVerifyPolicy    policy);
/* "off", "if-signed", "require"; FALSE for anything else. */
gboolean          jstp_verify_policy_from_string (const char       *text,
                                                JstpVerifyPolicy   *policy);
const char       *jstp_verify_policy_to_string (JstpVerifyPolicy    policy);

/* Seconds a signature's `created` may be from our clock (default 120). */
guint             jstp_security_get_window     (JstpSecurity       *self);
void              jstp_security_set_window     (JstpSecurity       *self,
                                                guint               seconds);
/* Bounds of the replay cache: entries overall (default 1 000 000) and per
 * author (default 10 000). A full cache refuses with 429 and never evicts
 * an entry that is still in its window. */
void              jstp_security_set_replay_limits (JstpSecurity    *self,
                                                guint               max_entries,
                                                guint               max_per_key);

/* An own key, with its secret part: envelopes sealed to it are opened,
 * and signatures whose `aud` names it are accepted. Own keys are trusted. */
void              jstp_security_add_key        (JstpSecurity       *self,
                                                JstpKey            *key);
/* Trusted peers also come from @keyring (read when checking). */
void              jstp_security_set_keyring    (JstpSecurity       *self,
                                                JstpKeyring        *keyring);
/* Trusts a key id without a keyring (jstpd --trust). */
void              jstp_security_trust          (JstpSecurity       *self,
                                                const char         *key_id);
gboolean          jstp_security_is_trusted     (JstpSecurity       *self,
                                                const char         *key_id);

/**
 * jstp_security_restrict:
 * @method: a method name or "*"
 * @resource: (array zero-terminated=1): an endpoint pattern
 * @key_ids: (array zero-terminated=1) (nullable): the authors allowed;
 *   %NULL for "any trusted key"
 *
 * Dispatches from the network that match the endpoint must come from one
 * of @key_ids: unsigned ones get 401, others 403. When several rules match,
 * any one of them allowing the author is enough. BIND and RELEASE are
 * matched like the engine matches them (their endpoint as strings).
 */
gboolean          jstp_security_restrict       (JstpSecurity        *self,
                                                const char          *method,
                                                const char * const  *resource,
                                                const char * const  *key_ids,
                                                GError             **error);

/* Makes @engine check every regular and subscription dispatch it would
 * trigger, and answer GET ["jstp","keys"] with the public key cards of
 * the own keys (public: answered even under "require"). One engine per
 * security object. */
void              jstp_security_attach         (JstpSecurity       *self,
                                                JstpEngine         *engine);
void              jstp_security_detach         (JstpSecurity       *self);

/**
 * jstp_security_check:
 * @from_network: %FALSE for a local emitter: never refused, never counted
 *   against replays
 * @message: (out) (optional) (transfer full): why, when refused
 *
 * What the engine hook runs: verifies, opens, records the results on
 * @dispatch for jstp_security_get_author() and friends.
 * Returns: 0 to accept, or the status to refuse with
 */
guint             jstp_security_check          (JstpSecurity       *self,
                                                JstpDispatch       *dispatch,
                                                gboolean            from_network,
                                                char              **message);

/**
 * jstp_security_inspect:
 * @author: (out) (optional) (transfer full): the proven author's key id
 *
 * The verdict on any dispatch (an ANSWER too) without side effects:
 * nothing is recorded, the replay cache is not touched. For inspectors.
 */
JstpSecurityFlags jstp_security_inspect        (JstpSecurity       *self,
                                                JstpDispatch       *dispatch,
                                                char              **author);

/**
 * jstp_security_sign:
 * @key: a key with its secret part
 * @audience: (nullable): the key id of the engine meant to process the
 *   dispatch; others refuse it with 401
 * @error: %JSTP_ERROR 400 when the dispatch holds a fractional number or
 *   an integer beyond ±(2^53-1) in a covered header
 *
 * Adds the `signature` header (replacing one already there). Sign last:
 * any later change to a covered header breaks the signature; `host` and
 * `token` may change.
 */
gboolean          jstp_security_sign           (JstpDispatch       *dispatch,
                                                JstpKey            *key,
                                                const char         *audience,
                                                GError            **error);

/**
 * jstp_security_encrypt:
 * @sender: a key with its secret part: it signs the inside
 * @recipient: a key with its encryption part (from its card)
 *
 * Replaces the body with an envelope only @recipient opens. The inside
 * binds the sender, the recipient, the method and the resource (or
 * endpoint), so it can be neither re-sent to someone else as ours nor
 * moved to another resource. Call before jstp_security_sign().
 */
gboolean          jstp_security_encrypt        (JstpDispatch       *dispatch,
                                                JstpKey            *sender,
                                                JstpKey            *recipient,
                                                GError            **error);

/* ---- what bind callbacks read ------------------------------------------ */

/* The key id proven to have written @dispatch (the envelope's sender when
 * one of our keys opened it, otherwise the signer), or %NULL. Never taken
 * from `referer` or the body. */
const char       *jstp_security_get_author     (JstpDispatch       *dispatch);
/* The outer signer when it differs from the author (a relay that signed
 * someone else's envelope), or %NULL. */
const char       *jstp_security_get_signer     (JstpDispatch       *dispatch);
JstpSecurityFlags jstp_security_get_flags      (JstpDispatch       *dispatch);
/* The opened body of an envelope addressed to one of our keys, otherwise
 * the body as it arrived. */
const char       *jstp_security_get_body_json  (JstpDispatch       *dispatch);

G_END_DECLS
