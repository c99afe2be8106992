/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "jstp-error.h"
#include "jstp-json.h"
#include "jstp-keyring.h"
#include "jstp-security-private.h"

struct _JstpKeyring
{
  GObject parent_instance;

  char *directory;
  GPtrArray *own;       /* JstpKey, public parts of own key files */
  GPtrArray *peers;     /* JstpKey */
  gboolean loaded;
  guint64 kdf_ops;
  gsize kdf_mem;
};

static void jstp_keyring_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JstpKeyring, jstp_keyring, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      jstp_keyring_list_model_init))

enum {
  PROP_0,
  PROP_DIRECTORY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

char *
jstp_keyring_dup_default_directory (void)
{
  const char *env = g_getenv ("JSTP_KEYS_DIR");

  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "jstp", "keys", NULL);
}

/* ---- GListModel -------------------------------------------------------- */

static GType
jstp_keyring_get_item_type (GListModel *model)
{
  return JSTP_TYPE_KEY;
}

static guint
jstp_keyring_get_n_items (GListModel *model)
{
  JstpKeyring *self = JSTP_KEYRING (model);

  return self->own->len + self->peers->len;
}

static gpointer
jstp_keyring_get_item (GListModel *model,
                       guint       position)
{
  JstpKeyring *self = JSTP_KEYRING (model);

  if (position < self->own->len)
    return g_object_ref (g_ptr_array_index (self->own, position));
  position -= self->own->len;
  if (position < self->peers->len)
    return g_object_ref (g_ptr_array_index (self->peers, position));
  return NULL;
}

static void
jstp_keyring_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = jstp_keyring_get_item_type;
  iface->get_n_items = jstp_keyring_get_n_items;
  iface->get_item = jstp_keyring_get_item;
}

/* ---- the directory ----------------------------------------------------- */

/* Who may write here decides who is trusted: the directory must be ours
 * and closed to others, like ~/.ssh. */
static gboolean
ensure_private_dir (const char  *path,
                    GError     **error)
{
  struct stat st;

  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot create %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  if (g_lstat (path, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, "%s is not a directory", path);
      return FALSE;
    }
  if (st.st_uid != geteuid () || (st.st_mode & 022) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "%s can be changed by other users; refusing to use it as a keyring. "
                   "Run: chmod 700 %s", path, path);
      return FALSE;
    }
  return TRUE;
}

static char *
own_dir (JstpKeyring *self)
{
  return g_build_filename (self->directory, "own", NULL);
}

static char *
peers_dir (JstpKeyring *self)
{
  return g_build_filename (self->directory, "peers", NULL);
}

static char *
peer_path (JstpKeyring *self,
           const char  *key_id)
{
  g_autofree char *base = g_strconcat (key_id, ".json", NULL);

  return g_build_filename (self->directory, "peers", base, NULL);
}

char *
jstp_keyring_dup_key_path (JstpKeyring *self,
                           const char  *key_id)
{
  g_autofree char *base = NULL;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), NULL);
  g_return_val_if_fail (key_id != NULL, NULL);

  base = g_strconcat (key_id, ".key", NULL);
  return g_build_filename (self->directory, "own", base, NULL);
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  JstpKey *ka = *(JstpKey **) a;
  JstpKey *kb = *(JstpKey **) b;
  const char *na = jstp_key_get_name (ka);
  const char *nb = jstp_key_get_name (kb);

  if (na && nb)
    {
      int c = g_utf8_collate (na, nb);

      if (c != 0)
        return c;
    }
  else if (na || nb)
    return na ? -1 : 1;
  return strcmp (jstp_key_get_id (ka), jstp_key_get_id (kb));
}

