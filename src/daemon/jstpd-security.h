/* SPDX-License-Identifier: MIT */
/* jstpd-security.h: jstpd's --key, --verify and --trust flags. */
#pragma once

#include "jstp-security.h"

G_BEGIN_DECLS

/**
 * jstpd_security_setup:
 * @key: (nullable): a secret key file, or the name or id of a key in the
 *   default keyring; its passphrase comes from $JSTP_KEY_PASSPHRASE or
 *   the terminal
 * @verify: (nullable): "off", "if-signed" or "require"; by default
 *   "if-signed" when @key or @trust is given
 * @trust: (nullable) (array zero-terminated=1): key ids (or names in the
 *   default keyring); when given, only these keys may write to the engine
 *
 * Returns: (transfer full) (nullable): the security attached to @engine,
 *   or %NULL when no flag asked for one (and @error unset) or on error
 */
JstpSecurity *jstpd_security_setup (JstpEngine         *engine,
                                    const char         *key,
                                    const char         *verify,
                                    const char * const *trust,
                                    GError            **error);

G_END_DECLS
