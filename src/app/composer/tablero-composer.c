/* tablero-composer.c: writes a dispatch, sends it, shows its answers
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "tablero-composer.h"
#include "tablero-application.h"
#include "tablero-inspector.h"
#include "tablero-keys-dialog.h"
#include "tablero-node.h"
#include "jstp-security.h"

#define MAX_SENT 50

typedef struct {
  int              ref_count;
  TableroComposer *composer;     /* NULL once the composer is gone */
  char            *method;
  char            *resource;
  char            *body;
  guint            target;
  gint64           sent_us;
  guint            status;
  gint64           latency_us;
  guint            n_answers;
  char            *answer_body;
  GtkWidget       *row;
  GtkWidget       *status_label;
  GtkWidget       *body_label;
} Sent;

typedef struct {
  TableroComposer *composer;
  JstpEngine      *engine;
  guint64          binding;
  JstpPattern     *endpoint;
  char            *address;      /* NULL: the local engine */
  guint16          port;
  char            *transport;
  GtkWidget       *window;
  GtkTextBuffer   *buffer;
  GtkWidget       *count_label;
  guint            received;
} Stream;

struct _TableroComposer
{
  GtkWidget parent_instance;

  JstpEngine   *engine;
  TableroStack *stack;
  gulong        nodes_changed_id;
  GPtrArray    *targets;        /* TableroNode *, index 1 on in the dropdown */
  GtkStringList *target_names;
  GPtrArray    *sign_ids;       /* key ids, index 1 on */
  GPtrArray    *encrypt_ids;
  GtkStringList *sign_names;
  GtkStringList *encrypt_names;
  gulong        keyring_changed_id;
  GPtrArray    *sent;           /* Sent *, newest first */
  GPtrArray    *streams;        /* Stream * */
  char         *problem;

  /* Template */
  GtkDropDown  *method_dropdown;
  GtkEntry     *resource_entry;
  GtkDropDown  *target_dropdown;
  GtkTextView  *body_view;
  GtkDropDown  *sign_dropdown;
  GtkDropDown  *encrypt_dropdown;
  GtkWidget    *passphrase_entry;
  GtkLabel     *problem_label;
  GtkWidget    *send_button;
  GtkListBox   *sent_list;
};

