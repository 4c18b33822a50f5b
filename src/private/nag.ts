// How cdk-nag spells a value in a finding id: a pseudo parameter as `<AWS::Name>`, a known value as itself.
import { Token } from 'aws-cdk-lib';

/**
 * `value` as it appears in a cdk-nag finding id. Partition, region and account are literals when the stack
 * knows them (a concrete env, or `@aws-cdk/core:enablePartitionLiterals`), pseudo parameters otherwise.
 */
export function nagValue(value: string, pseudoName: 'Partition' | 'Region' | 'AccountId'): string {
  return Token.isUnresolved(value) ? `<AWS::${pseudoName}>` : value;
}
