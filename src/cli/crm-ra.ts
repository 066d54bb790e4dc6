/** `crm ra ...` (filled in by the executor issue). */
export async function runRa(args: string[]): Promise<number> {
  process.stderr.write(`crm ra: not available yet (${args.join(' ')})\n`);
  return 2;
}
