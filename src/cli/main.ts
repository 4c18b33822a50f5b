// The `cdk-cmek` command line: one bundled executable; each subcommand lives in its own file and registers itself here.
import { Command } from 'commander';
import { registerAuditCommand } from './audit';
import { registerDecryptCommand } from './decrypt';
import { version } from '../../package.json';

// The SDK warns on every run that its releases after January 2027 need Node 22; the bundle pins the SDK it was
// tested with, so the warning says nothing about this tool (package.json `engines` states what it needs). A user
// who sets the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command('cdk-cmek')
  .description('Operate customer-managed KMS keys (CMEK): audit key usage, read envelope-encrypted objects')
  .version(version);
registerAuditCommand(program);
registerDecryptCommand(program);

void program.parseAsync(process.argv);