static JstpKey *
load_peer (const char  *path,
           GError     **error)
{
  g_autofree char *data = NULL;
  g_autofree char *name = NULL;
  g_autofree char *card_text = NULL;
  gsize length;
  JstpJsonSpan root, card, trusted;
  gint64 version;
  JstpKey *key;

  data = _jstp_read_private_file (path, 022, &length, error);
  if (data == NULL)
    return NULL;
  if (!jstp_json_scan (data, length, NULL, &root, NULL, 0, NULL, NULL) ||
      root.type != JSTP_JSON_OBJECT ||
      !_jstp_json_get_int (data, root, "jstp-peer", &version) || version != 1 ||
      (name = _jstp_json_dup_string (data, root, "name")) == NULL ||
      !_jstp_key_name_is_valid (name) ||
      !_jstp_json_find_member (data, root, "trusted", &trusted) ||
      (trusted.type != JSTP_JSON_TRUE && trusted.type != JSTP_JSON_FALSE) ||
      !_jstp_json_find_member (data, root, "card", &card))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH, "%s is not a peer file", path);
      return NULL;
    }
  card_text = g_strndup (data + card.offset, card.length);
  key = jstp_key_new_from_public_json (card_text, error);
  if (key == NULL)
    return NULL;
  jstp_key_set_name (key, name);
  jstp_key_set_trusted (key, trusted.type == JSTP_JSON_TRUE);
  return key;
}

/* Loads every file of @dir ending in @suffix whose name is the key id it
 * holds; anything else is skipped, not fatal. */
static GPtrArray *
load_dir (const char *dir,
          const char *suffix,
          gboolean    own)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *entry;

  if (handle == NULL)
    return keys;
  while ((entry = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JstpKey) key = NULL;
      gsize elen = strlen (entry), slen = strlen (suffix);

      if (elen != JSTP_KEY_ID_LENGTH + slen || !g_str_has_suffix (entry, suffix))
        continue;
      path = g_build_filename (dir, entry, NULL);
      key = own ? jstp_key_load_public (path, &error) : load_peer (path, &error);
      if (key == NULL)
        {
          g_debug ("skipping %s: %s", path, error->message);
          continue;
        }
      if (strncmp (entry, jstp_key_get_id (key), JSTP_KEY_ID_LENGTH) != 0)
        {
          g_debug ("skipping %s: it holds another key", path);
          continue;
        }
      if (own)
        jstp_key_set_trusted (key, TRUE);
      g_ptr_array_add (keys, g_steal_pointer (&key));
    }
  g_ptr_array_sort (keys, compare_keys);
  return keys;
}

gboolean
jstp_keyring_reload (JstpKeyring  *self,
                     GError      **error)
{
  g_autofree char *own = NULL;
  g_autofree char *peers = NULL;
  guint removed;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), FALSE);

  own = own_dir (self);
  peers = peers_dir (self);
  if (!ensure_private_dir (self->directory, error) ||
      !ensure_private_dir (own, error) ||
      !ensure_private_dir (peers, error))
    return FALSE;

  removed = self->own->len + self->peers->len;
  g_ptr_array_unref (self->own);
  g_ptr_array_unref (self->peers);
  self->own = load_dir (own, ".key", TRUE);
  self->peers = load_dir (peers, ".json", FALSE);
  self->loaded = TRUE;
  if (removed > 0 || self->own->len + self->peers->len > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed,
                                self->own->len + self->peers->len);
  return TRUE;
}

static gboolean
ensure_loaded (JstpKeyring  *self,
               GError      **error)
{
  return self->loaded || jstp_keyring_reload (self, error);
}

/* ---- lookups ----------------------------------------------------------- */

/* A key id from an id or a fingerprint typed by a person ("ABCD efgh ...");
 * %NULL when @text is neither. */
static char *
normalize_id (const char *text)
{
  GString *id = g_string_new (NULL);

  for (const char *p = text; *p; p++)
    {
      char c = g_ascii_tolower (*p);

      if (c == ' ')
        continue;
      if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
        {
          g_string_free (id, TRUE);
          return NULL;
        }
      g_string_append_c (id, c);
    }
  if (id->len != JSTP_KEY_ID_LENGTH)
    {
      g_string_free (id, TRUE);
      return NULL;
    }
  return g_string_free (id, FALSE);
}

