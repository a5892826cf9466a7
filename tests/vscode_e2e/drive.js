#!/usr/bin/env node
// Drives code-server (VS Code 1.100.3) in Debian's headless chromium through playwright-core and
// checks the Keras Migrate extension as a user sees it. Every step is recorded in a JSON file,
// with a screenshot; a failing step does not stop the later ones unless they depend on it.
// Adapted from ../../shared/tools/vscode-e2e/drive.js (pitfalls: hover by mouse coordinates,
// click into the editor before key chords, '>' in the palette, wait out toast animations).
//
// env: CS_URL (http://127.0.0.1:8765)  FOLDER (workspace folder)  OUT (screenshots)
//      RESULTS (JSON file, default $OUT/results.json)  TOOLS (dir with playwright-core)
//      USER_DATA (code-server --user-data-dir: its logs hold the output channels)
//      CHROMIUM (/usr/bin/chromium)  PROFILE_HOME (chromium's XDG dirs)
//      STEPS (comma list: run only these steps)  RUN_TIMEOUT_MS (180000)
'use strict';
const fs = require('fs');
const path = require('path');
const TOOLS = process.env.TOOLS || path.join(process.env.HOME || '/root', '.cache/keras-migrate-e2e/tools');
const { chromium } = require(require.resolve('playwright-core', { paths: [TOOLS, process.cwd(), __dirname] }));

const CS_URL = process.env.CS_URL || 'http://127.0.0.1:8765';
const FOLDER = process.env.FOLDER;
const OUT = process.env.OUT || 'test-artifacts/vscode';
const RESULTS = process.env.RESULTS || path.join(OUT, 'results.json');
const USER_DATA = process.env.USER_DATA || '';
const PROFILE_HOME = process.env.PROFILE_HOME || path.join(OUT, '.chromium-home');
const ONLY = (process.env.STEPS || '').split(',').map((s) => s.trim()).filter(Boolean);
const RUN_TIMEOUT_MS = Number(process.env.RUN_TIMEOUT_MS || 180000);
// MODE=untrusted: the folder opens in Restricted Mode; only the untrusted-* steps run
const MODE = process.env.MODE || 'trusted';
const SHOT_PREFIX = MODE === 'untrusted' ? 'untrusted-' : '';
if (!FOLDER) throw new Error('FOLDER is required');
fs.mkdirSync(OUT, { recursive: true });

const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
const results = { started: new Date().toISOString(), folder: FOLDER, steps: [] };
const save = () => fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2));
let shotNo = 0;

