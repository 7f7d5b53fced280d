/* fuzz-driver.c: runs a libFuzzer harness without libFuzzer, over a seed corpus, as a test.
 *
 * Usage: fuzz-NAME PATH...  Each PATH is a file or a directory (its files, recursively, in name
 * order).  Every file is handed to LLVMFuzzerTestOneInput once, in a buffer of exactly its size
 * so that sanitizers see reads past the end.  Output is TAP, one line per input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Adds path, or the files under it, to paths (owned strings). */
static void
collect (const char *path, GPtrArray *paths)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_ptr_array_add (paths, g_strdup (path));
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  if (dir == NULL) {
    fprintf (stderr, "fuzz-driver: %s\n", error->message);
    exit (2);
  }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const char *name = g_dir_read_name (dir); name != NULL; name = g_dir_read_name (dir))
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    collect (g_ptr_array_index (names, i), paths);
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fprintf (stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
    return 2;
  }
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    collect (argv[i], paths);
  printf ("1..%u\n", paths->len);
  fflush (stdout);
  int status = 0;
  for (guint i = 0; i < paths->len; i++) {
    const char *path = g_ptr_array_index (paths, i);
    g_autoptr (GError) error = NULL;
    char *contents = NULL;
    gsize len = 0;
    if (!g_file_get_contents (path, &contents, &len, &error)) {
      printf ("not ok %u - %s: %s\n", i + 1, path, error->message);
      status = 1;
      continue;
    }
    /* An exact-size copy: g_file_get_contents adds a terminating zero byte. */
    uint8_t *data = g_malloc (MAX (len, 1));
    memcpy (data, contents, len);
    g_free (contents);
    LLVMFuzzerTestOneInput (data, len);
    g_free (data);
    printf ("ok %u - %s (%" G_GSIZE_FORMAT " bytes)\n", i + 1, path, len);
    fflush (stdout);
  }
  return status;
}
