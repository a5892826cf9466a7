// Choices for "Run File on Backend...": backends and devices, the last choice offered first.
// Parses the server's `keras-migrate.listDevices` answer. No `vscode` import.

export const RUN_BACKENDS = ['jax', 'torch', 'tensorflow', 'all'] as const;
export type RunBackend = (typeof RUN_BACKENDS)[number];

export type Device = { kind: 'gpu'; index: number } | { kind: 'cpu' };

export interface Gpu {
  index: number;
  name: string;
  memoryUsed?: number | string;
  memoryTotal?: number | string;
}

export interface DeviceList {
  gpus: Gpu[];
  error?: string;
}

export interface RunChoice {
  backend: RunBackend;
  device: Device;
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
  if (d.kind === 'cpu') return true;
  return d.kind === 'gpu' && typeof d.index === 'number' && Number.isInteger(d.index) && d.index >= 0;
}

/** A stored last choice, validated (workspaceState may hold anything from older versions). */
export function parseRunChoice(v: unknown): RunChoice | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const c = v as { backend?: unknown; device?: unknown };
  if (!isRunBackend(c.backend) || !isDevice(c.device)) return undefined;
  return { backend: c.backend, device: c.device };
}

export function sameDevice(a: Device, b: Device): boolean {
  return a.kind === b.kind && (a.kind === 'cpu' || (b.kind === 'gpu' && a.index === b.index));
}

export function deviceLabel(d: Device): string {
  return d.kind === 'cpu' ? 'CPU' : `GPU ${d.index}`;
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

/** Tolerant parse of `{gpus: [{index, name, memoryUsed, memoryTotal}], error?}`. */
export function parseDeviceList(raw: unknown): DeviceList {
  if (!raw || typeof raw !== 'object') return { gpus: [], error: 'the server returned no device list' };
  const r = raw as { gpus?: unknown; error?: unknown };
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
      });
    }
  }
  gpus.sort((a, b) => a.index - b.index);
  const error = typeof r.error === 'string' && r.error.trim() ? r.error.trim() : undefined;
  return error ? { gpus, error } : { gpus };
}

const mem = (v: number | string | undefined) => (v === undefined ? '?' : typeof v === 'number' ? `${v} MiB` : v);

/** Devices: each GPU then CPU; the last choice first if it is still there. */
export function devicePicks(list: DeviceList, last?: Device): Pick<Device>[] {
  const picks: Pick<Device>[] = list.gpus.map((g) => ({
    label: `GPU ${g.index}`,
    description: g.name,
    detail:
      g.memoryUsed !== undefined || g.memoryTotal !== undefined
        ? `memory used ${mem(g.memoryUsed)} of ${mem(g.memoryTotal)} · CUDA_VISIBLE_DEVICES=${g.index}`
        : `CUDA_VISIBLE_DEVICES=${g.index}`,
    value: { kind: 'gpu', index: g.index } as Device,
  }));
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
