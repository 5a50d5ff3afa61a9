// assay serve: the pages' script. Every piece of data is inserted with textContent or
// as an attribute value through the DOM (never innerHTML), so stored text is shown as
// text whatever it contains. No library, no build step.
'use strict';

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'cls') e.className = v;
    else e.setAttribute(k, String(v));
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.appendChild(typeof k === 'string' || typeof k === 'number' ? document.createTextNode(String(k)) : k);
  }
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function fmt(x, digits) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  return Number(x).toFixed(digits === undefined ? 4 : digits);
}

function signed(x, digits) {
  if (x === null || x === undefined) return '–';
  const s = fmt(x, digits);
  return x > 0 ? '+' + s : s;
}

function pval(p) {
  if (p === null || p === undefined) return '–';
  return p < 0.0001 ? p.toExponential(1) : p.toFixed(4);
}

function status(msg, isError) {
  const s = document.getElementById('status');
  if (!s) return;
  s.textContent = msg || '';
  s.hidden = !msg;
  s.classList.toggle('error', !!isError);
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    throw new Error(path + ': HTTP ' + r.status + ' (not JSON)');
  }
  if (!r.ok) throw new Error((body && body.error) || path + ': HTTP ' + r.status);
  return body;
}

function param(name) {
  return new URLSearchParams(window.location.search).get(name);
}

function runLink(id) {
  return el('a', { href: '/run.html?id=' + encodeURIComponent(id), text: '#' + id });
}

function modelName(r) {
  if (r.model_path) return r.model_path.split('/').pop();
  return r.model_fingerprint ? r.model_fingerprint.slice(0, 19) : '–';
}

function row(tbody, cells) {
  const tr = el('tr');
  for (const c of cells) {
    if (c instanceof Node) tr.appendChild(el('td', {}, c));
    else if (c && typeof c === 'object') tr.appendChild(el('td', { cls: c.cls, text: c.text, title: c.title }));
    else tr.appendChild(el('td', { text: c === null || c === undefined ? '' : c }));
  }
  tbody.appendChild(tr);
  return tr;
}

// ---- runs list ------------------------------------------------------------------------

async function pageRuns() {
  const data = await api('/api/runs?limit=500');
  const table = document.getElementById('runs');
  const tbody = table.querySelector('tbody');
  const a = document.getElementById('cmp-a');
  const b = document.getElementById('cmp-b');
  const picked = [];
  for (const r of data.runs) {
    const box = el('input', { type: 'checkbox', 'aria-label': 'compare run ' + r.id, 'data-run': r.id });
    box.addEventListener('change', () => {
      const i = picked.indexOf(r.id);
      if (box.checked && i < 0) picked.push(r.id);
      if (!box.checked && i >= 0) picked.splice(i, 1);
      while (picked.length > 2) {
        const old = picked.shift();
        const ob = tbody.querySelector('input[data-run="' + old + '"]');
        if (ob) ob.checked = false;
      }
      const sorted = picked.slice().sort((x, y) => x - y);
      a.value = sorted[0] || '';
      b.value = sorted[1] || '';
    });
    row(tbody, [box, runLink(r.id), r.kind, { text: r.status, cls: 'st-' + r.status, title: r.error || '' },
      r.started_at, { text: r.n_samples, cls: 'num' }, { text: modelName(r), title: r.model_path || '' }]);
  }
  table.hidden = data.runs.length === 0;
  status(data.runs.length === 0 ? 'no runs in this database yet' : '');
  if (data.runs.length >= 2) {
    a.value = data.runs[1].id;
    b.value = data.runs[0].id;
  }
}

// ---- SVG -------------------------------------------------------------------------------

function svgBox(w, h, cls) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
  svg.setAttribute('class', cls);
  svg.setAttribute('role', 'img');
  const mk = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  return { svg, mk };
}

// ---- prompt-format sweeps -------------------------------------------------------------

const SWEEP_BARS_ALL = 40, SWEEP_BARS_EDGE = 20; // as reports/report_sweep.c
const pct = (x, d) => (x === null || x === undefined ? '–' : (100 * x).toFixed(d === undefined ? 1 : d));

