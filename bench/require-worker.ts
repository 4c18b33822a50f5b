// Child process of the footprint benchmark: times a cold `require` of each given file, in order, in this fresh process.
// Usage: node require-worker.js <file> [<file> …]

function main(): void {
  const times: number[] = [];
  for (const file of process.argv.slice(2)) {
    const t0 = process.hrtime.bigint();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(file);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  // No shared helpers imported: anything loaded before the first require would warm the module system for it.
  process.stdout.write(`BENCH_RESULT ${JSON.stringify({ times })}\n`);
}

main();