G_DEFINE_FINAL_TYPE (TableroComposer, tablero_composer, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STACK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const methods[] = {
  "GET", "POST", "PUT", "PATCH", "DELETE", "BIND", "RELEASE", NULL
};

static Sent *
sent_ref (Sent *s)
{
  s->ref_count++;
  return s;
}

static void
sent_unref (Sent *s)
{
  if (--s->ref_count > 0)
    return;
  g_free (s->method);
  g_free (s->resource);
  g_free (s->body);
  g_free (s->answer_body);
  g_free (s);
}

/* ---- the form ------------------------------------------------------------ */

static const char *
current_method (TableroComposer *self)
{
  guint i = gtk_drop_down_get_selected (self->method_dropdown);

  return i < G_N_ELEMENTS (methods) - 1 ? methods[i] : "GET";
}

static gboolean
is_subscription (const char *method)
{
  return g_str_equal (method, "BIND") || g_str_equal (method, "RELEASE");
}

static char *
dup_body_text (TableroComposer *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static gboolean
blank (const char *text)
{
  for (; *text; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;
  return TRUE;
}

/* NULL when the form can be sent, otherwise what is wrong with it. */
static char *
check_form (TableroComposer *self,
            const char      *method,
            const char      *resource,
            const char      *body)
{
  g_autoptr (GError) error = NULL;
  JstpJsonSpan root;

  if (is_subscription (method))
    {
      g_autoptr (JstpPattern) pattern = tablero_inspector_parse_pattern (resource, &error);

      if (pattern == NULL)
        return g_strdup_printf (_("Endpoint: %s"), error->message);
    }
  else if (!jstp_json_scan (resource, strlen (resource), NULL, &root, NULL, 0, NULL, &error))
    return g_strdup_printf (_("Resource: %s"), error->message);
  else if (root.type != JSTP_JSON_ARRAY)
    return g_strdup (_("Resource: not a JSON array"));

  if (!blank (body) && !jstp_json_scan (body, strlen (body), NULL, NULL, NULL, 0, NULL, &error))
    return g_strdup_printf (_("Body: %s"), error->message);

  if (gtk_drop_down_get_selected (self->encrypt_dropdown) > 0 &&
      gtk_drop_down_get_selected (self->sign_dropdown) == 0)
    return g_strdup (_("Choose a key to sign with: encryption needs a sender"));
  return NULL;
}

static void
on_form_changed (TableroComposer *self)
{
  g_autofree char *body = dup_body_text (self);
  const char *resource = gtk_editable_get_text (GTK_EDITABLE (self->resource_entry));

  g_free (self->problem);
  self->problem = check_form (self, current_method (self), resource, body);
  gtk_label_set_text (self->problem_label, self->problem ? self->problem : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->problem_label), self->problem);
  gtk_widget_set_sensitive (self->send_button, self->problem == NULL && self->engine != NULL);
  gtk_widget_set_visible (self->passphrase_entry,
                          gtk_drop_down_get_selected (self->sign_dropdown) > 0);
}

/* ---- targets and keys ---------------------------------------------------- */

static void
rebuild_targets (TableroComposer *self)
{
  guint selected = gtk_drop_down_get_selected (self->target_dropdown);
  TableroNode *was = selected > 0 && selected <= self->targets->len
                   ? g_object_ref (self->targets->pdata[selected - 1]) : NULL;
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->target_names));
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint new_selected = 0;

  g_ptr_array_set_size (self->targets, 0);
  g_ptr_array_add (names, g_strdup (_("Tablero (local)")));
  if (self->stack != NULL)
    {
      GListModel *nodes = tablero_stack_get_nodes (self->stack);

      for (guint i = 0; i < g_list_model_get_n_items (nodes); i++)
        {
          g_autoptr (TableroNode) node = g_list_model_get_item (nodes, i);

          if (tablero_node_get_address (node) == NULL || tablero_node_get_port (node) == 0)
            continue;
          if (node == was)
            new_selected = self->targets->len + 1;
          g_ptr_array_add (self->targets, g_object_ref (node));
          g_ptr_array_add (names, g_strdup_printf ("%s:%u:%s", tablero_node_get_address (node),
                                                   tablero_node_get_port (node),
                                                   tablero_node_get_transport (node)
                                                   ? tablero_node_get_transport (node) : "tcp"));
        }
    }
  g_ptr_array_add (names, NULL);
  gtk_string_list_splice (self->target_names, 0, n_old, (const char * const *) names->pdata);
  gtk_drop_down_set_selected (self->target_dropdown, new_selected);
  g_clear_object (&was);
}

static void
rebuild_keys (TableroComposer *self)
{
  JstpKeyring *keyring = tablero_keys_dialog_get_keyring ();
  GListModel *model = G_LIST_MODEL (keyring);
  g_autoptr (GPtrArray) sign = g_ptr_array_new ();
  g_autoptr (GPtrArray) encrypt = g_ptr_array_new ();

  g_ptr_array_set_size (self->sign_ids, 0);
  g_ptr_array_set_size (self->encrypt_ids, 0);
  g_ptr_array_add (sign, (gpointer) _("Unsigned"));
  g_ptr_array_add (encrypt, (gpointer) _("Not encrypted"));
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (JstpKey) key = g_list_model_get_item (model, i);
      const char *id = jstp_key_get_id (key);
      const char *name = jstp_key_get_name (key) ? jstp_key_get_name (key) : id;

      if (jstp_keyring_is_own (keyring, id))
        {
          g_ptr_array_add (self->sign_ids, g_strdup (id));
          g_ptr_array_add (sign, g_strdup_printf (_("Sign as %s"), name));
        }
      if (jstp_key_has_box (key))
        {
          g_ptr_array_add (self->encrypt_ids, g_strdup (id));
          g_ptr_array_add (encrypt, g_strdup_printf (_("Encrypt to %s"), name));
        }
    }
  g_ptr_array_add (sign, NULL);
  g_ptr_array_add (encrypt, NULL);
  gtk_string_list_splice (self->sign_names, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->sign_names)),
                          (const char * const *) sign->pdata);
  gtk_string_list_splice (self->encrypt_names, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->encrypt_names)),
                          (const char * const *) encrypt->pdata);
  for (guint i = 1; i + 1 < sign->len; i++)
    g_free (sign->pdata[i]);
  for (guint i = 1; i + 1 < encrypt->len; i++)
    g_free (encrypt->pdata[i]);
}

