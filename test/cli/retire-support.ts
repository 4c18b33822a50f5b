// A loopback proxy for `cdk-cmek retire` tests: KMS requests go to a KMS emulator, every other service to moto. It
// answers what neither emulator has (GetKeyLastUsage; CloudTrail LookupEvents when events are given) and can refuse
// an operation the way AWS does (an explicit deny from a key policy, an AccessDenied from IAM).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RetireKey } from '../../src/monitoring/runtime/retire/plan';

/** A disabled customer-managed key with no aliases or replicas, as the planner and the facts readers see it. */
export const DISABLED_KEY: RetireKey = {
  keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
  keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  account: '111122223333',
  region: 'eu-west-1',
  state: 'Disabled',
  manager: 'CUSTOMER',
  aliases: [],
  replicas: [],
};

export interface ProxyRequest {
  /** `X-Amz-Target`, or `Action=` of a query-protocol request, or `METHOD path` for S3. */
  readonly op: string;
  readonly body: string;
}

export interface TrailEvent {
  readonly EventName: string;
  readonly EventTime: Date;
  readonly keyArn: string;
  readonly errorCode?: string;
}

export interface RetireProxy {
  readonly url: string;
  readonly requests: ProxyRequest[];
  /** GetKeyLastUsage answers by key id; a key not listed has no recorded use. */
  readonly lastUse: Map<string, { at: Date; operation: string }>;
  /** Errors to answer instead of forwarding, by operation (`TrentService.ScheduleKeyDeletion`, `AmazonSQS.ListQueues`). */
  readonly refuse: Map<string, { type: string; message: string }>;
  /** When set, CloudTrail LookupEvents is answered from these (moto answers it with a 500). */
  trailEvents?: TrailEvent[];
  close(): Promise<void>;
}

const epoch = (d: Date) => d.getTime() / 1000;
// The SDK sends the short target; older clients send it with the `com.amazonaws.cloudtrail.v20131101.` namespace.
const LOOKUP_EVENTS = /(?:^|\.)CloudTrail_20131101\.LookupEvents$/;

/** What AWS answers when a key policy's Deny statement matches (the deletion guard). */
export function explicitDeny(action: string, keyArn: string): { type: string; message: string } {
  return {
    type: 'AccessDeniedException',
    message: `User: arn:aws:iam::123456789012:user/ops is not authorized to perform: ${action} on resource: ${keyArn} with an explicit deny in a resource-based policy`,
  };
}

export async function startRetireProxy(kmsUpstream: string, otherUpstream: string): Promise<RetireProxy> {
  const requests: ProxyRequest[] = [];
  const lastUse = new Map<string, { at: Date; operation: string }>();
  const refuse = new Map<string, { type: string; message: string }>();
  const state: { trailEvents?: TrailEvent[] } = {};
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const text = body.toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = /(?:^|&)Action=([A-Za-z]+)/.exec(text)?.[1];
      const op = target || (action ? `Action=${action}` : `${req.method} ${req.url}`);
      requests.push({ op, body: text });
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `proxy-${requests.length}` });
        res.end(JSON.stringify(payload));
      };
      const refused = refuse.get(op);
      if (refused) return reply(400, { __type: refused.type, message: refused.message });
      if (target === 'TrentService.GetKeyLastUsage') {
        const id = String(JSON.parse(text).KeyId).split('/').pop()!;
        const used = lastUse.get(id);
        return reply(200, {
          ...(used ? { KeyLastUsage: { Operation: used.operation, Timestamp: epoch(used.at), CloudTrailEventId: 'evt', KmsRequestId: 'kreq' } } : {}),
          TrackingStartDate: epoch(new Date('2026-04-23T00:00:00Z')),
        });
      }
      if (LOOKUP_EVENTS.test(target) && state.trailEvents) {
        const input = JSON.parse(text);
        const attr = input.LookupAttributes?.[0] ?? {};
        const start = input.StartTime ? input.StartTime * 1000 : 0;
        const events = state.trailEvents
          .filter((e) => (attr.AttributeKey === 'EventName' ? e.EventName === attr.AttributeValue : e.keyArn === attr.AttributeValue))
          .filter((e) => e.EventTime.getTime() >= start)
          .map((e) => ({
            EventName: e.EventName,
            EventTime: epoch(e.EventTime),
            Resources: [{ ResourceType: 'AWS::KMS::Key', ResourceName: e.keyArn }],
            CloudTrailEvent: JSON.stringify({
              eventName: e.EventName,
              requestParameters: { keyId: e.keyArn },
              ...(e.errorCode ? { errorCode: e.errorCode } : {}),
            }),
          }));
        return reply(200, { Events: events });
      }
      const upstream = new URL(target.startsWith('TrentService.') ? kmsUpstream : otherUpstream);
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: RetireProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    lastUse,
    refuse,
    get trailEvents() {
      return state.trailEvents;
    },
    set trailEvents(v) {
      state.trailEvents = v;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return proxy;
}
