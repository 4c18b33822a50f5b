// The handler's AWS SDK clients and their retry policy, loaded on first use from the SDK bundle beside the handler.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type * as Sdk from './envelope-sdk.lambda';

/** The SDK clients the handler uses; created on first use (a cold start pays only for what it needs). */
export interface Clients {
  kms: KMSClient;
  s3: S3Client;
  secrets: SecretsManagerClient;
  ssm: SSMClient;
}

/** Throttling and transient errors get this many attempts before the deployment fails. */
export const MAX_ATTEMPTS = 8;

let clients: Partial<Clients> = {};
let sdkModule: Promise<typeof Sdk> | undefined;

/**
 * The SDK, loaded on first use from its own bundle beside the handler's: V8 parses a bundle whole, so keeping
 * the SDK out of the handler's file is what keeps a cold `require` of it in the single-digit milliseconds.
 * Unbundled (tests), it is the TypeScript module.
 */
export function sdk(): Promise<typeof Sdk> {
  const bundled = path.join(__dirname, '..', 'envelope-sdk.lambda', 'index.js');
  const target = existsSync(bundled) ? bundled : './envelope-sdk.lambda';
  // A runtime path esbuild must not follow: the SDK stays a separate file.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sdkModule ??= Promise.resolve().then((): typeof Sdk => require(target)));
}

/** Replaces the clients (tests against local emulators). */
export function useClients(c: Partial<Clients>): void {
  clients = { ...c };
}

/** The SDK client class behind each client the handler uses. */
const CLIENT_CLASS = { kms: 'KMSClient', s3: 'S3Client', secrets: 'SecretsManagerClient', ssm: 'SSMClient' } as const;

/** One client per service, made on first use with the handler's retry policy. */
async function client<K extends keyof Clients>(name: K): Promise<Clients[K]> {
  const Client = (await sdk())[CLIENT_CLASS[name]] as new (config: { maxAttempts: number }) => Clients[K];
  return (clients[name] ??= new Client({ maxAttempts: MAX_ATTEMPTS }));
}

export const kms = (): Promise<KMSClient> => client('kms');
export const s3 = (): Promise<S3Client> => client('s3');
export const secrets = (): Promise<SecretsManagerClient> => client('secrets');
export const ssm = (): Promise<SSMClient> => client('ssm');
