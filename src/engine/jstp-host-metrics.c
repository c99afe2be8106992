/* SPDX-License-Identifier: MIT */
/* jstp-host-metrics.c: the header says what each figure means; this file
 * says where it comes from. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "jstp-host-metrics.h"

/* procfs files are small; the bound only guards against a file that never
 * ends (a fake root in a test pointing at a device, say). */
#define MAX_FILE_SIZE   (1024 * 1024)
#define READ_CHUNK      (16 * 1024)

/* How far below a threshold saturation must fall to leave its level. */
#define LEVEL_HYSTERESIS 0.05

/* /proc/uptime has a resolution of 10 ms: rates over shorter intervals
 * would be mostly rounding, so such a sample keeps the older baseline. */
#define MIN_INTERVAL    0.1

typedef enum {
  SOURCE_STAT,
  SOURCE_SELF_STAT,
  SOURCE_UPTIME,
  SOURCE_MEMINFO,
  SOURCE_NET_DEV,
  SOURCE_LOADAVG,
  SOURCE_DISK,
  N_SOURCES
} Source;

static const char * const source_files[] = {
  [SOURCE_STAT]      = "stat",
  [SOURCE_SELF_STAT] = "self/stat",
  [SOURCE_UPTIME]    = "uptime",
  [SOURCE_MEMINFO]   = "meminfo",
  [SOURCE_NET_DEV]   = "net/dev",
  [SOURCE_LOADAVG]   = "loadavg",
  [SOURCE_DISK]      = NULL,
};

typedef struct {
  guint64 rx;
  guint64 tx;
} NetCounters;

struct _JstpHostMetrics
{
  GObject parent_instance;

  char *proc_root;
  char *paths[N_SOURCES];
  char *data_dir;
  double busy_threshold;
  double critical_threshold;
  double engine_load;

  /* Every file is read into this one buffer and parsed before the next is
   * read, so a sample allocates nothing for file contents. */
  GByteArray *buffer;
  /* Sources that failed once: a missing file fails the same way every
   * second, so it is logged only the first time. */
  guint failed_sources;

  /* Baselines from the previous sample. */
  guint64 n_samples;
  guint64 prev_cpu_total;
  guint64 prev_cpu_idle;
  gboolean have_process_baseline;
  guint64 prev_process_ticks;
  double prev_process_uptime;
  GHashTable *prev_net;   /* interface name → NetCounters; NULL before the first sample */
  double prev_net_uptime;

  /* Figures of the last sample. */
  double cpu;
  double process_cpu;
  guint n_cpus;
  guint64 memory_total;
  guint64 memory_available;
  guint64 disk_total;
  guint64 disk_free;
  double disk_used;
  double net_rx_bps;
  double net_tx_bps;
  double load1;
  double saturation;
  JstpSaturationLevel level;
};

