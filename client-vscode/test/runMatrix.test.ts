import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { allPassed, formatMatrix, parseRunResponse, summarize } from '../src/runMatrix';

const response = {
  results: [
    {
      backend: 'jax',
      device: { kind: 'cpu' },
      exitCode: 0,
      wallTime: 3.21,
      firstErrorLine: '',
      kerasBackend: 'jax',
      kerasVersion: '3.15.1',
      deviceUsed: 'cpu',
      devices: [{ kind: 'cpu', id: 0 }],
      status: 'ok',
    },
    {
      backend: 'torch',
      device: 'CPU',
      exitCode: 1,
      wallTime: 2,
      firstErrorLine: 'ValueError: a | b\nsecond line',
      kerasBackend: 'torch',
      devices: 'cpu',
    },
  ],
};

test('the server matrix is used as is', () => {
  const r = parseRunResponse({ ...response, matrixMarkdown: '| server |\n' });
  assert.equal(r.matrixMarkdown, '| server |\n');
  assert.equal(r.results.length, 2);
});

test('the client formats a matrix when the server sent none', () => {
  const r = parseRunResponse(response);
  const lines = r.matrixMarkdown.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0], /backend \| device \| status \| wall time/);
  assert.equal(lines[2], '| jax | CPU | ok | 3.2 s | jax | cpu:0 |  |');
  // pipes escaped, newlines flattened: one row stays one row
  assert.equal(lines[3], '| torch | CPU | exit 1 | 2.0 s | torch | cpu | ValueError: a \\| b second line |');
});

test('summary line and pass/fail', () => {
  const r = parseRunResponse(response);
  assert.equal(
    summarize(r.results),
    'jax on CPU: ok in 3.2 s (Keras 3.15.1 used jax on cpu); ' +
      'torch on CPU: exit 1 in 2.0 s (Keras used torch on cpu) — ValueError: a | b\nsecond line',
  );
  assert.equal(allPassed(r.results), false);
  assert.equal(allPassed(r.results.slice(0, 1)), true);
  assert.equal(allPassed([]), false);
});

test('garbage in, empty matrix out', () => {
  const r = parseRunResponse(undefined);
  assert.deepEqual(r.results, []);
  assert.match(r.matrixMarkdown, /no results/);
  assert.equal(formatMatrix([]).split('\n').length, 4);
  assert.equal(summarize([]), 'no backend ran');
});

test('a backend that did not run says why', () => {
  const r = parseRunResponse({ results: [{ backend: 'torch', device: 'CPU', exitCode: null, status: 'not run' }] });
  assert.equal(summarize(r.results), 'torch on CPU: not run');
});
