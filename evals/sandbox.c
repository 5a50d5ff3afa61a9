/*
 * evals/sandbox.c - run untrusted Python programs in isolated child processes (see
 * sandbox.h for the levels and the contract).
 *
 * What it does: for each job, a fresh directory (owned by the slot's uid) holds prog.py
 * and a one-time token file; a child is forked that becomes its own session, points
 * stdin at /dev/null and stdout+stderr at one pipe, drops to an unprivileged uid (when
 * root), sets rlimits and no_new_privs, and execs the interpreter (directly, through
 * bubblewrap, or after unshare as root). The interpreter runs RUNNER below: it reads
 * and deletes the token, installs an audit hook, execs prog.py, and writes
 * "@@assay-done-<token>@@" only if the program returned. When the program raises, its
 * main process writes the exception as one line after "@@assay-exception-<token>@@" in a
 * single write (atomic on a pipe), so a fork bomb's interleaved tracebacks cannot garble
 * it; the output's last exception-like line is only the fallback. One event loop in the
 * parent reads every pipe, enforces deadlines, reaps children (pidfds where the kernel
 * has them) and classifies each end.
 *
 * What it does not do: decide what a program is (evals/codeexec.c builds programs), or
 * hold any knowledge of tasks. It never uses threads: the pool is processes.
 *
 * Between fork and exec the child calls only async-signal-safe functions and touches
 * only memory prepared before the fork.
 */
#include "evals/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/utf8.h"

/* When assay is root, each run gets a random uid/gid in [BASE, BASE + RANGE): RLIMIT_NPROC
 * counts processes per uid, a run's processes (a fork bomb's included) take a moment to be
 * torn down after it ends, and other assay processes on the machine run sandboxes too, so
 * a uid is never reused on purpose (two runs share one with odds about 1 in 2^30 per pair).
 * The range stays below 2^31: bubblewrap writes uid maps as signed ints. */
#define SANDBOX_UID_BASE   100000
#define SANDBOX_UID_RANGE  (1u << 30)
#define SANDBOX_MAX_JOBS   256
#define SANDBOX_TOKEN_HEX  32
#define SANDBOX_READ_CHUNK 65536
#define SANDBOX_DRAIN_S    0.2 /* after the main process ends, how long leftovers may write */

/* The program the interpreter runs (python3 -I -B -u -c RUNNER). It keeps what it needs
 * in closure cells and defaults so that a completion rebinding os.write or posixpath
 * does not change the hook. A determined program can still find the token by frame
 * introspection; the kernel isolation, not this hook, is the security boundary. */
static const char RUNNER[] =
    "import sys, os\n"
    "def _assay_main():\n"
    "    w = os.write\n"
    "    rp = os.path.realpath\n"
    "    fsdecode = os.fsdecode\n"
    "    getpid = os.getpid\n"
    "    d = os.getcwd()\n"
    "    with open('.assay_token', 'rb') as f:\n"
    "        tok = f.read().strip()\n"
    "    os.unlink('.assay_token')\n"
    "    with open('prog.py', 'rb') as f:\n"
    "        src = f.read()\n"
    "    vtag = b'\\n@@assay-violation-' + tok + b'@@ '\n"
    "    done = b'@@assay-done-' + tok + b'@@'\n"
    "    etag = b'@@assay-exception-' + tok + b'@@ '\n"
    "    main_pid = getpid()\n"
    "    WR = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND\n"
    "    NET = ('socket.connect', 'socket.bind', 'socket.sendto', 'socket.sendmsg')\n"
    "    PROC = ('os.system', 'os.exec', 'os.posix_spawn', 'os.spawn', 'subprocess.Popen',\n"
    "            'pty.spawn', 'os.startfile')\n"
    "    PATH1 = ('os.remove', 'os.rmdir', 'os.mkdir', 'os.chmod', 'os.chown', 'os.truncate',\n"
    "             'os.utime', 'os.mkfifo', 'os.mknod', 'shutil.rmtree', 'os.setxattr',\n"
    "             'os.removexattr')\n"
    "    PATH2 = ('os.rename', 'os.link', 'os.symlink', 'shutil.copyfile', 'shutil.copytree',\n"
    "             'shutil.move')\n"
    "    def inside(p):\n"
    "        if p is None or isinstance(p, int):\n"
    "            return True\n"
    "        try:\n"
    "            q = rp(fsdecode(p))\n"
    "        except Exception:\n"
    "            return False\n"
    "        return q == d or q.startswith(d + '/')\n"
    "    def bad(what):\n"
    "        try:\n"
    "            w(2, vtag + what.encode('utf-8', 'backslashreplace')[:300] + b'\\n')\n"
    "        except Exception:\n"
    "            pass\n"
    "        raise PermissionError('blocked by the assay sandbox: ' + what)\n"
    "    def describe(e, type=type, str=str, isinstance=isinstance, SyntaxError=SyntaxError):\n"
    "        t = type(e)\n"
    "        n = t.__qualname__\n"
    "        if t.__module__ not in ('builtins', '__main__'):\n"
    "            n = t.__module__ + '.' + n\n"
    "        m = e.msg if isinstance(e, SyntaxError) else str(e)\n"
    "        line = n + ': ' + m if m else n\n"
    "        return line[:300].encode('utf-8', 'backslashreplace').replace(b'\\n', b' ')\n"
    "    def hook(ev, args):\n"
    "        if ev == 'open':\n"
    "            fl = args[2]\n"
    "            if isinstance(fl, int) and fl & WR and not inside(args[0]):\n"
    "                bad('wrote outside its directory: %r' % (args[0],))\n"
    "        elif ev in NET:\n"
    "            bad('network: %s %r' % (ev, args[1:]))\n"
    "        elif ev == 'os.kill' or ev == 'os.killpg':\n"
    "            if ev == 'os.killpg' or args[0] != getpid():\n"
    "                bad('signalled another process: %s(%r, %r)' % (ev, args[0], args[1]))\n"
    "        elif ev in PROC:\n"
    "            bad('started a program: %s %r' % (ev, args[0]))\n"
    "        elif ev in PATH1:\n"
    "            if not inside(args[0]):\n"
    "                bad('changed a file outside its directory: %s %r' % (ev, args[0]))\n"
    "        elif ev in PATH2:\n"
    "            if not inside(args[0]) or not inside(args[1]):\n"
    "                bad('changed a file outside its directory: %s %r %r' % (ev, args[0],\n"
    "                    args[1]))\n"
    "        elif ev == 'ctypes.dlopen' and args[0] is not None:\n"
    "            bad('loaded native code: ctypes %r' % (args[0],))\n"
    "    sys.addaudithook(hook)\n"
    "    try:\n"
    "        exec(compile(src, d + '/prog.py', 'exec'), {})\n"
    "    except Exception as e:\n"
    "        if getpid() == main_pid:\n"
    "            try:\n"
    "                w(2, etag + describe(e) + b'\\n')\n"
    "            except BaseException:\n"
    "                pass\n"
    "        raise\n"
    "    try:\n"
    "        sys.stdout.flush()\n"
    "    except Exception:\n"
    "        pass\n"
    "    w(1, done)\n"
    "_assay_main()\n";

