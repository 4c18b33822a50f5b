// The role CloudFormation creates and updates a stack's resources with, as its synthesizer names it.
import { Aws, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';

/** Placeholders the synthesizer leaves in its role ARNs, and the pseudo parameters they stand for. */
const PLACEHOLDERS: Record<string, string> = {
  '${AWS::Partition}': Aws.PARTITION,
  '${AWS::AccountId}': Aws.ACCOUNT_ID,
  '${AWS::Region}': Aws.REGION,
};

/**
 * The CloudFormation execution role of the top-level stack that deploys `stack` (a nested stack is
 * deployed by its parent's), or `undefined` when the synthesizer names none (CLI credentials, legacy,
 * bootstrapless without a role).
 */
export function synthesizerExecutionRoleArn(stack: Stack): string | undefined {
  let top = stack;
  while (top.nestedStackParent) top = top.nestedStackParent;
  const synthesizer = top.synthesizer;
  if (!(synthesizer instanceof DefaultStackSynthesizer)) return undefined;
  let arn: string;
  try {
    arn = synthesizer.cloudFormationExecutionRoleArn;
  } catch {
    return undefined;
  }
  return arn.replace(/\$\{AWS::(Partition|AccountId|Region)\}/g, (p) => PLACEHOLDERS[p]);
}
