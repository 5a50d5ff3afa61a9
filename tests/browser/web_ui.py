"""tests/browser/web_ui.py - the pages of `assay serve` in headless Chromium: the runs list,
a run (metrics, tasks, the sample browser paged forwards and back, a filter, a search), and
the comparison of two runs (table, forest plot, flipped samples); no console error on any
page, no request outside the server's origin; screenshots in $ASSAY_TEST_TMP/screenshots;
the server stops on SIGTERM with status 0."""
import os
import time

import common
import webdriver

NAME = 'browser/web_ui'
common.need_browser(NAME)
common.need_humaneval(NAME)
t = common.Failures(NAME)
wd = common.workdir('web_ui')
db = os.path.join(wd, 'ui.db')
probs = common.problems(45)
# run A fails every 3rd problem, run B every 4th: a comparison with flips both ways
common.exec_run(wd, db, 'a', [(p['task_id'], p['canonical_solution'] if i % 3 else '    return None\n')
                              for i, p in enumerate(probs)])
common.exec_run(wd, db, 'b', [(p['task_id'], p['canonical_solution'] if i % 4 else '    pass\n')
                              for i, p in enumerate(probs)])
n_a_correct = sum(1 for i in range(45) if i % 3)

srv = common.Server(db)
shots = common.shots_dir()
t0 = time.time()
try:
    with webdriver.Browser() as b:
        origin = srv.url

        def page_clean(what):
            errs = b.console_errors()
            t.check(not errs, what + ': console errors: %r' % errs[:3])
            reqs = [u for u in b.requests() if not u.startswith(('chrome://', 'data:'))]
            foreign = [u for u in reqs if not u.startswith(origin + '/')]
            t.check(reqs and not foreign, what + ': requests outside %s: %r' % (origin, foreign[:5]))

        # ---- the runs list ------------------------------------------------------------
        b.get(origin + '/')
        b.wait("return document.querySelectorAll('#runs tbody tr').length === 2", 'runs list')
        rows = b.js("return [...document.querySelectorAll('#runs tbody tr')].map(r => r.textContent)")
        t.check('#2' in rows[0] and 'exec' in rows[0] and '45' in rows[0], 'newest run first: %r' % rows[0])
        t.check(b.js("return document.getElementById('status').hidden"), 'runs list status hidden')
        b.screenshot(os.path.join(shots, 'web_runs.png'))
        page_clean('runs list')

        # ---- a run, paging ------------------------------------------------------------
        b.click('a[href="/run.html?id=1"]')
        b.wait("return document.querySelectorAll('#samples article').length === 20", 'first page of samples')
        t.check(b.text('#range').startswith('1–20 of 45'), 'range of page 1: ' + b.text('#range'))
        t.check('Run 1' in b.text('#title'), 'run title')
        metric = b.js("return document.querySelector('#metrics tbody tr').textContent")
        t.check('pass@1' in metric and '%.4f' % (n_a_correct / 45) in metric, 'pass@1 shown: %r' % metric)
        tasks = b.js("return document.querySelector('#tasks tbody tr').textContent")
        t.check('humaneval' in tasks and str(n_a_correct) in tasks, 'tasks table: %r' % tasks)
        first_ids = b.js("return [...document.querySelectorAll('#samples article')].map(a => a.dataset.id)")
        b.full_screenshot(os.path.join(shots, 'web_run.png'))
        b.click('#next')
        b.wait("return document.getElementById('range').textContent.startsWith('21–40 of 45')", 'page 2')
        second_ids = b.js("return [...document.querySelectorAll('#samples article')].map(a => a.dataset.id)")
        t.check(len(second_ids) == 20 and not set(first_ids) & set(second_ids), 'page 2 has 20 new samples')
        b.click('#next')
        b.wait("return document.getElementById('range').textContent.startsWith('41–45 of 45')", 'page 3')
        t.check(b.js("return document.getElementById('next').disabled"), 'next disabled on the last page')
        b.click('#prev')
        b.wait("return document.getElementById('range').textContent.startsWith('21–40 of 45')", 'back to page 2')
        # filter: incorrect only
        b.js("document.getElementById('f-correct').value = '0'")
        b.click('#f-apply')
        want = '1–%d of %d' % (45 - n_a_correct, 45 - n_a_correct)
        b.wait("return document.getElementById('range').textContent.startsWith(arguments[0])", 'filter', 15, want)
        t.check(b.js("return [...document.querySelectorAll('#samples article')].every(a => a.classList.contains('bad'))"),
                'filtered samples are all incorrect')
        # search: a function name in the prompt of HumanEval/0 only
        b.js("document.getElementById('f-correct').value = ''; document.getElementById('f-q').value = 'has_close_elements'")
        b.click('#f-apply')
        b.wait("return document.getElementById('range').textContent.startsWith('1–1 of 1')", 'search')
        page_clean('run page')

        # ---- the comparison -----------------------------------------------------------
        b.get(origin + '/')
        b.wait("return document.querySelectorAll('#runs tbody input[type=checkbox]').length === 2", 'checkboxes')
        for cb in b.find_all('#runs tbody input[type=checkbox]'):
            b.s('POST', '/element/%s/click' % cb, {})
        t.check(b.js("return document.getElementById('cmp-a').value + ',' + document.getElementById('cmp-b').value") == '1,2',
                'ticked runs fill the compare form')
        b.click('#compare-go')
        # the first polls may still run on the runs list, which has no #cmp-sec
        b.wait("const e = document.getElementById('cmp-sec'); return e && !e.hidden", 'comparison page')
        t.check(b.url().endswith('/compare.html?a=1&b=2'), 'comparison url: ' + b.url())
        row = b.js("return document.querySelector('#tasks tbody tr').textContent")
        t.check(row.startswith('humaneval45'), 'comparison row: %r' % row)
        n_b_correct = sum(1 for i in range(45) if i % 4)
        t.check('%+.4f' % ((n_b_correct - n_a_correct) / 45) in row, 'delta in row: %r' % row)
        t.check(b.js("return document.querySelectorAll('svg.forest circle').length") == 1, 'forest plot drawn')
        t.check(b.js("return document.querySelectorAll('#flips details').length") == 2, 'flips both ways')
        # a flipped sample's link opens run B filtered to that item
        b.js("document.querySelectorAll('#flips details').forEach(d => d.open = true)")
        link = b.js("const a = document.querySelector('#flips li a:last-child'); return [a.href, a.parentElement.firstChild.textContent.trim()]")
        overall = b.text('#overall')
        t.check('95% interval' in overall and 'McNemar' in overall, 'overall line: %r' % overall)
        b.full_screenshot(os.path.join(shots, 'web_compare.png'))
        page_clean('comparison page')

        b.get(link[0])
        b.wait("return document.getElementById('range').textContent.startsWith('1–1 of 1')", 'flip link filters one item')
        t.check(b.text('#f-item-name') == link[1], 'item filter shown: %r vs %r' % (b.text('#f-item-name'), link[1]))
        t.check(b.js("return document.querySelector('#samples article h3').textContent").find(link[1]) >= 0, 'the flipped item is shown')
        b.click('#f-item-clear')
        b.wait("return document.getElementById('range').textContent.endsWith('of 45 · PII masked')", 'item filter cleared')
        page_clean('flip link')

        # a bad address shows the API's message, not a blank page
        b.get(origin + '/run.html?id=999')
        b.wait("return document.getElementById('status').classList.contains('error')", 'error shown')
        t.check('no run with id 999' in b.text('#status'), 'missing run message: ' + b.text('#status'))
finally:
    rc, secs = srv.stop()
print('browser session: %.1f s' % (time.time() - t0))
t.check(rc == 0 and secs < 5, 'serve stops on SIGTERM with 0 (got %s after %.1f s)' % (rc, secs))
t.finish()