G_DEFINE_FINAL_TYPE (JstpHostMetrics, jstp_host_metrics, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (JstpSaturationLevel, jstp_saturation_level,
  G_DEFINE_ENUM_VALUE (JSTP_SATURATION_OK, "ok"),
  G_DEFINE_ENUM_VALUE (JSTP_SATURATION_BUSY, "busy"),
  G_DEFINE_ENUM_VALUE (JSTP_SATURATION_CRITICAL, "critical"))

enum {
  PROP_0,
  PROP_PROC_ROOT,
  PROP_DATA_DIR,
  PROP_BUSY_THRESHOLD,
  PROP_CRITICAL_THRESHOLD,
  PROP_ENGINE_LOAD,
  PROP_CPU,
  PROP_PROCESS_CPU,
  PROP_N_CPUS,
  PROP_MEMORY_TOTAL,
  PROP_MEMORY_AVAILABLE,
  PROP_DISK_TOTAL,
  PROP_DISK_FREE,
  PROP_NET_RX_BPS,
  PROP_NET_TX_BPS,
  PROP_LOAD1,
  PROP_SATURATION,
  PROP_LEVEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  LEVEL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

const char *
jstp_saturation_level_to_string (JstpSaturationLevel level)
{
  switch (level)
    {
    case JSTP_SATURATION_OK:
      return "ok";
    case JSTP_SATURATION_BUSY:
      return "busy";
    case JSTP_SATURATION_CRITICAL:
      return "critical";
    default:
      g_return_val_if_reached ("ok");
    }
}

static void
note_failure (JstpHostMetrics *self,
              Source           source,
              const char      *what,
              const char      *reason)
{
  if (self->failed_sources & (1u << source))
    return;

  self->failed_sources |= 1u << source;
  g_debug ("Host metrics: %s: %s; the figures that depend on it keep their last value",
           what, reason);
}

/* Returns the NUL-terminated contents of a file under the proc root, owned
 * by @self until the next read, or NULL. */
static const char *
read_proc_file (JstpHostMetrics *self,
                Source           source)
{
  const char *path = self->paths[source];
  int fd;

  g_byte_array_set_size (self->buffer, 0);

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      note_failure (self, source, path, g_strerror (errno));
      return NULL;
    }

  while (self->buffer->len < MAX_FILE_SIZE)
    {
      guint len = self->buffer->len;
      gssize n;

      g_byte_array_set_size (self->buffer, len + READ_CHUNK);
      n = read (fd, self->buffer->data + len, READ_CHUNK);
      if (n < 0)
        {
          int errsv = errno;

          g_byte_array_set_size (self->buffer, len);
          if (errsv == EINTR)
            continue;

          close (fd);
          note_failure (self, source, path, g_strerror (errsv));
          return NULL;
        }

      g_byte_array_set_size (self->buffer, len + n);
      if (n == 0)
        break;
    }

  close (fd);
  g_byte_array_append (self->buffer, (const guint8 *) "", 1);

  return (const char *) self->buffer->data;
}

static const char *
next_line (const char *line)
{
  const char *nl = strchr (line, '\n');

  return nl != NULL ? nl + 1 : NULL;
}

static void
set_double (JstpHostMetrics *self,
            double          *field,
            double           value,
            guint            prop_id)
{
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_uint64 (JstpHostMetrics *self,
            guint64         *field,
            guint64          value,
            guint            prop_id)
{
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static double
clamp_fraction (double value)
{
  if (isnan (value))
    return 0.0;

  return CLAMP (value, 0.0, 1.0);
}

/* /proc/stat: the aggregate `cpu` line, then one `cpuN` line per online CPU. */
static gboolean
parse_stat (const char *text,
            guint64    *total,
            guint64    *idle,
            guint      *n_cpus)
{
  gboolean found = FALSE;
  guint cpus = 0;

  for (const char *line = text; line != NULL && *line != '\0'; line = next_line (line))
    {
      if (g_str_has_prefix (line, "cpu "))
        {
          /* user nice system idle iowait irq softirq steal; guest and
           * guest_nice follow but are already counted in user and nice. */
          guint64 v[8] = { 0, };
          const char *p = line + 3;
          guint i;

          for (i = 0; i < G_N_ELEMENTS (v); i++)
            {
              char *end;

              v[i] = g_ascii_strtoull (p, &end, 10);
              if (end == p)
                break;
              p = end;
            }

          /* Kernels before 2.6 had only the first four. */
          if (i < 4)
            return FALSE;

          *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
          *idle = v[3] + v[4];
          found = TRUE;
        }
      else if (g_str_has_prefix (line, "cpu") && g_ascii_isdigit (line[3]))
        {
          cpus++;
        }
      else if (found)
        {
          /* The per-CPU lines come right after the aggregate: skip the
           * rest, which can be long (one counter per interrupt). */
          break;
        }
    }

  *n_cpus = MAX (cpus, 1);

  return found;
}

/* /proc/[pid]/stat: the command name is in parentheses and may itself hold
 * spaces and parentheses, so fields are counted from the last `)`. */
static gboolean
parse_self_stat (const char *text,
                 guint64    *ticks,
                 guint64    *start_ticks)
{
  const char *p = strrchr (text, ')');
  guint64 utime = 0;
  guint64 stime = 0;

  if (p == NULL)
    return FALSE;

  p++;

  /* Field 3 is the state; utime is 14, stime 15, starttime 22. */
  for (guint field = 3; field <= 22; field++)
    {
      while (*p == ' ')
        p++;

      if (*p == '\0' || *p == '\n')
        return FALSE;

      if (field == 14)
        utime = g_ascii_strtoull (p, NULL, 10);
      else if (field == 15)
        stime = g_ascii_strtoull (p, NULL, 10);
      else if (field == 22)
        *start_ticks = g_ascii_strtoull (p, NULL, 10);

      while (*p != '\0' && *p != ' ' && *p != '\n')
        p++;
    }

  *ticks = utime + stime;

  return TRUE;
}

static gboolean
parse_leading_double (const char *text,
                      double     *value)
{
  char *end;
  double v = g_ascii_strtod (text, &end);

  if (end == text || !isfinite (v) || v < 0)
    return FALSE;

  *value = v;

  return TRUE;
}

/* Value of a "Key:   1234 kB" line of /proc/meminfo, in bytes. */
static gboolean
parse_meminfo_line (const char *line,
                    const char *key,
                    guint64    *bytes)
{
  gsize key_len = strlen (key);
  const char *p;
  char *end;
  guint64 value;

  if (strncmp (line, key, key_len) != 0 || line[key_len] != ':')
    return FALSE;

  p = line + key_len + 1;
  value = g_ascii_strtoull (p, &end, 10);
  if (end == p)
    return FALSE;

  while (*end == ' ')
    end++;

  *bytes = g_str_has_prefix (end, "kB") ? value * 1024 : value;

  return TRUE;
}

static gboolean
parse_meminfo (const char *text,
               guint64    *total,
               guint64    *available)
{
  guint64 mem_total = 0;
  guint64 mem_available = 0;
  guint64 mem_free = 0;
  guint64 buffers = 0;
  guint64 cached = 0;
  gboolean have_total = FALSE;
  gboolean have_available = FALSE;

  for (const char *line = text; line != NULL && *line != '\0'; line = next_line (line))
    {
      have_total |= parse_meminfo_line (line, "MemTotal", &mem_total);
      have_available |= parse_meminfo_line (line, "MemAvailable", &mem_available);
      parse_meminfo_line (line, "MemFree", &mem_free);
      parse_meminfo_line (line, "Buffers", &buffers);
      parse_meminfo_line (line, "Cached", &cached);
    }

  if (!have_total)
    return FALSE;

  /* MemAvailable appeared in Linux 3.14; before, free plus caches was the
   * usual estimate. */
  if (!have_available)
    mem_available = mem_free + buffers + cached;

  *total = mem_total;
  *available = MIN (mem_available, mem_total);

  return TRUE;
}

/* /proc/net/dev: two header lines, then "name: 8 receive and 8 transmit
 * counters"; bytes are the first of each group. Old kernels wrote no space
 * after the colon once the counter got wide, hence the split on ':'. */
static GHashTable *
parse_net_dev (const char *text)
{
  g_autoptr(GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *line = text;

  line = line != NULL ? next_line (line) : NULL;
  line = line != NULL ? next_line (line) : NULL;

  for (; line != NULL && *line != '\0'; line = next_line (line))
    {
      const char *colon = strchr (line, ':');
      const char *nl = strchr (line, '\n');
      const char *p;
      g_autofree char *name = NULL;
      NetCounters counters = { 0, };

      if (colon == NULL || (nl != NULL && colon > nl))
        continue;

      name = g_strstrip (g_strndup (line, colon - line));
      if (*name == '\0' || g_str_equal (name, "lo"))
        continue;

      p = colon + 1;
      for (guint field = 0; field < 9; field++)
        {
          char *end;
          guint64 value = g_ascii_strtoull (p, &end, 10);

          if (end == p)
            break;

          if (field == 0)
            counters.rx = value;
          else if (field == 8)
            counters.tx = value;
          p = end;
        }

      g_hash_table_replace (table, g_steal_pointer (&name),
                            g_memdup2 (&counters, sizeof counters));
    }

  return g_steal_pointer (&table);
}

static void
sample_cpu (JstpHostMetrics *self)
{
  const char *text = read_proc_file (self, SOURCE_STAT);
  guint64 total, idle, d_total, d_idle;
  guint n_cpus;

  if (text == NULL)
    return;

  if (!parse_stat (text, &total, &idle, &n_cpus))
    {
      note_failure (self, SOURCE_STAT, self->paths[SOURCE_STAT], "no cpu line");
      return;
    }

  if (self->n_cpus != n_cpus)
    {
      self->n_cpus = n_cpus;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CPUS]);
    }

  /* iowait is known to go backwards now and then: never let a counter
   * running backwards make a figure negative, start over from here. */
  if (total <= self->prev_cpu_total)
    {
      self->prev_cpu_total = total;
      self->prev_cpu_idle = idle;
      return;
    }

  d_total = total - self->prev_cpu_total;
  d_idle = idle >= self->prev_cpu_idle ? idle - self->prev_cpu_idle : 0;
  d_idle = MIN (d_idle, d_total);

  self->prev_cpu_total = total;
  self->prev_cpu_idle = idle;

  set_double (self, &self->cpu, (double) (d_total - d_idle) / (double) d_total, PROP_CPU);
}

static void
sample_process (JstpHostMetrics *self,
                double           uptime)
{
  const char *text = read_proc_file (self, SOURCE_SELF_STAT);
  double ticks_per_second = (double) sysconf (_SC_CLK_TCK);
  guint64 ticks, start_ticks = 0;
  double interval, used;

  if (text == NULL)
    return;

  if (!parse_self_stat (text, &ticks, &start_ticks) || ticks_per_second <= 0)
    {
      note_failure (self, SOURCE_SELF_STAT, self->paths[SOURCE_SELF_STAT], "malformed");
      return;
    }

  /* The first sample measures from the start of the process. */
  if (!self->have_process_baseline)
    {
      self->prev_process_ticks = 0;
      self->prev_process_uptime = start_ticks / ticks_per_second;
    }

  interval = uptime - self->prev_process_uptime;
  if (interval < MIN_INTERVAL)
    return;

  used = ticks >= self->prev_process_ticks
    ? (ticks - self->prev_process_ticks) / ticks_per_second
    : 0.0;

  self->have_process_baseline = TRUE;
  self->prev_process_ticks = ticks;
  self->prev_process_uptime = uptime;

  set_double (self, &self->process_cpu,
              clamp_fraction (used / interval / MAX (self->n_cpus, 1)),
              PROP_PROCESS_CPU);
}

static void
sample_net (JstpHostMetrics *self,
            double           uptime)
{
  const char *text = read_proc_file (self, SOURCE_NET_DEV);
  g_autoptr(GHashTable) current = NULL;
  GHashTableIter iter;
  gpointer key, value;
  guint64 rx = 0, tx = 0;
  double interval;

  if (text == NULL)
    return;

  current = parse_net_dev (text);

  if (self->prev_net == NULL)
    {
      self->prev_net = g_steal_pointer (&current);
      self->prev_net_uptime = uptime;
      return;
    }

  interval = uptime - self->prev_net_uptime;
  if (interval < MIN_INTERVAL)
    return;

  /* Per interface, so that an interface coming or going (a container's
   * veth) changes nothing, and a counter reset by a driver reload counts as
   * no traffic rather than a wrap. */
  g_hash_table_iter_init (&iter, current);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const NetCounters *now = value;
      const NetCounters *before = g_hash_table_lookup (self->prev_net, key);

      if (before == NULL)
        continue;

      if (now->rx >= before->rx)
        rx += now->rx - before->rx;
      if (now->tx >= before->tx)
        tx += now->tx - before->tx;
    }

  g_clear_pointer (&self->prev_net, g_hash_table_unref);
  self->prev_net = g_steal_pointer (&current);
  self->prev_net_uptime = uptime;

  set_double (self, &self->net_rx_bps, rx / interval, PROP_NET_RX_BPS);
  set_double (self, &self->net_tx_bps, tx / interval, PROP_NET_TX_BPS);
}

static void
sample_memory (JstpHostMetrics *self)
{
  const char *text = read_proc_file (self, SOURCE_MEMINFO);
  guint64 total, available;

  if (text == NULL)
    return;

  if (!parse_meminfo (text, &total, &available))
    {
      note_failure (self, SOURCE_MEMINFO, self->paths[SOURCE_MEMINFO], "no MemTotal");
      return;
    }

  set_uint64 (self, &self->memory_total, total, PROP_MEMORY_TOTAL);
  set_uint64 (self, &self->memory_available, available, PROP_MEMORY_AVAILABLE);
}

static void
sample_disk (JstpHostMetrics *self)
{
  g_autofree char *dir = g_strdup (self->data_dir);
  struct statvfs st;
  guint64 block, used, free_bytes;

  /* The data directory may not exist yet (a first start): its volume is
   * that of the nearest existing parent. */
  while (statvfs (dir, &st) != 0)
    {
      int errsv = errno;
      char *parent;

      if (errsv != ENOENT && errsv != ENOTDIR)
        {
          note_failure (self, SOURCE_DISK, dir, g_strerror (errsv));
          return;
        }

      parent = g_path_get_dirname (dir);
      if (g_str_equal (parent, dir))
        {
          g_free (parent);
          note_failure (self, SOURCE_DISK, self->data_dir, g_strerror (errsv));
          return;
        }

      g_free (dir);
      dir = parent;
    }

  block = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
  used = (st.f_blocks - MIN (st.f_bfree, st.f_blocks)) * block;
  free_bytes = (guint64) st.f_bavail * block;

  set_uint64 (self, &self->disk_total, (guint64) st.f_blocks * block, PROP_DISK_TOTAL);
  set_uint64 (self, &self->disk_free, free_bytes, PROP_DISK_FREE);

  /* As df(1) computes Use%: blocks only root may use are neither used nor
   * free, so a volume is full when an unprivileged writer can write no more. */
  self->disk_used = used + free_bytes > 0 ? (double) used / (double) (used + free_bytes) : 0.0;
}

static void
sample_loadavg (JstpHostMetrics *self)
{
  const char *text = read_proc_file (self, SOURCE_LOADAVG);
  double load1;

  if (text == NULL)
    return;

  if (!parse_leading_double (text, &load1))
    {
      note_failure (self, SOURCE_LOADAVG, self->paths[SOURCE_LOADAVG], "malformed");
      return;
    }

  set_double (self, &self->load1, load1, PROP_LOAD1);
}

static gboolean
sample_uptime (JstpHostMetrics *self,
               double          *uptime)
{
  const char *text = read_proc_file (self, SOURCE_UPTIME);

  if (text == NULL)
    return FALSE;

  if (!parse_leading_double (text, uptime))
    {
      note_failure (self, SOURCE_UPTIME, self->paths[SOURCE_UPTIME], "malformed");
      return FALSE;
    }

  return TRUE;
}

static JstpSaturationLevel
level_for (double saturation,
           double busy,
           double critical)
{
  if (saturation >= critical)
    return JSTP_SATURATION_CRITICAL;
  if (saturation >= busy)
    return JSTP_SATURATION_BUSY;
  return JSTP_SATURATION_OK;
}

static JstpSaturationLevel
next_level (JstpHostMetrics *self)
{
  JstpSaturationLevel up = level_for (self->saturation, self->busy_threshold,
                                      self->critical_threshold);
  JstpSaturationLevel down;

  if (up >= self->level)
    return up;

  /* Going down: only as far as the thresholds lowered by the hysteresis
   * allow, and never up again on the way. */
  down = level_for (self->saturation,
                    self->busy_threshold - LEVEL_HYSTERESIS,
                    self->critical_threshold - LEVEL_HYSTERESIS);

  return MIN (down, self->level);
}

void
jstp_host_metrics_sample (JstpHostMetrics *self)
{
  JstpSaturationLevel old_level, new_level;
  double uptime = 0;
  double memory_used, saturation;
  gboolean have_uptime;

  g_return_if_fail (JSTP_IS_HOST_METRICS (self));

  /* Every figure changes together: observers are told once the whole
   * sample is in, never halfway. */
  g_object_freeze_notify (G_OBJECT (self));

  have_uptime = sample_uptime (self, &uptime);
  /* First: the process figure is scaled by the CPU count read here. */
  sample_cpu (self);
  if (have_uptime)
    {
      sample_process (self, uptime);
      sample_net (self, uptime);
    }
  sample_memory (self);
  sample_disk (self);
  sample_loadavg (self);
  self->n_samples++;

  memory_used = self->memory_total > 0
    ? 1.0 - (double) self->memory_available / (double) self->memory_total
    : 0.0;

  saturation = MAX (MAX (self->cpu, memory_used), MAX (self->disk_used, self->engine_load));
  set_double (self, &self->saturation, clamp_fraction (saturation), PROP_SATURATION);

  old_level = self->level;
  new_level = next_level (self);
  if (new_level != old_level)
    {
      self->level = new_level;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LEVEL]);
    }

  g_object_thaw_notify (G_OBJECT (self));

  if (new_level != old_level)
    g_signal_emit (self, signals[LEVEL_CHANGED], 0, new_level, old_level);
}

