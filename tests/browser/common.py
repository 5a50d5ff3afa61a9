"""tests/browser/common.py - what the browser tests share: the environment ctest gives,
the loud skip/fail rule for a missing browser, a test database made through assay's own
commands (`assay exec` with completions written here; no SQL outside store/), and
`assay serve --port 0` started and stopped around a test."""
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webdriver  # noqa: E402

ASSAY = os.environ.get('ASSAY_BIN', 'assay')
SHARED = os.environ.get('ASSAY_SHARED_DIR', '../shared')
TMP_ROOT = os.environ.get('ASSAY_TEST_TMP', tempfile.gettempdir())
DATA = os.path.join(SHARED, 'datasets')
HUMANEVAL = os.path.join(DATA, 'humaneval', 'HumanEval.jsonl.gz')

# What a hostile model might print: markup that would run if inserted as HTML, invalid
# UTF-8 (\xff\xfe) and an e-mail address that must be masked.
HOSTILE_MARKUP = '<script>window.__xss=1;alert(1)</script>"><img src=x onerror=alert(1)>'
HOSTILE_EMAIL = 'bob.jones@example.org'
HOSTILE_COMPLETION = (
    "    import sys\n"
    "    sys.stdout.buffer.write(b'" + HOSTILE_MARKUP.replace("'", "\\'") +
    " BAD\\xff\\xfeBYTES contact " + HOSTILE_EMAIL + "\\n')\n"
    "    sys.stdout.flush()\n"
    "    raise SystemExit(3)\n")


class Failures:
    def __init__(self, name):
        self.name = name
        self.n_pass = 0
        self.failed = []

    def check(self, cond, what):
        if cond:
            self.n_pass += 1
        else:
            self.failed.append(what)
            print('FAIL: ' + what, flush=True)
        return cond

    def finish(self):
        print('%s: %d passed, %d failed' % (self.name, self.n_pass, len(self.failed)))
        sys.exit(1 if self.failed else 0)


def need_browser(name):
    """Exit loudly when chromium or chromedriver is missing: a failure, unless
    ASSAY_ALLOW_NO_BROWSER=1 turns it into a visible skip."""
    try:
        webdriver.find_browser()
    except FileNotFoundError as e:
        if os.environ.get('ASSAY_ALLOW_NO_BROWSER') == '1':
            print('*' * 72 + '\nSKIPPED %s: %s (ASSAY_ALLOW_NO_BROWSER=1)\n' % (name, e) + '*' * 72)
            sys.exit(0)
        print('FAIL: %s: %s; run scripts/setup.sh, or set ASSAY_ALLOW_NO_BROWSER=1 to skip' % (name, e))
        sys.exit(1)


def need_humaneval(name):
    if not os.path.exists(HUMANEVAL):
        print('skipped %s: %s not present (the test database is made with assay exec)' % (name, HUMANEVAL))
        sys.exit(0)


def workdir(name):
    os.makedirs(TMP_ROOT, exist_ok=True)
    d = tempfile.mkdtemp(prefix=name + '.', dir=TMP_ROOT)
    os.chmod(d, 0o755)
    return d


def shots_dir():
    d = os.path.join(TMP_ROOT, 'screenshots')
    os.makedirs(d, exist_ok=True)
    return d


def problems(n):
    with gzip.open(HUMANEVAL, 'rt', encoding='utf-8') as f:
        return [json.loads(line) for line, _ in zip(f, range(n))]


def exec_run(wd, db, name, completions):
    """Store one `assay exec` run of the given [(task_id, completion)]."""
    path = os.path.join(wd, name + '.jsonl')
    with open(path, 'w') as f:
        for tid, c in completions:
            f.write(json.dumps({'task_id': tid, 'completion': c}) + '\n')
    env = dict(os.environ, TMPDIR=wd)
    r = subprocess.run([ASSAY, 'exec', '--task', 'humaneval', '--completions', path, '--data-dir', DATA,
                        '--db', db, '--jobs', '2', '--quiet'], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError('assay exec %s failed (%d): %s' % (name, r.returncode, r.stderr[-500:]))


class Server:
    """`assay serve --db DB --port 0 --json`; the URL is read from its first line."""

    def __init__(self, db, *extra):
        self.proc = subprocess.Popen([ASSAY, 'serve', '--db', db, '--port', '0', '--json'] + list(extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError('assay serve did not start: ' + self.proc.stderr.read()[-500:])
        self.url = json.loads(line)['url'].rstrip('/')

    def stop(self):
        """SIGTERM; returns (exit status, seconds to exit)."""
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        return rc, time.time() - t0
