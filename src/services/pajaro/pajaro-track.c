/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "jstp-json.h"
#include "pajaro-track.h"

G_DEFINE_BOXED_TYPE (PajaroTrack, pajaro_track, pajaro_track_ref, pajaro_track_unref)

/* Letters of any script, digits, combining marks (hashtags in Devanagari
 * or Thai need them) and underscores: what both networks allow in a tag. */
static gboolean
is_tag_char (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_NON_SPACING_MARK:
      return TRUE;
    default:
      return c == '_';
    }
}

char *
pajaro_track_normalize_tag (const char  *text,
                            gsize        length,
                            GError     **error)
{
  g_autofree char *normal = NULL;
  const char *p, *end;

  g_return_val_if_fail (text != NULL || length == 0, NULL);

  if (length > 0 && text[0] == '#')
    {
      text++;
      length--;
    }
  if (length == 0 || length > PAJARO_TRACK_MAX_TAG)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a tag is 1 to %d bytes long", PAJARO_TRACK_MAX_TAG);
      return NULL;
    }
  if (!g_utf8_validate_len (text, length, NULL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "a tag must be UTF-8");
      return NULL;
    }
  for (p = text, end = text + length; p < end; p = g_utf8_next_char (p))
    if (!is_tag_char (g_utf8_get_char (p)))
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "a tag holds only letters, digits and underscores "
                     "(offending character at byte %u)", (guint) (p - text));
        return NULL;
      }

  normal = g_utf8_strdown (text, length);
  /* Lower case can grow a string (İ becomes i̇): check again. */
  if (strlen (normal) > PAJARO_TRACK_MAX_TAG)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a tag is 1 to %d bytes long", PAJARO_TRACK_MAX_TAG);
      return NULL;
    }
  return g_steal_pointer (&normal);
}

static PajaroTrack *
track_new (const char      *tag,
           PajaroTrackKind  kind,
           const char      *keyword)
{
  PajaroTrack *self = g_new0 (PajaroTrack, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->tag = g_strdup (tag);
  self->kind = kind;
  if (keyword)
    {
      g_autofree char *normal = g_utf8_normalize (keyword, -1, G_NORMALIZE_DEFAULT);

      self->keyword = g_strdup (keyword);
      self->folded = g_utf8_casefold (normal, -1);
    }
  return self;
}

PajaroTrack *
pajaro_track_new (const char *tag)
{
  g_return_val_if_fail (tag != NULL, NULL);

  return track_new (tag, PAJARO_TRACK_HASHTAG, NULL);
}

PajaroTrack *
pajaro_track_new_from_body (const char  *tag,
                            JsonNode    *body,
                            GError     **error)
{
  JsonObject *object;
  g_autoptr(GList) members = NULL;
  const char *keyword = NULL;
  gboolean public_timeline = FALSE;

  g_return_val_if_fail (tag != NULL, NULL);

  if (body == NULL || JSON_NODE_HOLDS_NULL (body))
    return pajaro_track_new (tag);
  if (!JSON_NODE_HOLDS_OBJECT (body))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "the body is an object: {}, {\"keyword\": TEXT} or "
                           "{\"timeline\": \"public\"}");
      return NULL;
    }

  object = json_node_get_object (body);
  members = json_object_get_members (object);
  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      JsonNode *value = json_object_get_member (object, name);

      if (g_str_equal (name, "keyword"))
        {
          if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   "\"keyword\" is a string");
              return NULL;
            }
          keyword = json_node_get_string (value);
        }
      else if (g_str_equal (name, "timeline"))
        {
          if (!JSON_NODE_HOLDS_VALUE (value) ||
              json_node_get_value_type (value) != G_TYPE_STRING ||
              !g_str_equal (json_node_get_string (value), "public"))
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   "\"timeline\" can only be \"public\"");
              return NULL;
            }
          public_timeline = TRUE;
        }
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "unknown member \"%s\": the body holds \"keyword\" or \"timeline\"",
                       name);
          return NULL;
        }
    }

  if (keyword && public_timeline)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "give \"keyword\" or \"timeline\", not both");
      return NULL;
    }
  if (public_timeline)
    return track_new (tag, PAJARO_TRACK_PUBLIC, NULL);
  if (keyword)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (keyword));

      if (*stripped == '\0' || strlen (stripped) > PAJARO_TRACK_MAX_KEYWORD ||
          strpbrk (stripped, "\"\\\r\n\t") != NULL)
        {
          /* Quotes and backslashes would change the meaning of a rule. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "a keyword is 1 to %d bytes of text without quotes, backslashes "
                       "or line breaks", PAJARO_TRACK_MAX_KEYWORD);
          return NULL;
        }
      return track_new (tag, PAJARO_TRACK_KEYWORD, stripped);
    }
  return pajaro_track_new (tag);
}

PajaroTrack *
pajaro_track_ref (PajaroTrack *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
pajaro_track_unref (PajaroTrack *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->tag);
  g_free (self->keyword);
  g_free (self->folded);
  g_free (self);
}

gboolean
pajaro_track_equal (const PajaroTrack *a,
                    const PajaroTrack *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return g_str_equal (a->tag, b->tag) && a->kind == b->kind &&
         g_strcmp0 (a->keyword, b->keyword) == 0;
}

const char *
pajaro_track_kind_to_string (PajaroTrackKind kind)
{
  switch (kind)
    {
    case PAJARO_TRACK_HASHTAG: return "hashtag";
    case PAJARO_TRACK_KEYWORD: return "keyword";
    case PAJARO_TRACK_PUBLIC:  return "public";
    default:                   g_assert_not_reached ();
    }
}

static gboolean
is_word_char (const char *p)
{
  gunichar c = g_utf8_get_char (p);

  return g_unichar_isalnum (c) || c == '_';
}

/* The phrase must stand as whole words: "rust" is not in "trust". */
gboolean
pajaro_track_matches_text (const PajaroTrack *self,
                           const char        *text)
{
  g_autofree char *normal = NULL;
  g_autofree char *folded = NULL;
  gsize length;
  const char *p;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->kind == PAJARO_TRACK_PUBLIC)
    return TRUE;
  if (self->kind != PAJARO_TRACK_KEYWORD || text == NULL)
    return FALSE;

  normal = g_utf8_normalize (text, -1, G_NORMALIZE_DEFAULT);
  if (normal == NULL)
    return FALSE;
  folded = g_utf8_casefold (normal, -1);
  length = strlen (self->folded);
  for (p = strstr (folded, self->folded); p; p = strstr (p + 1, self->folded))
    {
      gboolean starts = p == folded || !is_word_char (g_utf8_prev_char (p));
      gboolean ends = p[length] == '\0' || !is_word_char (p + length);

      if (starts && ends)
        return TRUE;
    }
  return FALSE;
}

void
pajaro_track_append_json (const PajaroTrack *self,
                          GString           *out)
{
  g_return_if_fail (self != NULL);

  g_string_append (out, "\"tag\":");
  jstp_json_append_string (out, self->tag, -1);
  g_string_append (out, ",\"kind\":");
  jstp_json_append_string (out, pajaro_track_kind_to_string (self->kind), -1);
  g_string_append (out, ",\"keyword\":");
  if (self->keyword)
    jstp_json_append_string (out, self->keyword, -1);
  else
    g_string_append (out, "null");
}
