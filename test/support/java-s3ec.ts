// The official Amazon S3 Encryption Client for Java (interop/java), built with Maven and driven one command per line.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './moto';

const PROJECT = path.join(REPO_ROOT, 'interop', 'java');
export const JAR = path.join(PROJECT, 'target', 's3ec-interop.jar');

/**
 * Set to 1 (as CI should) to make a machine without Java or Maven fail the official-client tests instead of
 * skipping them.
 */
export const OFFICIAL_CLIENT_REQUIRED = process.env.CDK_CMEK_REQUIRE_OFFICIAL_CLIENT === '1';

function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    const p = path.join(dir, e.name);
    return Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
}

function onPath(command: string): boolean {
  return spawnSync(command, ['-version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Builds the jar when it is missing or older than its sources: offline first (a warm Maven cache needs no
 * network), then online from Maven Central. Returns the reason when Java or Maven is missing or the build fails.
 */
export function buildJar(): { jar?: string; reason?: string } {
  if (!onPath('java')) return { reason: 'java is not on PATH' };
  if (existsSync(JAR) && statSync(JAR).mtimeMs >= Math.max(newest(path.join(PROJECT, 'src')), statSync(path.join(PROJECT, 'pom.xml')).mtimeMs)) {
    return { jar: JAR };
  }
  if (!onPath('mvn')) return { reason: 'mvn is not on PATH' };
  const mvn = (offline: boolean) => spawnSync('mvn', ['-q', '-B', '-Dstyle.color=never', ...(offline ? ['-o'] : []), 'package'], {
    cwd: PROJECT,
    encoding: 'utf8',
    timeout: 900_000,
  });
  let r = mvn(true);
  if (r.status !== 0) r = mvn(false);
  if (r.status !== 0) return { reason: `mvn package failed: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join(' | ')}` };
  return { jar: JAR };
}

/** One running client: each `run` sends a command line and resolves with its one answer line. */
export interface JavaS3ec {
  run(fields: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the client against a local endpoint (moto). */
export function startJavaS3ec(jar: string, endpoint: string, region: string): JavaS3ec {
  const child: ChildProcess = spawn('java', ['-XX:TieredStopAtLevel=1', '-jar', jar, endpoint, region], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const waiting: Array<{ resolve(line: string): void; reject(e: Error): void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!/^(ok|error)\b/.test(line)) return;
    waiting.shift()?.resolve(line);
  });
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the Java client exited with ${code}: ${stderr}`));
  });
  return {
    run(fields) {
      if (fields.some((f) => /[\t\n]/.test(f))) throw new Error(`a field holds a tab or newline: ${JSON.stringify(fields)}`);
      return new Promise<string>((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin!.write(`${fields.join('\t')}\n`);
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}