static void
append_key (GString    *out,
            const char *key)
{
  if (out->len > 0 && out->str[out->len - 1] != '{')
    g_string_append_c (out, ',');

  g_string_append_printf (out, "\"%s\":", key);
}

static void
append_double (GString    *out,
               const char *key,
               double      value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    value = 0.0;

  append_key (out, key);
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.4f", value));
}

static void
append_uint64 (GString    *out,
               const char *key,
               guint64     value)
{
  append_key (out, key);
  g_string_append_printf (out, "%" G_GUINT64_FORMAT, value);
}

void
jstp_host_metrics_to_json (JstpHostMetrics *self,
                           GString         *out)
{
  g_return_if_fail (JSTP_IS_HOST_METRICS (self));
  g_return_if_fail (out != NULL);

  g_string_append_c (out, '{');
  append_double (out, "cpu", self->cpu);
  append_double (out, "process_cpu", self->process_cpu);
  append_uint64 (out, "memory_total", self->memory_total);
  append_uint64 (out, "memory_available", self->memory_available);
  append_uint64 (out, "disk_total", self->disk_total);
  append_uint64 (out, "disk_free", self->disk_free);
  append_double (out, "net_rx_bps", self->net_rx_bps);
  append_double (out, "net_tx_bps", self->net_tx_bps);
  append_double (out, "load1", self->load1);
  append_double (out, "engine_load", self->engine_load);
  append_double (out, "saturation", self->saturation);
  append_key (out, "level");
  g_string_append_printf (out, "\"%s\"}", jstp_saturation_level_to_string (self->level));
}

