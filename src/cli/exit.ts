// Exit codes shared by every `cdk-cmek` command, and the errors that carry them to a single stderr line.

/**
 * 0: done, nothing found. 1: findings or refusals (unused keys; an object that fails verification or is
 * wrapped under another key). 2: usage or access error (bad arguments, no credentials, access denied, I/O).
 */
export const EXIT = { OK: 0, FINDINGS: 1, ERROR: 2 } as const;

/** The exit-code paragraph each command's `--help` ends with. */
export const EXIT_CODES_HELP = (findings: string) =>
  `\nExit codes:\n  0  done\n  1  ${findings}\n  2  usage or access error (bad arguments, no credentials, access denied, I/O)\n`;

/** A failure that ends the command with `exitCode` and its message as the one stderr line. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad arguments: exit 2, before anything is read or written. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.ERROR);
    this.name = 'UsageError';
  }
}

/** A message collapsed to one line, so nothing a value contains can fake a second line on the terminal. */
export function oneLine(message: string): string {
  return message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** Quotes a received value for an error line, shortened so one line stays one line. */
export function quote(value: unknown, max = 120): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
