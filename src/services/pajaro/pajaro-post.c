/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "jstp-json.h"
#include "pajaro-post.h"

G_DEFINE_BOXED_TYPE (PajaroPost, pajaro_post, pajaro_post_ref, pajaro_post_unref)

static void
media_free (gpointer data)
{
  PajaroMedia *media = data;

  g_free (media->type);
  g_free (media->url);
  g_free (media->preview_url);
  g_free (media);
}

PajaroPost *
pajaro_post_new (const char *source,
                 const char *id)
{
  PajaroPost *self;

  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);

  self = g_new0 (PajaroPost, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->source = g_strdup (source);
  self->id = g_strdup (id);
  self->text = g_strdup ("");
  self->links = g_ptr_array_new_with_free_func (g_free);
  self->media = g_ptr_array_new_with_free_func (media_free);
  self->tags = g_ptr_array_new_with_free_func (g_free);
  return self;
}

PajaroPost *
pajaro_post_ref (PajaroPost *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
pajaro_post_unref (PajaroPost *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->source);
  g_free (self->id);
  g_free (self->url);
  g_free (self->author_id);
  g_free (self->author_username);
  g_free (self->author_name);
  g_free (self->author_url);
  g_free (self->text);
  g_free (self->created_at);
  g_ptr_array_unref (self->links);
  g_ptr_array_unref (self->media);
  g_ptr_array_unref (self->tags);
  g_free (self);
}

gboolean
pajaro_post_set_created_at (PajaroPost *self,
                            const char *iso8601)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) time = NULL;
  g_autoptr(GDateTime) in_utc = NULL;
  g_autofree char *seconds = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  g_clear_pointer (&self->created_at, g_free);
  if (iso8601 == NULL)
    return FALSE;
  /* Times without a zone are taken as UTC, as both networks mean them. */
  time = g_date_time_new_from_iso8601 (iso8601, utc);
  if (time == NULL)
    return FALSE;
  in_utc = g_date_time_to_utc (time);
  seconds = g_date_time_format (in_utc, "%Y-%m-%dT%H:%M:%S");
  if (seconds == NULL)
    return FALSE;
  self->created_at = g_strdup_printf ("%s.%03dZ", seconds,
                                      g_date_time_get_microsecond (in_utc) / 1000);
  return TRUE;
}

static gboolean
contains (GPtrArray  *array,
          const char *text)
{
  for (guint i = 0; i < array->len; i++)
    if (g_str_equal (g_ptr_array_index (array, i), text))
      return TRUE;
  return FALSE;
}

void
pajaro_post_add_link (PajaroPost *self,
                      const char *url)
{
  g_return_if_fail (self != NULL);

  if (url && *url && !contains (self->links, url))
    g_ptr_array_add (self->links, g_strdup (url));
}

void
pajaro_post_add_media (PajaroPost *self,
                       const char *type,
                       const char *url,
                       const char *preview_url)
{
  PajaroMedia *media;

  g_return_if_fail (self != NULL);

  if ((url == NULL || *url == '\0') && (preview_url == NULL || *preview_url == '\0'))
    return;
  for (guint i = 0; i < self->media->len; i++)
    {
      PajaroMedia *other = g_ptr_array_index (self->media, i);

      if (g_strcmp0 (other->url, url) == 0 && g_strcmp0 (other->preview_url, preview_url) == 0)
        return;
    }
  media = g_new0 (PajaroMedia, 1);
  media->type = g_strdup (type && *type ? type : "unknown");
  media->url = url && *url ? g_strdup (url) : NULL;
  media->preview_url = preview_url && *preview_url ? g_strdup (preview_url) : NULL;
  g_ptr_array_add (self->media, media);
}

void
pajaro_post_add_tag (PajaroPost *self,
                     const char *tag)
{
  g_return_if_fail (self != NULL);

  if (tag && *tag && !contains (self->tags, tag))
    g_ptr_array_add (self->tags, g_strdup (tag));
}

gboolean
pajaro_post_has_tag (PajaroPost *self,
                     const char *tag)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return tag && contains (self->tags, tag);
}

static void
append_nullable (GString    *out,
                 const char *text)
{
  if (text)
    jstp_json_append_string (out, text, -1);
  else
    g_string_append (out, "null");
}

char *
pajaro_post_to_json (PajaroPost *self,
                     const char *tag)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (tag != NULL, NULL);

  out = g_string_sized_new (256 + strlen (self->text));
  g_string_append (out, "{\"id\":");
  jstp_json_append_string (out, self->id, -1);
  g_string_append (out, ",\"author\":{\"id\":");
  append_nullable (out, self->author_id);
  g_string_append (out, ",\"username\":");
  append_nullable (out, self->author_username);
  g_string_append (out, ",\"name\":");
  append_nullable (out, self->author_name);
  g_string_append (out, ",\"url\":");
  append_nullable (out, self->author_url);
  g_string_append (out, "},\"text\":");
  jstp_json_append_string (out, self->text, -1);
  g_string_append (out, ",\"created_at\":");
  append_nullable (out, self->created_at);

  g_string_append (out, ",\"links\":[");
  for (guint i = 0; i < self->links->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      jstp_json_append_string (out, g_ptr_array_index (self->links, i), -1);
    }
  g_string_append (out, "],\"media\":[");
  for (guint i = 0; i < self->media->len; i++)
    {
      PajaroMedia *media = g_ptr_array_index (self->media, i);

      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, "{\"type\":");
      jstp_json_append_string (out, media->type, -1);
      g_string_append (out, ",\"url\":");
      append_nullable (out, media->url);
      g_string_append (out, ",\"preview_url\":");
      append_nullable (out, media->preview_url);
      g_string_append_c (out, '}');
    }
  g_string_append (out, "],\"source\":");
  jstp_json_append_string (out, self->source, -1);
  g_string_append (out, ",\"tag\":");
  jstp_json_append_string (out, tag, -1);
  g_string_append (out, ",\"url\":");
  append_nullable (out, self->url);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}
