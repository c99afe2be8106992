/* SPDX-License-Identifier: MIT */
/* test-monje.c: the monje program over real loopback sockets, run against
 * both backends with the same cases: SQLite in a temporary directory, and
 * MongoDB through libmongoc against fake-mongod.py, a small server that
 * speaks the wire protocol. Plus what only the SQLite backend promises:
 * indexes on queried fields, and no answered write lost to a SIGKILL. */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "test-utils.h"

#define WAIT_MS 10000

typedef enum {
  BACKEND_SQLITE,
  BACKEND_MONGO,
} Backend;

typedef struct {
  Backend backend;
  char *dir;                  /* SQLite: the data directory */
  GSubprocess *mongod;
  guint16 mongo_port;
  GSubprocess *monje;
  guint16 tcp_port;
  guint16 ws_port;
  JstpEngine *engine;         /* the client */
  JstpNetwork *network;
} Fixture;

typedef struct {
  guint status;
  char *body;
  gboolean done;
} Answer;

/* ---- processes ----------------------------------------------------------- */

typedef struct {
  char *line;
  gboolean done;
} LineRead;

static void
line_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  LineRead *read = data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, NULL);
  read->done = TRUE;
}

static gboolean
line_done (gpointer data)
{
  return ((LineRead *) data)->done;
}

/* A failed assertion must not leave servers behind holding our output. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts @argv and returns its first line of output (NULL on failure). */
static char *
spawn_and_read_line (const char * const  *argv,
                     GSubprocess        **out_process)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) stream = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  LineRead read = { NULL, FALSE };
  GSubprocess *process;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, NULL, line_read_cb, &read);
  if (!test_wait_until (line_done, &read, WAIT_MS))
    g_error ("%s printed nothing in time", argv[0]);
  *out_process = process;
  return read.line;
}

static void
stop_process (GSubprocess **process,
              int           signal_number)
{
  if (*process == NULL)
    return;
  g_subprocess_send_signal (*process, signal_number);
  g_subprocess_wait (*process, NULL, NULL);
  g_clear_object (process);
}

static void
monje_start (Fixture    *fixture,
             const char *extra)
{
  g_autofree char *line = NULL;
  g_autofree char *mongo_uri = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  guint tcp, ws;

  g_ptr_array_add (argv, (gpointer) g_getenv ("MONJE"));
  g_ptr_array_add (argv, "--tcp-port=0");
  g_ptr_array_add (argv, "--ws-port=0");
  g_ptr_array_add (argv, "--max-results=4");
  g_ptr_array_add (argv, "--quiet");
  if (fixture->backend == BACKEND_SQLITE)
    {
      g_ptr_array_add (argv, "--data-dir");
      g_ptr_array_add (argv, fixture->dir);
    }
  else
    {
      mongo_uri = g_strdup_printf ("mongodb://127.0.0.1:%u/monjetest", fixture->mongo_port);
      g_ptr_array_add (argv, "--mongodb");
      g_ptr_array_add (argv, mongo_uri);
    }
  if (extra)
    g_ptr_array_add (argv, (gpointer) extra);
  g_ptr_array_add (argv, NULL);

  line = spawn_and_read_line ((const char * const *) argv->pdata, &fixture->monje);
  g_assert_nonnull (line);
  g_assert_cmpint (sscanf (line, "monje listening: tcp 127.0.0.1:%u ws 127.0.0.1:%u", &tcp, &ws),
                   ==, 2);
  fixture->tcp_port = tcp;
  fixture->ws_port = ws;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->backend = GPOINTER_TO_INT (data);
  if (fixture->backend == BACKEND_MONGO)
    {
      g_autofree char *script = g_test_build_filename (G_TEST_DIST, "fake-mongod.py", NULL);
      const char *argv[] = { "python3", script, NULL };
      g_autofree char *line = spawn_and_read_line (argv, &fixture->mongod);
      guint port;

      g_assert_nonnull (line);
      g_assert_cmpint (sscanf (line, "fake-mongod listening on %u", &port), ==, 1);
      fixture->mongo_port = port;
    }
  else
    {
      fixture->dir = g_dir_make_tmp ("monje-XXXXXX", &error);
      g_assert_no_error (error);
    }

  monje_start (fixture, NULL);
  fixture->engine = jstp_engine_new ("client");
  fixture->network = jstp_network_new (fixture->engine);
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle && (name = g_dir_read_name (handle)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_remove (path);
    }
  g_rmdir (dir);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  jstp_network_close (fixture->network);
  g_clear_object (&fixture->network);
  g_clear_object (&fixture->engine);
  stop_process (&fixture->monje, SIGTERM);
  stop_process (&fixture->mongod, SIGTERM);
  if (fixture->dir)
    {
      remove_tree (fixture->dir);
      g_free (fixture->dir);
    }
}

/* ---- requests ------------------------------------------------------------ */

static void
first_answer_cb (JstpEngine   *engine,
                 JstpDispatch *dispatch,
                 gpointer      data)
{
  Answer *answer = data;

  /* The first answer is Monje's: others would come from subscribers. */
  if (answer->done)
    return;
  answer->status = jstp_dispatch_get_status (dispatch);
  answer->body = g_strdup (jstp_dispatch_get_body_json (dispatch));
  answer->done = TRUE;
}

static gboolean
answer_done (gpointer data)
{
  return ((Answer *) data)->done;
}

static void
answer_clear (gpointer data)
{
  g_free (((Answer *) data)->body);
}

/* Shared by the test and the transaction, which may end (and drop its
 * reference) as soon as the first answer arrived. */
static Answer *
answer_new (void)
{
  return g_rc_box_new0 (Answer);
}

