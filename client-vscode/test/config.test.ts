import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { backendsLabel, DEFAULTS, initializationOptions, needsRestart, translateSettings } from '../src/config';

const getter = (values: Record<string, unknown>) => (k: string) => values[k];

test('defaults when nothing is set', () => {
  const { settings, problems } = translateSettings(getter({}));
  assert.deepEqual(settings, DEFAULTS);
  assert.deepEqual(problems, []);
});

test('VS Code configuration becomes camelCase initializationOptions.settings', () => {
  const opts = initializationOptions(
    getter({
      select: ['K1', ' K201 ', ''],
      ignore: ['K301'],
      perFileIgnores: { 'tests/**': ['K3'], 'legacy.py': 'K101' },
      exclude: ['build/**'],
      targetBackends: ['jax', 'torch', 'jax'],
      kerasVersion: ' 3.6 ',
      unsafeFixes: true,
      logLevel: 'DEBUG',
      debounceMs: 300.4,
      interpreter: '/usr/bin/python3', // client-only: never sent
      runInterpreter: '${workspaceFolder}/.venv-keras/bin/python',
      trace: { server: 'verbose' },
    }),
    { trusted: true, workspaceFolder: '/w' },
  );
  assert.deepEqual(opts, {
    settings: {
      select: ['K1', 'K201'],
      ignore: ['K301'],
      perFileIgnores: { 'tests/**': ['K3'], 'legacy.py': ['K101'] },
      exclude: ['build/**'],
      targetBackends: ['jax', 'torch'],
      kerasVersion: '3.6',
      unsafeFixes: true,
      logLevel: 'debug',
      debounceMs: 300,
      runInterpreter: '/w/.venv-keras/bin/python',
      lintRun: 'onType',
      disableRuleComment: true,
      configurationPreference: 'editorFirst',
    },
    trusted: true,
  });
});

test('lint.run, the noqa switch and configurationPreference; rule keys only when the user set them', () => {
  const values: Record<string, unknown> = {
    'lint.run': 'onSave',
    'codeAction.disableRuleComment.enable': false,
    configurationPreference: 'filesystemFirst',
    select: [],
    ignore: ['K301'],
    targetBackends: ['tensorflow'],
    unsafeFixes: false,
  };
  const set = new Set(['ignore']); // what VS Code's inspect() reports as set at some level
  const { settings, problems } = translateSettings(getter(values), {}, (k) => (set.has(k) ? { workspaceValue: values[k] } : {}));
  assert.deepEqual(problems, []);
  assert.equal(settings.lintRun, 'onSave');
  assert.equal(settings.disableRuleComment, false);
  assert.equal(settings.configurationPreference, 'filesystemFirst');
  // editorFirst lets pyproject.toml decide what the editor leaves at its default
  assert.deepEqual(Object.keys(settings).filter((k) => ['select', 'ignore', 'targetBackends', 'unsafeFixes'].includes(k)), ['ignore']);
  const bad = translateSettings(getter({ 'lint.run': 'sometimes', configurationPreference: 'mine' }));
  assert.equal(bad.settings.lintRun, 'onType');
  assert.equal(bad.settings.configurationPreference, 'editorFirst');
  assert.equal(bad.problems.length, 2);
});

test('bad values fall back to defaults and are reported', () => {
  const { settings, problems } = translateSettings(
    getter({
      select: 'K1',
      targetBackends: ['mxnet'],
      unsafeFixes: 'yes',
      logLevel: 'trace',
      debounceMs: -5,
      perFileIgnores: ['x'],
      kerasVersion: { v: 3 },
    }),
  );
  assert.deepEqual(settings, DEFAULTS);
  assert.equal(problems.length, 7, problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('targetBackends') && p.includes('mxnet')));
});

test('unknown backends are dropped, known ones kept', () => {
  const { settings, problems } = translateSettings(getter({ targetBackends: ['jax', 'cntk'] }));
  assert.deepEqual(settings.targetBackends, ['jax']);
  assert.equal(problems.length, 1);
});

test('a single backend string is accepted', () => {
  assert.deepEqual(translateSettings(getter({ targetBackends: 'torch' })).settings.targetBackends, ['torch']);
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
  assert.equal(backendsLabel([]), 'tensorflow');
});

test('untrusted: no run interpreter is passed on, and the server is told', () => {
  const opts = initializationOptions(getter({ runInterpreter: './evil/python' }), { trusted: false });
  assert.equal(opts.settings.runInterpreter, '');
  assert.equal(opts.trusted, false);
});
