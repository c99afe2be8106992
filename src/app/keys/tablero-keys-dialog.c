/* tablero-keys-dialog.c: the key manager
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tablero-keys-dialog.h"

struct _TableroKeysDialog
{
  AdwPreferencesWindow parent_instance;

  JstpKeyring *keyring;
  gulong       items_changed_id;
  GHashTable  *fingerprints;   /* key id -> fingerprint shown */
  guint        n_rows;

  /* Template */
  GtkListBox  *own_list;
  GtkListBox  *peer_list;
};

G_DEFINE_FINAL_TYPE (TableroKeysDialog, tablero_keys_dialog, ADW_TYPE_PREFERENCES_WINDOW)

JstpKeyring *
tablero_keys_dialog_get_keyring (void)
{
  static JstpKeyring *keyring;

  if (keyring == NULL)
    {
      g_autoptr (GError) error = NULL;

      keyring = jstp_keyring_new (NULL);
      if (!jstp_keyring_reload (keyring, &error))
        g_warning ("Could not read the keyring %s: %s",
                   jstp_keyring_get_directory (keyring), error->message);
    }
  return keyring;
}

static void
toast (TableroKeysDialog *self,
       const char        *text)
{
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (text));
}

static void
show_error (TableroKeysDialog *self,
            const char        *heading,
            const GError      *error)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, error->message);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- rows ---------------------------------------------------------------- */

static void
on_copy_clicked (GtkButton         *button,
                 TableroKeysDialog *self)
{
  const char *key_id = g_object_get_data (G_OBJECT (button), "key-id");
  g_autoptr (GError) error = NULL;
  g_autofree char *card = jstp_keyring_export (self->keyring, key_id, &error);

  if (card == NULL)
    {
      show_error (self, _("Could Not Export the Key"), error);
      return;
    }
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), card);
  toast (self, _("Public key copied to the clipboard"));
}

static void
on_remove_response (AdwMessageDialog  *dialog,
                    const char        *response,
                    TableroKeysDialog *self)
{
  const char *key_id = g_object_get_data (G_OBJECT (dialog), "key-id");
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (response, "remove") != 0)
    return;
  if (!jstp_keyring_remove (self->keyring, key_id, &error))
    show_error (self, _("Could Not Remove the Key"), error);
}

