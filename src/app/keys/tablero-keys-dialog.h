/* tablero-keys-dialog.h: the key manager
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <adwaita.h>

#include "jstp-keyring.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_KEYS_DIALOG (tablero_keys_dialog_get_type ())

G_DECLARE_FINAL_TYPE (TableroKeysDialog, tablero_keys_dialog, TABLERO, KEYS_DIALOG, AdwPreferencesWindow)

/* The user's keyring ($XDG_DATA_HOME/jstp/keys, or $JSTP_KEYS_DIR), shared
 * by the key manager, the composer and the inspector. Transfer none. */
JstpKeyring       *tablero_keys_dialog_get_keyring (void);

TableroKeysDialog *tablero_keys_dialog_new         (GtkWindow         *parent);

/* What the dialogs of the manager do, callable directly. */
JstpKey           *tablero_keys_dialog_generate    (TableroKeysDialog *self,
                                                    const char        *name,
                                                    const char        *passphrase,
                                                    GError           **error);
JstpKey           *tablero_keys_dialog_import      (TableroKeysDialog *self,
                                                    const char        *name,
                                                    const char        *card_json,
                                                    GError           **error);
/* The rows shown: own keys and peers. */
guint              tablero_keys_dialog_get_n_rows  (TableroKeysDialog *self);
/* The fingerprint shown for @key_id, or NULL when it has no row. */
const char        *tablero_keys_dialog_get_shown_fingerprint (TableroKeysDialog *self,
                                                              const char        *key_id);

G_END_DECLS
