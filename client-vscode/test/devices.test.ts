import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  backendPicks,
  choiceLabel,
  deviceArgs,
  devicePicks,
  parseDeviceList,
  parseRunChoice,
  runEnvironment,
} from '../src/devices';
import { debugConfiguration } from '../src/debugConfig';

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

test('devices: Auto, then GPUs by index with their memory in use, then CPU', () => {
  const picks = devicePicks(
    parseDeviceList({
      gpus: [
        { index: 0, name: 'A', memoryUsed: 70000, memoryTotal: 81559, utilization: 88 },
        { index: 1, name: 'B', memoryUsed: 3, memoryTotal: 81559, utilization: 0 },
      ],
      leastUsed: 1,
    }),
  );
  assert.deepEqual(picks.map((p) => p.label), ['Auto', 'GPU 0', 'GPU 1', 'CPU']);
  assert.match(picks[1].detail ?? '', /68\.4 GiB of 79\.6 GiB in use · 88% busy/);
  assert.match(picks[2].description ?? '', /least used/);
  assert.match(picks[0].description ?? '', /least-used GPU: now GPU 1 \(3 MiB of 79\.6 GiB in use/);
});

test('devices: an inherited CUDA_VISIBLE_DEVICES is shown as the automatic choice', () => {
  const list = parseDeviceList({ gpus: [{ index: 0, name: 'A' }, { index: 1, name: 'B' }], cudaVisibleDevices: '1', leastUsed: 0 });
  const picks = devicePicks(list);
  assert.equal(picks[0].label, 'Auto: CUDA_VISIBLE_DEVICES=1');
  assert.match(picks[0].description ?? '', /keeps CUDA_VISIBLE_DEVICES=1 from the environment/);
  assert.deepEqual(picks[0].value, { kind: 'auto' });
  assert.deepEqual(deviceArgs({ kind: 'auto' }), []); // the runner applies the same rule
  assert.deepEqual(deviceArgs({ kind: 'gpu', index: 1 }), ['--gpu', '1']);
  assert.deepEqual(deviceArgs({ kind: 'cpu' }), ['--cpu']);
});

test('the run environment: a pick overrides CUDA_VISIBLE_DEVICES, auto keeps an inherited one', () => {
  assert.deepEqual(runEnvironment('jax', { kind: 'gpu', index: 1 }, '0'), {
    KERAS_BACKEND: 'jax',
    XLA_PYTHON_CLIENT_PREALLOCATE: 'false',
    TF_FORCE_GPU_ALLOW_GROWTH: 'true',
    PYTHONUNBUFFERED: '1',
    CUDA_VISIBLE_DEVICES: '1',
    CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
  });
  const kept = runEnvironment('torch', { kind: 'auto' }, '3');
  assert.equal(kept.CUDA_VISIBLE_DEVICES, undefined); // not set: the inherited 3 stays
  assert.equal(kept.CUDA_DEVICE_ORDER, undefined);
  assert.equal(runEnvironment('torch', { kind: 'auto' }, undefined, 2).CUDA_VISIBLE_DEVICES, '2');
  assert.equal(runEnvironment('torch', { kind: 'auto' }, undefined).CUDA_VISIBLE_DEVICES, '');
  assert.equal(runEnvironment('tensorflow', { kind: 'cpu' }, '0').CUDA_VISIBLE_DEVICES, '');
});

test('Debug File on Backend: a debugpy launch configuration with the run environment', () => {
  const cfg = debugConfiguration({
    file: '/w/train.py',
    backend: 'jax',
    device: { kind: 'gpu', index: 1 },
    python: '/w/.venv/bin/python',
    cwd: '/w',
    inheritedCudaVisibleDevices: '0',
    args: ['--epochs', '1'],
  });
  assert.deepEqual(cfg, {
    type: 'debugpy',
    request: 'launch',
    name: 'Keras Migrate: debug train.py on jax',
    program: '/w/train.py',
    args: ['--epochs', '1'],
    cwd: '/w',
    console: 'integratedTerminal',
    justMyCode: true,
    env: runEnvironment('jax', { kind: 'gpu', index: 1 }, '0'),
    python: '/w/.venv/bin/python',
  });
  assert.equal(cfg.env.KERAS_BACKEND, 'jax');
  assert.equal(cfg.env.CUDA_VISIBLE_DEVICES, '1');
  const auto = debugConfiguration({ file: '/w/a.py', backend: 'torch', device: { kind: 'auto' }, inheritedCudaVisibleDevices: '2' });
  assert.equal(auto.env.CUDA_VISIBLE_DEVICES, undefined);
  assert.equal(auto.cwd, '/w');
  assert.equal(auto.python, undefined); // the debugger's own choice
});

test('devices: the last choice first, if it still exists', () => {
  const list = parseDeviceList({ gpus: [{ index: 0, name: 'A' }, { index: 1, name: 'B' }] });
  assert.deepEqual(devicePicks(list, { kind: 'gpu', index: 1 }).map((p) => p.label), ['GPU 1', 'Auto', 'GPU 0', 'CPU']);
  assert.deepEqual(devicePicks(list, { kind: 'cpu' }).map((p) => p.label), ['CPU', 'Auto', 'GPU 0', 'GPU 1']);
  assert.match(devicePicks(list, { kind: 'cpu' })[0].description ?? '', /last used/);
  // GPU 7 has gone: order unchanged
  assert.deepEqual(devicePicks(list, { kind: 'gpu', index: 7 }).map((p) => p.label), ['Auto', 'GPU 0', 'GPU 1', 'CPU']);
});

test('no GPU: CPU only, with the reason', () => {
  const picks = devicePicks(parseDeviceList({ gpus: [], error: 'nvidia-smi: command not found' }));
  assert.deepEqual(picks.map((p) => p.label), ['Auto', 'CPU']);
  assert.match(picks[0].description ?? '', /no GPU visible: the CPU/);
  assert.match(picks[1].detail ?? '', /nvidia-smi/);
  assert.deepEqual(picks[1].value, { kind: 'cpu' });
});

test('stored last choice is validated', () => {
  assert.deepEqual(parseRunChoice({ backend: 'jax', device: { kind: 'gpu', index: 0 } }), {
    backend: 'jax',
    device: { kind: 'gpu', index: 0 },
  });
  assert.equal(parseRunChoice({ backend: 'mxnet', device: { kind: 'cpu' } }), undefined);
  assert.equal(parseRunChoice({ backend: 'jax', device: { kind: 'gpu' } }), undefined);
  assert.equal(parseRunChoice(undefined), undefined);
  assert.deepEqual(parseRunChoice({ backend: 'all', device: { kind: 'auto' }, smoke: true }), {
    backend: 'all',
    device: { kind: 'auto' },
    smoke: true,
  });
  assert.equal(choiceLabel({ backend: 'all', device: { kind: 'cpu' } }), 'all backends · CPU');
  assert.equal(choiceLabel({ backend: 'torch', device: { kind: 'gpu', index: 2 } }), 'torch · GPU 2');
});
