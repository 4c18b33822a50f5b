// The arguments of `cdk-cmek retire`, checked before any AWS call: the key, the action, the soak and the overrides.

/** A key id (UUID or multi-Region `mrk-`), key ARN, alias name or alias ARN, as KMS DescribeKey accepts them. */
const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/i;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/i;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;
const ALIAS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias\/[a-zA-Z0-9/_-]+$/;

/** Days a key stays disabled, with no use seen, before its deletion may be scheduled. */
export const DEFAULT_SOAK_DAYS = 30;
/** ScheduleKeyDeletion's longest window: retirement always takes it, so a mistake has the most time to surface. */
export const PENDING_WINDOW_DAYS = 30;
/** The tag `--disable` writes, so `--schedule` knows when the soak began without CloudTrail's 90-day history. */
export const DISABLED_AT_TAG = 'cdk-cmek:disabled-at';

/** What a run does: report only, disable, or schedule deletion. */
export type RetireAction = 'check' | 'disable' | 'schedule';

/** A bad argument: the CLI prints the message as one line and exits 2. */
export class RetireUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetireUsageError';
  }
}

function quote(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

/** The key argument, checked for shape; what it names is resolved later with DescribeKey. */
export function parseKeyArgument(value: string): string {
  if (KEY_ID.test(value) || KEY_ARN.test(value) || ALIAS_NAME.test(value) || ALIAS_ARN.test(value)) {
    if (/^(?:arn:[^:]+:kms:[^:]+:\d{12}:)?alias\/aws\//.test(value)) {
      throw new RetireUsageError(`\`<key>\` must name a customer-managed key, not an AWS managed alias (alias/aws/...), got: ${quote(value)}`);
    }
    return value;
  }
  throw new RetireUsageError(`\`<key>\` must be a key id, key ARN, alias name (alias/...) or alias ARN, got: ${quote(value)}`);
}

/** `--soak-days`: whole days from 1 to 3650, decimal digits only. */
export function parseSoakDays(value: string | undefined): number {
  if (value === undefined) return DEFAULT_SOAK_DAYS;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 3650) {
    throw new RetireUsageError(`\`--soak-days\` must be an integer from 1 to 3650, got: ${quote(value)}`);
  }
  return n;
}

/** `--disable` and `--schedule` are separate steps, with a soak between them. */
export function parseAction(o: { disable?: boolean; schedule?: boolean; force?: string[]; soakDays?: string }): RetireAction {
  if (o.disable && o.schedule) {
    throw new RetireUsageError('`--disable` and `--schedule` exclude each other: disable first, schedule after the soak, got both');
  }
  if (o.force?.length && !o.disable && !o.schedule) {
    throw new RetireUsageError(`\`--force\` overrides a refusal of --disable or --schedule, got it without either: --force ${o.force.join(',')}`);
  }
  if (o.soakDays !== undefined && o.disable) {
    throw new RetireUsageError(`\`--soak-days\` applies to --schedule (or the dry run), not --disable, got: ${quote(o.soakDays)}`);
  }
  return o.disable ? 'disable' : o.schedule ? 'schedule' : 'check';
}

/** `--force a,b --force c` → [a, b, c]; each name is a dependent's id or a service whose lookup failed. */
export function parseForce(values: string[] | undefined): string[] {
  const names = (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim());
  const bad = names.find((n) => n === '' || /\s/.test(n));
  if (bad !== undefined) {
    throw new RetireUsageError(`\`--force\` must name dependents (resource ids or ARNs) or services, comma-separated without spaces, got: ${quote(values?.join(','))}`);
  }
  return [...new Set(names)];
}
