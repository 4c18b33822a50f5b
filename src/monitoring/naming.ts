// Physical names of the monitoring constructs: a global prefix, a per-construct part when needed, then a suffix.
import { Lazy, Names, Stack } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';

/** The monitoring constructs whose names share a namespace: two of one kind must not share a name. */
export type NamedKind = 'KeyDeletionMonitor' | 'KeyUsageAuditor';

interface Entry {
  readonly construct: IConstruct;
  readonly kind: NamedKind;
  readonly prefix: string;
}

/** Every named monitoring construct of an app, by the app's root: names are decided once the app is complete. */
const REGISTRY = new WeakMap<IConstruct, Entry[]>();

/**
 * The names of one monitoring construct, following cdk-monitoring-constructs: `<global prefix>[-<local part>]-<suffix>`.
 *
 * The global prefix is `CdkCmek-<stack name>` or the user's. The local part is added only when another construct
 * of the same kind in the app, in the same account and region, would otherwise get the same prefix: then each of
 * them carries its construct path within its stack (and its stack name when the group spans stacks). A single
 * construct therefore keeps the names it always had, and the choice never depends on construction order.
 */
export class MonitoringNames {
  /** `<global prefix>[-<local part>]`, resolved once the app is complete. */
  public readonly base: string;
  private readonly entry: Entry;

  constructor(construct: Construct, kind: NamedKind, prefix?: string) {
    const stack = Stack.of(construct);
    this.entry = { construct, kind, prefix: prefix ?? `CdkCmek-${stack.stackName}` };
    const root = construct.node.root;
    const entries = REGISTRY.get(root) ?? [];
    entries.push(this.entry);
    REGISTRY.set(root, entries);
    this.base = Lazy.string({ produce: () => this.resolveBase() });
  }

  /** A physical name: `<base>-<suffix>`. */
  public name(suffix: string): string {
    return `${this.base}-${suffix}`;
  }

  private resolveBase(): string {
    const group = (REGISTRY.get(this.entry.construct.node.root) ?? []).filter(
      (e) => e.kind === this.entry.kind && e.prefix === this.entry.prefix && sameEnvironment(e.construct, this.entry.construct),
    );
    if (group.length <= 1) return this.entry.prefix;
    const stacks = new Set(group.map((e) => Stack.of(e.construct)));
    return `${this.entry.prefix}-${localPart(this.entry.construct, stacks.size > 1)}`;
  }
}

function sameEnvironment(a: IConstruct, b: IConstruct): boolean {
  const sa = Stack.of(a);
  const sb = Stack.of(b);
  return sa.account === sb.account && sa.region === sb.region;
}

/** The construct's path within its stack (`Team-Monitor`), led by the stack name when stacks share a prefix. */
function localPart(construct: IConstruct, withStackName: boolean): string {
  const stack = Stack.of(construct);
  const scopes = construct.node.scopes;
  const path = scopes.slice(scopes.indexOf(stack) + 1).map((s) => s.node.id);
  return (withStackName ? [stack.stackName, ...path] : path).join('-');
}

/**
 * The alias of a key the library creates for itself, `alias/cdk-cmek/<stack name and construct path>-<hash>`: unique
 * in the account and region, within KMS's alias characters and length. Lazy, so it can name the key it is given to.
 */
export function libraryKeyAlias(key: () => IConstruct): string {
  return Lazy.string({
    produce: () => `alias/cdk-cmek/${Names.uniqueResourceName(key(), { maxLength: 200, separator: '-', allowedSpecialCharacters: '-_' })}`,
  });
}
