"""tests/browser/web_sweep.py - the sweep views of `assay serve` in headless Chromium
(issue #8 item 6): two small prompt-format sweeps of two fixture checkpoints; the run page
of a sweep draws a bar per format (the lm-eval default highlighted) and the gold-position
table per task; the comparison page shows both runs' robustness side by side with the
Kendall tau-b the API gives and a scatter per task; a task id with markup is shown as
text; no console error, no request outside the server's origin."""
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request

import common
import webdriver

NAME = 'browser/web_sweep'
common.need_browser(NAME)
M2 = os.path.join(common.SHARED, 'fixtures/models/gemma2-tiny/gemma2-tiny-Q8_0.gguf')
M3 = os.path.join(common.SHARED, 'fixtures/models/gemma3-tiny/gemma3-tiny-Q8_0.gguf')
DATA = os.path.join(common.SHARED, 'datasets')
if not (os.path.exists(M2) and os.path.exists(M3) and os.path.isdir(os.path.join(DATA, 'mmlu'))):
    print('skipped %s: fixtures or %s/mmlu not present' % (NAME, DATA))
    sys.exit(0)
t = common.Failures(NAME)
wd = common.workdir('web_sweep')
db = os.path.join(wd, 'sweep.db')
for m in (M2, M3):
    r = subprocess.run([common.ASSAY, 'sweep', '--model', m, '--task', 'mmlu_anatomy,mmlu_astronomy', '--formats', '8',
                        '--cyclic', '--limit', '4', '--threads', '2', '--data-dir', DATA, '--quiet', '--db', db],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('assay sweep failed (%d): %s' % (r.returncode, r.stderr[-500:]))
# a stored task name with markup must reach the page as text (the store is untrusted)
evil = 'mmlu_<img src=x onerror=alert(1)>'
c = sqlite3.connect(db)
c.execute("update metrics set task = ? where run_id = 1 and task = 'mmlu_astronomy'", (evil,))
c.execute("update metrics set task = ? where run_id = 2 and task = 'mmlu_astronomy'", (evil,))
c.commit()
c.close()

srv = common.Server(db)
shots = common.shots_dir()
t0 = time.time()
try:
    api = json.load(urllib.request.urlopen(srv.url + '/api/compare?a=1&b=2'))
    with webdriver.Browser() as b:
        origin = srv.url

        def page_clean(what):
            errs = b.console_errors()
            t.check(not errs, what + ': console errors: %r' % errs[:3])
            reqs = [u for u in b.requests() if not u.startswith(('chrome://', 'data:'))]
            foreign = [u for u in reqs if not u.startswith(origin + '/')]
            t.check(reqs and not foreign, what + ': requests outside %s: %r' % (origin, foreign[:5]))

        b.get(origin + '/run.html?id=1')
        b.wait("return !document.getElementById('sweep-sec').hidden", 'sweep section')
        n_bars = b.js("return document.querySelectorAll('#sweep rect.fmt-bar').length")
        t.check(n_bars == 16, 'a bar per format and task: %r' % n_bars)
        t.check(b.js("return document.querySelectorAll('#sweep rect.fmt-bar.default').length") == 2,
                'the lm-eval default highlighted in each task')
        t.check(b.js("return document.querySelectorAll('#sweep table.sweep-pos tbody tr').length") == 8,
                'four gold positions per task')
        heads = b.js("return [...document.querySelectorAll('#sweep .sweep-task h3 .tag')].map(e => e.textContent)")
        t.check(evil in heads, 'task name with markup shown as text: %r' % heads)
        t.check(b.js("return document.querySelectorAll('#sweep img').length") == 0, 'no element injected')
        b.full_screenshot(os.path.join(shots, 'web_sweep_run.png'))
        page_clean('sweep run page')

        b.get(origin + '/compare.html?a=1&b=2')
        b.wait("return !document.getElementById('sweep-cmp-sec').hidden", 'sweep comparison')
        taus = b.js("return [...document.querySelectorAll('#sweep-cmp td.tau')].map(e => e.textContent)")
        want = ['–' if e['kendall_tau_b'] is None else '%.3f' % e['kendall_tau_b'] for e in api['sweep']]
        t.check(taus == want, 'Kendall tau as the API: %r vs %r' % (taus, want))
        t.check(b.js("return document.querySelectorAll('#sweep-scatter circle.fmt-pt').length") == 16,
                'a point per common format and task')
        t.check(b.js("return document.querySelectorAll('#sweep-scatter img, #sweep-cmp img').length") == 0,
                'no element injected on the comparison')
        b.full_screenshot(os.path.join(shots, 'web_sweep_compare.png'))
        page_clean('sweep comparison page')

        # a run against itself: the formats rank the same, tau 1 in every task
        b.get(origin + '/compare.html?a=1&b=1')
        b.wait("return !document.getElementById('sweep-cmp-sec').hidden", 'self comparison')
        taus = b.js("return [...document.querySelectorAll('#sweep-cmp td.tau')].map(e => e.textContent)")
        t.check(taus == ['1.000', '1.000'], 'a run against itself: %r' % taus)
finally:
    rc, secs = srv.stop()
print('browser session: %.1f s' % (time.time() - t0))
t.check(rc == 0 and secs < 5, 'serve stops on SIGTERM with 0 (got %s after %.1f s)' % (rc, secs))
t.finish()
