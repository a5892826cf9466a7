import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  checkPygls,
  checkServerVersion,
  chooseInterpreter,
  classifyProbe,
  expandPath,
  interpreterLabel,
  parseVersionOutput,
  fallbackCandidates,
  launch,
  launchCwd,
  parseImportStrategy,
  parseProbeJson,
  probeLaunch,
  safeModuleArgs,
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
  // no package name to install from an index: the bundled server is the way out
  assert.doesNotMatch((m as { message: string }).message, /pip install/);
  assert.match((m as { message: string }).message, /useBundled/);
  assert.equal(checkServerVersion('0.1.0', undefined).ok, false);
});

test('pygls must be 2.x', () => {
  assert.deepEqual(checkPygls('2.0.1'), { ok: true });
  assert.equal(checkPygls('1.3.1').ok, false);
  assert.deepEqual(checkPygls(undefined), { ok: true });
});

test('the server starts isolated (-I), bundled by default, from the extension folder', () => {
  assert.deepEqual(launch('useBundled', '/venv/bin/python', '/ext', ['server']), {
    command: '/venv/bin/python',
    args: ['-I', '/ext/bundled/tool/launch.py', 'server'],
  });
  // fromEnvironment: isolated too, through SAFE_LAUNCH (the user site re-added at the end)
  assert.deepEqual(launch('fromEnvironment', '/venv/bin/python', '/ext', ['server']), {
    command: '/venv/bin/python',
    args: safeModuleArgs(['server']),
  });
  assert.equal(safeModuleArgs(['server'])[0], '-I');
  assert.deepEqual(probeLaunch('useBundled', 'python3', '/ext').args, ['-I', '/ext/bundled/tool/launch.py', '--probe']);
  assert.deepEqual(probeLaunch('fromEnvironment', 'python3', '/ext').args, safeModuleArgs(['--version']));
  // never a workspace folder
  assert.equal(launchCwd('/ext'), '/ext');
  // a run: the runner CLI with its arguments, each one argument (no shell)
  const run = launch('useBundled', 'py', '/my ext', ['run', '/w/a b.py', '--backend', 'jax', '--cpu']);
  assert.deepEqual(run.args, ['-I', '/my ext/bundled/tool/launch.py', 'run', '/w/a b.py', '--backend', 'jax', '--cpu']);
  assert.equal(parseImportStrategy('fromEnvironment'), 'fromEnvironment');
  assert.equal(parseImportStrategy(undefined), 'useBundled');
  assert.equal(parseImportStrategy('bogus'), 'useBundled');
});

test("the launcher's probe line, its refusal, and fromEnvironment's missing package", () => {
  const line = '{"version": "0.1.0", "python": "3.11.2", "executable": "/v/bin/python", "location": "/ext/bundled/libs/keras_migrate", "bundled": true}\n';
  assert.deepEqual(parseProbeJson(line), { version: '0.1.0', python: '3.11.2', bundled: true });
  assert.deepEqual(classifyProbe(null, line, ''), { kind: 'ok', version: '0.1.0', python: '3.11.2', bundled: true });
  const old = classifyProbe(
    { code: 3, message: 'Command failed' },
    '',
    'keras-migrate: Python 3.9.18 at /usr/bin/python3.9 is too old: keras-migrate needs Python 3.10 or newer (set keras-migrate.interpreter)\n',
  );
  assert.equal(old.kind, 'unsupported');
  assert.match((old as { detail: string }).detail, /^Python 3\.9\.18 .* too old/);
  assert.equal(classifyProbe({ code: 1, message: 'x' }, '', 'No module named keras_migrate').kind, 'not-installed');
});

test('a Python extension choice that cannot run the server falls back to python3; a setting does not', () => {
  assert.deepEqual(fallbackCandidates({ path: '/py39/bin/python', source: 'python-extension' }).map((c) => c.path), [
    '/py39/bin/python',
    'python3',
  ]);
  assert.deepEqual(fallbackCandidates({ path: '/mine/python', source: 'setting' }).map((c) => c.path), ['/mine/python']);
  assert.deepEqual(fallbackCandidates({ path: 'python3', source: 'default' }).map((c) => c.path), ['python3']);
});

test('the language status names the environment, not the whole path', () => {
  const venvs = new Set(['/home/u/proj/.venv', '/tmp/x/bare-venv']);
  const isVenv = (d: string) => venvs.has(d);
  assert.equal(interpreterLabel('/home/u/proj/.venv/bin/python', '3.12.1', isVenv), 'Python 3.12.1 (.venv)');
  assert.equal(interpreterLabel('/tmp/x/bare-venv/bin/python3', '3.10.4', isVenv), 'Python 3.10.4 (bare-venv)');
  // not a venv (no pyvenv.cfg): the file's name, never "usr"
  assert.equal(interpreterLabel('/usr/bin/python3', '3.11.2', isVenv), 'Python 3.11.2 (python3)');
  assert.equal(interpreterLabel('python3', undefined, isVenv), 'Python (python3)');
});
