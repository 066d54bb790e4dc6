// Shared by the bin/ launchers: run a compiled CLI entry point from dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

export async function launch(name) {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const entry = join(root, 'dist', 'cli', `${name}.js`);
  if (!existsSync(entry)) {
    process.stderr.write(`${name}: belay is not built (${entry} is missing); run: npm run build\n`);
    process.exit(127);
  }
  const mod = await import(pathToFileURL(entry).href);
  const code = await mod.main(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
}