JstpHostMetrics *
jstp_host_metrics_new (const char *data_dir)
{
  return g_object_new (JSTP_TYPE_HOST_METRICS,
                       "data-dir", data_dir,
                       NULL);
}

guint64
jstp_host_metrics_get_n_samples (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0);

  return self->n_samples;
}

double
jstp_host_metrics_get_cpu (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->cpu;
}

double
jstp_host_metrics_get_process_cpu (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->process_cpu;
}

guint
jstp_host_metrics_get_n_cpus (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 1);

  return self->n_cpus;
}

guint64
jstp_host_metrics_get_memory_total (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0);

  return self->memory_total;
}

guint64
jstp_host_metrics_get_memory_available (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0);

  return self->memory_available;
}

guint64
jstp_host_metrics_get_disk_total (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0);

  return self->disk_total;
}

guint64
jstp_host_metrics_get_disk_free (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0);

  return self->disk_free;
}

double
jstp_host_metrics_get_disk_used (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->disk_used;
}

double
jstp_host_metrics_get_net_rx_bps (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->net_rx_bps;
}

double
jstp_host_metrics_get_net_tx_bps (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->net_tx_bps;
}

double
jstp_host_metrics_get_load1 (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->load1;
}

double
jstp_host_metrics_get_saturation (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->saturation;
}

