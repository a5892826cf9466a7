// Settings forwarding: VS Code's `keras-migrate.*` configuration -> the server's
// `initializationOptions.settings` (the keys of settingsKeys.ts, generated with package.json's
// configuration from the server's settings schema). No `vscode` import: unit-tested with node --test.
//
// Nothing here checks a value: the server validates every one with the schema, reports a bad
// one (once, as a message) and uses the default. The client keeps only what is its own: which
// keys it sends (rule keys only when the user set them), the run interpreter's path expansion
// and trust, which changes restart the server, and the status bar's label.

import { expandPath } from './interpreter';
import { DEFAULT_TARGET_BACKENDS, RESTART_KEYS, RULE_KEYS, SERVER_KEYS } from './settingsKeys';

export { RESTART_KEYS, RULE_KEYS, SERVER_KEYS } from './settingsKeys';
export const SECTION = 'keras-migrate';

/** What the server receives: its keys (settingsKeys.ts), values as the user wrote them. */
export type ServerSettings = Record<string, unknown>;

/** `WorkspaceConfiguration.inspect` fits: whether the user set a key at any level. */
export type ConfigInspector = (key: string) => { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown } | undefined;

/** Reads one key below `keras-migrate.` (e.g. `"select"`); `vscode.WorkspaceConfiguration.get` fits. */
export type ConfigGetter = (key: string) => unknown;

export interface Translation {
  settings: ServerSettings;
}

export interface TranslationContext {
  /** false in an untrusted workspace: no interpreter for running code is passed on */
  trusted?: boolean;
  workspaceFolder?: string;
  home?: string;
}

const RULES: readonly string[] = RULE_KEYS;

/** `keras-migrate.runInterpreter` as the client runs it: `${workspaceFolder}` and `~` expanded,
 * empty in an untrusted workspace. A value that is not a string is left for the server to report. */
export function runInterpreter(value: unknown, ctx: TranslationContext = {}): unknown {
  if (ctx.trusted === false) return '';
  if (typeof value !== 'string') return value;
  return value.trim() ? expandPath(value, ctx) : '';
}

export function translateSettings(get: ConfigGetter, ctx: TranslationContext = {}, inspect?: ConfigInspector): Translation {
  const settings: ServerSettings = {};
  for (const [name, key] of Object.entries(SERVER_KEYS)) {
    if (inspect && RULES.includes(key)) {
      // a rule key the user did not set is left out: the server's defaults (or, with
      // editorFirst, pyproject.toml) decide it
      const i = inspect(name);
      if (!(i && [i.globalValue, i.workspaceValue, i.workspaceFolderValue].some((v) => v !== undefined))) continue;
    }
    const value = name === 'runInterpreter' ? runInterpreter(get(name), ctx) : get(name);
    if (value !== undefined) settings[key] = value;
  }
  return { settings };
}

/** What the client sends as `initializationOptions`. */
export interface InitializationOptions {
  settings: ServerSettings;
  /** VS Code's workspace trust: the server refuses to run code when false. */
  trusted: boolean;
}

export function initializationOptions(get: ConfigGetter, ctx: TranslationContext = {}): InitializationOptions {
  return { settings: translateSettings(get, ctx).settings, trusted: ctx.trusted !== false };
}

/** True when a configuration change needs a server restart (interpreter, logLevel). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_KEYS.some((k) => affects(`${SECTION}.${k}`));
}

/** Status-bar text for the target backends, e.g. `tensorflow` or `jax+torch` (what the user
 * set; the server reports a bad value). */
export function backendsLabel(backends: unknown): string {
  const list = typeof backends === 'string' ? [backends] : backends;
  const names = Array.isArray(list) ? list.filter((b): b is string => typeof b === 'string' && b.trim() !== '') : [];
  return names.length ? names.join('+') : DEFAULT_TARGET_BACKENDS.join('+');
}
