// `npm run config-schema`: writes schema/bluetick.config.schema.json from the zod schema of the
// config file (through the compiled dist/, which the npm script builds first). A test fails
// while the committed file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { CONFIG_SCHEMA_FILE, renderConfigJsonSchema } = await import(join(root, 'dist', 'config', 'json-schema.js'));
writeFileSync(join(root, CONFIG_SCHEMA_FILE), renderConfigJsonSchema());
console.log(`wrote ${CONFIG_SCHEMA_FILE}`);