// accuracy per format, best first (the API's order): bars with +-1 stderr whiskers, the
// lm-eval default highlighted, the mean / min / max over all formats as lines
function sweepBars(t) {
  const cut = t.formats.length > SWEEP_BARS_ALL;
  const shown = cut ? t.formats.slice(0, SWEEP_BARS_EDGE).concat([null], t.formats.slice(-SWEEP_BARS_EDGE)) : t.formats;
  const W = 880, left = 230, plot = 560, rowH = 18, top = 34;
  const H = top + rowH * shown.length + 12;
  const x = (v) => left + plot * Math.min(Math.max(v, 0), 1);
  const { svg, mk } = svgBox(W, H, 'sweep-bars');
  for (let k = 0; k <= 100; k += 25) {
    mk('line', { x1: x(k / 100), x2: x(k / 100), y1: top - 4, y2: H - 6, class: 'grid' });
    mk('text', { x: x(k / 100), y: 12, 'text-anchor': 'middle', class: 'axis' }, k + '%');
  }
  shown.forEach((f, i) => {
    const y = top + i * rowH;
    if (f === null) {
      mk('text', { x: left + 8, y: y + 13, class: 'gap' }, '… ' + (t.formats.length - 2 * SWEEP_BARS_EDGE) + ' formats between, not drawn …');
      return;
    }
    mk('text', { x: left - 8, y: y + 13, 'text-anchor': 'end', class: 'fmt-label' + (f.default ? ' default' : '') }, f.id);
    const bar = mk('rect', { x: left, y: y + 3, width: x(f.acc) - left, height: 12, class: 'fmt-bar' + (f.default ? ' default' : '') });
    const tip = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    tip.textContent = f.id + ': ' + pct(f.acc) + '% ± ' + pct(f.stderr) + ' (n ' + f.n + ')' + (f.default ? ', the reference format' : '');
    bar.appendChild(tip);
    mk('text', { x: left + plot + 6, y: y + 13, class: 'axis' }, pct(f.acc));
    if (f.stderr) mk('line', { x1: x(f.acc - f.stderr), x2: x(f.acc + f.stderr), y1: y + 9, y2: y + 9, class: 'whisker' });
  });
  for (const [k, name] of [['fmt_min', 'min'], ['fmt_mean', 'mean'], ['fmt_max', 'max']]) {
    if (t[k] === null) continue;
    mk('line', { x1: x(t[k]), x2: x(t[k]), y1: top - 6, y2: H - 6, class: 'mark mark-' + name });
    mk('text', { x: x(t[k]), y: top - 8, 'text-anchor': 'middle', class: 'axis' }, name);
  }
  return svg;
}

function sweepTask(t) {
  const box = el('div', { cls: 'sweep-task' });
  box.appendChild(el('h3', {}, el('span', { cls: 'tag', text: t.task }), t.group ? ' group: all its items' : '', ' · ' + t.n_samples + ' samples'));
  const dflt = t.formats.findIndex((f) => f.default);
  box.appendChild(el('p', {
    text: t.formats.length + ' formats: mean ' + pct(t.fmt_mean) + '%, std ' + pct(t.fmt_std) + ', min ' + pct(t.fmt_min) +
      '%, max ' + pct(t.fmt_max) + '%, spread ' + pct(t.fmt_spread) + ' points; recall std ' + pct(t.recall_std, 2) +
      ' points; reference format ' + t.default_format + (t.default_is_lmeval ? " (lm-eval's own prompt for this task)" : " (lm-eval's MMLU layout)") +
      ': ' + (dflt < 0 ? 'not swept' : pct(t.formats[dflt].acc) + '% (rank ' + (dflt + 1) + ' of ' + t.formats.length + ')'),
  }));
  if (t.flex_fmt_mean !== null)
    box.appendChild(el('p', { cls: 'hint', text: 'Bars and figures: strict-match. Flexible-extract over the formats: mean ' + pct(t.flex_fmt_mean) +
      '%, std ' + pct(t.flex_fmt_std) + ', spread ' + pct(t.flex_fmt_spread) + ' points.' }));
  if (t.formats.length > 0) box.appendChild(sweepBars(t));
  if (t.formats.length > SWEEP_BARS_ALL)
    box.appendChild(el('p', { cls: 'hint', text: 'The best ' + SWEEP_BARS_EDGE + ' and the worst ' + SWEEP_BARS_EDGE + ' of ' + t.formats.length + ' formats are drawn.' }));
  if (t.positions.length > 0) {
    const tbl = el('table', { cls: 'grid sweep-pos' });
    tbl.appendChild(el('thead', {}, el('tr', {}, el('th', { text: 'gold shown at' }), el('th', { cls: 'num', text: 'gold rate %' }),
      el('th', { cls: 'num', text: 'accuracy when gold there %' }), el('th', { cls: 'num', text: '± stderr' }), el('th', { cls: 'num', text: 'n' }),
      el('th', { cls: 'num', text: 'pick rate %' }), el('th', { cls: 'num', text: 'bias vs uniform' }))));
    const tb = el('tbody');
    for (const p of t.positions) {
      const bias = p.pick_rate - t.uniform_rate;
      row(tb, [p.pos + ' (' + String.fromCharCode(64 + p.pos) + ')', { text: pct(p.gold_rate), cls: 'num' }, { text: pct(p.acc_gold), cls: 'num' },
        { text: pct(p.acc_gold_stderr), cls: 'num' }, { text: p.n_gold, cls: 'num' }, { text: pct(p.pick_rate), cls: 'num' },
        { text: (bias > 0 ? '+' : '') + pct(bias), cls: 'num' + (Math.abs(bias) >= 0.5 * t.uniform_rate ? ' down' : '') }]);
    }
    tbl.appendChild(tb);
    box.appendChild(tbl);
  }
  return box;
}

