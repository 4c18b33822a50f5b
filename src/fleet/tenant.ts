// A fleet tenant: its stable id, its (renameable) name, and the key settings it may override.
import { Token } from 'aws-cdk-lib';
import { CmekKeyOptions } from '../key/cmek-key-props';
import { got } from '../private/validate';

/**
 * Key settings shared by every tenant of a fleet (`keyDefaults`), or overridden by one tenant: the settings of
 * a `CmekKey` except its alias, which the fleet derives from the tenant, plus tags. A tenant's grantees and
 * tags are added to the fleet's; every other setting it gives replaces the fleet's. A fleet key's description
 * defaults to "Customer-managed key for tenant <id>".
 */
export interface CmekFleetKeyOptions extends CmekKeyOptions {
  /**
   * Tags on the key. A tenant's tags are added to the fleet's (the tenant's value wins on the same key).
   *
   * @default - only the `cmek:tenant` tag, set to the tenant id
   */
  readonly tags?: { [key: string]: string };
}

/**
 * One tenant of a `CmekKeyFleet`.
 *
 * `id` is the tenant's identity: it names the key's construct (hence its logical id) and chooses its
 * shard, so it must never change — changing it replaces the key. `name` only shapes the alias, so a
 * tenant is renamed by changing `name`: the alias moves, the key stays.
 */
export interface CmekFleetTenant extends CmekFleetKeyOptions {
  /**
   * The tenant's permanent id: lowercase letters, digits and inner hyphens, at most 64 characters.
   */
  readonly id: string;

  /**
   * The tenant's name as it appears in the alias (`alias/cmek/<name>` with the default pattern):
   * letters, digits, `/`, `_` and `-`.
   *
   * @default - the id
   */
  readonly name?: string;

  /**
   * Pins the tenant to a shard (0 to `shardCount` - 1), for keeping deployed tenants where they are when
   * `shardCount` is raised, or for placing a tenant in a shard with room.
   *
   * @default - FNV-1a (32-bit) of the id modulo `shardCount`
   */
  readonly shard?: number;
}

const TENANT_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const TENANT_NAME = /^[a-zA-Z0-9_-](?:[a-zA-Z0-9/_-]*[a-zA-Z0-9_-])?$/;

/** Throws unless `id` is a valid tenant id. */
export function validateTenantId(id: string): void {
  if (Token.isUnresolved(id) || !TENANT_ID.test(id)) {
    throw new Error(
      `tenant \`id\` must be lowercase letters, digits and inner hyphens, at most 64 characters, and not a token (it names the key's logical id), got: ${got(Token.isUnresolved(id) ? '<token>' : id)}`,
    );
  }
}

/** Throws unless `name` is usable in an alias. */
export function validateTenantName(id: string, name: string): void {
  if (Token.isUnresolved(name) || !TENANT_NAME.test(name) || name.length > 200) {
    throw new Error(
      `\`name\` of tenant ${id} must be letters, digits, _, - and inner /, at most 200 characters, and not a token (it becomes the alias), got: ${got(Token.isUnresolved(name) ? '<token>' : name)}`,
    );
  }
}

/** The alias for a tenant name under a pattern holding `{tenant}` once. */
export function aliasFor(pattern: string, name: string): string {
  return pattern.replace('{tenant}', name);
}

/** Throws unless the alias pattern holds `{tenant}` exactly once. */
export function validateAliasPattern(pattern: string): void {
  if (Token.isUnresolved(pattern) || pattern.split('{tenant}').length !== 2) {
    throw new Error(`\`aliasPattern\` must contain {tenant} exactly once, such as alias/cmek/{tenant}, got: ${got(pattern)}`);
  }
}

/** `alias/` added when missing, as `CmekKey` adds it to each alias: the auditor's prefix then matches the keys' aliases. */
export function normalizeAliasPattern(pattern: string): string {
  return pattern.startsWith('alias/') ? pattern : `alias/${pattern}`;
}
