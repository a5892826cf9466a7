// "Run File on Backend...", "Compare Backends" and the one-click rerun: pick a backend and a
// device, let the server's `keras-migrate.run` do the work, stream its
// `keras-migrate/runOutput` notifications into the "Keras Migrate Run" output, cancel through
// `keras-migrate.runCancel`, and show the result matrix at the end.

import * as path from 'path';
import * as vscode from 'vscode';
import * as os from 'os';
import { LanguageClient, WorkDoneProgress } from 'vscode-languageclient/node';
import { SECTION, translateSettings } from './config';
import {
  backendPicks,
  choiceLabel,
  Device,
  deviceLabel,
  devicePicks,
  parseDeviceList,
  parseRunChoice,
  Pick,
  RunBackend,
  RunChoice,
} from './devices';
import { allPassed, parseRunResponse, summarize } from './runMatrix';
import { ServerManager } from './server';
import { showMarkdown } from './markdown';

const LAST_CHOICE_KEY = 'keras-migrate.lastRun';

type Mode = 'pick' | 'compare' | 'rerun';

interface ActiveRun {
  runId?: string;
  cancelRequested: boolean;
  lastBackend?: string;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class RunController implements vscode.Disposable {
  private readonly output = vscode.window.createOutputChannel('Keras Migrate Run');
  private readonly item = vscode.window.createStatusBarItem('keras-migrate.run', vscode.StatusBarAlignment.Left, 49);
  private active: ActiveRun | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly server: ServerManager,
  ) {
    this.item.name = 'Keras Migrate: rerun';
    this.item.command = 'keras-migrate.rerun';
    this.disposables.push(
      server.onDidCreateClient((c) => this.attach(c)),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateItem()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.updateItem()),
    );
    this.updateItem();
  }

  private get last(): RunChoice | undefined {
    return parseRunChoice(this.ctx.workspaceState.get(LAST_CHOICE_KEY));
  }

  private updateItem() {
    const last = this.last;
    const editor = vscode.window.activeTextEditor;
    if (!last || !vscode.workspace.isTrusted || !editor || editor.document.languageId !== 'python') {
      this.item.hide();
      return;
    }
    this.item.text = this.active ? `$(sync~spin) ${choiceLabel(last)}` : `$(play) ${choiceLabel(last)}`;
    this.item.tooltip = `Keras Migrate: run the current file again on ${choiceLabel(last)}`;
    this.item.show();
  }

  private attach(client: LanguageClient) {
    client.onNotification('keras-migrate/runStarted', (p: { runId?: string }) => {
      if (!this.active || !p || typeof p.runId !== 'string') return;
      this.active.runId = p.runId;
      if (this.active.cancelRequested) void this.cancel();
    });
    client.onNotification('keras-migrate/runOutput', (p: { runId?: string; backend?: string; text?: string }) => {
      if (!p || typeof p.text !== 'string') return;
      if (this.active && p.backend && p.backend !== this.active.lastBackend) {
        this.active.lastBackend = p.backend;
        this.output.appendLine(`──── ${p.backend} ────`);
      }
      this.output.append(p.text);
    });
  }

  private async cancel() {
    const run = this.active;
    if (!run) return;
    run.cancelRequested = true;
    if (!run.runId) return; // sent as soon as runStarted tells the id
    this.output.appendLine(`\n[keras-migrate] cancelling run ${run.runId} ...`);
    try {
      await this.server.executeCommand('keras-migrate.runCancel', [{ runId: run.runId }]);
    } catch (e) {
      this.output.appendLine(`[keras-migrate] cancel failed: ${errText(e)}`);
    }
  }

  private async quickPick<T>(picks: Pick<T>[], title: string, placeHolder: string): Promise<T | undefined> {
    const chosen = await vscode.window.showQuickPick(
      picks.map((p) => ({ label: p.label, description: p.description, detail: p.detail, value: p.value })),
      { title, placeHolder, ignoreFocusOut: true },
    );
    return chosen?.value;
  }

  /** `keras-migrate.runInterpreter`, else the server's interpreter (undefined: the server decides). */
  private runInterpreter(uri: vscode.Uri): string | undefined {
    const folder = vscode.workspace.getWorkspaceFolder(uri) ?? vscode.workspace.workspaceFolders?.[0];
    const cfg = vscode.workspace.getConfiguration(SECTION, uri);
    const { settings } = translateSettings((k) => cfg.get(k), {
      trusted: vscode.workspace.isTrusted,
      workspaceFolder: folder?.uri.fsPath,
      home: os.homedir(),
    });
    return settings.runInterpreter || this.server.interpreter?.path;
  }

  async run(mode: Mode): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      const TRUST = 'Manage Workspace Trust';
      const pick = await vscode.window.showErrorMessage(
        'Keras Migrate: running files is disabled in an untrusted workspace, because it executes the code. ' +
          'Trust the workspace to run it.',
        TRUST,
      );
      if (pick === TRUST) await vscode.commands.executeCommand('workbench.trust.manage');
      return;
    }
    if (this.active) {
      void vscode.window.showWarningMessage('Keras Migrate: a run is already in progress; cancel it first.');
      return;
    }
    const editor = vscode.window.activeTextEditor;
    const doc = editor?.document;
    if (!doc || doc.languageId !== 'python' || doc.uri.scheme === 'vscode-notebook-cell') {
      void vscode.window.showErrorMessage('Keras Migrate: open a Python file (.py) to run it on a backend.');
      return;
    }
    try {
      this.server.runningClient();
    } catch (e) {
      void vscode.window.showErrorMessage(`Keras Migrate: ${errText(e)}`);
      return;
    }

    const last = this.last;
    const name = path.basename(doc.uri.path) || doc.uri.toString();
    let backend: RunBackend | undefined;
    let device: Device | undefined;
    if (mode === 'rerun' && last) {
      backend = last.backend;
      device = last.device;
    } else {
      backend =
        mode === 'compare'
          ? 'all'
          : await this.quickPick(backendPicks(last?.backend), 'Keras Migrate: Run File on Backend (1/2)', `Backend to run ${name} on`);
      if (!backend) return;
      let listRaw: unknown;
      try {
        listRaw = await this.server.executeCommand('keras-migrate.listDevices', []);
      } catch (e) {
        listRaw = { gpus: [], error: `could not list GPUs: ${errText(e)}` };
      }
      device = await this.quickPick(
        devicePicks(parseDeviceList(listRaw), last?.device),
        `Keras Migrate: Run File on Backend (2/2): ${backend === 'all' ? 'all backends' : backend}`,
        `Device to run ${name} on`,
      );
      if (!device) return;
    }
    const choice: RunChoice = { backend, device };
    await this.ctx.workspaceState.update(LAST_CHOICE_KEY, choice);
    this.updateItem();

    // The file runs as saved; an unsaved buffer that cannot be saved goes as text.
    let text: string | undefined;
    if (doc.isUntitled) text = doc.getText();
    else if (doc.isDirty && !(await doc.save())) text = doc.getText();

    const python = this.runInterpreter(doc.uri);
    // Plain statements of what is missing, before anything runs.
    try {
      const env = (await this.server.executeCommand('keras-migrate.checkEnvironment', [
        { backend, device, uri: doc.uri.toString(), python },
      ])) as {
        ok?: boolean;
        problems?: unknown;
      } | null;
      if (env && env.ok === false) {
        const problems = Array.isArray(env.problems) ? env.problems.map(String) : [];
        this.output.appendLine(`[keras-migrate] cannot run ${name} on ${choiceLabel(choice)}:`);
        for (const p of problems) this.output.appendLine(`  - ${p}`);
        const CPU = 'Run on CPU';
        const gpuProblem = device.kind === 'gpu' && problems.some((p) => /gpu|cuda/i.test(p));
        const pick = await vscode.window.showErrorMessage(
          `Keras Migrate: cannot run on ${choiceLabel(choice)}: ${problems.join(' ') || 'environment check failed'}`,
          ...(gpuProblem ? [CPU, 'Show Output'] : ['Show Output']),
        );
        if (pick === 'Show Output') this.output.show(true);
        if (pick === CPU) {
          await this.ctx.workspaceState.update(LAST_CHOICE_KEY, { backend, device: { kind: 'cpu' } });
          return this.run('rerun');
        }
        return;
      }
    } catch (e) {
      this.output.appendLine(`[keras-migrate] environment check unavailable: ${errText(e)}`);
    }

    this.output.clear();
    this.output.show(true);
    this.output.appendLine(
      `[keras-migrate] running ${doc.uri.fsPath || name} on ${choiceLabel(choice)} (${new Date().toLocaleTimeString()})`,
    );
    this.active = { cancelRequested: false };
    this.updateItem();
    let raw: unknown;
    let failure: unknown;
    try {
      raw = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Keras Migrate: running ${name} on ${choiceLabel(choice)}`,
          cancellable: true,
        },
        async (progress, token) => {
          token.onCancellationRequested(() => void this.cancel());
          const workDoneToken = `keras-migrate-run-${Date.now()}`;
          const arg: Record<string, unknown> = { uri: doc.uri.toString(), backend, device, args: [], workDoneToken };
          if (python) arg.python = python;
          if (text !== undefined) arg.text = text;
          const client = this.server.runningClient();
          const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
            if (v.kind !== 'end' && v.message) progress.report({ message: v.message });
          });
          try {
            // pygls hands a command no request-level token: it travels in the argument too
            return await this.server.executeCommand('keras-migrate.run', [arg], workDoneToken);
          } finally {
            sub.dispose();
          }
        },
      );
    } catch (e) {
      failure = e;
    }
    const cancelled = this.active?.cancelRequested ?? false;
    this.active = undefined;
    this.updateItem();

    if (failure !== undefined) {
      this.output.appendLine(`\n[keras-migrate] run failed: ${errText(failure)}`);
      void vscode.window.showErrorMessage(`Keras Migrate: the run failed: ${errText(failure)}`, 'Show Output').then(
        (p) => p && this.output.show(true),
      );
      return;
    }
    const res = parseRunResponse(raw);
    this.output.appendLine('');
    const problems = raw && typeof raw === 'object' ? (raw as { problems?: unknown }).problems : undefined;
    if (Array.isArray(problems)) for (const p of problems) this.output.appendLine(`[keras-migrate] problem: ${typeof p === 'string' ? p : JSON.stringify(p)}`);
    this.output.appendLine(`[keras-migrate] ${cancelled ? 'cancelled' : 'finished'}: ${summarize(res.results)}`);
    this.output.appendLine(res.matrixMarkdown.trimEnd());
    const MATRIX = 'Show Matrix';
    const doc2show = async () =>
      showMarkdown(this.ctx, 'Keras Backend Matrix.md', `# ${name} on ${choiceLabel(choice)}\n\n${res.matrixMarkdown}`);
    if (backend === 'all' && !cancelled) await doc2show();
    const message = `Keras Migrate: ${cancelled ? 'cancelled — ' : ''}${summarize(res.results)}`;
    const pick =
      allPassed(res.results) && !cancelled
        ? await vscode.window.showInformationMessage(message, MATRIX)
        : await vscode.window.showErrorMessage(message, MATRIX, 'Show Output');
    if (pick === MATRIX) await doc2show();
    else if (pick === 'Show Output') this.output.show(true);
  }

  /** For status text: what runs on the next one-click rerun. */
  describeLast(): string | undefined {
    const l = this.last;
    return l ? `${l.backend} on ${deviceLabel(l.device)}` : undefined;
  }

  dispose() {
    this.output.dispose();
    this.item.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
