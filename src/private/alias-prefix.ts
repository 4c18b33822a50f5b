// Alias-name prefixes as KMS spells them, shared by KeyUsageAuditor, CmekKeyFleet, the audit Lambda and the CLI.

const ALIAS_PREFIX_CHARS = /^alias\/[a-zA-Z0-9/_-]*$/;

/**
 * An alias prefix as KMS spells alias names: `alias/` is added when missing (`cmek/` → `alias/cmek/`), so a
 * prefix never silently matches nothing. Refused: empty, ARNs, wildcards or other characters KMS does not
 * allow in alias names, and `alias/aws/` (AWS managed keys are never audited).
 */
export function normalizeAliasPrefix(value: unknown, source = 'aliasPrefix'): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`\`${source}\` must be an alias name prefix such as alias/cmek/, got: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }
  const full = value === 'alias' ? 'alias/' : value.startsWith('alias/') ? value : `alias/${value}`;
  if (!ALIAS_PREFIX_CHARS.test(full) || full.includes('//')) {
    throw new Error(`\`${source}\` must be an alias name prefix of letters, digits, /, _ and - (a literal prefix, no wildcards or ARNs), such as alias/cmek/, got: ${JSON.stringify(value)}`);
  }
  if (full.toLowerCase().startsWith('alias/aws/')) {
    throw new Error(`\`${source}\` must not select alias/aws/ (AWS managed keys, which the audit skips), got: ${JSON.stringify(value)}`);
  }
  return full;
}
