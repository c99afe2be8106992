/* SPDX-License-Identifier: MIT */
/* jstp-pattern.c: endpoint patterns (spec section 4).
 *
 * A pattern is checked and normalised once, when it is bound, and cut at its
 * `...`s into fixed-length segments. Matching then places segments instead
 * of searching for an assignment of the `...`s: the first segment is
 * anchored at the start, the last at the end, and each middle one goes to
 * its leftmost possible position. Leftmost is what non-greedy `...` means,
 * and it is also the placement that leaves the most room for what follows,
 * so no placement is ever revisited. A match therefore costs at most
 * n × m element comparisons for n resource elements and m pattern elements,
 * and m is capped: linear in the resource, whatever the pattern.
 */
#include "config.h"

#include <string.h>

#include "jstp-error.h"
#include "jstp-pattern.h"

typedef struct
{
  JstpPatternElementKind kind;
  const char *written;      /* as written, escapes included */
  const char *value;        /* literal without its escape, or capture name */
  gsize value_length;
} Element;

/* A run of elements without `...`; it always matches exactly @length
 * consecutive resource elements. */
typedef struct
{
  guint start;
  guint length;
} Segment;

struct _JstpPattern
{
  gatomicrefcount ref_count;
  const char *method;       /* one of the static names below */
  guint hash;
  guint n_elements;
  guint n_segments;         /* number of `...` plus one */
  guint min_length;         /* elements the segments need together */
  guint literal_prefix;
  Segment segments[JSTP_PATTERN_MAX_ELLIPSES + 1];
  char *strings;            /* every written element, NUL-separated */
  Element elements[];
};

G_DEFINE_BOXED_TYPE (JstpPattern, jstp_pattern, jstp_pattern_ref, jstp_pattern_unref)

static const char * const methods[] = {
  "GET", "POST", "PUT", "PATCH", "DELETE", "BIND", "RELEASE", "ANSWER",
};

static const char *
normalize_method (const char *method)
{
  if (strcmp (method, "*") == 0)
    return "*";

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      if (g_ascii_strcasecmp (method, methods[i]) == 0)
        return methods[i];
    }

  return NULL;
}

static gboolean
is_capture_name (const char *name)
{
  if (*name == '\0')
    return FALSE;

  for (; *name != '\0'; name++)
    {
      if (!g_ascii_isalpha (*name))
        return FALSE;
    }

  return TRUE;
}

static gboolean
pattern_error (GError     **error,
               guint        index,
               const char  *reason)
{
  g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
               "Invalid resource pattern: element %u: %s", index, reason);
  return FALSE;
}

/* One element of the normalised pattern, before it is copied out. */
typedef struct
{
  JstpPatternElementKind kind;
  guint source;             /* index in the caller's array, for messages */
  const char *text;         /* written form, or the part after the added escape */
  gboolean add_escape;
} Draft;

