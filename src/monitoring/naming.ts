// Physical names of the monitoring constructs: a global prefix, a per-construct part when needed, then a suffix.
import { Lazy, Names, Stack, Token } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';

/** CloudWatch's limit on an alarm name (PutMetricAlarm, AlarmName: 1 to 255 characters). */
export const ALARM_NAME_MAX_LENGTH = 255;

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
  /** The longest suffix this construct names anything with: it decides how long the base may be. */
  private readonly longestSuffix: string;

  /** `suffixes`: every suffix `name()` will be given. */
  constructor(construct: Construct, kind: NamedKind, prefix: string | undefined, suffixes: string[]) {
    const stack = Stack.of(construct);
    this.entry = { construct, kind, prefix: prefix ?? `CdkCmek-${stack.stackName}` };
    this.longestSuffix = suffixes.reduce((a, b) => (b.length > a.length ? b : a), '');
    this.validatePrefix(prefix);
    const root = construct.node.root;
    const entries = REGISTRY.get(root) ?? [];
    entries.push(this.entry);
    REGISTRY.set(root, entries);
    this.base = Lazy.string({ produce: () => this.resolveBase() });
    // The local part is known only once the app is complete: a name it makes too long is refused at synth.
    construct.node.addValidation({ validate: () => this.baseTooLong() });
  }

  /** A physical name: `<base>-<suffix>`. */
  public name(suffix: string): string {
    if (suffix.length > this.longestSuffix.length) throw new Error(`suffix ${suffix} is longer than the suffixes this name was checked for`);
    return `${this.base}-${suffix}`;
  }

  private validatePrefix(prefix: string | undefined): void {
    if (prefix === undefined || Token.isUnresolved(prefix)) return;
    const max = ALARM_NAME_MAX_LENGTH - 1 - this.longestSuffix.length;
    if (prefix.length > max) {
      throw new Error(
        `\`alarmNamePrefix\` must be at most ${max} characters (CloudWatch alarm names are at most ${ALARM_NAME_MAX_LENGTH}, ` +
          `and \`-${this.longestSuffix}\` is added), got: ${prefix.length} characters`,
      );
    }
  }

  private baseTooLong(): string[] {
    const base = this.resolveBase();
    const longest = `${base}-${this.longestSuffix}`;
    if (Token.isUnresolved(base) || longest.length <= ALARM_NAME_MAX_LENGTH) return [];
    return [
      `alarm name ${JSON.stringify(longest)} is ${longest.length} characters, over CloudWatch's ${ALARM_NAME_MAX_LENGTH}: ` +
        'its construct path was added to tell it from a monitor with the same prefix; give each a shorter `alarmNamePrefix` of its own',
    ];
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
