// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time per function, and inclusive
// time of the functions that live in a given file.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionTime {
  readonly name: string;
  readonly file: string;
  readonly ms: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Functions by self time, largest first. */
  readonly self: FunctionTime[];
  /** Functions of `ownFile` by inclusive time (each sample counted once per function on its stack), largest first. */
  readonly own: FunctionTime[];
}

function label(frame: ProfileNode['callFrame']): { name: string; file: string } {
  const name = frame.functionName || '(anonymous)';
  const url = frame.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('node_modules/');
  const file = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : path.basename(url) || '(native)';
  return { name, file: frame.lineNumber >= 0 && url ? `${file}:${frame.lineNumber + 1}` : file };
}

/**
 * Summarizes the profiles in `files` (runs of the same work), averaged over them; `ownFile` is the basename of the
 * script whose functions get inclusive times.
 */
export function summarizeProfile(files: string[], ownFile: string, top = 10): ProfileSummary {
  const self = new Map<string, FunctionTime>();
  const inclusive = new Map<string, FunctionTime>();
  const weight = 1 / files.length;
  const add = (m: Map<string, FunctionTime>, key: string, f: { name: string; file: string }, ms: number) => {
    const prev = m.get(key);
    m.set(key, { name: f.name, file: f.file, ms: (prev?.ms ?? 0) + ms * weight });
  };
  let totalMs = 0;
  for (const file of files) totalMs += addProfile(file, ownFile, self, inclusive, add) * weight;
  const sorted = (m: Map<string, FunctionTime>) => [...m.values()].sort((a, b) => b.ms - a.ms).slice(0, top);
  return { totalMs, self: sorted(self), own: sorted(inclusive) };
}

function addProfile(
  file: string,
  ownFile: string,
  self: Map<string, FunctionTime>,
  inclusive: Map<string, FunctionTime>,
  add: (m: Map<string, FunctionTime>, key: string, f: { name: string; file: string }, ms: number) => void,
): number {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(p.samples[i]);
    if (!leaf) continue;
    const lf = label(leaf.callFrame);
    add(self, `${lf.name}@${lf.file}`, lf, ms);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (!frame.url.endsWith(ownFile)) continue;
      const f = label(frame);
      const key = `${f.name}@${f.file}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, f, ms);
    }
  }
  return (p.endTime - p.startTime) / 1000;
}
