/**
 * @module api/admin-token
 *
 * The admin token is never absent. When none is configured (`adminToken`,
 * `BLUETICK_ADMIN_TOKEN`), the first start generates one (256 random bits) and keeps it in
 * `<dataDir>/admin-token`, mode 0600; later starts read it back. The start banner prints a
 * generated token once, and says where to read it afterwards. CLI commands that talk to a
 * local server read the same file.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BluetickError } from '../errors.js';
import { ensurePrivateDir, writePrivateFileDurably } from '../private-files.js';

/** The file name inside the data folder. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/** Where the token came from, for the start banner. */
export interface AdminTokenInfo {
  token: string;
  /** `config`: configured; `generated`: created by this start; `file`: read from the data folder. */
  source: 'config' | 'generated' | 'file';
  /** The token file, when the token lives in one. */
  file?: string;
}

/** The token file of a data folder. */
export function adminTokenFile(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

/** The token kept in `dataDir`, or `undefined` when there is none (or it cannot be read). */
export function readAdminTokenFile(dataDir: string): string | undefined {
  try {
    const token = readFileSync(adminTokenFile(dataDir), 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** A new token: `btk_` and 43 base64url characters (256 bits). */
export function generateAdminToken(): string {
  return `btk_${randomBytes(32).toString('base64url')}`;
}

/**
 * The configured token, else the one kept in `dataDir`, else a new one written there (0600,
 * synced, created exclusively, so two processes starting at once end up with the same token).
 * An empty token file is what a power cut leaves of a token that never reached the disk; it
 * is replaced.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): AdminTokenInfo {
  if (configured !== undefined && configured !== '') return { token: configured, source: 'config' };
  const file = adminTokenFile(dataDir);
  const kept = readAdminTokenFile(dataDir);
  if (kept !== undefined) return { token: kept, source: 'file', file };
  ensurePrivateDir(dataDir);
  const token = generateAdminToken();
  try {
    try {
      writePrivateFileDurably(file, `${token}\n`, { exclusive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const other = readAdminTokenFile(dataDir);
      if (other !== undefined) return { token: other, source: 'file', file };
      writePrivateFileDurably(file, `${token}\n`, { exclusive: false });
      const replaced = readAdminTokenFile(dataDir) ?? token;
      return { token: replaced, source: replaced === token ? 'generated' : 'file', file };
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BluetickError('BT_ERR_CONFIG_INVALID', `cannot create the admin token file ${file} (${code ?? String(error)}); set BLUETICK_ADMIN_TOKEN instead`, {
      cause: error,
    });
  }
  return { token, source: 'generated', file };
}
