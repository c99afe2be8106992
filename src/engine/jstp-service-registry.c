/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jstp-presence-service.h"
#include "jstp-pubsub-service.h"
#include "jstp-rpc-service.h"
#include "jstp-service-registry.h"

typedef struct {
  GType type;
  char *summary;
} Entry;

G_LOCK_DEFINE_STATIC (registry);
static GHashTable *registry;    /* name -> Entry */

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->summary);
  g_free (entry);
}

static void
register_locked (const char *name,
                 GType       type,
                 const char *summary)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->type = type;
  entry->summary = g_strdup (summary);
  g_hash_table_insert (registry, g_strdup (name), entry);
}

/* The built-ins, the first time anyone asks. Called with the lock held. */
static void
ensure_locked (void)
{
  if (registry)
    return;
  registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  register_locked ("rpc", JSTP_TYPE_RPC_SERVICE,
                   "add, divide, echo, wait, fail: the handler style, to try clients on");
  register_locked ("pubsub", JSTP_TYPE_PUBSUB_SERVICE,
                   "named channels: POST to publish, BIND to follow, GET the last messages");
  register_locked ("presence", JSTP_TYPE_PRESENCE_SERVICE,
                   "who is in a channel, with join and leave events");
}

void
jstp_service_registry_register (const char *name,
                                GType       type,
                                const char *summary)
{
  g_return_if_fail (name != NULL && *name != '\0' && strchr (name, ':') == NULL);
  g_return_if_fail (g_type_is_a (type, JSTP_TYPE_SERVICE));

  G_LOCK (registry);
  ensure_locked ();
  register_locked (name, type, summary);
  G_UNLOCK (registry);
}

static int
compare_names (const void *a,
               const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

GStrv
jstp_service_registry_list (void)
{
  g_autofree gpointer *keys = NULL;
  GStrv names;
  guint n;

  G_LOCK (registry);
  ensure_locked ();
  keys = g_hash_table_get_keys_as_array (registry, &n);
  names = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    names[i] = g_strdup (keys[i]);
  G_UNLOCK (registry);

  qsort (names, n, sizeof (char *), compare_names);
  return names;
}

const char *
jstp_service_registry_get_summary (const char *name)
{
  Entry *entry;

  g_return_val_if_fail (name != NULL, NULL);

  G_LOCK (registry);
  ensure_locked ();
  entry = g_hash_table_lookup (registry, name);
  G_UNLOCK (registry);
  /* Entries are never freed while the process runs, unless replaced. */
  return entry ? entry->summary : NULL;
}

/* A property value from its text, for the types services use. */
static gboolean
value_from_text (GParamSpec  *pspec,
                 const char  *text,
                 GValue      *value,
                 GError     **error)
{
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);
  gboolean ok = TRUE;

  g_value_init (value, type);
  if (type == G_TYPE_STRING)
    g_value_set_string (value, text);
  else if (type == G_TYPE_STRV)
    {
      g_auto(GStrv) parts = g_strsplit (text, "/", -1);

      g_value_set_boxed (value, parts);
    }
  else if (type == G_TYPE_BOOLEAN)
    {
      if (g_ascii_strcasecmp (text, "true") == 0 || g_str_equal (text, "1") ||
          g_ascii_strcasecmp (text, "yes") == 0)
        g_value_set_boolean (value, TRUE);
      else if (g_ascii_strcasecmp (text, "false") == 0 || g_str_equal (text, "0") ||
               g_ascii_strcasecmp (text, "no") == 0)
        g_value_set_boolean (value, FALSE);
      else
        ok = FALSE;
    }
  else if (type == G_TYPE_INT || type == G_TYPE_INT64 || type == G_TYPE_LONG)
    {
      gint64 number;

      ok = g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &number, NULL);
      if (ok && type == G_TYPE_INT)
        {
          ok = number >= G_MININT && number <= G_MAXINT;
          g_value_set_int (value, ok ? (int) number : 0);
        }
      else if (ok && type == G_TYPE_LONG)
        {
          ok = number >= G_MINLONG && number <= G_MAXLONG;
          g_value_set_long (value, ok ? (long) number : 0);
        }
      else if (ok)
        g_value_set_int64 (value, number);
    }
  else if (type == G_TYPE_UINT || type == G_TYPE_UINT64 || type == G_TYPE_ULONG)
    {
      guint64 number;

      ok = g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &number, NULL);
      if (ok && type == G_TYPE_UINT)
        {
          ok = number <= G_MAXUINT;
          g_value_set_uint (value, ok ? (guint) number : 0);
        }
      else if (ok && type == G_TYPE_ULONG)
        {
          ok = number <= G_MAXULONG;
          g_value_set_ulong (value, ok ? (gulong) number : 0);
        }
      else if (ok)
        g_value_set_uint64 (value, number);
    }
  else if (type == G_TYPE_DOUBLE)
    {
      char *end = NULL;
      double number = g_ascii_strtod (text, &end);

      ok = *text != '\0' && end && *end == '\0';
      if (ok)
        g_value_set_double (value, number);
    }
  else if (G_TYPE_IS_ENUM (type))
    {
      g_autoptr(GTypeClass) klass = g_type_class_ref (type);
      GEnumValue *found = g_enum_get_value_by_nick (G_ENUM_CLASS (klass), text);

      ok = found != NULL;
      if (ok)
        g_value_set_enum (value, found->value);
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s cannot be set from text", pspec->name);
      return FALSE;
    }

  /* g_param_value_validate() returns TRUE when it had to change the value. */
  if (!ok || g_param_value_validate (pspec, value))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a valid %s", text, pspec->name);
      return FALSE;
    }
  return TRUE;
}

