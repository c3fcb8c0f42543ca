/**
 * @module config/json-schema
 *
 * The JSON Schema of `bluetick.config.json`, generated from the zod schema in `schema.ts`
 * so the two cannot disagree. Editors use it for completion and checking (`"$schema"` in
 * the file); it is committed as `schema/bluetick.config.schema.json` (rewritten by
 * `npm run config-schema`, checked by a test), shipped in the package and served at
 * `GET /api/config-schema.json`.
 *
 * It describes the file as written (zod's input side): defaults are shown, and keys that
 * accept one string or a list accept both.
 */
import { z } from 'zod';
import { writtenConfigSchema } from './schema.js';

/** The committed copy, relative to the package root. */
export const CONFIG_SCHEMA_FILE = 'schema/bluetick.config.schema.json';

/** The JSON Schema (draft 2020-12) of the config file. */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(writtenConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'bluetick configuration',
    description: 'bluetick.config.json: every key, its default and its environment variable are described in docs/configuration.md.',
    ...rest,
  };
}

/** The schema as the committed file holds it: two-space indentation and a final newline. */
export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
