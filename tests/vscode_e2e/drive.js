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
const results = { started: new Date().toISOString(), folder: FOLDER, out: path.resolve(OUT), mode: MODE, steps: [] };
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
    const no = String(++shotNo).padStart(2, '0');
    // what the screenshot must show (a step sets rec.detail.mustShow = {what: selector}): each
    // must be visible on the page when it is taken, and gets a crop of its own that the test checks
    const must = rec.detail.mustShow || {};
    delete rec.detail.mustShow;
    rec.shown = {};
    const VIEW = { width: 1400, height: 900 };
    for (const [what, selector] of Object.entries(must)) {
      // the first match that lies in the page's view (hidden notebooks' editors sit far off it)
      let loc = null;
      let box = null;
      const all = page.locator(selector);
      for (let i = 0, n = await all.count().catch(() => 0); i < n && !box; i++) {
        const b = (await all.nth(i).isVisible().catch(() => false)) ? await all.nth(i).boundingBox().catch(() => null) : null;
        if (b && b.width > 0 && b.height > 0 && b.x >= 0 && b.y >= 0 && b.x + 1 < VIEW.width && b.y + 1 < VIEW.height) {
          loc = all.nth(i);
          box = { x: b.x, y: b.y, width: Math.min(b.width, VIEW.width - b.x), height: Math.min(b.height, VIEW.height - b.y) };
        }
      }
      const visible = !!box;
      const crop = `${SHOT_PREFIX}${no}-${name}-${what}.png`;
      if (visible && box && box.width > 0 && box.height > 0) {
        const taken = await page.screenshot({ path: path.join(OUT, crop), clip: box }).then(() => true).catch(() => false);
        rec.shown[what] = { selector, crop: taken ? crop : null, box, text: norm(await loc.innerText().catch(() => '')).slice(0, 600) };
        if (!taken && rec.ok) {
          rec.ok = false;
          rec.error = `the crop of ${what} could not be taken`;
          failed.add(name);
        }
      } else {
        rec.shown[what] = { selector, crop: null };
        if (rec.ok) {
          rec.ok = false;
          rec.error = `the screenshot does not show ${what} (${selector})`;
          failed.add(name);
        }
      }
    }
    const shot = `${SHOT_PREFIX}${no}-${name}${rec.ok ? '' : '-FAILED'}.png`;
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

  // the language status item (shown for Python files and notebooks only): its aria-label
  // carries every language status entry of the active editor, ours "$(check) Keras Migrate: ..."
  const LANG_STATUS = '#status\\.languageStatus';
  async function languageStatus() {
    const ls = page.locator(LANG_STATUS);
    if (!(await ls.isVisible().catch(() => false))) return '';
    return norm((await ls.locator('a').first().getAttribute('aria-label').catch(() => '')) || '');
  }
  async function waitServerRunning(timeout, what) {
    return waitFor(async () => {
      const t = await languageStatus();
      return /\$\(check\) Keras Migrate/.test(t) ? t : null;
    }, timeout, what || 'the language status item to show a running server');
  }
  async function openLanguageStatus() {
    await page.mouse.move(5, 5);
    await page.keyboard.press('Escape');
    await page.locator(LANG_STATUS).locator('a').first().click();
    const hover = page.locator('.hover-language-status', { hasText: 'Keras Migrate' }).first();
    await hover.waitFor({ timeout: 10000 });
    return hover;
  }

  // the terminal a run's task uses (terminal.integrated.gpuAcceleration "off": xterm's DOM
  // renderer, so the visible rows are text); only the rows in view
  const TERMINAL = '.part.panel .xterm:visible';
  async function terminalText() {
    const rows = page.locator('.part.panel .xterm-rows:visible');
    return norm((await rows.allInnerTexts().catch(() => [])).join('\n'));
  }
  async function terminalTabs() {
    return (await page.locator('.part.panel .single-terminal-tab, .part.panel .terminal-tabs-entry').allInnerTexts().catch(() => []))
      .map((t) => norm(t).trim());
  }
  async function waitTerminal(re, timeout, what) {
    return waitFor(async () => {
      const t = await terminalText();
      return re.test(t) ? t : null;
    }, timeout, what);
  }
  const lastRunLine = (t) => (t.match(/\[keras-migrate\] running .*/g) || []).pop() || '';
  /** The Keras Migrate Run output after a new "running" line (not `before`) once the run ended. */
  async function waitRunEnd(before, timeout, what) {
    return waitFor(async () => {
      const t = channelLog('Keras Migrate Run');
      const last = lastRunLine(t);
      if (!last || last === before) return null;
      const tail = t.slice(t.lastIndexOf(last));
      return /\[keras-migrate\] (finished|cancelled)|run failed/.test(tail) ? tail : null;
    }, timeout, what);
  }
  async function rerunItem() {
    const item = page.locator('.statusbar-item', { hasText: 'jax · CPU' }).first();
    await item.waitFor({ timeout: 15000 });
    return item;
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
      d.languageStatus = await waitServerRunning(60000, 'the server to run in Restricted Mode');
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
      d.mustShow = { squiggle: `.part.editor .monaco-editor :is(${SQUIGGLE})` };
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
      if ((await terminalTabs()).some((t) => /run_me\.py on/.test(t))) throw new Error('a run terminal opened');
      d.mustShow = { toast: '.notification-toast:has-text("untrusted workspace")' };
    });
  } else if (MODE === 'offline') {
    // code-server, its extension host and this browser share a network namespace with only
    // the loopback interface (test_vscode_e2e.py starts them under `unshare -n`); the server's
    // interpreter is a venv made with --without-pip that has nothing installed
    await step('offline-no-network', [], async (d) => {
      const net = require('net');
      d.connect = await new Promise((resolve) => {
        const sock = net.connect({ host: '104.16.0.35', port: 443, timeout: 5000 }); // registry.npmjs.org
        sock.on('connect', () => { sock.destroy(); resolve('connected'); });
        sock.on('timeout', () => { sock.destroy(); resolve('timeout'); });
        sock.on('error', (e) => resolve(e.code || String(e)));
      });
      const ifaces = Object.keys(require('os').networkInterfaces());
      d.interfaces = ifaces;
      if (d.connect === 'connected') throw new Error('the network is reachable: this is not an offline session');
      if (ifaces.some((i) => i !== 'lo')) throw new Error(`interfaces other than lo: ${ifaces}`);
    });

    await step('offline-workbench', ['offline-no-network'], async (d) => {
      await page.goto(`${CS_URL}/?folder=${encodeURIComponent(FOLDER)}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('.monaco-workbench .explorer-folders-view .monaco-list-row', { timeout: 90000 });
      d.explorer = await page.locator('.explorer-folders-view .monaco-list-row').allInnerTexts();
    });

    await step('offline-diagnostics', ['offline-workbench'], async (d) => {
      const bare = process.env.BARE_PYTHON;
      await quickOpen('legacy.py');
      d.languageStatus = await waitServerRunning(90000, 'the bundled server to run from the bare venv');
      await page.waitForSelector(`.part.editor .monaco-editor :is(${SQUIGGLE})`, { timeout: 60000 });
      await showProblems();
      await page.locator('.markers-panel .monaco-tl-row', { hasText: 'K10' }).first().waitFor({ timeout: 30000 });
      d.problems = await problemRows();
      const log = channelLog('Keras Migrate');
      d.log = log.split('\n').filter((l) => /\[client/.test(l)).slice(0, 8);
      if (!log.includes(`runs on ${bare}`) || !/\(bundled\) runs on/.test(log)) {
        throw new Error(`the bundled server did not run on ${bare}`);
      }
      const envName = `(${path.basename(path.dirname(path.dirname(bare)))})`; // the venv's folder name
      if (!d.languageStatus.includes('bundled server') || !d.languageStatus.includes(envName)) {
        throw new Error(`the language status does not say bundled server on ${envName}: ${d.languageStatus}`);
      }
      if (/is not installed|pip install/.test(await toasts())) throw new Error('an install offer appeared');
      await openLanguageStatus();
      d.mustShow = { squiggle: `.part.editor .monaco-editor :is(${SQUIGGLE})`, languageStatus: '.hover-language-status' };
    });

    await step('offline-run-inherited-device', ['offline-diagnostics'], async (d) => {
      // code-server started with CUDA_VISIBLE_DEVICES=1: "Auto" keeps it (shown in the picker)
      await quickOpen('run_me.py');
      await runCommand('Keras Migrate: Run File on Backend...');
      await pickQuick('(1/2)', 'jax');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: '(2/2)' }).waitFor({ timeout: 30000 });
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'CPU' }).first().waitFor({ timeout: 30000 });
      d.devicePicks = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts()).map(norm);
      if (!/^Auto: CUDA_VISIBLE_DEVICES=1/.test(d.devicePicks[0])) throw new Error(`Auto does not show the inherited CUDA_VISIBLE_DEVICES=1: ${d.devicePicks[0]}`);
      const pickShot = `${SHOT_PREFIX}offline-device-picker.png`;
      await page.screenshot({ path: path.join(OUT, pickShot) });
      d.pickerScreenshot = pickShot;
      await pickQuick('(2/2)', 'Auto');
      const term = await waitTerminal(/<== jax: \w+/, RUN_TIMEOUT_MS, 'the run to end in the terminal');
      d.terminal = term.slice(-2000);
      if (!/RUN_ME_OK/.test(term)) throw new Error('RUN_ME_OK is not in the terminal');
      if (!/<== jax: ok/.test(term)) throw new Error('the run did not end ok');
      const out = await waitRunEnd('', 30000, 'the run result in the Keras Migrate Run output');
      d.output = out.slice(-1500);
      d.mustShow = { terminal: TERMINAL };
    });
  } else {
    await step('workbench', [], async (d) => {
      await page.goto(`${CS_URL}/?folder=${encodeURIComponent(FOLDER)}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('.monaco-workbench .explorer-folders-view .monaco-list-row', { timeout: 90000 });
      d.explorer = await page.locator('.explorer-folders-view .monaco-list-row').allInnerTexts();
    });

    await step('language-status', ['workbench'], async (d) => {
      await quickOpen('legacy.py'); // activation: onLanguage:python
      d.text = await waitServerRunning(90000);
      if (!/Keras Migrate: [^,]*(tensorflow|jax|torch)/.test(d.text)) throw new Error(`no target backend: ${d.text}`);
      if (!/running · bundled server \d\S* · Python 3\.\d+\.\d+ \(\.venv\)/.test(d.text)) throw new Error(`does not say the bundled server runs on .venv: ${d.text}`);
      // there is no permanent status bar item any more
      const plain = await page.locator('.statusbar-item:not(#status\\.languageStatus)', { hasText: 'Keras Migrate' }).count();
      if (plain) throw new Error('a plain "Keras Migrate" status bar item is still shown');
      // its "Show Output" link opens the server's log
      let hover = await openLanguageStatus();
      await hover.locator('a.monaco-link', { hasText: 'Show Output' }).click();
      await page.locator('.part.panel .monaco-editor .view-line').first().waitFor({ timeout: 10000 });
      d.outputChannel = norm(await page.locator('.part.panel').innerText().catch(() => '')).slice(0, 1500);
      if (!/keras-migrate .* \(bundled\) runs on/.test(d.outputChannel + channelLog('Keras Migrate'))) {
        throw new Error('the output does not say the bundled server runs');
      }
      // not on other editors: a JSON file
      await quickOpen('settings.json');
      await page.waitForTimeout(1000);
      d.onJson = await languageStatus();
      if (/Keras Migrate/.test(d.onJson)) throw new Error(`the Keras Migrate status shows on a JSON file: ${d.onJson}`);
      await quickOpen('legacy.py');
      await waitServerRunning(15000);
      hover = await openLanguageStatus();
      d.hover = norm(await hover.innerText());
      d.mustShow = { languageStatus: '.hover-language-status' };
    });

    await step('diagnostics', ['language-status'], async (d) => {
      await quickOpen('legacy.py');
      await page.waitForSelector(`.part.editor .monaco-editor ${SQUIGGLE.split(', ').join(', .part.editor .monaco-editor ')}`, { timeout: 60000 });
      d.squiggles = await page.locator(`.part.editor .monaco-editor :is(${SQUIGGLE})`).count();
      await showProblems();
      await page.locator('.markers-panel .monaco-tl-row', { hasText: 'keras-migrate' }).first().waitFor({ timeout: 30000 });
      await page.waitForTimeout(300);
      d.problems = await problemRows();
      d.text = await editorText();
      if (!d.problems.some((r) => /K10\d/.test(r))) throw new Error(`no K1xx finding in Problems: ${d.problems}`);
      d.mustShow = { squiggle: `.part.editor .monaco-editor :is(${SQUIGGLE})`, problems: '.markers-panel' };
    });

    await step('hover', ['diagnostics'], async (d) => {
      // what/why/fix in a few lines and a link to the rule; the message is the marker's own
      await quickOpen('legacy.py');
      const sq = page.locator(`.part.editor .editor-group-container.active .monaco-editor :is(${SQUIGGLE})`).first();
      await sq.waitFor({ timeout: 30000 });
      const bb = await sq.boundingBox();
      const hover = page.locator('.monaco-hover:visible', { hasText: 'What:' }).first();
      // the hover shows ~300 ms after the mouse stops: move once, then wait (a move restarts it)
      let shown = false;
      for (let i = 0; i < 4 && !shown; i++) {
        await page.mouse.move(5, 5);
        await page.waitForTimeout(300);
        await page.mouse.move(bb.x + Math.min(12, bb.width / 2), bb.y + bb.height / 2);
        shown = await hover.waitFor({ state: 'visible', timeout: 5000 }).then(() => true).catch(() => false);
      }
      if (!shown) throw new Error('no hover with the rule (What:) over the squiggle');
      const text = norm(await hover.innerText());
      d.hover = text;
      const marker = norm(await hover.locator('.marker').first().innerText().catch(() => ''));
      d.marker = marker;
      const ours = norm(await hover.locator('.rendered-markdown').allInnerTexts().then((a) => a.join('\n')).catch(() => ''));
      d.ruleText = ours;
      d.ruleChars = ours.length;
      if (!/\bK1\d\d\b/.test(ours)) throw new Error(`the hover does not name the rule: ${ours}`);
      for (const w of ['What:', 'Why:']) if (!ours.includes(w)) throw new Error(`the hover has no "${w}" line: ${ours}`);
      if (!/Fix:|Instead:/.test(ours)) throw new Error(`the hover does not say what the fix does: ${ours}`);
      if (!/documentation/.test(ours)) throw new Error(`the hover has no link to the rule: ${ours}`);
      d.links = await hover.locator('a').evaluateAll((els) => els.map((e) => e.getAttribute('data-href') || e.getAttribute('href') || e.textContent));
      if (!d.links.some((h) => /#k1\d\d-/i.test(String(h)))) throw new Error(`no link to the rule's page: ${d.links}`);
      if (ours.length > 900) throw new Error(`the rule hover is ${ours.length} characters (wanted a few lines)`);
      // the diagnostic's message (first line) is shown once, by VS Code, not again by the server
      const msg = marker.split('\n')[0].replace(/\s*keras-migrate.*$/, '').trim();
      if (msg && msg.length > 20 && ours.includes(msg.slice(0, 40))) throw new Error(`the hover repeats the message: ${msg}`);
      d.mustShow = { hover: '.monaco-hover:visible:has-text("What:")' };
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

    await step('fix-all-on-save', ['language-status'], async (d) => {
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

    await step('notebook', ['language-status'], async (d) => {
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

    await step('report', ['language-status'], async (d) => {
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

    await step('notebook-fix-all-on-save', ['notebook'], async (d) => {
      // "notebook.codeActionsOnSave": {"notebook.source.fixAll.keras-migrate": "explicit"}; VS Code
      // asks the notebook's FIRST cell for notebook-level actions, so this notebook starts with
      // its code cell (see client-vscode/README.md for notebooks that start with Markdown)
      await quickOpen('notebook_on_save.ipynb');
      const cellSquiggle = page.locator(`.notebook-editor .cell-editor-container .monaco-editor:visible :is(${SQUIGGLE})`);
      await cellSquiggle.first().waitFor({ timeout: 60000 });
      const cellText = async () => norm((await page.locator('.notebook-editor .cell-editor-container .monaco-editor:visible', { hasText: 'layer' }).first().locator('.view-line').allInnerTexts()).join('\n'));
      d.before = await cellText();
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');
      // keyboard, as a user does: the notebook opens with its first cell (the code cell)
      // selected; Enter edits it (a mouse click lands in the notebook's webview layer, and the
      // hidden notebooks' cell editors stay in the page)
      await page.keyboard.press('Enter');
      await page.waitForTimeout(300);
      await page.keyboard.press('Control+End');
      await page.keyboard.type('\n# saved');
      await page.keyboard.press('Control+S');
      d.after = await waitFor(async () => {
        const t = await cellText();
        return /tf\.keras/.test(t) ? null : t;
      }, 20000, 'notebook.source.fixAll.keras-migrate on save');
      const disk = await waitFor(async () => {
        const t = fs.readFileSync(path.join(FOLDER, 'notebook_on_save.ipynb'), 'utf8');
        return /tf\.keras/.test(t) || !/# saved/.test(t) ? null : t;
      }, 15000, 'the saved notebook to be fixed on disk');
      const nb = JSON.parse(disk);
      d.diskCell = nb.cells[0].source.join('');
      if (!/keras\.layers\.Dense\(4\)/.test(d.diskCell)) throw new Error(`unexpected cell on disk:\n${d.diskCell}`);
      if (nb.cells[1].source.join('') !== '# A Keras 2 notebook, fixed on save') throw new Error('the markdown cell changed');
      d.mustShow = { cell: '.notebook-editor .cell-editor-container .monaco-editor:visible' };
    });

    await step('restart-server', ['language-status'], async (d) => {
      const starts = () => (channelLog('Keras Migrate').match(/\(re\)starting the server/g) || []).length;
      await quickOpen('legacy.py');
      const before = starts();
      await runCommand('Keras Migrate: Restart Server');
      await waitFor(async () => starts() > before, 15000, 'the restart to begin');
      await waitFor(async () => /\$\(check\) Keras Migrate/.test(await languageStatus()) && /server started/.test(channelLog('Keras Migrate').split('(re)starting the server').pop()), 60000, 'the restarted server to run');
      d.log = channelLog('Keras Migrate').split('\n').filter((l) => /\[client/.test(l)).slice(-4);
    });

    await step('run-file', ['language-status'], async (d) => {
      const s0 = Date.now();
      await quickOpen('run_me.py');
      await runCommand('Keras Migrate: Run File on Backend...');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: '(1/2)' }).waitFor({ timeout: 30000 });
      d.backendPicks = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts().catch(() => [])).map(norm);
      await pickQuick('(1/2)', 'jax');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: '(2/2)' }).waitFor({ timeout: 30000 });
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'CPU' }).first().waitFor({ timeout: 30000 });
      d.devicePicks = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts().catch(() => [])).map(norm);
      // the stand-in nvidia-smi (test_vscode_e2e.py, the one thing mocked: no GPU here) reports
      // GPU 0 nearly full and busy, GPU 1 idle: Auto takes the least-used one, GPU 1
      const labels = d.devicePicks.map((t) => t.split('\n')[0]);
      if (!(labels.length === 4 && /^Auto/.test(labels[0]) && /^GPU 0/.test(labels[1]) && /^GPU 1/.test(labels[2]) && /^CPU/.test(labels[3]))) {
        throw new Error(`device picks are not Auto, GPU 0, GPU 1, CPU: ${JSON.stringify(labels)}`);
      }
      if (!/least-used GPU: now GPU 1/.test(d.devicePicks[0])) throw new Error(`Auto does not name GPU 1 as the least used: ${d.devicePicks[0]}`);
      if (!/68\.5 GiB of 79\.6 GiB in use · 96% busy/.test(d.devicePicks[1])) throw new Error(`GPU 0 does not show its memory in use: ${d.devicePicks[1]}`);
      if (!/least used/.test(d.devicePicks[2])) throw new Error(`GPU 1 is not marked least used: ${d.devicePicks[2]}`);
      d.pickerScreenshot = `${String(shotNo + 1).padStart(2, '0')}-run-file-device-picker.png`;
      await page.screenshot({ path: path.join(OUT, d.pickerScreenshot) });
      await pickQuick('(2/2)', 'CPU');
      // the run is a task in a terminal: the program's output is there, the results in the output
      const term = await waitTerminal(/<== jax: \w+/, RUN_TIMEOUT_MS, 'the run to end in the terminal');
      d.terminal = term.slice(-2500);
      d.terminalTabs = await terminalTabs();
      const out = await waitRunEnd('', 30000, 'the results in the Keras Migrate Run output');
      d.finishedMs = Date.now() - s0;
      d.output = out.slice(-3000);
      // the toast follows the output line; on a loaded machine it can come seconds later
      d.toasts = await waitFor(async () => {
        const t = await toasts();
        return /jax on CPU: ok/.test(t) ? t : null;
      }, 30000, 'the result toast').catch(() => toasts());
      if (!/RUN_ME_OK run_me\.py/.test(term)) throw new Error('the program output (RUN_ME_OK) is not in the terminal');
      if (!/==> jax on cpu/.test(term)) throw new Error('the terminal does not show the ==> jax header');
      if (!d.terminalTabs.some((t) => /run_me\.py on jax · CPU/.test(t))) throw new Error(`no "run_me.py on jax · CPU" terminal: ${d.terminalTabs}`);
      if (/run failed/.test(out)) throw new Error(`the run failed: ${out}`);
      if (!/\|\s*jax\s*\|/.test(out)) throw new Error('no result matrix row for jax');
      if (!/jax on CPU: ok/.test(out)) throw new Error('the run did not end ok on jax/CPU');
      if (!/used jax on/.test(out)) throw new Error('the result does not say which backend Keras used');
      if (!/jax on CPU: ok/.test(d.toasts)) throw new Error(`no result toast: ${d.toasts}`);
      d.mustShow = { terminal: TERMINAL, toast: '.notification-toast:has-text("jax on CPU: ok")' };
    });

    await step('run-input', ['run-file'], async (d) => {
      // the program owns the terminal: isatty() is true, \r progress overwrites the line,
      // input() reads what is typed there
      await quickOpen('ask_me.py');
      const item = await rerunItem();
      await page.waitForTimeout(1100);
      const before = lastRunLine(channelLog('Keras Migrate Run'));
      await item.click();
      const term = await waitTerminal(/your name\?/, RUN_TIMEOUT_MS, 'the prompt of input() in the terminal');
      d.prompt = term.slice(-800);
      if (!/TTY True True/.test(term)) throw new Error('the program did not get a terminal (isatty)');
      if (!/^step 3\/3\s*$/m.test(term) || /step 1\/3/.test(term)) throw new Error('the \\r progress line was not overwritten in place');
      await page.locator(TERMINAL).first().click({ timeout: 10000 });
      await page.keyboard.type('abc');
      await page.keyboard.press('Enter');
      const after = await waitTerminal(/HELLO cba/, 30000, 'the answer typed into the terminal to reach input()');
      d.terminal = after.slice(-1500);
      const out = await waitRunEnd(before, 60000, 'the run to end');
      if (!/ask_me\.py/.test(out) || !/jax on CPU: ok/.test(out)) throw new Error(`the run did not end ok: ${out.slice(-600)}`);
      d.mustShow = { terminal: TERMINAL };
    });

    await step('rerun-status-item', ['run-file'], async (d) => {
      await quickOpen('run_me.py');
      const item = await rerunItem();
      d.text = norm(await item.innerText());
      const before = lastRunLine(channelLog('Keras Migrate Run'));
      await page.waitForTimeout(1100); // the header carries the time in seconds
      await item.click();
      const out = await waitRunEnd(before, RUN_TIMEOUT_MS, 'the rerun to finish');
      d.runBefore = before;
      d.output = out.slice(-1500);
      if (!/run_me\.py/.test(out) || !/jax on CPU: ok/.test(out)) throw new Error('the rerun did not end ok on jax/CPU');
      await waitTerminal(/RUN_ME_OK/, 10000, 'the rerun output in the terminal');
      d.mustShow = { rerunItem: '.statusbar-item:has-text("jax · CPU")', terminal: TERMINAL };
    });

    await step('run-failure-diagnostic', ['run-file'], async (d) => {
      // the rerun item runs the ACTIVE file with the last choice (jax, CPU)
      await quickOpen('fail_me.py');
      const item = await rerunItem();
      await page.waitForTimeout(1100);
      await item.click();
      const toast = page.locator('.notification-toast', { hasText: 'deliberate failure' }).first();
      await toast.waitFor({ timeout: RUN_TIMEOUT_MS });
      d.toast = norm(await toast.innerText());
      d.buttons = (await toast.locator('.monaco-button').allInnerTexts()).map(norm);
      if (!d.buttons.includes('Show Terminal')) throw new Error(`no "Show Terminal" on the failure toast: ${d.buttons}`);
      d.terminal = (await terminalText()).slice(-1500);
      if (!/ValueError: deliberate failure/.test(d.terminal)) throw new Error('the traceback is not in the terminal');
      await showProblems();
      const row = page.locator('.markers-panel .monaco-tl-row', { hasText: 'deliberate failure' }).first();
      await row.waitFor({ timeout: 20000 });
      d.problems = (await problemRows()).filter((r) => /deliberate|keras-migrate run/.test(r));
      if (!d.problems.some((r) => /keras-migrate run/.test(r))) throw new Error(`no "keras-migrate run" diagnostic: ${d.problems}`);
      if (!d.problems.some((r) => /Ln 6\b/.test(r))) throw new Error(`the run diagnostic is not at line 6 (the raise): ${d.problems}`);
      const sq = page.locator(`.part.editor .editor-group-container.active .monaco-editor :is(${SQUIGGLE})`);
      d.squiggles = await sq.count();
      d.mustShow = { problem: '.markers-panel .monaco-tl-row:has-text("deliberate failure")', squiggle: `.part.editor .editor-group-container.active .monaco-editor :is(${SQUIGGLE})` };
    });

    await step('notebook-run', ['run-file'], async (d) => {
      // a notebook on a backend: its code cells in order, the magic skipped and said so, the
      // failure marked in its cell
      await quickOpen('run_nb.ipynb');
      await page.locator('.notebook-editor .cell-editor-container .monaco-editor:visible').first().waitFor({ timeout: 30000 });
      const item = await rerunItem();
      await page.waitForTimeout(1100);
      await item.click();
      const toast = page.locator('.notification-toast', { hasText: 'notebook failure' }).first();
      await toast.waitFor({ timeout: RUN_TIMEOUT_MS });
      d.toast = norm(await toast.innerText());
      const out = await waitRunEnd('', 30000, 'the notebook run in the Keras Migrate Run output');
      d.output = out.slice(-1500);
      if (!/running \S*run_nb\.ipynb/.test(out)) throw new Error('the notebook did not run');
      if (!/notebook: .*IPython magics skipped.*%matplotlib inline/.test(out)) throw new Error(`the skipped magic is not reported: ${out.slice(-800)}`);
      await showProblems();
      const row = page.locator('.markers-panel .monaco-tl-row', { hasText: 'notebook failure' }).first();
      await row.waitFor({ timeout: 20000 });
      d.problems = (await problemRows()).filter((r) => /notebook failure|run_nb|Cell/.test(r));
      if (!d.problems.some((r) => /keras-migrate run/.test(r))) throw new Error(`no "keras-migrate run" diagnostic: ${d.problems}`);
      if (!d.problems.some((r) => /Ln 2\b/.test(r))) throw new Error(`the diagnostic is not on line 2 of the failing cell: ${d.problems}`);
      // the run's diagnostic sits in the failing cell (the second code cell), on the raise
      const cellSquiggle = page.locator('.notebook-editor .cell-editor-container .monaco-editor:visible .squiggly-error').first();
      await cellSquiggle.waitFor({ timeout: 10000 });
      d.mustShow = { problem: '.markers-panel .monaco-tl-row:has-text("notebook failure")', cellSquiggle: '.notebook-editor .cell-editor-container .monaco-editor:visible .squiggly-error' };
    });

    await step('cancel-run', ['run-file'], async (d) => {
      // Ctrl-C in the run's terminal, as in a shell
      await quickOpen('sleep_me.py');
      const item = await rerunItem();
      await page.waitForTimeout(1100);
      const before = lastRunLine(channelLog('Keras Migrate Run'));
      const s0 = Date.now();
      await item.click();
      await waitTerminal(/SLEEPING/, 60000, 'sleep_me.py to start printing');
      d.startedMs = Date.now() - s0;
      await page.locator(TERMINAL).first().click({ timeout: 10000 });
      const c0 = Date.now();
      await page.keyboard.press('Control+C');
      const out = await waitRunEnd(before, 30000, 'the run to end after Ctrl-C');
      d.cancelMs = Date.now() - c0;
      d.output = out.slice(-1500);
      d.terminal = (await terminalText()).slice(-1500);
      if (/WOKE UP/.test(out + d.terminal)) throw new Error('the program was not stopped');
      if (!/\[keras-migrate\] cancelled/.test(out)) throw new Error('the run did not end as cancelled');
      if (!/KeyboardInterrupt/.test(d.terminal)) throw new Error('the program did not get a KeyboardInterrupt');
      // no process of the run is left: pgrep exits 1 when nothing matches
      d.processesLeft = await waitFor(async () => {
        try {
          require('child_process').execFileSync('pgrep', ['-f', path.join(FOLDER, 'sleep_me.py')]);
          return null; // still running: wait
        } catch (e) {
          if (e.status === 1) return 'none';
          throw e;
        }
      }, 10000, 'the cancelled process tree to be gone');
      d.mustShow = { terminal: TERMINAL };
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
      const before = lastRunLine(channelLog('Keras Migrate Run'));
      await pickQuick('(2/2)', 'CPU');
      const tail = await waitRunEnd(before, RUN_TIMEOUT_MS * 2, 'the three runs to end');
      await page.locator('.tab', { hasText: 'Keras Backend Matrix' }).first().waitFor({ timeout: 30000 });
      d.finishedMs = Date.now() - s0;
      await page.waitForTimeout(1500); // the preview renders in a webview
      d.output = tail.slice(-3000);
      d.toasts = await toasts();
      if (!/running \S*run_me\.py on all backends/.test(tail)) throw new Error('Compare Backends did not run run_me.py');
      for (const b of ['jax', 'torch', 'tensorflow']) {
        if (!new RegExp(`\\|\\s*${b}\\s*\\|[^\\n]*\\|\\s*ok\\s*\\|`).test(tail)) throw new Error(`no "ok" matrix row for ${b}`);
      }
      d.mustShow = { matrixTab: '.tab:has-text("Keras Backend Matrix")' };
    });

    await step('debug-file', ['run-file'], async (d) => {
      // the Python Debugger extension is not installed in this code-server (no marketplace):
      // the command says so and offers the launch configuration it would start, with the run's env
      await quickOpen('run_me.py');
      await runCommand('Keras Migrate: Debug File on Backend...');
      await pickQuick('(1/2)', 'torch');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: '(2/2)' }).waitFor({ timeout: 30000 });
      await pickQuick('(2/2)', 'GPU 1');
      const toast = page.locator('.notification-toast', { hasText: 'Python Debugger' }).first();
      await toast.waitFor({ timeout: 20000 });
      d.toast = norm(await toast.innerText());
      d.buttons = (await toast.locator('.monaco-button').allInnerTexts()).map(norm);
      if (!d.buttons.includes('Copy Launch Configuration')) throw new Error(`no "Copy Launch Configuration": ${d.buttons}`);
      const line = await waitFor(async () => (channelLog('Keras Migrate Run').match(/debug configuration: (\{.*\})/g) || []).pop(), 10000, 'the debug configuration in the output');
      const cfg = JSON.parse(line.slice(line.indexOf('{')));
      d.config = cfg;
      if (cfg.type !== 'debugpy' || cfg.request !== 'launch' || cfg.program !== path.join(FOLDER, 'run_me.py')) throw new Error(`not a debugpy launch of run_me.py: ${line}`);
      if (cfg.env.KERAS_BACKEND !== 'torch' || cfg.env.CUDA_VISIBLE_DEVICES !== '1') throw new Error(`not torch on GPU 1: ${JSON.stringify(cfg.env)}`);
      if (!/\.venv-keras\/bin\/python$/.test(cfg.python || '')) throw new Error(`not the run interpreter: ${cfg.python}`);
      d.mustShow = { toast: '.notification-toast:has-text("Python Debugger")' };
    });

    await step('bundled-server-any-interpreter', ['language-status'], async (d) => {
      // keras-migrate.interpreter -> a venv made with --without-pip, nothing installed: the
      // bundled server runs on it (no install offer), and diagnostics keep coming
      const bare = process.env.BARE_PYTHON;
      if (!bare) throw new Error('BARE_PYTHON (a venv without pip or keras-migrate) is not set');
      fs.writeFileSync(path.join(FOLDER, 'after_switch.py'), 'import tensorflow as tf\n\nmodel = tf.keras.Sequential()\n');
      const settingsFile = path.join(FOLDER, '.vscode', 'settings.json');
      const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
      settings['keras-migrate.interpreter'] = bare;
      const starts = () => (channelLog('Keras Migrate').match(/\(re\)starting the server/g) || []).length;
      const before = starts();
      fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
      await waitFor(async () => starts() > before, 30000, 'the server to restart for the new interpreter');
      await waitFor(async () => {
        try {
          await quickOpen('after_switch.py');
          return true;
        } catch (e) {
          await page.keyboard.press('Escape');
          return false;
        }
      }, 90000, 'quick open to find after_switch.py');
      d.languageStatus = await waitFor(async () => {
        const t = await languageStatus();
        return /\$\(check\) Keras Migrate/.test(t) && t.includes(`(${path.basename(path.dirname(path.dirname(bare)))})`) ? t : null;
      }, 60000, `the server to run on ${bare}`);
      if (!/bundled server/.test(d.languageStatus)) throw new Error(`not the bundled server: ${d.languageStatus}`);
      const log = channelLog('Keras Migrate');
      d.log = log.split('\n').filter((l) => /\[client/.test(l)).slice(-6);
      if (!log.includes(`(bundled) runs on ${bare}`)) throw new Error('the log does not say the bundled server runs on the bare venv');
      if (/is not installed|Install keras-migrate/.test(await toasts())) throw new Error('an install offer appeared');
      await showProblems();
      await page.locator('.markers-panel .monaco-tl-row', { hasText: 'K102' }).first().waitFor({ timeout: 60000 });
      d.problems = await problemRows();
      await openLanguageStatus();
      d.mustShow = { languageStatus: '.hover-language-status', squiggle: `.part.editor .editor-group-container.active .monaco-editor :is(${SQUIGGLE})` };
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