/* The program used to probe a level: it must run and end normally. */
static const char PROBE_PROGRAM[] = "x = sum(range(10))\nassert x == 45\n";

struct sandbox {
    struct sandbox_limits lim;
    enum sandbox_isolation iso;
    int n_jobs;
    bool root;
    int64_t uid_procs; /* not root: processes our uid already has (RLIMIT_NPROC counts
                        * them too), plus room for the other slots' runs */
    char python[512];
    char bwrap[512];
    char tmp_root[512];
    char desc[1024];
};

const char *sandbox_isolation_name(enum sandbox_isolation iso)
{
    switch (iso) {
    case SANDBOX_ISO_BWRAP:
        return "bwrap";
    case SANDBOX_ISO_NAMESPACES:
        return "namespaces";
    case SANDBOX_ISO_RLIMITS:
        return "rlimits";
    }
    return "?";
}

const char *sandbox_outcome_name(enum sandbox_outcome o)
{
    static const char *const names[] = {
        "passed", "failed", "timed out", "resource limit", "sandbox violation", "error"};
    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

void sandbox_result_release(struct sandbox_result *r)
{
    if (!r)
        return;
    free(r->output);
    r->output = NULL;
    r->output_len = 0;
}

enum sandbox_isolation sandbox_isolation(const struct sandbox *sb)
{
    return sb->iso;
}

const char *sandbox_describe(const struct sandbox *sb)
{
    return sb->desc;
}

int sandbox_n_jobs(const struct sandbox *sb)
{
    return sb->n_jobs;
}

const struct sandbox_limits *sandbox_limits(const struct sandbox *sb)
{
    return &sb->lim;
}

void sandbox_free(struct sandbox *sb)
{
    free(sb);
}

/* ---- one run: the directory, the argument vectors, the child ------------------------ */

#define MAX_ARGS 80
#define MAX_ENV  12

/* Everything the child needs, prepared before fork (no allocation after it). */
struct launch {
    enum sandbox_isolation iso;
    const char *exe; /* execve path */
    char *argv[MAX_ARGS];
    char *envp[MAX_ENV];
    char env_store[MAX_ENV][600];
    const char *dir;
    int devnull;
    int out_w; /* write end of the output pipe */
    bool drop_uid;
    uid_t uid;
    int64_t n_proc; /* RLIMIT_NPROC: the limit, plus what the uid already runs if shared */
    const struct sandbox_limits *lim;
};

/* A line the runner writes after a tag: "<tag><text>\n". The text is taken from the first
 * occurrence, across reads. */
struct tag_line {
    char tag[96];
    size_t tag_len;
    char text[256];
    size_t len;
    bool found; /* the tag was seen */
    bool open;  /* ... and its line has not ended yet */
};

struct slot {
    bool busy;
    size_t job;
    pid_t pid;
    int pidfd; /* -1 if the kernel gave none: poll in short steps instead */
    int out_r; /* -1 once closed */
    double t_start, deadline, drain_until;
    bool exited, timed_out, output_killed;
    int status;
    struct rusage ru;
    char dir[600];
    char token[SANDBOX_TOKEN_HEX + 1];
    char done_tag[80];
    size_t done_len;
    bool saw_done;
    struct tag_line violation; /* what the audit hook blocked first */
    struct tag_line exception; /* the main process's exception, one line */
    struct buf out;  /* the kept output */
    uint64_t total;  /* bytes read */
    char carry[128]; /* the last bytes of the stream, for tags split over reads */
    size_t carry_len;
    char tail[2048]; /* the last bytes, for the exception line when truncated */
    size_t tail_len;
    struct sandbox_result res;
};

static void set_env(struct launch *L, int *n, const char *name, const char *value)
{
    if (*n >= MAX_ENV - 1)
        return;
    snprintf(L->env_store[*n], sizeof(L->env_store[0]), "%s=%s", name, value);
    L->envp[*n] = L->env_store[*n];
    (*n)++;
    L->envp[*n] = NULL;
}

static int build_env(struct launch *L, const char *dir)
{
    int n = 0;
    L->envp[0] = NULL;
    set_env(L, &n, "PATH", "/usr/bin:/bin");
    set_env(L, &n, "HOME", dir);
    set_env(L, &n, "TMPDIR", dir);
    set_env(L, &n, "LANG", "C.UTF-8");
    set_env(L, &n, "LC_ALL", "C.UTF-8");
    set_env(L, &n, "PYTHONDONTWRITEBYTECODE", "1");
    set_env(L, &n, "PYTHONIOENCODING", "utf-8");
    return 0;
}

/* The interpreter's own arguments, appended at argv[*n]. */
static void add_python_args(struct launch *L, int *n, const char *python)
{
    L->argv[(*n)++] = (char *)python;
    L->argv[(*n)++] = (char *)"-I"; /* isolated: no user site, no PYTHON* variables */
    L->argv[(*n)++] = (char *)"-B";
    L->argv[(*n)++] = (char *)"-u"; /* unbuffered: output survives a kill */
    L->argv[(*n)++] = (char *)"-c";
    L->argv[(*n)++] = (char *)RUNNER;
    L->argv[*n] = NULL;
}

/* Root-level entries of a merged-/usr system are symlinks into /usr; others are bound. */
static const char *const ROOT_LINKS[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};

static int build_bwrap_argv(struct launch *L, const struct sandbox *sb, const char *dir,
                            char link_targets[][256])
{
    int n = 0;
    char **a = L->argv;
    a[n++] = (char *)sb->bwrap;
    a[n++] = (char *)"--unshare-all";
    a[n++] = (char *)"--die-with-parent";
    a[n++] = (char *)"--new-session";
    a[n++] = (char *)"--cap-drop";
    a[n++] = (char *)"ALL";
    a[n++] = (char *)"--hostname";
    a[n++] = (char *)"sandbox";
    a[n++] = (char *)"--ro-bind";
    a[n++] = (char *)"/usr";
    a[n++] = (char *)"/usr";
    for (size_t i = 0; i < sizeof(ROOT_LINKS) / sizeof(ROOT_LINKS[0]); i++) {
        struct stat st;
        if (lstat(ROOT_LINKS[i], &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t k = readlink(ROOT_LINKS[i], link_targets[i], 255);
            if (k <= 0)
                continue;
            link_targets[i][k] = '\0';
            a[n++] = (char *)"--symlink";
            a[n++] = link_targets[i];
            a[n++] = (char *)ROOT_LINKS[i];
        } else if (S_ISDIR(st.st_mode)) {
            a[n++] = (char *)"--ro-bind";
            a[n++] = (char *)ROOT_LINKS[i];
            a[n++] = (char *)ROOT_LINKS[i];
        }
    }
    a[n++] = (char *)"--proc";
    a[n++] = (char *)"/proc";
    a[n++] = (char *)"--dev";
    a[n++] = (char *)"/dev";
    a[n++] = (char *)"--bind";
    a[n++] = (char *)dir;
    a[n++] = (char *)dir;
    a[n++] = (char *)"--remount-ro"; /* bwrap's own tmpfs root: nothing writable but dir */
    a[n++] = (char *)"/";
    a[n++] = (char *)"--chdir";
    a[n++] = (char *)dir;
    a[n++] = (char *)"--clearenv";
    for (int i = 0; L->envp[i]; i++) {
        char *eq = strchr(L->envp[i], '=');
        /* bwrap --setenv NAME VALUE: split the stored "NAME=VALUE" in place; envp is
         * not used for this level's execve beyond what bwrap re-creates. */
        *eq = '\0';
        a[n++] = (char *)"--setenv";
        a[n++] = L->envp[i];
        a[n++] = eq + 1;
    }
    a[n++] = (char *)"--";
    add_python_args(L, &n, sb->python);
    L->exe = sb->bwrap;
    return 0;
}

/* ---- in the child (async-signal-safe only) ----------------------------------------- */

static void child_fail(const char *what)
{
    char msg[256];
    size_t n = 0;
    const char *pre = "assay-sandbox: ";
    for (const char *p = pre; *p && n < sizeof(msg) - 2; p++)
        msg[n++] = *p;
    for (const char *p = what; *p && n < sizeof(msg) - 2; p++)
        msg[n++] = *p;
    msg[n++] = '\n';
    ssize_t w = write(2, msg, n);
    (void)w;
    _exit(126);
}

static void child_limits(const struct launch *L)
{
    const struct sandbox_limits *lim = L->lim;
    struct rlimit r;
    r.rlim_cur = (rlim_t)lim->cpu_s;
    r.rlim_max = (rlim_t)lim->cpu_s + 1; /* SIGXCPU first, SIGKILL a second later */
    setrlimit(RLIMIT_CPU, &r);
    r.rlim_cur = r.rlim_max = (rlim_t)lim->mem_bytes;
    setrlimit(RLIMIT_AS, &r);
    r.rlim_cur = r.rlim_max = (rlim_t)lim->file_bytes;
    setrlimit(RLIMIT_FSIZE, &r);
    r.rlim_cur = r.rlim_max = (rlim_t)L->n_proc;
    setrlimit(RLIMIT_NPROC, &r);
    r.rlim_cur = r.rlim_max = (rlim_t)lim->n_files;
    setrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &r);
}

static void child_drop_uid(const struct launch *L)
{
    if (!L->drop_uid)
        return;
    if (setgroups(0, NULL) != 0 || setresgid(L->uid, L->uid, L->uid) != 0 ||
        setresuid(L->uid, L->uid, L->uid) != 0)
        child_fail("cannot drop to the sandbox uid");
}

/* Make every mount of this (new, private) mount namespace read-only except dir.
 * MS_BIND|MS_REMOUNT changes only this namespace's view of a mount, never the file
 * system's superblock, so the host is untouched. */
static void child_readonly_mounts(const char *dir)
{
    char info[1 << 16];
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        child_fail("cannot read /proc/self/mountinfo");
    size_t len = 0;
    for (;;) {
        ssize_t k = read(fd, info + len, sizeof(info) - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    close(fd);
    info[len] = '\0';
    char *line = info;
    while (*line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        /* fields: id parent major:minor root mountpoint options ... */
        char *f = line;
        for (int i = 0; i < 4 && f; i++) {
            f = strchr(f, ' ');
            if (f)
                f++;
        }
        if (f) {
            char *end = strchr(f, ' ');
            char *opts = end ? end + 1 : NULL;
            if (end)
                *end = '\0';
            unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY;
            if (opts) {
                char *oe = strchr(opts, ' ');
                if (oe)
                    *oe = '\0';
                if (strstr(opts, "nosuid"))
                    fl |= MS_NOSUID;
                if (strstr(opts, "nodev"))
                    fl |= MS_NODEV;
                if (strstr(opts, "noexec"))
                    fl |= MS_NOEXEC;
            }
            if (strcmp(f, dir) != 0 && !strchr(f, '\\'))
                mount(NULL, f, NULL, fl, NULL);
        }
        if (!nl)
            break;
        line = nl + 1;
    }
}

static void child_exec(const struct launch *L)
{
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    child_limits(L);
    if (chdir(L->dir) != 0)
        child_fail("cannot enter the run directory");
    execve(L->exe, L->argv, L->envp);
    child_fail("cannot execute the interpreter");
}

static void child_main(const struct launch *L)
{
    if (setsid() < 0)
        _exit(126);
    sigset_t none; /* a blocked SIGXCPU would turn the soft CPU limit into the hard one */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(L->devnull, 0) < 0 || dup2(L->out_w, 1) < 0 || dup2(L->out_w, 2) < 0)
        _exit(126);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    switch (L->iso) {
    case SANDBOX_ISO_BWRAP:
    case SANDBOX_ISO_RLIMITS:
        child_drop_uid(L);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* after the uid change, which clears it */
        child_exec(L);
        break;
    case SANDBOX_ISO_NAMESPACES: {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
            child_fail("unshare failed");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            child_fail("cannot make the mount namespace private");
        if (mount(L->dir, L->dir, NULL, MS_BIND | MS_REC, NULL) != 0)
            child_fail("cannot bind the run directory");
        child_readonly_mounts(L->dir);
        pid_t pid = fork(); /* the first child in the new pid namespace is its init */
        if (pid < 0)
            child_fail("cannot fork in the new pid namespace");
        if (pid == 0) {
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
            child_drop_uid(L);
            prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            child_exec(L);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFSIGNALED(st))
            _exit(128 + WTERMSIG(st));
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 126);
    }
    }
    _exit(126);
}

/* ---- the parent's side of one run ------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *dir)
{
    if (dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        p += k;
        len -= (size_t)k;
    }
    return close(fd);
}

static void slot_reset(struct slot *s)
{
    buf_release(&s->out);
    memset(s, 0, sizeof(*s));
    s->pidfd = -1;
    s->out_r = -1;
}

static void set_error(struct slot *s, const char *what, const char *why)
{
    s->res.outcome = SANDBOX_ERROR;
    s->res.exit_status = -1;
    snprintf(s->res.reason, sizeof(s->res.reason), "%s: %s", what, why);
}

/* Prepare the directory and fork. On failure the slot holds an ERROR result and
 * exited = true, so the loop finishes it like any other run. */
static void slot_start(struct sandbox *sb, struct slot *s, const struct sandbox_job *job,
                       enum sandbox_isolation iso)
{
    int pipefd[2] = {-1, -1}, devnull = -1;
    struct launch *L = calloc(1, sizeof(*L));
    char(*links)[256] = calloc(sizeof(ROOT_LINKS) / sizeof(ROOT_LINKS[0]), 256);
    s->busy = true;
    s->t_start = clock_now_s();
    s->deadline = s->t_start + sb->lim.timeout_s;
    buf_init(&s->out, sb->lim.max_output_bytes);
    s->res.exit_status = -1;
    if (!L || !links) {
        set_error(s, "cannot start", "out of memory");
        goto fail;
    }
    uint8_t rnd[SANDBOX_TOKEN_HEX / 2 + 4]; /* the token, then the uid */
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        set_error(s, "cannot start", "no random token");
        goto fail;
    }
    for (size_t i = 0; i < SANDBOX_TOKEN_HEX / 2; i++)
        snprintf(s->token + 2 * i, 3, "%02x", rnd[i]);
    s->done_len = (size_t)snprintf(s->done_tag, sizeof(s->done_tag), "@@assay-done-%s@@", s->token);
    s->violation.tag_len = (size_t)snprintf(s->violation.tag, sizeof(s->violation.tag),
                                            "\n@@assay-violation-%s@@ ", s->token);
    s->exception.tag_len = (size_t)snprintf(s->exception.tag, sizeof(s->exception.tag),
                                            "@@assay-exception-%s@@ ", s->token);
    snprintf(s->dir, sizeof(s->dir), "%s/assay-sbx.XXXXXX", sb->tmp_root);
    if (!mkdtemp(s->dir)) {
        set_error(s, "cannot create a run directory", strerror(errno));
        s->dir[0] = '\0';
        goto fail;
    }
    if (write_file(s->dir, "prog.py", job->program, job->program_len) != 0 ||
        write_file(s->dir, ".assay_token", s->token, SANDBOX_TOKEN_HEX) != 0) {
        set_error(s, "cannot write the program", strerror(errno));
        goto fail;
    }
    L->iso = iso;
    L->lim = &sb->lim;
    L->dir = s->dir;
    L->drop_uid = sb->root;
    L->n_proc = sb->lim.n_proc + sb->uid_procs;
    uint32_t r32;
    memcpy(&r32, rnd + SANDBOX_TOKEN_HEX / 2, sizeof(r32));
    L->uid = (uid_t)(SANDBOX_UID_BASE + r32 % SANDBOX_UID_RANGE);
    if (sb->root && chown(s->dir, L->uid, L->uid) != 0) {
        set_error(s, "cannot hand the run directory to the sandbox uid", strerror(errno));
        goto fail;
    }
    build_env(L, s->dir);
    if (iso == SANDBOX_ISO_BWRAP) {
        build_bwrap_argv(L, sb, s->dir, links);
        /* bwrap itself gets a minimal environment too */
        L->envp[0] = (char *)"PATH=/usr/bin:/bin";
        L->envp[1] = NULL;
    } else {
        int n = 0;
        add_python_args(L, &n, sb->python);
        L->exe = sb->python;
    }
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
        set_error(s, "cannot open a pipe", strerror(errno));
        goto fail;
    }
    L->devnull = devnull;
    L->out_w = pipefd[1];
    pid_t pid = fork();
    if (pid < 0) {
        set_error(s, "cannot fork", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        child_main(L); /* never returns */
    s->pid = pid;
    /* no setpgid here: the child's setsid would fail on a group leader, and a run must
     * have no controlling terminal (TIOCSTI); nothing signals the group before the
     * child has run its first instructions */
    s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    close(pipefd[1]);
    close(devnull);
    s->out_r = pipefd[0];
    fcntl(s->out_r, F_SETFL, fcntl(s->out_r, F_GETFL) | O_NONBLOCK);
    free(L);
    free(links);
    return;
fail:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (devnull >= 0)
        close(devnull);
    free(L);
    free(links);
    s->exited = true;
    s->status = -1;
}

/* Look for t's tag in the window (the carried bytes, then data), or go on with the line
 * the tag began in an earlier read. */
static void tag_line_scan(struct tag_line *t, const char *win, size_t wn, const char *data,
                          size_t n)
{
    const char *p, *e;
    if (t->open) {
        p = data;
        e = data + n;
    } else if (!t->found) {
        const char *hit = memmem(win, wn, t->tag, t->tag_len);
        if (!hit)
            return;
        t->found = true;
        t->open = true;
        p = hit + t->tag_len;
        e = win + wn;
    } else {
        return;
    }
    while (p < e && *p != '\n') {
        if (t->len < sizeof(t->text) - 1)
            t->text[t->len++] = *p;
        p++;
    }
    t->text[t->len] = '\0';
    if (p < e)
        t->open = false;
}

/* Append n bytes read from the pipe: keep up to the cap, look for the tags across reads. */
static void slot_take(struct sandbox *sb, struct slot *s, const char *data, size_t n)
{
    s->total += n;
    size_t room = sb->lim.max_output_bytes - s->out.len;
    if (room > 0)
        buf_add(&s->out, data, n < room ? n : room);
    if (n > room)
        s->res.output_truncated = true;
    /* the window carry + data, searched for the tags */
    char win[sizeof(s->carry) + SANDBOX_READ_CHUNK];
    memcpy(win, s->carry, s->carry_len);
    memcpy(win + s->carry_len, data, n);
    size_t wn = s->carry_len + n;
    if (!s->saw_done && memmem(win, wn, s->done_tag, s->done_len))
        s->saw_done = true;
    tag_line_scan(&s->violation, win, wn, data, n);
    tag_line_scan(&s->exception, win, wn, data, n);
    size_t keep = wn < sizeof(s->carry) ? wn : sizeof(s->carry);
    memcpy(s->carry, win + wn - keep, keep);
    s->carry_len = keep;
    if (n >= sizeof(s->tail)) {
        memcpy(s->tail, data + n - sizeof(s->tail), sizeof(s->tail));
        s->tail_len = sizeof(s->tail);
    } else {
        size_t drop = s->tail_len + n > sizeof(s->tail) ? s->tail_len + n - sizeof(s->tail) : 0;
        memmove(s->tail, s->tail + drop, s->tail_len - drop);
        memcpy(s->tail + s->tail_len - drop, data, n);
        s->tail_len = s->tail_len - drop + n;
    }
}

static void slot_read(struct sandbox *sb, struct slot *s)
{
    char chunk[SANDBOX_READ_CHUNK];
    for (;;) {
        ssize_t k = read(s->out_r, chunk, sizeof(chunk));
        if (k > 0) {
            slot_take(sb, s, chunk, (size_t)k);
            if (s->total > sb->lim.kill_output_bytes && !s->output_killed && !s->exited) {
                s->output_killed = true;
                kill(-s->pid, SIGKILL);
            }
            continue;
        }
        if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(s->out_r);
            s->out_r = -1;
        }
        if (k < 0 && errno == EINTR)
            continue;
        return;
    }
}

