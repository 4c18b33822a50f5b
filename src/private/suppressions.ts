// Reasoned lint suppressions, written where each linter reads them: cdk-nag acknowledgements, checkov skips, cfn-lint ignores.
import { CfnResource, Token, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A finding to suppress and why: for cdk-nag its id without a plugin prefix, e.g. `AwsSolutions-IAM5[Resource::*]`. */
export interface Suppression {
  readonly id: string;
  readonly reason: string;
}

/**
 * `value` as it appears in a cdk-nag finding id. Partition, region and account are literals when the stack
 * knows them (a concrete env, or `@aws-cdk/core:enablePartitionLiterals`), pseudo parameters otherwise.
 */
export function nagValue(value: string, pseudoName: 'Partition' | 'Region' | 'AccountId'): string {
  return Token.isUnresolved(value) ? `<AWS::${pseudoName}>` : value;
}

/**
 * Acknowledges cdk-nag findings on `scope` and everything below it.
 *
 * Ids carry no `AwsSolutions::` prefix: cdk-nag matches an unprefixed id whether it runs as a validation plugin or
 * through `validateScope`, on the peer dependency's floor (2.263) as on 2.276. aws-cdk-lib 2.263 refuses an id with
 * more than one `::` (`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:…]`) in `acknowledge`: then the
 * acknowledgement is recorded as the same construct metadata `acknowledge` writes, which is what cdk-nag reads.
 */
export function acknowledgeNag(scope: IConstruct, ...findings: Suppression[]): void {
  for (const finding of findings) {
    try {
      Validations.of(scope).acknowledge(finding);
    } catch (e) {
      if (!String((e as Error)?.message).includes('Invalid validation rule ID')) throw e;
      scope.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, { [finding.id]: finding.reason });
    }
  }
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