static void
on_remove_clicked (GtkButton         *button,
                   TableroKeysDialog *self)
{
  const char *key_id = g_object_get_data (G_OBJECT (button), "key-id");
  JstpKey *key = jstp_keyring_lookup (self->keyring, key_id);
  gboolean own = jstp_keyring_is_own (self->keyring, key_id);
  GtkWidget *dialog;

  if (key == NULL)
    return;
  dialog = adw_message_dialog_new (GTK_WINDOW (self),
                                   own ? _("Remove Your Key?") : _("Remove This Peer?"),
                                   NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  own ? _("The secret part of “%s” is deleted: what was encrypted to it can no longer be read, and nobody can sign as it again.")
                                      : _("Dispatches signed by “%s” will no longer be recognised."),
                                  jstp_key_get_name (key) ? jstp_key_get_name (key) : key_id);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "remove", _("_Remove"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "remove",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "key-id", g_strdup (key_id), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (on_remove_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_trust_toggled (GtkSwitch         *sw,
                  GParamSpec        *pspec,
                  TableroKeysDialog *self)
{
  const char *key_id = g_object_get_data (G_OBJECT (sw), "key-id");
  g_autoptr (GError) error = NULL;

  if (jstp_keyring_is_trusted (self->keyring, key_id) == gtk_switch_get_active (sw))
    return;
  if (!jstp_keyring_set_trusted (self->keyring, key_id, gtk_switch_get_active (sw), &error))
    show_error (self, _("Could Not Change the Trust"), error);
}

static GtkWidget *
icon_button (const char *icon,
             const char *tooltip,
             const char *key_id)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_add_css_class (button, "flat");
  g_object_set_data_full (G_OBJECT (button), "key-id", g_strdup (key_id), g_free);
  return button;
}

static GtkWidget *
make_row (TableroKeysDialog *self,
          JstpKey           *key)
{
  const char *key_id = jstp_key_get_id (key);
  gboolean own = jstp_keyring_is_own (self->keyring, key_id);
  g_autofree char *fingerprint = jstp_key_dup_fingerprint (key);
  g_autofree char *subtitle = g_markup_printf_escaped ("<tt>%s</tt>", fingerprint);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *button;
  g_autofree char *title = g_markup_escape_text (jstp_key_get_name (key) ? jstp_key_get_name (key)
                                                                         : key_id, -1);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_tooltip_text (row, key_id);

  if (own)
    {
      button = icon_button ("edit-copy-symbolic", _("Copy Public Key"), key_id);
      g_signal_connect (button, "clicked", G_CALLBACK (on_copy_clicked), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }
  else
    {
      GtkWidget *sw = gtk_switch_new ();
      GtkWidget *label = gtk_label_new (_("Trusted"));

      gtk_widget_add_css_class (label, "dim-label");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
      gtk_widget_set_valign (sw, GTK_ALIGN_CENTER);
      gtk_switch_set_active (GTK_SWITCH (sw), jstp_keyring_is_trusted (self->keyring, key_id));
      gtk_widget_set_tooltip_text (sw, _("Trust dispatches this key signs"));
      g_object_set_data_full (G_OBJECT (sw), "key-id", g_strdup (key_id), g_free);
      g_signal_connect (sw, "notify::active", G_CALLBACK (on_trust_toggled), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), sw);
    }
  button = icon_button ("user-trash-symbolic", _("Remove"), key_id);
  g_signal_connect (button, "clicked", G_CALLBACK (on_remove_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);

  g_hash_table_insert (self->fingerprints, g_strdup (key_id), g_steal_pointer (&fingerprint));
  return row;
}

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static GtkWidget *
placeholder (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_set_margin_top (label, 12);
  gtk_widget_set_margin_bottom (label, 12);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  return label;
}

static void
rebuild (TableroKeysDialog *self)
{
  GListModel *model = G_LIST_MODEL (self->keyring);

  clear_list (self->own_list);
  clear_list (self->peer_list);
  g_hash_table_remove_all (self->fingerprints);
  self->n_rows = 0;
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (JstpKey) key = g_list_model_get_item (model, i);
      gboolean own = jstp_keyring_is_own (self->keyring, jstp_key_get_id (key));

      gtk_list_box_append (own ? self->own_list : self->peer_list, make_row (self, key));
      self->n_rows++;
    }
}

/* ---- generate ------------------------------------------------------------ */

JstpKey *
tablero_keys_dialog_generate (TableroKeysDialog  *self,
                              const char         *name,
                              const char         *passphrase,
                              GError            **error)
{
  g_return_val_if_fail (TABLERO_IS_KEYS_DIALOG (self), NULL);

  return jstp_keyring_generate (self->keyring, name, passphrase, error);
}

JstpKey *
tablero_keys_dialog_import (TableroKeysDialog  *self,
                            const char         *name,
                            const char         *card_json,
                            GError            **error)
{
  g_return_val_if_fail (TABLERO_IS_KEYS_DIALOG (self), NULL);

  return jstp_keyring_import (self->keyring, name, card_json, error);
}

typedef struct {
  GtkWidget *name;
  GtkWidget *passphrase;
  GtkWidget *confirm;
  GtkWidget *card;
  GtkWidget *dialog;
} Form;

static void
check_generate (Form *form)
{
  const char *name = gtk_editable_get_text (GTK_EDITABLE (form->name));
  const char *pass = gtk_editable_get_text (GTK_EDITABLE (form->passphrase));
  const char *confirm = gtk_editable_get_text (GTK_EDITABLE (form->confirm));
  gboolean mismatch = *confirm != '\0' && g_strcmp0 (pass, confirm) != 0;

  if (mismatch)
    gtk_widget_add_css_class (form->confirm, "error");
  else
    gtk_widget_remove_css_class (form->confirm, "error");
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (form->dialog), "generate",
                                           *name != '\0' && *pass != '\0' &&
                                           g_strcmp0 (pass, confirm) == 0);
}

static GtkWidget *
labelled (GtkWidget  *box,
          const char *label,
          GtkWidget  *widget)
{
  GtkWidget *l = gtk_label_new_with_mnemonic (label);

  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_label_set_mnemonic_widget (GTK_LABEL (l), widget);
  gtk_widget_add_css_class (l, "caption-heading");
  gtk_box_append (GTK_BOX (box), l);
  gtk_box_append (GTK_BOX (box), widget);
  return widget;
}

static void
on_generate_response (AdwMessageDialog  *dialog,
                      const char        *response,
                      TableroKeysDialog *self)
{
  Form *form = g_object_get_data (G_OBJECT (dialog), "form");
  g_autoptr (GError) error = NULL;
  g_autoptr (JstpKey) key = NULL;

  if (g_strcmp0 (response, "generate") != 0)
    return;
  key = tablero_keys_dialog_generate (self, gtk_editable_get_text (GTK_EDITABLE (form->name)),
                                      gtk_editable_get_text (GTK_EDITABLE (form->passphrase)),
                                      &error);
  if (key == NULL)
    show_error (self, _("Could Not Generate the Key"), error);
  else
    toast (self, _("Key generated"));
}

static void
on_generate_clicked (TableroKeysDialog *self)
{
  Form *form = g_new0 (Form, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  form->dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Generate a Key"),
                                         _("The secret part is stored encrypted with the passphrase; it is asked for whenever the key signs or opens a dispatch."));
  form->name = labelled (box, _("_Name"), gtk_entry_new ());
  form->passphrase = labelled (box, _("_Passphrase"), gtk_password_entry_new ());
  form->confirm = labelled (box, _("_Confirm Passphrase"), gtk_password_entry_new ());
  gtk_password_entry_set_show_peek_icon (GTK_PASSWORD_ENTRY (form->passphrase), TRUE);
  g_signal_connect_swapped (form->name, "changed", G_CALLBACK (check_generate), form);
  g_signal_connect_swapped (form->passphrase, "changed", G_CALLBACK (check_generate), form);
  g_signal_connect_swapped (form->confirm, "changed", G_CALLBACK (check_generate), form);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (form->dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (form->dialog),
                                    "cancel", _("_Cancel"),
                                    "generate", _("_Generate"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (form->dialog), "generate",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (form->dialog), "cancel");
  g_object_set_data_full (G_OBJECT (form->dialog), "form", form, g_free);
  g_signal_connect (form->dialog, "response", G_CALLBACK (on_generate_response), self);
  check_generate (form);
  gtk_window_present (GTK_WINDOW (form->dialog));
}

/* ---- import -------------------------------------------------------------- */

static char *
form_card_text (Form *form)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (form->card));
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
check_import (Form *form)
{
  g_autofree char *card = form_card_text (form);
  const char *name = gtk_editable_get_text (GTK_EDITABLE (form->name));

  g_strstrip (card);
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (form->dialog), "import",
                                           *name != '\0' && *card != '\0');
}

