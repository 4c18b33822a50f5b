# Starts LocalStack's runtime (as `python -m localstack.runtime.main`) with two gaps of its community edition filled.
#
# 1. Lambda: LocalStack prepares every new function version by downloading its runtime-init binary and pulling the
#    runtime's container image; with neither Docker nor internet access here, that fails and so does every
#    AWS::Lambda::Function a stack creates. Skipping the preparation lets functions be created (state Active) so
#    the stacks around them deploy. The functions never run: invoking one fails. Handler behaviour is tested
#    elsewhere (moto and a key-state-enforcing KMS).
# 2. AWS::KMS::Key updates: LocalStack's resource provider has none, and its engine then reports UPDATE_COMPLETE
#    while keeping the old policy. The update below makes the calls CloudFormation's documented update makes
#    (PutKeyPolicy, UpdateKeyDescription, rotation, enable/disable, tags) on the same key, so a redeploy's policy
#    can be compared with its synthesized template. Whether a change replaces a key stays LocalStack's decision
#    (from the resource schema's create-only properties), which is what the redeploy test checks.
import json

from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent
from localstack.services.kms.resource_providers.aws_kms_key import KMSKeyProvider
from localstack.services.lambda_.invocation import docker_runtime_executor


def _created_never_run(cls, function_version):
    """Nothing to prepare: the function is never invoked."""


def _update_key(self, request):
    model = request.desired_state
    previous = request.previous_state or {}
    kms = request.aws_client_factory.kms
    key_id = model["KeyId"] = previous["KeyId"]
    model["Arn"] = previous.get("Arn")
    if model.get("KeyPolicy"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(model["KeyPolicy"]))
    kms.update_key_description(KeyId=key_id, Description=model.get("Description", ""))
    if model.get("EnableKeyRotation", False):
        kms.enable_key_rotation(KeyId=key_id)
    else:
        kms.disable_key_rotation(KeyId=key_id)
    if model.get("Enabled", True):
        kms.enable_key(KeyId=key_id)
    else:
        kms.disable_key(KeyId=key_id)
    wanted = {t["Key"]: t["Value"] for t in model.get("Tags", [])}
    gone = [t["Key"] for t in previous.get("Tags", []) if t["Key"] not in wanted]
    if gone:
        kms.untag_resource(KeyId=key_id, TagKeys=gone)
    if wanted:
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": k, "TagValue": v} for k, v in wanted.items()])
    return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model, custom_context=request.custom_context)


docker_runtime_executor.DockerRuntimeExecutor.prepare_version = classmethod(_created_never_run)
KMSKeyProvider.update = _update_key

if __name__ == "__main__":
    from localstack.runtime.main import main

    main()
