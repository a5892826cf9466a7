// "Debug File on Backend...": the debugpy launch configuration with the environment a run
// gets (KERAS_BACKEND, CUDA_VISIBLE_DEVICES...; see devices.ts runEnvironment). No `vscode`
// import: unit-tested with node --test.

import * as path from 'path';
import { Device, runEnvironment } from './devices';

export const DEBUG_BACKENDS = ['jax', 'torch', 'tensorflow'] as const;
export type DebugBackend = (typeof DEBUG_BACKENDS)[number];

export interface DebugInputs {
  file: string;
  backend: DebugBackend;
  device: Device;
  /** the interpreter the program runs in (keras-migrate.runInterpreter, else the server's) */
  python?: string;
  /** the workspace folder holding the file, else its folder */
  cwd?: string;
  /** CUDA_VISIBLE_DEVICES of the extension host (undefined: unset) */
  inheritedCudaVisibleDevices?: string;
  leastUsedGpu?: number;
  args?: string[];
}

export interface DebugpyLaunch {
  type: 'debugpy';
  request: 'launch';
  name: string;
  program: string;
  args: string[];
  cwd: string;
  console: 'integratedTerminal';
  justMyCode: boolean;
  env: Record<string, string>;
  python?: string;
}

export function debugConfiguration(i: DebugInputs): DebugpyLaunch {
  const cfg: DebugpyLaunch = {
    type: 'debugpy',
    request: 'launch',
    name: `Keras Migrate: debug ${path.basename(i.file)} on ${i.backend}`,
    program: i.file,
    args: i.args ?? [],
    cwd: i.cwd ?? path.dirname(i.file),
    console: 'integratedTerminal',
    justMyCode: true,
    env: runEnvironment(i.backend, i.device, i.inheritedCudaVisibleDevices, i.leastUsedGpu),
  };
  if (i.python) cfg.python = i.python;
  return cfg;
}