static gboolean
draft_elements (const char * const  *resource,
                guint                n_resource,
                JstpMode             mode,
                Draft               *drafts,
                guint               *n_drafts,
                GError             **error)
{
  guint n = 0;
  guint n_ellipses = 0;
  guint n_wildcards = 0;

  if (n_resource == 0)
    return pattern_error (error, 0, "the pattern is empty");

  /* Refused before looking at anything, in both modes: normalising would
   * otherwise be unbounded work on untrusted input. */
  if (n_resource > JSTP_PATTERN_MAX_ELEMENTS)
    return pattern_error (error, JSTP_PATTERN_MAX_ELEMENTS,
                          "more than " G_STRINGIFY (JSTP_PATTERN_MAX_ELEMENTS) " elements");

  for (guint i = 0; i < n_resource; i++)
    {
      const char *text = resource[i];
      Draft draft = { JSTP_ELEMENT_LITERAL, i, text, FALSE };
      gboolean after_ellipsis = n > 0 && drafts[n - 1].kind == JSTP_ELEMENT_ELLIPSIS;

      if (strcmp (text, "*") == 0)
        {
          draft.kind = JSTP_ELEMENT_ANY;
        }
      else if (strcmp (text, "...") == 0)
        {
          draft.kind = JSTP_ELEMENT_ELLIPSIS;
        }
      else if (text[0] == ':' && text[1] == '\0')
        {
          if (mode == JSTP_MODE_STRICT)
            return pattern_error (error, i, "a bare `:` names no capture");
          draft.kind = JSTP_ELEMENT_ANY;
          draft.text = "*";
        }
      else if (text[0] == ':')
        {
          /* The spec names only the bare `:`. A colon followed by anything but
           * ASCII letters is refused in strict mode too: it is almost surely a
           * typo for a capture, and a silent literal would never match what
           * its author meant. Quirks mode reads it as the literal it spells. */
          if (is_capture_name (text + 1))
            draft.kind = JSTP_ELEMENT_CAPTURE;
          else if (mode == JSTP_MODE_STRICT)
            return pattern_error (error, i,
                                  "`:` must be followed by one or more ASCII letters");
          else
            draft.add_escape = TRUE;
        }

      if (after_ellipsis && draft.kind == JSTP_ELEMENT_ELLIPSIS)
        {
          if (mode == JSTP_MODE_STRICT)
            return pattern_error (error, i, "`...` right after `...`");
          continue;
        }

      if (after_ellipsis && draft.kind == JSTP_ELEMENT_ANY)
        {
          if (mode == JSTP_MODE_STRICT)
            return pattern_error (error, i, "`*` right after `...`");
          continue;
        }

      if (draft.kind == JSTP_ELEMENT_ELLIPSIS && ++n_ellipses > JSTP_PATTERN_MAX_ELLIPSES)
        return pattern_error (error, i,
                              "more than " G_STRINGIFY (JSTP_PATTERN_MAX_ELLIPSES) " `...`");

      if ((draft.kind == JSTP_ELEMENT_ANY || draft.kind == JSTP_ELEMENT_CAPTURE) &&
          ++n_wildcards > JSTP_PATTERN_MAX_STARS)
        return pattern_error (error, i,
                              "more than " G_STRINGIFY (JSTP_PATTERN_MAX_STARS)
                              " `*` and `:name` elements");

      drafts[n++] = draft;
    }

  /* Between two `...` the first one takes as few elements as it can, so a
   * run with no literal in it always lands right after the first `...`: its
   * capture would not depend on the resource the way its author expects. The
   * spec refuses `:name` there in both modes; a run like `:a :b` is refused
   * for the same reason (`*` alone cannot be there: see above). */
  for (guint i = 0; i < n; i++)
    {
      guint j;
      gboolean has_literal = FALSE;

      if (drafts[i].kind != JSTP_ELEMENT_ELLIPSIS)
        continue;

      for (j = i + 1; j < n && drafts[j].kind != JSTP_ELEMENT_ELLIPSIS; j++)
        has_literal |= drafts[j].kind == JSTP_ELEMENT_LITERAL;

      if (j < n && !has_literal)
        return pattern_error (error, drafts[i + 1].source, "`:name` between two `...`");

      i = j - 1;
    }

  *n_drafts = n;
  return TRUE;
}

static guint
compute_hash (const JstpPattern *pattern)
{
  guint hash = g_str_hash (pattern->method);

  for (guint i = 0; i < pattern->n_elements; i++)
    {
      const Element *element = &pattern->elements[i];

      hash = hash * 31 + element->kind;
      if (element->value != NULL)
        hash = hash * 31 + g_str_hash (element->value);
    }

  return hash;
}

JstpPattern *
jstp_pattern_new (const char          *method,
                  const char * const  *resource,
                  guint                n_resource,
                  JstpMode             mode,
                  GError             **error)
{
  Draft drafts[JSTP_PATTERN_MAX_ELEMENTS];
  const char *upper;
  JstpPattern *pattern;
  guint n_drafts = 0;
  gsize strings_size = 0;
  char *cursor;

  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (resource != NULL || n_resource == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; i < MIN (n_resource, JSTP_PATTERN_MAX_ELEMENTS); i++)
    g_return_val_if_fail (resource[i] != NULL, NULL);

  upper = normalize_method (method);
  if (upper == NULL)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_METHOD_NOT_ALLOWED,
                   "Unknown method in endpoint");
      return NULL;
    }

  if (!draft_elements (resource, n_resource, mode, drafts, &n_drafts, error))
    return NULL;

  for (guint i = 0; i < n_drafts; i++)
    strings_size += strlen (drafts[i].text) + (drafts[i].add_escape ? 1 : 0) + 1;

  pattern = g_malloc0 (sizeof (JstpPattern) + n_drafts * sizeof (Element));
  g_atomic_ref_count_init (&pattern->ref_count);
  pattern->method = upper;
  pattern->n_elements = n_drafts;
  pattern->strings = g_malloc (strings_size);
  pattern->literal_prefix = n_drafts;

  cursor = pattern->strings;
  pattern->n_segments = 1;

  for (guint i = 0; i < n_drafts; i++)
    {
      Element *element = &pattern->elements[i];
      Segment *segment = &pattern->segments[pattern->n_segments - 1];
      gsize length = strlen (drafts[i].text);

      element->kind = drafts[i].kind;
      element->written = cursor;
      if (drafts[i].add_escape)
        *cursor++ = '\\';
      memcpy (cursor, drafts[i].text, length + 1);
      cursor += length + 1;

      switch (element->kind)
        {
        case JSTP_ELEMENT_LITERAL:
          element->value = element->written + (element->written[0] == '\\' ? 1 : 0);
          element->value_length = strlen (element->value);
          break;

        case JSTP_ELEMENT_CAPTURE:
          element->value = element->written + 1;
          element->value_length = strlen (element->value);
          break;

        case JSTP_ELEMENT_ANY:
        case JSTP_ELEMENT_ELLIPSIS:
        default:
          break;
        }

      if (element->kind != JSTP_ELEMENT_LITERAL && pattern->literal_prefix == n_drafts)
        pattern->literal_prefix = i;

      if (element->kind == JSTP_ELEMENT_ELLIPSIS)
        {
          pattern->segments[pattern->n_segments].start = i + 1;
          pattern->n_segments++;
        }
      else
        {
          segment->length++;
          pattern->min_length++;
        }
    }

  pattern->hash = compute_hash (pattern);

  return pattern;
}

