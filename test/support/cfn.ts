// Resolves the CloudFormation intrinsics a synthesized policy uses into the concrete values of one test deployment.
export interface CfnResolveOptions {
  readonly account: string;
  readonly region?: string;
  readonly partition?: string;
  /** Values for `Ref` and `Fn::GetAtt` of resources, by logical id (GetAtt as `Id.Attr`). */
  readonly values?: Record<string, string>;
}

/** Replaces Ref / Fn::GetAtt / Fn::Join / Fn::ImportValue with strings; unknown references fail loudly. */
export function resolveCfn(value: unknown, options: CfnResolveOptions): any {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': options.account,
    'AWS::Region': options.region ?? 'eu-west-1',
    'AWS::Partition': options.partition ?? 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const lookup = (name: string): string => {
    const v = pseudo[name] ?? options.values?.[name];
    if (v === undefined) throw new Error(`resolveCfn: no value for ${name}`);
    return v;
  };
  const walk = (v: unknown): any => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys;
      if (k === 'Ref') return lookup(o.Ref as string);
      if (k === 'Fn::GetAtt') {
        const [id, attr] = o[k] as [string, string];
        return lookup(`${id}.${attr}`);
      }
      if (k === 'Fn::ImportValue') return lookup(`Import:${walk(o[k])}`);
      if (k === 'Fn::Join') {
        const [sep, parts] = o[k] as [string, unknown[]];
        return (walk(parts) as string[]).join(sep);
      }
    }
    return Object.fromEntries(keys.map((key) => [key, walk(o[key])]));
  };
  return walk(value);
}
