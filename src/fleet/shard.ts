// The stable assignment of tenants to shards: FNV-1a (32-bit) of the tenant id, modulo a fixed shard count.

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a, 32-bit, over the UTF-8 bytes of `text`. Chosen because it is specified
 * (draft-eastlake-fnv), trivial to reimplement in any language, and independent of Node's crypto: the
 * shard of a deployed tenant must never change, so the function must never change either.
 */
/* eslint-disable no-bitwise -- FNV-1a is defined by XOR and 32-bit multiplication */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}
/* eslint-enable no-bitwise */

/**
 * The shard a tenant id falls in. Depends on the id and the shard count only — never on the other
 * tenants — so adding or removing a tenant moves no other tenant.
 */
export function shardIndex(tenantId: string, shardCount: number): number {
  return fnv1a32(tenantId) % shardCount;
}
