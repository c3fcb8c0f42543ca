/**
 * @module acme/storage
 *
 * Where ACME state lives on disk, readable by the owner only:
 *
 *   <dataDir>/acme/                                  0700
 *     <ca>/                                          0700  one folder per ACME directory URL
 *       account.key                                  0600  the account's private key (PEM)
 *       account.json                                 0600  { url, email, directoryUrl, createdAt }
 *       certificates/<domain>/cert.pem               0600  leaf + intermediates (PEM)
 *       certificates/<domain>/key.pem                0600  the certificate's private key (PEM)
 *
 * One folder per CA keeps a staging certificate from ever being served after switching to
 * production, and an account from being sent to a CA that does not know it. Every write goes
 * to a temporary file (created 0600), is synced, and renamed over the old one, so a crash
 * leaves either the old file or the new one. The key is renamed before the certificate;
 * a crash between the two leaves a pair that does not match, which `load` reports as
 * missing, and a new certificate is ordered.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

export interface StoredAccount {
  url: string;
  email?: string;
  directoryUrl: string;
  createdAt: string;
}

export interface StoredCertificate {
  cert: Buffer;
  key: Buffer;
}

/** A folder name for an ACME directory URL: `acme-v02.api.letsencrypt.org-directory`. */
export function caFolderName(directoryUrl: string): string {
  const url = new URL(directoryUrl);
  const raw = `${url.hostname}${url.port ? `-${url.port}` : ''}${url.pathname}`;
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return name === '' ? 'ca' : name.slice(0, 120);
}

/** Writes `data` to `path` atomically, readable by the owner only. */
export async function writePrivateFile(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  await chmod(dir, DIR_MODE);
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export class AcmeStorage {
  /** `<dataDir>/acme`. */
  readonly base: string;
  /** `<dataDir>/acme/<ca>`. */
  readonly root: string;

  constructor(dataDir: string, directoryUrl: string) {
    this.base = join(dataDir, 'acme');
    this.root = join(this.base, caFolderName(directoryUrl));
  }

  get accountKeyPath(): string {
    return join(this.root, 'account.key');
  }

  get accountPath(): string {
    return join(this.root, 'account.json');
  }

  certificatePaths(domain: string): { dir: string; cert: string; key: string } {
    const dir = join(this.root, 'certificates', domain.toLowerCase());
    return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  }

  /** Creates the folders (0700), tightening them when they already exist. */
  async ensure(): Promise<void> {
    await ensurePrivateDir(this.base);
    await ensurePrivateDir(this.root);
    await ensurePrivateDir(join(this.root, 'certificates'));
  }

  async loadAccountKey(): Promise<Buffer | undefined> {
    return readIfExists(this.accountKeyPath);
  }

  async saveAccountKey(pem: Buffer | string): Promise<void> {
    await this.ensure();
    await writePrivateFile(this.accountKeyPath, pem);
  }

  async loadAccount(): Promise<StoredAccount | undefined> {
    const raw = await readIfExists(this.accountPath);
    if (raw === undefined) return undefined;
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as Partial<StoredAccount>;
      return typeof parsed.url === 'string' && typeof parsed.directoryUrl === 'string' ? (parsed as StoredAccount) : undefined;
    } catch {
      return undefined;
    }
  }

  async saveAccount(account: StoredAccount): Promise<void> {
    await this.ensure();
    await writePrivateFile(this.accountPath, `${JSON.stringify(account, null, 2)}\n`);
  }

  /** The stored pair, or `undefined` when either file is missing. */
  async loadCertificate(domain: string): Promise<StoredCertificate | undefined> {
    const paths = this.certificatePaths(domain);
    const [cert, key] = await Promise.all([readIfExists(paths.cert), readIfExists(paths.key)]);
    return cert !== undefined && key !== undefined ? { cert, key } : undefined;
  }

  async saveCertificate(domain: string, pair: StoredCertificate): Promise<void> {
    const paths = this.certificatePaths(domain);
    await this.ensure();
    await ensurePrivateDir(paths.dir);
    await writePrivateFile(paths.key, pair.key);
    await writePrivateFile(paths.cert, pair.cert);
  }
}