static JstpKey *
find (JstpKeyring *self,
      const char  *id_or_name,
      gboolean    *is_own)
{
  g_autofree char *id = normalize_id (id_or_name);
  GPtrArray *lists[] = { self->own, self->peers };

  for (guint pass = 0; pass < 2; pass++)
    for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
      for (guint i = 0; i < lists[l]->len; i++)
        {
          JstpKey *key = g_ptr_array_index (lists[l], i);
          gboolean hit = pass == 0 ? (id && g_str_equal (id, jstp_key_get_id (key)))
                                   : g_strcmp0 (id_or_name, jstp_key_get_name (key)) == 0;

          if (hit)
            {
              if (is_own)
                *is_own = l == 0;
              return key;
            }
        }
  return NULL;
}

static JstpKey *
find_or_fail (JstpKeyring  *self,
              const char   *id_or_name,
              gboolean     *is_own,
              GError      **error)
{
  JstpKey *key;

  if (!ensure_loaded (self, error))
    return NULL;
  key = find (self, id_or_name, is_own);
  if (key == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "no key named or identified “%s” in %s", id_or_name, self->directory);
  return key;
}

JstpKey *
jstp_keyring_lookup (JstpKeyring *self,
                     const char  *id_or_name)
{
  g_return_val_if_fail (JSTP_IS_KEYRING (self), NULL);
  g_return_val_if_fail (id_or_name != NULL, NULL);

  if (!ensure_loaded (self, NULL))
    return NULL;
  return find (self, id_or_name, NULL);
}

gboolean
jstp_keyring_is_trusted (JstpKeyring *self,
                         const char  *key_id)
{
  JstpKey *key;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), FALSE);
  g_return_val_if_fail (key_id != NULL, FALSE);

  if (!ensure_loaded (self, NULL))
    return FALSE;
  key = find (self, key_id, NULL);
  /* By id only: a peer that named itself like a trusted key is not it. */
  return key && g_str_equal (jstp_key_get_id (key), key_id) && jstp_key_get_trusted (key);
}

GStrv
jstp_keyring_dup_trusted_ids (JstpKeyring *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (JSTP_IS_KEYRING (self), NULL);

  if (ensure_loaded (self, NULL))
    {
      for (guint i = 0; i < self->own->len; i++)
        g_strv_builder_add (builder, jstp_key_get_id (g_ptr_array_index (self->own, i)));
      for (guint i = 0; i < self->peers->len; i++)
        if (jstp_key_get_trusted (g_ptr_array_index (self->peers, i)))
          g_strv_builder_add (builder, jstp_key_get_id (g_ptr_array_index (self->peers, i)));
    }
  return g_strv_builder_end (builder);
}

/* ---- changes ----------------------------------------------------------- */

static gboolean
check_new_name (JstpKeyring  *self,
                const char   *name,
                GError      **error)
{
  if (name == NULL)
    return TRUE;
  if (!_jstp_key_name_is_valid (name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” cannot name a key: use 1 to 64 characters, no control "
                   "characters or slashes, not starting with '-'", name);
      return FALSE;
    }
  {
    g_autofree char *as_id = normalize_id (name);

    if (as_id != NULL)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "“%s” reads as a key id and cannot name a key", name);
        return FALSE;
      }
  }
  if (find (self, name, NULL) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "a key named “%s” exists already",
                   name);
      return FALSE;
    }
  return TRUE;
}

gboolean
jstp_keyring_add_own (JstpKeyring  *self,
                      JstpKey      *key,
                      const char   *passphrase,
                      GError      **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), FALSE);
  g_return_val_if_fail (JSTP_IS_KEY (key), FALSE);
  g_return_val_if_fail (jstp_key_has_secret (key), FALSE);
  g_return_val_if_fail (passphrase != NULL, FALSE);

  if (!ensure_loaded (self, error))
    return FALSE;
  if (find (self, jstp_key_get_id (key), NULL) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "key %s is in the keyring already",
                   jstp_key_get_id (key));
      return FALSE;
    }
  if (!check_new_name (self, jstp_key_get_name (key), error))
    return FALSE;

  path = jstp_keyring_dup_key_path (self, jstp_key_get_id (key));
  if (!jstp_key_save_with_limits (key, path, passphrase, self->kdf_ops, self->kdf_mem, error))
    return FALSE;
  return jstp_keyring_reload (self, error);
}

