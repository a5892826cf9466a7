// Choices for "Run File on Backend...": backends and devices, the last choice offered first.
// Parses the server's `keras-migrate.listDevices` answer. No `vscode` import.

export const RUN_BACKENDS = ['jax', 'torch', 'tensorflow', 'all'] as const;
export type RunBackend = (typeof RUN_BACKENDS)[number];

/** `auto`: no choice -- the environment's CUDA_VISIBLE_DEVICES if set, else the least-used GPU, else the CPU. */
export type Device = { kind: 'gpu'; index: number } | { kind: 'cpu' } | { kind: 'auto' };

export interface Gpu {
  index: number;
  name: string;
  memoryUsed?: number | string;
  memoryTotal?: number | string;
  /** percent */
  utilization?: number | string;
}

export interface DeviceList {
  gpus: Gpu[];
  error?: string;
  /** the least-used GPU's index, as the server ranks them */
  leastUsed?: number;
  /** CUDA_VISIBLE_DEVICES inherited by the server (and the runs); undefined when unset */
  cudaVisibleDevices?: string;
}

export interface RunChoice {
  backend: RunBackend;
  device: Device;
  /** `keras-migrate run --smoke` */
  smoke?: boolean;
}

export interface Pick<T> {
  label: string;
  description?: string;
  detail?: string;
  value: T;
}

const BACKEND_TEXT: Record<RunBackend, { label: string; description: string }> = {
  jax: { label: 'jax', description: 'KERAS_BACKEND=jax' },
  torch: { label: 'torch', description: 'KERAS_BACKEND=torch' },
  tensorflow: { label: 'tensorflow', description: 'KERAS_BACKEND=tensorflow' },
  all: { label: 'all backends', description: 'jax, torch and tensorflow one after another; compare them' },
};

export function isRunBackend(v: unknown): v is RunBackend {
  return typeof v === 'string' && (RUN_BACKENDS as readonly string[]).includes(v);
}

export function isDevice(v: unknown): v is Device {
  if (!v || typeof v !== 'object') return false;
  const d = v as { kind?: unknown; index?: unknown };
  if (d.kind === 'cpu' || d.kind === 'auto') return true;
  return d.kind === 'gpu' && typeof d.index === 'number' && Number.isInteger(d.index) && d.index >= 0;
}

/** A stored last choice, validated (workspaceState may hold anything from older versions). */
export function parseRunChoice(v: unknown): RunChoice | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const c = v as { backend?: unknown; device?: unknown };
  if (!isRunBackend(c.backend) || !isDevice(c.device)) return undefined;
  const out: RunChoice = { backend: c.backend, device: c.device };
  if ((v as { smoke?: unknown }).smoke === true) out.smoke = true;
  return out;
}

export function sameDevice(a: Device, b: Device): boolean {
  if (a.kind === 'gpu' && b.kind === 'gpu') return a.index === b.index;
  return a.kind === b.kind;
}

export function deviceLabel(d: Device): string {
  return d.kind === 'cpu' ? 'CPU' : d.kind === 'auto' ? 'auto device' : `GPU ${d.index}`;
}

export function choiceLabel(c: RunChoice): string {
  return `${c.backend === 'all' ? 'all backends' : c.backend} · ${deviceLabel(c.device)}`;
}

/** Backends, the last one first (marked). */
export function backendPicks(last?: RunBackend): Pick<RunBackend>[] {
  const order: RunBackend[] = last ? [last, ...RUN_BACKENDS.filter((b) => b !== last)] : [...RUN_BACKENDS];
  return order.map((b) => ({
    label: BACKEND_TEXT[b].label,
    description: b === last ? `last used · ${BACKEND_TEXT[b].description}` : BACKEND_TEXT[b].description,
    value: b,
  }));
}

const num = (v: unknown): number | string | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;

/** Tolerant parse of `{gpus: [{index, name, memoryUsed, memoryTotal, utilization}], leastUsed?, cudaVisibleDevices?, error?}`. */
export function parseDeviceList(raw: unknown): DeviceList {
  if (!raw || typeof raw !== 'object') return { gpus: [], error: 'the server returned no device list' };
  const r = raw as { gpus?: unknown; error?: unknown; leastUsed?: unknown; cudaVisibleDevices?: unknown };
  const gpus: Gpu[] = [];
  if (Array.isArray(r.gpus)) {
    for (const g of r.gpus) {
      if (!g || typeof g !== 'object') continue;
      const o = g as Record<string, unknown>;
      const index = typeof o.index === 'number' ? o.index : Number.parseInt(String(o.index), 10);
      if (!Number.isInteger(index) || index < 0) continue;
      gpus.push({
        index,
        name: typeof o.name === 'string' ? o.name : `GPU ${index}`,
        memoryUsed: num(o.memoryUsed),
        memoryTotal: num(o.memoryTotal),
        utilization: num(o.utilization),
      });
    }
  }
  gpus.sort((a, b) => a.index - b.index);
  const out: DeviceList = { gpus };
  const error = typeof r.error === 'string' && r.error.trim() ? r.error.trim() : undefined;
  if (error) out.error = error;
  if (typeof r.leastUsed === 'number' && gpus.some((g) => g.index === r.leastUsed)) out.leastUsed = r.leastUsed;
  if (typeof r.cudaVisibleDevices === 'string') out.cudaVisibleDevices = r.cudaVisibleDevices;
  return out;
}