static void slot_reap(struct slot *s)
{
    if (s->exited)
        return;
    /* Look without reaping first: while the main process is a zombie its process group
     * id cannot be reused, so killing what the run left behind in the group is safe. */
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
        return;
    kill(-s->pid, SIGKILL);
    int st;
    if (wait4(s->pid, &st, 0, &s->ru) == s->pid) {
        s->exited = true;
        s->status = st;
        s->drain_until = clock_now_s() + SANDBOX_DRAIN_S;
    }
}

/* Remove every occurrence of needle from the kept output (or replace it). */
static void strip_tag(struct buf *b, const char *needle, size_t nlen, const char *with)
{
    size_t wlen = strlen(with);
    if (!b->data || nlen == 0 || wlen > nlen)
        return;
    char *p = b->data;
    size_t left = b->len;
    char *hit;
    while ((hit = memmem(p, left, needle, nlen)) != NULL) {
        memcpy(hit, with, wlen);
        size_t after = (size_t)(b->data + b->len - (hit + nlen));
        memmove(hit + wlen, hit + nlen, after);
        b->len -= nlen - wlen;
        b->data[b->len] = '\0';
        p = hit + wlen;
        left = (size_t)(b->data + b->len - p);
    }
}

/* Remove every line the runner began with needle, its newline included. */
static void strip_tag_line(struct buf *b, const char *needle, size_t nlen)
{
    if (!b->data || nlen == 0)
        return;
    char *hit;
    size_t from = 0;
    while ((hit = memmem(b->data + from, b->len - from, needle, nlen)) != NULL) {
        char *end = hit + nlen, *stop = b->data + b->len;
        while (end < stop && *end != '\n')
            end++;
        if (end < stop)
            end++;
        memmove(hit, end, (size_t)(stop - end));
        b->len -= (size_t)(end - hit);
        b->data[b->len] = '\0';
        from = (size_t)(hit - b->data);
    }
}

