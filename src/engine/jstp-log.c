/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jstp-log.h"

#define ALWAYS_WRITTEN (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)

/* Logging may come from any thread: the table is behind a lock. */
static GMutex levels_lock;
static GHashTable *levels;          /* lower-case name -> GLogLevelFlags */
static GLogLevelFlags default_level; /* "all"; 0 when unset */

static const struct {
  const char *name;
  GLogLevelFlags level;
} level_names[] = {
  { "error", G_LOG_LEVEL_ERROR },
  { "critical", G_LOG_LEVEL_CRITICAL },
  { "warning", G_LOG_LEVEL_WARNING },
  { "message", G_LOG_LEVEL_MESSAGE },
  { "info", G_LOG_LEVEL_INFO },
  { "debug", G_LOG_LEVEL_DEBUG },
};

/* The level set for a GLib domain, or 0. Called with the lock held. */
static GLogLevelFlags
lookup_locked (const char *domain,
               gssize      length)
{
  char lower[128];
  gsize n;
  gpointer found;

  if (domain == NULL)
    return default_level;
  n = length < 0 ? strlen (domain) : (gsize) length;
  if (levels == NULL || n >= sizeof lower)
    return default_level;
  for (gsize i = 0; i < n; i++)
    lower[i] = g_ascii_tolower (domain[i]);
  lower[n] = '\0';

  if ((found = g_hash_table_lookup (levels, lower)))
    return GPOINTER_TO_UINT (found);
  if (g_str_equal (lower, "jstp") && (found = g_hash_table_lookup (levels, "engine")))
    return GPOINTER_TO_UINT (found);
  if (g_str_has_prefix (lower, "jstp-") &&
      (found = g_hash_table_lookup (levels, lower + strlen ("jstp-"))))
    return GPOINTER_TO_UINT (found);
  return default_level;
}

static GLogLevelFlags
lookup (const char *domain,
        gssize      length)
{
  GLogLevelFlags level;

  g_mutex_lock (&levels_lock);
  level = lookup_locked (domain, length);
  g_mutex_unlock (&levels_lock);
  return level;
}

/* Lower bits are more severe: a message is written when its level is at
 * least as severe as the threshold. */
static gboolean
passes (GLogLevelFlags level,
        GLogLevelFlags threshold)
{
  level &= G_LOG_LEVEL_MASK;
  return (level & ALWAYS_WRITTEN) != 0 || level <= threshold;
}

static GLogWriterOutput
jstp_log_writer (GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  GLogLevelFlags threshold = 0;
  gboolean found = FALSE;

  for (gsize i = 0; i < n_fields && !found; i++)
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      {
        threshold = lookup (fields[i].value, fields[i].length);
        found = TRUE;
      }
  if (!found)
    threshold = lookup (NULL, 0);

  if (threshold == 0)
    return g_log_writer_default (level, fields, n_fields, user_data);
  if (!passes (level, threshold))
    return G_LOG_WRITER_HANDLED;
  /* Past GLib's default writer, which would drop debug messages of
   * domains missing from G_MESSAGES_DEBUG. */
  if (g_log_writer_is_journald (fileno (stderr)) &&
      g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_standard_streams (level, fields, n_fields, user_data);
}

gboolean
jstp_log_init (void)
{
  static gsize initialised = 0;
  g_autoptr(GError) error = NULL;
  const char *env;

  if (!g_once_init_enter (&initialised))
    return TRUE;
  g_log_set_writer_func (jstp_log_writer, NULL, NULL);
  g_once_init_leave (&initialised, 1);

  env = g_getenv ("JSTP_DEBUG");
  if (env && *env && !jstp_log_parse_levels (env, &error))
    {
      g_warning ("JSTP_DEBUG ignored: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_level (const char     *text,
             GLogLevelFlags *level)
{
  for (guint i = 0; i < G_N_ELEMENTS (level_names); i++)
    if (g_ascii_strcasecmp (text, level_names[i].name) == 0)
      {
        *level = level_names[i].level;
        return TRUE;
      }
  return FALSE;
}

gboolean
jstp_log_parse_levels (const char  *spec,
                       GError     **error)
{
  g_auto(GStrv) entries = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (GLogLevelFlags));

  g_return_val_if_fail (spec != NULL, FALSE);

  /* Checked whole first, so that a bad entry changes nothing. */
  entries = g_strsplit_set (spec, ", ", -1);
  for (guint i = 0; entries[i]; i++)
    {
      char *equal = strchr (entries[i], '=');
      GLogLevelFlags level = G_LOG_LEVEL_DEBUG;

      if (*entries[i] == '\0')
        continue;
      if (equal)
        {
          *equal = '\0';
          if (!parse_level (equal + 1, &level))
            {
              g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "unknown log level “%s” (error, critical, warning, message, info, "
                           "debug)", equal + 1);
              return FALSE;
            }
        }
      if (*entries[i] == '\0')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "a log level needs a domain: write DOMAIN=LEVEL");
          return FALSE;
        }
      g_ptr_array_add (names, g_strdup (entries[i]));
      g_array_append_val (values, level);
    }

  for (guint i = 0; i < names->len; i++)
    jstp_log_set_level (g_ptr_array_index (names, i), g_array_index (values, GLogLevelFlags, i));
  return TRUE;
}

void
jstp_log_set_level (const char     *name,
                    GLogLevelFlags  level)
{
  g_return_if_fail (name != NULL);

  level &= G_LOG_LEVEL_MASK;
  g_mutex_lock (&levels_lock);
  if (g_str_equal (name, "all") || g_str_equal (name, "*"))
    default_level = level;
  else
    {
      if (levels == NULL)
        levels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      if (level == 0)
        g_hash_table_remove (levels, name);
      else
        g_hash_table_insert (levels, g_ascii_strdown (name, -1), GUINT_TO_POINTER (level));
    }
  g_mutex_unlock (&levels_lock);
}

gboolean
jstp_log_is_enabled (const char     *domain,
                     GLogLevelFlags  level)
{
  GLogLevelFlags threshold = lookup (domain, -1);

  if (threshold == 0)
    return !g_log_writer_default_would_drop (level, domain);
  return passes (level, threshold);
}

static const char *
priority_of (GLogLevelFlags level)
{
  /* syslog(3) priorities, as GLib's own structured messages carry them. */
  if (level & G_LOG_LEVEL_ERROR)
    return "3";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "4";
  if (level & G_LOG_LEVEL_WARNING)
    return "4";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "5";
  if (level & G_LOG_LEVEL_INFO)
    return "6";
  return "7";
}

void
jstp_log_fields (const char      *domain,
                 GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 const char      *format,
                 ...)
{
  g_autofree char *message = NULL;
  g_autofree GLogField *all = NULL;
  va_list args;

  g_return_if_fail (domain != NULL);
  g_return_if_fail (format != NULL);
  g_return_if_fail (fields != NULL || n_fields == 0);

  if (!jstp_log_is_enabled (domain, level))
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  all = g_new (GLogField, n_fields + 3);
  all[0] = (GLogField) { "MESSAGE", message, -1 };
  all[1] = (GLogField) { "PRIORITY", priority_of (level), -1 };
  all[2] = (GLogField) { "GLIB_DOMAIN", domain, -1 };
  if (n_fields > 0)
    memcpy (all + 3, fields, n_fields * sizeof (GLogField));
  g_log_structured_array (level, all, n_fields + 3);
}