/* ---- sent dispatches ----------------------------------------------------- */

static char *
format_latency (gint64 latency_us)
{
  if (latency_us < 10 * 1000)
    return g_strdup_printf (_("%.2f ms"), latency_us / 1000.0);
  if (latency_us < 10 * G_USEC_PER_SEC)
    return g_strdup_printf (_("%.0f ms"), latency_us / 1000.0);
  return g_strdup_printf (_("%.1f s"), latency_us / (double) G_USEC_PER_SEC);
}

static void
update_sent_row (Sent *s)
{
  g_autofree char *status = NULL;

  if (s->row == NULL)
    return;
  if (s->n_answers == 0)
    status = g_strdup (_("Waiting for an answer…"));
  else
    {
      g_autofree char *latency = format_latency (s->latency_us);

      /* TRANSLATORS: status, latency, and how many answers came */
      status = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u in %s", "%u in %s (%u answers)",
                                             s->n_answers),
                                s->status, latency, s->n_answers);
    }
  gtk_label_set_text (GTK_LABEL (s->status_label), status);
  gtk_widget_remove_css_class (s->status_label, "error");
  gtk_widget_remove_css_class (s->status_label, "success");
  if (s->status >= 400)
    gtk_widget_add_css_class (s->status_label, "error");
  else if (s->status >= 200 && s->status < 300)
    gtk_widget_add_css_class (s->status_label, "success");
  gtk_label_set_text (GTK_LABEL (s->body_label), s->answer_body ? s->answer_body : "");
  gtk_widget_set_visible (s->body_label, s->answer_body != NULL);
}

static void
on_answer (JstpEngine   *engine,
           JstpDispatch *answer,
           gpointer      data)
{
  Sent *s = data;

  if (s->n_answers++ == 0)
    {
      const char *body = jstp_security_get_body_json (answer);

      s->status = jstp_dispatch_get_status (answer);
      s->latency_us = g_get_monotonic_time () - s->sent_us;
      s->answer_body = g_strdup (body);
    }
  if (s->composer != NULL)
    update_sent_row (s);
}

static void
on_resend_clicked (GtkButton *button,
                   Sent      *s)
{
  g_autoptr (GError) error = NULL;

  if (s->composer == NULL)
    return;
  for (guint i = 0; i < s->composer->sent->len; i++)
    if (s->composer->sent->pdata[i] == s)
      {
        if (!tablero_composer_resend (s->composer, i, &error))
          g_warning ("Could not send the dispatch again: %s", error->message);
        return;
      }
}

