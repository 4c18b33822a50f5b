"""Python smoke app: a CmekKey with grantees, the deletion guard and a CmekBucket, from the built wheel."""
from aws_cdk import App, Environment, Stack
from cdk_cmek import CmekAction, CmekBucket, CmekGrantee, CmekKey, DeletionGuardOptions

# Same stack, ids and values as app.ts: the smoke test compares the two templates resource by resource.
app = App(analytics_reporting=False)
stack = Stack(app, "CmekSmoke", env=Environment(account="999999999999", region="eu-west-1"))

key = CmekKey(stack, "VendorKey",
    alias="cmek/acme",
    grantees=[
        CmekGrantee.account("111122223333", name="acme", via_services=["s3.eu-west-1.amazonaws.com"]),
        CmekGrantee.role("arn:aws:iam::111122223333:role/acme-audit",
                         actions=[CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY]),
    ],
    deletion_guard=DeletionGuardOptions(
        min_days_unused=180,
        exempt_principal_arns=["arn:aws:iam::999999999999:role/KeyBreakGlass"],
    ),
)
data = CmekBucket(stack, "Data", encryption_key=key)
data.grant_read(CmekGrantee.account("111122223333", name="acme"))

app.synth()