static void
answer_unref (gpointer data)
{
  g_rc_box_release_full (data, answer_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_unref)

static JstpDispatch *
dispatch_new (const char *method,
              const char *resource_json,
              const char *body_json)
{
  g_autoptr(GError) error = NULL;
  JstpDispatch *dispatch;

  dispatch = jstp_dispatch_new (jstp_method_from_string (method, -1),
                                (const char *[]) { "db", NULL });
  jstp_dispatch_set_resource_json (dispatch, resource_json, &error);
  g_assert_no_error (error);
  if (body_json)
    {
      jstp_dispatch_set_body_json (dispatch, body_json, &error);
      g_assert_no_error (error);
    }
  return dispatch;
}

/* Sends one request to Monje over TCP; returns its status, and its body
 * in @body when given. */
static guint
request (Fixture     *fixture,
         const char  *method,
         const char  *resource_json,
         const char  *body_json,
         char       **body)
{
  g_autoptr(JstpDispatch) dispatch = dispatch_new (method, resource_json, body_json);
  g_autoptr(Answer) answer = answer_new ();
  guint status;

  jstp_dispatch_add_hop (dispatch, "127.0.0.1", fixture->tcp_port, "tcp");
  jstp_engine_emit (fixture->engine, dispatch, first_answer_cb, g_rc_box_acquire (answer),
                    answer_unref);
  g_assert_true (test_wait_until (answer_done, answer, WAIT_MS));
  g_test_message ("%s %s %s -> %u %s", method, resource_json, body_json ? body_json : "",
                  answer->status, answer->body ? answer->body : "");
  status = answer->status;
  if (body)
    *body = g_strdup (answer->body);
  return status;
}

static JsonNode *
parse (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (json);
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* Sends a request that must answer 200 and returns the parsed body. */
static JsonNode *
ok (Fixture    *fixture,
    const char *method,
    const char *resource_json,
    const char *body_json)
{
  g_autofree char *body = NULL;

  g_assert_cmpuint (request (fixture, method, resource_json, body_json, &body), ==, 200);
  return parse (body);
}

/* The ids of a list answer, joined by commas. */
static char *
ids_of (JsonNode *answer)
{
  JsonArray *documents = json_object_get_array_member (json_node_get_object (answer),
                                                       "documents");
  g_autoptr(GString) ids = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (documents); i++)
    {
      JsonObject *document = json_array_get_object_element (documents, i);

      if (i > 0)
        g_string_append_c (ids, ',');
      g_string_append (ids, json_object_get_string_member (document, "_id"));
    }
  return g_string_free (g_steal_pointer (&ids), FALSE);
}

static void
assert_query (Fixture    *fixture,
              const char *query,
              const char *expected_ids)
{
  g_autoptr(JsonNode) answer = ok (fixture, "GET", "[\"db\",\"q\"]", query);
  g_autofree char *ids = ids_of (answer);

  if (g_strcmp0 (ids, expected_ids) != 0)
    g_error ("query %s found [%s], expected [%s]", query, ids, expected_ids);
}

/* A 400 whose message holds @needle. */
static void
assert_refused (Fixture    *fixture,
                guint       expected,
                const char *method,
                const char *resource_json,
                const char *body_json,
                const char *needle)
{
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) parsed = NULL;
  const char *message;

  g_assert_cmpuint (request (fixture, method, resource_json, body_json, &body), ==, expected);
  parsed = parse (body);
  message = json_object_get_string_member (json_node_get_object (parsed), "message");
  g_assert_nonnull (message);
  if (needle && strstr (message, needle) == NULL)
    g_error ("message “%s” does not mention “%s”", message, needle);
}

static JsonObject *
object_of (JsonNode *node)
{
  return json_node_get_object (node);
}

/* ---- CRUD ----------------------------------------------------------------- */

