/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "jstp-canonical.h"
#include "jstp-error.h"

/* Deeper than any scanner limit the engine uses; a guard for callers that
 * hand in spans scanned with their own limits. */
#define MAX_DEPTH 512

typedef struct {
  char *name;           /* decoded UTF-8 */
  gsize name_length;
  JstpJsonSpan value;
} Member;

/* Walks a UTF-8 string one UTF-16 code unit at a time. */
typedef struct {
  const char *p;
  const char *end;
  gunichar pending;     /* the low surrogate still to come, or 0 */
} Utf16Iter;

static gboolean
utf16_next (Utf16Iter *iter,
            guint     *unit)
{
  gunichar c;

  if (iter->pending)
    {
      *unit = iter->pending;
      iter->pending = 0;
      return TRUE;
    }
  if (iter->p >= iter->end)
    return FALSE;

  c = g_utf8_get_char (iter->p);
  iter->p = g_utf8_next_char (iter->p);
  if (c >= 0x10000)
    {
      c -= 0x10000;
      *unit = 0xd800 + (c >> 10);
      iter->pending = 0xdc00 + (c & 0x3ff);
    }
  else
    *unit = c;
  return TRUE;
}

int
jstp_canonical_compare_keys (const char *a,
                             gsize       a_length,
                             const char *b,
                             gsize       b_length)
{
  Utf16Iter ia = { a, a + a_length, 0 };
  Utf16Iter ib = { b, b + b_length, 0 };

  for (;;)
    {
      guint ua, ub;
      gboolean more_a = utf16_next (&ia, &ua);
      gboolean more_b = utf16_next (&ib, &ub);

      if (!more_a || !more_b)
        return (int) more_a - (int) more_b;
      if (ua != ub)
        return ua < ub ? -1 : 1;
    }
}

static int
compare_members (gconstpointer a,
                 gconstpointer b)
{
  const Member *ma = a;
  const Member *mb = b;

  return jstp_canonical_compare_keys (ma->name, ma->name_length, mb->name, mb->name_length);
}

/* RFC 8785 3.2.2.2: the two-character escapes, \u00xx in lower case for
 * the other controls, everything else (U+007F, U+2028 included) raw. */
static void
append_string (GString    *out,
               const char *utf8,
               gsize       length)
{
  static const char hex[] = "0123456789abcdef";
  const guchar *p = (const guchar *) utf8;
  const guchar *end = p + length;

  g_string_append_c (out, '"');
  while (p < end)
    {
      const guchar *run = p;

      while (p < end && *p >= 0x20 && *p != '"' && *p != '\\')
        p++;
      if (p > run)
        g_string_append_len (out, (const char *) run, p - run);
      if (p == end)
        break;

      switch (*p)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          g_string_append (out, "\\u00");
          g_string_append_c (out, hex[*p >> 4]);
          g_string_append_c (out, hex[*p & 0xf]);
          break;
        }
      p++;
    }
  g_string_append_c (out, '"');
}

static gboolean
append_number (GString      *out,
               const char   *text,
               JstpJsonSpan  span,
               GError      **error)
{
  const char *p = text + span.offset;
  gint64 value;

  for (guint32 i = 0; i < span.length; i++)
    if (p[i] == '.' || p[i] == 'e' || p[i] == 'E')
      {
        g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                     "float-in-signed-content: %.*s is not an integer; "
                     "signed and encrypted content carries integers only",
                     (int) MIN (span.length, 32), p);
        return FALSE;
      }
  if (span.length == 2 && p[0] == '-' && p[1] == '0')
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "float-in-signed-content: -0 has no canonical form");
      return FALSE;
    }
  if (!jstp_json_number_get_int64 (text, span, &value) ||
      value > JSTP_CANONICAL_MAX_INTEGER || value < -JSTP_CANONICAL_MAX_INTEGER)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "integer-out-of-range: %.*s is outside ±(2^53-1)",
                   (int) MIN (span.length, 32), p);
      return FALSE;
    }

  /* The scanner allows no leading zero and no '+': an integer literal is
   * already in its shortest form. */
  g_string_append_len (out, p, span.length);
  return TRUE;
}

