import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  checkPygls,
  checkServerVersion,
  chooseInterpreter,
  classifyProbe,
  expandPath,
  installArgs,
  parseVersionOutput,
  pickBundledWheel,
} from '../src/interpreter';

const never = async (): Promise<string | undefined> => {
  throw new Error('the Python extension must not be asked here');
};

test('the setting wins over the Python extension', async () => {
  const c = await chooseInterpreter({
    trusted: true,
    setting: { workspaceValue: '${workspaceFolder}/.venv/bin/python' },
    pythonExtension: never,
    workspaceFolder: '/w',
  });
  assert.deepEqual(c, { path: '/w/.venv/bin/python', source: 'setting' });
});

test('workspace folder value beats workspace value beats user value', async () => {
  const c = await chooseInterpreter({
    trusted: true,
    setting: { globalValue: '/g/python', workspaceValue: '/ws/python', workspaceFolderValue: '/wf/python' },
  });
  assert.equal(c.path, '/wf/python');
  const d = await chooseInterpreter({ trusted: true, setting: { globalValue: '/g/python', workspaceValue: '/ws/python' } });
  assert.equal(d.path, '/ws/python');
});

test('then the Python extension', async () => {
  const c = await chooseInterpreter({ trusted: true, setting: { globalValue: '  ' }, pythonExtension: async () => '/env/bin/python' });
  assert.deepEqual(c, { path: '/env/bin/python', source: 'python-extension' });
});

test('then python3 (Python extension missing, failing or without a selection)', async () => {
  assert.deepEqual(await chooseInterpreter({ trusted: true, setting: {} }), { path: 'python3', source: 'default', ignoredUntrusted: undefined });
  assert.equal((await chooseInterpreter({ trusted: true, setting: {}, pythonExtension: async () => undefined })).path, 'python3');
  assert.equal((await chooseInterpreter({ trusted: true, setting: {}, pythonExtension: never })).path, 'python3');
});

test('untrusted: the workspace setting and the Python extension are ignored', async () => {
  const c = await chooseInterpreter({
    trusted: false,
    setting: { workspaceValue: './evil/python' },
    pythonExtension: never,
  });
  assert.deepEqual(c, { path: 'python3', source: 'default', ignoredUntrusted: './evil/python' });
  const d = await chooseInterpreter({
    trusted: false,
    setting: { globalValue: '~/venvs/km/bin/python', workspaceFolderValue: './evil/python' },
    home: '/home/u',
  });
  assert.deepEqual(d, { path: '/home/u/venvs/km/bin/python', source: 'setting', ignoredUntrusted: './evil/python' });
});

test('path expansion', () => {
  assert.equal(expandPath('~/x/python', { home: '/h' }), '/h/x/python');
  assert.equal(expandPath('${userHome}/p', { home: '/h' }), '/h/p');
  assert.equal(expandPath(' ${workspaceFolder}/.venv/bin/python ', { workspaceFolder: '/a b' }), '/a b/.venv/bin/python');
  assert.equal(expandPath('/abs/python', {}), '/abs/python');
});

test('--version output', () => {
  assert.equal(parseVersionOutput('keras-migrate 0.1.0\n'), '0.1.0');
  assert.equal(parseVersionOutput('keras-migrate 1.2.3rc1'), '1.2.3rc1');
  assert.equal(parseVersionOutput('Python 3.11.2'), undefined);
});

test('probe outcomes', () => {
  assert.deepEqual(classifyProbe(null, 'keras-migrate 0.1.0\n', ''), { kind: 'ok', version: '0.1.0' });
  assert.equal(classifyProbe({ code: 'ENOENT', message: 'spawn /nope ENOENT' }, '', '').kind, 'interpreter-missing');
  const ni = classifyProbe({ code: 1, message: 'Command failed' }, '', '/usr/bin/python3: No module named keras_migrate\n');
  assert.equal(ni.kind, 'not-installed');
  assert.equal(classifyProbe({ code: 1 }, '', 'Traceback...\nImportError: boom').kind, 'failed');
  assert.equal(classifyProbe(null, 'something else', '').kind, 'failed');
});

test('version mismatch is reported with both versions', () => {
  assert.deepEqual(checkServerVersion('0.1.0', '0.1.0'), { ok: true });
  const m = checkServerVersion('0.1.0', '0.2.0');
  assert.equal(m.ok, false);
  assert.match((m as { message: string }).message, /0\.1\.0.*0\.2\.0/);
  assert.equal(checkServerVersion('0.1.0', undefined).ok, false);
});

test('pygls must be 2.x', () => {
  assert.deepEqual(checkPygls('2.0.1'), { ok: true });
  assert.equal(checkPygls('1.3.1').ok, false);
  assert.deepEqual(checkPygls(undefined), { ok: true });
});

test('install command is an argument list: the bundled wheel, else the same version by name', () => {
  const wheel = '/ext/python/keras_migrate-0.1.0-py3-none-any.whl';
  assert.deepEqual(installArgs('0.1.0', wheel), ['-m', 'pip', 'install', wheel]);
  assert.deepEqual(installArgs('0.1.0'), ['-m', 'pip', 'install', 'keras-migrate==0.1.0']);
  // a path with spaces stays one argument
  assert.equal(installArgs('0.1.0', '/my ext/k.whl').length, 4);
});

test('the bundled wheel must be of the extension version', () => {
  const names = ['README.txt', 'keras_migrate-0.0.9-py3-none-any.whl', 'keras_migrate-0.1.0-py3-none-any.whl'];
  assert.equal(pickBundledWheel(names, '0.1.0'), 'keras_migrate-0.1.0-py3-none-any.whl');
  assert.equal(pickBundledWheel(names, '0.2.0'), undefined);
  assert.equal(pickBundledWheel(['keras_migrate-0.1.0.tar.gz'], '0.1.0'), undefined);
  assert.equal(pickBundledWheel([], '0.1.0'), undefined);
});
