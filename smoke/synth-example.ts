// Synthesizes the example app (the one `cdk.json` runs) into a folder, with the context `cdk synth` gives it, and
// writes that context beside it: the Python and Go ports synthesize with the same context and are compared with it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exampleApp, synthApp } from '../scripts/integ-synth';

const [outdir, contextFile] = process.argv.slice(2);
if (!outdir || !contextFile) {
  console.error('usage: synth-example.ts OUTDIR CONTEXT_FILE');
  process.exit(2);
}
const app = exampleApp();
fs.mkdirSync(path.dirname(contextFile), { recursive: true });
fs.writeFileSync(contextFile, JSON.stringify(app.context ?? {}));
const templates = synthApp(app, outdir);
console.log(`example app: ${templates.length} templates in ${outdir}`);
