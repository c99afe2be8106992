/* SPDX-License-Identifier: MIT */
/* jstp-pattern.h: endpoint patterns (spec section 4). */
#pragma once

#include <glib-object.h>
#include "jstp-json.h"

G_BEGIN_DECLS

/* One element of a dispatch's resource, as the matcher sees it. For a
 * string, @text is the decoded UTF-8; for a number, the literal as written
 * in the dispatch; for anything else, the raw JSON text. Not NUL-terminated
 * unless the owner says so: always use @length. */
typedef struct {
  JstpJsonType type;
  const char *text;
  gsize length;
} JstpElement;

/* Caps from security.md 3.3: matching stays cheap and bounded. */
#define JSTP_PATTERN_MAX_ELEMENTS  64
#define JSTP_PATTERN_MAX_STARS      8   /* `*` and `:name` together */
#define JSTP_PATTERN_MAX_ELLIPSES   2
#define JSTP_PATTERN_MAX_CAPTURES   JSTP_PATTERN_MAX_STARS

/* Values captured by `:name` elements, handed to bind callbacks. Names and
 * values point into the pattern and the dispatch: valid during the callback. */
typedef struct {
  guint n_captures;
  struct {
    const char *name;
    JstpElement value;
  } items[JSTP_PATTERN_MAX_CAPTURES];
} JstpCaptures;

typedef enum {
  JSTP_MODE_STRICT,
  JSTP_MODE_QUIRKS,
} JstpMode;

typedef enum {
  JSTP_ELEMENT_LITERAL,
  JSTP_ELEMENT_ANY,       /* `*` */
  JSTP_ELEMENT_ELLIPSIS,  /* `...` */
  JSTP_ELEMENT_CAPTURE,   /* `:name` */
} JstpPatternElementKind;

typedef struct _JstpPattern JstpPattern;

#define JSTP_TYPE_PATTERN (jstp_pattern_get_type ())

GType        jstp_pattern_get_type        (void) G_GNUC_CONST;

/**
 * jstp_pattern_new:
 * @method: a method name (any case) or `*`
 * @resource: (array length=n_resource): the resource pattern's elements
 * @mode: strict refuses the illegal forms of section 4; quirks normalises them
 * @error: set to a %JSTP_ERROR naming the offending element (counted from 0):
 *   status 400 for a bad resource pattern, 405 for an unknown method
 *
 * Returns: (transfer full) (nullable): a new pattern
 */
JstpPattern *jstp_pattern_new             (const char          *method,
                                           const char * const  *resource,
                                           guint                n_resource,
                                           JstpMode             mode,
                                           GError             **error);
JstpPattern *jstp_pattern_ref             (JstpPattern         *pattern);
void         jstp_pattern_unref           (JstpPattern         *pattern);

/* Upper-case method name, or "*". */
const char  *jstp_pattern_get_method      (const JstpPattern   *pattern);
guint        jstp_pattern_get_n_elements  (const JstpPattern   *pattern);
/* The element as it was written (escapes included), for serializing. */
const char  *jstp_pattern_get_element     (const JstpPattern   *pattern,
                                           guint                index);
JstpPatternElementKind
             jstp_pattern_get_element_kind (const JstpPattern  *pattern,
                                           guint                index);
/* Literal text of a literal element (escape removed), capture name of a capture. */
const char  *jstp_pattern_get_element_value (const JstpPattern *pattern,
                                           guint                index);
/* Number of leading literal elements. (The subscription index keys on the
 * whole head before the first `...`, wildcards included.) */
guint        jstp_pattern_get_literal_prefix_length (const JstpPattern *pattern);

gboolean     jstp_pattern_equal           (const JstpPattern   *a,
                                           const JstpPattern   *b);
guint        jstp_pattern_hash            (const JstpPattern   *pattern);

/**
 * jstp_pattern_match:
 * @method: the dispatch's method, upper case
 * @captures: (out) (optional): filled when it matches
 *
 * Anchored, non-greedy `...`, linear in @n_resource for any pattern.
 */
gboolean     jstp_pattern_match           (const JstpPattern   *pattern,
                                           const char          *method,
                                           const JstpElement   *resource,
                                           guint                n_resource,
                                           JstpCaptures        *captures);

/* jstp_pattern_match(), adding to @n_comparisons the number of element
 * comparisons it made: lets tests check the linear bound without timing. */
gboolean     jstp_pattern_match_counted   (const JstpPattern   *pattern,
                                           const char          *method,
                                           const JstpElement   *resource,
                                           guint                n_resource,
                                           JstpCaptures        *captures,
                                           guint64             *n_comparisons);

/* Lookup by name (the first capture of that name); NULL when absent. */
const JstpElement *jstp_captures_lookup   (const JstpCaptures  *captures,
                                           const char          *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JstpPattern, jstp_pattern_unref)

G_END_DECLS
