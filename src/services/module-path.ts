/**
 * Paths of seqflow's own modules that are loaded by path, not imported (the workflow code that
 * webpack bundles, the bundling child, the workflow interceptors): `.ts` while the sources run
 * through tsx (tests, `npm run dev`), `.js` when the compiled `dist/` runs (`npm run worker`, the
 * image).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of `relative` (written as a `.ts` path) beside the module whose
 * `import.meta.url` is `base`, with that module's own extension.
 */
export function siblingModule(base: string, relative: string): string {
  return fileURLToPath(new URL(relative.replace(/\.ts$/, path.extname(fileURLToPath(base))), base));
}
