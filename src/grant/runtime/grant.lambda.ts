// Custom-resource handler of CmekGrant: creates, replaces and revokes (or retires) one KMS grant.
import {
  CreateGrantCommand,
  GrantListEntry,
  GrantOperation,
  KMSClient,
  ListGrantsCommand,
  NotFoundException,
  RetireGrantCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { parseDeleteProperties, parseGrantProperties } from './parse';
import { GRANT_ATTRIBUTES, GrantProperties } from '../contract';

let kms: KMSClient | undefined;

/** Points the handler at another KMS client (tests: an emulator). */
export function useClient(kmsClient: KMSClient): void {
  kms = kmsClient;
}

function client(): KMSClient {
  return (kms ??= new KMSClient({}));
}

/** What the Provider framework expects back. */
export interface GrantResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** A grant id is hex (64 characters in KMS); anything else, such as a failed create's placeholder, names no grant. */
const GRANT_ID = /^[0-9a-f]+$/;

export async function handler(event: CloudFormationCustomResourceEvent): Promise<GrantResponse> {
  if (event.RequestType === 'Delete') {
    await removeGrant(event.PhysicalResourceId, event.ResourceProperties);
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  // Grants are immutable: an Update that changes the grant gets a new grant id, and CloudFormation then deletes
  // the old resource (which revokes the old grant). An Update that changes nothing of the grant keeps its id.
  const props = parseGrantProperties(event.ResourceProperties);
  const grant = await ensureGrant(props);
  return {
    PhysicalResourceId: grant.id,
    Data: { [GRANT_ATTRIBUTES.grantId]: grant.id, [GRANT_ATTRIBUTES.grantToken]: grant.token },
  };
}

/**
 * The grant these properties describe. An existing grant of the same name and parameters on the key is reused,
 * so a retried Create never makes a second grant (KMS does the same for CreateGrant; emulators may not). A reused
 * grant has no new token: the token attribute is then empty, and the grant is usable once KMS has propagated it.
 */
async function ensureGrant(props: GrantProperties): Promise<{ id: string; token: string }> {
  const existing = (await listGrants(props.KeyArn)).find((g) => sameGrant(g, props));
  if (existing?.GrantId) return { id: existing.GrantId, token: '' };
  const constraints = props.EncryptionContextEquals
    ? { EncryptionContextEquals: props.EncryptionContextEquals }
    : props.EncryptionContextSubset
      ? { EncryptionContextSubset: props.EncryptionContextSubset }
      : undefined;
  const out = await client().send(new CreateGrantCommand({
    KeyId: props.KeyArn,
    GranteePrincipal: props.GranteePrincipal,
    RetiringPrincipal: props.RetiringPrincipal,
    Operations: props.Operations.map(operation),
    Name: props.Name,
    Constraints: constraints,
  }));
  if (!out.GrantId) throw new Error(`KMS CreateGrant returned no grant id for grant ${JSON.stringify(props.Name)}`);
  return { id: out.GrantId, token: out.GrantToken ?? '' };
}

function operation(op: string): GrantOperation {
  const found = Object.values(GrantOperation).find((o) => o === op);
  if (!found) throw new Error(`\`Operations\` holds ${JSON.stringify(op)}, which this KMS client does not know`);
  return found;
}

async function listGrants(keyId: string): Promise<GrantListEntry[]> {
  const grants: GrantListEntry[] = [];
  let marker: string | undefined;
  do {
    const page = await client().send(new ListGrantsCommand({ KeyId: keyId, Marker: marker }));
    grants.push(...(page.Grants ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return grants;
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const x = Object.entries(a ?? {}).sort();
  const y = Object.entries(b ?? {}).sort();
  return JSON.stringify(x) === JSON.stringify(y);
}

function sameGrant(g: GrantListEntry, p: GrantProperties): boolean {
  const ops = [...(g.Operations ?? [])].sort();
  return g.Name === p.Name
    && g.GranteePrincipal === p.GranteePrincipal
    && (g.RetiringPrincipal || undefined) === p.RetiringPrincipal
    && JSON.stringify(ops) === JSON.stringify([...p.Operations].sort())
    && sameMap(g.Constraints?.EncryptionContextEquals, p.EncryptionContextEquals)
    && sameMap(g.Constraints?.EncryptionContextSubset, p.EncryptionContextSubset);
}

/** Revokes (or retires) the grant; one already gone counts as removed. */
async function removeGrant(grantId: string, raw: unknown): Promise<void> {
  if (!GRANT_ID.test(grantId)) return;
  const props = parseDeleteProperties(raw);
  try {
    if (props.RevokeOnDelete === 'false') {
      await client().send(new RetireGrantCommand({ KeyId: props.KeyArn, GrantId: grantId }));
    } else {
      await client().send(new RevokeGrantCommand({ KeyId: props.KeyArn, GrantId: grantId }));
    }
  } catch (e) {
    if (e instanceof NotFoundException) return;
    throw e;
  }
}
