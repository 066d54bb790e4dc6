/** `crm_mon` (filled in by its issue). */
export async function main(_argv: string[]): Promise<number> {
  process.stderr.write('crm_mon: not available yet\n');
  return 2;
}
