// Interpreter choice and the start-up probe's interpretation. No `vscode` import.
//
// Order: the `keras-migrate.interpreter` setting, else the interpreter selected in the Python
// extension, else `python3`. In an untrusted workspace a workspace-level setting is ignored
// and the Python extension is not asked (it may point at a workspace venv): only the
// user-level setting or `python3` can start a process there.

import * as path from 'path';

export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface InterpreterSettingValues {
  /** user (global) value of keras-migrate.interpreter */
  globalValue?: string;
  /** workspace (.code-workspace or single-folder .vscode/settings.json) value */
  workspaceValue?: string;
  /** workspace-folder value */
  workspaceFolderValue?: string;
}

export interface InterpreterInputs {
  trusted: boolean;
  setting: InterpreterSettingValues;
  /** Asked only when no setting applies and the workspace is trusted. */
  pythonExtension?: () => Promise<string | undefined>;
  workspaceFolder?: string;
  home?: string;
  defaultInterpreter?: string;
}

export interface InterpreterChoice {
  path: string;
  source: InterpreterSource;
  /** A workspace-level value that was ignored because the workspace is not trusted. */
  ignoredUntrusted?: string;
}

export const DEFAULT_INTERPRETER = 'python3';

const nonEmpty = (s: string | undefined): s is string => typeof s === 'string' && s.trim().length > 0;

/** Expands `${workspaceFolder}`, `${userHome}` and a leading `~`. */
export function expandPath(p: string, vars: { workspaceFolder?: string; home?: string }): string {
  let out = p.trim();
  if (vars.home) {
    if (out === '~') out = vars.home;
    else if (out.startsWith('~/')) out = path.join(vars.home, out.slice(2));
    out = out.split('${userHome}').join(vars.home);
  }
  if (vars.workspaceFolder) out = out.split('${workspaceFolder}').join(vars.workspaceFolder);
  return out;
}

export async function chooseInterpreter(inp: InterpreterInputs): Promise<InterpreterChoice> {
  const vars = { workspaceFolder: inp.workspaceFolder, home: inp.home };
  const workspaceLevel = nonEmpty(inp.setting.workspaceFolderValue)
    ? inp.setting.workspaceFolderValue
    : nonEmpty(inp.setting.workspaceValue)
      ? inp.setting.workspaceValue
      : undefined;
  let ignoredUntrusted: string | undefined;
  if (workspaceLevel !== undefined) {
    if (inp.trusted) return { path: expandPath(workspaceLevel, vars), source: 'setting' };
    ignoredUntrusted = workspaceLevel;
  }
  if (nonEmpty(inp.setting.globalValue)) {
    return { path: expandPath(inp.setting.globalValue, vars), source: 'setting', ignoredUntrusted };
  }
  if (inp.trusted && inp.pythonExtension) {
    try {
      const p = await inp.pythonExtension();
      if (nonEmpty(p)) return { path: p, source: 'python-extension' };
    } catch {
      // the Python extension is missing or failed: fall through to the default
    }
  }
  return { path: inp.defaultInterpreter ?? DEFAULT_INTERPRETER, source: 'default', ignoredUntrusted };
}

/** `keras-migrate 0.1.0` -> `0.1.0`. */
export function parseVersionOutput(stdout: string): string | undefined {
  const m = /keras-migrate\s+v?(\d+(?:\.\d+){1,2}[^\s]*)/i.exec(stdout);
  return m ? m[1] : undefined;
}

export type ProbeOutcome =
  | { kind: 'ok'; version: string }
  | { kind: 'interpreter-missing'; detail: string }
  | { kind: 'not-installed'; detail: string }
  | { kind: 'failed'; detail: string };

/**
 * Interprets `<py> -m keras_migrate --version` run with execFile:
 * `error` is execFile's error (or null), `stdout`/`stderr` its output.
 */
