// cdk-nag findings as the library acknowledges them: ids spelled as cdk-nag spells them, recorded in a way every
// aws-cdk-lib the peer dependency accepts understands.
import { Token, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * `value` as it appears in a cdk-nag finding id. Partition, region and account are literals when the stack
 * knows them (a concrete env, or `@aws-cdk/core:enablePartitionLiterals`), pseudo parameters otherwise.
 */
export function nagValue(value: string, pseudoName: 'Partition' | 'Region' | 'AccountId'): string {
  return Token.isUnresolved(value) ? `<AWS::${pseudoName}>` : value;
}

/** A cdk-nag finding to acknowledge: its id without a plugin prefix, e.g. `AwsSolutions-IAM5[Resource::*]`. */
export interface NagFinding {
  readonly id: string;
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag findings on `scope` and everything below it.
 *
 * Ids carry no `AwsSolutions::` prefix: cdk-nag matches an unprefixed id whether it runs as a validation plugin or
 * through `validateScope`, on the peer dependency's floor (2.263) as on 2.276. aws-cdk-lib 2.263 refuses an id with
 * more than one `::` (`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:…]`) in `acknowledge`: then the
 * acknowledgement is recorded as the same construct metadata `acknowledge` writes, which is what cdk-nag reads.
 */
export function acknowledgeNag(scope: IConstruct, ...findings: NagFinding[]): void {
  for (const finding of findings) {
    try {
      Validations.of(scope).acknowledge(finding);
    } catch (e) {
      if (!String((e as Error)?.message).includes('Invalid validation rule ID')) throw e;
      scope.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, { [finding.id]: finding.reason });
    }
  }
}
