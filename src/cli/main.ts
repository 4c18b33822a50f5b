// The `cdk-cmek` command line: one bundled executable; each subcommand lives in its own file and registers itself here.
import { Command, CommanderError } from 'commander';
import { registerAuditCommand } from './audit';
import { registerDecryptCommand } from './decrypt';
import { EXIT, oneLine } from './exit';
import { registerRetireCommand } from './retire';
import { version } from '../../package.json';

// The SDK warns on every run that its releases after January 2027 need Node 22; the bundle pins the SDK it was
// tested with, so the warning says nothing about this tool (package.json `engines` states what it needs). A user
// who sets the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command('cdk-cmek')
  .description('Operate customer-managed KMS keys (CMEK): audit key usage, read envelope-encrypted objects, retire keys')
  .version(version)
  // Usage errors end with exit 2 and one line (commander would exit 1, the code for findings, over two lines).
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(`cdk-cmek: ${oneLine(str.replace(/^error: /, ''))}\n`) });
registerAuditCommand(program);
registerDecryptCommand(program);
registerRetireCommand(program);

// A reader that stops early (`| head`) after the command decided its exit code keeps that code; before, it is an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  process.exit(e.code === 'EPIPE' ? (process.exitCode as number | undefined) ?? EXIT.ERROR : EXIT.ERROR);
});

async function main(argv: string[]): Promise<void> {
  if (argv.length <= 2) {
    process.stderr.write('cdk-cmek: a command is required: audit, decrypt or retire (see cdk-cmek --help)\n');
    process.exitCode = EXIT.ERROR;
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with 0; every other commander outcome is a usage error.
      process.exitCode = e.exitCode === 0 ? EXIT.OK : EXIT.ERROR;
      return;
    }
    process.stderr.write(`cdk-cmek: ${oneLine(String((e as Error)?.message ?? e))}\n`);
    process.exitCode = EXIT.ERROR;
  }
}

void main(process.argv);
