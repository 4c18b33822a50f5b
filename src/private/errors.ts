// Construction errors that name the construct: which of a hundred keys was refused matters as much as why.

/** A message that already starts with a construct path (`Stack/Key: …`), as an inner construct's error does. */
const NAMED = /^[\w.-]+(\/[\w.-]+)+: /;

/** `e` with `path` in front of its message, unless an inner construct named its own path already. */
export function withPath(path: string, e: unknown): unknown {
  if (e instanceof Error && !NAMED.test(e.message)) e.message = `${path}: ${e.message}`;
  return e;
}
