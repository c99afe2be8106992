/* SPDX-License-Identifier: MIT */
/* jstp-canonical.h: JSTP-C14N v1, the canonical JSON that signatures cover.
 *
 * RFC 8785 (JCS) restricted to I-JSON integers, as docs/protocol.md
 * defines it: members sorted by their names' UTF-16 code units, no
 * whitespace, strings escaped the JCS way, and numbers only as integers in
 * [-(2^53-1), 2^53-1] written without fraction, exponent or "-0". Without
 * fractions there is no float formatting to agree on, which is the part of
 * JCS implementations get wrong. Input is text the strict scanner accepted;
 * json-glib never touches it.
 */
#pragma once

#include <glib.h>

#include "jstp-json.h"

G_BEGIN_DECLS

/* The largest integer JSTP-C14N v1 accepts, and its negation the smallest. */
#define JSTP_CANONICAL_MAX_INTEGER G_GINT64_CONSTANT (9007199254740991)

/**
 * jstp_canonical_append:
 * @out: the canonical text is appended here
 * @text: text accepted by jstp_json_scan()
 * @span: the value of @text to write
 * @error: a %JSTP_ERROR 400 naming what has no canonical form (a fraction,
 *   an exponent, "-0", an integer outside the range)
 *
 * Returns: %FALSE on error, with @out holding a partial result
 */
gboolean  jstp_canonical_append      (GString            *out,
                                      const char         *text,
                                      JstpJsonSpan        span,
                                      GError            **error);

/**
 * jstp_canonical_serialize:
 * @json: (array length=length): any bytes; checked by the strict scanner first
 * @length: bytes of @json, or -1 when NUL-terminated
 * @error: a %JSTP_ERROR 400
 *
 * Returns: (transfer full) (nullable): the canonical text, NUL-terminated
 */
char     *jstp_canonical_serialize   (const char         *json,
                                      gssize              length,
                                      GError            **error);

/* Orders two UTF-8 strings by their UTF-16 code units (RFC 8785 3.2.3):
 * differs from strcmp() when one has a character above U+FFFF and the
 * other one in U+E000..U+FFFF at the same place. */
int       jstp_canonical_compare_keys (const char        *a,
                                      gsize               a_length,
                                      const char         *b,
                                      gsize               b_length);

G_END_DECLS
