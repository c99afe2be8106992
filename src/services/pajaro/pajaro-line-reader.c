/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "pajaro-line-reader.h"

#define CHUNK_SIZE 16384

struct _PajaroLineReader {
  GObject parent_instance;

  GInputStream *stream;
  GCancellable *cancellable;
  gsize max_line;
  GByteArray *buffer;       /* the line so far */
  gboolean discarding;      /* inside a line over the limit */
  gsize discarded;
  guint64 bytes_read;

  PajaroLineFunc line_func;
  PajaroLineDoneFunc done_func;
  gpointer user_data;
  gboolean started;
  gboolean stopped;
};

G_DEFINE_FINAL_TYPE (PajaroLineReader, pajaro_line_reader, G_TYPE_OBJECT)

static void read_next (PajaroLineReader *self);

static void
emit_line (PajaroLineReader *self,
           const char       *line,
           gsize             length)
{
  if (length > 0 && line[length - 1] == '\r')
    length--;
  self->line_func (line, length, FALSE, self->user_data);
}

/* Splits one chunk; stops as soon as a callback stopped the reader. */
static void
feed (PajaroLineReader *self,
      const char       *data,
      gsize             size)
{
  while (size > 0 && !self->stopped)
    {
      const char *newline = memchr (data, '\n', size);
      gsize segment = newline ? (gsize) (newline - data) : size;
      gsize consumed = newline ? segment + 1 : size;

      if (self->discarding)
        {
          self->discarded += segment;
          if (newline)
            {
              self->discarding = FALSE;
              self->line_func (NULL, self->discarded, TRUE, self->user_data);
            }
        }
      else if (self->buffer->len + segment > self->max_line)
        {
          self->discarded = self->buffer->len + segment;
          g_byte_array_set_size (self->buffer, 0);
          if (newline)
            self->line_func (NULL, self->discarded, TRUE, self->user_data);
          else
            self->discarding = TRUE;
        }
      else if (newline && self->buffer->len == 0)
        emit_line (self, data, segment);
      else if (newline)
        {
          g_byte_array_append (self->buffer, (const guint8 *) data, segment);
          emit_line (self, (const char *) self->buffer->data, self->buffer->len);
          if (!self->stopped)
            g_byte_array_set_size (self->buffer, 0);
        }
      else
        g_byte_array_append (self->buffer, (const guint8 *) data, segment);

      data += consumed;
      size -= consumed;
    }
}

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(PajaroLineReader) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize size;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (self->stopped)
    return;
  if (bytes == NULL)
    {
      self->stopped = TRUE;
      self->done_func (error, self->user_data);
      return;
    }

  size = g_bytes_get_size (bytes);
  if (size == 0)
    {
      if (self->buffer->len > 0 || self->discarding)
        g_debug ("the stream ended inside a line (%u bytes dropped)",
                 self->buffer->len + (guint) self->discarded);
      self->stopped = TRUE;
      self->done_func (NULL, self->user_data);
      return;
    }

  self->bytes_read += size;
  feed (self, g_bytes_get_data (bytes, NULL), size);
  if (!self->stopped)
    read_next (self);
}

static void
read_next (PajaroLineReader *self)
{
  g_input_stream_read_bytes_async (self->stream, CHUNK_SIZE, G_PRIORITY_DEFAULT,
                                   self->cancellable, read_cb, g_object_ref (self));
}

void
pajaro_line_reader_start (PajaroLineReader   *self,
                          PajaroLineFunc      line_func,
                          PajaroLineDoneFunc  done_func,
                          gpointer            user_data)
{
  g_return_if_fail (PAJARO_IS_LINE_READER (self));
  g_return_if_fail (line_func != NULL && done_func != NULL);
  g_return_if_fail (!self->started);

  self->started = TRUE;
  self->line_func = line_func;
  self->done_func = done_func;
  self->user_data = user_data;
  read_next (self);
}

void
pajaro_line_reader_stop (PajaroLineReader *self)
{
  g_return_if_fail (PAJARO_IS_LINE_READER (self));

  if (self->stopped && self->stream == NULL)
    return;
  self->stopped = TRUE;
  g_cancellable_cancel (self->cancellable);
  /* The stream closes when its last reference goes, after the cancelled
   * read if one is pending (closing now would fail as busy). libsoup then
   * gives the connection up instead of reading the endless rest. */
  g_clear_object (&self->stream);
}

guint64
pajaro_line_reader_get_bytes_read (PajaroLineReader *self)
{
  g_return_val_if_fail (PAJARO_IS_LINE_READER (self), 0);

  return self->bytes_read;
}

PajaroLineReader *
pajaro_line_reader_new (GInputStream *stream,
                        gsize         max_line)
{
  PajaroLineReader *self;

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);
  g_return_val_if_fail (max_line > 0, NULL);

  self = g_object_new (PAJARO_TYPE_LINE_READER, NULL);
  self->stream = g_object_ref (stream);
  self->max_line = max_line;
  return self;
}

static void
pajaro_line_reader_dispose (GObject *object)
{
  PajaroLineReader *self = PAJARO_LINE_READER (object);

  if (self->stream)
    pajaro_line_reader_stop (self);

  G_OBJECT_CLASS (pajaro_line_reader_parent_class)->dispose (object);
}

static void
pajaro_line_reader_finalize (GObject *object)
{
  PajaroLineReader *self = PAJARO_LINE_READER (object);

  g_clear_object (&self->cancellable);
  g_byte_array_unref (self->buffer);

  G_OBJECT_CLASS (pajaro_line_reader_parent_class)->finalize (object);
}

static void
pajaro_line_reader_class_init (PajaroLineReaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pajaro_line_reader_dispose;
  object_class->finalize = pajaro_line_reader_finalize;
}

static void
pajaro_line_reader_init (PajaroLineReader *self)
{
  self->cancellable = g_cancellable_new ();
  self->buffer = g_byte_array_new ();
}
