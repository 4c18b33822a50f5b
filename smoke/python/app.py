"""The example app (examples/app.ts and examples/platform-stack.ts) written in Python against the built wheel.

Same stacks, ids and values as the TypeScript app, checked by cdk-nag's AwsSolutions rules: the smoke test compares
every template the two synthesize.
"""
import os

import jsii
from aws_cdk import (
    App,
    CfnResource,
    Stack,
    Validations,
    aws_iam as iam,
)
from cdk_nag import AwsSolutionsChecks
from constructs import IValidation
from cdk_cmek import (
    CmekAccessLogsBucket,
    CmekAction,
    CmekBucket,
    CmekGrant,
    CmekOrganizationGuard,
    CmekFleetKeyOptions,
    CmekFleetTenant,
    CmekGrantee,
    CmekKey,
    CmekKeyFleet,
    CmekReplicaKey,
    DeletionGuardOptions,
    EnvelopeEncryptedObject,
    EnvelopeSource,
    KeyDashboard,
    KeyDeletionMonitor,
    KeyUsageAuditor,
    KeyUsageAuditorOptions,
    KeyUsageAuditorStackSet,
)

# The vendor's AWS account: it processes our data with our key.
VENDOR_ACCOUNT = "111122223333"

# The break-glass role's name: exempt from the deletion guard, and written as a literal ARN so replicas can carry it.
BREAK_GLASS_ROLE = "cmek-key-break-glass"

# The seed object the TypeScript app encrypts, read from the same file so both apps hash the same asset.
SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "seed", "vendor-manifest.json")


class CmekPlatformStack(Stack):
    """The platform account's keys, its encrypted data bucket, the vendor's access to both, and the monitoring."""

    def __init__(self, scope, id, **kwargs):
        super().__init__(scope, id, **kwargs)
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)

        iam.Role(self, "KeyBreakGlass",
            role_name=BREAK_GLASS_ROLE,
            assumed_by=iam.AccountRootPrincipal().with_conditions({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
            description="Assumed with MFA to schedule deletion of, or disable, a CMEK key still in use",
        )
        break_glass_arn = self.format_arn(service="iam", region="", resource="role", resource_name=BREAK_GLASS_ROLE)

        self.key = CmekKey(self, "VendorKey",
            alias="cmek/acme-analytics",
            description="Acme Analytics processes the platform data lake with this key",
            grantees=[
                CmekGrantee.account(VENDOR_ACCOUNT, name="acme", via_services=[f"s3.{self.region}.amazonaws.com"]),
                CmekGrantee.role(f"arn:aws:iam::{VENDOR_ACCOUNT}:role/acme-audit",
                                 actions=[CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY]),
                CmekGrantee.account(VENDOR_ACCOUNT, name="acme-ebs", for_aws_resources=True,
                                    via_services=[f"ec2.{self.region}.amazonaws.com"]),
            ],
            additional_statements=[
                iam.PolicyStatement(sid="VendorKeyInventory", principals=[iam.AccountPrincipal(VENDOR_ACCOUNT)],
                                    actions=["kms:DescribeKey"], resources=["*"]),
            ],
            deletion_guard=DeletionGuardOptions(min_days_unused=365, exempt_principal_arns=[break_glass_arn]),
        )

        access_logs = CmekAccessLogsBucket(self, "AccessLogs")

        self.data = CmekBucket(self, "DataLake",
            encryption_key=self.key,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="data-lake/",
        )
        self.data.grant_cross_account_read(CmekGrantee.account(VENDOR_ACCOUNT, name="acme"))

        EnvelopeEncryptedObject(self, "VendorManifest",
            bucket=self.data.bucket,
            key=self.key,
            object_key="vendor/acme/manifest.json",
            source=EnvelopeSource.from_file(SEED),
            encryption_context={"vendor": "acme"},
            content_type="application/json",
        )

        CmekGrant(self, "AcmeAuditGrant",
            key=self.key,
            grantee_principal=f"arn:aws:iam::{VENDOR_ACCOUNT}:role/acme-audit",
            operations=[CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY],
            encryption_context_equals={"vendor": "acme"},
        )

        self.tenants = CmekKeyFleet(self, "TenantKeys",
            key_defaults=CmekFleetKeyOptions(
                grantees=[CmekGrantee.account(VENDOR_ACCOUNT, name="acme", via_services=[f"s3.{self.region}.amazonaws.com"])],
                deletion_guard=DeletionGuardOptions(exempt_principal_arns=[break_glass_arn]),
                multi_region=True,
            ),
            tenants=[CmekFleetTenant(id="globex"), CmekFleetTenant(id="initech", name="initech-eu")],
            known_tenant_ids=["globex", "initech"],
        )

        monitor = KeyDeletionMonitor(self, "KeyDeletionMonitor", keys=[self.key])
        auditor = KeyUsageAuditor(self, "KeyUsageAuditor", threshold_days=365, alias_prefix="alias/cmek/", topic=monitor.topic)
        KeyDashboard(self, "KeyDashboard", monitor=monitor, auditor=auditor)
        reason_cross_region_reference_functions(self)


@jsii.implements(IValidation)
class _CrossRegionReferenceReasons:
    """Reasons aws-cdk-lib's cross-region reference functions for checkov and cfn-lint, once aws-cdk-lib has added them."""

    def __init__(self, stack):
        self._stack = stack

    def validate(self):
        for c in self._stack.node.find_all():
            if not isinstance(c, CfnResource) or c.cfn_resource_type != "AWS::Lambda::Function" \
                    or "CrossRegionExport" not in c.node.path:
                continue
            c.add_metadata("checkov", {"skip": [
                {"id": "CKV_AWS_116", "comment": "aws-cdk-lib cross-region reference function, invoked synchronously by CloudFormation"},
                {"id": "CKV_AWS_117", "comment": "aws-cdk-lib cross-region reference function, calls only the SSM public endpoint"},
                {"id": "CKV_AWS_115", "comment": "aws-cdk-lib cross-region reference function, runs only during deployments"},
            ]})
            c.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]},
                                        "comment": "aws-cdk-lib makes the function depend on its role explicitly"})
        return []