static void
test_crud (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(JsonNode) created = ok (fixture, "POST", "[\"db\",\"notes\"]",
                                    "{\"title\":\"hola\",\"n\":1,\"meta\":{\"lang\":\"es\"}}");
  const char *id = json_object_get_string_member (object_of (created), "id");
  g_autofree char *resource = g_strdup_printf ("[\"db\",\"notes\",\"%s\"]", id);
  g_autoptr(JsonNode) read = NULL;
  g_autoptr(JsonNode) replaced = NULL;
  g_autoptr(JsonNode) patched = NULL;
  g_autoptr(JsonNode) merged = NULL;
  g_autoptr(JsonNode) removed = NULL;
  g_autoptr(JsonNode) mine = NULL;
  JsonObject *meta;

  g_assert_cmpuint (strlen (id), ==, 24);

  read = ok (fixture, "GET", resource, NULL);
  g_assert_cmpstr (json_object_get_string_member (object_of (read), "_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (object_of (read), "title"), ==, "hola");
  g_assert_cmpint (json_object_get_int_member (object_of (read), "n"), ==, 1);

  /* PUT replaces the whole document; its answer is the document. */
  replaced = ok (fixture, "PUT", resource, "{\"title\":\"adiós\",\"meta\":{\"lang\":\"es\"}}");
  g_assert_cmpstr (json_object_get_string_member (object_of (replaced), "_id"), ==, id);
  g_clear_pointer (&read, json_node_unref);
  read = ok (fixture, "GET", resource, NULL);
  g_assert_cmpstr (json_object_get_string_member (object_of (read), "title"), ==, "adiós");
  g_assert_false (json_object_has_member (object_of (read), "n"));

  /* PATCH with operators. */
  patched = ok (fixture, "PATCH", resource,
                "{\"$set\":{\"meta.seen\":true},\"$inc\":{\"n\":2},\"$unset\":{\"title\":\"\"}}");
  g_assert_cmpint (json_object_get_int_member (object_of (patched), "n"), ==, 2);
  g_assert_false (json_object_has_member (object_of (patched), "title"));
  meta = json_object_get_object_member (object_of (patched), "meta");
  g_assert_true (json_object_get_boolean_member (meta, "seen"));
  g_assert_cmpstr (json_object_get_string_member (meta, "lang"), ==, "es");

  /* PATCH with a merge patch: null removes, objects merge. */
  merged = ok (fixture, "PATCH", resource, "{\"n\":null,\"meta\":{\"x\":1},\"tag\":\"t\"}");
  g_assert_false (json_object_has_member (object_of (merged), "n"));
  g_assert_cmpstr (json_object_get_string_member (object_of (merged), "tag"), ==, "t");
  meta = json_object_get_object_member (object_of (merged), "meta");
  g_assert_true (json_object_get_boolean_member (meta, "seen"));
  g_assert_cmpint (json_object_get_int_member (meta, "x"), ==, 1);
  g_clear_pointer (&read, json_node_unref);
  read = ok (fixture, "GET", resource, NULL);
  g_assert_true (json_node_equal (read, merged));

  removed = ok (fixture, "DELETE", resource, NULL);
  g_assert_cmpstr (json_object_get_string_member (object_of (removed), "id"), ==, id);
  assert_refused (fixture, 404, "GET", resource, NULL, id);
  assert_refused (fixture, 404, "DELETE", resource, NULL, id);
  assert_refused (fixture, 404, "PUT", resource, "{}", id);
  assert_refused (fixture, 404, "PATCH", resource, "{\"$set\":{\"a\":1}}", id);
  assert_refused (fixture, 404, "GET", "[\"db\",\"nowhere\",\"x1\"]", NULL, "x1");

  /* A writer may choose the id; it stays unique. */
  mine = ok (fixture, "POST", "[\"db\",\"notes\"]", "{\"_id\":\"mine\",\"v\":1}");
  g_assert_cmpstr (json_object_get_string_member (object_of (mine), "id"), ==, "mine");
  assert_refused (fixture, 400, "POST", "[\"db\",\"notes\"]", "{\"_id\":\"mine\",\"v\":2}",
                  "mine");
  g_clear_pointer (&read, json_node_unref);
  read = ok (fixture, "GET", "[\"db\",\"notes\",\"mine\"]", NULL);
  g_assert_cmpint (json_object_get_int_member (object_of (read), "v"), ==, 1);
}

/* ---- queries ------------------------------------------------------------ */

static const char * const query_documents[] = {
  "{\"_id\":\"a\",\"n\":1,\"s\":\"x\",\"tags\":[\"red\",\"blue\"],\"meta\":{\"k\":1},"
  "\"flag\":true}",
  "{\"_id\":\"b\",\"n\":5,\"s\":\"y\",\"tags\":[\"green\"],\"meta\":{\"k\":2}}",
  "{\"_id\":\"c\",\"n\":3.5,\"s\":\"z\",\"meta\":{\"k\":2,\"deep\":{\"v\":\"q\"}},\"nul\":null}",
  "{\"_id\":\"d\",\"n\":\"5\",\"s\":\"x\"}",
  "{\"_id\":\"e\",\"s\":\"w\",\"flag\":false}",
};

static void
insert_query_documents (Fixture *fixture)
{
  for (guint i = 0; i < G_N_ELEMENTS (query_documents); i++)
    g_assert_cmpuint (request (fixture, "POST", "[\"db\",\"q\"]", query_documents[i], NULL),
                      ==, 200);
}

static void
test_queries (Fixture       *fixture,
              gconstpointer  data)
{
  insert_query_documents (fixture);

  assert_query (fixture, "{\"s\":\"x\"}", "a,d");
  assert_query (fixture, "{\"n\":5}", "b");                 /* not the string "5" */
  assert_query (fixture, "{\"n\":{\"$eq\":\"5\"}}", "d");
  assert_query (fixture, "{\"n\":{\"$gt\":2}}", "b,c");
  assert_query (fixture, "{\"n\":{\"$gte\":1,\"$lt\":5}}", "a,c");
  assert_query (fixture, "{\"n\":{\"$lte\":\"5\"}}", "d");  /* strings with strings */
  assert_query (fixture, "{\"n\":{\"$ne\":5}}", "a,c,d,e");  /* e has no n at all */
  assert_query (fixture, "{\"n\":{\"$in\":[1,5]}}", "a,b");
  assert_query (fixture, "{\"n\":{\"$nin\":[1,5]}}", "c,d,e");
  assert_query (fixture, "{\"tags\":\"red\"}", "a");       /* an element of the array */
  assert_query (fixture, "{\"tags\":{\"$in\":[\"green\",\"blue\"]}}", "a,b");
  assert_query (fixture, "{\"tags\":[\"green\"]}", "b");   /* the whole array */
  assert_query (fixture, "{\"meta\":{\"k\":1}}", "a");     /* the whole object */
  assert_query (fixture, "{\"meta.k\":2}", "b,c");
  assert_query (fixture, "{\"meta.deep.v\":\"q\"}", "c");
  assert_query (fixture, "{\"nul\":{\"$exists\":true}}", "c");
  assert_query (fixture, "{\"flag\":{\"$exists\":false}}", "b,c,d");
  assert_query (fixture, "{\"flag\":true}", "a");
  assert_query (fixture, "{\"flag\":false}", "e");
  assert_query (fixture, "{\"nul\":null,\"s\":{\"$in\":[\"z\",\"w\"]}}", "c,e");
  assert_query (fixture, "{\"$or\":[{\"n\":1},{\"s\":\"w\"}]}", "a,e");
  assert_query (fixture, "{\"$and\":[{\"s\":\"x\"},{\"n\":{\"$exists\":true}}]}", "a,d");
  assert_query (fixture, "{\"$nor\":[{\"s\":\"x\"},{\"s\":\"y\"}]}", "c,e");
  assert_query (fixture, "{\"_id\":{\"$gt\":\"c\"}}", "d,e");
  assert_query (fixture, "{\"s\":\"nothing\"}", "");
  /* Options shape with a filter on a field named like an option. */
  assert_query (fixture, "{\"filter\":{\"s\":\"y\"}}", "b");
  /* Not only option names: a bare filter on the fields limit and s. */
  assert_query (fixture, "{\"limit\":2,\"s\":\"x\"}", "");
  /* No filter at all. */
  assert_query (fixture, "{\"filter\":{\"_id\":{\"$lte\":\"b\"}},\"limit\":0}", "a,b");
  {
    g_autoptr(JsonNode) answer = ok (fixture, "GET", "[\"db\",\"nowhere\"]", NULL);
    g_autofree char *ids = ids_of (answer);

    g_assert_cmpstr (ids, ==, "");
  }
}

static void
test_options (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(JsonNode) all = NULL;
  g_autoptr(JsonNode) rest = NULL;
  g_autoptr(JsonNode) counted = NULL;
  g_autoptr(JsonNode) projected = NULL;
  g_autoptr(JsonNode) dropped = NULL;
  g_autoptr(JsonNode) only = NULL;
  g_autoptr(JsonNode) expected = NULL;

  insert_query_documents (fixture);

  /* --max-results=4: the fifth waits for the next page. */
  all = ok (fixture, "GET", "[\"db\",\"q\"]", NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object_of (all),
                                                                         "documents")), ==, 4);
  g_assert_true (json_object_get_boolean_member (object_of (all), "more"));
  rest = ok (fixture, "GET", "[\"db\",\"q\"]", "{\"sort\":{\"_id\":1},\"skip\":4}");
  g_assert_false (json_object_get_boolean_member (object_of (rest), "more"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object_of (rest),
                                                                         "documents")), ==, 1);

  assert_query (fixture, "{\"sort\":{\"s\":1,\"_id\":-1},\"limit\":4}", "e,d,a,b");
  assert_query (fixture, "{\"sort\":{\"s\":-1,\"_id\":1},\"limit\":4}", "c,b,a,d");
  assert_query (fixture,
                "{\"filter\":{\"_id\":{\"$in\":[\"a\",\"b\",\"c\"]}},\"sort\":{\"n\":-1}}",
                "b,c,a");
  assert_query (fixture, "{\"sort\":{\"_id\":1},\"skip\":1,\"limit\":2}", "b,c");
  assert_query (fixture, "{\"filter\":{\"s\":\"x\"},\"sort\":{\"_id\":-1},\"limit\":1}", "d");

  counted = ok (fixture, "GET", "[\"db\",\"q\"]", "{\"filter\":{\"s\":\"x\"},\"count\":true}");
  g_assert_cmpint (json_object_get_int_member (object_of (counted), "count"), ==, 2);

  projected = ok (fixture, "GET", "[\"db\",\"q\"]",
                  "{\"filter\":{\"_id\":\"c\"},\"projection\":{\"meta.deep\":1}}");
  expected = parse ("{\"documents\":[{\"_id\":\"c\",\"meta\":{\"deep\":{\"v\":\"q\"}}}],"
                    "\"more\":false}");
  g_assert_true (json_node_equal (projected, expected));
  g_clear_pointer (&expected, json_node_unref);

  dropped = ok (fixture, "GET", "[\"db\",\"q\"]",
                "{\"filter\":{\"_id\":\"a\"},\"projection\":{\"tags\":0,\"meta\":0,\"_id\":0}}");
  expected = parse ("{\"documents\":[{\"n\":1,\"s\":\"x\",\"flag\":true}],\"more\":false}");
  g_assert_true (json_node_equal (dropped, expected));
  g_clear_pointer (&expected, json_node_unref);

  only = ok (fixture, "GET", "[\"db\",\"q\"]",
             "{\"filter\":{\"s\":\"x\"},\"sort\":{\"_id\":1},\"projection\":{\"s\":1,\"_id\":0}}");
  expected = parse ("{\"documents\":[{\"s\":\"x\"},{\"s\":\"x\"}],\"more\":false}");
  g_assert_true (json_node_equal (only, expected));
}

