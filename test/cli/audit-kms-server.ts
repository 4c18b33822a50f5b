// A local HTTP server speaking the KMS JSON 1.1 protocol for the calls the audit makes (moto has no GetKeyLastUsage),
// per account and Region: the Region from the request's SigV4 scope, the account from the caller's access key.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedKey {
  readonly id: string;
  readonly manager?: 'CUSTOMER' | 'AWS';
  readonly state?: string;
  readonly created: Date;
  readonly lastUsed?: { at: Date; operation: string };
  readonly aliases?: string[];
}

/** One request as the server saw it. */
export interface ServedRequest {
  readonly op: string;
  readonly account: string;
  readonly region: string;
  /** Date.now() on arrival. */
  readonly at: number;
}

export interface KmsServerOptions {
  readonly pageSize?: number;
  readonly getKeyLastUsageUnsupported?: boolean;
  /** The caller's account from its access key (e.g. asked of moto's STS); a fixed account when absent. */
  readonly accountOf?: (accessKeyId: string, sessionToken: string | undefined) => Promise<string>;
  /** Regions whose every call fails with UnrecognizedClientException, like a Region not enabled for the account. */
  readonly disabledRegions?: string[];
}

export interface KmsServer {
  readonly url: string;
  /** `X-Amz-Target` operation names in the order they arrived. */
  readonly calls: string[];
  readonly requests: ServedRequest[];
  close(): Promise<void>;
}

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const epoch = (d: Date) => d.getTime() / 1000;

/**
 * Serves ListKeys and ListAliases in pages of `pageSize`, DescribeKey and GetKeyLastUsage. With
 * `getKeyLastUsageUnsupported`, GetKeyLastUsage answers UnknownOperationException like a region without the API.
 */
export async function startKmsServer(
  served: ServedKey[] | ((account: string, region: string) => ServedKey[]),
  opts: KmsServerOptions = {},
): Promise<KmsServer> {
  const pageSize = opts.pageSize ?? 2;
  const calls: string[] = [];
  const requests: ServedRequest[] = [];
  const accounts = new Map<string, Promise<string>>();
  const page = <T>(items: T[], marker?: string) => {
    const start = marker ? Number(marker) : 0;
    const more = start + pageSize < items.length;
    return { items: items.slice(start, start + pageSize), Truncated: more, ...(more ? { NextMarker: String(start + pageSize) } : {}) };
  };

  const server = http.createServer((req, res) => {
    let body = '';
    const at = Date.now();
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const op = String(req.headers['x-amz-target'] ?? '').replace('TrentService.', '');
      const scope = /Credential=([^/]+)\/\d+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
      const region = scope?.[2] ?? REGION;
      let account = ACCOUNT;
      if (opts.accountOf && scope) {
        const token = req.headers['x-amz-security-token'] as string | undefined;
        if (!accounts.has(scope[1])) accounts.set(scope[1], opts.accountOf(scope[1], token));
        account = await accounts.get(scope[1])!;
      }
      calls.push(op);
      requests.push({ op, account: account, region, at });
      const keys = typeof served === 'function' ? served(account, region) : served;
      const arn = (id: string) => `arn:aws:kms:${region}:${account}:key/${id}`;
      const find = (keyId: string) => keys.find((k) => k.id === keyId || arn(k.id) === keyId);
      const input = body ? JSON.parse(body) : {};
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${calls.length}` });
        res.end(JSON.stringify(payload));
      };
      if (opts.disabledRegions?.includes(region)) {
        return reply(400, { __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
      }
      const notFound = () => reply(400, { __type: 'NotFoundException', message: `Key '${input.KeyId}' does not exist` });
      switch (op) {
        case 'ListKeys': {
          const p = page(keys, input.Marker);
          return reply(200, { Keys: p.items.map((k) => ({ KeyId: k.id, KeyArn: arn(k.id) })), Truncated: p.Truncated, NextMarker: p.NextMarker });
        }
        case 'ListAliases': {
          const all = keys.flatMap((k) => (k.aliases ?? []).map((a) => ({ AliasName: a, AliasArn: `arn:aws:kms:${region}:${account}:${a}`, TargetKeyId: k.id })));
          const p = page([{ AliasName: 'alias/aws/ebs', AliasArn: `arn:aws:kms:${region}:${account}:alias/aws/ebs` }, ...all], input.Marker);
          return reply(200, { Aliases: p.items, Truncated: p.Truncated, NextMarker: p.NextMarker });
        }
        case 'DescribeKey': {
          const k = find(input.KeyId);
          if (!k) return notFound();
          return reply(200, {
            KeyMetadata: {
              AWSAccountId: account,
              KeyId: k.id,
              Arn: arn(k.id),
              CreationDate: epoch(k.created),
              Enabled: (k.state ?? 'Enabled') === 'Enabled',
              KeyUsage: 'ENCRYPT_DECRYPT',
              KeyState: k.state ?? 'Enabled',
              Origin: 'AWS_KMS',
              KeyManager: k.manager ?? 'CUSTOMER',
              KeySpec: 'SYMMETRIC_DEFAULT',
              Description: '',
            },
          });
        }
        case 'GetKeyLastUsage': {
          if (opts.getKeyLastUsageUnsupported) {
            return reply(400, { __type: 'UnknownOperationException', message: 'The operation GetKeyLastUsage is not supported in this region.' });
          }
          const k = find(input.KeyId);
          if (!k) return notFound();
          return reply(200, {
            ...(k.lastUsed
              ? { KeyLastUsage: { Operation: k.lastUsed.operation, Timestamp: epoch(k.lastUsed.at), CloudTrailEventId: 'evt', KmsRequestId: 'kreq' } }
              : {}),
            TrackingStartDate: epoch(new Date('2026-04-23T00:00:00Z')),
            KeyCreationDate: epoch(k.created),
          });
        }
        default:
          return reply(400, { __type: 'UnknownOperationException', message: `unsupported operation ${op}` });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
