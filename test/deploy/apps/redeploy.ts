// A deploy-only app in two versions (context `cmek-deploy:variant`: `before`, `after`): the changes a platform team makes to deployed keys, none of which may replace one.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { integApp, PLATFORM_ENV, VENDOR_ACCOUNT } from '../../../integ/support/integ-app';
import { CmekGrantee, CmekKey, CmekKeyFleet } from '../../../src';

const app = integApp();
// scripts/deploy/run.ts sets it; loading this file synthesizes the app, so the name is not exported from here.
const after = app.node.tryGetContext('cmek-deploy:variant') === 'after';
const stack = new Stack(app, 'CmekRedeploy', { env: PLATFORM_ENV });

const breakGlass = new iam.Role(stack, 'BreakGlass', {
  assumedBy: new iam.AccountRootPrincipal().withConditions({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } }),
  description: 'Assumed with MFA to delete or disable a key that is still in use',
});
const reader = new iam.Role(stack, 'Reader', {
  assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  description: 'A workload granted the key in the second version',
});

// Before: the vendor's account, guarded. After: the vendor revoked, a workload role added, the alias renamed, the guard off.
new CmekKey(stack, 'Key', {
  alias: after ? 'cmek/deploy-redeploy-renamed' : 'cmek/deploy-redeploy',
  grantees: after ? [CmekGrantee.principal(reader, { name: 'reader' })] : [CmekGrantee.account(VENDOR_ACCOUNT, { name: 'vendor' })],
  deletionGuard: after ? { enabled: false } : { exemptPrincipalArns: [breakGlass.roleArn] },
});

// A fleet that onboards a second tenant: the first tenant's key stays where it is.
new CmekKeyFleet(stack, 'Fleet', {
  shardCount: 2,
  aliasPattern: 'alias/cmek/deploy-fleet/{tenant}',
  keyDefaults: { deletionGuard: { exemptPrincipalArns: [breakGlass.roleArn] } },
  tenants: after ? [{ id: 'tenant-a' }, { id: 'tenant-b' }] : [{ id: 'tenant-a' }],
  knownTenantIds: ['tenant-a'],
});

app.synth();
