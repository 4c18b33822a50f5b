// Integration app for CmekOrganizationGuard: the deletion guard for every key in an organization, as an RCP and as an SCP.
import { Duration, Stack } from 'aws-cdk-lib';
import { CmekOrganizationGuard, CmekOrganizationPolicyType } from '../src';
import { breakGlassPrincipal, integApp, namedRole, PLATFORM_ENV, VENDOR_ACCOUNT, vendorStack } from './support/integ-app';

const app = integApp();

// Organizations policies are created from the management account (or a delegated administrator for policies).
const management = new Stack(app, 'CmekOrganizationInteg', { env: PLATFORM_ENV });

// A member account's break-glass role, the one both policies exempt there (a StackSet would create it in every account).
const member = vendorStack(app, 'CmekOrganizationIntegMember', management);
namedRole(member, 'cmek-integ-org-break-glass', 'Assumed with MFA to delete or disable a key that is still in use', breakGlassPrincipal());

// The RCP on the whole organization: every key of every member account, fail closed, a 30-day floor. The pattern
// exempts the break-glass role of that name in the key's own account only.
new CmekOrganizationGuard(management, 'KeyDeletionGuard', {
  targetIds: ['r-ab12'],
  minDaysUnused: 90,
  exemptPrincipalArns: ['arn:aws:iam::*:role/cmek-integ-org-break-glass'],
});

// The SCP variant, for one OU and one account: the same conditions without a Principal, a concrete exemption,
// fail open and a 21-day floor.
new CmekOrganizationGuard(management, 'KeyDeletionGuardScp', {
  policyType: CmekOrganizationPolicyType.SERVICE_CONTROL_POLICY,
  targetIds: ['ou-ab12-cdef3456', VENDOR_ACCOUNT],
  exemptPrincipalArns: [`arn:aws:iam::${VENDOR_ACCOUNT}:role/cmek-integ-org-break-glass`],
  allowWhenUsageUnknown: true,
  minPendingWindow: Duration.days(21),
});

app.synth();
