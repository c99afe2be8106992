/* SPDX-License-Identifier: MIT */
/* pajaro-line-reader.h: the lines of an endless HTTP body, bounded.
 *
 * Both streaming APIs are line based (JSON lines for Twitter, server-sent
 * events for Mastodon) and never end, so GDataInputStream, which buffers a
 * line without bound, will not do. This reader reads in chunks on the
 * main context, hands over each complete line (without its `\n` or
 * `\r\n`), and drops a line longer than the limit as it goes, reporting
 * only its length.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * PajaroLineFunc:
 * @line: (nullable) (array length=length): the line, not NUL-terminated;
 *   %NULL when @oversize
 * @length: its length; for an oversize line, the bytes dropped
 * @oversize: the line was longer than the limit and was dropped
 *
 * The callback may stop or drop the reader.
 */
typedef void (*PajaroLineFunc)     (const char *line,
                                    gsize       length,
                                    gboolean    oversize,
                                    gpointer    user_data);

/**
 * PajaroLineDoneFunc:
 * @error: (nullable): why reading failed; %NULL at the end of the stream
 *
 * Called once, unless the reader was stopped first. A last line without
 * its newline is incomplete and never handed over.
 */
typedef void (*PajaroLineDoneFunc) (const GError *error,
                                    gpointer      user_data);

#define PAJARO_TYPE_LINE_READER (pajaro_line_reader_get_type ())

G_DECLARE_FINAL_TYPE (PajaroLineReader, pajaro_line_reader, PAJARO, LINE_READER, GObject)

PajaroLineReader *pajaro_line_reader_new   (GInputStream       *stream,
                                            gsize               max_line);
/* Starts reading; the callbacks run on the thread-default main context. */
void              pajaro_line_reader_start (PajaroLineReader   *self,
                                            PajaroLineFunc      line_func,
                                            PajaroLineDoneFunc  done_func,
                                            gpointer            user_data);
/* No callback runs after this; the stream is closed. */
void              pajaro_line_reader_stop  (PajaroLineReader   *self);
/* Bytes received so far. */
guint64           pajaro_line_reader_get_bytes_read (PajaroLineReader *self);

G_END_DECLS
