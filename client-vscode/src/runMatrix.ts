// Result of the server's `keras-migrate.run`: parsing and the Markdown matrix shown at the end
// (the server sends `matrixMarkdown`; the client formats one itself only if it is missing).
// No `vscode` import.

export interface RunResult {
  backend: string;
  device: string;
  exitCode: number | null;
  wallTime: number | null;
  firstErrorLine: string;
  kerasBackend: string;
  kerasVersion: string;
  /** the device the backend reported using, in words (e.g. `gpu:0 (NVIDIA H100)`), if known */
  deviceUsed: string;
  devices: string;
  /** the server's own word for the outcome (`ok`, `failed`, `cancelled`, `not run`...), if sent */
  status: string;
}

export interface RunResponse {
  results: RunResult[];
  matrixMarkdown: string;
}

function deviceText(d: unknown): string {
  if (typeof d === 'string') return d;
  if (d && typeof d === 'object') {
    const o = d as { kind?: unknown; index?: unknown };
    if (o.kind === 'cpu') return 'CPU';
    if (o.kind === 'gpu') return `GPU ${String(o.index)}`;
  }
  return d === undefined || d === null ? '' : JSON.stringify(d);
}

function deviceEntry(x: unknown): string {
  if (typeof x === 'string') return x;
  if (x && typeof x === 'object') {
    const o = x as { kind?: unknown; id?: unknown; name?: unknown };
    if (typeof o.kind === 'string') {
      const id = o.id === undefined || o.id === null ? '' : `:${String(o.id)}`;
      return `${o.kind}${id}${typeof o.name === 'string' && o.name ? ` (${o.name})` : ''}`;
    }
  }
  return JSON.stringify(x);
}

function listText(v: unknown): string {
  if (Array.isArray(v)) return v.map(deviceEntry).join(', ');
  if (typeof v === 'string') return v;
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

export function parseRunResponse(raw: unknown): RunResponse {
  const r = (raw && typeof raw === 'object' ? raw : {}) as { results?: unknown; matrixMarkdown?: unknown };
  const results: RunResult[] = Array.isArray(r.results)
    ? r.results.map((x) => {
        const o = (x && typeof x === 'object' ? x : {}) as Record<string, unknown>;
        return {
          backend: typeof o.backend === 'string' ? o.backend : '?',
          device: deviceText(o.device),
          exitCode: typeof o.exitCode === 'number' ? o.exitCode : null,
          wallTime: typeof o.wallTime === 'number' ? o.wallTime : null,
          firstErrorLine: typeof o.firstErrorLine === 'string' ? o.firstErrorLine : '',
          kerasBackend: typeof o.kerasBackend === 'string' ? o.kerasBackend : '',
          kerasVersion: typeof o.kerasVersion === 'string' ? o.kerasVersion : '',
          deviceUsed: typeof o.deviceUsed === 'string' ? o.deviceUsed : '',
          devices: listText(o.devices),
          status: typeof o.status === 'string' ? o.status : '',
        };
      })
    : [];
  const matrixMarkdown =
    typeof r.matrixMarkdown === 'string' && r.matrixMarkdown.trim() ? r.matrixMarkdown : formatMatrix(results);
  return { results, matrixMarkdown };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();

export function status(r: RunResult): string {
  if (r.exitCode === null) return r.status || 'not run';
  return r.exitCode === 0 ? 'ok' : `exit ${r.exitCode}`;
}

export function seconds(t: number | null): string {
  return t === null ? '' : `${t.toFixed(1)} s`;
}

/** backend | device | status | wall time | Keras backend | devices | first error line */
export function formatMatrix(results: RunResult[]): string {
  const head = '| backend | device | status | wall time | Keras used | devices seen | first error |\n' +
    '|---|---|---|---|---|---|---|\n';
  if (!results.length) return head + '| (no results) | | | | | | |\n';
  return (
    head +
    results
      .map(
        (r) =>
          `| ${cell(r.backend)} | ${cell(r.device)} | ${status(r)} | ${seconds(r.wallTime)} | ` +
          `${cell(r.kerasBackend)} | ${cell(r.devices)} | ${cell(r.firstErrorLine)} |`,
      )
      .join('\n') +
    '\n'
  );
}

/** One line for a notification: `jax on CPU: ok in 3.2 s` / `torch on GPU 0: exit 1 — ValueError: ...`. */
export function summarize(results: RunResult[]): string {
  if (!results.length) return 'no backend ran';
  return results
    .map((r) => {
      const t = r.wallTime === null ? '' : ` in ${seconds(r.wallTime)}`;
      const err = r.exitCode !== 0 && r.firstErrorLine ? ` — ${r.firstErrorLine}` : '';
      const used = r.kerasBackend
        ? ` (Keras${r.kerasVersion ? ' ' + r.kerasVersion : ''} used ${r.kerasBackend} on ${r.deviceUsed || r.devices || '?'})`
        : '';
      return `${r.backend} on ${r.device || '?'}: ${status(r)}${t}${used}${err}`;
    })
    .join('; ');
}

export function allPassed(results: RunResult[]): boolean {
  return results.length > 0 && results.every((r) => r.exitCode === 0);
}
