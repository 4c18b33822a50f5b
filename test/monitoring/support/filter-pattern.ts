// Evaluates CloudWatch Logs JSON filter patterns against log events, following the documented grammar
// ("Filter pattern syntax for metric filters, subscription filters, filter log events, and Live Tail",
// section "Using filter patterns to match terms in JSON log events", Amazon CloudWatch Logs User Guide).
//
// Grammar, as documented:
//   pattern    := '{' expr '}'
//   expr       := and ('||' and)*            -- && binds tighter than ||
//   and        := term ('&&' term)*
//   term       := '(' expr ')' | selector test
//   selector   := '$' ('.' name | '[' index ']' | '.'? "['" name "']")*
//   test       := ('=' | '!=') (string | number | regex) | ('<' | '<=' | '>' | '>=') number
//               | 'IS' ('TRUE' | 'FALSE' | 'NULL') | 'NOT' 'EXISTS'
//   string     := '"' ... '"' | bare word      -- '*' is a wildcard in string values
//   regex      := '%' ... '%'
// A selector that does not resolve makes its comparison false (except NOT EXISTS); a message that is not
// JSON never matches a JSON pattern.

type Node =
  | { kind: 'or' | 'and'; left: Node; right: Node }
  | { kind: 'test'; path: (string | number)[]; op: string; value?: Literal };

type Literal = { type: 'string'; text: string; quoted: boolean } | { type: 'regex'; source: string } | { type: 'keyword'; word: string };

const MISSING = Symbol('missing');

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parsePattern(): Node {
    this.skip();
    this.expect('{');
    const node = this.parseOr();
    this.skip();
    this.expect('}');
    this.skip();
    if (this.pos !== this.src.length) this.fail('trailing text');
    return node;
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.peekToken('||')) {
      this.pos += 2;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseTerm();
    while (this.peekToken('&&')) {
      this.pos += 2;
      left = { kind: 'and', left, right: this.parseTerm() };
    }
    return left;
  }

  private parseTerm(): Node {
    this.skip();
    if (this.src[this.pos] === '(') {
      this.pos++;
      const inner = this.parseOr();
      this.skip();
      this.expect(')');
      return inner;
    }
    const path = this.parseSelector();
    this.skip();
    const rest = this.src.slice(this.pos);
    const keyword = /^(IS\s+(TRUE|FALSE|NULL)|NOT\s+EXISTS)\b/.exec(rest);
    if (keyword) {
      this.pos += keyword[0].length;
      return { kind: 'test', path, op: keyword[0].replace(/\s+/, ' ') };
    }
    const op = /^(!=|<=|>=|=|<|>)/.exec(rest);
    if (!op) this.fail('expected a comparison operator, IS or NOT EXISTS');
    this.pos += op![0].length;
    return { kind: 'test', path, op: op![0], value: this.parseValue() };
  }

  private parseSelector(): (string | number)[] {
    this.expect('$');
    const path: (string | number)[] = [];
    for (;;) {
      const rest = this.src.slice(this.pos);
      let m: RegExpExecArray | null;
      if ((m = /^\.?\['([^']*)'\]/.exec(rest))) path.push(m[1]);
      else if ((m = /^\.([A-Za-z0-9_@-]+)/.exec(rest))) path.push(m[1]);
      else if ((m = /^\[(\d+)\]/.exec(rest))) path.push(Number(m[1]));
      else break;
      this.pos += m[0].length;
    }
    if (path.length === 0) this.fail('expected a property selector after $');
    return path;
  }

  private parseValue(): Literal {
    this.skip();
    const c = this.src[this.pos];
    if (c === '"') {
      let text = '';
      this.pos++;
      while (this.pos < this.src.length && this.src[this.pos] !== '"') {
        if (this.src[this.pos] === '\\') this.pos++;
        text += this.src[this.pos++];
      }
      this.expect('"');
      return { type: 'string', text, quoted: true };
    }
    if (c === '%') {
      const end = this.src.indexOf('%', this.pos + 1);
      if (end < 0) this.fail('unterminated regex');
      const source = this.src.slice(this.pos + 1, end);
      this.pos = end + 1;
      return { type: 'regex', source };
    }
    const m = /^[^\s()&|}]+/.exec(this.src.slice(this.pos));
    if (!m) this.fail('expected a value');
    this.pos += m![0].length;
    if (m![0] === 'TRUE' || m![0] === 'FALSE' || m![0] === 'NULL') return { type: 'keyword', word: m![0] };
    return { type: 'string', text: m![0], quoted: false };
  }

  private peekToken(token: string): boolean {
    this.skip();
    return this.src.startsWith(token, this.pos);
  }

  private skip(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos])) this.pos++;
  }

  private expect(c: string): void {
    if (this.src[this.pos] !== c) this.fail(`expected '${c}'`);
    this.pos++;
  }

  private fail(why: string): never {
    throw new Error(`filter pattern: ${why} at offset ${this.pos} in ${JSON.stringify(this.src)}`);
  }
}

function resolve(event: unknown, path: (string | number)[]): unknown {
  let cur: unknown = event;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(cur) || step >= cur.length) return MISSING;
      cur = cur[step];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !(step in (cur as object))) return MISSING;
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return cur;
}

function wildcardMatch(value: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return re.test(value);
}

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

function test(node: Extract<Node, { kind: 'test' }>, event: unknown): boolean {
  const v = resolve(event, node.path);
  switch (node.op) {
    case 'NOT EXISTS':
      return v === MISSING;
    case 'IS NULL':
      return v === null;
    case 'IS TRUE':
      return v === true;
    case 'IS FALSE':
      return v === false;
  }
  if (v === MISSING) return false;
  const lit = node.value!;
  if (lit.type === 'regex') {
    const hit = typeof v === 'string' && new RegExp(lit.source).test(v);
    return node.op === '=' ? hit : node.op === '!=' ? !hit && typeof v === 'string' : false;
  }
  if (lit.type === 'keyword') return false;
  const numeric = !lit.quoted && NUMBER.test(lit.text);
  if (['<', '<=', '>', '>='].includes(node.op)) {
    if (!numeric || typeof v !== 'number') return false;
    const n = Number(lit.text);
    return node.op === '<' ? v < n : node.op === '<=' ? v <= n : node.op === '>' ? v > n : v >= n;
  }
  let equal: boolean;
  if (numeric && typeof v === 'number') equal = v === Number(lit.text);
  else if (typeof v === 'string') equal = wildcardMatch(v, lit.text);
  else return false;
  return node.op === '=' ? equal : !equal;
}

function evaluate(node: Node, event: unknown): boolean {
  if (node.kind === 'test') return test(node, event);
  return node.kind === 'or'
    ? evaluate(node.left, event) || evaluate(node.right, event)
    : evaluate(node.left, event) && evaluate(node.right, event);
}

/** A compiled JSON filter pattern: `matches(message)` tells whether a log event's message matches it. */
export class JsonFilterPattern {
  private readonly root: Node;
  constructor(readonly pattern: string) {
    this.root = new Parser(pattern).parsePattern();
  }

  matches(message: string): boolean {
    let event: unknown;
    try {
      event = JSON.parse(message);
    } catch {
      return false;
    }
    return evaluate(this.root, event);
  }
}
