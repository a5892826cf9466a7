import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { backendPicks, choiceLabel, devicePicks, parseDeviceList, parseRunChoice } from '../src/devices';

test('backends: the four choices, last one first', () => {
  assert.deepEqual(backendPicks().map((p) => p.value), ['jax', 'torch', 'tensorflow', 'all']);
  const picks = backendPicks('tensorflow');
  assert.deepEqual(picks.map((p) => p.value), ['tensorflow', 'jax', 'torch', 'all']);
  assert.match(picks[0].description ?? '', /last used/);
});

test('device list from the server is parsed tolerantly', () => {
  const list = parseDeviceList({
    gpus: [
      { index: 1, name: 'NVIDIA H100', memoryUsed: 10, memoryTotal: 81559 },
      { index: '0', name: 'NVIDIA A10', memoryUsed: '3 MiB', memoryTotal: '23028 MiB' },
      { index: -1, name: 'bogus' },
      'junk',
    ],
  });
  assert.deepEqual(list.gpus.map((g) => g.index), [0, 1]);
  assert.equal(list.error, undefined);
  assert.deepEqual(parseDeviceList(null), { gpus: [], error: 'the server returned no device list' });
  assert.deepEqual(parseDeviceList({ gpus: [], error: 'nvidia-smi not found' }), { gpus: [], error: 'nvidia-smi not found' });
});

test('devices: GPUs by index then CPU', () => {
  const picks = devicePicks(parseDeviceList({ gpus: [{ index: 0, name: 'A', memoryUsed: 1, memoryTotal: 2 }, { index: 1, name: 'B' }] }));
  assert.deepEqual(picks.map((p) => p.label), ['GPU 0', 'GPU 1', 'CPU']);
  assert.match(picks[0].detail ?? '', /1 MiB of 2 MiB/);
});

test('devices: the last choice first, if it still exists', () => {
  const list = parseDeviceList({ gpus: [{ index: 0, name: 'A' }, { index: 1, name: 'B' }] });
  assert.deepEqual(devicePicks(list, { kind: 'gpu', index: 1 }).map((p) => p.label), ['GPU 1', 'GPU 0', 'CPU']);
  assert.deepEqual(devicePicks(list, { kind: 'cpu' }).map((p) => p.label), ['CPU', 'GPU 0', 'GPU 1']);
  assert.match(devicePicks(list, { kind: 'cpu' })[0].description ?? '', /last used/);
  // GPU 7 has gone: order unchanged
  assert.deepEqual(devicePicks(list, { kind: 'gpu', index: 7 }).map((p) => p.label), ['GPU 0', 'GPU 1', 'CPU']);
});

test('no GPU: CPU only, with the reason', () => {
  const picks = devicePicks(parseDeviceList({ gpus: [], error: 'nvidia-smi: command not found' }));
  assert.equal(picks.length, 1);
  assert.equal(picks[0].label, 'CPU');
  assert.match(picks[0].detail ?? '', /nvidia-smi/);
  assert.deepEqual(picks[0].value, { kind: 'cpu' });
});

test('stored last choice is validated', () => {
  assert.deepEqual(parseRunChoice({ backend: 'jax', device: { kind: 'gpu', index: 0 } }), {
    backend: 'jax',
    device: { kind: 'gpu', index: 0 },
  });
  assert.equal(parseRunChoice({ backend: 'mxnet', device: { kind: 'cpu' } }), undefined);
  assert.equal(parseRunChoice({ backend: 'jax', device: { kind: 'gpu' } }), undefined);
  assert.equal(parseRunChoice(undefined), undefined);
  assert.equal(choiceLabel({ backend: 'all', device: { kind: 'cpu' } }), 'all backends · CPU');
  assert.equal(choiceLabel({ backend: 'torch', device: { kind: 'gpu', index: 2 } }), 'torch · GPU 2');
});
