// Settings translation: VS Code's `keras-migrate.*` configuration -> the server's
// `initializationOptions.settings` (camelCase keys, the same names as the
// `[tool.keras-migrate]` table). No `vscode` import: unit-tested with node --test.
//
// A bad value is never passed through: it falls back to the default and is reported, so the
// server always receives a well-typed object (it still validates on its side).

import { expandPath } from './interpreter';

export const SECTION = 'keras-migrate';
export const BACKENDS = ['tensorflow', 'jax', 'torch'] as const;
export type Backend = (typeof BACKENDS)[number];
export const LOG_LEVELS = ['error', 'warning', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerSettings {
  select: string[];
  ignore: string[];
  perFileIgnores: Record<string, string[]>;
  exclude: string[];
  targetBackends: Backend[];
  kerasVersion: string;
  unsafeFixes: boolean;
  logLevel: LogLevel;
  debounceMs: number;
  /** Interpreter for "Run File on Backend"; empty: the server's own. Never sent when untrusted. */
  runInterpreter: string;
  lintRun: LintRun;
  /** codeAction.disableRuleComment.enable: offer the `# noqa` quick fix */
  disableRuleComment: boolean;
  configurationPreference: ConfigurationPreference;
}

export const LINT_RUN = ['onType', 'onSave'] as const;
export type LintRun = (typeof LINT_RUN)[number];
export const PREFERENCES = ['editorFirst', 'filesystemFirst', 'editorOnly'] as const;
export type ConfigurationPreference = (typeof PREFERENCES)[number];

/** The rule keys, shared with `[tool.keras-migrate]`: sent only when the user set them, so that
 * `configurationPreference: editorFirst` lets pyproject.toml decide what the editor leaves unset. */
export const RULE_KEYS = ['select', 'ignore', 'perFileIgnores', 'exclude', 'targetBackends', 'kerasVersion', 'unsafeFixes'] as const;

export const DEFAULTS: ServerSettings = {
  select: [],
  ignore: [],
  perFileIgnores: {},
  exclude: [],
  targetBackends: ['tensorflow'],
  kerasVersion: '',
  unsafeFixes: false,
  logLevel: 'warning',
  debounceMs: 150,
  runInterpreter: '',
  lintRun: 'onType',
  disableRuleComment: true,
  configurationPreference: 'editorFirst',
};

/** `WorkspaceConfiguration.inspect` fits: whether the user set a key at any level. */
export type ConfigInspector = (key: string) => { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown } | undefined;

/** Reads one key below `keras-migrate.` (e.g. `"select"`); `vscode.WorkspaceConfiguration.get` fits. */
export type ConfigGetter = (key: string) => unknown;

/** Settings that only take effect when the server process restarts. */
export const RESTART_KEYS = ['interpreter', 'importStrategy', 'logLevel'] as const;

export interface Translation {
  settings: ServerSettings;
  /** Human-readable problems with the user's values (each fell back to the default). */
  problems: string[];
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export interface TranslationContext {
  /** false in an untrusted workspace: no interpreter for running code is passed on */
  trusted?: boolean;
  workspaceFolder?: string;
  home?: string;
}

export function translateSettings(get: ConfigGetter, ctx: TranslationContext = {}, inspect?: ConfigInspector): Translation {
  const problems: string[] = [];
  const bad = (key: string, value: unknown, why: string) =>
    problems.push(`keras-migrate.${key}: ${JSON.stringify(value)} ${why}; using the default`);

  const strings = (key: 'select' | 'ignore' | 'exclude'): string[] => {
    const v = get(key);
    if (v === undefined || v === null) return [...DEFAULTS[key]];
    if (!isStringArray(v)) {
      bad(key, v, 'is not a list of strings');
      return [...DEFAULTS[key]];
    }
    return v.map((s) => s.trim()).filter((s) => s.length > 0);
  };

  const perFileIgnores: Record<string, string[]> = {};
  const pfi = get('perFileIgnores');
  if (pfi !== undefined && pfi !== null) {
    if (typeof pfi !== 'object' || Array.isArray(pfi)) {
      bad('perFileIgnores', pfi, 'is not an object of glob -> rule codes');
    } else {
      for (const [glob, codes] of Object.entries(pfi as Record<string, unknown>)) {
        if (isStringArray(codes)) perFileIgnores[glob] = [...codes];
        else if (typeof codes === 'string') perFileIgnores[glob] = [codes];
        else bad(`perFileIgnores["${glob}"]`, codes, 'is not a list of rule codes');
      }
    }
  }

  let targetBackends: Backend[] = [...DEFAULTS.targetBackends];
  const tb = get('targetBackends');
  if (tb !== undefined && tb !== null) {
    const list = typeof tb === 'string' ? [tb] : tb;
    if (!isStringArray(list)) {
      bad('targetBackends', tb, 'is not a list of backends');
    } else {
      const known = list.filter((b): b is Backend => (BACKENDS as readonly string[]).includes(b));
      const unknown = list.filter((b) => !(BACKENDS as readonly string[]).includes(b));
      if (unknown.length) bad('targetBackends', unknown, `names no backend (${BACKENDS.join(', ')})`);
      const unique = [...new Set(known)];
      if (unique.length) targetBackends = unique;
    }
  }

  let kerasVersion = DEFAULTS.kerasVersion;
  const kv = get('kerasVersion');
  if (typeof kv === 'string') kerasVersion = kv.trim();
  else if (typeof kv === 'number') kerasVersion = String(kv);
  else if (kv !== undefined && kv !== null) bad('kerasVersion', kv, 'is not a version string');

  let unsafeFixes = DEFAULTS.unsafeFixes;
  const uf = get('unsafeFixes');
  if (typeof uf === 'boolean') unsafeFixes = uf;
  else if (uf !== undefined && uf !== null) bad('unsafeFixes', uf, 'is not true or false');

  let logLevel = DEFAULTS.logLevel;
  const ll = get('logLevel');
  if (typeof ll === 'string' && (LOG_LEVELS as readonly string[]).includes(ll.toLowerCase())) {
    logLevel = ll.toLowerCase() as LogLevel;
  } else if (ll !== undefined && ll !== null) bad('logLevel', ll, `is not one of ${LOG_LEVELS.join(', ')}`);

  let debounceMs = DEFAULTS.debounceMs;
  const dm = get('debounceMs');
  if (typeof dm === 'number' && Number.isFinite(dm) && dm >= 0) debounceMs = Math.round(dm);
  else if (dm !== undefined && dm !== null) bad('debounceMs', dm, 'is not a non-negative number');

  let runInterpreter = DEFAULTS.runInterpreter;
  const ri = get('runInterpreter');
  if (typeof ri === 'string') {
    if (ctx.trusted !== false) runInterpreter = ri.trim() ? expandPath(ri, ctx) : '';
  } else if (ri !== undefined && ri !== null) bad('runInterpreter', ri, 'is not a path');

  const choice = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = get(key);
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    if (v !== undefined && v !== null) bad(key, v, `is not one of ${allowed.join(', ')}`);
    return fallback;
  };
  const lintRun = choice('lint.run', LINT_RUN, DEFAULTS.lintRun);
  const configurationPreference = choice('configurationPreference', PREFERENCES, DEFAULTS.configurationPreference);
  let disableRuleComment = DEFAULTS.disableRuleComment;
  const drc = get('codeAction.disableRuleComment.enable');
  if (typeof drc === 'boolean') disableRuleComment = drc;
  else if (drc !== undefined && drc !== null) bad('codeAction.disableRuleComment.enable', drc, 'is not true or false');

  const settings: ServerSettings = {
      select: strings('select'),
      ignore: strings('ignore'),
      perFileIgnores,
      exclude: strings('exclude'),
      targetBackends,
      kerasVersion,
      unsafeFixes,
      logLevel,
      debounceMs,
      runInterpreter,
      lintRun,
      disableRuleComment,
      configurationPreference,
  };
  if (inspect) {
    // rule keys the user did not set are left out: the server's defaults (or, with
    // editorFirst, pyproject.toml) decide them
    for (const key of RULE_KEYS) {
      const i = inspect(key);
      const set = i && [i.globalValue, i.workspaceValue, i.workspaceFolderValue].some((v) => v !== undefined);
      if (!set) delete (settings as Partial<ServerSettings>)[key];
    }
  }
  return { settings, problems };
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

/** Status-bar text for the target backends, e.g. `tensorflow` or `jax+torch`. */
export function backendsLabel(backends: readonly string[]): string {
  return backends.length ? backends.join('+') : DEFAULTS.targetBackends.join('+');
}