/* Replace each byte of s that is not valid UTF-8 with '?' (a reason cut at its cap can end
 * inside a character, and a program's message can hold anything). */
static void utf8_patch(char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = utf8_decode((const uint8_t *)s + i, n - i, &cp);
        if (k == 0) {
            s[i] = '?';
            k = 1;
        }
        i += k;
    }
}

/* The last line of text that looks like "SomeError: message" (a traceback's end). */
static void last_exception(const char *text, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    size_t end = n;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        size_t len = end - start;
        const char *l = text + start;
        if (len > 0 && l[0] >= 'A' && l[0] <= 'Z') {
            size_t i = 0;
            while (i < len && (l[i] == '_' || l[i] == '.' || (l[i] >= 'a' && l[i] <= 'z') ||
                               (l[i] >= 'A' && l[i] <= 'Z') || (l[i] >= '0' && l[i] <= '9')))
                i++;
            if ((i == len || l[i] == ':') && i >= 5 &&
                (memmem(l, i, "Error", 5) || memmem(l, i, "Exception", 9) ||
                 memmem(l, i, "Interrupt", 9) || memmem(l, i, "Exit", 4))) {
                size_t k = len < cap - 1 ? len : cap - 1;
                memcpy(out, l, k);
                out[k] = '\0';
                return;
            }
        }
        if (start == 0)
            break;
        end = start - 1;
    }
}

