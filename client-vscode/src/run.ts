// "Run File on Backend...", "Compare Backends", the one-click rerun and "Debug File on
// Backend...". A run is a VS Code task whose ProcessExecution is the runner CLI
// (`<server python> -I <launcher> run FILE --backend B [--gpu N|--cpu] --python P --json R`):
// the program gets a real terminal, so colours, `\r` progress bars, `input()` and Ctrl-C work
// as in any shell. The CLI writes its results to R; from them come the matrix, the toast and
// the "keras-migrate run" diagnostics on the failing line (a notebook's: on its cell).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { runInterpreter, SECTION } from './config';
import { DEBUG_BACKENDS, DebugBackend, debugConfiguration } from './debugConfig';
import {
  backendPicks,
  choiceLabel,
  Device,
  deviceArgs,
  deviceLabel,
  DeviceList,
  devicePicks,
  parseDeviceList,
  parseRunChoice,
  Pick,
  RunBackend,
  RunChoice,
} from './devices';
import { launch } from './interpreter';
import { showMarkdown } from './markdown';
import { allPassed, parseRunResponse, RunResult, summarize } from './runMatrix';
import { ServerManager, ServerPool } from './server';

const LAST_CHOICE_KEY = 'keras-migrate.lastRun';
const DEBUGPY = 'ms-python.debugpy';

type Mode = 'pick' | 'compare' | 'rerun';

interface Target {
  uri: vscode.Uri;
  notebook?: vscode.NotebookDocument;
  doc?: vscode.TextDocument;
}

