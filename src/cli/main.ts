// The `cdk-cmek` command line: one bundled executable; each subcommand lives in its own file and registers itself here.
import { Command } from 'commander';
import { registerAuditCommand } from './audit';
import { registerDecryptCommand } from './decrypt';
import { version } from '../../package.json';

const program = new Command('cdk-cmek')
  .description('Operate customer-managed KMS keys (CMEK): audit key usage, read envelope-encrypted objects')
  .version(version);
registerAuditCommand(program);
registerDecryptCommand(program);

void program.parseAsync(process.argv);