JstpSaturationLevel
jstp_host_metrics_get_level (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), JSTP_SATURATION_OK);

  return self->level;
}

void
jstp_host_metrics_set_engine_load (JstpHostMetrics *self,
                                   double           engine_load)
{
  g_return_if_fail (JSTP_IS_HOST_METRICS (self));

  /* The engine's ratios may exceed 1 (a queue over its limit until the
   * connection is closed): clamping here spares every caller. */
  set_double (self, &self->engine_load, clamp_fraction (engine_load), PROP_ENGINE_LOAD);
}

double
jstp_host_metrics_get_engine_load (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->engine_load;
}

void
jstp_host_metrics_set_busy_threshold (JstpHostMetrics *self,
                                      double           threshold)
{
  g_return_if_fail (JSTP_IS_HOST_METRICS (self));
  g_return_if_fail (threshold >= 0.0 && threshold <= 1.0);

  set_double (self, &self->busy_threshold, threshold, PROP_BUSY_THRESHOLD);
}

double
jstp_host_metrics_get_busy_threshold (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->busy_threshold;
}

void
jstp_host_metrics_set_critical_threshold (JstpHostMetrics *self,
                                          double           threshold)
{
  g_return_if_fail (JSTP_IS_HOST_METRICS (self));
  g_return_if_fail (threshold >= 0.0 && threshold <= 1.0);

  set_double (self, &self->critical_threshold, threshold, PROP_CRITICAL_THRESHOLD);
}