async function showSweep(id) {
  const d = await api('/api/runs/' + id + '/sweep');
  if (!d.sweep) return;
  const box = document.getElementById('sweep');
  for (const t of d.tasks) box.appendChild(sweepTask(t));
  if (d.tasks.length === 0) box.appendChild(el('p', { cls: 'status', text: 'no sweep statistics stored for this run' }));
  document.getElementById('sweep-note').textContent = 'Bars: accuracy per format, best first; whiskers ± 1 stderr; orange: ' +
    'the reference format of the task; lines: mean, min and max over all formats. Positions are display ' +
    'positions (A, (A), 1 and a are all position 1); pick rate = how often the model chose the position (letter bias), ' +
    'against the uniform rate; recall std = population std of the per-position accuracies.';
  document.getElementById('sweep-sec').hidden = false;
}

function sweepScatter(e) {
  const S = 240, pad = 34;
  const { svg, mk } = svgBox(S + pad + 10, S + pad + 10, 'sweep-scatter');
  const x = (v) => pad + S * Math.min(Math.max(v, 0), 1);
  const y = (v) => 10 + S * (1 - Math.min(Math.max(v, 0), 1));
  mk('rect', { x: pad, y: 10, width: S, height: S, class: 'frame' });
  mk('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: 'diag' });
  mk('text', { x: pad + S / 2, y: S + pad + 4, 'text-anchor': 'middle', class: 'axis' }, 'A');
  mk('text', { x: 10, y: 10 + S / 2, class: 'axis' }, 'B');
  for (const [id, a, b] of e.formats) {
    const dflt = id === e.default_format;
    const c = mk('circle', { cx: x(a), cy: y(b), r: dflt ? 5 : 3, class: 'fmt-pt' + (dflt ? ' default' : '') });
    const tip = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    tip.textContent = id + ': A ' + pct(a) + '%, B ' + pct(b) + '%';
    c.appendChild(tip);
  }
  return el('figure', {}, el('figcaption', { text: e.task }), svg);
}

function showSweepCompare(sweep) {
  if (!sweep || sweep.length === 0) return;
  const tb = document.querySelector('#sweep-cmp tbody');
  const pair = (a, b, k, d, higher) => {
    const va = a[k], vb = b[k];
    const ok = va !== null && vb !== null && va !== vb;
    const aWins = higher ? va > vb : va < vb;
    return [{ text: pct(va, d), cls: 'num' + (ok && aWins ? ' up' : '') }, { text: pct(vb, d), cls: 'num' + (ok && !aWins ? ' up' : '') }];
  };
  for (const e of sweep)
    row(tb, [e.task, { text: e.n_formats, cls: 'num' }, ...pair(e.a, e.b, 'fmt_mean', 1, true), ...pair(e.a, e.b, 'fmt_std', 2),
      ...pair(e.a, e.b, 'fmt_spread', 1), ...pair(e.a, e.b, 'recall_std', 2),
      { text: e.kendall_tau_b === null ? '–' : e.kendall_tau_b.toFixed(3), cls: 'num tau' }]);
  const sc = document.getElementById('sweep-scatter');
  for (const e of sweep.slice(0, 12)) if (e.formats && e.formats.length > 0) sc.appendChild(sweepScatter(e));
  document.getElementById('sweep-cmp-sec').hidden = false;
}

// ---- one run --------------------------------------------------------------------------

const PAGE = 20;

async function pageRun() {
  const id = param('id');
  if (!id || !/^[0-9]+$/.test(id)) throw new Error('no run id in the address (run.html?id=N)');
  const r = await api('/api/runs/' + id);
  document.title = 'assay: run ' + r.id;
  document.getElementById('crumb').textContent = 'run ' + r.id;
  document.getElementById('title').textContent = 'Run ' + r.id + ' · ' + r.kind;
  const meta = document.getElementById('meta');
  const add = (k, v) => {
    if (v === null || v === undefined || v === '') return;
    meta.appendChild(el('dt', { text: k }));
    meta.appendChild(el('dd', { text: v }));
  };
  add('status', r.status + (r.error ? ': ' + r.error : ''));
  add('model', r.model_path);
  add('fingerprint', r.model_fingerprint);
  add('backend', r.backend);
  add('started', r.started_at);
  add('finished', r.finished_at);
  add('assay', r.assay_version);
  add('host', r.host);
  add('samples', String(r.n_samples));
  add('configuration', JSON.stringify(r.config));
  add('config hash', r.config_hash);
  document.getElementById('summary').hidden = false;

  const mt = document.querySelector('#metrics tbody');
  for (const m of r.metrics)
    row(mt, [m.task, m.name, { text: fmt(m.value), cls: 'num' }, { text: fmt(m.stderr), cls: 'num' }, { text: m.n, cls: 'num' }]);
  document.getElementById('metrics-sec').hidden = r.metrics.length === 0;

  const tt = document.querySelector('#tasks tbody');
  const taskSel = document.getElementById('f-task');
  for (const t of r.tasks) {
    row(tt, [t.task, { text: t.n, cls: 'num' }, { text: t.n_correct, cls: 'num' }, { text: t.n_incorrect, cls: 'num' }, { text: fmt(t.mean_score), cls: 'num' }]);
    taskSel.appendChild(el('option', { value: t.task, text: t.task }));
  }
  document.getElementById('tasks-sec').hidden = r.tasks.length === 0;
  const fmtSel = document.getElementById('f-format');
  for (const f of r.formats) {
    const o = el('option', { text: f === '' ? '(default)' : f });
    o.value = f === '' ? '\u0000default' : f;
    fmtSel.appendChild(o);
  }
  fmtSel.parentElement.hidden = r.formats.length < 2;

  if (r.pii.length > 0) {
    const pt = document.querySelector('#pii tbody');
    for (const p of r.pii)
      row(pt, [p.type, { text: p.severity, cls: 'sev-' + p.severity }, { text: p.n, cls: 'num' }, { text: p.n_validated, cls: 'num' }, { text: p.n_samples, cls: 'num' }]);
    document.getElementById('pii-sec').hidden = false;
    const ex = await api('/api/runs/' + id + '/pii?examples=3');
    document.getElementById('pii-mask').textContent = ex.masked ? '(masked)' : '(raw: served with --raw)';
    const ul = document.getElementById('pii-examples');
    for (const e of ex.examples)
      ul.appendChild(el('li', {}, el('span', { cls: 'tag', text: e.type }), ' sample ' + e.sample_id + ' (' + e.field + ', ' + e.likelihood.toLowerCase().replace('_', ' ') + '): ', el('code', { text: e.text })));
  }

  if (r.kind === 'sweep') await showSweep(id);
  document.getElementById('cmp-a').value = r.id;
  document.getElementById('compare-sec').hidden = false;
  setupSamples(id);
}

function setupSamples(id) {
  // filters may come from the address (links from the comparison page)
  const state = { offset: 0, total: 0, item: param('item') || '' };
  for (const [key, elId] of [['task', 'f-task'], ['correct', 'f-correct'], ['q', 'f-q']]) {
    const v = param(key);
    if (v !== null) document.getElementById(elId).value = v;
  }
  const itemBox = document.getElementById('f-item');
  const showItem = () => {
    itemBox.hidden = !state.item;
    document.getElementById('f-item-name').textContent = state.item;
  };
  document.getElementById('f-item-clear').addEventListener('click', () => { state.item = ''; showItem(); state.offset = 0; run(); });
  showItem();
  const form = document.getElementById('filter');
  const prev = document.getElementById('prev');
  const next = document.getElementById('next');
  const range = document.getElementById('range');
  const list = document.getElementById('samples');

  async function load() {
    const q = new URLSearchParams();
    q.set('offset', state.offset);
    q.set('limit', PAGE);
    const task = document.getElementById('f-task').value;
    const format = document.getElementById('f-format').value;
    const correct = document.getElementById('f-correct').value;
    const text = document.getElementById('f-q').value;
    if (task) q.set('task', task);
    if (state.item) q.set('item', state.item);
    if (format) q.set('format', format === '\u0000default' ? '' : format);
    if (correct) q.set('correct', correct);
    if (text) q.set('q', text);
    range.textContent = 'loading…';
    const d = await api('/api/runs/' + id + '/samples?' + q.toString());
    state.total = d.total;
    clear(list);
    for (const s of d.samples) list.appendChild(sampleCard(s));
    const first = d.total === 0 ? 0 : d.offset + 1;
    const last = d.offset + d.samples.length;
    range.textContent = first + '–' + last + ' of ' + d.total + (d.masked ? ' · PII masked' : ' · raw text');
    prev.disabled = d.offset === 0;
    next.disabled = last >= d.total;
    if (d.samples.length === 0) list.appendChild(el('p', { cls: 'status', text: 'no sample matches' }));
  }
  const run = () => load().catch((e) => { range.textContent = ''; status(e.message, true); });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); state.offset = 0; run(); });
  prev.addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); run(); });
  next.addEventListener('click', () => { state.offset += PAGE; run(); });
  document.getElementById('samples-sec').hidden = false;
  run();
}

