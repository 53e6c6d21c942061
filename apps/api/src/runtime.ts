import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './config/config.js';

export const RUNTIME = Symbol('RUNTIME');

/** Facts about this running process that are settled before Nest starts. */
export interface Runtime {
  version: string;
  databaseUrl: string;
  embeddedDatabase: boolean;
}

export function productVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