/* ---- refusals ------------------------------------------------------------ */

static void
test_errors (Fixture       *fixture,
             gconstpointer  data)
{
  const char *q = "[\"db\",\"q\"]";

  insert_query_documents (fixture);

  assert_refused (fixture, 400, "GET", q, "{\"n\":{\"$regex\":\"x\"}}", "$regex");
  assert_refused (fixture, 400, "GET", q, "{\"$where\":\"1\"}", "$where");
  assert_refused (fixture, 400, "GET", q, "{\"n\":{\"$gt\":[1]}}", "$gt");
  assert_refused (fixture, 400, "GET", q, "{\"n\":{\"$in\":5}}", "$in");
  assert_refused (fixture, 400, "GET", q, "{\"$or\":[]}", "$or");
  assert_refused (fixture, 400, "GET", q, "{\"n\":{\"$gt\":1,\"k\":2}}", "mixes");
  assert_refused (fixture, 400, "GET", q, "{\"a..b\":1}", "a..b");
  assert_refused (fixture, 400, "GET", q, "{\"a\\\\b\":1}", "backslash");
  assert_refused (fixture, 400, "GET", q, "{\"sort\":{\"n\":2}}", "sort");
  assert_refused (fixture, 400, "GET", q, "{\"limit\":-1}", "limit");
  assert_refused (fixture, 400, "GET", q, "{\"skip\":1.5}", "skip");
  assert_refused (fixture, 400, "GET", q, "{\"projection\":{\"a\":1,\"b\":0}}", "projection");
  assert_refused (fixture, 400, "GET", q, "[1]", "object");

  assert_refused (fixture, 400, "POST", q, "[1]", "object");
  assert_refused (fixture, 400, "POST", q, NULL, "object");
  assert_refused (fixture, 400, "POST", q, "{\"x\":{\"$bad\":1}}", "$bad");
  assert_refused (fixture, 400, "POST", q, "{\"a.b\":1}", "a.b");
  assert_refused (fixture, 400, "POST", q, "{\"_id\":7}", "_id");
  assert_refused (fixture, 400, "POST", "[\"db\",\"bad name\"]", "{}", "collection");
  assert_refused (fixture, 400, "POST", "[\"db\",\"system.users\"]", "{}", "collection");
  assert_refused (fixture, 400, "GET", "[\"db\",\"q\",{\"id\":1}]", NULL, "id");

  assert_refused (fixture, 400, "PATCH", "[\"db\",\"q\",\"a\"]", "{\"$inc\":{\"s\":1}}", "$inc");
  assert_refused (fixture, 400, "PATCH", "[\"db\",\"q\",\"a\"]", "{\"$inc\":{\"n\":\"1\"}}",
                  "$inc");
  assert_refused (fixture, 400, "PATCH", "[\"db\",\"q\",\"a\"]", "{\"$set\":{\"_id\":\"z\"}}",
                  "_id");
  assert_refused (fixture, 400, "PATCH", "[\"db\",\"q\",\"a\"]", "{\"$rename\":{\"s\":\"t\"}}",
                  "$rename");
  assert_refused (fixture, 400, "PATCH", "[\"db\",\"q\",\"a\"]", "{\"$set\":{\"a\":1},\"b\":2}",
                  "mixes");
  assert_refused (fixture, 400, "PATCH", "[\"db\",\"q\",\"a\"]",
                  "{\"$set\":{\"m\":1,\"m.k\":2}}", "m.k");
  /* Through a value that is not an object: each backend words it its way. */
  assert_refused (fixture, 400, "PATCH", "[\"db\",\"q\",\"a\"]", "{\"$set\":{\"s.t\":1}}", NULL);
  assert_refused (fixture, 400, "PUT", "[\"db\",\"q\",\"a\"]", "{\"_id\":\"b\"}", "_id");
  assert_refused (fixture, 400, "PUT", "[\"db\",\"q\",\"a\"]", "\"text\"", "object");

  /* A refused change changed nothing. */
  {
    g_autoptr(JsonNode) a = ok (fixture, "GET", "[\"db\",\"q\",\"a\"]", NULL);
    g_autoptr(JsonNode) expected = parse (query_documents[0]);

    g_assert_true (json_node_equal (a, expected));
  }
}