function sampleCard(s) {
  const verdict = s.correct === null ? 'n/a' : s.correct ? 'correct' : 'incorrect';
  const card = el('article', { cls: 'sample ' + (s.correct === null ? '' : s.correct ? 'ok' : 'bad'), 'data-id': s.id });
  card.appendChild(el('h3', {}, el('span', { cls: 'tag', text: s.task }), ' ', el('span', { text: s.item }),
    s.format_id ? el('span', { cls: 'fmt', text: ' · ' + s.format_id }) : null,
    el('span', { cls: 'verdict', text: ' · ' + verdict + ' · score ' + fmt(s.score, 3) })));
  const field = (name, value, open) => {
    if (value === null || value === undefined || value === '') return;
    const d = el('details', { cls: 'field field-' + name });
    if (open) d.open = true;
    d.appendChild(el('summary', { text: name }));
    d.appendChild(el('pre', { text: value }));
    card.appendChild(d);
  };
  field('prompt', s.prompt, false);
  field('target', s.target, true);
  field('output', s.output, true);
  field('error', s.error, true);
  field('data', s.data, false);
  if (s.truncated) card.appendChild(el('p', { cls: 'hint', text: 'text shortened to 256 KiB per field' }));
  return card;
}

// ---- comparison -----------------------------------------------------------------------

