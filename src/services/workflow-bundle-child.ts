/** Run by workflow-bundle.ts in a child process: `<request JSON> <output path>`; bundles and writes the code, then exits. */
import { writeFile } from 'node:fs/promises';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import type { BundleRequest } from './workflow-bundle.js';

const [requestJson, outPath] = process.argv.slice(2) as [string, string];
const request = JSON.parse(requestJson) as BundleRequest;
const { code } = await bundleWorkflowCode({ ...request, logger: new DefaultLogger('WARN') });
await writeFile(outPath, code);