JstpKey *
jstp_keyring_generate (JstpKeyring  *self,
                       const char   *name,
                       const char   *passphrase,
                       GError      **error)
{
  g_autoptr(JstpKey) key = NULL;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);

  if (!ensure_loaded (self, error) || !check_new_name (self, name, error))
    return NULL;
  key = jstp_key_generate ();
  jstp_key_set_name (key, name);
  if (!jstp_keyring_add_own (self, key, passphrase, error))
    return NULL;
  return g_steal_pointer (&key);
}

JstpKey *
jstp_keyring_unlock (JstpKeyring  *self,
                     const char   *id_or_name,
                     const char   *passphrase,
                     GError      **error)
{
  gboolean is_own = FALSE;
  JstpKey *key;
  g_autofree char *path = NULL;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), NULL);
  g_return_val_if_fail (id_or_name != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);

  key = find_or_fail (self, id_or_name, &is_own, error);
  if (key == NULL)
    return NULL;
  if (!is_own)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "“%s” is a peer's key: only its owner holds the secret part", id_or_name);
      return NULL;
    }
  path = jstp_keyring_dup_key_path (self, jstp_key_get_id (key));
  return jstp_key_load (path, passphrase, error);
}

static gboolean
write_peer (JstpKeyring  *self,
            JstpKey      *key,
            const char   *name,
            gboolean      trusted,
            GError      **error)
{
  g_autofree char *card = jstp_key_to_public_json (key);
  g_autofree char *path = peer_path (self, jstp_key_get_id (key));
  g_autoptr(GString) text = g_string_new ("{\"jstp-peer\":1,\"name\":");

  jstp_json_append_string (text, name, -1);
  g_string_append_printf (text, ",\"trusted\":%s,\"card\":%s}\n", trusted ? "true" : "false",
                          card);
  return g_file_set_contents_full (path, text->str, text->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
}

JstpKey *
jstp_keyring_import (JstpKeyring  *self,
                     const char   *name,
                     const char   *card_json,
                     GError      **error)
{
  g_autoptr(JstpKey) key = NULL;
  JstpKey *existing;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (card_json != NULL, NULL);

  if (!ensure_loaded (self, error) || !check_new_name (self, name, error))
    return NULL;
  key = jstp_key_new_from_public_json (card_json, error);
  if (key == NULL)
    return NULL;
  existing = find (self, jstp_key_get_id (key), NULL);
  if (existing)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "key %s is in the keyring already%s%s",
                   jstp_key_get_id (key), jstp_key_get_name (existing) ? " as " : "",
                   jstp_key_get_name (existing) ? jstp_key_get_name (existing) : "");
      return NULL;
    }
  if (!write_peer (self, key, name, FALSE, error) || !jstp_keyring_reload (self, error))
    return NULL;
  return find (self, jstp_key_get_id (key), NULL);
}

gboolean
jstp_keyring_set_trusted (JstpKeyring  *self,
                          const char   *id_or_name,
                          gboolean      trusted,
                          GError      **error)
{
  gboolean is_own = FALSE;
  JstpKey *key;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), FALSE);
  g_return_val_if_fail (id_or_name != NULL, FALSE);

  key = find_or_fail (self, id_or_name, &is_own, error);
  if (key == NULL)
    return FALSE;
  if (is_own)
    {
      if (trusted)
        return TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is one of your own keys: remove it instead of untrusting it",
                   id_or_name);
      return FALSE;
    }
  if (!write_peer (self, key, jstp_key_get_name (key), trusted, error))
    return FALSE;
  jstp_key_set_trusted (key, trusted);
  return TRUE;
}