export function classifyProbe(
  error: { code?: string | number | null; message?: string } | null,
  stdout: string,
  stderr: string,
): ProbeOutcome {
  if (error && (error.code === 'ENOENT' || error.code === 'EACCES')) {
    return { kind: 'interpreter-missing', detail: error.message ?? String(error.code) };
  }
  const version = parseVersionOutput(stdout) ?? parseVersionOutput(stderr);
  if (!error && version) return { kind: 'ok', version };
  const text = `${stderr}\n${stdout}`.trim();
  if (/No module named '?keras_migrate/.test(text) || /No module named keras_migrate/.test(text)) {
    return { kind: 'not-installed', detail: text.split('\n').pop() ?? text };
  }
  if (!error && !version) return { kind: 'failed', detail: `unexpected --version output: ${text || '(empty)'}` };
  return { kind: 'failed', detail: text || error?.message || 'unknown error' };
}

export type VersionCheck = { ok: true } | { ok: false; message: string };

/** The extension and the server come from the same release: any difference is reported. */
export function checkServerVersion(extensionVersion: string, serverVersion: string | undefined): VersionCheck {
  if (!serverVersion) {
    return { ok: false, message: `The keras-migrate server did not report its version (extension ${extensionVersion}).` };
  }
  const norm = (v: string) => v.trim().replace(/^v/, '');
  if (norm(extensionVersion) === norm(serverVersion)) return { ok: true };
  return {
    ok: false,
    message:
      `Version mismatch: the Keras Migrate extension is ${extensionVersion} but the keras-migrate server ` +
      `in the chosen interpreter is ${serverVersion}. Install the matching version ` +
      `(pip install "keras-migrate==${extensionVersion}") or update the extension.`,
  };
}

/** pygls the server runs on must be 2.x (an older one in the environment can shadow it). */
export function checkPygls(pyglsVersion: string | undefined): VersionCheck {
  if (!pyglsVersion) return { ok: true };
  const major = Number.parseInt(pyglsVersion, 10);
  if (major === 2) return { ok: true };
  return {
    ok: false,
    message: `The keras-migrate server runs on pygls ${pyglsVersion}; it needs pygls 2.x. Run: pip install "pygls>=2,<3" in that interpreter.`,
  };
}

/**
 * The pip command offered when keras-migrate is missing (arguments, never a shell string):
 * the wheel the extension ships (built from the same checkout, so the server matches the
 * client, and nothing is looked up on an index by name), else the release of the same version.
 */
/**
 * Python code that starts `python -m keras_migrate ARGS` safely: run with `-I` (isolated mode)
 * neither the working directory nor PYTHONPATH nor the user site is on sys.path, so nothing in
 * a workspace (a `json.py`, `typing.py`, `libcst.py` or `keras_migrate/` folder) can shadow a
 * module and run in the server or the probe. The user site and absolute PYTHONPATH entries, the
 * user's own places, are added back at the end of sys.path, where they cannot shadow anything.
 */
export const SAFE_LAUNCH = [
  'import os, runpy, site, sys',
  "extra = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if os.path.isabs(p)]",
  "user = site.getusersitepackages() if not os.environ.get('PYTHONNOUSERSITE') else None",
  'for p in extra: sys.path.append(p)',
  'if user and os.path.isdir(user): site.addsitedir(user)',
  "sys.argv[0] = 'keras-migrate'",
  "runpy.run_module('keras_migrate', run_name='__main__', alter_sys=True)",
].join('\n');

/** The interpreter arguments that run `python -m keras_migrate ...args` as SAFE_LAUNCH does. */
export function safeModuleArgs(args: string[]): string[] {
  return ['-I', '-c', SAFE_LAUNCH, ...args];
}

export function installArgs(extensionVersion: string, bundledWheel?: string): string[] {
  return ['-m', 'pip', 'install', bundledWheel ?? `keras-migrate==${extensionVersion}`];
}

/** The shipped wheel of this version among the names in the extension's `python/` folder. */
export function pickBundledWheel(names: string[], extensionVersion: string): string | undefined {
  const want = `keras_migrate-${extensionVersion}-`;
  return names.find((n) => n.startsWith(want) && n.endsWith('.whl'));
}
