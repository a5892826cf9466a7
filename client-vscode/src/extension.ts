// Keras Migrate for VS Code: a thin client. It finds the interpreter, starts the
// keras-migrate language server over stdio, passes the settings, restarts when the
// interpreter or a setting that needs it changes, and forwards a few commands to the server.
// Diagnostics, quick fixes, fix-all, the report and the backend runner all live in the server.

import * as vscode from 'vscode';
import { WorkDoneProgress } from 'vscode-languageclient/node';
import { backendsLabel, needsRestart, SECTION, translateSettings } from './config';
import { showMarkdown } from './markdown';
import { onPythonInterpreterChange } from './python';
import { RunController } from './run';
import { ServerManager, ServerState } from './server';

let manager: ServerManager | undefined;

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

const ICONS: Record<ServerState, string> = {
  starting: '$(sync~spin)',
  running: '$(check)',
  stopped: '$(circle-slash)',
  error: '$(error)',
};

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Keras Migrate', { log: true });
  const server = new ServerManager(ctx, output);
  manager = server;
  const runner = new RunController(ctx, server);

  // Status bar: server state + target backend(s); click shows the output channel.
  const item = vscode.window.createStatusBarItem('keras-migrate.server', vscode.StatusBarAlignment.Left, 50);
  item.name = 'Keras Migrate';
  item.command = 'keras-migrate.showOutput';
  const updateItem = () => {
    const backends = backendsLabel(
      translateSettings((k) => vscode.workspace.getConfiguration(SECTION, vscode.workspace.workspaceFolders?.[0]?.uri).get(k))
        .settings.targetBackends,
    );
    item.text = `${ICONS[server.state]} Keras Migrate: ${backends}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**Keras Migrate** server: ${server.state}`);
    if (server.stateDetail) md.appendText(` (${server.stateDetail})`);
    if (server.serverVersion) md.appendText(`, version ${server.serverVersion}`);
    md.appendMarkdown('\n\n');
    if (server.interpreter) md.appendText(`Interpreter: ${server.interpreter.path} (${server.interpreter.source})\n\n`);
    md.appendText(`Target backends: ${backends}\n\n`);
    md.appendText('Click to show the output.');
    item.tooltip = md;
    item.backgroundColor =
      server.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    item.show();
  };
  updateItem();

  ctx.subscriptions.push(
    output,
    server,
    runner,
    item,
    server.onDidChangeState(updateItem),
    vscode.commands.registerCommand('keras-migrate.showOutput', () => output.show()),
    vscode.commands.registerCommand('keras-migrate.restart', () => server.restart('"Restart Server" command')),
    vscode.commands.registerCommand('keras-migrate.showReport', () => showReport(ctx, server)),
    vscode.commands.registerCommand('keras-migrate.fixAllInFile', () => fixAllInFile(server)),
    vscode.commands.registerCommand('keras-migrate.runFile', () => runner.run('pick')),
    vscode.commands.registerCommand('keras-migrate.compareBackends', () => runner.run('compare')),
    vscode.commands.registerCommand('keras-migrate.rerun', () => runner.run('rerun')),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      if (needsRestart((s) => e.affectsConfiguration(s))) {
        void server.restart('keras-migrate.interpreter or keras-migrate.logLevel changed');
      } else {
        // everything else reaches the running server through workspace/didChangeConfiguration
        const { problems } = translateSettings((k) => vscode.workspace.getConfiguration(SECTION).get(k));
        for (const p of problems) output.appendLine(`[client] setting: ${p}`);
      }
      updateItem();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => server.restart('workspace trusted')),
  );

  void onPythonInterpreterChange(() => {
    const insp = vscode.workspace.getConfiguration(SECTION).inspect<string>('interpreter');
    const set = [insp?.globalValue, insp?.workspaceValue, insp?.workspaceFolderValue].some((v) => v && v.trim());
    if (!set) void server.restart('the interpreter selected in the Python extension changed');
  }).then((d) => d && ctx.subscriptions.push(d));

  void server.restart('activation');
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
}

async function showReport(ctx: vscode.ExtensionContext, server: ServerManager): Promise<void> {
  let raw: unknown;
  try {
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

async function fixAllInFile(server: ServerManager): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'python') {
    void vscode.window.showErrorMessage('Keras Migrate: open a Python file or notebook cell to fix.');
    return;
  }
  const doc = editor.document;
  try {
    await server.executeCommand('keras-migrate.fixAll', [doc.uri.toString()]);
    return;
  } catch (e) {
    // fall back to the server's source.fixAll code action
    server.output.appendLine(`[client] keras-migrate.fixAll failed (${errText(e)}); using source.fixAll.keras-migrate`);
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