double
jstp_host_metrics_get_critical_threshold (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), 0.0);

  return self->critical_threshold;
}

void
jstp_host_metrics_set_data_dir (JstpHostMetrics *self,
                                const char      *data_dir)
{
  g_return_if_fail (JSTP_IS_HOST_METRICS (self));

  if (data_dir == NULL)
    data_dir = g_get_user_data_dir ();

  if (g_strcmp0 (self->data_dir, data_dir) == 0)
    return;

  g_free (self->data_dir);
  self->data_dir = g_strdup (data_dir);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATA_DIR]);
}

const char *
jstp_host_metrics_get_data_dir (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), NULL);

  return self->data_dir;
}

const char *
jstp_host_metrics_get_proc_root (JstpHostMetrics *self)
{
  g_return_val_if_fail (JSTP_IS_HOST_METRICS (self), NULL);

  return self->proc_root;
}

static void
jstp_host_metrics_constructed (GObject *object)
{
  JstpHostMetrics *self = JSTP_HOST_METRICS (object);

  G_OBJECT_CLASS (jstp_host_metrics_parent_class)->constructed (object);

  /* Built once: a sample then formats no paths. */
  for (guint i = 0; i < N_SOURCES; i++)
    if (source_files[i] != NULL)
      self->paths[i] = g_build_filename (self->proc_root, source_files[i], NULL);
}

