// Starts, restarts and stops the keras-migrate language servers and reports their state.
// Everything it knows about Keras lives in the server.
//
// One server per interpreter: the workspace folders are grouped by the interpreter (and
// import strategy) each resolves to, so a multi-root workspace whose folders name different
// interpreters gets one server for each, serving that group's folders; the usual case (one
// interpreter) is one server for everything. The server is keras-migrate's bundled copy
// (useBundled, the default) or the environment's (fromEnvironment), always started with
// `python -I` from the extension's folder (see interpreter.ts).

import { execFile } from 'child_process';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  DocumentSelector,
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
  fallbackCandidates,
  ImportStrategy,
  InterpreterChoice,
  launch,
  launchCwd,
  parseImportStrategy,
  ProbeOutcome,
  probeLaunch,
} from './interpreter';
import { pythonExtensionInterpreter } from './python';

export type ServerState = 'starting' | 'running' | 'stopped' | 'error';

const PROBE_TIMEOUT_MS = 30000;

export function probeInterpreter(strategy: ImportStrategy, py: string, extensionPath: string): Promise<ProbeOutcome> {
  const l = probeLaunch(strategy, py, extensionPath);
  return new Promise((resolve) => {
    // execFile: an argument list, never a shell; -I and a working directory outside the workspace
    execFile(
      l.command,
      l.args,
      { cwd: launchCwd(extensionPath), timeout: PROBE_TIMEOUT_MS, windowsHide: true, env: { ...process.env } },
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { code?: string | number | null }) | null;
        resolve(classifyProbe(err, String(stdout ?? ''), String(stderr ?? '')));
      },
    );
  });
}

/** What a folder resolves to: its interpreter and where the server comes from. */
export interface ServerPlan {
  key: string;
  choice: InterpreterChoice;
  strategy: ImportStrategy;
  /** the folders served (empty: no folder open) */
  folders: vscode.WorkspaceFolder[];
}

async function planFor(folder: vscode.WorkspaceFolder | undefined): Promise<{ choice: InterpreterChoice; strategy: ImportStrategy }> {
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
  // a workspace-level import strategy counts only in a trusted workspace (fromEnvironment
  // imports from the environment's site-packages)
  const si = cfg.inspect<string>('importStrategy');
  const raw = vscode.workspace.isTrusted
    ? si?.workspaceFolderValue ?? si?.workspaceValue ?? si?.globalValue
    : si?.globalValue;
  return { choice, strategy: parseImportStrategy(raw) };
}

/** Groups the workspace folders by interpreter and strategy (one server per group). */
export async function planServers(): Promise<ServerPlan[]> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (!folders.length) {
    const p = await planFor(undefined);
    return [{ key: `${p.strategy}:${p.choice.path}`, ...p, folders: [] }];
  }
  const plans = new Map<string, ServerPlan>();
  for (const f of folders) {
    const p = await planFor(f);
    const key = `${p.strategy}:${p.choice.path}`;
    const have = plans.get(key);
    if (have) have.folders.push(f);
    else plans.set(key, { key, ...p, folders: [f] });
  }
  return [...plans.values()];
}

