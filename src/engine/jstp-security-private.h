/* SPDX-License-Identifier: MIT */
/* jstp-security-private.h: helpers the key, keyring and security code
 * share, and nobody else. */
#pragma once

#include "jstp-json.h"

G_BEGIN_DECLS

/* The value of member @name of the object @object in validated @text;
 * FALSE when absent. */
gboolean  _jstp_json_find_member  (const char    *text,
                                   JstpJsonSpan   object,
                                   const char    *name,
                                   JstpJsonSpan  *value);
/* A string member, decoded; %NULL when absent or not a string. */
char     *_jstp_json_dup_string   (const char    *text,
                                   JstpJsonSpan   object,
                                   const char    *name);
/* An integer member; FALSE when absent or not an integer. */
gboolean  _jstp_json_get_int      (const char    *text,
                                   JstpJsonSpan   object,
                                   const char    *name,
                                   gint64        *out);
/* A names-only check: every member of @object is in @allowed. */
gboolean  _jstp_json_only_members (const char          *text,
                                   JstpJsonSpan         object,
                                   const char * const  *allowed);
/* Decodes a base64url string member of exactly @length bytes. */
gboolean  _jstp_json_get_base64   (const char    *text,
                                   JstpJsonSpan   object,
                                   const char    *name,
                                   guint8        *out,
                                   gsize          length);

/* Names people give keys: 1 to 64 bytes of UTF-8, no control characters,
 * not starting with '-' (it would read as an option). */
gboolean  _jstp_key_name_is_valid (const char    *name);

/* Reads a file of ours that has none of @forbidden_mode's permission bits
 * (077 for secret keys: nobody else may read them; 022 for the keyring's
 * public files: nobody else may change who is trusted). Regular files only,
 * no symbolic links, at most 64 KiB. */
char     *_jstp_read_private_file (const char    *path,
                                   guint          forbidden_mode,
                                   gsize         *length,
                                   GError       **error);

/* Milliseconds since the Unix epoch, from the real-time clock. */
gint64    _jstp_now_ms            (void);

G_END_DECLS
