// Keras Migrate for VS Code: a thin client. It finds the interpreter, starts the
// keras-migrate language server (the copy bundled in the extension, or the environment's)
// over stdio, passes the settings, restarts when the interpreter or a setting that needs it
// changes, and forwards a few commands to the server. Diagnostics, quick fixes, fix-all and
// the report live in the server; runs go through the runner CLI in a terminal (run.ts).

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { WorkDoneProgress } from 'vscode-languageclient/node';
import { backendsLabel, needsRestart, SECTION } from './config';
import { interpreterLabel } from './interpreter';
import { showMarkdown } from './markdown';
import { onPythonInterpreterChange } from './python';
import { RunController } from './run';
import { ServerManager, ServerPool, ServerState } from './server';

let pool: ServerPool | undefined;

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

const ICONS: Record<ServerState, string> = {
  starting: '$(sync~spin)',
  running: '$(check)',
  stopped: '$(circle-slash)',
  error: '$(error)',
};

/** Python files and notebooks only (the language status item shows for these). */
const SELECTOR: vscode.DocumentSelector = [
  { language: 'python' },
  { notebookType: 'jupyter-notebook', language: 'python' },
];

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Keras Migrate', { log: true });
  const servers = new ServerPool(ctx, output);
  pool = servers;
  const runner = new RunController(ctx, servers);

  // Language status item (shown only for Python files and notebooks): the server of the
  // active document, its interpreter and the target backends.
  const item = vscode.languages.createLanguageStatusItem('keras-migrate.status', SELECTOR);
  item.name = 'Keras Migrate';
  const activeUri = () =>
    vscode.window.activeTextEditor?.document.uri ?? vscode.window.activeNotebookEditor?.notebook.uri;
  const updateItem = () => {
    const uri = activeUri();
    const server: ServerManager | undefined = servers.forUri(uri);
    const state: ServerState = server?.state ?? 'stopped';
    const backends = backendsLabel(vscode.workspace.getConfiguration(SECTION, uri).get('targetBackends'));
    item.text = `${ICONS[state]} Keras Migrate: ${backends}`;
    // short (the hover sits at the window's edge): the environment's name; the full path is
    // the link's tooltip
    const py = server?.interpreter
      ? interpreterLabel(server.interpreter.path, server.pythonVersion, (d) => fs.existsSync(path.join(d, 'pyvenv.cfg')))
      : 'no interpreter';
    const from = server?.strategy === 'fromEnvironment' ? 'from the environment' : 'bundled';
    item.detail = `${state}${server?.stateDetail ? `: ${server.stateDetail}` : ''} · ${from} server${server?.serverVersion ? ` ${server.serverVersion}` : ''} · ${py}`;
    item.severity =
      state === 'error' ? vscode.LanguageStatusSeverity.Error : vscode.LanguageStatusSeverity.Information;
    item.busy = state === 'starting';
    item.command = {
      title: 'Show Output',
      command: 'keras-migrate.showOutput',
      tooltip: server?.interpreter ? `The server's log. Interpreter: ${server.interpreter.path}` : "The server's log",
    };
  };
  updateItem();

  ctx.subscriptions.push(
    output,
    servers,
    runner,
    item,
    servers.onDidChangeState(updateItem),
    vscode.window.onDidChangeActiveTextEditor(updateItem),
    vscode.window.onDidChangeActiveNotebookEditor(updateItem),
    vscode.commands.registerCommand('keras-migrate.showOutput', () => output.show()),
    vscode.commands.registerCommand('keras-migrate.restart', () => servers.restart('"Restart Server" command')),
    vscode.commands.registerCommand('keras-migrate.showReport', () => showReport(ctx, servers)),
    vscode.commands.registerCommand('keras-migrate.fixAllInFile', () => fixAllInFile(servers)),
    vscode.commands.registerCommand('keras-migrate.runFile', () => runner.run('pick')),
    vscode.commands.registerCommand('keras-migrate.compareBackends', () => runner.run('compare')),
    vscode.commands.registerCommand('keras-migrate.rerun', () => runner.run('rerun')),
    vscode.commands.registerCommand('keras-migrate.debugFile', () => runner.debug()),
    vscode.commands.registerCommand('keras-migrate.selectInterpreter', () => selectInterpreter()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      if (needsRestart((s) => e.affectsConfiguration(s))) {
        void servers.restart('keras-migrate.interpreter, importStrategy or logLevel changed');
      } else {
        for (const m of servers.all) m.notifySettings();
      }
      updateItem();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => servers.restart('workspace folders changed')),
    vscode.workspace.onDidGrantWorkspaceTrust(() => servers.restart('workspace trusted')),
  );

  void onPythonInterpreterChange(() => {
    const insp = vscode.workspace.getConfiguration(SECTION).inspect<string>('interpreter');
    const set = [insp?.globalValue, insp?.workspaceValue, insp?.workspaceFolderValue].some((v) => v && v.trim());
    if (!set) void servers.restart('the interpreter selected in the Python extension changed');
  }).then((d) => d && ctx.subscriptions.push(d));

  void servers.restart('activation');
}

