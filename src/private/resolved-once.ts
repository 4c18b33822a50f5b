// A resource property that a synth-time check resolves in full, so that the template reuses that value instead of resolving it again.
import { IPostProcessor, IResolvable, IResolveContext, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Stands in for a policy property (a key policy, a bucket policy) that a validation resolves and checks. Resolving a
 * policy is most of what synthesizing it costs (every reference allocates its logical id again), so the value the
 * check saw is handed to the template's own resolution of the property, and to the tree view's (`tree.json`), which
 * aws-cdk-lib writes after the templates. Every other resolution (preparation, aspects, a user's `stack.resolve`)
 * resolves it afresh.
 *
 * Why the reuse is exact: aws-cdk-lib validates after preparing the tree and before writing templates, nothing changes
 * the tree in between, and the value is resolved in the same stack by the same resolver (only the document path
 * differs, which no policy token reads). The next synth starts with preparation, which drops anything kept; so does
 * the tree view, once the template has had the value. Code that adds a statement after the check (another construct's
 * validation) would put an unchecked statement in the template: the template's resolution refuses it instead.
 */
const TREE_PROPERTIES = 'aws:cdk:cloudformation:props';

export class ResolvedOnce implements IResolvable, IPostProcessor {
  /** Wraps a property's value (`what` names it in errors); set the wrapper as the property's value in its place. */
  public static of(value: unknown, what: string): ResolvedOnce {
    return new ResolvedOnce(value, what);
  }

  public readonly creationStack: string[] = [];
  /** Whether the next full resolution is the check's, whose value the template reuses. */
  private capturing = false;
  /**
   * The value kept for the template and the tree view, from validation until the tree view has it (or, with the tree
   * view off, until the next synth). The resolver copies whatever a token gives it, so neither reader can change it;
   * kept as the object the check resolved, it costs neither a text copy nor a parse per reader.
   */
  private kept?: unknown;
  /** Whether the template has had the kept value. */
  private served = false;
  /** The statement count the checked value had. */
  private keptStatements?: number;

  private constructor(private readonly inner: unknown, private readonly what: string) {}

  /**
   * Runs `check`, which resolves the property in full, and keeps the value it resolved for the template's own
   * resolution (a check that resolves nothing keeps nothing).
   */
  public checkAndKeep<T>(check: () => T): T {
    this.kept = undefined;
    this.served = false;
    this.capturing = true;
    try {
      return check();
    } finally {
      this.capturing = false;
    }
  }

  public resolve(context: IResolveContext): unknown {
    const kept = this.kept;
    const where = context.documentPath[0];
    if (context.preparing) {
      // A new synth: whatever was kept belongs to the last one.
      this.kept = undefined;
    } else if (kept !== undefined && where === 'Resources') {
      if (this.statementCount() !== this.keptStatements) {
        this.kept = undefined;
        throw new Error(`${this.what} gained a statement after the synth-time check (added during validation): add statements before synthesis`);
      }
      this.served = true;
      return kept;
    } else if (kept !== undefined && where === TREE_PROPERTIES && this.statementCount() === this.keptStatements) {
      if (this.served) this.kept = undefined;
      return kept;
    }
    if (this.capturing) context.registerPostProcessor(this);
    return this.inner;
  }

  public postProcess(input: unknown): unknown {
    this.kept = input;
    this.keptStatements = this.statementCount();
    return input;
  }

  private statementCount(): number | undefined {
    return this.inner instanceof iam.PolicyDocument ? this.inner.statementCount : undefined;
  }

  public toString(): string {
    return Token.asString(this);
  }
}
