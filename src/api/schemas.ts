/**
 * @module api/schemas
 *
 * Every request and response shape of `/api`, as zod schemas. Query schemas validate what
 * a request sends (and turn it into store filters); response schemas document what the
 * routes return. `GET /api/openapi.json` is generated from both (see `openapi.ts`), so the
 * document cannot drift from the code: tests parse real answers with the response schemas.
 *
 * Conventions:
 * - Query values are strings. Lists are comma-separated (`type=message.status,template.status`)
 *   or repeated (`type=a&type=b`). Times are ISO-8601 or epoch milliseconds.
 * - Unknown query parameters are refused: a typo must not silently widen a filter.
 * - Lists are `{ items, next }`. `next` is an opaque cursor: pass it as `after` to read on.
 *   It is absent when there is nothing more right now. Lists are in the order rows were
 *   first recorded, so paging never skips or repeats a row while new events arrive.
 * - Every time in a response is ISO-8601 UTC; keys that do not apply are omitted, never null.
 *
 * One module per area in `schemas/`; this file is where every endpoint imports them from, in
 * the order the components appear in the document.
 */
export * from './schemas/base.js';
export * from './schemas/queries.js';
export * from './schemas/events.js';
export * from './schemas/messages.js';
export * from './schemas/account.js';
export * from './schemas/operations.js';
export * from './schemas/deliveries.js';
