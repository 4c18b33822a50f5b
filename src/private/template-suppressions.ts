// Reasoned suppressions for template linters (checkov, cfn-lint), written as resource metadata beside the resource.
import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

export interface Suppression {
  readonly id: string;
  readonly reason: string;
}

function cfn(construct: IConstruct): CfnResource {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) throw new Error(`no CloudFormation resource under ${construct.node.path}`);
  return resource;
}

/** checkov skips: `Metadata.checkov.skip[]`, each with its reason as the comment checkov reports. */
export function skipCheckov(construct: IConstruct, skips: Suppression[]): void {
  const resource = cfn(construct);
  const existing = (resource.getMetadata('checkov')?.skip ?? []) as { id: string; comment: string }[];
  resource.addMetadata('checkov', { skip: [...existing, ...skips.map((s) => ({ id: s.id, comment: s.reason }))] });
}

/** cfn-lint ignores: `Metadata.cfn-lint.config.ignore_checks`, with the reason beside them as `comment`. */
export function ignoreCfnLint(construct: IConstruct, ids: string[], reason: string): void {
  cfn(construct).addMetadata('cfn-lint', { config: { ignore_checks: ids }, comment: reason });
}
