/**
 * @module tls
 *
 * HTTPS from PEM files, reloaded when they change, so a certificate renewal (certbot, a
 * Kubernetes secret update, a manual copy) needs no restart. TLS 1.2 is the minimum.
 *
 * The watch is on the directories that hold the files, not the files themselves: renewals
 * usually replace a file or swap a symlink, and a watch on the old inode would go quiet.
 * Events are debounced, the pair is read again and checked by building a secure context;
 * only a pair that works replaces the one in use. A broken pair (a half-written file, a key
 * that does not match its certificate) is logged and the old pair keeps serving. A slow
 * `stat` poll backs up `fs.watch`, which some file systems (network mounts) do not feed.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { BluetickError } from './errors.js';
import type { Logger } from './log.js';

export const TLS_MIN_VERSION = 'TLSv1.2' as const;

export interface TlsFiles {
  cert: string;
  key: string;
}

/** What a server needs for one certificate/key pair. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  minVersion: typeof TLS_MIN_VERSION;
}

/** Facts about the certificate in use (for logs and `doctor`). */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256: string;
}

/** Throws when the pair cannot serve: unreadable PEM, or a key that does not match. */
export function checkTlsMaterial(material: TlsMaterial): void {
  createSecureContext({ cert: material.cert, key: material.key, minVersion: material.minVersion });
}

export function describeCertificate(cert: Buffer): CertificateInfo {
  const x = new X509Certificate(cert);
  return {
    subject: x.subject,
    issuer: x.issuer,
    validFrom: x.validFrom,
    validTo: x.validTo,
    fingerprint256: x.fingerprint256,
  };
}

function invalidPair(files: TlsFiles, cause: unknown): BluetickError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new BluetickError(
    'BT_ERR_CONFIG_INVALID',
    `the TLS certificate ${files.cert} and key ${files.key} cannot be used: ${reason}`,
    { cause },
  );
}

/**
 * Reads and checks the pair once, at start.
 *
 * @throws BluetickError `BT_ERR_CONFIG_INVALID` naming both files.
 */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  let material: TlsMaterial;
  try {
    material = { cert: readFileSync(files.cert), key: readFileSync(files.key), minVersion: TLS_MIN_VERSION };
    checkTlsMaterial(material);
  } catch (error) {
    throw invalidPair(files, error);
  }
  return material;
}

/** Anything with `setSecureContext`: an `https.Server` or a `tls.Server`. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface TlsWatcherOptions {
  logger?: Logger;
  /** Quiet time after the last file event before reloading. Default 250 ms. */
  debounceMs?: number;
  /** Stat-poll interval backing up `fs.watch`. Default 10 000 ms; 0 turns it off. */
  pollMs?: number;
  /** After a new pair took effect. */
  onReload?: (info: CertificateInfo) => void;
  /** After a changed pair was refused (the old one stays). */
  onError?: (error: Error) => void;
}

/**
 * Watches the pair and swaps it into `target` when it changes.
 *
 * @example
 * ```ts
 * const material = loadTlsMaterial(files);
 * const server = https.createServer(material, handler);
 * const watcher = new TlsWatcher(server, files, material, { logger });
 * // later
 * watcher.close();
 * ```
 */
export class TlsWatcher {
  readonly #target: SecureContextTarget;
  readonly #files: TlsFiles;
  readonly #opts: TlsWatcherOptions;
  readonly #watchers: FSWatcher[] = [];
  readonly #polled: string[] = [];
  readonly #onPoll = (): void => this.#schedule();
  #digest: string;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<boolean> | undefined;
  #again = false;
  #closed = false;

  constructor(target: SecureContextTarget, files: TlsFiles, current: TlsMaterial, opts: TlsWatcherOptions = {}) {
    this.#target = target;
    this.#files = files;
    this.#opts = opts;
    this.#digest = digestOf(current);
    const schedule = (): void => this.#schedule();
    for (const dir of new Set([dirname(files.cert), dirname(files.key)])) {
      try {
        const w = watch(dir, { persistent: false }, schedule);
        w.on('error', (error) => opts.logger?.warn({ err: error, dir }, 'TLS directory watch failed; relying on polling'));
        this.#watchers.push(w);
      } catch (error) {
        opts.logger?.warn({ err: error, dir }, 'cannot watch the TLS directory; relying on polling');
      }
    }
    const pollMs = opts.pollMs ?? 10_000;
    if (pollMs > 0) {
      for (const file of new Set([files.cert, files.key])) {
        watchFile(file, { persistent: false, interval: pollMs }, this.#onPoll);
        this.#polled.push(file);
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.reload();
    }, this.#opts.debounceMs ?? 250);
    this.#timer.unref();
  }

  /**
   * Reads the pair again and swaps it in when it changed and works. Resolves true when a
   * new pair took effect.
   */
  async reload(): Promise<boolean> {
    if (this.#reloading !== undefined) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = this.#reloadOnce();
    try {
      let swapped = await this.#reloading;
      while (this.#again && !this.#closed) {
        this.#again = false;
        this.#reloading = this.#reloadOnce();
        swapped = (await this.#reloading) || swapped;
      }
      return swapped;
    } finally {
      this.#reloading = undefined;
    }
  }

  async #reloadOnce(): Promise<boolean> {
    const { logger } = this.#opts;
    let material: TlsMaterial;
    try {
      const [cert, key] = await Promise.all([readFile(this.#files.cert), readFile(this.#files.key)]);
      material = { cert, key, minVersion: TLS_MIN_VERSION };
    } catch (error) {
      this.#refused(error);
      return false;
    }
    const digest = digestOf(material);
    if (digest === this.#digest || this.#closed) return false;
    try {
      checkTlsMaterial(material);
      this.#target.setSecureContext(material);
    } catch (error) {
      this.#refused(error);
      return false;
    }
    this.#digest = digest;
    let info: CertificateInfo | undefined;
    try {
      info = describeCertificate(material.cert);
    } catch {
      info = undefined;
    }
    logger?.info(
      { cert: basename(this.#files.cert), subject: info?.subject, validTo: info?.validTo, fingerprint256: info?.fingerprint256 },
      'TLS certificate reloaded',
    );
    if (info) this.#opts.onReload?.(info);
    return true;
  }

  #refused(error: unknown): void {
    const err = invalidPair(this.#files, error);
    this.#opts.logger?.error({ err }, 'TLS files changed but cannot be used; keeping the current certificate');
    this.#opts.onError?.(err);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
    for (const file of this.#polled) unwatchFile(file, this.#onPoll);
  }
}

function digestOf(material: TlsMaterial): string {
  return createHash('sha256').update(material.cert).update('\u0000').update(material.key).digest('hex');
}
