/* SPDX-License-Identifier: MIT */
/* jstp-json.c: the strict scanner of jstp-json.h.
 *
 * One pass over the bytes with gotos between three states (value, member
 * name, after a value) and a stack of open containers, so deep input costs
 * stack memory in this frame only, never C recursion. Nothing is allocated
 * until the nesting passes STACK_LEVELS, the open objects hold more than
 * STACK_KEYS names, or one object grows past LINEAR_KEYS members and gets a
 * hash set; a dispatch of a few hundred bytes never allocates.
 */

#include "jstp-json.h"

#include <math.h>
#include <string.h>

#include <sodium.h>

G_DEFINE_QUARK (jstp-json-error-quark, jstp_json_error)

#define STACK_LEVELS 64
#define STACK_KEYS   64

/* Up to this many members, a new name is compared with every earlier one:
 * cheaper than hashing for the handful of headers a dispatch has. */
#define LINEAR_KEYS  16

/* A member name of an object still open: where its bytes are, so that later
 * names can be compared with it without decoding either. */
typedef struct {
  guint32 offset;          /* first byte after the opening quote */
  guint32 raw_length;      /* bytes between the quotes */
  guint32 decoded_length;  /* bytes once unescaped */
  gboolean escaped;        /* contains a backslash */
  guint64 hash;            /* set when the object has a KeySet */
} Key;

/* Open addressing over indices into Scanner.keys; 0 is an empty slot. */
typedef struct {
  guint32 *slots;
  guint32 mask;
  guint32 used;
} KeySet;

typedef struct {
  gboolean is_object;
  guint count;     /* elements or members so far */
  guint key_base;  /* index in Scanner.keys of this object's first name */
  KeySet *set;     /* NULL while the object has few members */
} Level;

typedef struct {
  const guchar *text;
  const guchar *end;
  JstpJsonLimits limits;

  Level *levels;
  guint levels_alloc;
  Key *keys;
  guint n_keys;
  guint keys_alloc;

  /* The first error; turned into a GError once, at the end. */
  JstpJsonError err_code;
  gsize err_offset;
  char *err_message;

  Level level_buf[STACK_LEVELS];
  Key key_buf[STACK_KEYS];
} Scanner;

/* Bytes that stop the run of plain bytes inside a string. */
static const guint8 string_special[256] = {
  [0x00 ... 0x1f] = 1,
  ['"'] = 1,
  ['\\'] = 1,
  [0x80 ... 0xff] = 1,
};

