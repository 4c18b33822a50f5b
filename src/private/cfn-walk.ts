// One walk over resolved CloudFormation values (arrays, objects, `Ref`, `Fn::Join`, other intrinsics), for every check that reads them.

/** What the walk makes of each kind of value. Hooks left out keep the default. */
export interface CfnVisitor {
  /** `{ Ref: name }`. */
  readonly ref: (name: unknown) => unknown;
  /** `{ "Fn::Join": [separator, parts] }` with a list of parts, each already walked. */
  readonly join: (separator: unknown, parts: unknown[]) => unknown;
  /** Any other single-key `Fn::` object, or an `Fn::Join` that is not `[separator, [parts]]`. */
  readonly intrinsic: (value: Record<string, unknown>) => unknown;
  /** A string. @default - the string */
  readonly string?: (value: string) => unknown;
  /** A number, boolean or null. @default - the value */
  readonly scalar?: (value: unknown) => unknown;
  /** A list. @default - each element walked */
  readonly array?: (value: unknown[]) => unknown;
  /** An object that is no intrinsic. @default - each value walked, keys kept */
  readonly object?: (value: Record<string, unknown>) => unknown;
}

/**
 * Walks a resolved CloudFormation value. As in CloudFormation, an object is an intrinsic only when it has a single
 * key, `Ref` or `Fn::…`.
 */
export function walkCfn(value: unknown, visitor: CfnVisitor): unknown {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return visitor.string ? visitor.string(v) : v;
    if (Array.isArray(v)) return visitor.array ? visitor.array(v) : v.map(walk);
    if (v === null || typeof v !== 'object') return visitor.scalar ? visitor.scalar(v) : v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys;
      if (k === 'Ref') return visitor.ref(o.Ref);
      if (k === 'Fn::Join' && Array.isArray(o[k])) {
        const [separator, parts] = o[k] as unknown[];
        if (Array.isArray(parts)) return visitor.join(separator, parts.map(walk));
      }
      if (k.startsWith('Fn::')) return visitor.intrinsic(o);
    }
    return visitor.object ? visitor.object(o) : Object.fromEntries(keys.map((key) => [key, walk(o[key])]));
  };
  return walk(value);
}