static GtkWidget *
make_sent_row (TableroComposer *self,
               Sent            *s)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *target = gtk_label_new (NULL);
  GtkWidget *resend = gtk_button_new_from_icon_name ("view-refresh-symbolic");
  g_autofree char *title_text = g_strdup_printf ("%s %s", s->method, s->resource);
  g_autofree char *target_text = NULL;

  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (title, TRUE);
  gtk_label_set_text (GTK_LABEL (title), title_text);
  gtk_widget_add_css_class (title, "monospace");
  gtk_grid_attach (GTK_GRID (grid), title, 0, 0, 1, 1);

  gtk_widget_set_valign (resend, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (resend, "flat");
  gtk_widget_set_tooltip_text (resend, _("Send Again"));
  g_signal_connect_data (resend, "clicked", G_CALLBACK (on_resend_clicked), sent_ref (s),
                         (GClosureNotify) (void (*) (void)) sent_unref, 0);
  gtk_grid_attach (GTK_GRID (grid), resend, 1, 0, 1, 2);

  target_text = g_strdup (s->target == 0 || s->target > self->targets->len
                          ? _("Tablero (local)")
                          : g_list_model_get_n_items (G_LIST_MODEL (self->target_names)) > s->target
                            ? gtk_string_list_get_string (self->target_names, s->target) : "");
  gtk_label_set_text (GTK_LABEL (target), target_text);
  gtk_label_set_xalign (GTK_LABEL (target), 0);
  gtk_widget_add_css_class (target, "dim-label");
  gtk_widget_add_css_class (target, "caption");

  s->status_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (s->status_label), 0);
  gtk_widget_add_css_class (s->status_label, "numeric");
  {
    GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

    gtk_box_append (GTK_BOX (line), target);
    gtk_box_append (GTK_BOX (line), s->status_label);
    gtk_grid_attach (GTK_GRID (grid), line, 0, 1, 1, 1);
  }
  s->body_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (s->body_label), 0);
  gtk_label_set_wrap (GTK_LABEL (s->body_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (s->body_label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_lines (GTK_LABEL (s->body_label), 4);
  gtk_label_set_ellipsize (GTK_LABEL (s->body_label), PANGO_ELLIPSIZE_END);
  gtk_label_set_selectable (GTK_LABEL (s->body_label), TRUE);
  gtk_widget_add_css_class (s->body_label, "monospace");
  gtk_grid_attach (GTK_GRID (grid), s->body_label, 0, 2, 2, 1);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), grid);
  gtk_widget_set_tooltip_text (row, _("Double-click to send again"));
  s->row = row;
  update_sent_row (s);
  return row;
}

static JstpDispatch *
build_dispatch (TableroComposer *self,
                const char      *method,
                const char      *resource,
                const char      *body,
                GError         **error)
{
  g_autoptr (JstpDispatch) d = NULL;

  if (is_subscription (method))
    {
      g_autoptr (JstpPattern) endpoint = tablero_inspector_parse_pattern (resource, error);

      if (endpoint == NULL)
        return NULL;
      d = jstp_dispatch_new_subscription (jstp_method_from_string (method, -1), endpoint);
    }
  else
    {
      d = jstp_dispatch_new (jstp_method_from_string (method, -1),
                             (const char * const []) { "x", NULL });
      if (!jstp_dispatch_set_resource_json (d, resource, error))
        return NULL;
    }
  if (!blank (body) && !jstp_dispatch_set_body_json (d, body, error))
    return NULL;
  return g_steal_pointer (&d);
}

static gboolean
secure (TableroComposer *self,
        JstpDispatch    *d,
        GError         **error)
{
  JstpKeyring *keyring = tablero_keys_dialog_get_keyring ();
  guint sign = gtk_drop_down_get_selected (self->sign_dropdown);
  guint encrypt = gtk_drop_down_get_selected (self->encrypt_dropdown);
  g_autoptr (JstpKey) key = NULL;

  if (sign == 0 || sign > self->sign_ids->len)
    return TRUE;
  key = jstp_keyring_unlock (keyring, self->sign_ids->pdata[sign - 1],
                             gtk_editable_get_text (GTK_EDITABLE (self->passphrase_entry)), error);
  if (key == NULL)
    return FALSE;
  if (encrypt > 0 && encrypt <= self->encrypt_ids->len)
    {
      JstpKey *recipient = jstp_keyring_lookup (keyring, self->encrypt_ids->pdata[encrypt - 1]);

      if (recipient == NULL || !jstp_security_encrypt (d, key, recipient, error))
        return FALSE;
    }
  return jstp_security_sign (d, key, NULL, error);
}

/* ---- BIND streams -------------------------------------------------------- */