static void
member_clear (gpointer data)
{
  g_free (((Member *) data)->name);
}

static gboolean append_value (GString *out, const char *text, JstpJsonSpan span,
                              guint depth, GError **error);

static gboolean
append_object (GString      *out,
               const char   *text,
               JstpJsonSpan  span,
               guint         depth,
               GError      **error)
{
  g_autoptr(GArray) members = g_array_new (FALSE, FALSE, sizeof (Member));
  JstpJsonIter iter;
  JstpJsonSpan name, value;

  g_array_set_clear_func (members, member_clear);
  jstp_json_iter_init (&iter, text, span);
  while (jstp_json_iter_next_member (&iter, &name, &value))
    {
      Member m;

      m.name = jstp_json_string_dup (text, name, &m.name_length);
      m.value = value;
      g_array_append_val (members, m);
    }
  g_array_sort (members, compare_members);

  g_string_append_c (out, '{');
  for (guint i = 0; i < members->len; i++)
    {
      const Member *m = &g_array_index (members, Member, i);

      if (i > 0)
        {
          const Member *prev = &g_array_index (members, Member, i - 1);

          if (prev->name_length == m->name_length &&
              memcmp (prev->name, m->name, m->name_length) == 0)
            {
              g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "duplicate-key: a member name appears twice");
              return FALSE;
            }
          g_string_append_c (out, ',');
        }
      append_string (out, m->name, m->name_length);
      g_string_append_c (out, ':');
      if (!append_value (out, text, m->value, depth + 1, error))
        return FALSE;
    }
  g_string_append_c (out, '}');
  return TRUE;
}

static gboolean
append_value (GString      *out,
              const char   *text,
              JstpJsonSpan  span,
              guint         depth,
              GError      **error)
{
  if (depth > MAX_DEPTH)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "JSON nested too deeply");
      return FALSE;
    }

  switch (span.type)
    {
    case JSTP_JSON_NULL:
      g_string_append (out, "null");
      return TRUE;
    case JSTP_JSON_FALSE:
      g_string_append (out, "false");
      return TRUE;
    case JSTP_JSON_TRUE:
      g_string_append (out, "true");
      return TRUE;
    case JSTP_JSON_NUMBER:
      return append_number (out, text, span, error);
    case JSTP_JSON_STRING:
      {
        gsize length;
        g_autofree char *decoded = jstp_json_string_dup (text, span, &length);

        append_string (out, decoded, length);
        return TRUE;
      }
    case JSTP_JSON_ARRAY:
      {
        JstpJsonIter iter;
        JstpJsonSpan element;
        gboolean first = TRUE;

        g_string_append_c (out, '[');
        jstp_json_iter_init (&iter, text, span);
        while (jstp_json_iter_next (&iter, &element))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            if (!append_value (out, text, element, depth + 1, error))
              return FALSE;
          }
        g_string_append_c (out, ']');
        return TRUE;
      }
    case JSTP_JSON_OBJECT:
      return append_object (out, text, span, depth, error);
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

gboolean
jstp_canonical_append (GString       *out,
                       const char    *text,
                       JstpJsonSpan   span,
                       GError       **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return append_value (out, text, span, 0, error);
}

char *
jstp_canonical_serialize (const char  *json,
                          gssize       length,
                          GError     **error)
{
  JstpJsonSpan root;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GString) out = NULL;

  g_return_val_if_fail (json != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (length < 0)
    length = strlen (json);
  if (!jstp_json_scan (json, length, NULL, &root, NULL, 0, NULL, &local_error))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "invalid JSON: %s",
                   local_error->message);
      return NULL;
    }

  out = g_string_sized_new (length + 1);
  if (!append_value (out, json, root, 0, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}
