// Starts, restarts and stops the keras-migrate language server (`<py> -m keras_migrate server`,
// stdio) and reports its state. Everything it knows about Keras lives in the server.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFile } from 'child_process';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { SECTION, translateSettings } from './config';
import {
  checkPygls,
  checkServerVersion,
  chooseInterpreter,
  classifyProbe,
  InterpreterChoice,
  installArgs,
  pickBundledWheel,
  ProbeOutcome,
  safeModuleArgs,
} from './interpreter';
import { pythonExtensionInterpreter } from './python';

export type ServerState = 'starting' | 'running' | 'stopped' | 'error';

const PROBE_TIMEOUT_MS = 30000;

export function probeInterpreter(py: string, cwd: string): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    // execFile: an argument list, never a shell; isolated mode and a working directory outside
    // the workspace (the extension's own folder), exactly as the server is started.
    execFile(
      py,
      safeModuleArgs(['--version']),
      { cwd, timeout: PROBE_TIMEOUT_MS, windowsHide: true, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } },
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { code?: string | number | null }) | null;
        resolve(classifyProbe(err, String(stdout ?? ''), String(stderr ?? '')));
      },
    );
  });
}

export class ServerManager implements vscode.Disposable {
  client: LanguageClient | undefined;
  state: ServerState = 'stopped';
  stateDetail = '';
  interpreter: InterpreterChoice | undefined;
  serverVersion: string | undefined;

  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly warned = new Set<string>();
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly clientEmitter = new vscode.EventEmitter<LanguageClient>();
  /** Fires with each new client before it starts (register notification handlers here). */
  readonly onDidCreateClient = this.clientEmitter.event;

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
  ) {}

  get extensionVersion(): string {
    return String(this.ctx.extension.packageJSON.version ?? '0.0.0');
  }

  /** The keras-migrate wheel shipped in the .vsix (`python/`), if this build has one. */
  private bundledWheel(): string | undefined {
    const dir = path.join(this.ctx.extensionPath, 'python');
    try {
      const name = pickBundledWheel(fs.readdirSync(dir), this.extensionVersion);
      return name ? path.join(dir, name) : undefined;
    } catch {
      return undefined;
    }
  }

  private log(msg: string) {
    this.output.appendLine(`[client ${new Date().toISOString()}] ${msg}`);
  }

  private setState(s: ServerState, detail = '') {
    this.state = s;
    this.stateDetail = detail;
    this.stateEmitter.fire(s);
  }

  /** Restarts are serialised: one at a time, in order. */
  restart(reason: string): Promise<void> {
    this.queue = this.queue
      .then(() => this.doRestart(reason))
      .catch((e) => {
        this.log(`start failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
        this.setState('error', String(e instanceof Error ? e.message : e));
      });
    return this.queue;
  }

  stop(): Promise<void> {
    this.queue = this.queue.then(() => this.stopClient()).catch(() => undefined);
    return this.queue;
  }

  /** The running client, or an error the caller shows. */
  runningClient(): LanguageClient {
    if (!this.client || this.state !== 'running') {
      throw new Error(
        `the Keras Migrate server is not running (${this.state}${this.stateDetail ? `: ${this.stateDetail}` : ''}). ` +
          'See the "Keras Migrate" output, or run "Keras Migrate: Restart Server".',
      );
    }
    return this.client;
  }

  /** workspace/executeCommand on the server. */
  async executeCommand(command: string, args: unknown[], workDoneToken?: string): Promise<unknown> {
    const client = this.runningClient();
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args, workDoneToken });
  }

  private async stopClient() {
    const c = this.client;
    this.client = undefined;
    if (c) {
      try {
        if (c.isRunning() || c.state === State.Starting) await c.stop(4000);
      } catch (e) {
        this.log(`stopping the server: ${String(e)}`);
      }
      await c.dispose().catch(() => undefined);
      this.stopping = false;
    }
    this.setState('stopped');
  }

  private async doRestart(reason: string) {
    this.log(`(re)starting the server: ${reason}`);
    await this.stopClient();
    this.setState('starting');

    const folder = vscode.workspace.workspaceFolders?.[0];
    const cfg = vscode.workspace.getConfiguration(SECTION, folder?.uri);
    const insp = cfg.inspect<string>('interpreter');
    const choice = await chooseInterpreter({
      trusted: vscode.workspace.isTrusted,
      setting: {
        globalValue: insp?.globalValue,
        workspaceValue: insp?.workspaceValue,
        workspaceFolderValue: insp?.workspaceFolderValue,
      },
      pythonExtension: () => pythonExtensionInterpreter(folder?.uri),
      workspaceFolder: folder?.uri.fsPath,
      home: os.homedir(),
    });
    this.interpreter = choice;
    this.log(`interpreter: ${choice.path} (from ${choice.source})`);
    if (choice.ignoredUntrusted) {
      this.log(
        `untrusted workspace: ignoring the workspace setting keras-migrate.interpreter = ${choice.ignoredUntrusted}`,
      );
    }

    const probe = await probeInterpreter(choice.path, this.ctx.extensionPath);
    if (probe.kind !== 'ok') {
      this.setState('error', probe.kind === 'not-installed' ? 'keras-migrate not installed' : probe.detail);
      this.log(`probe of ${choice.path} failed (${probe.kind}): ${probe.detail}`);
      void this.offerFix(choice, probe);
      return;
    }
    this.log(`keras-migrate ${probe.version} found in ${choice.path}`);
    this.warnVersion(checkServerVersion(this.extensionVersion, probe.version));

    const tctx = { trusted: vscode.workspace.isTrusted, workspaceFolder: folder?.uri.fsPath, home: os.homedir() };
    const translation = translateSettings((k) => cfg.get(k), tctx);
    for (const p of translation.problems) this.log(`setting: ${p}`);

    const serverOptions: ServerOptions = {
      command: choice.path,
      // never the workspace as working directory, never the workspace on sys.path (SECURITY.md)
      args: safeModuleArgs(['server']),
      options: { cwd: this.ctx.extensionPath, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'python' },
        { scheme: 'untitled', language: 'python' },
        { notebook: 'jupyter-notebook', language: 'python' },
      ],
      initializationOptions: { settings: translation.settings, trusted: vscode.workspace.isTrusted },
      // didChangeConfiguration carries {settings: {"keras-migrate": {...}}} (same camelCase keys)
      synchronize: { configurationSection: SECTION },
      middleware: {
        workspace: {
          // a workspace/configuration pull for "keras-migrate" gets the validated values
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) return result;
            return params.items.map((it, i) => {
              if (it.section !== SECTION) return result[i];
              const scope = it.scopeUri ? vscode.Uri.parse(it.scopeUri) : folder?.uri;
              const c = vscode.workspace.getConfiguration(SECTION, scope);
              const wf = (scope && vscode.workspace.getWorkspaceFolder(scope)) ?? folder;
              return translateSettings((k) => c.get(k), { ...tctx, trusted: vscode.workspace.isTrusted, workspaceFolder: wf?.uri.fsPath }).settings;
            });
          },
        },
      },
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
    };
    const client = new LanguageClient(SECTION, 'Keras Migrate', serverOptions, clientOptions);
    client.onDidChangeState((e) => {
      if (this.client !== client) return;
      if (e.newState === State.Running) this.setState('running');
      else if (e.newState === State.Starting) this.setState('starting');
      else if (e.newState === State.Stopped) {
        // stopped without being asked: it crashed (the client gives up after 5 crashes in 3 minutes)
        if (this.stopping) this.setState('stopped');
        else this.setState('error', 'the server exited; see the "Keras Migrate" output');
      }
    });
    this.client = client;
    this.clientEmitter.fire(client);
    try {
      await client.start();
    } catch (e) {
      if (this.client === client) this.setState('error', String(e instanceof Error ? e.message : e));
      throw e;
    }
    if (this.client !== client) return;
    this.setState('running');

    const info = client.initializeResult?.serverInfo;
    this.serverVersion = info?.version;
    this.log(`server started: ${info?.name ?? '?'} ${info?.version ?? '?'}`);
    if (info?.version !== probe.version) this.warnVersion(checkServerVersion(this.extensionVersion, info?.version));
    void this.checkServerInfo();
  }

  private async checkServerInfo() {
    try {
      const r = (await this.executeCommand('keras-migrate.serverInfo', [])) as Record<string, unknown> | null;
      this.log(`server info: ${JSON.stringify(r)}`);
      const pygls = r && typeof r.pygls === 'string' ? r.pygls : undefined;
      this.warnVersion(checkPygls(pygls));
    } catch (e) {
      this.log(`keras-migrate.serverInfo failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private warnVersion(check: { ok: true } | { ok: false; message: string }) {
    if (check.ok || this.warned.has(check.message)) return;
    this.warned.add(check.message);
    this.log(check.message);
    void vscode.window.showWarningMessage(`Keras Migrate: ${check.message}`);
  }

  private async offerFix(choice: InterpreterChoice, probe: ProbeOutcome) {
    const CHOOSE = 'Choose interpreter';
    const INSTALL = 'Install keras-migrate into this environment';
    const where = `${choice.path} (${choice.source === 'default' ? 'default interpreter' : choice.source === 'setting' ? 'keras-migrate.interpreter' : 'selected in the Python extension'})`;
    let pick: string | undefined;
    if (probe.kind === 'not-installed') {
      const actions = vscode.workspace.isTrusted ? [INSTALL, CHOOSE] : [CHOOSE];
      pick = await vscode.window.showWarningMessage(
        `Keras Migrate: keras-migrate is not installed in ${where}. The server cannot start.`,
        ...actions,
      );
    } else if (probe.kind === 'interpreter-missing') {
      pick = await vscode.window.showErrorMessage(
        `Keras Migrate: the interpreter ${where} does not exist or cannot run (${probe.detail}).`,
        CHOOSE,
      );
    } else if (probe.kind === 'failed') {
      pick = await vscode.window.showErrorMessage(
        `Keras Migrate: "${choice.path} -m keras_migrate --version" failed: ${probe.detail}`,
        CHOOSE,
      );
    }
    if (pick === CHOOSE) {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.interpreter`);
    } else if (pick === INSTALL) {
      await this.installInto(choice.path);
    }
  }

  /**
   * Runs `<py> -m pip install <the bundled wheel>` as a task in a visible terminal, only after
   * the user clicked the offer. ProcessExecution: an argument list, no shell.
   */
  private async installInto(py: string) {
    if (!vscode.workspace.isTrusted) return;
    const args = installArgs(this.extensionVersion, this.bundledWheel());
    this.log(`installing: ${py} ${args.join(' ')}`);
    const task = new vscode.Task(
      { type: SECTION, action: 'install' },
      vscode.TaskScope.Workspace,
      'install keras-migrate',
      'Keras Migrate',
      // isolated and outside the workspace: `-m pip` must not import a workspace module either
      new vscode.ProcessExecution(py, ['-I', ...args], { cwd: this.ctx.extensionPath }),
    );
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated };
    const sub = vscode.tasks.onDidEndTaskProcess((e) => {
      if (e.execution.task !== task && e.execution.task.name !== task.name) return;
      sub.dispose();
      this.log(`pip install finished with exit code ${e.exitCode}`);
      if (e.exitCode === 0) void this.restart('keras-migrate installed');
      else void vscode.window.showErrorMessage(`Keras Migrate: pip install failed (exit code ${e.exitCode}); see the terminal.`);
    });
    this.ctx.subscriptions.push(sub);
    await vscode.tasks.executeTask(task);
  }

  dispose() {
    void this.stop();
    this.stateEmitter.dispose();
    this.clientEmitter.dispose();
  }
}