/* ---- GET ["db"] ---------------------------------------------------------- */

static void
test_collections (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(JsonNode) empty = ok (fixture, "GET", "[\"db\"]", NULL);
  g_autoptr(JsonNode) listed = NULL;
  g_autoptr(JsonNode) expected = NULL;

  expected = parse ("{\"collections\":[]}");
  g_assert_true (json_node_equal (empty, expected));
  g_clear_pointer (&expected, json_node_unref);

  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (request (fixture, "POST", "[\"db\",\"notes\"]", "{}", NULL), ==, 200);
  g_assert_cmpuint (request (fixture, "POST", "[\"db\",\"tags\"]", "{\"_id\":\"t\"}", NULL),
                    ==, 200);
  g_assert_cmpuint (request (fixture, "POST", "[\"db\",\"bin\"]", "{\"_id\":\"x\"}", NULL),
                    ==, 200);
  g_assert_cmpuint (request (fixture, "DELETE", "[\"db\",\"bin\",\"x\"]", NULL, NULL), ==, 200);

  listed = ok (fixture, "GET", "[\"db\"]", NULL);
  expected = parse ("{\"collections\":[{\"name\":\"bin\",\"count\":0},"
                    "{\"name\":\"notes\",\"count\":3},{\"name\":\"tags\",\"count\":1}]}");
  g_assert_true (json_node_equal (listed, expected));
}

/* ---- change events --------------------------------------------------------- */

typedef struct {
  GPtrArray *events;        /* dispatches carrying x-monje-event */
  guint requests;           /* other dispatches: requests of clients */
} Received;

static void
on_received (JstpEngine         *engine,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures,
             gpointer            data)
{
  Received *received = data;

  if (g_strcmp0 (jstp_dispatch_get_extension (dispatch, "x-monje-event"), "true") == 0)
    g_ptr_array_add (received->events, jstp_dispatch_ref (dispatch));
  else
    received->requests++;
}

typedef struct {
  Received *received;
  guint n;
} EventWait;

static gboolean
has_events (gpointer data)
{
  EventWait *wait = data;

  return wait->received->events->len >= wait->n;
}

static void
subscribe (JstpEngine  *engine,
           Fixture     *fixture,
           const char  *label,
           const char  *method,
           const char  *pattern_json,
           Received    *received)
{
  g_autoptr(JsonNode) elements = parse (pattern_json);
  JsonArray *array = json_node_get_array (elements);
  g_autofree const char **resource = g_new0 (const char *, json_array_get_length (array) + 1);
  g_autoptr(JstpPattern) pattern = NULL;
  g_autoptr(JstpDispatch) bind = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Answer) ack = answer_new ();
  guint16 port = g_str_equal (label, "ws") ? fixture->ws_port : fixture->tcp_port;

  for (guint i = 0; i < json_array_get_length (array); i++)
    resource[i] = json_array_get_string_element (array, i);
  pattern = jstp_pattern_new (method, resource, json_array_get_length (array), JSTP_MODE_STRICT,
                              &error);
  g_assert_no_error (error);
  jstp_engine_bind_pattern (engine, pattern, on_received, received, NULL);
  bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  jstp_dispatch_add_hop (bind, "127.0.0.1", port, label);
  jstp_engine_emit (engine, bind, first_answer_cb, g_rc_box_acquire (ack), answer_unref);
  g_assert_true (test_wait_until (answer_done, ack, WAIT_MS));
  g_assert_cmpuint (ack->status, ==, 200);
}

static void
assert_event (JstpDispatch *event,
              const char   *method,
              const char   *resource_json)
{
  g_assert_cmpstr (jstp_method_to_string (jstp_dispatch_get_method (event)), ==, method);
  g_assert_cmpstr (jstp_dispatch_get_resource_json (event), ==, resource_json);
  g_assert_null (jstp_dispatch_get_transaction_id (event));
}

