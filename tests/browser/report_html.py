"""tests/browser/report_html.py - the file `assay report` writes, opened from disk
(file://) in headless Chromium: it renders (title, sections, SVG charts), logs no console
error, asks the network for nothing (every request is the file itself or data:), runs no
script, and shows a hostile stored output (markup, invalid UTF-8, an e-mail address) as
text with the address masked. A full-page screenshot goes to
$ASSAY_TEST_TMP/screenshots/report.png."""
import os
import subprocess

import common
import webdriver

NAME = 'browser/report_html'
common.need_browser(NAME)
common.need_humaneval(NAME)
t = common.Failures(NAME)
wd = common.workdir('report_html')
db = os.path.join(wd, 'rep.db')
probs = common.problems(12)
comps = [(p['task_id'], p['canonical_solution'] if i % 3 else '    return None\n') for i, p in enumerate(probs)]
comps[0] = (probs[0]['task_id'], common.HOSTILE_COMPLETION)
common.exec_run(wd, db, 'a', comps)
r = subprocess.run([common.ASSAY, 'pii', 'scan', '--run', '1', '--db', db, '--quiet'], capture_output=True, text=True)
t.check(r.returncode == 0, 'pii scan --run: %d %s' % (r.returncode, r.stderr[-300:]))
out = os.path.join(wd, 'report.html')
r = subprocess.run([common.ASSAY, 'report', '--db', db, '--run', '1', '-o', out, '--samples', '0', '--quiet'],
                   capture_output=True, text=True)
if not t.check(r.returncode == 0 and os.path.exists(out), 'assay report: %d %s' % (r.returncode, r.stderr[-500:])):
    t.finish()

with webdriver.Browser() as b:
    url = 'file://' + out
    b.get(url)
    b.wait("return document.readyState === 'complete'", 'report loaded')
    b.js("document.querySelectorAll('details').forEach(d => d.open = true)")
    v = b.js("""return {
        title: document.title,
        text: document.body.textContent,
        scripts: document.scripts.length,
        imgs: document.querySelectorAll('img').length,
        handlers: document.querySelectorAll('[onerror],[onload],[onclick]').length,
        svgs: document.querySelectorAll('svg').length,
        xss: typeof window.__xss,
        height: document.documentElement.scrollHeight,
    };""")
    t.check(v['title'] != '', 'report has a title')
    t.check(v['scripts'] == 0, 'report runs no script (%d)' % v['scripts'])
    t.check(v['imgs'] == 0 and v['handlers'] == 0, 'no img / event-handler elements (%d, %d)' % (v['imgs'], v['handlers']))
    t.check(v['svgs'] >= 1, 'at least one inline SVG chart (%d)' % v['svgs'])
    t.check(v['xss'] == 'undefined' and b.alert_text() is None, 'injected script did not run')
    t.check('onerror=alert(1)>' in v['text'], 'hostile markup shown as text')
    t.check('\ufffd' in v['text'], 'invalid UTF-8 shown as U+FFFD')
    t.check(common.HOSTILE_EMAIL not in v['text'], 'e-mail address masked')
    t.check('humaneval' in v['text'], 'the task is in the report')
    errs = b.console_errors()
    t.check(not errs, 'console errors: %r' % errs[:3])
    reqs = b.requests()
    net = [u for u in reqs if not u.startswith(('file://', 'data:', 'chrome://', 'about:'))]
    t.check(not net, 'network requests: %r' % net[:5])
    t.check(any(u.startswith('file://') for u in reqs), 'the performance log saw the file load (%d requests)' % len(reqs))
    n = b.full_screenshot(os.path.join(common.shots_dir(), 'report.png'))
    t.check(n > 10000, 'screenshot of %d bytes' % n)
t.finish()
