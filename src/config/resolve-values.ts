/**
 * @module config/resolve-values
 *
 * Pure: the small parsers every part of config resolution shares (ports, booleans, log
 * levels) and the wording of an issue (`channels[1].meta.appSecrets: ...`).
 */
import type { z } from 'zod';
import type { ConfigIssue } from './types.js';
import { LOG_LEVELS, type LogLevel } from './schema.js';

/** Records an issue against the key, variable or flag at fault. */
export type ReportIssue = (path: string, message: string) => void;

/** `a.b[1].c` from a zod issue path. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** `path: message`, the one-line form used in error output. */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${issue.message}`;
}

export function zodIssueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return issue.keys.length === 1 ? `unknown key ${keys}` : `unknown keys ${keys}`;
  }
  return issue.message.replace(/^Invalid input: /, '');
}

export function parsePort(raw: string | number): number | undefined {
  const text = String(raw).trim();
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65_535 ? port : undefined;
}

export function parseBool(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes' || v === 'on') return true;
  if (v === '0' || v === 'false' || v === 'no' || v === 'off' || v === '') return false;
  return undefined;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
