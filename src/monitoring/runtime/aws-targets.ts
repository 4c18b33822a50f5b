// Where a multi-account audit runs: the caller's identity, the organization's active accounts, the opted-in Regions,
// and KMS clients on credentials assumed in each account.
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { BUILT_IN_REGIONS, REGION_PATTERN, roleArn, type AuditAccount } from './multi-account';
import { withThrottlingRetry, type AuditClock } from './rate-limit';

/** The caller's account and partition, from STS GetCallerIdentity. */
export async function callerIdentity(sts: STSClient): Promise<{ account: string; partition: string }> {
  const id = await sts.send(new GetCallerIdentityCommand({}));
  return { account: id.Account ?? '', partition: (id.Arn ?? 'arn:aws:').split(':')[1] || 'aws' };
}

/** Accounts of the organization whose status is ACTIVE (suspended and pending-closure ones cannot be audited). */
export async function activeOrganizationAccounts(org: OrganizationsClient, clock: AuditClock): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await withThrottlingRetry(() => org.send(new ListAccountsCommand({ NextToken: token })), clock, 8);
    for (const a of page.Accounts ?? []) {
      // `State` replaces `Status` in newer responses; either may be present.
      const state = (a as { State?: string }).State ?? a.Status;
      if (a.Id && state === 'ACTIVE') ids.push(a.Id);
    }
    token = page.NextToken;
  } while (token);
  return ids.sort();
}

/**
 * Regions enabled for the account (EC2 DescribeRegions without AllRegions lists opted-in and default ones only),
 * or the built-in list when the call fails; `fellBack` says which.
 */
export async function enabledRegions(ec2: EC2Client): Promise<{ regions: string[]; fellBack: boolean }> {
  try {
    const r = await ec2.send(new DescribeRegionsCommand({}));
    const regions = (r.Regions ?? []).map((x) => x.RegionName ?? '').filter((n) => REGION_PATTERN.test(n)).sort();
    if (regions.length > 0) return { regions, fellBack: false };
  } catch {
    // No ec2:DescribeRegions permission, or no endpoint: the built-in list still audits the default Regions.
  }
  return { regions: [...BUILT_IN_REGIONS], fellBack: true };
}

export interface AccountClientsOptions {
  readonly sts: STSClient;
  readonly partition: string;
  readonly roleName: string;
  readonly kmsEndpoint?: string;
  readonly sessionName?: string;
}

/** An account reached through `AssumeRole`, assumed once and shared by its Regions. */
export function assumedAccount(account: string, o: AccountClientsOptions): AuditAccount {
  let creds: Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> | undefined;
  const arn = roleArn(o.partition, account, o.roleName);
  return {
    account,
    kmsFor: async (region) => {
      creds ??= o.sts
        .send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: o.sessionName ?? 'cdk-cmek-audit', DurationSeconds: 3600 }))
        .then((r) => {
          const c = r.Credentials;
          if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
          return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
        });
      return new KMSClient({ region, endpoint: o.kmsEndpoint, credentials: await creds });
    },
  };
}

/** The current account, on the caller's own credentials. */
export function currentAccount(account: string, kmsEndpoint?: string): AuditAccount {
  return { account, kmsFor: async (region) => new KMSClient({ region, endpoint: kmsEndpoint }) };
}
