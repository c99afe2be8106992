/* SPDX-License-Identifier: MIT */
/* jstp-json.h: the strict RFC 8259 scanner every untrusted byte goes through.
 *
 * json-glib 1.6 accepts non-JSON, wraps integers, keeps the last duplicate
 * key and overflows its stack on deep nesting, so nothing reaches it before
 * jstp_json_scan() has accepted the text. The scanner walks the text once,
 * with an explicit depth counter (no recursion), and reports the spans of the
 * top-level members so that a dispatch can be routed without building a tree.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JSTP_JSON_ERROR (jstp_json_error_quark ())

typedef enum {
  JSTP_JSON_ERROR_SYNTAX,        /* not RFC 8259 JSON, or not exactly one value */
  JSTP_JSON_ERROR_ENCODING,      /* invalid UTF-8, lone surrogate, \u0000 */
  JSTP_JSON_ERROR_DEPTH,         /* nesting deeper than the limit */
  JSTP_JSON_ERROR_LIMIT,         /* size, tokens, elements, members or string length */
  JSTP_JSON_ERROR_DUPLICATE_KEY, /* the same key twice in one object */
  JSTP_JSON_ERROR_NUMBER_RANGE,  /* integer outside int64, or a number that is not finite */
  JSTP_JSON_ERROR_EMPTY,         /* nothing but whitespace */
} JstpJsonError;

typedef enum {
  JSTP_JSON_NULL,
  JSTP_JSON_FALSE,
  JSTP_JSON_TRUE,
  JSTP_JSON_NUMBER,
  JSTP_JSON_STRING,
  JSTP_JSON_ARRAY,
  JSTP_JSON_OBJECT,
} JstpJsonType;

typedef struct {
  gsize max_size;            /* bytes of the whole text; default 1 MiB */
  guint max_depth;           /* nesting of arrays and objects; default 64 */
  guint max_tokens;          /* values + keys; default 100 000 */
  guint max_array_elements;  /* per array; default 10 000 */
  guint max_object_members;  /* per object; default 1 024 */
  gsize max_string_length;   /* raw bytes between the quotes; default 256 KiB */
} JstpJsonLimits;

/* A value inside a text: its type and the bytes it spans (a string's span
 * includes its quotes). Offsets are relative to the scanned text. */
typedef struct {
  JstpJsonType type;
  guint32 offset;
  guint32 length;
} JstpJsonSpan;

typedef struct {
  JstpJsonSpan name;   /* a JSTP_JSON_STRING span, quotes included */
  JstpJsonSpan value;
} JstpJsonMember;

/* Iterates the direct children of a validated array or object span. */
typedef struct {
  const char *text;
  gsize pos;
  gsize end;
} JstpJsonIter;

GQuark   jstp_json_error_quark        (void);

/* Fills @limits with the project's defaults (security.md 3.3). */
void     jstp_json_limits_init        (JstpJsonLimits *limits);

/**
 * jstp_json_scan:
 * @text: (array length=length): bytes to check; need not be NUL-terminated
 * @limits: (nullable): limits; %NULL for the defaults
 * @root: (out) (optional): the span of the single top-level value
 * @members: (out caller-allocates) (optional): top-level members when the root is an object
 * @max_members: size of @members
 * @n_members: (out) (optional): number of top-level members (may exceed @max_members,
 *   in which case only the first @max_members were stored)
 *
 * Accepts @text only if it is exactly one JSON value by RFC 8259 (optional
 * whitespace around it), valid UTF-8, with no NUL byte, no `\u0000`, no lone
 * surrogate escape, no duplicate key in any object, no integer literal outside
 * int64, no number that overflows a double, within @limits. The message of
 * @error names the byte offset and what is wrong there. A text that is not
 * NUL-free UTF-8 always fails with %JSTP_JSON_ERROR_ENCODING (unless it is
 * over the size limit), whatever error comes first in it.
 */
gboolean jstp_json_scan               (const char            *text,
                                       gsize                  length,
                                       const JstpJsonLimits  *limits,
                                       JstpJsonSpan          *root,
                                       JstpJsonMember        *members,
                                       guint                  max_members,
                                       guint                 *n_members,
                                       GError               **error);

/* The functions below take spans of text already accepted by jstp_json_scan. */

/* Decoded UTF-8 of a string span; never contains NUL. Free with g_free(). */
char    *jstp_json_string_dup         (const char            *text,
                                       JstpJsonSpan           span,
                                       gsize                 *out_length);

/* TRUE when the decoded string equals @literal; allocates nothing.
 * With @ascii_nocase, ASCII letters compare case-insensitively. */
gboolean jstp_json_string_equal       (const char            *text,
                                       JstpJsonSpan           span,
                                       const char            *literal,
                                       gboolean               ascii_nocase);

/* TRUE and sets @out when the span is a number written as an integer
 * (no fraction, no exponent) that fits in gint64. */
gboolean jstp_json_number_get_int64   (const char            *text,
                                       JstpJsonSpan           span,
                                       gint64                *out);

void     jstp_json_iter_init          (JstpJsonIter          *iter,
                                       const char            *text,
                                       JstpJsonSpan           container);
/* Next array element; FALSE at the end. */
gboolean jstp_json_iter_next          (JstpJsonIter          *iter,
                                       JstpJsonSpan          *value);
/* Next object member; FALSE at the end. */
gboolean jstp_json_iter_next_member   (JstpJsonIter          *iter,
                                       JstpJsonSpan          *name,
                                       JstpJsonSpan          *value);
/* Number of direct children of an array or object span. */
guint    jstp_json_count_children     (const char            *text,
                                       JstpJsonSpan           container);

/* Appends @utf8 as a quoted JSON string: `"` `\` and every control character
 * escaped (U+0000..U+001F as \n \t ... or \u00XX), everything else raw.
 * Bytes that are not valid UTF-8 are written as U+FFFD. */
void     jstp_json_append_string      (GString               *out,
                                       const char            *utf8,
                                       gssize                 length);

G_END_DECLS