function ciPlot(tasks) {
  // a forest plot: each task's delta with its 95% interval, drawn with SVG elements
  const NS = 'http://www.w3.org/2000/svg';
  const W = 640, rowH = 22, left = 200, right = 20;
  const H = rowH * tasks.length + 30;
  let lo = -0.05, hi = 0.05;
  for (const t of tasks) {
    if (t.lo !== null) lo = Math.min(lo, t.lo);
    if (t.hi !== null) hi = Math.max(hi, t.hi);
  }
  const x = (v) => left + ((v - lo) / (hi - lo)) * (W - left - right);
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  svg.setAttribute('class', 'forest');
  svg.setAttribute('role', 'img');
  const mk = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  mk('line', { x1: x(0), x2: x(0), y1: 0, y2: H - 20, class: 'zero' });
  tasks.forEach((t, i) => {
    const y = i * rowH + 14;
    mk('text', { x: left - 8, y: y + 4, 'text-anchor': 'end', class: 'label' }, t.task);
    if (t.lo !== null && t.hi !== null) mk('line', { x1: x(t.lo), x2: x(t.hi), y1: y, y2: y, class: 'ci' });
    if (t.delta !== null) mk('circle', { cx: x(t.delta), cy: y, r: 4, class: t.lo > 0 ? 'up' : t.hi < 0 ? 'down' : 'flat' });
  });
  mk('text', { x: x(lo), y: H - 4, class: 'axis' }, signed(lo, 3));
  mk('text', { x: x(hi), y: H - 4, 'text-anchor': 'end', class: 'axis' }, signed(hi, 3));
  return svg;
}