static void
test_events (Fixture       *fixture,
             gconstpointer  data)
{
  const char *label = g_test_get_path ()[strlen (g_test_get_path ()) - 1] == 's' ? "ws" : "tcp";
  g_autoptr(JstpEngine) engine = jstp_engine_new ("subscriber");
  g_autoptr(JstpNetwork) network = jstp_network_new (engine);
  /* Apart: one connection holding both subscriptions would get each
   * insert twice, once per subscription. */
  g_autoptr(JstpEngine) narrow = jstp_engine_new ("narrow");
  g_autoptr(JstpNetwork) narrow_network = jstp_network_new (narrow);
  Received all = { g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref), 0 };
  Received inserts = { g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref), 0 };
  EventWait wait = { &all, 5 };
  g_autoptr(JsonNode) created = NULL;
  g_autoptr(JsonNode) listed = NULL;
  g_autoptr(JsonNode) expected = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *resource = NULL;
  g_autofree char *expected_resource = NULL;
  const char *id;

  subscribe (engine, fixture, label, "*", "[\"db\",\"...\"]", &all);
  subscribe (narrow, fixture, label, "POST", "[\"db\",\"notes\"]", &inserts);

  created = ok (fixture, "POST", "[\"db\",\"notes\"]", "{\"text\":\"uno\"}");
  id = json_object_get_string_member (object_of (created), "id");
  resource = g_strdup_printf ("[\"db\",\"notes\",\"%s\"]", id);
  g_assert_cmpuint (request (fixture, "PUT", resource, "{\"text\":\"dos\"}", NULL), ==, 200);
  g_assert_cmpuint (request (fixture, "PATCH", resource, "{\"$set\":{\"seen\":true}}", NULL),
                    ==, 200);
  g_assert_cmpuint (request (fixture, "DELETE", resource, NULL, NULL), ==, 200);
  g_assert_cmpuint (request (fixture, "POST", "[\"db\",\"other\"]", "{\"_id\":\"o1\"}", NULL),
                    ==, 200);
  /* Refused and read-only requests change nothing: no events. */
  g_assert_cmpuint (request (fixture, "DELETE", resource, NULL, NULL), ==, 404);
  g_assert_cmpuint (request (fixture, "GET", "[\"db\",\"notes\"]", NULL, NULL), ==, 200);

  g_assert_true (test_wait_until (has_events, &wait, WAIT_MS));
  /* Exactly once each: no echo between Monje and its subscribers (the
   * narrow BIND reached the wide subscriber, which then subscribed Monje's
   * connection to inserts in return). */
  test_spin (300);
  g_assert_cmpuint (all.events->len, ==, 5);

  assert_event (g_ptr_array_index (all.events, 0), "POST", "[\"db\",\"notes\"]");
  body = parse (jstp_dispatch_get_body_json (g_ptr_array_index (all.events, 0)));
  g_assert_cmpstr (json_object_get_string_member (object_of (body), "_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (object_of (body), "text"), ==, "uno");
  g_clear_pointer (&body, json_node_unref);

  expected_resource = g_strdup_printf ("[\"db\",\"notes\",\"%s\"]", id);
  assert_event (g_ptr_array_index (all.events, 1), "PUT", expected_resource);
  body = parse (jstp_dispatch_get_body_json (g_ptr_array_index (all.events, 1)));
  g_assert_cmpstr (json_object_get_string_member (object_of (body), "text"), ==, "dos");
  g_clear_pointer (&body, json_node_unref);

  assert_event (g_ptr_array_index (all.events, 2), "PATCH", expected_resource);
  body = parse (jstp_dispatch_get_body_json (g_ptr_array_index (all.events, 2)));
  g_assert_true (json_object_get_boolean_member (object_of (body), "seen"));
  g_assert_cmpstr (json_object_get_string_member (object_of (body), "text"), ==, "dos");

  assert_event (g_ptr_array_index (all.events, 3), "DELETE", expected_resource);
  g_assert_null (jstp_dispatch_get_body_json (g_ptr_array_index (all.events, 3)));
  assert_event (g_ptr_array_index (all.events, 4), "POST", "[\"db\",\"other\"]");

  /* The narrower subscription saw the one insert into notes. */
  g_assert_cmpuint (inserts.events->len, ==, 1);
  assert_event (g_ptr_array_index (inserts.events, 0), "POST", "[\"db\",\"notes\"]");
  /* Subscribers see the clients' requests too, without the marker. */
  g_assert_cmpuint (all.requests, >=, 5);

  /* Monje did not take its own events for requests: nothing twice. */
  listed = ok (fixture, "GET", "[\"db\"]", NULL);
  expected = parse ("{\"collections\":[{\"name\":\"notes\",\"count\":0},"
                    "{\"name\":\"other\",\"count\":1}]}");
  g_assert_true (json_node_equal (listed, expected));

  /* A request that pretends to be an event is refused, not executed nor
   * passed on to the subscribers. */
  {
    g_autoptr(JstpDispatch) forged = dispatch_new ("POST", "[\"db\",\"notes\"]", "{\"f\":1}");
    g_autoptr(Answer) answer = answer_new ();

    jstp_dispatch_set_extension (forged, "x-monje-event", "true", NULL);
    jstp_dispatch_add_hop (forged, "127.0.0.1", fixture->tcp_port, "tcp");
    jstp_engine_emit (fixture->engine, forged, first_answer_cb, g_rc_box_acquire (answer),
                      answer_unref);
    g_assert_true (test_wait_until (answer_done, answer, WAIT_MS));
    g_assert_cmpuint (answer->status, ==, 403);
    test_spin (100);
    g_assert_cmpuint (all.events->len, ==, 5);
  }

  jstp_network_close (network);
  jstp_network_close (narrow_network);
  g_ptr_array_unref (all.events);
  g_ptr_array_unref (inserts.events);
}

/* ---- SQLite only: indexes ------------------------------------------------- */

static void
test_indexes (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "monje.sqlite3", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  g_autoptr(GString) plan = g_string_new (NULL);
  guint n_indexes = 0;

  insert_query_documents (fixture);
  /* Queried once: no index yet; queried repeatedly: indexed. */
  for (guint i = 0; i < 3; i++)
    assert_query (fixture, "{\"n\":{\"$gt\":2}}", "b,c");
  assert_query (fixture, "{\"s\":\"x\"}", "a,d");

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT sql FROM sqlite_master WHERE type = 'index' "
                                       "AND sql LIKE '%json_extract(doc, ''$.\"n\"'')%'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_test_message ("index: %s", sqlite3_column_text (stmt, 0));
      n_indexes++;
    }
  sqlite3_finalize (stmt);
  g_assert_cmpuint (n_indexes, ==, 1);

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM sqlite_master WHERE "
                                       "type = 'index' AND sql LIKE '%$.\"s\"%'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 0);
  sqlite3_finalize (stmt);

  /* The planner searches it for the expression Monje writes. */
  g_assert_cmpint (sqlite3_prepare_v2 (db, "EXPLAIN QUERY PLAN SELECT doc FROM c1 WHERE "
                                       "json_extract(doc, '$.\"n\"') > 2",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (plan, "%s\n", sqlite3_column_text (stmt, 3));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_test_message ("plan: %s", plan->str);
  g_assert_nonnull (strstr (plan->str, "USING INDEX"));
}

/* ---- SQLite only: SIGKILL mid-load --------------------------------------- */

#define LOAD_TOTAL     3000
#define LOAD_IN_FLIGHT 150
#define KILL_AFTER     600

typedef struct {
  GHashTable *acknowledged;   /* ids answered 200 */
  guint answered;             /* any status */
  guint sent;
} Load;

typedef struct {
  Load *load;
  char *id;
  gboolean seen;
} Insert;

static void
insert_answer_cb (JstpEngine   *engine,
                  JstpDispatch *answer,
                  gpointer      data)
{
  Insert *insert = data;

  if (insert->seen)
    return;
  insert->seen = TRUE;
  insert->load->answered++;
  if (jstp_dispatch_get_status (answer) == 200)
    g_hash_table_add (insert->load->acknowledged, g_strdup (insert->id));
}

static void
insert_free (gpointer data)
{
  Insert *insert = data;

  g_free (insert->id);
  g_free (insert);
}

static void
send_insert (Fixture *fixture,
             Load    *load)
{
  Insert *insert = g_new0 (Insert, 1);
  g_autofree char *body = NULL;
  g_autoptr(JstpDispatch) dispatch = NULL;

  insert->load = load;
  insert->id = g_strdup_printf ("k%05u", load->sent++);
  body = g_strdup_printf ("{\"_id\":\"%s\",\"payload\":\"%0128u\"}", insert->id, load->sent);
  dispatch = dispatch_new ("POST", "[\"db\",\"load\"]", body);
  jstp_dispatch_add_hop (dispatch, "127.0.0.1", fixture->tcp_port, "tcp");
  jstp_engine_emit (fixture->engine, dispatch, insert_answer_cb, insert, insert_free);
}

static void
test_sigkill (Fixture       *fixture,
              gconstpointer  data)
{
  Load load = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0, 0 };
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer id;
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  guint in_flight_at_kill, lost = 0;

  while (load.answered < KILL_AFTER && g_get_monotonic_time () < deadline)
    {
      while (load.sent - load.answered < LOAD_IN_FLIGHT && load.sent < LOAD_TOTAL)
        send_insert (fixture, &load);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpuint (load.answered, >=, KILL_AFTER);
  /* A fresh burst on its way, part of it being written by Monje: now. */
  while (load.sent - load.answered < LOAD_IN_FLIGHT)
    send_insert (fixture, &load);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  in_flight_at_kill = load.sent - load.answered;
  g_assert_cmpuint (in_flight_at_kill, >, 0);

  g_subprocess_send_signal (fixture->monje, SIGKILL);
  /* Answers already on their way still count: they were given. */
  while (load.answered < load.sent && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_subprocess_wait (fixture->monje, NULL, NULL);
  g_clear_object (&fixture->monje);
  g_test_message ("sent %u, answered 200: %u, in flight at the kill: %u",
                  load.sent, g_hash_table_size (load.acknowledged), in_flight_at_kill);

  /* The same data directory, a new process. */
  jstp_network_close (fixture->network);
  g_clear_object (&fixture->network);
  g_clear_object (&fixture->engine);
  monje_start (fixture, "--max-results=1000");
  fixture->engine = jstp_engine_new ("client");
  fixture->network = jstp_network_new (fixture->engine);

  for (guint skip = 0;; skip += 1000)
    {
      g_autofree char *query = g_strdup_printf ("{\"sort\":{\"_id\":1},\"projection\":"
                                                "{\"_id\":1},\"skip\":%u,\"limit\":1000}", skip);
      g_autoptr(JsonNode) page = ok (fixture, "GET", "[\"db\",\"load\"]", query);
      JsonArray *documents = json_object_get_array_member (object_of (page), "documents");

      for (guint i = 0; i < json_array_get_length (documents); i++)
        g_hash_table_add (present, g_strdup (json_object_get_string_member (
                                               json_array_get_object_element (documents, i),
                                               "_id")));
      if (json_array_get_length (documents) < 1000)
        break;
    }

  g_hash_table_iter_init (&iter, load.acknowledged);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    if (!g_hash_table_contains (present, id))
      {
        g_test_message ("answered 200 but lost: %s", (char *) id);
        lost++;
      }
  g_test_message ("after the restart: %u documents, %u answered ones lost",
                  g_hash_table_size (present), lost);
  g_assert_cmpuint (lost, ==, 0);
  g_assert_cmpuint (g_hash_table_size (present), >=, g_hash_table_size (load.acknowledged));
  g_assert_cmpuint (g_hash_table_size (present), <=, load.sent);
  g_hash_table_unref (load.acknowledged);
}

/* ---- main ------------------------------------------------------------------ */

/* ---- Pajaro's posts -------------------------------------------------------- */

#define POST_BODY(id) \
  "{\"id\":\"" id "\",\"author\":{\"id\":\"12\",\"username\":\"ana\",\"name\":\"Ana\"," \
  "\"url\":null},\"text\":\"hola #rust\",\"created_at\":\"2024-05-01T10:00:00.000Z\"," \
  "\"links\":[],\"media\":[],\"source\":\"mastodon\",\"tag\":\"rust\",\"url\":null}"

static gint64
posts_count (Fixture *fixture)
{
  g_autoptr(JsonNode) listed = ok (fixture, "GET", "[\"db\"]", NULL);
  JsonArray *collections = json_object_get_array_member (object_of (listed), "collections");

  for (guint i = 0; i < json_array_get_length (collections); i++)
    {
      JsonObject *collection = json_array_get_object_element (collections, i);

      if (g_strcmp0 (json_object_get_string_member (collection, "name"), "posts") == 0)
        return json_object_get_int_member (collection, "count");
    }
  return 0;
}

/* A post sent to Monje as Pajaro emits it is stored once, however many
 * copies arrive, and its insert is an event like any other. */
static void
test_posts (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(JsonNode) stored = NULL;
  g_autoptr(JsonNode) copy = NULL;
  g_autoptr(JsonNode) document = NULL;
  Received received = { g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref), 0 };
  EventWait one = { &received, 1 };

  subscribe (fixture->engine, fixture, "tcp", "POST", "[\"db\",\"posts\"]", &received);
  stored = ok (fixture, "POST", "[\"pajaro\",\"posts\",\"rust\"]", POST_BODY ("1001"));
  g_assert_cmpstr (json_object_get_string_member (object_of (stored), "id"), ==,
                   "mastodon:1001");
  g_assert_true (json_object_get_boolean_member (object_of (stored), "stored"));
  copy = ok (fixture, "POST", "[\"pajaro\",\"posts\",\"other\"]", POST_BODY ("1001"));
  g_assert_false (json_object_get_boolean_member (object_of (copy), "stored"));
  g_assert_cmpint (posts_count (fixture), ==, 1);

  document = ok (fixture, "GET", "[\"db\",\"posts\",\"mastodon:1001\"]", NULL);
  g_assert_cmpstr (json_object_get_string_member (object_of (document), "text"), ==,
                   "hola #rust");
  g_assert_cmpstr (json_object_get_string_member (object_of (document), "id"), ==, "1001");

  g_assert_true (test_wait_until (has_events, &one, WAIT_MS));
  test_spin (100);
  g_assert_cmpuint (received.events->len, ==, 1);
  assert_event (g_ptr_array_index (received.events, 0), "POST", "[\"db\",\"posts\"]");

  g_assert_cmpuint (request (fixture, "POST", "[\"pajaro\",\"posts\",\"rust\"]", "[1]", NULL),
                    ==, 400);
  g_ptr_array_unref (received.events);
}

/* Through a bridge, as a Tablero edge from Pajaro to Monje makes it: Monje
 * subscribes to the posts of another engine and stores each one. */
static void
test_posts_bridge (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bridge = NULL;
  g_autoptr(JsonNode) created = NULL;
  guint16 port;
  gint64 end;

  g_assert_true (jstp_network_listen (fixture->network, "tcp", "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  port = jstp_network_get_port (fixture->network, "tcp");
  bridge = g_strdup_printf ("{\"host\":\"127.0.0.1\",\"port\":%u,\"transport\":\"tcp\","
                            "\"endpoint\":{\"method\":\"POST\","
                            "\"resource\":[\"pajaro\",\"posts\",\"...\"]}}", port);
  created = ok (fixture, "POST", "[\"jstp\",\"bridges\"]", bridge);

  /* The bridge binds when it has connected: emit the same post until it
   * is stored; the copies are not. */
  end = g_get_monotonic_time () + WAIT_MS * 1000;
  while (posts_count (fixture) == 0)
    {
      g_autoptr(JstpDispatch) post =
        dispatch_new ("POST", "[\"pajaro\",\"posts\",\"rust\"]", POST_BODY ("2002"));

      g_assert_cmpint (g_get_monotonic_time (), <, end);
      jstp_engine_emit (fixture->engine, post, NULL, NULL, NULL);
      test_spin (50);
    }
  test_spin (200);
  g_assert_cmpint (posts_count (fixture), ==, 1);
  {
    g_autoptr(JsonNode) document = ok (fixture, "GET", "[\"db\",\"posts\",\"mastodon:2002\"]",
                                       NULL);

    g_assert_cmpstr (json_object_get_string_member (object_of (document), "tag"), ==, "rust");
  }
}

/* --posts-collection names another collection, and "" stores none. */
static void
test_posts_collection (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(JsonNode) listed = NULL;
  g_autoptr(JsonNode) expected = NULL;

  stop_process (&fixture->monje, SIGTERM);
  monje_start (fixture, "--posts-collection=feed");
  g_assert_cmpuint (request (fixture, "POST", "[\"pajaro\",\"posts\",\"rust\"]",
                             POST_BODY ("3"), NULL), ==, 200);
  listed = ok (fixture, "GET", "[\"db\"]", NULL);
  expected = parse ("{\"collections\":[{\"name\":\"feed\",\"count\":1}]}");
  g_assert_true (json_node_equal (listed, expected));

  stop_process (&fixture->monje, SIGTERM);
  monje_start (fixture, "--posts-collection=");
  /* Storing is off: said at once, with 404. */
  g_assert_cmpuint (request (fixture, "POST", "[\"pajaro\",\"posts\",\"rust\"]",
                             POST_BODY ("4"), NULL), ==, 404);
  g_clear_pointer (&listed, json_node_unref);
  listed = ok (fixture, "GET", "[\"db\"]", NULL);
  g_assert_true (json_node_equal (listed, expected));
}

static void
add (const char    *name,
     Backend        backend,
     void         (*test) (Fixture *, gconstpointer))
{
  g_autofree char *path = g_strdup_printf ("/monje/%s/%s",
                                           backend == BACKEND_SQLITE ? "sqlite" : "mongo", name);

  g_test_add (path, Fixture, GINT_TO_POINTER (backend), fixture_set_up, test, fixture_tear_down);
}

int
main (int    argc,
      char **argv)
{
  gboolean have_mongo;

  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("MONJE") == NULL)
    g_error ("set MONJE to the monje program to test");
  have_mongo = g_strcmp0 (g_getenv ("MONJE_HAVE_MONGOC"), "1") == 0;

  for (Backend backend = BACKEND_SQLITE; backend <= BACKEND_MONGO; backend++)
    {
      if (backend == BACKEND_MONGO && !have_mongo)
        {
          g_test_message ("monje was built without libmongoc: MongoDB cases not run");
          continue;
        }
      add ("crud", backend, test_crud);
      add ("queries", backend, test_queries);
      add ("options", backend, test_options);
      add ("errors", backend, test_errors);
      add ("collections", backend, test_collections);
      add ("events-tcp", backend, test_events);
      add ("events-ws", backend, test_events);
      add ("posts", backend, test_posts);
      add ("posts-bridge", backend, test_posts_bridge);
    }
  add ("indexes", BACKEND_SQLITE, test_indexes);
  add ("sigkill", BACKEND_SQLITE, test_sigkill);
  add ("posts-collection", BACKEND_SQLITE, test_posts_collection);

  return g_test_run ();
}
