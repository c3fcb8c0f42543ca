/**
 * @module cli/commands/init
 *
 * `bluetick init`: writes a commented sample `bluetick.config.json` to start from, with
 * freshly generated secrets (the admin token, an EnableX Basic password, a `whsec_` signing
 * secret for the sample sink). The file holds secrets, so it is created 0600, and an existing
 * file is never overwritten. The sample is valid as written: `bluetick serve` starts on it.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAdminToken } from '../../api/admin-token.js';
import { CONFIG_SCHEMA_FILE } from '../../config/json-schema.js';
import { DEFAULT_CONFIG_FILE } from '../../config/schema.js';
import { BluetickError, ExitError } from '../../errors.js';
import { PRIVATE_FILE_MODE } from '../../private-files.js';

export interface InitCommandOptions {
  /** Where to write; default `bluetick.config.json` in the working directory. */
  config?: string;
}

export interface InitIo {
  stdout: NodeJS.WritableStream;
  cwd: string;
}

/** The secrets a sample is written with. */
export interface SampleSecrets {
  adminToken: string;
  basicPassword: string;
  sinkSecret: string;
}

export function generateSampleSecrets(): SampleSecrets {
  return {
    adminToken: generateAdminToken(),
    basicPassword: randomBytes(18).toString('base64url'),
    sinkSecret: `whsec_${randomBytes(32).toString('base64')}`,
  };
}

/** The package's JSON Schema as the config file should point at it: relative when that is short. */
function schemaReference(configDir: string): string {
  const schema = fileURLToPath(new URL(`../../../${CONFIG_SCHEMA_FILE}`, import.meta.url));
  const rel = relative(configDir, schema);
  if (rel === '' || isAbsolute(rel) || rel.split(/[\\/]/).filter((p) => p === '..').length > 2) return schema;
  return rel.startsWith('.') ? rel.replace(/\\/g, '/') : `./${rel.replace(/\\/g, '/')}`;
}

/** The sample file's text: JSON with `//` comments, which the config loader accepts. */
export function sampleConfig(secrets: SampleSecrets, schemaRef: string): string {
  const q = JSON.stringify;
  return `// bluetick configuration, written by \`bluetick init\`.
// Every key, its default and its environment variable: docs/configuration.md in the package.
// This file holds secrets: it is readable by you only (0600); keep it out of version control.
{
  "$schema": ${q(schemaRef)},

  "server": {
    // 127.0.0.1: only this machine can reach the server (fine for local testing).
    // EnableX and Meta post only to public HTTPS URLs with a CA-signed certificate: bind
    // "0.0.0.0" and add "acme": { "domains": ["hooks.example.com"], "email": "you@example.com" }
    // (certificates from Let's Encrypt, renewed by bluetick), or put a TLS proxy in front
    // and set "behindProxy": true. \`bluetick doctor\` tells which of the two you are ready for.
    "host": "127.0.0.1",
    "port": 8080,
    // The SQLite store, the ACME certificates (relative to this file).
    "dataDir": "./data"
  },

  // Bearer token for /api, the console (paste it at sign-in) and the CLI (--token or
  // BLUETICK_ADMIN_TOKEN). Generated for this file.
  "adminToken": ${q(secrets.adminToken)},

  "channels": [
    {
      // POST https://<your host>/webhooks/default
      "name": "default",
      // "auto" takes both body shapes; "enablex" or "meta" pins one.
      "provider": "auto",
      // EnableX: enter this user and password under HTTP Authentication in the EnableX portal.
      "basicAuth": [${q(`enablex:${secrets.basicPassword}`)}]
      // Meta (Cloud API): the App Secret signs every POST; the verify token answers the
      // subscription handshake. Add a comma above and uncomment:
      // "meta": { "appSecrets": ["<App Secret>"], "verifyTokens": ["<a verify token you choose>"] }
    }
  ],

  // Where events go: a signed POST per event (Standard Webhooks). Give the receiver this
  // secret; any Standard Webhooks library verifies the webhook-signature header with it.
  "sinks": [
    { "name": "app", "type": "http", "url": "http://127.0.0.1:3000/whatsapp", "secret": ${q(secrets.sinkSecret)} }
  ],

  // Which events go to which sink. Uncomment to deliver every event to "app" (narrow it with
  // "match": { "type": ["message.received", "message.status"] }).
  "routes": [
    // { "name": "everything-to-app", "sink": "app" }
  ],

  "log": { "level": "info" }
}
`;
}

export async function runInit(opts: InitCommandOptions, io: InitIo): Promise<number> {
  const file = resolve(io.cwd, opts.config ?? DEFAULT_CONFIG_FILE);
  const text = sampleConfig(generateSampleSecrets(), schemaReference(dirname(file)));
  try {
    // `wx`: fails when the file exists, so a config with real secrets is never replaced.
    await writeFile(file, text, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new BluetickError('BT_ERR_INIT_EXISTS', `${file} exists already; init never overwrites a config (move it away, or pass --config <other file>)`);
    }
    throw new ExitError(1, `cannot write ${file} (${code ?? String(error)})`);
  }
  io.stdout.write(
    [
      `wrote ${file} (mode 0600: it holds the admin token, the EnableX password and the sink secret)`,
      '',
      'next:',
      `  bluetick serve${opts.config !== undefined ? ` --config ${opts.config}` : ''}       # starts on it; the banner shows the URLs`,
      '  bluetick doctor      # says whether the host is ready for local testing or for EnableX/Meta',
      '',
    ].join('\n'),
  );
  return 0;
}
