// Packaging check: the shipped bundle (out/extension.js, the only code in the .vsix) loads
// with nothing but `vscode` and Node built-ins, and exports activate/deactivate.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinModules } from 'node:module';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('node:module');
const root = path.resolve(__dirname, '..', '..', '..');
const bundle = path.join(root, 'out', 'extension.js');

test('bundle exists (run `npm run bundle`)', () => {
  assert.ok(fs.existsSync(bundle), `${bundle} is missing`);
});

test('bundle requires only vscode and Node built-ins, and exports activate', () => {
  const requested = new Set<string>();
  // a stand-in `vscode`: any property is a class, enough for module-level `extends vscode.X`
  const stub: unknown = new Proxy({}, { get: () => class {} });
  const original = Module._load;
  Module._load = function (request: string, parent: unknown, isMain: boolean) {
    if (request === 'vscode') return stub;
    requested.add(request);
    return original.call(this, request, parent, isMain);
  };
  try {
    // only modules the bundle itself asks for are recorded from here on
    delete require.cache[bundle];
    const ext = require(bundle);
    assert.equal(typeof ext.activate, 'function');
    assert.equal(typeof ext.deactivate, 'function');
  } finally {
    Module._load = original;
  }
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const foreign = [...requested].filter((r) => r !== bundle && !builtins.has(r));
  assert.deepEqual(foreign, [], `the bundle loads modules that are not shipped: ${foreign.join(', ')}`);
});