function sampleHref(run, task, item) {
  return '/run.html?' + new URLSearchParams({ id: run, task: task, item: item }).toString();
}

async function pageCompare() {
  const a = param('a'), b = param('b');
  if (!a || !b || !/^[0-9]+$/.test(a) || !/^[0-9]+$/.test(b)) throw new Error('compare.html needs ?a=RUN&b=RUN');
  const d = await api('/api/compare?a=' + a + '&b=' + b);
  document.title = 'assay: run ' + a + ' vs ' + b;
  document.getElementById('crumb').textContent = 'run ' + a + ' vs run ' + b;
  document.getElementById('title').textContent = 'Run ' + d.b.id + ' compared with run ' + d.a.id;
  const rt = document.querySelector('#runs tbody');
  for (const [label, r] of [['A', d.a], ['B', d.b]])
    row(rt, [label, runLink(r.id), r.kind, { text: modelName(r), title: r.model_path || '' }, r.started_at, { text: r.n_samples, cls: 'num' }]);
  const o = d.overall;
  document.getElementById('overall').textContent = o.n === 0
    ? 'The two runs share no sample (matched by task, item and format).'
    : o.n + ' paired samples: A ' + fmt(o.mean_a) + ', B ' + fmt(o.mean_b) + ', Δ ' + signed(o.delta) +
      ' (95% interval ' + signed(o.lo) + ' to ' + signed(o.hi) + '); McNemar p = ' + pval(o.mcnemar.p_value) +
      ' (' + o.mcnemar.n01 + ' got worse, ' + o.mcnemar.n10 + ' got better).';
  const tt = document.querySelector('#tasks tbody');
  for (const t of d.tasks)
    row(tt, [t.task, { text: t.n, cls: 'num' }, { text: fmt(t.mean_a), cls: 'num' }, { text: fmt(t.mean_b), cls: 'num' },
      { text: signed(t.delta), cls: 'num ' + (t.lo > 0 ? 'up' : t.hi < 0 ? 'down' : '') },
      '[' + signed(t.lo) + ', ' + signed(t.hi) + ']', { text: pval(t.mcnemar.p_value), cls: 'num' },
      { text: t.mcnemar.n01, cls: 'num' }, { text: t.mcnemar.n10, cls: 'num' }]);
  if (d.tasks.length > 0) document.getElementById('tasks').after(ciPlot(d.tasks));
  document.getElementById('method').textContent = d.method;
  showSweepCompare(d.sweep);
  const flips = document.getElementById('flips');
  let any = false;
  for (const t of d.tasks) {
    for (const [dir, list] of [['worse in B', t.worse], ['better in B', t.better]]) {
      if (list.length === 0) continue;
      any = true;
      const det = el('details', { cls: 'flips' }, el('summary', { text: t.task + ': ' + list.length + ' ' + dir }));
      const ul = el('ul');
      for (const f of list)
        ul.appendChild(el('li', {}, el('span', { text: f.item + (f.format_id ? ' · ' + f.format_id : '') + ' ' }),
          el('a', { href: sampleHref(d.a.id, t.task, f.item), text: 'A' }), ' ',
          el('a', { href: sampleHref(d.b.id, t.task, f.item), text: 'B' })));
      det.appendChild(ul);
      flips.appendChild(det);
    }
  }
  if (!any) flips.appendChild(el('p', { cls: 'hint', text: 'no sample changed correctness' }));
  document.getElementById('cmp-sec').hidden = false;
  status('');
}

document.addEventListener('DOMContentLoaded', () => {
  const pages = { runs: pageRuns, run: pageRun, compare: pageCompare };
  const f = pages[document.body.dataset.page];
  if (f) f().then(() => { if (document.body.dataset.page === 'run') status(''); }).catch((e) => status(e.message, true));
});
