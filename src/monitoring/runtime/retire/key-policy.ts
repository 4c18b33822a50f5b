// Who else a key policy lets use the key: Allow statements whose principals are in other AWS accounts, or anyone.
// Pure: the policy text in, findings out, so every rule is tested on plain data.

/** A principal outside the key's account that the key policy allows; `name`/`qualified` are what `--force` takes. */
export interface OutsideAccess {
  readonly name: string;
  readonly qualified: string;
  readonly label: string;
  readonly reason: string;
}

/** The key policy's outside access, or why the policy could not be read. */
export type KeyPolicyFacts = { readonly outside: OutsideAccess[] } | { readonly unknown: string };

interface Statement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

/** The account of an AWS principal (an account id, or an IAM/STS ARN), or '*' for anyone. */
function principalAccount(p: string): string | undefined {
  if (p === '*') return '*';
  if (/^\d{12}$/.test(p)) return p;
  return /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(p)?.[1];
}

/** Accounts a caller-account condition limits a statement to, when it has one (kms:CallerAccount, aws:PrincipalAccount). */
function conditionAccounts(c: Statement['Condition']): string[] | undefined {
  for (const [op, keys] of Object.entries(c ?? {})) {
    if (!/^StringEquals(?:IgnoreCase)?$/.test(op)) continue;
    for (const [k, v] of Object.entries(keys ?? {})) {
      if (/^(?:kms:CallerAccount|aws:PrincipalAccount)$/i.test(k)) return list(v);
    }
  }
  return undefined;
}

/** The Allow statements of `policy` that let principals outside `account` use the key, one finding per account. */
export function outsideAccess(policy: string, account: string): OutsideAccess[] {
  const doc = JSON.parse(policy) as { Statement?: Statement | Statement[] };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  const found = new Map<string, OutsideAccess>();
  // The first statement that lets an account in is the one its finding names.
  const addAccount = (acct: string, reason: string) => {
    if (!found.has(acct)) found.set(acct, { name: acct, qualified: `account:${acct}`, label: `account ${acct}`, reason });
  };
  statements.forEach((st, i) => {
    if (st.Effect !== 'Allow') return;
    const sid = st.Sid || `statement-${i + 1}`;
    // NotPrincipal with Allow grants everyone but the listed principals.
    const principals = st.NotPrincipal !== undefined ? ['*']
      : st.Principal === '*' ? ['*'] : list((st.Principal as { AWS?: unknown } | undefined)?.AWS);
    for (const p of principals) {
      const acct = principalAccount(p);
      if (acct && acct !== '*' && acct !== account) {
        addAccount(acct, `the key policy lets account ${acct} use the key (statement ${sid}: ${p})`);
      } else if (acct === '*') {
        const limited = conditionAccounts(st.Condition);
        const others = limited?.filter((a) => a !== account);
        if (limited && others!.length === 0) continue;
        for (const a of others ?? []) addAccount(a, `the key policy lets account ${a} use the key (statement ${sid})`);
        if (!limited && !found.has(`statement:${sid}`)) {
          const cond = st.Condition ? ' under its conditions' : '';
          found.set(`statement:${sid}`, {
            name: sid,
            qualified: `statement:${sid}`,
            label: `statement ${sid}`,
            reason: `the key policy lets any principal${cond}, in any account, use the key (statement ${sid})`,
          });
        }
      }
    }
  });
  return [...found.values()];
}