const mem = (v: number | string | undefined) => (v === undefined ? '?' : typeof v === 'number' ? `${v} MiB` : v);
const gib = (v: number | string | undefined) =>
  typeof v === 'number' ? (v >= 1024 ? `${(v / 1024).toFixed(1)} GiB` : `${v} MiB`) : mem(v);

/** `3 MiB of 79.6 GiB in use · 0% busy` */
export function gpuUse(g: Gpu): string {
  const parts: string[] = [];
  if (g.memoryUsed !== undefined || g.memoryTotal !== undefined) parts.push(`${gib(g.memoryUsed)} of ${gib(g.memoryTotal)} in use`);
  if (g.utilization !== undefined) parts.push(`${typeof g.utilization === 'number' ? `${g.utilization}%` : g.utilization} busy`);
  return parts.join(' · ');
}

/** What "no choice" runs on, in words. */
export function autoDescription(list: DeviceList): string {
  if (list.cudaVisibleDevices !== undefined) {
    return `keeps CUDA_VISIBLE_DEVICES=${list.cudaVisibleDevices === '' ? '""' : list.cudaVisibleDevices} from the environment`;
  }
  const least = list.gpus.find((g) => g.index === list.leastUsed);
  if (least) return `the least-used GPU: now GPU ${least.index} (${gpuUse(least) || least.name})`;
  return 'no GPU visible: the CPU';
}

/** Devices: the automatic choice, each GPU with its memory in use, then CPU; the last choice first. */
export function devicePicks(list: DeviceList, last?: Device): Pick<Device>[] {
  const picks: Pick<Device>[] = [
    {
      label: list.cudaVisibleDevices !== undefined ? `Auto: CUDA_VISIBLE_DEVICES=${list.cudaVisibleDevices || '""'}` : 'Auto',
      description: autoDescription(list),
      detail: list.cudaVisibleDevices !== undefined
        ? 'set before VS Code started: respected unless you pick a device here'
        : 'an existing CUDA_VISIBLE_DEVICES is kept; else the least-used GPU; else the CPU',
      value: { kind: 'auto' },
    },
  ];
  for (const g of list.gpus) {
    picks.push({
      label: `GPU ${g.index}`,
      description: `${g.name}${g.index === list.leastUsed ? ' · least used' : ''}`,
      detail: `${gpuUse(g) ? `${gpuUse(g)} · ` : ''}CUDA_VISIBLE_DEVICES=${g.index}`,
      value: { kind: 'gpu', index: g.index } as Device,
    });
  }
  picks.push({
    label: 'CPU',
    description: list.gpus.length ? 'no GPU used' : 'no GPU visible',
    detail: list.gpus.length ? 'CUDA_VISIBLE_DEVICES=""' : `CUDA_VISIBLE_DEVICES=""${list.error ? ` · ${list.error}` : ''}`,
    value: { kind: 'cpu' },
  });
  if (last) {
    const i = picks.findIndex((p) => sameDevice(p.value, last));
    if (i > 0) picks.unshift(...picks.splice(i, 1));
    if (i >= 0) picks[0] = { ...picks[0], description: `last used · ${picks[0].description ?? ''}`.replace(/ · $/, '') };
  }
  return picks;
}

/** The runner CLI's device arguments: none for auto (the CLI applies the same conventions). */
export function deviceArgs(d: Device): string[] {
  if (d.kind === 'cpu') return ['--cpu'];
  if (d.kind === 'gpu') return ['--gpu', String(d.index)];
  return [];
}

/**
 * The environment a run gets on top of the inherited one, as the runner sets it
 * (server/keras_migrate/runner/process.py child_environment): for the debugger, which starts the
 * program itself. `inherited` is the extension host's CUDA_VISIBLE_DEVICES (undefined: unset).
 */
export function runEnvironment(backend: string, d: Device, inherited: string | undefined, leastUsed?: number): Record<string, string> {
  const env: Record<string, string> = {
    KERAS_BACKEND: backend,
    XLA_PYTHON_CLIENT_PREALLOCATE: 'false',
    TF_FORCE_GPU_ALLOW_GROWTH: 'true',
    PYTHONUNBUFFERED: '1',
  };
  let chosen: Device = d;
  if (d.kind === 'auto') {
    if (inherited !== undefined) return env; // respected as it is
    chosen = leastUsed !== undefined ? { kind: 'gpu', index: leastUsed } : { kind: 'cpu' };
  }
  env.CUDA_VISIBLE_DEVICES = chosen.kind === 'gpu' ? String(chosen.index) : '';
  env.CUDA_DEVICE_ORDER = 'PCI_BUS_ID';
  return env;
}