const SQUIGGLE = '.squiggly-error, .squiggly-warning, .squiggly-info';
const norm = (s) => s.replace(/\u00a0/g, ' ');

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    // chromium writes ~/.config/chromium and ~/.cache/dconf even with a temporary profile
    env: { ...process.env, XDG_CONFIG_HOME: path.join(PROFILE_HOME, 'config'), XDG_CACHE_HOME: path.join(PROFILE_HOME, 'cache') },
  });
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  page.on('pageerror', (e) => log('[pageerror]', String(e).slice(0, 200)));
  const qi = page.locator('.quick-input-widget input');

  // ---------- helpers ----------
  const failed = new Set();
  async function step(name, deps, fn) {
    if (ONLY.length && !ONLY.includes(name)) return;
    const rec = { name, ok: false, ms: 0, detail: {} };
    results.steps.push(rec);
    const missing = deps.filter((d) => failed.has(d) || !results.steps.some((s) => s.name === d));
    if (missing.length && !ONLY.length) {
      rec.error = `not run: depends on ${missing.join(', ')}`;
      failed.add(name);
      log(`-- ${name}: SKIPPED (${rec.error})`);
      save();
      return;
    }
    const s0 = Date.now();
    log(`-- ${name} ...`);
    try {
      await fn(rec.detail);
      rec.ok = true;
    } catch (e) {
      rec.error = String(e && e.message ? e.message : e).split('\n').slice(0, 6).join('\n');
      failed.add(name);
    }
    rec.ms = Date.now() - s0;
    await page.waitForTimeout(800); // toast slide-in
    const shot = `${SHOT_PREFIX}${String(++shotNo).padStart(2, '0')}-${name}${rec.ok ? '' : '-FAILED'}.png`;
    await page.screenshot({ path: path.join(OUT, shot) }).catch(() => {});
    rec.screenshot = shot;
    log(`-- ${name}: ${rec.ok ? 'ok' : 'FAILED: ' + rec.error} (${rec.ms} ms)`);
    save();
  }

  async function focusEditorArea() {
    await page.mouse.move(5, 5);
    await page.keyboard.press('Escape');
    // a visible text editor if there is one (a notebook or a Markdown preview has none: then
    // the editor part itself); short timeouts: a hidden editor never becomes clickable
    const lines = page.locator('.part.editor .editor-group-container.active .monaco-editor .view-lines').first();
    if (await lines.isVisible().catch(() => false)) await lines.click({ position: { x: 5, y: 5 }, timeout: 2000 }).catch(() => {});
    else await page.locator('.monaco-workbench .part.editor').click({ timeout: 2000 }).catch(() => {});
  }

  async function quickOpen(file) {
    await focusEditorArea();
    await page.keyboard.press('Control+P');
    await qi.waitFor({ state: 'visible', timeout: 15000 });
    await qi.fill(file);
    // Enter only once the FOCUSED row is the file (the list filters asynchronously)
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: file }).first().waitFor({ timeout: 15000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector(`.editor-group-container.active .tab.active[aria-label*="${path.basename(file)}"]`, { timeout: 30000 });
  }

  async function runCommand(title) {
    await focusEditorArea();
    await page.keyboard.press('Control+Shift+P');
    await qi.waitFor({ state: 'visible', timeout: 15000 });
    await qi.fill('>' + title);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: title.split(': ').pop() }).first().waitFor({ timeout: 15000 });
    await page.keyboard.press('Enter');
  }

  async function pickQuick(title, text, timeout = 30000) {
    // wait for OUR quick pick (by its title), not the palette that is still closing
    await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ timeout });
    await qi.waitFor({ state: 'visible', timeout });
    await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout });
    await qi.fill(text);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
    await row.waitFor({ timeout: 10000 });
    await page.keyboard.press('Enter');
  }

  async function editorText() {
    const ed = page.locator('.part.editor .editor-group-container.active .monaco-editor .view-lines').first();
    const lines = await ed.locator('.view-line').evaluateAll((els) =>
      els.map((e) => ({ top: parseFloat(e.style.top || '0'), text: e.textContent || '' })).sort((a, b) => a.top - b.top),
    );
    return norm(lines.map((l) => l.text).join('\n'));
  }

  async function waitFor(cond, timeout, what) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
      last = await cond();
      if (last) return last;
      await page.waitForTimeout(250);
    }
    throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
  }

  async function showProblems() {
    // Ctrl+Shift+M toggles: press it only when the Problems view is not showing
    if (!(await page.locator('.markers-panel').isVisible().catch(() => false))) {
      await page.keyboard.press('Control+Shift+M');
      await page.locator('.markers-panel').waitFor({ timeout: 10000 });
    }
  }

  async function problemRows() {
    return (await page.locator('.markers-panel .monaco-tl-row').allInnerTexts()).map((r) => norm(r).replace(/\s+/g, ' ').trim());
  }

  function channelLog(channel) {
    // <user-data>/logs/<ts>/exthost1/output_logging_*/N-<channel>.log, or for a log channel
    // <user-data>/logs/<ts>/exthost1/<publisher.name>/<channel>.log (newest file wins)
    if (!USER_DATA) return '';
    const logs = path.join(USER_DATA, 'logs');
    let best = '';
    let bestM = 0;
    const walk = (d, depth) => {
      let ents = [];
      try { ents = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
      for (const e of ents) {
        const p = path.join(d, e.name);
        if (e.isDirectory() && depth < 5) walk(p, depth + 1);
        else if (e.isFile() && (e.name.endsWith(`-${channel}.log`) || e.name === `${channel}.log`)) {
          const m = fs.statSync(p).mtimeMs;
          if (m > bestM) { bestM = m; best = p; }
        }
      }
    };
    walk(logs, 0);
    return best ? fs.readFileSync(best, 'utf8') : '';
  }

  async function toasts() {
    return norm(await page.locator('.notifications-toasts').innerText().catch(() => ''));
  }

  // ---------- steps ----------
  if (MODE === 'untrusted') {
    await step('untrusted-workbench', [], async (d) => {
      await page.goto(`${CS_URL}/?folder=${encodeURIComponent(FOLDER)}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('.monaco-workbench .explorer-folders-view .monaco-list-row', { timeout: 90000 });
      await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30000 });
      d.restrictedMode = true;
    });

    await step('untrusted-server', ['untrusted-workbench'], async (d) => {
      // the workspace-level interpreter (a venv without keras-migrate) is ignored; the
      // user-level one runs the server, and it still analyses
      await quickOpen('legacy.py');
      const item = page.locator('.statusbar-item', { hasText: 'Keras Migrate' }).first();
      await item.waitFor({ timeout: 60000 });
      await waitFor(async () => (await item.locator('.codicon-check').count()) > 0, 60000, 'the server to run in Restricted Mode');
      await page.waitForSelector(`.part.editor .monaco-editor :is(${SQUIGGLE})`, { timeout: 60000 });
      const log = channelLog('Keras Migrate');
      d.log = log.split('\n').filter((l) => /\[client/.test(l)).slice(0, 6);
      // VS Code itself hides a restricted setting's workspace value in Restricted Mode (the client
      // would also ignore it); either way the server must run from the user-level interpreter
      const used = (log.match(/interpreter: (\S+) \(from (\S+)\)/) || []).slice(1);
      d.interpreter = used;
      if (!used.length || /bare-venv/.test(used[0]) || used[1] !== 'setting') {
        throw new Error(`the server did not start from the user-level interpreter: ${used}`);
      }
      // the client logs the server's serverInfo answer after "server started"; the output
      // channel reaches its log file a moment later, so wait for the line rather than race it
      await waitFor(async () => /"trusted":(true|false)/.test(channelLog('Keras Migrate')), 20000,
        "the server's serverInfo in the log");
      const info = channelLog('Keras Migrate');
      if (!/"trusted":false/.test(info) || /"trusted":true/.test(info)) {
        throw new Error('the server was not told that the workspace is untrusted');
      }
    });

    await step('untrusted-run-refused', ['untrusted-workbench'], async (d) => {
      await quickOpen('run_me.py');
      await runCommand('Keras Migrate: Run File on Backend...');
      const toast = page.locator('.notification-toast', { hasText: 'untrusted workspace' }).first();
      await toast.waitFor({ timeout: 15000 });
      d.toast = norm(await toast.innerText());
      d.buttons = (await toast.locator('.monaco-button').allInnerTexts()).map(norm);
      if (await page.locator('.quick-input-widget .quick-input-title', { hasText: '(1/2)' }).isVisible().catch(() => false)) {
        throw new Error('the backend picker opened in an untrusted workspace');
      }
      if (channelLog('Keras Migrate Run').includes('running')) throw new Error('something ran');
    });
  } else {
    await step('workbench', [], async (d) => {
      await page.goto(`${CS_URL}/?folder=${encodeURIComponent(FOLDER)}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('.monaco-workbench .explorer-folders-view .monaco-list-row', { timeout: 90000 });
      d.explorer = await page.locator('.explorer-folders-view .monaco-list-row').allInnerTexts();
    });

    await step('server-status', ['workbench'], async (d) => {
      await quickOpen('legacy.py'); // activation: onLanguage:python
      const item = page.locator('.statusbar-item', { hasText: 'Keras Migrate' }).first();
      await item.waitFor({ timeout: 60000 });
      await waitFor(async () => (await item.locator('.codicon-check').count()) > 0, 60000, 'the status bar to show a running server');
      d.text = norm(await item.innerText());
      d.ariaLabel = await item.getAttribute('aria-label').catch(() => null);
      if (!/tensorflow|jax|torch/.test(d.text)) throw new Error(`status bar shows no target backend: ${d.text}`);
      await item.click();
      await page.locator('.part.panel .monaco-editor .view-line').first().waitFor({ timeout: 10000 });
      d.outputChannel = norm(await page.locator('.part.panel').innerText().catch(() => '')).slice(0, 2000);
      if (!/Keras Migrate/.test(d.outputChannel)) {
        throw new Error('clicking the status bar item did not show the Keras Migrate output');
      }
      const log = channelLog('Keras Migrate');
      d.logTail = log.split('\n').slice(-25).join('\n');
    });

    await step('diagnostics', ['server-status'], async (d) => {
      await quickOpen('legacy.py');
      await page.waitForSelector(`.part.editor .monaco-editor ${SQUIGGLE.split(', ').join(', .part.editor .monaco-editor ')}`, { timeout: 60000 });
      d.squiggles = await page.locator(`.part.editor .monaco-editor :is(${SQUIGGLE})`).count();
      await showProblems();
      await page.locator('.markers-panel .monaco-tl-row', { hasText: 'keras-migrate' }).first().waitFor({ timeout: 30000 });
      await page.waitForTimeout(300);
      d.problems = await problemRows();
      d.text = await editorText();
      const bb = await page.locator(`.part.editor .monaco-editor :is(${SQUIGGLE})`).first().boundingBox();
      await page.mouse.move(bb.x + bb.width / 2, bb.y + bb.height / 2);
      await page.waitForSelector('.monaco-hover .marker', { timeout: 10000 }).catch(() => {});
      d.hover = norm(await page.locator('.monaco-hover').first().innerText().catch(() => ''));
    });

    await step('quick-fix', ['diagnostics'], async (d) => {
      const before = await editorText();
      const sq = page.locator(`.part.editor .monaco-editor :is(${SQUIGGLE})`).first();
      const bb = await sq.boundingBox();
      await page.mouse.click(bb.x + Math.min(6, bb.width / 2), bb.y + bb.height / 2);
      await page.waitForTimeout(400);
      await page.keyboard.press('Control+.');
      const widget = page.locator('.action-widget');
      await widget.waitFor({ state: 'visible', timeout: 15000 });
      const rows = widget.locator('.monaco-list-row.action');
      await rows.first().waitFor({ timeout: 15000 });
      d.actions = (await rows.allInnerTexts()).map((t) => norm(t).trim());
      // the first real quick fix: not "fix all", not a disable/ignore comment, not "learn more"
      let idx = d.actions.findIndex((t) => !/fix all|ignore|disable|noqa|learn|documentation/i.test(t));
      if (idx < 0) idx = 0;
      d.chosen = d.actions[idx];
      // keyboard, not click: the widget's rows never count as "stable" for playwright's click
      const focused = (await rows.evaluateAll((els) => els.findIndex((e) => e.classList.contains('focused'))));
      for (let i = Math.max(focused, 0); i < idx; i++) await page.keyboard.press('ArrowDown');
      for (let i = Math.max(focused, 0); i > idx; i--) await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Enter');
      d.after = await waitFor(async () => {
        const t = await editorText();
        return t !== before ? t : null;
      }, 15000, 'the quick fix to change the editor text');
      d.before = before;
      const count = (s) => (s.match(/tf\.keras/g) || []).length;
      if (!(count(d.after) < count(before))) throw new Error(`the quick fix did not remove a tf.keras use:\n${d.after}`);
      if (!/\bkeras\./.test(d.after)) throw new Error(`no keras.* name after the quick fix:\n${d.after}`);
    });

    await step('fix-all', ['diagnostics'], async (d) => {
      await runCommand('Keras Migrate: Fix All in File');
      d.after = await waitFor(async () => {
        const t = await editorText();
        return /tf\.keras/.test(t) ? null : t;
      }, 20000, 'Fix All to remove every tf.keras use');
      await page.waitForTimeout(1500); // diagnostics re-published after the edit
      await showProblems();
      d.problems = await problemRows();
    });

    await step('fix-all-on-save', ['server-status'], async (d) => {
      await quickOpen('on_save.py');
      await page.waitForSelector(`.part.editor .editor-group-container.active .monaco-editor :is(${SQUIGGLE})`, { timeout: 60000 });
      d.before = await editorText();
      await focusEditorArea();
      await page.keyboard.press('Control+End');
      await page.keyboard.type('\n# saved');
      await page.keyboard.press('Control+S');
      d.after = await waitFor(async () => {
        const t = await editorText();
        return /tf\.keras/.test(t) ? null : t;
      }, 20000, 'source.fixAll.keras-migrate on save');
      const disk = await waitFor(async () => {
        const t = fs.readFileSync(path.join(FOLDER, 'on_save.py'), 'utf8');
        return /tf\.keras/.test(t) ? null : t;
      }, 10000, 'the saved file to be fixed on disk');
      d.disk = disk;
    });

    await step('notebook', ['server-status'], async (d) => {
      await quickOpen('notebook.ipynb');
      const cellSquiggle = page.locator(`.notebook-editor .cell-editor-container .monaco-editor :is(${SQUIGGLE}), .notebookOverlay .monaco-editor :is(${SQUIGGLE})`);
      await cellSquiggle.first().waitFor({ timeout: 60000 });
      d.cellSquiggles = await cellSquiggle.count();
      await showProblems();
      await page.waitForTimeout(500);
      d.problems = (await problemRows()).filter((r) => /notebook|keras-migrate/.test(r));
      const bb = await cellSquiggle.first().boundingBox();
      await page.mouse.move(bb.x + bb.width / 2, bb.y + bb.height / 2);
      await page.waitForSelector('.monaco-hover .marker', { timeout: 8000 }).catch(() => {});
      d.hover = norm(await page.locator('.monaco-hover').first().innerText().catch(() => ''));
    });

    await step('notebook-fix-all', ['notebook'], async (d) => {
      const cellLines = page.locator('.notebook-editor .cell-editor-container .monaco-editor .view-lines');
      const cellText = async () => norm((await page.locator('.notebook-editor .cell-editor-container .monaco-editor .view-line').allInnerTexts()).join('\n'));
      d.before = await cellText();
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');
      await cellLines.first().click({ position: { x: 5, y: 5 } });
      await page.waitForTimeout(300);
      await page.keyboard.press('Control+Shift+P');
      await qi.waitFor({ state: 'visible', timeout: 15000 });
      await qi.fill('>Keras Migrate: Fix All in File');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Fix All in File' }).first().waitFor({ timeout: 15000 });
      await page.keyboard.press('Enter');
      d.after = await waitFor(async () => {
        const t = await cellText();
        return /tf\.keras/.test(t) ? null : t;
      }, 20000, 'Fix All to rewrite the notebook cell');
      if (!/keras\.Sequential/.test(d.after)) throw new Error(`unexpected cell text after Fix All:\n${d.after}`);
    });

    await step('report', ['server-status'], async (d) => {
      const s0 = Date.now();
      await quickOpen('legacy.py');
      await runCommand('Keras Migrate: Show Migration Report');
      d.commandMs = Date.now() - s0;
      await page.locator('.notification-toast', { hasText: 'scanning' }).first().waitFor({ timeout: 5000 })
        .then(async () => { d.progress = norm(await page.locator('.notification-toast', { hasText: 'scanning' }).first().innerText()); })
        .catch(() => { d.progress = null; });
      await page.locator('.tab', { hasText: 'Keras Migration Report' }).first().waitFor({ timeout: 60000 });
      d.previewMs = Date.now() - s0;
      // what the preview shows: the server's Markdown, saved in the extension's global storage
      if (USER_DATA) {
        const md = path.join(USER_DATA, 'User', 'globalStorage', 'keras-migrate.keras-migrate', 'Keras Migration Report.md');
        d.markdown = fs.readFileSync(md, 'utf8').slice(0, 1500);
        if (!/K102/.test(d.markdown)) throw new Error(`the report does not list the K102 findings:\n${d.markdown}`);
      }
      d.tabs = (await page.locator('.tabs-container .tab').allInnerTexts()).map((t) => norm(t).trim());
      await page.waitForTimeout(1500); // the preview renders in a webview
    });

    await step('restart-server', ['server-status'], async (d) => {
      const starts = () => (channelLog('Keras Migrate').match(/\(re\)starting the server/g) || []).length;
      const before = starts();
      await runCommand('Keras Migrate: Restart Server');
      await waitFor(async () => starts() > before, 15000, 'the restart to begin');
      const item = page.locator('.statusbar-item', { hasText: 'Keras Migrate' }).first();
      await waitFor(async () => (await item.locator('.codicon-check').count()) > 0 && /server started/.test(channelLog('Keras Migrate').split('(re)starting the server').pop()), 60000, 'the restarted server to run');
      d.log = channelLog('Keras Migrate').split('\n').filter((l) => /\[client/.test(l)).slice(-4);
    });

    await step('run-file', ['server-status'], async (d) => {
      const s0 = Date.now();
      await quickOpen('run_me.py');
      await runCommand('Keras Migrate: Run File on Backend...');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: '(1/2)' }).waitFor({ timeout: 30000 });
      d.backendPicks = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts().catch(() => [])).map(norm);
      await pickQuick('(1/2)', 'jax');
      d.backendPickedMs = Date.now() - s0;
      await page.locator('.quick-input-widget .quick-input-title', { hasText: '(2/2)' }).waitFor({ timeout: 30000 });
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'CPU' }).first().waitFor({ timeout: 30000 });
      d.devicePicks = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts().catch(() => [])).map(norm);
      // the stand-in nvidia-smi (tests/vscode_e2e/test_vscode_e2e.py) reports GPU 0 and GPU 1
      const labels = d.devicePicks.map((t) => t.split('\n')[0]);
      if (!(labels.length === 3 && /^GPU 0/.test(labels[0]) && /^GPU 1/.test(labels[1]) && /^CPU/.test(labels[2]))) {
        throw new Error(`device picks are not GPU 0, GPU 1, CPU: ${JSON.stringify(labels)}`);
      }
      await pickQuick('(2/2)', 'CPU');
      d.devicePickedMs = Date.now() - s0;
      await page.locator('.notification-toast', { hasText: 'running run_me.py' }).first().waitFor({ timeout: 20000 })
        .then(() => { d.progressToast = true; }).catch(() => { d.progressToast = false; });
      const out = await waitFor(async () => {
        const t = channelLog('Keras Migrate Run');
        return /\[keras-migrate\] (finished|cancelled)|run failed/.test(t) ? t : null;
      }, RUN_TIMEOUT_MS, 'the run to finish (Keras Migrate Run output)');
      d.finishedMs = Date.now() - s0;
      d.output = out.slice(-4000);
      await page.waitForTimeout(1000);
      d.toasts = await toasts();
      d.panel = norm(await page.locator('.part.panel').innerText().catch(() => '')).slice(-2000);
      if (/run failed/.test(out)) throw new Error(`the run failed: ${out.split('\n').filter((l) => /run failed/.test(l)).join(' ')}`);
      if (!/RUN_ME_OK/.test(out)) throw new Error('the program output (RUN_ME_OK) did not stream into the output');
      if (!/\|\s*jax\s*\|/.test(out)) throw new Error('no result matrix row for jax');
      if (!/jax on CPU: ok/.test(out)) throw new Error('the run did not end ok on jax/CPU');
      if (!/used jax on/.test(out)) throw new Error('the result does not say which backend Keras used');
    });

    await step('rerun-status-item', ['run-file'], async (d) => {
      await quickOpen('run_me.py');
      const item = page.locator('.statusbar-item', { hasText: 'jax · CPU' }).first();
      await item.waitFor({ timeout: 15000 });
      d.text = norm(await item.innerText());
      const lastRunLine = (t) => (t.match(/\[keras-migrate\] running .*/g) || []).pop() || '';
      const before = lastRunLine(channelLog('Keras Migrate Run'));
      await page.waitForTimeout(1100); // the header carries the time in seconds
      await item.click();
      const out = await waitFor(async () => {
        const t = channelLog('Keras Migrate Run');
        const last = lastRunLine(t);
        if (!last || last === before) return null;
        const tail = t.slice(t.lastIndexOf(last));
        return /\[keras-migrate\] (finished|cancelled)|run failed/.test(tail) ? tail : null;
      }, RUN_TIMEOUT_MS, 'the rerun to finish');
      d.runBefore = before;
      d.output = out.slice(-1500);
      if (!/jax on CPU: ok/.test(out)) throw new Error('the rerun did not end ok on jax/CPU');
    });

    await step('run-failure-diagnostic', ['run-file'], async (d) => {
      // the rerun item runs the ACTIVE file with the last choice (jax, CPU)
      await quickOpen('fail_me.py');
      const item = page.locator('.statusbar-item', { hasText: 'jax · CPU' }).first();
      await item.waitFor({ timeout: 15000 });
      await page.waitForTimeout(1100);
      await item.click();
      const row = page.locator('.markers-panel .monaco-tl-row', { hasText: 'deliberate failure' }).first();
      await page.locator('.notification-toast', { hasText: 'exit' }).first().waitFor({ timeout: RUN_TIMEOUT_MS });
      d.toasts = await toasts();
      await showProblems();
      await row.waitFor({ timeout: 20000 });
      d.problems = (await problemRows()).filter((r) => /deliberate|keras-migrate run/.test(r));
      if (!d.problems.some((r) => /keras-migrate run/.test(r))) throw new Error(`no "keras-migrate run" diagnostic: ${d.problems}`);
      if (!d.problems.some((r) => /Ln 6\b/.test(r))) throw new Error(`the run diagnostic is not at line 6 (the raise): ${d.problems}`);
      const sq = page.locator(`.part.editor .editor-group-container.active .monaco-editor :is(${SQUIGGLE})`);
      d.squiggles = await sq.count();
    });

    await step('cancel-run', ['run-file'], async (d) => {
      await quickOpen('sleep_me.py');
      const item = page.locator('.statusbar-item', { hasText: 'jax · CPU' }).first();
      await item.waitFor({ timeout: 15000 });
      await page.waitForTimeout(1100);
      const s0 = Date.now();
      await item.click();
      await waitFor(async () => {
        const t = channelLog('Keras Migrate Run');
        return /running \S*sleep_me\.py/.test(t) && /SLEEPING/.test(t.slice(t.lastIndexOf('running'))) ? t : null;
      }, 60000, 'sleep_me.py to start printing');
      d.startedMs = Date.now() - s0;
      const toast = page.locator('.notification-toast', { hasText: 'running sleep_me.py' }).first();
      await toast.waitFor({ timeout: 10000 });
      await toast.hover();
      await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
      const c0 = Date.now();
      const out = await waitFor(async () => {
        const t = channelLog('Keras Migrate Run');
        const tail = t.slice(t.lastIndexOf('running'));
        return /\[keras-migrate\] (cancelled|finished)/.test(tail) ? tail : null;
      }, 30000, 'the run to end after Cancel');
      d.cancelMs = Date.now() - c0;
      d.output = out.slice(-1500);
      if (/WOKE UP/.test(out)) throw new Error('the program was not stopped');
      if (!/\[keras-migrate\] cancelled/.test(out)) throw new Error('the run did not end as cancelled');
      // no process of the run is left: pgrep exits 1 when nothing matches
      const left = await waitFor(async () => {
        try {
          require('child_process').execFileSync('pgrep', ['-f', path.join(FOLDER, 'sleep_me.py')]);
          return null; // still running: wait
        } catch (e) {
          if (e.status === 1) return 'none';
          throw e;
        }
      }, 10000, 'the cancelled process tree to be gone');
      d.processesLeft = left;
    });

    await step('compare-backends', ['run-file'], async (d) => {
      const s0 = Date.now();
      await quickOpen('run_me.py');
      await runCommand('Keras Migrate: Compare Backends');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: '(2/2)' }).waitFor({ timeout: 30000 });
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'CPU' }).first().waitFor({ timeout: 30000 });
      d.devicePicks = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts()).map(norm);
      // the last device (CPU) is offered first
      if (!/^CPU/.test(d.devicePicks[0]) || !/last used/.test(d.devicePicks[0])) {
        throw new Error(`the last device is not offered first: ${JSON.stringify(d.devicePicks)}`);
      }
      await pickQuick('(2/2)', 'CPU');
      await page.locator('.tab', { hasText: 'Keras Backend Matrix' }).first().waitFor({ timeout: RUN_TIMEOUT_MS * 2 });
      d.finishedMs = Date.now() - s0;
      await page.waitForTimeout(1500); // the preview renders in a webview
      const out = channelLog('Keras Migrate Run');
      const tail = out.slice(out.lastIndexOf('[keras-migrate] running'));
      d.output = tail.slice(-3000);
      d.toasts = await toasts();
      if (!/running \S*run_me\.py on all backends/.test(tail)) throw new Error('Compare Backends did not run run_me.py');
      for (const b of ['jax', 'torch', 'tensorflow']) {
        if (!new RegExp(`\\|\\s*${b}\\s*\\|[^\\n]*\\|\\s*ok\\s*\\|`).test(tail)) throw new Error(`no "ok" matrix row for ${b}`);
      }
    });

    await step('missing-server-offer', ['server-status'], async (d) => {
      // point keras-migrate.interpreter at a fresh venv without keras-migrate: the server restarts,
      // the probe fails, and the user is offered the install (never run here) or another interpreter
      const settingsFile = path.join(FOLDER, '.vscode', 'settings.json');
      const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
      if (!process.env.BARE_PYTHON) throw new Error('BARE_PYTHON (an interpreter without keras-migrate) is not set');
      settings['keras-migrate.interpreter'] = process.env.BARE_PYTHON;
      fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
      const toast = page.locator('.notification-toast', { hasText: 'is not installed' }).first();
      await toast.waitFor({ timeout: 30000 });
      d.toast = norm(await toast.innerText());
      d.buttons = (await toast.locator('.monaco-button').allInnerTexts()).map(norm);
      if (!d.buttons.some((b) => /Install keras-migrate into this environment/.test(b))) throw new Error('no install offer');
      if (!d.buttons.some((b) => /Choose interpreter/.test(b))) throw new Error('no "Choose interpreter" offer');
      const item = page.locator('.statusbar-item', { hasText: 'Keras Migrate' }).first();
      d.statusError = (await item.locator('.codicon-error').count()) > 0;
      if (!d.statusError) throw new Error('the status bar does not show the error state');
      d.toastScreenshot = `${String(shotNo + 1).padStart(2, '0')}-missing-server-offer-toast.png`;
      await page.screenshot({ path: path.join(OUT, d.toastScreenshot) });
      await toast.locator('.monaco-button', { hasText: 'Choose interpreter' }).click();
      await page.locator('.settings-editor').first().waitFor({ timeout: 15000 });
      d.settingsEditor = true;
    });

    await step('install-offer-accepted', ['missing-server-offer'], async (d) => {
      // an environment with pip but without keras-migrate: accept the offer. The extension runs
      // `<py> -m pip install <its bundled wheel>` as a visible task (pygls & co. come from pip's
      // index/cache as in any install), then restarts the server, which must come up from there.
      if (!process.env.INSTALL_PYTHON) throw new Error('INSTALL_PYTHON (a venv with pip, without keras-migrate) is not set');
      fs.writeFileSync(path.join(FOLDER, 'after_install.py'), 'import tensorflow as tf\n\nmodel = tf.keras.Sequential()\n');
      const settingsFile = path.join(FOLDER, '.vscode', 'settings.json');
      const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
      settings['keras-migrate.interpreter'] = process.env.INSTALL_PYTHON;
      fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
      const toast = page.locator('.notification-toast', { hasText: 'is not installed' }).first();
      await toast.waitFor({ timeout: 30000 });
      await toast.locator('.monaco-button', { hasText: 'Install keras-migrate into this environment' }).click();
      const item = page.locator('.statusbar-item', { hasText: 'Keras Migrate' }).first();
      const s0 = Date.now();
      await waitFor(async () => (await item.locator('.codicon-check').count()) > 0, 300000,
        'the server to start from the environment it was installed into');
      d.installSeconds = Math.round((Date.now() - s0) / 1000);
      const log = channelLog('Keras Migrate');
      const installing = log.split('\n').filter((l) => /installing: /.test(l)).pop() || '';
      d.installCommand = installing.slice(installing.indexOf('installing: '));
      if (!installing.includes(process.env.INSTALL_PYTHON)) throw new Error(`no install into INSTALL_PYTHON logged: ${installing}`);
      if (!/-m pip install \S*python\/keras_migrate-[0-9.]+-py3-none-any\.whl/.test(installing)) {
        throw new Error(`the offer did not install the bundled wheel: ${installing}`);
      }
      if (!/pip install finished with exit code 0/.test(log)) throw new Error('pip install did not finish with exit code 0');
      d.logTail = log.split('\n').slice(-12).join('\n');
      // earlier steps fixed legacy.py: the Keras 2 file written at the start of this step shows
      // the installed server at work (quick open finds a new file once the watcher saw it)
      await waitFor(async () => {
        try {
          await quickOpen('after_install.py');
          return true;
        } catch (e) {
          await page.keyboard.press('Escape');
          return false;
        }
      }, 90000, 'quick open to find after_install.py');
      await showProblems();
      await page.locator('.markers-panel .monaco-tl-row', { hasText: 'K102' }).first().waitFor({ timeout: 60000 });
      d.problemsAfterInstall = await problemRows();
    });

  }

  results.finished = new Date().toISOString();
  results.ok = results.steps.every((s) => s.ok);
  save();
  await browser.close();
}

main().catch((e) => {
  console.error('DRIVER FAILED:', e && e.stack ? e.stack : e);
  results.driverError = String(e && e.message ? e.message : e);
  results.ok = false;
  save();
  process.exit(1);
});