static void
on_stream_dispatch (JstpEngine         *engine,
                    JstpDispatch       *dispatch,
                    const JstpCaptures *captures,
                    gpointer            data)
{
  Stream *st = data;
  g_autofree char *text = jstp_dispatch_to_string (dispatch);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = g_date_time_format (now, "%H:%M:%S");
  g_autofree char *count = NULL;
  GtkTextIter end;

  st->received++;
  gtk_text_buffer_get_end_iter (st->buffer, &end);
  gtk_text_buffer_insert (st->buffer, &end, time, -1);
  gtk_text_buffer_insert (st->buffer, &end, "  ", -1);
  gtk_text_buffer_insert (st->buffer, &end, text, -1);
  gtk_text_buffer_insert (st->buffer, &end, "\n", -1);
  count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u dispatch received",
                                        "%u dispatches received", st->received), st->received);
  gtk_label_set_text (GTK_LABEL (st->count_label), count);
}

static void
stream_free (Stream *st)
{
  if (st->binding != 0)
    jstp_engine_release (st->engine, st->binding);
  if (st->address != NULL)
    {
      g_autoptr (JstpDispatch) release = jstp_dispatch_new_subscription (JSTP_METHOD_RELEASE,
                                                                         st->endpoint);

      jstp_dispatch_add_hop (release, st->address, st->port, st->transport);
      jstp_engine_emit (st->engine, release, NULL, NULL, NULL);
    }
  g_clear_object (&st->engine);
  jstp_pattern_unref (st->endpoint);
  g_free (st->address);
  g_free (st->transport);
  g_free (st);
}

static gboolean
on_stream_close (GtkWindow *window,
                 Stream    *st)
{
  if (st->composer != NULL)
    g_ptr_array_remove (st->composer->streams, st);  /* frees it */
  return FALSE;
}

static void
open_stream (TableroComposer *self,
             JstpDispatch    *bind,
             TableroNode     *node)
{
  Stream *st = g_new0 (Stream, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *view = gtk_text_view_new ();
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *endpoint = NULL;
  GtkWidget *title;

  st->composer = self;
  st->engine = g_object_ref (self->engine);
  st->endpoint = jstp_pattern_ref (jstp_dispatch_get_endpoint (bind));
  st->binding = jstp_engine_bind_pattern (self->engine, st->endpoint, on_stream_dispatch, st, NULL);
  if (node != NULL)
    {
      st->address = g_strdup (tablero_node_get_address (node));
      st->port = tablero_node_get_port (node);
      st->transport = g_strdup (tablero_node_get_transport (node) ? tablero_node_get_transport (node)
                                                                    : "tcp");
    }

  st->window = adw_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (st->window), 560, 360);
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (st->window), GTK_WINDOW (root));
  endpoint = gtk_editable_get_chars (GTK_EDITABLE (self->resource_entry), 0, -1);
  title = adw_window_title_new (endpoint, node ? gtk_string_list_get_string (self->target_names,
                                                                              gtk_drop_down_get_selected (self->target_dropdown))
                                               : _("Tablero (local)"));
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), title);
  gtk_window_set_title (GTK_WINDOW (st->window), _("Live Stream"));
  st->count_label = gtk_label_new (_("Waiting for dispatches…"));
  gtk_widget_add_css_class (st->count_label, "dim-label");
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), st->count_label);
  gtk_box_append (GTK_BOX (box), header);
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (view), TRUE);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 8);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  st->buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), view);
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_box_append (GTK_BOX (box), scrolled);
  adw_window_set_content (ADW_WINDOW (st->window), box);
  g_signal_connect (st->window, "close-request", G_CALLBACK (on_stream_close), st);
  g_ptr_array_add (self->streams, st);
  gtk_window_present (GTK_WINDOW (st->window));
}

/* ---- sending ------------------------------------------------------------- */