export async function deactivate(): Promise<void> {
  await pool?.stop();
}

/** The Python extension's picker when it is there, else the keras-migrate.interpreter setting. */
async function selectInterpreter(): Promise<void> {
  if (vscode.extensions.getExtension('ms-python.python')) {
    await vscode.commands.executeCommand('python.setInterpreter');
    return;
  }
  await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.interpreter`);
}

async function showReport(ctx: vscode.ExtensionContext, servers: ServerPool): Promise<void> {
  let raw: unknown;
  const server = servers.forUri(vscode.window.activeTextEditor?.document.uri);
  try {
    if (!server) throw new Error('the Keras Migrate server is not running');
    const client = server.runningClient();
    raw = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Keras Migrate: scanning the workspace' },
      async (progress) => {
        const token = `keras-migrate-report-${Date.now()}`;
        let done = 0;
        const sub = client.onProgress(WorkDoneProgress.type, token, (v) => {
          if (v.kind === 'end') return;
          const pct = typeof v.percentage === 'number' ? v.percentage : undefined;
          const increment = pct !== undefined && pct > done ? pct - done : undefined;
          if (pct !== undefined) done = Math.max(done, pct);
          progress.report({ message: v.message, increment });
        });
        try {
          return await server.executeCommand('keras-migrate.report', [], token);
        } finally {
          sub.dispose();
        }
      },
    );
  } catch (e) {
    void vscode.window.showErrorMessage(`Keras Migrate: the migration report failed: ${errText(e)}`);
    return;
  }
  const r = (raw && typeof raw === 'object' ? raw : {}) as { markdown?: unknown; data?: unknown };
  const markdown =
    typeof r.markdown === 'string'
      ? r.markdown
      : `# Keras migration report\n\n\`\`\`json\n${JSON.stringify(raw, null, 2)}\n\`\`\`\n`;
  await showMarkdown(ctx, 'Keras Migration Report.md', markdown);
}

async function fixAllInFile(servers: ServerPool): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'python') {
    void vscode.window.showErrorMessage('Keras Migrate: open a Python file or notebook cell to fix.');
    return;
  }
  const doc = editor.document;
  const server = servers.forUri(doc.uri);
  try {
    if (!server) throw new Error('no server');
    await server.executeCommand('keras-migrate.fixAll', [doc.uri.toString()]);
    return;
  } catch (e) {
    // fall back to the server's source.fixAll code action
    servers.output.appendLine(`[client] keras-migrate.fixAll failed (${errText(e)}); using source.fixAll.keras-migrate`);
  }
  const range = new vscode.Range(0, 0, doc.lineCount, 0);
  const actions =
    (await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      doc.uri,
      range,
      'source.fixAll.keras-migrate',
    )) ?? [];
  const action = actions.find((a) => a.kind?.value.startsWith('source.fixAll.keras-migrate')) ?? actions[0];
  if (!action) {
    void vscode.window.showInformationMessage('Keras Migrate: nothing to fix in this file.');
    return;
  }
  if (action.edit) await vscode.workspace.applyEdit(action.edit);
  if (action.command) await vscode.commands.executeCommand(action.command.command, ...(action.command.arguments ?? []));
}
