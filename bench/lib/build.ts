/**
 * Compiles the bot (src/, commands/) and the probe into bench/.build with the project's build settings, so the
 * bench runs the same JavaScript `npm start` runs, without touching dist/.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUILD_DIR = fileURLToPath(new URL('../.build', import.meta.url));

export function build(): number {
  const started = performance.now();
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'bench/tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  return performance.now() - started;
}