/**
 * jstp_pattern_ref:
 *
 * Patterns never change once made, so references may be shared across threads.
 *
 * Returns: (transfer full): @pattern
 */
JstpPattern *
jstp_pattern_ref (JstpPattern *pattern)
{
  g_return_val_if_fail (pattern != NULL, NULL);

  g_atomic_ref_count_inc (&pattern->ref_count);
  return pattern;
}

void
jstp_pattern_unref (JstpPattern *pattern)
{
  g_return_if_fail (pattern != NULL);

  if (g_atomic_ref_count_dec (&pattern->ref_count))
    {
      g_free (pattern->strings);
      g_free (pattern);
    }
}

const char *
jstp_pattern_get_method (const JstpPattern *pattern)
{
  g_return_val_if_fail (pattern != NULL, NULL);

  return pattern->method;
}

guint
jstp_pattern_get_n_elements (const JstpPattern *pattern)
{
  g_return_val_if_fail (pattern != NULL, 0);

  return pattern->n_elements;
}

const char *
jstp_pattern_get_element (const JstpPattern *pattern,
                          guint              index)
{
  g_return_val_if_fail (pattern != NULL, NULL);
  g_return_val_if_fail (index < pattern->n_elements, NULL);

  return pattern->elements[index].written;
}

JstpPatternElementKind
jstp_pattern_get_element_kind (const JstpPattern *pattern,
                               guint              index)
{
  g_return_val_if_fail (pattern != NULL, JSTP_ELEMENT_LITERAL);
  g_return_val_if_fail (index < pattern->n_elements, JSTP_ELEMENT_LITERAL);

  return pattern->elements[index].kind;
}

const char *
jstp_pattern_get_element_value (const JstpPattern *pattern,
                                guint              index)
{
  g_return_val_if_fail (pattern != NULL, NULL);
  g_return_val_if_fail (index < pattern->n_elements, NULL);

  return pattern->elements[index].value;
}

guint
jstp_pattern_get_literal_prefix_length (const JstpPattern *pattern)
{
  g_return_val_if_fail (pattern != NULL, 0);

  return pattern->literal_prefix;
}

/* Equal patterns match the same dispatches with the same captures, so a
 * needless escape (`\x` for `x`) does not make a RELEASE miss its BIND;
 * capture names count, since callbacks read captures by name. */
gboolean
jstp_pattern_equal (const JstpPattern *a,
                    const JstpPattern *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  if (a == b)
    return TRUE;

  if (a->hash != b->hash ||
      a->n_elements != b->n_elements ||
      strcmp (a->method, b->method) != 0)
    return FALSE;

  for (guint i = 0; i < a->n_elements; i++)
    {
      const Element *x = &a->elements[i];
      const Element *y = &b->elements[i];

      if (x->kind != y->kind)
        return FALSE;
      if (x->value != NULL && strcmp (x->value, y->value) != 0)
        return FALSE;
    }

  return TRUE;
}

guint
jstp_pattern_hash (const JstpPattern *pattern)
{
  g_return_val_if_fail (pattern != NULL, 0);

  return pattern->hash;
}

static inline gboolean
literal_matches (const Element     *element,
                 const JstpElement *value)
{
  /* Numbers compare by their text as written: `"356"` is not `356.0`. */
  if (value->type != JSTP_JSON_STRING && value->type != JSTP_JSON_NUMBER)
    return FALSE;

  return value->length == element->value_length &&
         (value->length == 0 || memcmp (value->text, element->value, value->length) == 0);
}