static void classify(struct sandbox *sb, struct slot *s)
{
    struct sandbox_result *r = &s->res;
    r->wall_s = clock_now_s() - s->t_start;
    r->cpu_s = (double)s->ru.ru_utime.tv_sec + (double)s->ru.ru_utime.tv_usec * 1e-6 +
               (double)s->ru.ru_stime.tv_sec + (double)s->ru.ru_stime.tv_usec * 1e-6;
    r->output_total = s->total;
    if (r->outcome == SANDBOX_ERROR && r->reason[0])
        return; /* never started */
    int code = -1, sig = 0;
    if (WIFEXITED(s->status)) {
        code = WEXITSTATUS(s->status);
        /* bwrap and the namespace init report a child's signal as 128 + signal */
        if (sb->iso != SANDBOX_ISO_RLIMITS && code > 128 && code < 128 + 65) {
            sig = code - 128;
            code = -1;
        }
    } else if (WIFSIGNALED(s->status)) {
        sig = WTERMSIG(s->status);
    }
    r->exit_status = code;
    r->term_signal = sig;
    /* the exception to judge by: the main process's own line, else the last one in the
     * tail (it holds the end even when the kept part is cut) */
    char exc[200];
    if (s->exception.len) {
        size_t k = s->exception.len < sizeof(exc) - 1 ? s->exception.len : sizeof(exc) - 1;
        memcpy(exc, s->exception.text, k);
        exc[k] = '\0';
    } else {
        last_exception(s->tail, s->tail_len, exc, sizeof(exc));
    }
    const char *text = s->out.data ? s->out.data : "";
    /* the child's own failures and bwrap's come before anything the program prints */
    bool started_ok = strncmp(text, "assay-sandbox: ", 15) != 0 && strncmp(text, "bwrap: ", 7) != 0;

    if (s->timed_out) {
        r->outcome = SANDBOX_TIMED_OUT;
        snprintf(r->reason, sizeof(r->reason), "timed out after %.1f s", sb->lim.timeout_s);
    } else if (s->violation.found) {
        r->outcome = SANDBOX_VIOLATION;
        snprintf(r->reason, sizeof(r->reason), "%s",
                 s->violation.len ? s->violation.text : "blocked operation");
    } else if (s->output_killed) {
        r->outcome = SANDBOX_RESOURCE_LIMIT;
        snprintf(r->reason, sizeof(r->reason), "output limit: printed more than %llu bytes",
                 (unsigned long long)sb->lim.kill_output_bytes);
    } else if (!started_ok && !s->saw_done) {
        r->outcome = SANDBOX_ERROR;
        const char *m = text;
        size_t k = 0;
        while (m + k < text + s->out.len && m[k] != '\n' && k < sizeof(r->reason) - 1)
            k++;
        snprintf(r->reason, sizeof(r->reason), "could not run: %.*s", (int)k, m);
    } else if (sig == SIGXCPU || (sig == SIGKILL && r->cpu_s >= (double)sb->lim.cpu_s - 0.05)) {
        r->outcome = SANDBOX_RESOURCE_LIMIT;
        snprintf(r->reason, sizeof(r->reason), "cpu time limit (%lld s)", (long long)sb->lim.cpu_s);
    } else if (sig == SIGXFSZ || strstr(exc, "[Errno 27]")) {
        r->outcome = SANDBOX_RESOURCE_LIMIT;
        snprintf(r->reason, sizeof(r->reason), "file size limit (%llu bytes)",
                 (unsigned long long)sb->lim.file_bytes);
    } else if (strncmp(exc, "MemoryError", 11) == 0 || sig == SIGSEGV || sig == SIGABRT) {
        r->outcome = SANDBOX_RESOURCE_LIMIT;
        snprintf(r->reason, sizeof(r->reason), "memory limit (%llu bytes)%s%s",
                 (unsigned long long)sb->lim.mem_bytes, exc[0] ? ": " : "", exc);
    } else if (strstr(exc, "[Errno 11]")) {
        r->outcome = SANDBOX_RESOURCE_LIMIT;
        snprintf(r->reason, sizeof(r->reason), "process limit (%lld): %s",
                 (long long)sb->lim.n_proc, exc);
    } else if (strstr(exc, "[Errno 24]")) {
        r->outcome = SANDBOX_RESOURCE_LIMIT;
        snprintf(r->reason, sizeof(r->reason), "open files limit (%lld)",
                 (long long)sb->lim.n_files);
    } else if (code == 0 && s->saw_done) {
        r->outcome = SANDBOX_PASSED;
        snprintf(r->reason, sizeof(r->reason), "passed");
    } else if (code == 0) {
        r->outcome = SANDBOX_FAILED;
        snprintf(r->reason, sizeof(r->reason), "exited with status 0 before its tests finished");
    } else if (sig) {
        r->outcome = SANDBOX_FAILED;
        snprintf(r->reason, sizeof(r->reason), "killed by signal %d (%s)", sig, strsignal(sig));
    } else {
        r->outcome = SANDBOX_FAILED;
        if (exc[0])
            snprintf(r->reason, sizeof(r->reason), "%s", exc);
        else
            snprintf(r->reason, sizeof(r->reason), "exited with status %d", code);
    }
    utf8_patch(r->reason);
    strip_tag(&s->out, s->done_tag, s->done_len, "");
    strip_tag(&s->out, s->violation.tag, s->violation.tag_len, "\nassay sandbox: ");
    strip_tag_line(&s->out, s->exception.tag, s->exception.tag_len);
}

