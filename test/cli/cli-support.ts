// Runs the bundled `cdk-cmek` binary in a clean environment, and a loopback proxy that slows S3 reads or makes KMS
// ignore Decrypt's KeyId (as a careless emulator or a compromised endpoint might) in front of moto.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { ensureCliBundle } from '../monitoring/support/bundle';

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliRun>;
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-cli-'));
let bin: string | undefined;

/** The environment of a user with no AWS setup at all: nothing leaks in from the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH!,
    HOME: home,
    TMPDIR: extra.TMPDIR ?? home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
    // The SDK's Node-version notice is not the CLI's output.
    NODE_NO_WARNINGS: '1',
    ...extra,
  };
}

/** Starts the bundled CLI; `done` resolves when it exits. */
export function startCli(args: string[], env: Record<string, string> = {}, cwd?: string): RunningCli {
  bin ??= ensureCliBundle();
  const child = spawn(process.execPath, [bin, ...args], { env: cleanEnv(env), cwd });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr })),
  );
  return { child, done };
}

/** Runs the bundled CLI to the end. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliRun> {
  return startCli(args, env, cwd).done;
}

export interface ProxyOptions {
  /** Bytes per second for S3 GetObject bodies (object reads); unlimited when absent. */
  readonly s3BytesPerSecond?: number;
  /** Remove `KeyId` from KMS Decrypt requests, so the endpoint unwraps under whichever key wrapped the blob. */
  readonly dropDecryptKeyId?: boolean;
}

export interface Proxy {
  readonly url: string;
  /** Requests seen: `KMS:<operation>` or `S3:<method> <path>`. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** A loopback HTTP proxy to `target` (moto). moto ignores signatures, so rewritten bodies still pass. */
export async function startProxy(target: string, opts: ProxyOptions = {}): Promise<Proxy> {
  const requests: string[] = [];
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body = Buffer.concat(parts);
      const amzTarget = String(req.headers['x-amz-target'] ?? '');
      const headers = { ...req.headers };
      if (amzTarget.startsWith('TrentService.')) {
        const op = amzTarget.slice('TrentService.'.length);
        requests.push(`KMS:${op}`);
        if (op === 'Decrypt' && opts.dropDecryptKeyId) {
          const input = JSON.parse(body.toString('utf8'));
          delete input.KeyId;
          body = Buffer.from(JSON.stringify(input));
          headers['content-length'] = String(body.length);
        }
      } else {
        requests.push(`S3:${req.method} ${req.url}`);
      }
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          const slow = req.method === 'GET' && !amzTarget && opts.s3BytesPerSecond !== undefined;
          (slow ? upRes.pipe(throttle(opts.s3BytesPerSecond!)) : upRes).pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Passes bytes on in 64 KiB slices at about `bytesPerSecond`. */
function throttle(bytesPerSecond: number): Transform {
  const slice = 64 * 1024;
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < chunk.length; i += slice) pieces.push(chunk.subarray(i, i + slice));
      const next = () => {
        const p = pieces.shift();
        if (!p) return done();
        this.push(p);
        setTimeout(next, (p.length / bytesPerSecond) * 1000);
      };
      next();
    },
  });
}

/** Files in `dir`, sorted; hidden ones included. */
export function listDir(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** Waits until `check` holds, polling every 10 ms, or fails after `ms`. */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