gboolean
jstp_keyring_remove (JstpKeyring  *self,
                     const char   *id_or_name,
                     GError      **error)
{
  gboolean is_own = FALSE;
  JstpKey *key;
  g_autofree char *path = NULL;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), FALSE);
  g_return_val_if_fail (id_or_name != NULL, FALSE);

  key = find_or_fail (self, id_or_name, &is_own, error);
  if (key == NULL)
    return FALSE;
  path = is_own ? jstp_keyring_dup_key_path (self, jstp_key_get_id (key))
                : peer_path (self, jstp_key_get_id (key));
  if (g_unlink (path) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot remove %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  return jstp_keyring_reload (self, error);
}

char *
jstp_keyring_export (JstpKeyring  *self,
                     const char   *id_or_name,
                     GError      **error)
{
  JstpKey *key;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), NULL);
  g_return_val_if_fail (id_or_name != NULL, NULL);

  key = find_or_fail (self, id_or_name, NULL, error);
  return key ? jstp_key_to_public_json (key) : NULL;
}

/* ---- GObject ----------------------------------------------------------- */

static void
jstp_keyring_finalize (GObject *object)
{
  JstpKeyring *self = JSTP_KEYRING (object);

  g_ptr_array_unref (self->own);
  g_ptr_array_unref (self->peers);
  g_free (self->directory);

  G_OBJECT_CLASS (jstp_keyring_parent_class)->finalize (object);
}

static void
jstp_keyring_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  JstpKeyring *self = JSTP_KEYRING (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_value_set_string (value, self->directory);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_keyring_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  JstpKeyring *self = JSTP_KEYRING (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_free (self->directory);
      self->directory = g_value_get_string (value)
                        ? g_value_dup_string (value)
                        : jstp_keyring_dup_default_directory ();
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_keyring_class_init (JstpKeyringClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = jstp_keyring_finalize;
  object_class->get_property = jstp_keyring_get_property;
  object_class->set_property = jstp_keyring_set_property;

  properties[PROP_DIRECTORY] =
    g_param_spec_string ("directory", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jstp_keyring_init (JstpKeyring *self)
{
  self->own = g_ptr_array_new_with_free_func (g_object_unref);
  self->peers = g_ptr_array_new_with_free_func (g_object_unref);
  self->kdf_ops = crypto_pwhash_OPSLIMIT_MODERATE;
  self->kdf_mem = crypto_pwhash_MEMLIMIT_MODERATE;
}

JstpKeyring *
jstp_keyring_new (const char *directory)
{
  return g_object_new (JSTP_TYPE_KEYRING, "directory", directory, NULL);
}

const char *
jstp_keyring_get_directory (JstpKeyring *self)
{
  g_return_val_if_fail (JSTP_IS_KEYRING (self), NULL);
  return self->directory;
}

void
jstp_keyring_set_kdf_limits (JstpKeyring *self,
                             guint64      opslimit,
                             gsize        memlimit)
{
  g_return_if_fail (JSTP_IS_KEYRING (self));
  g_return_if_fail (opslimit >= crypto_pwhash_OPSLIMIT_MIN && opslimit <= JSTP_KEY_KDF_MAX_OPS);
  g_return_if_fail (memlimit >= crypto_pwhash_MEMLIMIT_MIN && memlimit <= JSTP_KEY_KDF_MAX_MEM);

  self->kdf_ops = opslimit;
  self->kdf_mem = memlimit;
}

gboolean
jstp_keyring_is_own (JstpKeyring *self,
                     const char  *key_id)
{
  gboolean is_own = FALSE;
  JstpKey *key;

  g_return_val_if_fail (JSTP_IS_KEYRING (self), FALSE);
  g_return_val_if_fail (key_id != NULL, FALSE);

  if (!ensure_loaded (self, NULL))
    return FALSE;
  key = find (self, key_id, &is_own);
  return key && is_own;
}