static gboolean
send_dispatch (TableroComposer *self,
               const char      *method,
               const char      *resource,
               const char      *body,
               guint            target,
               GError         **error)
{
  g_autoptr (JstpDispatch) d = build_dispatch (self, method, resource, body, error);
  TableroNode *node = target > 0 && target <= self->targets->len ? self->targets->pdata[target - 1]
                                                                 : NULL;
  Sent *s;

  if (d == NULL)
    return FALSE;
  if (self->engine == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, _("No engine to send with"));
      return FALSE;
    }

  if (g_str_equal (method, "BIND"))
    {
      /* The stream's own subscription: remote dispatches arrive through
       * it, local ones trigger it directly. */
      open_stream (self, d, node);
      if (node == NULL)
        return TRUE;
    }

  if (!secure (self, d, error))
    return FALSE;
  if (node != NULL)
    jstp_dispatch_add_hop (d, tablero_node_get_address (node), tablero_node_get_port (node),
                           tablero_node_get_transport (node) ? tablero_node_get_transport (node)
                                                             : "tcp");

  s = g_new0 (Sent, 1);
  s->ref_count = 1;
  s->composer = self;
  s->method = g_strdup (method);
  s->resource = g_strdup (resource);
  s->body = g_strdup (body);
  s->target = target;
  s->latency_us = -1;
  s->sent_us = g_get_monotonic_time ();
  g_ptr_array_insert (self->sent, 0, s);
  gtk_list_box_prepend (self->sent_list, make_sent_row (self, s));
  while (self->sent->len > MAX_SENT)
    g_ptr_array_remove_index (self->sent, self->sent->len - 1);

  jstp_engine_emit (self->engine, d, on_answer, sent_ref (s), (GDestroyNotify) sent_unref);
  return TRUE;
}

gboolean
tablero_composer_send (TableroComposer  *self,
                       GError          **error)
{
  g_autofree char *body = NULL;

  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), FALSE);

  if (self->problem != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, self->problem);
      return FALSE;
    }
  body = dup_body_text (self);
  return send_dispatch (self, current_method (self),
                        gtk_editable_get_text (GTK_EDITABLE (self->resource_entry)), body,
                        gtk_drop_down_get_selected (self->target_dropdown), error);
}

gboolean
tablero_composer_resend (TableroComposer  *self,
                         guint             index,
                         GError          **error)
{
  Sent *s;

  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), FALSE);
  g_return_val_if_fail (index < self->sent->len, FALSE);

  s = sent_ref (self->sent->pdata[index]);
  {
    gboolean ok = send_dispatch (self, s->method, s->resource, s->body, s->target, error);
    sent_unref (s);
    return ok;
  }
}

static void
on_send_clicked (TableroComposer *self)
{
  g_autoptr (GError) error = NULL;

  if (!gtk_widget_get_sensitive (self->send_button))
    return;
  if (!tablero_composer_send (self, &error))
    {
      gtk_label_set_text (self->problem_label, error->message);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->problem_label), error->message);
    }
}

static void
on_sent_row_activated (TableroComposer *self,
                       GtkListBoxRow   *row)
{
  for (guint i = 0; i < self->sent->len; i++)
    if (((Sent *) self->sent->pdata[i])->row == GTK_WIDGET (row))
      {
        g_autoptr (GError) error = NULL;

        if (!tablero_composer_resend (self, i, &error))
          gtk_label_set_text (self->problem_label, error->message);
        return;
      }
}

/* ---- public -------------------------------------------------------------- */

void
tablero_composer_set_method (TableroComposer *self,
                             const char      *method)
{
  g_return_if_fail (TABLERO_IS_COMPOSER (self));

  for (guint i = 0; methods[i]; i++)
    if (g_ascii_strcasecmp (methods[i], method) == 0)
      gtk_drop_down_set_selected (self->method_dropdown, i);
}

void
tablero_composer_set_resource (TableroComposer *self,
                               const char      *text)
{
  g_return_if_fail (TABLERO_IS_COMPOSER (self));
  gtk_editable_set_text (GTK_EDITABLE (self->resource_entry), text);
}

