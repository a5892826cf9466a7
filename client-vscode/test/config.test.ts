import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { backendsLabel, initializationOptions, needsRestart, RULE_KEYS, runInterpreter, SERVER_KEYS, translateSettings } from '../src/config';

const getter = (values: Record<string, unknown>) => (k: string) => values[k];

test('nothing set: nothing sent (the server has the defaults)', () => {
  assert.deepEqual(translateSettings(getter({})).settings, {});
});

test('VS Code configuration becomes initializationOptions.settings under the server keys, values as written', () => {
  const opts = initializationOptions(
    getter({
      select: ['K1', 'K201'],
      ignore: ['K301'],
      perFileIgnores: { 'tests/**': ['K3'] },
      exclude: ['build/**'],
      targetBackends: ['jax', 'torch'],
      kerasVersion: '3.6',
      unsafeFixes: true,
      logLevel: 'debug',
      debounceMs: 300,
      'lint.run': 'onSave',
      'codeAction.disableRuleComment.enable': false,
      configurationPreference: 'filesystemFirst',
      interpreter: '/usr/bin/python3', // client-only: never sent
      importStrategy: 'useBundled',
      'run.smoke': true,
      runInterpreter: '${workspaceFolder}/.venv-keras/bin/python',
      'trace.server': 'verbose',
    }),
    { trusted: true, workspaceFolder: '/w' },
  );
  assert.deepEqual(opts, {
    settings: {
      select: ['K1', 'K201'],
      ignore: ['K301'],
      perFileIgnores: { 'tests/**': ['K3'] },
      exclude: ['build/**'],
      targetBackends: ['jax', 'torch'],
      kerasVersion: '3.6',
      unsafeFixes: true,
      logLevel: 'debug',
      debounceMs: 300,
      runInterpreter: '/w/.venv-keras/bin/python',
      lintRun: 'onSave',
      disableRuleComment: false,
      configurationPreference: 'filesystemFirst',
    },
    trusted: true,
  });
});

test('no value is checked here: a bad one reaches the server, which reports it and uses the default', () => {
  const { settings } = translateSettings(getter({ targetBackends: ['mxnet'], debounceMs: -5, logLevel: 'trace' }));
  assert.deepEqual(settings, { targetBackends: ['mxnet'], debounceMs: -5, logLevel: 'trace' });
});

test('rule keys only when the user set them', () => {
  const values: Record<string, unknown> = { select: [], ignore: ['K301'], targetBackends: ['tensorflow'], unsafeFixes: false, logLevel: 'info' };
  const set = new Set(['ignore']); // what VS Code's inspect() reports as set at some level
  const { settings } = translateSettings(getter(values), {}, (k) => (set.has(k) ? { workspaceValue: values[k] } : {}));
  // editorFirst lets pyproject.toml decide what the editor leaves at its default
  assert.deepEqual(settings, { ignore: ['K301'], logLevel: 'info' });
});

test('the key lists come from the generated settingsKeys.ts', () => {
  assert.equal(SERVER_KEYS['lint.run'], 'lintRun');
  assert.ok(!('interpreter' in SERVER_KEYS) && !('trace.server' in SERVER_KEYS));
  assert.ok((RULE_KEYS as readonly string[]).includes('select'));
});

test('restart only for interpreter, importStrategy and logLevel', () => {
  const affects = (changed: string[]) => (s: string) => changed.some((c) => c === s || c.startsWith(s + '.'));
  assert.equal(needsRestart(affects(['keras-migrate.interpreter'])), true);
  assert.equal(needsRestart(affects(['keras-migrate.importStrategy'])), true);
  assert.equal(needsRestart(affects(['keras-migrate.logLevel'])), true);
  assert.equal(needsRestart(affects(['keras-migrate.select'])), false);
  assert.equal(needsRestart(affects(['keras-migrate.targetBackends'])), false);
  assert.equal(needsRestart(affects(['editor.fontSize'])), false);
});

test('status bar label of the target backends', () => {
  assert.equal(backendsLabel(['tensorflow']), 'tensorflow');
  assert.equal(backendsLabel(['jax', 'torch']), 'jax+torch');
  assert.equal(backendsLabel('torch'), 'torch');
  assert.equal(backendsLabel([]), 'tensorflow');
  assert.equal(backendsLabel(undefined), 'tensorflow');
});

test('untrusted: no run interpreter is passed on, and the server is told', () => {
  const opts = initializationOptions(getter({ runInterpreter: './evil/python' }), { trusted: false });
  assert.equal(opts.settings.runInterpreter, '');
  assert.equal(opts.trusted, false);
  assert.equal(runInterpreter('  ', { trusted: true }), '');
  assert.equal(runInterpreter('~/py', { trusted: true, home: '/h' }), '/h/py');
});