/* Move the finished slot's result to the caller and free the slot. */
static void slot_finish(struct sandbox *sb, struct slot *s, struct sandbox_result *out)
{
    if (s->out_r >= 0)
        close(s->out_r);
    if (s->pidfd >= 0)
        close(s->pidfd);
    classify(sb, s);
    remove_tree(s->dir);
    size_t len = 0;
    s->res.output = buf_detach(&s->out, &len);
    s->res.output_len = s->res.output ? len : 0;
    *out = s->res;
    memset(&s->res, 0, sizeof(s->res));
    slot_reset(s);
}

static void slot_kill_all(struct slot *slots, int n)
{
    for (int i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        if (!s->busy)
            continue;
        if (!s->exited && s->pid > 0) {
            kill(-s->pid, SIGKILL);
            kill(s->pid, SIGKILL);
            int st;
            waitpid(s->pid, &st, 0);
        }
        if (s->out_r >= 0)
            close(s->out_r);
        if (s->pidfd >= 0)
            close(s->pidfd);
        remove_tree(s->dir);
        buf_release(&s->out);
        s->busy = false;
    }
}

/* Processes owned by our uid (when not root, runs share it and RLIMIT_NPROC counts all). */
static int64_t count_own_processes(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int64_t n = 0;
    uid_t me = getuid();
    struct dirent *e;
    char path[300];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s", e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && st.st_uid == me)
            n++;
    }
    closedir(d);
    return n;
}

