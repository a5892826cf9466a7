// The Python extension's public API (through @vscode/python-extension): the selected
// interpreter and its change event. Skipped cleanly when the Python extension is not installed.

import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';

const PYTHON_EXTENSION_ID = 'ms-python.python';
const API_TIMEOUT_MS = 15000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

async function api(): Promise<PythonExtension | undefined> {
  if (!vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) return undefined;
  return withTimeout(PythonExtension.api(), API_TIMEOUT_MS, 'the Python extension API');
}

/** The interpreter the Python extension has selected for `resource`, or undefined. */
export async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const py = await api();
  if (!py) return undefined;
  const envPath = py.environments.getActiveEnvironmentPath(resource);
  const env = await py.environments.resolveEnvironment(envPath);
  return env?.executable.uri?.fsPath ?? (envPath.path || undefined);
}

/** Calls `onChange` when the user selects another interpreter in the Python extension. */
export async function onPythonInterpreterChange(onChange: () => void): Promise<vscode.Disposable | undefined> {
  try {
    const py = await api();
    return py?.environments.onDidChangeActiveEnvironmentPath(() => onChange());
  } catch {
    return undefined;
  }
}