void
tablero_composer_set_body (TableroComposer *self,
                           const char      *text)
{
  g_return_if_fail (TABLERO_IS_COMPOSER (self));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->body_view), text, -1);
}

void
tablero_composer_set_target (TableroComposer *self,
                             guint            index)
{
  g_return_if_fail (TABLERO_IS_COMPOSER (self));
  gtk_drop_down_set_selected (self->target_dropdown, index);
}

guint
tablero_composer_get_n_targets (TableroComposer *self)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->target_names));
}

const char *
tablero_composer_get_problem (TableroComposer *self)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), NULL);
  return self->problem;
}

gboolean
tablero_composer_get_can_send (TableroComposer *self)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), FALSE);
  return gtk_widget_get_sensitive (self->send_button);
}

guint
tablero_composer_get_n_sent (TableroComposer *self)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), 0);
  return self->sent->len;
}

guint
tablero_composer_get_sent_status (TableroComposer *self,
                                  guint            index)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), 0);
  g_return_val_if_fail (index < self->sent->len, 0);
  return ((Sent *) self->sent->pdata[index])->status;
}

gint64
tablero_composer_get_sent_latency (TableroComposer *self,
                                   guint            index)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), -1);
  g_return_val_if_fail (index < self->sent->len, -1);
  return ((Sent *) self->sent->pdata[index])->latency_us;
}

const char *
tablero_composer_get_sent_answer_body (TableroComposer *self,
                                       guint            index)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), NULL);
  g_return_val_if_fail (index < self->sent->len, NULL);
  return ((Sent *) self->sent->pdata[index])->answer_body;
}

guint
tablero_composer_get_n_streams (TableroComposer *self)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), 0);
  return self->streams->len;
}

guint
tablero_composer_get_stream_received (TableroComposer *self,
                                      guint            index)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), 0);
  g_return_val_if_fail (index < self->streams->len, 0);
  return ((Stream *) self->streams->pdata[index])->received;
}

GtkWindow *
tablero_composer_get_stream_window (TableroComposer *self,
                                    guint            index)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), NULL);
  g_return_val_if_fail (index < self->streams->len, NULL);
  return GTK_WINDOW (((Stream *) self->streams->pdata[index])->window);
}

void
tablero_composer_set_engine (TableroComposer *self,
                             JstpEngine      *engine)
{
  g_return_if_fail (TABLERO_IS_COMPOSER (self));
  g_set_object (&self->engine, engine);
  on_form_changed (self);
}

TableroStack *
tablero_composer_get_stack (TableroComposer *self)
{
  g_return_val_if_fail (TABLERO_IS_COMPOSER (self), NULL);
  return self->stack;
}

void
tablero_composer_set_stack (TableroComposer *self,
                            TableroStack    *stack)
{
  g_return_if_fail (TABLERO_IS_COMPOSER (self));

  if (self->stack == stack)
    return;
  if (self->stack != NULL)
    g_clear_signal_handler (&self->nodes_changed_id, tablero_stack_get_nodes (self->stack));
  g_set_object (&self->stack, stack);
  if (stack != NULL)
    self->nodes_changed_id = g_signal_connect_swapped (tablero_stack_get_nodes (stack), "items-changed",
                                                       G_CALLBACK (rebuild_targets), self);
  rebuild_targets (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STACK]);
}

GtkWidget *
tablero_composer_new (void)
{
  return g_object_new (TABLERO_TYPE_COMPOSER, NULL);
}

/* ---- GObject ------------------------------------------------------------- */