static int run_batch(struct sandbox *sb, enum sandbox_isolation iso, const struct sandbox_job *jobs,
                     size_t n, struct sandbox_result *results, sandbox_done_fn done, void *user,
                     const struct progress *prog, struct assay_error *err)
{
    int n_slots = sb->n_jobs;
    if ((size_t)n_slots > n)
        n_slots = (int)n;
    if (n_slots < 1)
        n_slots = 1;
    struct slot *slots = mem_calloc_array((size_t)n_slots, sizeof(*slots));
    struct pollfd *pfd = mem_calloc_array((size_t)n_slots * 2, sizeof(*pfd));
    int rc = 0;
    if (!slots || !pfd) {
        rc = err_set(err, ASSAY_ENOMEM, "sandbox: out of memory for %d slots", n_slots);
        goto out;
    }
    for (int i = 0; i < n_slots; i++)
        slot_reset(&slots[i]);
    if (!sb->root)
        sb->uid_procs = count_own_processes() + (int64_t)n_slots * sb->lim.n_proc;
    size_t next = 0, n_done = 0;
    progress_report(prog, 0, (int64_t)n, "exec");
    while (n_done < n) {
        for (int i = 0; i < n_slots && next < n; i++)
            if (!slots[i].busy) {
                slots[i].job = next;
                slot_start(sb, &slots[i], &jobs[next], iso);
                next++;
            }
        /* wait for output, an exit, or the nearest deadline */
        double now = clock_now_s(), wait_s = 1.0;
        int np = 0;
        bool need_tick = false;
        for (int i = 0; i < n_slots; i++) {
            struct slot *s = &slots[i];
            if (!s->busy)
                continue;
            if (s->out_r >= 0) {
                pfd[np].fd = s->out_r;
                pfd[np].events = POLLIN;
                np++;
            }
            if (!s->exited) {
                if (s->pidfd >= 0) {
                    pfd[np].fd = s->pidfd;
                    pfd[np].events = POLLIN;
                    np++;
                } else {
                    need_tick = true;
                }
                if (s->deadline - now < wait_s)
                    wait_s = s->deadline - now;
            } else {
                if (s->drain_until - now < wait_s)
                    wait_s = s->drain_until - now;
            }
        }
        if (need_tick && wait_s > 0.01)
            wait_s = 0.01;
        if (wait_s < 0)
            wait_s = 0;
        if (np > 0 || wait_s > 0) {
            int pr = poll(pfd, (nfds_t)np, (int)ceil(wait_s * 1000.0));
            if (pr < 0 && errno != EINTR) {
                rc = err_set(err, ASSAY_EIO, "sandbox: poll failed: %s", strerror(errno));
                goto out;
            }
        }
        now = clock_now_s();
        for (int i = 0; i < n_slots; i++) {
            struct slot *s = &slots[i];
            if (!s->busy)
                continue;
            if (s->out_r >= 0)
                slot_read(sb, s);
            slot_reap(s);
            if (!s->exited && now >= s->deadline) {
                s->timed_out = true;
                kill(-s->pid, SIGKILL);
                kill(s->pid, SIGKILL);
            }
            if (s->exited && (s->out_r < 0 || now >= s->drain_until)) {
                size_t j = s->job;
                struct sandbox_result tmp;
                slot_finish(sb, s, &tmp);
                n_done++;
                progress_report(prog, (int64_t)n_done, (int64_t)n, "exec");
                int cb = done ? done(user, j, &tmp) : 0;
                if (results)
                    results[j] = tmp;
                else
                    sandbox_result_release(&tmp);
                if (cb) {
                    rc = cb;
                    goto out;
                }
            }
        }
    }
out:
    if (slots)
        slot_kill_all(slots, n_slots);
    free(slots);
    free(pfd);
    return rc;
}

int sandbox_run(struct sandbox *sb, const struct sandbox_job *jobs, size_t n,
                struct sandbox_result *results, sandbox_done_fn done, void *user,
                const struct progress *prog, struct assay_error *err)
{
    if (results)
        memset(results, 0, n * sizeof(*results));
    return run_batch(sb, sb->iso, jobs, n, results, done, user, prog, err);
}

/* ---- probing ------------------------------------------------------------------------ */

static int probe(struct sandbox *sb, enum sandbox_isolation iso, char *why, size_t why_n)
{
    struct sandbox_job job = {.program = PROBE_PROGRAM, .program_len = strlen(PROBE_PROGRAM)};
    struct sandbox_result r;
    memset(&r, 0, sizeof(r));
    int saved = sb->n_jobs;
    sb->n_jobs = 1;
    double saved_timeout = sb->lim.timeout_s;
    if (sb->lim.timeout_s < 10)
        sb->lim.timeout_s = 10; /* a cold start of the interpreter can be slow */
    int rc = run_batch(sb, iso, &job, 1, &r, NULL, NULL, NULL, NULL);
    sb->n_jobs = saved;
    sb->lim.timeout_s = saved_timeout;
    if (rc == 0 && r.outcome != SANDBOX_PASSED) {
        snprintf(why, why_n, "%.150s (%s)", r.reason, sandbox_outcome_name(r.outcome));
        rc = -1;
    }
    sandbox_result_release(&r);
    return rc;
}

