// Modules the handler loads only when a request needs them: node:crypto and the format module cost a cold start most.
import type * as Format from '../format';

let formatModule: typeof Format | undefined;

/**
 * The format module and node:crypto behind it, on first use: loading node:crypto costs a cold start more than
 * the rest of the handler, and a Delete never needs it.
 */
export function format(): typeof Format {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (formatModule ??= require('../format'));
}

export function nodeCrypto(): typeof import('node:crypto') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:crypto');
}