static void
on_import_response (AdwMessageDialog  *dialog,
                    const char        *response,
                    TableroKeysDialog *self)
{
  Form *form = g_object_get_data (G_OBJECT (dialog), "form");
  g_autoptr (GError) error = NULL;
  g_autofree char *card = NULL;

  if (g_strcmp0 (response, "import") != 0)
    return;
  card = g_strstrip (form_card_text (form));
  if (tablero_keys_dialog_import (self, gtk_editable_get_text (GTK_EDITABLE (form->name)),
                                  card, &error) == NULL)
    show_error (self, _("Could Not Import the Key"), error);
  else
    toast (self, _("Key imported: compare its fingerprint before you trust it"));
}

static void
on_card_file_response (GtkNativeDialog *chooser,
                       int              response,
                       Form            *form)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *contents = NULL;
      gsize length;

      /* A key card is small; a huge file is not one. */
      if (g_file_load_contents (file, NULL, &contents, &length, NULL, NULL) &&
          length < 64 * 1024 && g_utf8_validate (contents, length, NULL))
        gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (form->card)),
                                  contents, length);
    }
  g_object_unref (chooser);
}

static void
on_open_card_clicked (GtkButton *button,
                      Form      *form)
{
  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (_("Open a Public Key"), GTK_WINDOW (form->dialog),
                                 GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));

  g_signal_connect (chooser, "response", G_CALLBACK (on_card_file_response), form);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_import_clicked (TableroKeysDialog *self)
{
  Form *form = g_new0 (Form, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *open = gtk_button_new_with_mnemonic (_("_Open File…"));

  form->dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Import a Peer’s Key"),
                                         _("Paste the public key the peer exported, or open the file they sent."));
  form->name = labelled (box, _("_Name"), gtk_entry_new ());
  form->card = gtk_text_view_new ();
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (form->card), TRUE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (form->card), GTK_WRAP_CHAR);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), form->card);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scrolled), 120);
  gtk_widget_add_css_class (scrolled, "card");
  labelled (box, _("_Public Key"), scrolled);
  gtk_label_set_mnemonic_widget (GTK_LABEL (gtk_widget_get_prev_sibling (scrolled)), form->card);
  gtk_widget_set_halign (open, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (box), open);
  g_signal_connect (open, "clicked", G_CALLBACK (on_open_card_clicked), form);
  g_signal_connect_swapped (form->name, "changed", G_CALLBACK (check_import), form);
  g_signal_connect_swapped (gtk_text_view_get_buffer (GTK_TEXT_VIEW (form->card)), "changed",
                            G_CALLBACK (check_import), form);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (form->dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (form->dialog),
                                    "cancel", _("_Cancel"),
                                    "import", _("_Import"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (form->dialog), "import",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (form->dialog), "cancel");
  g_object_set_data_full (G_OBJECT (form->dialog), "form", form, g_free);
  g_signal_connect (form->dialog, "response", G_CALLBACK (on_import_response), self);
  check_import (form);
  gtk_window_present (GTK_WINDOW (form->dialog));
}

