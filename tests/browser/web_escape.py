"""tests/browser/web_escape.py - hostile model output in the web UI: a stored output with
<script>, '"><img src=x onerror=alert(1)>', invalid UTF-8 and an e-mail address (made by
`assay exec` with a completion that prints them) renders as text: the DOM text holds the
markup characters, no img element or extra script exists, no alert opened, nothing ran
(window.__xss stays undefined), invalid bytes show as U+FFFD, and the address appears only
masked, in the sample browser and in the PII examples (after `assay pii scan --run`).
With --raw the address is shown, still as text."""
import os
import subprocess

import common
import webdriver

NAME = 'browser/web_escape'
common.need_browser(NAME)
common.need_humaneval(NAME)
t = common.Failures(NAME)
wd = common.workdir('web_escape')
db = os.path.join(wd, 'esc.db')
probs = common.problems(2)
common.exec_run(wd, db, 'hostile', [(probs[0]['task_id'], common.HOSTILE_COMPLETION),
                                    (probs[1]['task_id'], probs[1]['canonical_solution'])])
r = subprocess.run([common.ASSAY, 'pii', 'scan', '--run', '1', '--db', db, '--quiet'],
                   capture_output=True, text=True)
t.check(r.returncode == 0, 'pii scan --run: %d %s' % (r.returncode, r.stderr[-300:]))

CHECK = """
const out = [...document.querySelectorAll('#samples pre')].map(p => p.textContent).join('\\n');
return {
  out: out,
  body: document.body.textContent,
  imgs: document.querySelectorAll('img').length,
  scripts: [...document.scripts].map(s => s.src),
  xss: typeof window.__xss,
  handlers: document.querySelectorAll('[onerror]').length,
  examples: [...document.querySelectorAll('#pii-examples li')].map(l => l.textContent),
};"""

shots = common.shots_dir()
for raw in (False, True):
    srv = common.Server(db, *(['--raw'] if raw else []))
    mode = 'raw' if raw else 'masked'
    try:
        with webdriver.Browser() as b:
            b.get(srv.url + '/run.html?id=1')
            b.wait("return document.querySelectorAll('#samples article').length === 2", 'samples')
            b.wait("return document.querySelectorAll('#pii-examples li').length >= 1", 'pii examples')
            # open every collapsed field so that the text is rendered too
            b.js("document.querySelectorAll('details').forEach(d => d.open = true)")
            v = b.js(CHECK)
            t.check(common.HOSTILE_MARKUP in v['out'], mode + ': markup shown as text: %r' % v['out'][:300])
            t.check('BAD\ufffd\ufffdBYTES' in v['out'], mode + ': invalid UTF-8 shown as U+FFFD')
            t.check(v['imgs'] == 0 and v['handlers'] == 0, mode + ': no img / onerror element (%d, %d)' % (v['imgs'], v['handlers']))
            t.check(len(v['scripts']) == 1 and v['scripts'][0].endswith('/app.js'), mode + ': only app.js: %r' % v['scripts'])
            t.check(v['xss'] == 'undefined', mode + ': injected script did not run')
            t.check(b.alert_text() is None, mode + ': no alert open')
            if raw:
                t.check(common.HOSTILE_EMAIL in v['out'], 'raw: address shown')
            else:
                t.check(common.HOSTILE_EMAIL not in v['body'], 'masked: address nowhere on the page')
                t.check('[EMAIL_ADDRESS]' in v['out'], 'masked: label in the output')
                t.check(any('[EMAIL_ADDRESS]' in e for e in v['examples']), 'masked: label in the PII example %r' % v['examples'])
                t.check(any('onerror=alert(1)> BAD' in e for e in v['examples']), 'PII example context shown as text: %r' % v['examples'])
            errs = b.console_errors()
            t.check(not errs, mode + ': console errors %r' % errs[:3])
            reqs = [u for u in b.requests() if not u.startswith(('chrome://', 'data:'))]
            t.check(all(u.startswith(srv.url + '/') for u in reqs), mode + ': requests %r' % reqs)
            t.check(not any(u.endswith('/x') for u in reqs), mode + ': the img src was never fetched')
            if not raw:
                b.full_screenshot(os.path.join(shots, 'web_escape.png'))
    finally:
        rc, _ = srv.stop()
    t.check(rc == 0, mode + ': serve exit status %d' % rc)
t.finish()