static void fill_defaults(struct sandbox_limits *l)
{
    if (!(l->timeout_s > 0))
        l->timeout_s = 3.0;
    if (l->cpu_s <= 0)
        l->cpu_s = (int64_t)ceil(l->timeout_s) + 1;
    if (!l->mem_bytes)
        l->mem_bytes = (uint64_t)1 << 30;
    if (!l->file_bytes)
        l->file_bytes = (uint64_t)16 << 20;
    if (l->n_proc <= 0)
        l->n_proc = 32;
    if (l->n_files <= 0)
        l->n_files = 64;
    if (!l->max_output_bytes)
        l->max_output_bytes = (size_t)64 << 10;
    if (!l->kill_output_bytes)
        l->kill_output_bytes = (uint64_t)16 << 20;
}

/* True if every directory on the (absolute) path lets others through (o+x). */
static bool searchable_by_all(const char *path)
{
    char p[512];
    if (path[0] != '/' || snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
        return false;
    for (char *slash = p + strlen(p); slash > p; slash = strrchr(p, '/')) {
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode) || !(st.st_mode & S_IXOTH))
            return false;
        *slash = '\0';
    }
    return true;
}

int sandbox_new(struct sandbox **out, const struct sandbox_opts *o, struct assay_error *err)
{
    *out = NULL;
    struct sandbox_opts def;
    memset(&def, 0, sizeof(def));
    if (!o)
        o = &def;
    struct sandbox *sb = calloc(1, sizeof(*sb));
    if (!sb)
        return err_set(err, ASSAY_ENOMEM, "sandbox: out of memory");
    sb->lim = o->lim;
    fill_defaults(&sb->lim);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    sb->n_jobs = o->n_jobs > 0 ? o->n_jobs : (cores > 0 ? (int)cores : 1);
    if (sb->n_jobs > SANDBOX_MAX_JOBS)
        sb->n_jobs = SANDBOX_MAX_JOBS;
    sb->root = geteuid() == 0;
    snprintf(sb->python, sizeof(sb->python), "%s", o->python ? o->python : "/usr/bin/python3");
    snprintf(sb->bwrap, sizeof(sb->bwrap), "%s", o->bwrap ? o->bwrap : "/usr/bin/bwrap");
    const char *tmp = o->tmp_root ? o->tmp_root : getenv("TMPDIR");
    /* as root, runs use other uids, which must be able to reach their directory */
    if (!tmp || !*tmp || (sb->root && !searchable_by_all(tmp)))
        tmp = "/tmp";
    snprintf(sb->tmp_root, sizeof(sb->tmp_root), "%s", tmp);
    if (access(sb->python, X_OK) != 0) {
        int rc = err_set(err, ASSAY_ENOTFOUND, "sandbox: no interpreter at '%s' (install python3)",
                         sb->python);
        free(sb);
        return rc;
    }
    enum sandbox_isolation top = o->cap_isolation ? o->max_isolation : SANDBOX_ISO_BWRAP;
    char why_bwrap[200] = "", why_ns[200] = "", why_rl[200] = "";
    bool ok = false;
    if (top >= SANDBOX_ISO_BWRAP) {
        if (access(sb->bwrap, X_OK) != 0)
            snprintf(why_bwrap, sizeof(why_bwrap), "no bubblewrap at %.150s", sb->bwrap);
        else if (probe(sb, SANDBOX_ISO_BWRAP, why_bwrap, sizeof(why_bwrap)) == 0) {
            sb->iso = SANDBOX_ISO_BWRAP;
            ok = true;
        }
    } else {
        snprintf(why_bwrap, sizeof(why_bwrap), "not tried");
    }
    if (!ok && top >= SANDBOX_ISO_NAMESPACES) {
        if (!sb->root)
            snprintf(why_ns, sizeof(why_ns), "needs root");
        else if (probe(sb, SANDBOX_ISO_NAMESPACES, why_ns, sizeof(why_ns)) == 0) {
            sb->iso = SANDBOX_ISO_NAMESPACES;
            ok = true;
        }
    } else if (!ok) {
        snprintf(why_ns, sizeof(why_ns), "not tried");
    }
    if (!ok) {
        if (probe(sb, SANDBOX_ISO_RLIMITS, why_rl, sizeof(why_rl)) == 0) {
            sb->iso = SANDBOX_ISO_RLIMITS;
            ok = true;
        }
    }
    if (!ok) {
        int rc = err_set(err, ASSAY_EFAIL, "sandbox: cannot run '%s' even without isolation: %s",
                         sb->python, why_rl);
        free(sb);
        return rc;
    }
    char uid_note[64] = "";
    if (sb->root)
        snprintf(uid_note, sizeof(uid_note), ", a random unprivileged uid per run");
    switch (sb->iso) {
    case SANDBOX_ISO_BWRAP:
        snprintf(sb->desc, sizeof(sb->desc),
                 "bwrap (bubblewrap: new user, network, pid, ipc, uts and mount namespaces; only "
                 "/usr read-only and the run's directory visible%s; rlimits, audit hook)",
                 uid_note);
        break;
    case SANDBOX_ISO_NAMESPACES:
        snprintf(sb->desc, sizeof(sb->desc),
                 "namespaces (unshare as root: new network, pid, ipc, uts and mount namespaces; "
                 "host files readable but every mount read-only except the run's directory%s; "
                 "rlimits, audit hook; bwrap not used: %s)",
                 uid_note, why_bwrap);
        break;
    case SANDBOX_ISO_RLIMITS:
        snprintf(sb->desc, sizeof(sb->desc),
                 "rlimits only (NO kernel isolation of network or files: rlimits, fresh "
                 "directory, empty environment%s, audit hook; bwrap: %s; namespaces: %s)",
                 uid_note, why_bwrap, why_ns);
        break;
    }
    *out = sb;
    return 0;
}
