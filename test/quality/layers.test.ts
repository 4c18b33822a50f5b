// The import rules of src/: layers point down, runtime code stays free of the CDK, and no file imports itself in a loop.
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Layers, lowest first: a file may import from its own layer or a lower one. */
const LAYERS: Record<string, number> = {
  private: 0,
  key: 1,
  bucket: 2,
  envelope: 2,
  grant: 2,
  organization: 2,
  monitoring: 3,
  fleet: 4,
};

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return filesUnder(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every module a file imports or re-exports (`import type` included: it still couples the files). */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+'([^']+)'/g), ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g),
    ...text.matchAll(/\brequire\(\s*'([^']+)'\s*\)/g),
  ];
  return found.map((m) => m[1]);
}

/** The project file a relative import names, or undefined for a package. */
function target(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts'), base].find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
}

const rel = (f: string) => path.relative(ROOT, f);
const area = (f: string) => rel(f).split(path.sep)[1];
const isRuntime = (f: string) => rel(f).split(path.sep).includes('runtime') || area(f) === 'cli';

const SRC = filesUnder(path.join(ROOT, 'src'));

describe('import rules', () => {
  test('GIVEN every file in src/ WHEN its imports are read THEN none points to a higher layer', () => {
    const upward: string[] = [];
    for (const file of SRC.filter((f) => LAYERS[area(f)] !== undefined)) {
      for (const spec of imports(file)) {
        const to = target(file, spec);
        if (to === undefined || LAYERS[area(to)] === undefined) continue;
        if (LAYERS[area(to)] > LAYERS[area(file)]) upward.push(`${rel(file)} → ${rel(to)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  test('GIVEN a library file WHEN its imports are read THEN none is runtime or CLI code', () => {
    const wrong = SRC.filter((f) => !isRuntime(f)).flatMap((file) =>
      imports(file).map((s) => target(file, s)).filter((to): to is string => to !== undefined && isRuntime(to)).map((to) => `${rel(file)} → ${rel(to)}`));
    expect(wrong).toEqual([]);
  });

  test('GIVEN runtime and CLI code WHEN everything it imports is followed THEN none of it loads aws-cdk-lib or constructs', () => {
    const offenders: string[] = [];
    for (const start of SRC.filter(isRuntime)) {
      const seen = new Set<string>();
      const stack = [start];
      while (stack.length > 0) {
        const file = stack.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const spec of imports(file)) {
          if (/^(aws-cdk-lib|constructs)(\/|$)/.test(spec)) offenders.push(`${rel(start)} loads ${spec} through ${rel(file)}`);
          const to = target(file, spec);
          if (to !== undefined && to.startsWith(path.join(ROOT, 'src'))) stack.push(to);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  test.each(['src', 'bench'])('GIVEN %s/ WHEN the import graph is walked THEN it has no cycle', (dir) => {
    const files = filesUnder(path.join(ROOT, dir));
    const within = (f: string) => imports(f).map((s) => target(f, s)).filter((t): t is string => t !== undefined && files.includes(t));
    const edges = new Map(files.map((f) => [f, within(f)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map(rel).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const to of edges.get(f) ?? []) visit(to, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  test('GIVEN every file in src/ WHEN counted THEN none is over 400 lines', () => {
    const long = SRC.map((f) => [rel(f), fs.readFileSync(f, 'utf8').split('\n').length - 1] as const).filter(([, n]) => n > 400);
    expect(long).toEqual([]);
  });
});