def reason_cross_region_reference_functions(stack):
    stack.node.add_validation(_CrossRegionReferenceReasons(stack))


class CmekDisasterRecoveryStack(Stack):
    """A replica, in the recovery region, of one tenant's multi-Region key: same policy, guard, window and alias."""

    def __init__(self, scope, id, *, primary, **kwargs):
        super().__init__(scope, id, **kwargs)
        CmekReplicaKey(self, "GlobexReplica", primary=primary)
        reason_cross_region_reference_functions(self)


app = App()
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
account = os.environ.get("CDK_DEFAULT_ACCOUNT", "999999999999")
region = os.environ.get("CDK_DEFAULT_REGION", "eu-west-1")
recovery_region = "eu-west-1" if region == "eu-central-1" else "eu-central-1"
platform = CmekPlatformStack(app, "CmekPlatform", env={"account": account, "region": region}, cross_region_references=True)
# The vendor's side: the audit role the platform key grants by ARN. KMS refuses a key policy naming a principal
# that does not exist, so the vendor creates it first.
vendor = Stack(app, "CmekVendor", env={"account": VENDOR_ACCOUNT, "region": region})
iam.Role(vendor, "AcmeAudit",
    role_name="acme-audit",
    assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
    description="The Acme Analytics auditor: may decrypt with the platform key",
)
platform.node.add_dependency(vendor)
CmekDisasterRecoveryStack(app, "CmekDisasterRecovery",
    env={"account": account, "region": recovery_region},
    cross_region_references=True,
    primary=platform.tenants.key_for("globex"),
)
organization = Stack(app, "CmekOrganization", env={"account": "222233334444", "region": region})
CmekOrganizationGuard(organization, "DeletionGuard",
    target_ids=["r-a1b2"],
    exempt_principal_arns=[f"arn:aws:iam::*:role/{BREAK_GLASS_ROLE}"],
)
# From the same account, every member account audits its keys' last use daily: a StackSet rolls the auditor out, and
# to each account that joins later. The code comes from buckets acme-cmek-auditor-code-<region>, made once.
KeyUsageAuditorStackSet(organization, "KeyUsageAuditors",
    organizational_unit_ids=["r-a1b2"],
    regions=[region],
    code_bucket_prefix="acme-cmek-auditor-code",
    auditor=KeyUsageAuditorOptions(alias_prefix="alias/cmek/"),
)
app.synth()
