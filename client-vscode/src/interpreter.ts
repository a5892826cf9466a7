// Interpreter choice, how the server is started, and the start-up probe's interpretation.
// No `vscode` import.
//
// Order: the `keras-migrate.interpreter` setting, else the interpreter selected in the Python
// extension, else `python3`. In an untrusted workspace a workspace-level setting is ignored
// and the Python extension is not asked (it may point at a workspace venv): only the
// user-level setting or `python3` can start a process there.
//
// The server comes from the extension's own copy (`importStrategy: useBundled`, the default:
// `<py> -I <ext>/bundled/tool/launch.py server`, with every library in bundled/libs) or from
// the interpreter's environment (`fromEnvironment`: `<py> -I -m keras_migrate server`). Both
// run isolated (`-I`: no working directory, script folder, PYTHONPATH or user site-packages on
// sys.path) from a working directory outside the workspace, so no workspace file can shadow a
// module the server imports.

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
  | { kind: 'ok'; version: string; python?: string; bundled?: boolean }
  | { kind: 'interpreter-missing'; detail: string }
  | { kind: 'not-installed'; detail: string }
  | { kind: 'unsupported'; detail: string }
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
  const probe = parseProbeJson(stdout);
  if (!error && probe) return { kind: 'ok', version: probe.version, python: probe.python, bundled: probe.bundled };
  const version = parseVersionOutput(stdout) ?? parseVersionOutput(stderr);
  if (!error && version) return { kind: 'ok', version };
  const text = `${stderr}\n${stdout}`.trim();
  const said = /^keras-migrate: (.*)$/m.exec(text); // the launcher's own refusal (exit 3)
  if (said && error && error.code === 3) return { kind: 'unsupported', detail: said[1] };
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
      `in the chosen interpreter is ${serverVersion} (keras-migrate.importStrategy: fromEnvironment). ` +
      `Install keras-migrate ${extensionVersion} there, or set keras-migrate.importStrategy to useBundled ` +
      `to use the server shipped with the extension.`,
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

export type ImportStrategy = 'useBundled' | 'fromEnvironment';

export function parseImportStrategy(v: unknown): ImportStrategy {
  return v === 'fromEnvironment' ? 'fromEnvironment' : 'useBundled';
}

/** The launcher's `--probe` line: `{"version", "python", "executable", "location", "bundled"}`. */
export function parseProbeJson(stdout: string): { version: string; python?: string; bundled?: boolean } | undefined {
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const o = JSON.parse(t) as { version?: unknown; python?: unknown; bundled?: unknown };
      if (typeof o.version === 'string') {
        return { version: o.version, python: typeof o.python === 'string' ? o.python : undefined, bundled: o.bundled === true };
      }
    } catch {
      // not the probe line
    }
  }
  return undefined;
}

export interface Launch {
  command: string;
  args: string[];
}

/** The launcher script inside the extension. */
export function launcherPath(extensionPath: string): string {
  return path.join(extensionPath, 'bundled', 'tool', 'launch.py');
}

/**
 * `<py> -I ...` for one keras-migrate subcommand (`server`, `run ...`) or the probe
 * (`--probe` / `--version`), from the bundled copy or the environment.
 */
export function launch(strategy: ImportStrategy, python: string, extensionPath: string, args: string[]): Launch {
  // fromEnvironment: isolated, with the user's site and absolute PYTHONPATH entries re-added last
  if (strategy === 'fromEnvironment') return { command: python, args: safeModuleArgs(args) };
  return { command: python, args: ['-I', launcherPath(extensionPath), ...args] };
}

export function probeLaunch(strategy: ImportStrategy, python: string, extensionPath: string): Launch {
  return launch(strategy, python, extensionPath, [strategy === 'fromEnvironment' ? '--version' : '--probe']);
}

/** Where the server's processes start: never a workspace folder (the extension's own folder). */
export function launchCwd(extensionPath: string): string {
  return extensionPath;
}

/**
 * Candidates to try in order: the choice, then `python3` when the choice came from the Python
 * extension and cannot run the server (an old Python, say). An explicit setting is never
 * replaced silently.
 */
export function fallbackCandidates(choice: InterpreterChoice): InterpreterChoice[] {
  if (choice.source === 'python-extension' && choice.path !== DEFAULT_INTERPRETER) {
    return [choice, { path: DEFAULT_INTERPRETER, source: 'default' }];
  }
  return [choice];
}

/**
 * A short name for an interpreter, for the language status item (the full path is in its
 * link's tooltip and the log): `Python 3.12 (.venv)` for `<dir>/.venv/bin/python` when that
 * folder is a virtual environment (`isVenv(<dir>/.venv)`: it holds pyvenv.cfg), else the
 * file name (`Python 3.12 (python3)`).
 */
export function interpreterLabel(interpreter: string, version: string | undefined, isVenv: (dir: string) => boolean): string {
  const py = version ? `Python ${version}` : 'Python';
  const dir = path.dirname(interpreter);
  const env = path.dirname(dir);
  const inEnv = ['bin', 'Scripts'].includes(path.basename(dir)) && env !== dir && isVenv(env);
  return `${py} (${inEnv ? path.basename(env) : path.basename(interpreter)})`;
}