static void
tablero_composer_dispose (GObject *object)
{
  TableroComposer *self = TABLERO_COMPOSER (object);

  tablero_composer_set_stack (self, NULL);
  g_clear_signal_handler (&self->keyring_changed_id, tablero_keys_dialog_get_keyring ());
  if (self->streams != NULL)
    {
      for (guint i = 0; i < self->streams->len; i++)
        {
          Stream *st = self->streams->pdata[i];

          st->composer = NULL;
          g_signal_handlers_disconnect_by_func (st->window, on_stream_close, st);
          gtk_window_destroy (GTK_WINDOW (st->window));
        }
      g_clear_pointer (&self->streams, g_ptr_array_unref);
    }
  if (self->sent != NULL)
    {
      for (guint i = 0; i < self->sent->len; i++)
        {
          Sent *s = self->sent->pdata[i];
          s->composer = NULL;
          s->row = NULL;
        }
      g_clear_pointer (&self->sent, g_ptr_array_unref);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), TABLERO_TYPE_COMPOSER);
  {
    GtkWidget *child;

    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
      gtk_widget_unparent (child);
  }
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (tablero_composer_parent_class)->dispose (object);
}

static void
tablero_composer_finalize (GObject *object)
{
  TableroComposer *self = TABLERO_COMPOSER (object);

  g_clear_pointer (&self->targets, g_ptr_array_unref);
  g_clear_pointer (&self->sign_ids, g_ptr_array_unref);
  g_clear_pointer (&self->encrypt_ids, g_ptr_array_unref);
  g_clear_object (&self->target_names);
  g_clear_object (&self->sign_names);
  g_clear_object (&self->encrypt_names);
  g_free (self->problem);

  G_OBJECT_CLASS (tablero_composer_parent_class)->finalize (object);
}

static void
tablero_composer_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  TableroComposer *self = TABLERO_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_STACK:
      g_value_set_object (value, self->stack);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_composer_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  TableroComposer *self = TABLERO_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_STACK:
      tablero_composer_set_stack (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_composer_class_init (TableroComposerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tablero_composer_dispose;
  object_class->finalize = tablero_composer_finalize;
  object_class->get_property = tablero_composer_get_property;
  object_class->set_property = tablero_composer_set_property;

  properties[PROP_STACK] =
    g_param_spec_object ("stack", NULL, NULL, TABLERO_TYPE_STACK,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tablero/Tablero/composer/tablero-composer.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, method_dropdown);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, resource_entry);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, target_dropdown);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, body_view);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, sign_dropdown);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, encrypt_dropdown);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, passphrase_entry);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, problem_label);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, send_button);
  gtk_widget_class_bind_template_child (widget_class, TableroComposer, sent_list);
  gtk_widget_class_bind_template_callback (widget_class, on_form_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_send_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_sent_row_activated);
}

static void
tablero_composer_init (TableroComposer *self)
{
  GApplication *app = g_application_get_default ();

  gtk_widget_init_template (GTK_WIDGET (self));

  self->targets = g_ptr_array_new_with_free_func (g_object_unref);
  self->sign_ids = g_ptr_array_new_with_free_func (g_free);
  self->encrypt_ids = g_ptr_array_new_with_free_func (g_free);
  self->sent = g_ptr_array_new_with_free_func ((GDestroyNotify) sent_unref);
  self->streams = g_ptr_array_new_with_free_func ((GDestroyNotify) stream_free);
  self->target_names = gtk_string_list_new (NULL);
  self->sign_names = gtk_string_list_new (NULL);
  self->encrypt_names = gtk_string_list_new (NULL);
  gtk_drop_down_set_model (self->target_dropdown, G_LIST_MODEL (self->target_names));
  gtk_drop_down_set_model (self->sign_dropdown, G_LIST_MODEL (self->sign_names));
  gtk_drop_down_set_model (self->encrypt_dropdown, G_LIST_MODEL (self->encrypt_names));
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->body_view), "changed",
                            G_CALLBACK (on_form_changed), self);
  self->keyring_changed_id = g_signal_connect_swapped (tablero_keys_dialog_get_keyring (),
                                                       "items-changed",
                                                       G_CALLBACK (rebuild_keys), self);
  rebuild_targets (self);
  rebuild_keys (self);
  if (TABLERO_IS_APPLICATION (app))
    self->engine = g_object_ref (tablero_application_get_engine (TABLERO_APPLICATION (app)));
  on_form_changed (self);
}