static const guint8 json_space[256] = {
  [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

#define SKIP_SPACE(p, end) \
  G_STMT_START { while ((p) < (end) && json_space[*(p)]) (p)++; } G_STMT_END

void
jstp_json_limits_init (JstpJsonLimits *limits)
{
  g_return_if_fail (limits != NULL);

  limits->max_size = 1024 * 1024;
  limits->max_depth = 64;
  limits->max_tokens = 100000;
  limits->max_array_elements = 10000;
  limits->max_object_members = 1024;
  limits->max_string_length = 256 * 1024;
}

/* Length of the well-formed UTF-8 sequence at @p (Unicode table 3-7), or 0:
 * this refuses overlong forms, UTF-8-encoded surrogates, code points past
 * U+10FFFF and sequences cut short by @end. */
static inline guint
utf8_sequence_length (const guchar *p,
                      const guchar *end)
{
  gsize avail = end - p;
  guchar c = p[0];
  guchar lo = 0x80;
  guchar hi = 0xbf;

  if (c < 0x80)
    return 1;
  if (c < 0xc2)
    return 0;
  if (c < 0xe0)
    return (avail >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
  if (c < 0xf0)
    {
      if (c == 0xe0)
        lo = 0xa0;
      else if (c == 0xed)
        hi = 0x9f;
      if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80)
        return 0;
      return 3;
    }
  if (c < 0xf5)
    {
      if (c == 0xf0)
        lo = 0x90;
      else if (c == 0xf4)
        hi = 0x8f;
      if (avail < 4 || p[1] < lo || p[1] > hi ||
          (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
        return 0;
      return 4;
    }
  return 0;
}

/* Offset of the first byte that makes @text anything but NUL-free UTF-8,
 * or -1 when there is none. */
static gssize
find_bad_encoding (const guchar *text,
                   gsize         length)
{
  const guchar *p = text;
  const guchar *end = text + length;

  while (p < end)
    {
      guint n;

      if (end - p >= 8)
        {
          guint64 w;

          /* Eight ASCII bytes, none of them NUL. */
          memcpy (&w, p, 8);
          if (((w | ((w - 0x0101010101010101ull) & ~w)) & 0x8080808080808080ull) == 0)
            {
              p += 8;
              continue;
            }
        }
      if (*p != 0 && *p < 0x80)
        {
          p++;
          continue;
        }
      n = *p == 0 ? 0 : utf8_sequence_length (p, end);
      if (n == 0)
        return p - text;
      p += n;
    }
  return -1;
}

static inline int
hex_value (guchar c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* The four hex digits at @p, or -1. @p must have four bytes. */
static inline gint32
hex4 (const guchar *p)
{
  int a = hex_value (p[0]);
  int b = hex_value (p[1]);
  int c = hex_value (p[2]);
  int d = hex_value (p[3]);

  if ((a | b | c | d) < 0)
    return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

static inline JstpJsonType
type_from_byte (guchar c)
{
  switch (c)
    {
    case '{': return JSTP_JSON_OBJECT;
    case '[': return JSTP_JSON_ARRAY;
    case '"': return JSTP_JSON_STRING;
    case 't': return JSTP_JSON_TRUE;
    case 'f': return JSTP_JSON_FALSE;
    case 'n': return JSTP_JSON_NULL;
    default:  return JSTP_JSON_NUMBER;
    }
}

/* Error messages end up in logs: quote attacker bytes as escaped ASCII. */
static void
append_quoted (GString      *out,
               const guchar *p,
               gsize         length,
               gsize         max)
{
  gsize i;

  g_string_append_c (out, '"');
  for (i = 0; i < length && i < max; i++)
    {
      if (p[i] == '"' || p[i] == '\\')
        g_string_append_printf (out, "\\%c", p[i]);
      else if (p[i] >= 0x20 && p[i] < 0x7f)
        g_string_append_c (out, p[i]);
      else
        g_string_append_printf (out, "\\x%02x", p[i]);
    }
  g_string_append_c (out, '"');
  if (length > max)
    g_string_append (out, "...");
}

static char *
describe_byte (const guchar *p,
               const guchar *end)
{
  if (p >= end)
    return g_strdup ("end of text");
  if (*p > 0x20 && *p < 0x7f)
    return g_strdup_printf ("'%c'", *p);
  return g_strdup_printf ("byte 0x%02x", *p);
}

G_GNUC_PRINTF (4, 5)
static void
fail (Scanner       *s,
      const guchar  *at,
      JstpJsonError  code,
      const char    *format,
      ...)
{
  va_list args;

  if (s->err_message != NULL)
    return;

  s->err_code = code;
  s->err_offset = at - s->text;
  va_start (args, format);
  s->err_message = g_strdup_vprintf (format, args);
  va_end (args);
}

static void
fail_unexpected (Scanner      *s,
                 const guchar *at,
                 const char   *expected)
{
  g_autofree char *what = describe_byte (at, s->end);

  if (at < s->end && *at == 0)
    fail (s, at, JSTP_JSON_ERROR_ENCODING, "NUL byte");
  else if (at < s->end && *at >= 0x80 && utf8_sequence_length (at, s->end) == 0)
    fail (s, at, JSTP_JSON_ERROR_ENCODING, "invalid UTF-8");
  else
    fail (s, at, JSTP_JSON_ERROR_SYNTAX, "unexpected %s, expected %s", what, expected);
}

/* Scans the string whose opening quote is at *@pp and leaves *@pp after the
 * closing quote. Plain ASCII runs are skipped eight bytes at a time. */
static inline gboolean
scan_string (Scanner       *s,
             const guchar **pp,
             Key           *key)
{
  const guchar *start = *pp;
  const guchar *p = start + 1;
  const guchar *end = s->end;
  gsize saved = 0;  /* raw bytes minus decoded bytes */
  gsize raw_length;

  key->escaped = FALSE;

  for (;;)
    {
      guchar c;

      /* Any '"', '\\', byte < 0x20 or byte >= 0x80 in the word stops the
       * fast loop; the byte loop below then finds which one it was. */
      while (end - p >= 8)
        {
          guint64 w;
          guint64 t;

          memcpy (&w, p, 8);
          t = ((w ^ 0x2222222222222222ull) - 0x0101010101010101ull) & ~(w ^ 0x2222222222222222ull);
          t |= ((w ^ 0x5c5c5c5c5c5c5c5cull) - 0x0101010101010101ull) & ~(w ^ 0x5c5c5c5c5c5c5c5cull);
          t |= (w - 0x2020202020202020ull) & ~w;
          t |= w;
          if (t & 0x8080808080808080ull)
            break;
          p += 8;
        }
      while (p < end && !string_special[*p])
        p++;

      if (G_UNLIKELY (p >= end))
        {
          fail (s, start, JSTP_JSON_ERROR_SYNTAX, "unterminated string");
          return FALSE;
        }

      c = *p;
      if (c == '"')
        break;

      if (c == '\\')
        {
          key->escaped = TRUE;
          if (end - p < 2)
            {
              fail (s, start, JSTP_JSON_ERROR_SYNTAX, "unterminated string");
              return FALSE;
            }
          switch (p[1])
            {
            case '"': case '\\': case '/':
            case 'b': case 'f': case 'n': case 'r': case 't':
              saved += 1;
              p += 2;
              break;

            case 'u':
              {
                gint32 cp;

                if (end - p < 6 || (cp = hex4 (p + 2)) < 0)
                  {
                    fail (s, p, JSTP_JSON_ERROR_SYNTAX, "invalid \\u escape");
                    return FALSE;
                  }
                if (cp == 0)
                  {
                    fail (s, p, JSTP_JSON_ERROR_ENCODING, "\\u0000 in a string");
                    return FALSE;
                  }
                if (cp >= 0xdc00 && cp <= 0xdfff)
                  {
                    fail (s, p, JSTP_JSON_ERROR_ENCODING,
                          "low surrogate \\u%04x without a high surrogate", (guint) cp);
                    return FALSE;
                  }
                if (cp >= 0xd800 && cp <= 0xdbff)
                  {
                    gint32 lo;

                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
                      {
                        fail (s, p, JSTP_JSON_ERROR_ENCODING,
                              "high surrogate \\u%04x without a low surrogate", (guint) cp);
                        return FALSE;
                      }
                    if ((lo = hex4 (p + 8)) < 0)
                      {
                        fail (s, p + 6, JSTP_JSON_ERROR_SYNTAX, "invalid \\u escape");
                        return FALSE;
                      }
                    if (lo < 0xdc00 || lo > 0xdfff)
                      {
                        fail (s, p, JSTP_JSON_ERROR_ENCODING,
                              "high surrogate \\u%04x without a low surrogate", (guint) cp);
                        return FALSE;
                      }
                    saved += 12 - 4;
                    p += 12;
                  }
                else
                  {
                    saved += 6 - (cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3);
                    p += 6;
                  }
              }
              break;

            default:
              fail (s, p, JSTP_JSON_ERROR_SYNTAX, "invalid escape");
              return FALSE;
            }
        }
      else if (c >= 0x80)
        {
          guint n = utf8_sequence_length (p, end);

          if (G_UNLIKELY (n == 0))
            {
              fail (s, p, JSTP_JSON_ERROR_ENCODING, "invalid UTF-8");
              return FALSE;
            }
          p += n;
        }
      else if (c == 0)
        {
          fail (s, p, JSTP_JSON_ERROR_ENCODING, "NUL byte");
          return FALSE;
        }
      else
        {
          fail (s, p, JSTP_JSON_ERROR_SYNTAX,
                "raw control character U+%04X in a string", (guint) c);
          return FALSE;
        }
    }

  raw_length = p - (start + 1);
  if (G_UNLIKELY (raw_length > s->limits.max_string_length))
    {
      fail (s, start, JSTP_JSON_ERROR_LIMIT,
            "string of %" G_GSIZE_FORMAT " bytes is longer than the limit of %"
            G_GSIZE_FORMAT, raw_length, s->limits.max_string_length);
      return FALSE;
    }

  key->offset = start + 1 - s->text;
  key->raw_length = raw_length;
  key->decoded_length = raw_length - saved;
  *pp = p + 1;
  return TRUE;
}

/* Whether a number whose first significant digit is at @sig, with decimal
 * exponent @e10 (the power of ten of that digit), overflows a double. Only
 * e10 == 308 needs strtod, on at most 320 digits: the rounding boundary
 * 2^1024 - 2^970 is an integer of 309 digits, so later digits cannot change
 * which side of it the value falls on. */
static gboolean
double_overflows (const guchar *sig,
                  const guchar *end,
                  gint64        e10)
{
  char buf[352];
  gsize n = 0;
  double d;

  if (e10 < 308)
    return FALSE;
  if (e10 > 308)
    return TRUE;

  for (; sig < end && n < 320; sig++)
    {
      if (*sig == '.')
        continue;
      if (*sig < '0' || *sig > '9')
        break;
      buf[n++] = *sig;
    }
  g_snprintf (buf + n, sizeof buf - n, "e%d", (int) (e10 - (gint64) (n - 1)));
  d = g_ascii_strtod (buf, NULL);
  return isinf (d);
}

static inline gboolean
scan_number (Scanner       *s,
             const guchar **pp)
{
  const guchar *start = *pp;
  const guchar *p = start;
  const guchar *end = s->end;
  const guchar *int_start;
  const guchar *int_end;
  const guchar *frac_start = NULL;
  const guchar *frac_end = NULL;
  gboolean negative = FALSE;
  gboolean is_integer = TRUE;
  gint64 exponent = 0;

  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }

  int_start = p;
  if (p >= end || *p < '0' || *p > '9')
    {
      g_autofree char *what = describe_byte (p, end);

      fail (s, p, JSTP_JSON_ERROR_SYNTAX, "unexpected %s, expected a digit after '-'", what);
      return FALSE;
    }
  if (*p == '0')
    {
      p++;
      if (p < end && *p >= '0' && *p <= '9')
        {
          fail (s, start, JSTP_JSON_ERROR_SYNTAX, "number with a leading zero");
          return FALSE;
        }
    }
  else
    {
      while (p < end && *p >= '0' && *p <= '9')
        p++;
    }
  int_end = p;

  if (p < end && *p == '.')
    {
      is_integer = FALSE;
      p++;
      frac_start = p;
      while (p < end && *p >= '0' && *p <= '9')
        p++;
      frac_end = p;
      if (frac_start == frac_end)
        {
          fail (s, p, JSTP_JSON_ERROR_SYNTAX, "expected a digit after '.'");
          return FALSE;
        }
    }

  if (p < end && (*p == 'e' || *p == 'E'))
    {
      gboolean exp_negative = FALSE;
      const guchar *exp_start;

      is_integer = FALSE;
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        {
          exp_negative = *p == '-';
          p++;
        }
      exp_start = p;
      while (p < end && *p >= '0' && *p <= '9')
        {
          /* Saturate: anything this large is out of range either way. */
          if (exponent < 1000000000)
            exponent = exponent * 10 + (*p - '0');
          p++;
        }
      if (exp_start == p)
        {
          fail (s, p, JSTP_JSON_ERROR_SYNTAX, "expected a digit in the exponent");
          return FALSE;
        }
      if (exp_negative)
        exponent = -exponent;
    }

  if (is_integer)
    {
      gsize digits = int_end - int_start;

      if (G_UNLIKELY (digits >= 19) &&
          (digits > 19 ||
           memcmp (int_start, negative ? "9223372036854775808" : "9223372036854775807", 19) > 0))
        {
          fail (s, start, JSTP_JSON_ERROR_NUMBER_RANGE, "integer outside the 64-bit range");
          return FALSE;
        }
    }
  else if (G_UNLIKELY (exponent > 0 || int_end - int_start > 300))
    {
      const guchar *sig;
      gint64 e10 = 0;
      gboolean zero = FALSE;

      for (sig = int_start; sig < int_end && *sig == '0'; sig++)
        ;
      if (sig < int_end)
        e10 = (int_end - sig) - 1;
      else if (frac_start != NULL)
        {
          for (sig = frac_start; sig < frac_end && *sig == '0'; sig++)
            ;
          if (sig < frac_end)
            e10 = -(gint64) (sig - frac_start) - 1;
          else
            zero = TRUE;
        }
      else
        zero = TRUE;

      if (!zero && double_overflows (sig, p, e10 + exponent))
        {
          fail (s, start, JSTP_JSON_ERROR_NUMBER_RANGE, "number too large for a double");
          return FALSE;
        }
    }

  *pp = p;
  return TRUE;
}

static inline guint64
hash_bytes (const guchar *p,
            gsize         length)
{
  static gsize seeded = 0;
  static guchar seed[crypto_shorthash_KEYBYTES];
  guchar out[crypto_shorthash_BYTES];
  guint64 h;

  /* A secret per-process key, so that nobody can prepare names that all
   * land in one bucket (the g_str_hash flood of security.md 0). */
  if (g_once_init_enter (&seeded))
    {
      if (sodium_init () >= 0)
        randombytes_buf (seed, sizeof seed);
      else
        {
          /* GRand is seeded from /dev/urandom; never printed, it will do. */
          for (gsize i = 0; i < sizeof seed; i++)
            seed[i] = g_random_int ();
        }
      g_once_init_leave (&seeded, 1);
    }

  crypto_shorthash (out, p, length, seed);
  memcpy (&h, out, sizeof h);
  return h;
}

/* Decodes the escape at *@pp (a backslash) and moves past it. Texts that
 * were never scanned still give a character: U+FFFD for anything broken. */
static gunichar
decode_escape (const guchar **pp,
               const guchar  *end)
{
  const guchar *p = *pp;
  gint32 cp;

  if (end - p < 2)
    {
      *pp = end;
      return 0xfffd;
    }
  *pp = p + 2;
  switch (p[1])
    {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': break;
    default:  return p[1];
    }

  if (end - p < 6 || (cp = hex4 (p + 2)) < 0)
    return 0xfffd;
  *pp = p + 6;
  if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
    return 0xfffd;
  if (cp >= 0xd800 && cp <= 0xdbff)
    {
      gint32 lo;

      if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
          (lo = hex4 (p + 8)) < 0 || lo < 0xdc00 || lo > 0xdfff)
        return 0xfffd;
      *pp = p + 12;
      return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
  return cp;
}

/* The next character of string content at *@pp, escaped or not. */
static gunichar
next_char (const guchar **pp,
           const guchar  *end)
{
  const guchar *p = *pp;
  guint n;

  if (*p == '\\')
    return decode_escape (pp, end);
  if (*p < 0x80)
    {
      *pp = p + 1;
      return *p;
    }
  n = utf8_sequence_length (p, end);
  if (n == 0)
    {
      *pp = p + 1;
      return 0xfffd;
    }
  *pp = p + n;
  return g_utf8_get_char ((const char *) p);
}

/* Unescapes [@p, @end) into @out, which has room for end - p bytes (no
 * escape decodes to more bytes than it takes). Returns the bytes written. */
static gsize
decode_into (const guchar *p,
             const guchar *end,
             char         *out)
{
  char *o = out;

  while (p < end)
    {
      const guchar *bs = memchr (p, '\\', end - p);
      gsize run = (bs != NULL ? bs : end) - p;

      memcpy (o, p, run);
      o += run;
      p += run;
      if (p < end)
        o += g_unichar_to_utf8 (decode_escape (&p, end), o);
    }
  return o - out;
}

static guint64
hash_key (const Scanner *s,
          const Key     *key)
{
  const guchar *p = s->text + key->offset;
  char stack_buf[256];
  g_autofree char *heap_buf = NULL;
  char *buf = stack_buf;
  gsize n;

  if (!key->escaped)
    return hash_bytes (p, key->raw_length);

  if (key->raw_length > sizeof stack_buf)
    buf = heap_buf = g_malloc (key->raw_length);
  n = decode_into (p, p + key->raw_length, buf);
  return hash_bytes ((const guchar *) buf, n);
}

static gboolean
keys_equal (const Scanner *s,
            const Key     *a,
            const Key     *b)
{
  const guchar *pa = s->text + a->offset;
  const guchar *pb = s->text + b->offset;
  const guchar *ea = pa + a->raw_length;
  const guchar *eb = pb + b->raw_length;

  if (a->decoded_length != b->decoded_length)
    return FALSE;
  if (!a->escaped && !b->escaped)
    return memcmp (pa, pb, a->raw_length) == 0;

  while (pa < ea && pb < eb)
    {
      if (next_char (&pa, ea) != next_char (&pb, eb))
        return FALSE;
    }
  return pa == ea && pb == eb;
}

static void
key_set_insert (KeySet        *set,
                const Scanner *s,
                guint32        index)
{
  guint32 i = (guint32) s->keys[index].hash & set->mask;

  while (set->slots[i] != 0)
    i = (i + 1) & set->mask;
  set->slots[i] = index + 1;
  set->used++;
}

static void
key_set_grow (KeySet        *set,
              const Scanner *s)
{
  g_autofree guint32 *old = set->slots;
  guint32 old_size = set->mask + 1;
  guint32 size = old_size * 2;
  guint32 i;

  set->slots = g_new0 (guint32, size);
  set->mask = size - 1;
  set->used = 0;
  for (i = 0; i < old_size; i++)
    {
      if (old[i] != 0)
        key_set_insert (set, s, old[i] - 1);
    }
}

static void
key_set_free (KeySet *set)
{
  if (set == NULL)
    return;
  g_free (set->slots);
  g_free (set);
}

/* Records the name @key of the object @level, or returns FALSE when the
 * object already has a member of that name. */
static gboolean
add_key (Scanner *s,
         Level   *level,
         Key     *key)
{
  guint32 index;

  if (level->set == NULL && s->n_keys - level->key_base < LINEAR_KEYS)
    {
      guint i;

      for (i = level->key_base; i < s->n_keys; i++)
        {
          if (keys_equal (s, &s->keys[i], key))
            return FALSE;
        }
    }
  else
    {
      guint32 i;

      if (level->set == NULL)
        {
          level->set = g_new0 (KeySet, 1);
          level->set->slots = g_new0 (guint32, 4 * LINEAR_KEYS);
          level->set->mask = 4 * LINEAR_KEYS - 1;
          for (i = level->key_base; i < s->n_keys; i++)
            {
              s->keys[i].hash = hash_key (s, &s->keys[i]);
              key_set_insert (level->set, s, i);
            }
        }

      key->hash = hash_key (s, key);
      for (i = (guint32) key->hash & level->set->mask;
           level->set->slots[i] != 0;
           i = (i + 1) & level->set->mask)
        {
          const Key *other = &s->keys[level->set->slots[i] - 1];

          if (other->hash == key->hash && keys_equal (s, other, key))
            return FALSE;
        }
    }

  if (G_UNLIKELY (s->n_keys == s->keys_alloc))
    {
      Key *grown = g_new (Key, s->keys_alloc * 2);

      memcpy (grown, s->keys, sizeof *grown * s->n_keys);
      if (s->keys != s->key_buf)
        g_free (s->keys);
      s->keys = grown;
      s->keys_alloc *= 2;
    }
  index = s->n_keys++;
  s->keys[index] = *key;

  if (level->set != NULL)
    {
      if ((level->set->used + 1) * 2 > level->set->mask + 1)
        key_set_grow (level->set, s);
      key_set_insert (level->set, s, index);
    }
  return TRUE;
}

gboolean
jstp_json_scan (const char            *text,
                gsize                  length,
                const JstpJsonLimits  *limits,
                JstpJsonSpan          *root,
                JstpJsonMember        *members,
                guint                  max_members,
                guint                 *n_members,
                GError               **error)
{
  Scanner s;
  const guchar *p;
  const guchar *end;
  const guchar *root_start = NULL;
  const guchar *value_start = NULL;
  Level *top = NULL;
  guint depth = 0;
  guint tokens = 0;
  guint n_top = 0;
  gboolean root_is_object = FALSE;
  gboolean ok = FALSE;
  Key key;
  guint i;

  g_return_val_if_fail (text != NULL || length == 0, FALSE);
  g_return_val_if_fail (members != NULL || max_members == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  s.text = (const guchar *) (text != NULL ? text : "");
  s.end = s.text + length;
  if (limits != NULL)
    s.limits = *limits;
  else
    jstp_json_limits_init (&s.limits);
  s.levels = s.level_buf;
  s.levels_alloc = STACK_LEVELS;
  s.keys = s.key_buf;
  s.n_keys = 0;
  s.keys_alloc = STACK_KEYS;
  s.err_message = NULL;

  p = s.text;
  end = s.end;

  if (n_members != NULL)
    *n_members = 0;

  if (length > s.limits.max_size || length > G_MAXUINT32)
    {
      g_set_error (error, JSTP_JSON_ERROR, JSTP_JSON_ERROR_LIMIT,
                   "at byte 0: text of %" G_GSIZE_FORMAT " bytes is larger than the limit of %"
                   G_GSIZE_FORMAT, length, MIN (s.limits.max_size, (gsize) G_MAXUINT32));
      return FALSE;
    }

  SKIP_SPACE (p, end);
  if (p == end)
    {
      fail (&s, p, JSTP_JSON_ERROR_EMPTY, "no value, only whitespace");
      goto out;
    }
  if (end - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
    {
      fail (&s, p, JSTP_JSON_ERROR_SYNTAX, "byte order mark");
      goto out;
    }
  root_start = p;
  root_is_object = *p == '{';

value:
  /* At the first byte of a value; whitespace already skipped. */
  if (G_UNLIKELY (++tokens > s.limits.max_tokens))
    {
      fail (&s, p, JSTP_JSON_ERROR_LIMIT, "more than %u tokens", s.limits.max_tokens);
      goto out;
    }
  if (G_UNLIKELY (p >= end))
    {
      fail (&s, p, JSTP_JSON_ERROR_SYNTAX, "unexpected end of text, expected a value");
      goto out;
    }

  switch (*p)
    {
    case '{':
    case '[':
      if (G_UNLIKELY (depth >= s.limits.max_depth))
        {
          fail (&s, p, JSTP_JSON_ERROR_DEPTH, "nesting deeper than %u", s.limits.max_depth);
          goto out;
        }
      if (G_UNLIKELY (depth == s.levels_alloc))
        {
          Level *grown = g_new (Level, s.levels_alloc * 2);

          memcpy (grown, s.levels, sizeof *grown * depth);
          if (s.levels != s.level_buf)
            g_free (s.levels);
          s.levels = grown;
          s.levels_alloc *= 2;
        }
      top = &s.levels[depth++];
      top->is_object = *p == '{';
      top->count = 0;
      top->key_base = s.n_keys;
      top->set = NULL;
      p++;
      SKIP_SPACE (p, end);
      if (top->is_object)
        {
          if (p < end && *p == '}')
            {
              p++;
              goto close_container;
            }
          goto member;
        }
      if (p < end && *p == ']')
        {
          p++;
          goto close_container;
        }
      if (G_UNLIKELY (++top->count > s.limits.max_array_elements))
        {
          fail (&s, p, JSTP_JSON_ERROR_LIMIT, "array of more than %u elements",
                s.limits.max_array_elements);
          goto out;
        }
      goto value;

    case '"':
      if (!scan_string (&s, &p, &key))
        goto out;
      goto after_value;

    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      if (!scan_number (&s, &p))
        goto out;
      goto after_value;

    case 't':
      if (end - p < 4 || memcmp (p, "true", 4) != 0)
        goto bad_literal;
      p += 4;
      goto after_value;

    case 'f':
      if (end - p < 5 || memcmp (p, "false", 5) != 0)
        goto bad_literal;
      p += 5;
      goto after_value;

    case 'n':
      if (end - p < 4 || memcmp (p, "null", 4) != 0)
        goto bad_literal;
      p += 4;
      goto after_value;

    default:
      fail_unexpected (&s, p, "a value");
      goto out;
    }

bad_literal:
  fail (&s, p, JSTP_JSON_ERROR_SYNTAX, "invalid literal");
  goto out;

close_container:
  if (top->set != NULL)
    {
      key_set_free (top->set);
      top->set = NULL;
    }
  if (top->is_object)
    s.n_keys = top->key_base;
  depth--;
  top = depth > 0 ? &s.levels[depth - 1] : NULL;
  /* fall through: the container was a value */

after_value:
  /* Just past a value; top is the container it belongs to. */
  if (depth == 1 && root_is_object && n_top <= max_members)
    {
      members[n_top - 1].value.type = type_from_byte (*value_start);
      members[n_top - 1].value.offset = value_start - s.text;
      members[n_top - 1].value.length = p - value_start;
    }
  if (G_UNLIKELY (depth == 0))
    {
      const guchar *root_end = p;

      SKIP_SPACE (p, end);
      if (p != end)
        {
          fail_unexpected (&s, p, "end of text after the value");
          goto out;
        }
      if (root != NULL)
        {
          root->type = type_from_byte (*root_start);
          root->offset = root_start - s.text;
          root->length = root_end - root_start;
        }
      ok = TRUE;
      goto out;
    }

  SKIP_SPACE (p, end);
  if (G_UNLIKELY (p >= end))
    {
      fail (&s, p, JSTP_JSON_ERROR_SYNTAX, "unexpected end of text, expected ',' or '%c'",
            top->is_object ? '}' : ']');
      goto out;
    }
  if (*p == ',')
    {
      p++;
      SKIP_SPACE (p, end);
      if (top->is_object)
        goto member;
      if (G_UNLIKELY (++top->count > s.limits.max_array_elements))
        {
          fail (&s, p, JSTP_JSON_ERROR_LIMIT, "array of more than %u elements",
                s.limits.max_array_elements);
          goto out;
        }
      goto value;
    }
  if (*p == (top->is_object ? '}' : ']'))
    {
      p++;
      goto close_container;
    }
  fail_unexpected (&s, p, top->is_object ? "',' or '}'" : "',' or ']'");
  goto out;

member:
  /* At the name of a member; whitespace already skipped. */
  if (G_UNLIKELY (p >= end || *p != '"'))
    {
      fail_unexpected (&s, p, "a member name");
      goto out;
    }
  if (G_UNLIKELY (++top->count > s.limits.max_object_members))
    {
      fail (&s, p, JSTP_JSON_ERROR_LIMIT, "object of more than %u members",
            s.limits.max_object_members);
      goto out;
    }
  if (G_UNLIKELY (++tokens > s.limits.max_tokens))
    {
      fail (&s, p, JSTP_JSON_ERROR_LIMIT, "more than %u tokens", s.limits.max_tokens);
      goto out;
    }
  {
    const guchar *name_start = p;

    if (!scan_string (&s, &p, &key))
      goto out;
    if (G_UNLIKELY (!add_key (&s, top, &key)))
      {
        g_autoptr(GString) quoted = g_string_new (NULL);

        append_quoted (quoted, name_start + 1, key.raw_length, 64);
        fail (&s, name_start, JSTP_JSON_ERROR_DUPLICATE_KEY, "duplicate key %s", quoted->str);
        goto out;
      }
    SKIP_SPACE (p, end);
    if (G_UNLIKELY (p >= end || *p != ':'))
      {
        fail_unexpected (&s, p, "':'");
        goto out;
      }
    p++;
    SKIP_SPACE (p, end);

    if (depth == 1 && root_is_object)
      {
        if (n_top < max_members)
          {
            members[n_top].name.type = JSTP_JSON_STRING;
            members[n_top].name.offset = name_start - s.text;
            members[n_top].name.length = key.raw_length + 2;
          }
        n_top++;
        value_start = p;
      }
  }
  goto value;

out:
  for (i = 0; i < depth; i++)
    key_set_free (s.levels[i].set);
  if (s.levels != s.level_buf)
    g_free (s.levels);
  if (s.keys != s.key_buf)
    g_free (s.keys);

  if (ok)
    {
      if (n_members != NULL)
        *n_members = n_top;
      return TRUE;
    }

  g_assert (s.err_message != NULL);

  /* Bytes that are not NUL-free UTF-8 anywhere in the text win over a
   * grammar error found earlier, so that the framing layer can rely on the
   * code to close the connection. */
  if (s.err_code != JSTP_JSON_ERROR_ENCODING)
    {
      gssize bad = find_bad_encoding (s.text, length);

      if (bad >= 0)
        {
          g_free (s.err_message);
          s.err_code = JSTP_JSON_ERROR_ENCODING;
          s.err_offset = bad;
          s.err_message = g_strdup (s.text[bad] == 0 ? "NUL byte" : "invalid UTF-8");
        }
    }

  g_set_error (error, JSTP_JSON_ERROR, s.err_code, "at byte %" G_GSIZE_FORMAT ": %s",
               s.err_offset, s.err_message);
  g_free (s.err_message);
  return FALSE;
}

/* Past the string whose opening quote is at @p. */
static const guchar *
skip_string (const guchar *p,
             const guchar *end)
{
  for (p++; p < end; p++)
    {
      if (*p == '"')
        return p + 1;
      if (*p == '\\')
        p++;
    }
  return end;
}

/* Past the value at @p, which the scanner has accepted: no checks beyond
 * staying inside [@p, @end). */
static const guchar *
skip_value (const guchar *p,
            const guchar *end)
{
  guint depth = 0;

  switch (*p)
    {
    case '"':
      return skip_string (p, end);

    case '[':
    case '{':
      while (p < end)
        {
          switch (*p)
            {
            case '"':
              p = skip_string (p, end);
              continue;
            case '[':
            case '{':
              depth++;
              break;
            case ']':
            case '}':
              if (--depth == 0)
                return p + 1;
              break;
            default:
              break;
            }
          p++;
        }
      return end;

    default:
      while (p < end && !json_space[*p] && *p != ',' && *p != ']' && *p != '}')
        p++;
      return p;
    }
}

/**
 * jstp_json_string_dup:
 * @text: a text accepted by jstp_json_scan()
 * @span: a %JSTP_JSON_STRING span of @text
 * @out_length: (out) (optional): bytes in the result, without the final NUL
 *
 * Returns: (transfer full): the unescaped string
 */
char *
jstp_json_string_dup (const char   *text,
                      JstpJsonSpan  span,
                      gsize        *out_length)
{
  const guchar *p;
  char *out;
  gsize n;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (span.type == JSTP_JSON_STRING && span.length >= 2, NULL);

  p = (const guchar *) text + span.offset + 1;
  out = g_malloc (span.length - 1);
  n = decode_into (p, p + span.length - 2, out);
  out[n] = '\0';
  if (out_length != NULL)
    *out_length = n;
  return out;
}

gboolean
jstp_json_string_equal (const char   *text,
                        JstpJsonSpan  span,
                        const char   *literal,
                        gboolean      ascii_nocase)
{
  const guchar *p;
  const guchar *end;
  const guchar *l = (const guchar *) literal;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (literal != NULL, FALSE);

  if (span.type != JSTP_JSON_STRING || span.length < 2)
    return FALSE;

  p = (const guchar *) text + span.offset + 1;
  end = p + span.length - 2;

  while (p < end)
    {
      guchar buf[6];
      guint n;
      guint i;

      if (*p != '\\')
        {
          buf[0] = *p++;
          n = 1;
        }
      else
        n = g_unichar_to_utf8 (decode_escape (&p, end), (char *) buf);

      for (i = 0; i < n; i++, l++)
        {
          if (*l == '\0')
            return FALSE;
          if (ascii_nocase ? g_ascii_tolower (buf[i]) != g_ascii_tolower (*l) : buf[i] != *l)
            return FALSE;
        }
    }
  return *l == '\0';
}

gboolean
jstp_json_number_get_int64 (const char   *text,
                            JstpJsonSpan  span,
                            gint64       *out)
{
  const guchar *p;
  const guchar *end;
  gboolean negative = FALSE;
  guint64 magnitude = 0;
  guint64 max;

  g_return_val_if_fail (text != NULL, FALSE);

  if (span.type != JSTP_JSON_NUMBER || span.length == 0)
    return FALSE;

  p = (const guchar *) text + span.offset;
  end = p + span.length;
  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }
  if (p == end)
    return FALSE;

  max = negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64;
  for (; p < end; p++)
    {
      guint digit;

      if (*p < '0' || *p > '9')
        return FALSE;
      digit = *p - '0';
      if (magnitude > (max - digit) / 10)
        return FALSE;
      magnitude = magnitude * 10 + digit;
    }

  if (out != NULL)
    *out = negative ? (gint64) (0 - magnitude) : (gint64) magnitude;
  return TRUE;
}

void
jstp_json_iter_init (JstpJsonIter *iter,
                     const char   *text,
                     JstpJsonSpan  container)
{
  g_return_if_fail (iter != NULL);

  iter->text = text;
  iter->pos = 0;
  iter->end = 0;

  g_return_if_fail (text != NULL);
  g_return_if_fail (container.type == JSTP_JSON_ARRAY || container.type == JSTP_JSON_OBJECT);
  g_return_if_fail (container.length >= 2);

  iter->pos = container.offset + 1;
  iter->end = container.offset + container.length - 1;
}

/* Moves to the next child, past whitespace and a separating comma. */
static const guchar *
iter_advance (JstpJsonIter *iter)
{
  const guchar *p = (const guchar *) iter->text + iter->pos;
  const guchar *end = (const guchar *) iter->text + iter->end;

  SKIP_SPACE (p, end);
  if (p < end && *p == ',')
    {
      p++;
      SKIP_SPACE (p, end);
    }
  return p;
}

gboolean
jstp_json_iter_next (JstpJsonIter *iter,
                     JstpJsonSpan *value)
{
  const guchar *p;
  const guchar *end;
  const guchar *value_end;

  g_return_val_if_fail (iter != NULL, FALSE);

  if (iter->pos >= iter->end)
    return FALSE;

  p = iter_advance (iter);
  end = (const guchar *) iter->text + iter->end;
  if (p >= end)
    {
      iter->pos = iter->end;
      return FALSE;
    }

  value_end = skip_value (p, end);
  if (value != NULL)
    {
      value->type = type_from_byte (*p);
      value->offset = p - (const guchar *) iter->text;
      value->length = value_end - p;
    }
  iter->pos = value_end - (const guchar *) iter->text;
  return TRUE;
}

gboolean
jstp_json_iter_next_member (JstpJsonIter *iter,
                            JstpJsonSpan *name,
                            JstpJsonSpan *value)
{
  const guchar *text;
  const guchar *p;
  const guchar *end;
  const guchar *name_end;
  const guchar *value_end;

  g_return_val_if_fail (iter != NULL, FALSE);

  if (iter->pos >= iter->end)
    return FALSE;

  text = (const guchar *) iter->text;
  p = iter_advance (iter);
  end = text + iter->end;
  if (p >= end || *p != '"')
    {
      iter->pos = iter->end;
      return FALSE;
    }

  name_end = skip_string (p, end);
  if (name != NULL)
    {
      name->type = JSTP_JSON_STRING;
      name->offset = p - text;
      name->length = name_end - p;
    }

  p = name_end;
  SKIP_SPACE (p, end);
  if (p >= end || *p != ':')
    {
      iter->pos = iter->end;
      return FALSE;
    }
  p++;
  SKIP_SPACE (p, end);
  if (p >= end)
    {
      iter->pos = iter->end;
      return FALSE;
    }

  value_end = skip_value (p, end);
  if (value != NULL)
    {
      value->type = type_from_byte (*p);
      value->offset = p - text;
      value->length = value_end - p;
    }
  iter->pos = value_end - text;
  return TRUE;
}

guint
jstp_json_count_children (const char   *text,
                          JstpJsonSpan  container)
{
  JstpJsonIter iter;
  guint n = 0;

  g_return_val_if_fail (text != NULL, 0);
  g_return_val_if_fail (container.type == JSTP_JSON_ARRAY ||
                        container.type == JSTP_JSON_OBJECT, 0);

  jstp_json_iter_init (&iter, text, container);
  if (container.type == JSTP_JSON_OBJECT)
    {
      while (jstp_json_iter_next_member (&iter, NULL, NULL))
        n++;
    }
  else
    {
      while (jstp_json_iter_next (&iter, NULL))
        n++;
    }
  return n;
}

/**
 * jstp_json_append_string:
 *
 * Bytes of @utf8 that are not valid UTF-8 become U+FFFD, so that the output
 * is always valid JSON whatever the caller passes.
 */
void
jstp_json_append_string (GString    *out,
                         const char *utf8,
                         gssize      length)
{
  static const char short_escapes[0x20] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
  };
  const guchar *p;
  const guchar *end;

  g_return_if_fail (out != NULL);
  g_return_if_fail (utf8 != NULL || length == 0);

  if (length < 0)
    length = strlen (utf8);
  p = (const guchar *) utf8;
  end = p + length;

  g_string_append_c (out, '"');
  while (p < end)
    {
      const guchar *run = p;
      guchar c;

      while (p < end && !string_special[*p])
        p++;
      if (p > run)
        g_string_append_len (out, (const char *) run, p - run);
      if (p == end)
        break;

      c = *p;
      if (c >= 0x80)
        {
          guint n = utf8_sequence_length (p, end);

          if (n == 0)
            {
              g_string_append (out, "\xef\xbf\xbd");
              p++;
            }
          else
            {
              g_string_append_len (out, (const char *) p, n);
              p += n;
            }
          continue;
        }

      g_string_append_c (out, '\\');
      if (c == '"' || c == '\\')
        g_string_append_c (out, c);
      else if (short_escapes[c] != 0)
        g_string_append_c (out, short_escapes[c]);
      else
        g_string_append_printf (out, "u%04x", c);
      p++;
    }
  g_string_append_c (out, '"');
}