JstpService *
jstp_service_new_by_name (const char  *spec,
                          GError     **error)
{
  g_autofree char *name = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) values = g_array_new (FALSE, TRUE, sizeof (GValue));
  g_autoptr(GTypeClass) klass = NULL;
  const char *colon;
  Entry *entry;
  GType type;

  g_return_val_if_fail (spec != NULL, NULL);

  g_array_set_clear_func (values, (GDestroyNotify) g_value_unset);
  colon = strchr (spec, ':');
  name = colon ? g_strndup (spec, colon - spec) : g_strdup (spec);

  G_LOCK (registry);
  ensure_locked ();
  entry = g_hash_table_lookup (registry, name);
  type = entry ? entry->type : G_TYPE_INVALID;
  G_UNLOCK (registry);

  if (type == G_TYPE_INVALID)
    {
      g_auto(GStrv) known = jstp_service_registry_list ();
      g_autofree char *list = g_strjoinv (", ", known);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "unknown service “%s” (known: %s)", name, list);
      return NULL;
    }

  klass = g_type_class_ref (type);
  g_ptr_array_add (names, g_strdup ("name"));
  g_array_set_size (values, 1);
  g_value_init (&g_array_index (values, GValue, 0), G_TYPE_STRING);
  g_value_set_string (&g_array_index (values, GValue, 0), name);

  if (colon && colon[1] != '\0')
    {
      g_auto(GStrv) settings = g_strsplit (colon + 1, ",", -1);

      for (guint i = 0; settings[i]; i++)
        {
          char *equal = strchr (settings[i], '=');
          GParamSpec *pspec;
          GValue value = G_VALUE_INIT;

          if (equal == NULL || equal == settings[i])
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "%s: write KEY=VALUE, not “%s”", name, settings[i]);
              return NULL;
            }
          *equal = '\0';
          pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), settings[i]);
          if (pspec == NULL || !(pspec->flags & G_PARAM_WRITABLE) ||
              g_str_equal (pspec->name, "name"))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "the %s service has no setting “%s”", name, settings[i]);
              return NULL;
            }
          if (!value_from_text (pspec, equal + 1, &value, error))
            {
              g_value_unset (&value);
              g_prefix_error (error, "%s: ", name);
              return NULL;
            }
          g_ptr_array_add (names, g_strdup (pspec->name));
          g_array_append_val (values, value);
        }
    }

  return JSTP_SERVICE (g_object_new_with_properties (type, names->len,
                                                     (const char **) names->pdata,
                                                     (const GValue *) values->data));
}
