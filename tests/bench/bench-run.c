/* bench-run.c: runs one command and writes its wall time, CPU time and peak RSS, for run-bench.sh.
 *
 * usage: bench-run RESULT_FILE COMMAND [ARG...]
 *
 * Forks and execs COMMAND at once and waits for it with wait4(2), then writes one line to
 * RESULT_FILE:
 *   status wall_ns user_us sys_us maxrss_kb
 * status is COMMAND's exit status, or 128 + the signal that ended it.  The wall time is taken from
 * CLOCK_MONOTONIC just before fork and just after wait4, so it includes exec and nothing of a
 * shell.  Peak RSS is the child's ru_maxrss: Linux starts a forked child's peak from the pages it
 * shares with its parent, so the parent must stay small, which is why this is a C program and
 * not GNU time behind a shell or a Python wrapper (whose 10 MB would be counted for tools that use
 * 3 MB).  COMMAND's standard streams are this program's.
 * Exit status: COMMAND's status as above, 127 when it cannot be run, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
tv_us (struct timeval tv)
{
  return (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;
}

int
main (int argc, char **argv)
{
  if (argc < 3) {
    fprintf (stderr, "usage: %s RESULT_FILE COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  FILE *out = fopen (argv[1], "w");
  if (out == NULL) {
    fprintf (stderr, "bench-run: %s: %s\n", argv[1], strerror (errno));
    return 2;
  }

  int64_t t0 = now_ns ();
  pid_t pid = fork ();
  if (pid < 0) {
    fprintf (stderr, "bench-run: fork: %s\n", strerror (errno));
    return 127;
  }
  if (pid == 0) {
    execvp (argv[2], argv + 2);
    fprintf (stderr, "bench-run: %s: %s\n", argv[2], strerror (errno));
    _exit (127);
  }

  int wstatus = 0;
  struct rusage ru;
  memset (&ru, 0, sizeof ru);
  while (wait4 (pid, &wstatus, 0, &ru) < 0) {
    if (errno != EINTR) {
      fprintf (stderr, "bench-run: wait4: %s\n", strerror (errno));
      return 127;
    }
  }
  int64_t t1 = now_ns ();

  int status = WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);
  fprintf (out, "%d %" PRId64 " %" PRId64 " %" PRId64 " %ld\n", status, t1 - t0,
           tv_us (ru.ru_utime), tv_us (ru.ru_stime), ru.ru_maxrss);
  if (fclose (out) != 0) {
    fprintf (stderr, "bench-run: %s: %s\n", argv[1], strerror (errno));
    return 127;
  }
  return status;
}
