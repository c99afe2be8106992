/* SPDX-License-Identifier: MIT */
/* jstp-keyring.h: the keys a user holds and the peers they know.
 *
 * A directory (mode 0700; by default $XDG_DATA_HOME/jstp/keys, or
 * $JSTP_KEYS_DIR) with two folders:
 *
 *   own/<key id>.key     the user's keys, passphrase-encrypted, mode 0600
 *   peers/<key id>.json  {"jstp-peer":1,"name":...,"trusted":bool,"card":{...}}
 *
 * Names are unique in one keyring; keys are looked up by key id, by
 * fingerprint (spaces and case ignored) or by name. The keyring is a
 * GListModel of JstpKey (own keys first, then peers, each by name) so a
 * key manager can show it directly; it re-reads the directory after each
 * change it makes, and on jstp_keyring_reload().
 */
#pragma once

#include <gio/gio.h>

#include "jstp-key.h"

G_BEGIN_DECLS

#define JSTP_TYPE_KEYRING (jstp_keyring_get_type ())

G_DECLARE_FINAL_TYPE (JstpKeyring, jstp_keyring, JSTP, KEYRING, GObject)

/* $JSTP_KEYS_DIR when set, otherwise $XDG_DATA_HOME/jstp/keys. */
char         *jstp_keyring_dup_default_directory (void);

/**
 * jstp_keyring_new:
 * @directory: (nullable): %NULL for the default directory
 *
 * Nothing is read or created until jstp_keyring_reload() or a change.
 */
JstpKeyring  *jstp_keyring_new           (const char   *directory);
const char   *jstp_keyring_get_directory (JstpKeyring  *self);

/* Reads the directory again (creating it, 0700, when missing). Fails with
 * %G_IO_ERROR_PERMISSION_DENIED when it belongs to another user or others
 * may write into it. Files that cannot be read are skipped with a debug
 * message, so one bad file does not hide the others. */
gboolean      jstp_keyring_reload        (JstpKeyring  *self,
                                          GError      **error);

/* (transfer none) (nullable): a key by id, fingerprint or name. */
JstpKey      *jstp_keyring_lookup        (JstpKeyring  *self,
                                          const char   *id_or_name);
/* Argon2id limits for keys stored from now on; MODERATE by default. */
void          jstp_keyring_set_kdf_limits (JstpKeyring *self,
                                          guint64      opslimit,
                                          gsize        memlimit);

/* TRUE for a key whose secret part this keyring stores. */
gboolean      jstp_keyring_is_own        (JstpKeyring  *self,
                                          const char   *key_id);
/* Own keys are trusted; peers when marked so. */
gboolean      jstp_keyring_is_trusted    (JstpKeyring  *self,
                                          const char   *key_id);
/* (transfer full): the ids of own keys and trusted peers. */
GStrv         jstp_keyring_dup_trusted_ids (JstpKeyring *self);

/**
 * jstp_keyring_generate:
 * @name: (nullable): a unique name for the key
 *
 * Creates a key and stores it encrypted with @passphrase.
 * Returns: (transfer full) (nullable): the key, with its secret part
 */
JstpKey      *jstp_keyring_generate      (JstpKeyring  *self,
                                          const char   *name,
                                          const char   *passphrase,
                                          GError      **error);
/* Stores @key (which must have its secret part) as an own key. */
gboolean      jstp_keyring_add_own       (JstpKeyring  *self,
                                          JstpKey      *key,
                                          const char   *passphrase,
                                          GError      **error);
/* (transfer full) (nullable): an own key with its secret part. */
JstpKey      *jstp_keyring_unlock        (JstpKeyring  *self,
                                          const char   *id_or_name,
                                          const char   *passphrase,
                                          GError      **error);
/* The file an own key is stored in. */
char         *jstp_keyring_dup_key_path  (JstpKeyring  *self,
                                          const char   *key_id);

/**
 * jstp_keyring_import:
 * @name: a unique name for the peer
 * @card_json: the peer's public key card (jstp_key_to_public_json())
 *
 * Adds a peer, untrusted. %G_IO_ERROR_EXISTS when the name or the key is
 * already in the keyring; %JSTP_ERROR for a card that does not verify.
 * Returns: (transfer none) (nullable): the peer's key
 */
JstpKey      *jstp_keyring_import        (JstpKeyring  *self,
                                          const char   *name,
                                          const char   *card_json,
                                          GError      **error);
/* Marks a peer trusted or not; own keys cannot be untrusted. */
gboolean      jstp_keyring_set_trusted   (JstpKeyring  *self,
                                          const char   *id_or_name,
                                          gboolean      trusted,
                                          GError      **error);
/* Removes a peer, or an own key with its secret file. */
gboolean      jstp_keyring_remove        (JstpKeyring  *self,
                                          const char   *id_or_name,
                                          GError      **error);
/* The public key card of an own key or a peer. Free with g_free(). */
char         *jstp_keyring_export        (JstpKeyring  *self,
                                          const char   *id_or_name,
                                          GError      **error);

G_END_DECLS