static void
jstp_host_metrics_finalize (GObject *object)
{
  JstpHostMetrics *self = JSTP_HOST_METRICS (object);

  for (guint i = 0; i < N_SOURCES; i++)
    g_free (self->paths[i]);
  g_free (self->proc_root);
  g_free (self->data_dir);
  g_clear_pointer (&self->prev_net, g_hash_table_unref);
  g_byte_array_unref (self->buffer);

  G_OBJECT_CLASS (jstp_host_metrics_parent_class)->finalize (object);
}

static void
jstp_host_metrics_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  JstpHostMetrics *self = JSTP_HOST_METRICS (object);

  switch (prop_id)
    {
    case PROP_PROC_ROOT:
      g_value_set_string (value, self->proc_root);
      break;
    case PROP_DATA_DIR:
      g_value_set_string (value, self->data_dir);
      break;
    case PROP_BUSY_THRESHOLD:
      g_value_set_double (value, self->busy_threshold);
      break;
    case PROP_CRITICAL_THRESHOLD:
      g_value_set_double (value, self->critical_threshold);
      break;
    case PROP_ENGINE_LOAD:
      g_value_set_double (value, self->engine_load);
      break;
    case PROP_CPU:
      g_value_set_double (value, self->cpu);
      break;
    case PROP_PROCESS_CPU:
      g_value_set_double (value, self->process_cpu);
      break;
    case PROP_N_CPUS:
      g_value_set_uint (value, self->n_cpus);
      break;
    case PROP_MEMORY_TOTAL:
      g_value_set_uint64 (value, self->memory_total);
      break;
    case PROP_MEMORY_AVAILABLE:
      g_value_set_uint64 (value, self->memory_available);
      break;
    case PROP_DISK_TOTAL:
      g_value_set_uint64 (value, self->disk_total);
      break;
    case PROP_DISK_FREE:
      g_value_set_uint64 (value, self->disk_free);
      break;
    case PROP_NET_RX_BPS:
      g_value_set_double (value, self->net_rx_bps);
      break;
    case PROP_NET_TX_BPS:
      g_value_set_double (value, self->net_tx_bps);
      break;
    case PROP_LOAD1:
      g_value_set_double (value, self->load1);
      break;
    case PROP_SATURATION:
      g_value_set_double (value, self->saturation);
      break;
    case PROP_LEVEL:
      g_value_set_enum (value, self->level);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_host_metrics_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  JstpHostMetrics *self = JSTP_HOST_METRICS (object);

  switch (prop_id)
    {
    case PROP_PROC_ROOT:
      /* Construct-only: a fake root is for tests, the engine reads /proc. */
      g_free (self->proc_root);
      self->proc_root = g_value_get_string (value) != NULL
        ? g_value_dup_string (value)
        : g_strdup ("/proc");
      break;
    case PROP_DATA_DIR:
      jstp_host_metrics_set_data_dir (self, g_value_get_string (value));
      break;
    case PROP_BUSY_THRESHOLD:
      jstp_host_metrics_set_busy_threshold (self, g_value_get_double (value));
      break;
    case PROP_CRITICAL_THRESHOLD:
      jstp_host_metrics_set_critical_threshold (self, g_value_get_double (value));
      break;
    case PROP_ENGINE_LOAD:
      jstp_host_metrics_set_engine_load (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
figure_double (const char *name)
{
  return g_param_spec_double (name, NULL, NULL, 0.0, G_MAXDOUBLE, 0.0,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
}

static GParamSpec *
figure_fraction (const char *name)
{
  return g_param_spec_double (name, NULL, NULL, 0.0, 1.0, 0.0,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
}

static GParamSpec *
figure_uint64 (const char *name)
{
  return g_param_spec_uint64 (name, NULL, NULL, 0, G_MAXUINT64, 0,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
}

static void
jstp_host_metrics_class_init (JstpHostMetricsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = jstp_host_metrics_constructed;
  object_class->finalize = jstp_host_metrics_finalize;
  object_class->get_property = jstp_host_metrics_get_property;
  object_class->set_property = jstp_host_metrics_set_property;

  /**
   * JstpHostMetrics:proc-root:
   *
   * Where procfs is mounted; tests point it at fixture files.
   */
  properties[PROP_PROC_ROOT] =
    g_param_spec_string ("proc-root", NULL, NULL, "/proc",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * JstpHostMetrics:data-dir:
   *
   * A directory on the volume whose free space is reported; %NULL sets
   * g_get_user_data_dir().
   */
  properties[PROP_DATA_DIR] =
    g_param_spec_string ("data-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  properties[PROP_BUSY_THRESHOLD] =
    g_param_spec_double ("busy-threshold", NULL, NULL, 0.0, 1.0, 0.7,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  properties[PROP_CRITICAL_THRESHOLD] =
    g_param_spec_double ("critical-threshold", NULL, NULL, 0.0, 1.0, 0.9,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  properties[PROP_ENGINE_LOAD] =
    g_param_spec_double ("engine-load", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  properties[PROP_CPU] = figure_fraction ("cpu");
  properties[PROP_PROCESS_CPU] = figure_fraction ("process-cpu");
  properties[PROP_N_CPUS] =
    g_param_spec_uint ("n-cpus", NULL, NULL, 1, G_MAXUINT, 1,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MEMORY_TOTAL] = figure_uint64 ("memory-total");
  properties[PROP_MEMORY_AVAILABLE] = figure_uint64 ("memory-available");
  properties[PROP_DISK_TOTAL] = figure_uint64 ("disk-total");
  properties[PROP_DISK_FREE] = figure_uint64 ("disk-free");
  properties[PROP_NET_RX_BPS] = figure_double ("net-rx-bps");
  properties[PROP_NET_TX_BPS] = figure_double ("net-tx-bps");
  properties[PROP_LOAD1] = figure_double ("load1");
  properties[PROP_SATURATION] = figure_fraction ("saturation");
  properties[PROP_LEVEL] =
    g_param_spec_enum ("level", NULL, NULL,
                       JSTP_TYPE_SATURATION_LEVEL, JSTP_SATURATION_OK,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * JstpHostMetrics::level-changed:
   * @self: the metrics
   * @level: the new level
   * @previous: the level before this sample
   *
   * Emitted by the sample that moves saturation across a threshold, after
   * every figure of that sample is in place. The engine uses it to report
   * at once instead of waiting for the next interval.
   */
  signals[LEVEL_CHANGED] =
    g_signal_new ("level-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2,
                  JSTP_TYPE_SATURATION_LEVEL,
                  JSTP_TYPE_SATURATION_LEVEL);
}

static void
jstp_host_metrics_init (JstpHostMetrics *self)
{
  self->buffer = g_byte_array_sized_new (READ_CHUNK);
  self->n_cpus = 1;
  self->busy_threshold = 0.7;
  self->critical_threshold = 0.9;
}
