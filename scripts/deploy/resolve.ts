// Resolves a synthesized template's intrinsic functions against a deployed stack, so that what was deployed can be compared with what was synthesized.

/** A deployed resource: its type and physical id (what `Ref` returns for the types these apps use). */
export interface DeployedResource {
  readonly type: string;
  readonly physicalId: string;
}

/** What a template's tokens resolve against: the stack's environment, parameters and resources. */
export interface StackFacts {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  readonly stackId: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly resources: ReadonlyMap<string, DeployedResource>;
  /** The template's `Properties` of each resource, for attributes that depend on them (a role's path). */
  readonly properties?: ReadonlyMap<string, Record<string, unknown>>;
}

/** The value of `Fn::GetAtt <resource>.<attribute>` for one resource type, from its physical id. */
type Attribute = (physicalId: string, facts: StackFacts, props: Record<string, unknown>) => string;

/** The attributes the apps' policies, alarms and targets read; anything else fails loudly rather than compare wrongly. */
const ATTRIBUTES: Record<string, Record<string, Attribute>> = {
  'AWS::KMS::Key': {
    Arn: (id, f) => `arn:aws:kms:${f.region}:${f.account}:key/${id}`,
    KeyId: (id) => id,
  },
  'AWS::IAM::Role': {
    Arn: (id, f, p) => `arn:aws:iam::${f.account}:role${(p.Path as string | undefined) ?? '/'}${id}`,
  },
  'AWS::S3::Bucket': {
    Arn: (id) => `arn:aws:s3:::${id}`,
  },
  'AWS::SNS::Topic': {
    TopicArn: (id) => id,
    TopicName: (id) => id.split(':').pop()!,
  },
  'AWS::Logs::LogGroup': {
    Arn: (id, f) => `arn:aws:logs:${f.region}:${f.account}:log-group:${id}:*`,
  },
  'AWS::Lambda::Function': {
    Arn: (id, f) => (id.startsWith('arn:') ? id : `arn:aws:lambda:${f.region}:${f.account}:function:${id}`),
  },
  'AWS::Events::Rule': {
    Arn: (id, f) => (id.startsWith('arn:') ? id : `arn:aws:events:${f.region}:${f.account}:rule/${id}`),
  },
  'AWS::CloudTrail::Trail': {
    Arn: (id, f) => (id.startsWith('arn:') ? id : `arn:aws:cloudtrail:${f.region}:${f.account}:trail/${id}`),
  },
};

/** `Ref` of a pseudo parameter. */
function pseudo(name: string, f: StackFacts): string | undefined {
  switch (name) {
    case 'AWS::AccountId':
      return f.account;
    case 'AWS::Region':
      return f.region;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return f.stackName;
    case 'AWS::StackId':
      return f.stackId;
    default:
      return undefined;
  }
}

function ref(name: string, f: StackFacts): string {
  const value = pseudo(name, f) ?? f.parameters[name] ?? f.resources.get(name)?.physicalId;
  if (value === undefined) throw new Error(`cannot resolve {"Ref": "${name}"}: no such pseudo parameter, parameter or deployed resource`);
  return value;
}

function getAtt(logicalId: string, attribute: string, f: StackFacts): string {
  const resource = f.resources.get(logicalId);
  if (!resource) throw new Error(`cannot resolve Fn::GetAtt ${logicalId}.${attribute}: no such deployed resource`);
  const get = ATTRIBUTES[resource.type]?.[attribute];
  if (!get) throw new Error(`cannot resolve Fn::GetAtt ${logicalId}.${attribute}: ${resource.type}.${attribute} is not known to this resolver`);
  return get(resource.physicalId, f, f.properties?.get(logicalId) ?? {});
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what} must resolve to a string, got: ${JSON.stringify(value)}`);
  return value;
}

/** `${Name}` and `${Resource.Attribute}` in an `Fn::Sub` string; `${!Literal}` stays `${Literal}`. */
function sub(template: string, vars: Record<string, unknown>, f: StackFacts): string {
  return template.replace(/\$\{(!?)([^}]+)\}/g, (_, bang: string, name: string) => {
    if (bang) return `\${${name}}`;
    if (name in vars) return asString(vars[name], `Fn::Sub variable ${name}`);
    const dot = name.indexOf('.');
    return dot > 0 && !name.startsWith('AWS::') ? getAtt(name.slice(0, dot), name.slice(dot + 1), f) : ref(name, f);
  });
}

/** Returns `value` with every `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split` and `Fn::Sub` resolved. */
export function resolveTokens(value: unknown, f: StackFacts): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveTokens(v, f));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [fn] = keys;
    const arg = obj[fn];
    switch (fn) {
      case 'Ref':
        return ref(asString(arg, 'Ref'), f);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = typeof arg === 'string' ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)] : (arg as string[]);
        return getAtt(logicalId, attribute, f);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown];
        return (resolveTokens(parts, f) as unknown[]).map((p) => asString(p, 'an Fn::Join part')).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = resolveTokens(arg, f) as [string | number, unknown[]];
        return list[Number(index)];
      }
      case 'Fn::Split': {
        const [sep, source] = resolveTokens(arg, f) as [string, string];
        return source.split(sep);
      }
      case 'Fn::Sub': {
        const [template, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
        return sub(template, resolveTokens(vars, f) as Record<string, unknown>, f);
      }
      default:
        if (fn.startsWith('Fn::') || fn === 'Condition') throw new Error(`cannot resolve ${fn}: not supported by this resolver`);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolveTokens(obj[k], f)]));
}

/** A value with object keys sorted at every level, for comparisons that ignore key order only. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(obj)
      .sort()
      .map((k) => [k, canonical(obj[k])]),
  );
}

/** The first path at which two values differ (key order ignored), or undefined when they are equal. */
export function firstDifference(expected: unknown, actual: unknown, at = '$'): string | undefined {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(expected[i], actual[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(expected) && isObj(actual)) {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) {
      if (!(k in a)) return `${at}.${k}: missing`;
      if (!(k in e)) return `${at}.${k}: unexpected ${JSON.stringify(a[k])}`;
      const d = firstDifference(e[k], a[k], `${at}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return expected === actual ? undefined : `${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}