/* ---- GObject ------------------------------------------------------------- */

guint
tablero_keys_dialog_get_n_rows (TableroKeysDialog *self)
{
  g_return_val_if_fail (TABLERO_IS_KEYS_DIALOG (self), 0);
  return self->n_rows;
}

const char *
tablero_keys_dialog_get_shown_fingerprint (TableroKeysDialog *self,
                                           const char        *key_id)
{
  g_return_val_if_fail (TABLERO_IS_KEYS_DIALOG (self), NULL);
  return g_hash_table_lookup (self->fingerprints, key_id);
}

TableroKeysDialog *
tablero_keys_dialog_new (GtkWindow *parent)
{
  return g_object_new (TABLERO_TYPE_KEYS_DIALOG, "transient-for", parent, NULL);
}

static void
tablero_keys_dialog_dispose (GObject *object)
{
  TableroKeysDialog *self = TABLERO_KEYS_DIALOG (object);

  if (self->keyring != NULL)
    g_clear_signal_handler (&self->items_changed_id, self->keyring);
  self->keyring = NULL;

  G_OBJECT_CLASS (tablero_keys_dialog_parent_class)->dispose (object);
}

static void
tablero_keys_dialog_finalize (GObject *object)
{
  TableroKeysDialog *self = TABLERO_KEYS_DIALOG (object);

  g_clear_pointer (&self->fingerprints, g_hash_table_unref);

  G_OBJECT_CLASS (tablero_keys_dialog_parent_class)->finalize (object);
}

static void
tablero_keys_dialog_class_init (TableroKeysDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tablero_keys_dialog_dispose;
  object_class->finalize = tablero_keys_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tablero/Tablero/keys/tablero-keys-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, TableroKeysDialog, own_list);
  gtk_widget_class_bind_template_child (widget_class, TableroKeysDialog, peer_list);
  gtk_widget_class_bind_template_callback (widget_class, on_generate_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_import_clicked);
}

static void
tablero_keys_dialog_init (TableroKeysDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->fingerprints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gtk_list_box_set_placeholder (self->own_list, placeholder (_("No keys yet: generate one to sign what you send.")));
  gtk_list_box_set_placeholder (self->peer_list, placeholder (_("No peers yet: import the public key of someone you talk to.")));
  self->keyring = tablero_keys_dialog_get_keyring ();
  self->items_changed_id = g_signal_connect_swapped (self->keyring, "items-changed",
                                                     G_CALLBACK (rebuild), self);
  rebuild (self);
}