static inline gboolean
segment_matches_at (const JstpPattern *pattern,
                    const Segment     *segment,
                    const JstpElement *resource,
                    guint              offset,
                    guint64           *n_comparisons)
{
  const Element *elements = &pattern->elements[segment->start];

  for (guint i = 0; i < segment->length; i++)
    {
      if (elements[i].kind != JSTP_ELEMENT_LITERAL)
        continue;

      if (n_comparisons != NULL)
        (*n_comparisons)++;

      if (!literal_matches (&elements[i], &resource[offset + i]))
        return FALSE;
    }

  return TRUE;
}

static inline gboolean
match_internal (const JstpPattern *pattern,
                const char        *method,
                const JstpElement *resource,
                guint              n_resource,
                JstpCaptures      *captures,
                guint64           *n_comparisons)
{
  guint offsets[JSTP_PATTERN_MAX_ELLIPSES + 1];
  const Segment *last;
  guint reserved = 0;
  guint position;

  if (captures != NULL)
    captures->n_captures = 0;

  if (pattern->method[0] != '*' && g_ascii_strcasecmp (pattern->method, method) != 0)
    return FALSE;

  if (n_resource < pattern->min_length)
    return FALSE;

  if (pattern->n_segments == 1 && n_resource != pattern->min_length)
    return FALSE;

  last = &pattern->segments[pattern->n_segments - 1];
  offsets[0] = 0;
  offsets[pattern->n_segments - 1] = n_resource - last->length;

  if (!segment_matches_at (pattern, &pattern->segments[0], resource, 0, n_comparisons))
    return FALSE;

  if (pattern->n_segments > 1 &&
      !segment_matches_at (pattern, last, resource, offsets[pattern->n_segments - 1],
                           n_comparisons))
    return FALSE;

  for (guint i = 1; i + 1 < pattern->n_segments; i++)
    reserved += pattern->segments[i].length;

  position = pattern->segments[0].length;

  for (guint i = 1; i + 1 < pattern->n_segments; i++)
    {
      const Segment *segment = &pattern->segments[i];
      gboolean placed = FALSE;

      reserved -= segment->length;

      /* Leftmost first: the fewest elements for the `...` before it. */
      for (; position + segment->length + reserved <= offsets[pattern->n_segments - 1];
           position++)
        {
          if (segment_matches_at (pattern, segment, resource, position, n_comparisons))
            {
              placed = TRUE;
              break;
            }
        }

      if (!placed)
        return FALSE;

      offsets[i] = position;
      position += segment->length;
    }

  if (captures != NULL)
    {
      for (guint i = 0; i < pattern->n_segments; i++)
        {
          const Segment *segment = &pattern->segments[i];

          for (guint j = 0; j < segment->length; j++)
            {
              const Element *element = &pattern->elements[segment->start + j];

              if (element->kind != JSTP_ELEMENT_CAPTURE)
                continue;

              g_assert (captures->n_captures < JSTP_PATTERN_MAX_CAPTURES);
              captures->items[captures->n_captures].name = element->value;
              captures->items[captures->n_captures].value = resource[offsets[i] + j];
              captures->n_captures++;
            }
        }
    }

  return TRUE;
}

gboolean
jstp_pattern_match (const JstpPattern *pattern,
                    const char        *method,
                    const JstpElement *resource,
                    guint              n_resource,
                    JstpCaptures      *captures)
{
  g_return_val_if_fail (pattern != NULL, FALSE);
  g_return_val_if_fail (method != NULL, FALSE);
  g_return_val_if_fail (resource != NULL || n_resource == 0, FALSE);

  return match_internal (pattern, method, resource, n_resource, captures, NULL);
}

gboolean
jstp_pattern_match_counted (const JstpPattern *pattern,
                            const char        *method,
                            const JstpElement *resource,
                            guint              n_resource,
                            JstpCaptures      *captures,
                            guint64           *n_comparisons)
{
  g_return_val_if_fail (pattern != NULL, FALSE);
  g_return_val_if_fail (method != NULL, FALSE);
  g_return_val_if_fail (resource != NULL || n_resource == 0, FALSE);
  g_return_val_if_fail (n_comparisons != NULL, FALSE);

  return match_internal (pattern, method, resource, n_resource, captures, n_comparisons);
}

const JstpElement *
jstp_captures_lookup (const JstpCaptures *captures,
                      const char         *name)
{
  g_return_val_if_fail (captures != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < captures->n_captures; i++)
    {
      if (strcmp (captures->items[i].name, name) == 0)
        return &captures->items[i].value;
    }

  return NULL;
}
