// Shows Markdown from the server in VS Code's Markdown preview (a file in the extension's
// global storage), or as an untitled Markdown document if the preview is unavailable.

import * as vscode from 'vscode';

export async function showMarkdown(ctx: vscode.ExtensionContext, fileName: string, markdown: string): Promise<void> {
  try {
    const dir = ctx.globalStorageUri;
    await vscode.workspace.fs.createDirectory(dir);
    const uri = vscode.Uri.joinPath(dir, fileName);
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(markdown));
    await vscode.commands.executeCommand('markdown.showPreview', uri);
  } catch {
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
    await vscode.window.showTextDocument(doc, { preview: false });
  }
}