export class ServerManager implements vscode.Disposable {
  client: LanguageClient | undefined;
  state: ServerState = 'stopped';
  stateDetail = '';
  /** the interpreter that runs this server (after any fallback) */
  interpreter: InterpreterChoice | undefined;
  strategy: ImportStrategy = 'useBundled';
  serverVersion: string | undefined;
  pythonVersion: string | undefined;
  folders: vscode.WorkspaceFolder[] = [];

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
    /** the selectors are per folder when more than one server runs */
    private readonly shared: { many: () => boolean },
  ) {}

  get extensionVersion(): string {
    return String(this.ctx.extension.packageJSON.version ?? '0.0.0');
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
  restart(reason: string, plan: ServerPlan): Promise<void> {
    this.queue = this.queue
      .then(() => this.doRestart(reason, plan))
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
      this.stopping = true;
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

  private selector(): DocumentSelector {
    if (!this.shared.many() || !this.folders.length) {
      return [
        { scheme: 'file', language: 'python' },
        { scheme: 'untitled', language: 'python' },
        { notebook: 'jupyter-notebook', language: 'python' },
      ];
    }
    // several servers: each serves its own folders' files (and notebooks)
    return this.folders.flatMap((f) => [
      { scheme: 'file', language: 'python', pattern: new vscode.RelativePattern(f, '**/*') },
      { notebook: { notebookType: 'jupyter-notebook', pattern: new vscode.RelativePattern(f, '**/*') }, language: 'python' },
    ]) as unknown as DocumentSelector;
  }

  private async doRestart(reason: string, plan: ServerPlan) {
    this.log(`(re)starting the server: ${reason}`);
    await this.stopClient();
    this.setState('starting');
    this.folders = plan.folders;
    this.strategy = plan.strategy;
    const folder = plan.folders[0];
    const where = plan.folders.length ? ` for ${plan.folders.map((f) => f.name).join(', ')}` : '';
    if (plan.choice.ignoredUntrusted) {
      this.log(`untrusted workspace: ignoring the workspace setting keras-migrate.interpreter = ${plan.choice.ignoredUntrusted}`);
    }

    let choice = plan.choice;
    let probe: ProbeOutcome | undefined;
    for (const candidate of fallbackCandidates(plan.choice)) {
      this.log(`interpreter: ${candidate.path} (from ${candidate.source})${where}, import strategy ${plan.strategy}`);
      probe = await probeInterpreter(plan.strategy, candidate.path, this.ctx.extensionPath);
      choice = candidate;
      if (probe.kind === 'ok') break;
      this.log(`probe of ${candidate.path} failed (${probe.kind}): ${probe.detail}`);
    }
    this.interpreter = choice;
    if (!probe || probe.kind !== 'ok') {
      const p = probe ?? { kind: 'failed', detail: 'no interpreter' };
      this.setState('error', p.kind === 'not-installed' ? 'keras-migrate not installed' : (p as { detail: string }).detail);
      void this.offerFix(choice, p as Exclude<ProbeOutcome, { kind: 'ok' }>, plan.strategy);
      return;
    }
    this.pythonVersion = probe.python;
    this.log(`keras-migrate ${probe.version} (${probe.bundled ? 'bundled' : 'from the environment'}) runs on ${choice.path}${probe.python ? ` (Python ${probe.python})` : ''}`);
    if (plan.strategy === 'fromEnvironment') this.warnVersion(checkServerVersion(this.extensionVersion, probe.version));

    const tctx = { trusted: vscode.workspace.isTrusted, workspaceFolder: folder?.uri.fsPath, home: os.homedir() };
    const cfg = vscode.workspace.getConfiguration(SECTION, folder?.uri);
    const translation = translateSettings((k) => cfg.get(k), tctx, (k) => cfg.inspect(k));

    const l = launch(plan.strategy, choice.path, this.ctx.extensionPath, ['server']);
    const serverOptions: ServerOptions = {
      command: l.command,
      args: l.args,
      // never the workspace as working directory; -I keeps it off sys.path anyway
      options: { cwd: launchCwd(this.ctx.extensionPath), env: { ...process.env, PYTHONIOENCODING: 'utf-8' } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: this.selector(),
      initializationOptions: { settings: translation.settings, trusted: vscode.workspace.isTrusted },
      // no `synchronize`: notifySettings() sends the settings on each change (the raw section
      // would carry every default as if the user had set it)
      workspaceFolder: this.shared.many() && plan.folders.length === 1 ? plan.folders[0] : undefined,
      middleware: {
        workspace: {
          // a workspace/configuration pull for "keras-migrate" gets what notifySettings() sends
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) return result;
            return params.items.map((it, i) => {
              if (it.section !== SECTION) return result[i];
              const scope = it.scopeUri ? vscode.Uri.parse(it.scopeUri) : folder?.uri;
              const c = vscode.workspace.getConfiguration(SECTION, scope);
              const wf = (scope && vscode.workspace.getWorkspaceFolder(scope)) ?? folder;
              return translateSettings((k) => c.get(k), { ...tctx, trusted: vscode.workspace.isTrusted, workspaceFolder: wf?.uri.fsPath }, (k) => c.inspect(k)).settings;
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

  /** workspace/didChangeConfiguration with the settings (rule keys only when set); the server validates them. */
  notifySettings(): void {
    const c = this.client;
    if (!c || this.state !== 'running') return;
    const folder = this.folders[0];
    const cfg = vscode.workspace.getConfiguration(SECTION, folder?.uri);
    const t = translateSettings((k) => cfg.get(k), { trusted: vscode.workspace.isTrusted, workspaceFolder: folder?.uri.fsPath, home: os.homedir() }, (k) => cfg.inspect(k));
    void c.sendNotification(DidChangeConfigurationNotification.type, { settings: t.settings }).catch(() => undefined);
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

  private async offerFix(choice: InterpreterChoice, probe: Exclude<ProbeOutcome, { kind: 'ok' }>, strategy: ImportStrategy) {
    const CHOOSE = 'Choose interpreter';
    const BUNDLED = 'Use the bundled server';
    const where = `${choice.path} (${choice.source === 'default' ? 'default interpreter' : choice.source === 'setting' ? 'keras-migrate.interpreter' : 'selected in the Python extension'})`;
    let pick: string | undefined;
    if (probe.kind === 'not-installed') {
      // only with fromEnvironment: the bundled server needs nothing installed
      pick = await vscode.window.showWarningMessage(
        `Keras Migrate: keras-migrate is not installed in ${where}, and keras-migrate.importStrategy is fromEnvironment. ` +
          'Install it there, or use the server shipped with the extension.',
        BUNDLED,
        CHOOSE,
      );
    } else if (probe.kind === 'interpreter-missing') {
      pick = await vscode.window.showErrorMessage(
        `Keras Migrate: the interpreter ${where} does not exist or cannot run (${probe.detail}).`,
        CHOOSE,
      );
    } else if (probe.kind === 'unsupported') {
      pick = await vscode.window.showErrorMessage(`Keras Migrate: ${probe.detail}`, CHOOSE);
    } else {
      pick = await vscode.window.showErrorMessage(
        `Keras Migrate: the keras-migrate server cannot start with ${choice.path} (${strategy}): ${probe.detail}`,
        CHOOSE,
      );
    }
    if (pick === CHOOSE) {
      await vscode.commands.executeCommand('keras-migrate.selectInterpreter');
    } else if (pick === BUNDLED) {
      const target = vscode.workspace.getConfiguration(SECTION).inspect('importStrategy')?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
      await vscode.workspace.getConfiguration(SECTION).update('importStrategy', 'useBundled', target);
    }
  }

  dispose() {
    void this.stop();
    this.stateEmitter.dispose();
    this.clientEmitter.dispose();
  }
}

/** The servers of the workspace: one per interpreter (see planServers). */
export class ServerPool implements vscode.Disposable {
  private managers = new Map<string, ServerManager>();
  private queue: Promise<void> = Promise.resolve();
  private readonly stateEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly clientEmitter = new vscode.EventEmitter<LanguageClient>();
  readonly onDidCreateClient = this.clientEmitter.event;

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
  ) {}

  get all(): ServerManager[] {
    return [...this.managers.values()];
  }

  /** The server for a document (its folder's), else the first. */
  forUri(uri?: vscode.Uri): ServerManager | undefined {
    const folder = uri ? vscode.workspace.getWorkspaceFolder(uri) : undefined;
    if (folder) {
      const m = this.all.find((s) => s.folders.some((f) => f.uri.toString() === folder.uri.toString()));
      if (m) return m;
    }
    return this.all[0];
  }

  /** Re-plans and (re)starts every server; serialised. */
  restart(reason: string): Promise<void> {
    this.queue = this.queue.then(() => this.doRestart(reason)).catch((e) => {
      this.output.appendLine(`[client] restart failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    });
    return this.queue;
  }

  private async doRestart(reason: string) {
    const plans = await planServers();
    const keep = new Set(plans.map((p) => p.key));
    for (const [key, m] of this.managers) {
      if (!keep.has(key)) {
        await m.stop();
        m.dispose();
        this.managers.delete(key);
      }
    }
    if (plans.length > 1) {
      this.output.appendLine(`[client] ${plans.length} servers: ${plans.map((p) => `${p.choice.path} for ${p.folders.map((f) => f.name).join(', ')}`).join('; ')}`);
    }
    const shared = { many: () => this.managers.size > 1 };
    for (const p of plans) {
      let m = this.managers.get(p.key);
      if (!m) {
        m = new ServerManager(this.ctx, this.output, shared);
        m.onDidChangeState(() => this.stateEmitter.fire());
        m.onDidCreateClient((c) => this.clientEmitter.fire(c));
        this.managers.set(p.key, m);
      }
    }
    await Promise.all(plans.map((p) => this.managers.get(p.key)!.restart(reason, p)));
    this.stateEmitter.fire();
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((m) => m.stop()));
  }

  dispose() {
    for (const m of this.all) m.dispose();
    this.stateEmitter.dispose();
    this.clientEmitter.dispose();
  }
}