interface ErrorLocation {
  path: string;
  line: number;
  message: string;
  cell?: number;
  cellLine?: number;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class RunController implements vscode.Disposable {
  readonly output: vscode.OutputChannel = vscode.window.createOutputChannel('Keras Migrate Run');
  private readonly item = vscode.window.createStatusBarItem('keras-migrate.run', vscode.StatusBarAlignment.Left, 49);
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('keras-migrate run');
  private active: { execution?: vscode.TaskExecution; label: string } | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly servers: ServerPool,
  ) {
    this.item.name = 'Keras Migrate: rerun';
    this.item.command = 'keras-migrate.rerun';
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.updateItem()),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.updateItem()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.updateItem()),
      // an edit on a failing line drops its run diagnostic (the line no longer is what ran)
      vscode.workspace.onDidChangeTextDocument((e) => this.dropEdited(e)),
    );
    this.updateItem();
  }

  private get last(): RunChoice | undefined {
    const raw = this.ctx.workspaceState.get<Record<string, unknown>>(LAST_CHOICE_KEY);
    const c = parseRunChoice(raw);
    return c ? { ...c, smoke: raw?.smoke === true } : undefined;
  }

  private target(): Target | undefined {
    const nb = vscode.window.activeNotebookEditor?.notebook;
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.scheme !== 'vscode-notebook-cell' && editor.document.languageId === 'python') {
      return { uri: editor.document.uri, doc: editor.document };
    }
    if (nb && nb.notebookType === 'jupyter-notebook') return { uri: nb.uri, notebook: nb };
    return undefined;
  }

  private updateItem() {
    const last = this.last;
    if (!last || !vscode.workspace.isTrusted || !this.target()) {
      this.item.hide();
      return;
    }
    this.item.text = this.active ? `$(sync~spin) ${choiceLabel(last)}` : `$(play) ${choiceLabel(last)}`;
    this.item.tooltip = this.active
      ? `Keras Migrate: ${this.active.label} is running in the terminal (Ctrl+C there stops it)`
      : `Keras Migrate: run the current file again on ${choiceLabel(last)}${last.smoke ? ' (smoke run)' : ''}`;
    this.item.show();
  }

  private async quickPick<T>(picks: Pick<T>[], title: string, placeHolder: string): Promise<T | undefined> {
    const chosen = await vscode.window.showQuickPick(
      picks.map((p) => ({ label: p.label, description: p.description, detail: p.detail, value: p.value })),
      { title, placeHolder, ignoreFocusOut: true },
    );
    return chosen?.value;
  }

  /** `keras-migrate.runInterpreter`, else the server's interpreter. */
  private runInterpreter(uri: vscode.Uri, server: ServerManager): string | undefined {
    const folder = vscode.workspace.getWorkspaceFolder(uri) ?? vscode.workspace.workspaceFolders?.[0];
    const cfg = vscode.workspace.getConfiguration(SECTION, uri);
    const chosen = runInterpreter(cfg.get('runInterpreter'), {
      trusted: vscode.workspace.isTrusted,
      workspaceFolder: folder?.uri.fsPath,
      home: os.homedir(),
    });
    return (typeof chosen === 'string' && chosen) || server.interpreter?.path;
  }

  private async refuseUntrusted(): Promise<boolean> {
    if (vscode.workspace.isTrusted) return false;
    const TRUST = 'Manage Workspace Trust';
    const pick = await vscode.window.showErrorMessage(
      'Keras Migrate: running files is disabled in an untrusted workspace, because it executes the code. ' +
        'Trust the workspace to run it.',
      TRUST,
    );
    if (pick === TRUST) await vscode.commands.executeCommand('workbench.trust.manage');
    return true;
  }

  private async listDevices(server: ServerManager): Promise<DeviceList> {
    try {
      return parseDeviceList(await server.executeCommand('keras-migrate.listDevices', []));
    } catch (e) {
      return { gpus: [], error: `could not list GPUs: ${errText(e)}` };
    }
  }

  private async pickDevice(server: ServerManager, title: string, name: string, last?: Device): Promise<{ device: Device; list: DeviceList } | undefined> {
    const list = await this.listDevices(server);
    const device = await this.quickPick(devicePicks(list, last), title, `Device to run ${name} on`);
    return device ? { device, list } : undefined;
  }

  /** Saves the file or notebook; false when it cannot run from disk. */
  private async saved(t: Target): Promise<boolean> {
    if (t.uri.scheme !== 'file') {
      void vscode.window.showErrorMessage('Keras Migrate: save the file first: a run starts the file from disk.');
      return false;
    }
    const dirty = t.doc?.isDirty ?? t.notebook?.isDirty ?? false;
    if (!dirty) return true;
    const ok = t.doc ? await t.doc.save() : await t.notebook!.save();
    if (!ok) void vscode.window.showErrorMessage('Keras Migrate: the file could not be saved, so it was not run.');
    return ok;
  }

  async run(mode: Mode): Promise<void> {
    if (await this.refuseUntrusted()) return;
    if (this.active) {
      const SHOW = 'Show Terminal';
      const pick = await vscode.window.showWarningMessage(
        `Keras Migrate: ${this.active.label} is still running; stop it with Ctrl+C in its terminal first.`,
        SHOW,
      );
      if (pick === SHOW) this.active.execution?.task && vscode.commands.executeCommand('workbench.action.terminal.focus');
      return;
    }
    const t = this.target();
    if (!t) {
      void vscode.window.showErrorMessage('Keras Migrate: open a Python file or a Jupyter notebook to run it on a backend.');
      return;
    }
    const server = this.servers.forUri(t.uri);
    if (!server || server.state !== 'running' || !server.interpreter) {
      void vscode.window.showErrorMessage(
        `Keras Migrate: the server is not running (${server?.state ?? 'stopped'}${server?.stateDetail ? `: ${server.stateDetail}` : ''}); ` +
          'runs start from its interpreter. See the "Keras Migrate" output.',
      );
      return;
    }
    const last = this.last;
    const name = path.basename(t.uri.fsPath) || t.uri.toString();
    let choice: RunChoice;
    if (mode === 'rerun' && last) {
      choice = last;
    } else {
      const backend: RunBackend | undefined =
        mode === 'compare'
          ? 'all'
          : await this.quickPick(backendPicks(last?.backend), 'Keras Migrate: Run File on Backend (1/2)', `Backend to run ${name} on`);
      if (!backend) return;
      const picked = await this.pickDevice(
        server,
        `Keras Migrate: Run File on Backend (2/2): ${backend === 'all' ? 'all backends' : backend}`,
        name,
        last?.device,
      );
      if (!picked) return;
      const smoke = vscode.workspace.getConfiguration(SECTION, t.uri).get<boolean>('run.smoke') === true;
      choice = { backend, device: picked.device, smoke };
    }
    await this.ctx.workspaceState.update(LAST_CHOICE_KEY, choice);
    if (!(await this.saved(t))) return;
    await this.runInTerminal(t, server, choice, name);
  }

  private async runInTerminal(t: Target, server: ServerManager, choice: RunChoice, name: string): Promise<void> {
    const folder = vscode.workspace.getWorkspaceFolder(t.uri);
    const python = this.runInterpreter(t.uri, server);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-migrate-run-'));
    const resultFile = path.join(dir, 'result.json');
    const args = ['run', t.uri.fsPath, '--backend', choice.backend, ...deviceArgs(choice.device), '--json', resultFile];
    if (python) args.push('--python', python);
    if (choice.smoke) args.push('--smoke');
    const l = launch(server.strategy, server.interpreter!.path, this.ctx.extensionPath, args);
    const label = `${name} on ${choiceLabel(choice)}${choice.smoke ? ' (smoke)' : ''}`;
    // the program's working directory: its workspace folder, as the Python extension's Run
    // does (the runner itself runs isolated: -I keeps that folder off its sys.path)
    const cwd = folder?.uri.fsPath ?? path.dirname(t.uri.fsPath);
    const task = new vscode.Task(
      { type: SECTION, action: 'run', file: t.uri.fsPath, backend: choice.backend },
      folder ?? vscode.TaskScope.Workspace,
      label,
      'Keras Migrate',
      new vscode.ProcessExecution(l.command, l.args, { cwd }),
    );
    task.presentationOptions = {
      reveal: vscode.TaskRevealKind.Always,
      focus: true,
      panel: vscode.TaskPanelKind.Dedicated,
      clear: true,
      showReuseMessage: false,
    };
    this.output.appendLine(`[keras-migrate] running ${t.uri.fsPath} on ${choiceLabel(choice)} (${new Date().toLocaleTimeString()}) in the terminal`);
    this.output.appendLine(`[keras-migrate] ${[l.command, ...l.args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
    this.active = { label };
    this.updateItem();
    let exitCode: number | undefined;
    try {
      const ended = new Promise<number | undefined>((resolve) => {
        const sub = vscode.tasks.onDidEndTaskProcess((e) => {
          if (e.execution.task.definition.file !== t.uri.fsPath || e.execution.task.name !== label) return;
          sub.dispose();
          resolve(e.exitCode);
        });
      });
      this.active.execution = await vscode.tasks.executeTask(task);
      exitCode = await ended;
    } catch (e) {
      this.active = undefined;
      this.updateItem();
      this.output.appendLine(`[keras-migrate] run failed: ${errText(e)}`);
      void vscode.window.showErrorMessage(`Keras Migrate: the run could not start: ${errText(e)}`);
      return;
    }
    this.active = undefined;
    this.updateItem();
    let raw: Record<string, unknown> | undefined;
    try {
      raw = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as Record<string, unknown>;
    } catch {
      raw = undefined;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await this.finish(t, choice, name, exitCode, raw);
  }

  private async finish(t: Target, choice: RunChoice, name: string, exitCode: number | undefined, raw: Record<string, unknown> | undefined) {
    if (!raw) {
      this.output.appendLine(`[keras-migrate] run failed: the runner exited with ${exitCode ?? 'no exit code'} and wrote no results; see the terminal`);
      void vscode.window.showErrorMessage(`Keras Migrate: the run of ${name} ended (exit ${exitCode ?? '?'}) without results; see its terminal.`);
      return;
    }
    const res = parseRunResponse(raw);
    const cancelled = res.results.some((r) => r.status === 'cancelled');
    const problems = Array.isArray(raw.problems) ? raw.problems.map(String) : [];
    for (const p of problems) this.output.appendLine(`[keras-migrate] problem: ${p}`);
    const nb = raw.notebook as { summary?: unknown } | undefined;
    if (nb && typeof nb.summary === 'string') this.output.appendLine(`[keras-migrate] notebook: ${nb.summary}`);
    this.output.appendLine(`[keras-migrate] ${cancelled ? 'cancelled' : 'finished'}: ${summarize(res.results)}`);
    this.output.appendLine(res.matrixMarkdown.trimEnd());
    this.setDiagnostics(t, raw);
    const MATRIX = 'Show Matrix';
    const TERMINAL = 'Show Terminal';
    const showMatrix = async () =>
      showMarkdown(this.ctx, 'Keras Backend Matrix.md', `# ${name} on ${choiceLabel(choice)}\n\n${res.matrixMarkdown}`);
    if (choice.backend === 'all' && !cancelled) await showMatrix();
    const message = `Keras Migrate: ${cancelled ? 'cancelled — ' : ''}${summarize(res.results)}`;
    const pick =
      allPassed(res.results) && !cancelled
        ? await vscode.window.showInformationMessage(message, MATRIX)
        : await vscode.window.showErrorMessage(message, MATRIX, TERMINAL);
    if (pick === MATRIX) await showMatrix();
    else if (pick === TERMINAL) await vscode.commands.executeCommand('workbench.action.terminal.focus');
  }

  /** One diagnostic per failing line (backends failing alike share it), in the file or its notebook cell. */
  private setDiagnostics(t: Target, raw: Record<string, unknown>) {
    const results = Array.isArray(raw.results) ? (raw.results as Record<string, unknown>[]) : [];
    const ran = results.some((r) => r && r.notRun == null && r.cancelled !== true);
    if (!ran) return;
    // this run replaces what the last run of the same file left
    const owned = this.owned.get(t.uri.toString()) ?? [];
    for (const u of owned) this.diagnostics.delete(vscode.Uri.parse(u));
    const grouped = new Map<string, { uri: vscode.Uri; line: number; message: string; backends: string[] }>();
    for (const r of results) {
      const loc = r?.errorLocation as ErrorLocation | null | undefined;
      if (!loc || typeof loc.line !== 'number' || typeof loc.path !== 'string') continue;
      let uri = vscode.Uri.file(loc.path);
      let line = loc.line - 1;
      if (t.notebook && typeof loc.cell === 'number' && path.resolve(loc.path) === path.resolve(t.uri.fsPath)) {
        const cell = t.notebook.cellAt(loc.cell);
        if (!cell) continue;
        uri = cell.document.uri;
        line = (loc.cellLine ?? 1) - 1;
      }
      const backend = String(r.backend ?? '?');
      let message = String(loc.message ?? '');
      if (message.startsWith(`${backend}: `)) message = message.slice(backend.length + 2);
      const key = `${uri.toString()}#${line}#${message.split('\n')[0]}`;
      const g = grouped.get(key) ?? { uri, line, message, backends: [] };
      g.backends.push(backend);
      grouped.set(key, g);
    }
    const byUri = new Map<string, vscode.Diagnostic[]>();
    for (const g of grouped.values()) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === g.uri.toString());
      const text = doc && g.line < doc.lineCount ? doc.lineAt(g.line).text : '';
      const start = text.length - text.trimStart().length;
      const d = new vscode.Diagnostic(
        new vscode.Range(g.line, start, g.line, Math.max(text.length, start + 1)),
        `${g.backends.join(', ')}: ${g.message}`,
        vscode.DiagnosticSeverity.Error,
      );
      d.source = 'keras-migrate run';
      const list = byUri.get(g.uri.toString()) ?? [];
      list.push(d);
      byUri.set(g.uri.toString(), list);
    }
    for (const [u, list] of byUri) this.diagnostics.set(vscode.Uri.parse(u), list);
    this.owned.set(t.uri.toString(), [...byUri.keys()]);
  }

  private readonly owned = new Map<string, string[]>();

  private dropEdited(e: vscode.TextDocumentChangeEvent) {
    const have = this.diagnostics.get(e.document.uri);
    if (!have || !have.length || !e.contentChanges.length) return;
    const kept = have.filter((d) => !e.contentChanges.some((c) => c.range.start.line <= d.range.end.line && d.range.start.line <= c.range.end.line));
    if (kept.length !== have.length) this.diagnostics.set(e.document.uri, kept);
  }

  /** "Debug File on Backend...": the Python debugger with the run's environment. */
  async debug(): Promise<void> {
    if (await this.refuseUntrusted()) return;
    const t = this.target();
    if (!t || !t.doc) {
      void vscode.window.showErrorMessage('Keras Migrate: open a Python file (.py) to debug it on a backend (notebooks: use the notebook debugger).');
      return;
    }
    const server = this.servers.forUri(t.uri);
    if (!server || server.state !== 'running') {
      void vscode.window.showErrorMessage('Keras Migrate: the server is not running; see the "Keras Migrate" output.');
      return;
    }
    const name = path.basename(t.uri.fsPath);
    const last = this.last;
    const backend = await this.quickPick(
      backendPicks(last?.backend && last.backend !== 'all' ? last.backend : undefined).filter((p): p is Pick<DebugBackend> =>
        (DEBUG_BACKENDS as readonly string[]).includes(p.value),
      ),
      'Keras Migrate: Debug File on Backend (1/2)',
      `Backend to debug ${name} on`,
    );
    if (!backend) return;
    const picked = await this.pickDevice(server, `Keras Migrate: Debug File on Backend (2/2): ${backend}`, name, last?.device);
    if (!picked) return;
    if (!(await this.saved(t))) return;
    const folder = vscode.workspace.getWorkspaceFolder(t.uri);
    const config = debugConfiguration({
      file: t.uri.fsPath,
      backend,
      device: picked.device,
      python: this.runInterpreter(t.uri, server),
      cwd: folder?.uri.fsPath,
      inheritedCudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES,
      leastUsedGpu: picked.list.leastUsed,
    });
    this.output.appendLine(`[keras-migrate] debug configuration: ${JSON.stringify(config)}`);
    if (!vscode.extensions.getExtension(DEBUGPY)) {
      const INSTALL = 'Show Python Debugger Extension';
      const COPY = 'Copy Launch Configuration';
      const pick = await vscode.window.showErrorMessage(
        `Keras Migrate: debugging needs the Python Debugger extension (${DEBUGPY}), which is not installed. ` +
          `Install it, or copy the launch configuration (KERAS_BACKEND=${backend}, ${deviceLabel(picked.device)}) into launch.json.`,
        INSTALL,
        COPY,
      );
      if (pick === INSTALL) await vscode.commands.executeCommand('workbench.extensions.search', DEBUGPY);
      else if (pick === COPY) await vscode.env.clipboard.writeText(JSON.stringify(config, null, 2));
      return;
    }
    const ok = await vscode.debug.startDebugging(folder, config as unknown as vscode.DebugConfiguration);
    if (!ok) void vscode.window.showErrorMessage('Keras Migrate: the debugger did not start; see the Debug Console.');
  }

  dispose() {
    this.output.dispose();
    this.item.dispose();
    this.diagnostics.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

export type { RunResult };
