// Synth-time input checks shared by the constructs: each throws one readable line, and skips tokens.
import { Duration, Token } from 'aws-cdk-lib';

/** Quotes a received value for an error message. */
export function got(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

const ACCOUNT_ID = /^\d{12}$/;

/** A 12-digit AWS account id. */
export function validateAccountId(prop: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  if (!ACCOUNT_ID.test(value)) {
    throw new Error(`\`${prop}\` must be a 12-digit AWS account id, got: ${got(value)}`);
  }
}

/** An integer within [min, max] (max optional). */
export function validateInteger(prop: string, value: number, min: number, max?: number): void {
  if (Number.isInteger(value) && value >= min && (max === undefined || value <= max)) return;
  // A number token is a large negative double (about -1.9e289), below every minimum asked for here.
  if (Token.isUnresolved(value)) return;
  const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
  throw new Error(`\`${prop}\` must be an integer ${range}, got: ${got(value)}`);
}

/** A whole number of days within [min, max], fixed at synth: the key's own policy statements are written from it. */
export function validateDays(prop: string, value: Duration, min: number, max: number): void {
  if (value.isUnresolved()) {
    throw new Error(`\`${prop}\` must be a fixed Duration of ${min} to ${max} days (the key policy is written from it at synth), got: a token`);
  }
  const days = value.toDays({ integral: false });
  if (!Number.isInteger(days) || days < min || days > max) {
    throw new Error(`\`${prop}\` must be a whole number of days from ${min} to ${max}, got: ${value.toHumanString()}`);
  }
}

/**
 * A condition value in a key policy must be a fixed string: Security Hub control KMS.5 reports
 * wildcards and policy variables in key-policy conditions as public access.
 */
export function validateFixedConditionValue(prop: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  if (value.length === 0 || /[*?]|\$\{/.test(value)) {
    throw new Error(
      `\`${prop}\` must be a fixed, non-empty value without wildcards (*, ?) or policy variables (\${...}), got: ${got(value)}`,
    );
  }
}

/** A value matching a pattern, described in words for the error. */
export function validatePattern(prop: string, value: string, pattern: RegExp, allowed: string): void {
  if (Token.isUnresolved(value)) return;
  if (!pattern.test(value)) {
    throw new Error(`\`${prop}\` must be ${allowed}, got: ${got(value)}`);
  }
}
