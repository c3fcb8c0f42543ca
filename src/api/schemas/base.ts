/**
 * @module api/schemas/base
 *
 * The registry behind the OpenAPI components, list limits, and the page shape every list answers with.
 */
import { z } from 'zod';

/** Largest page a list answers. */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 50;

/** The schemas that appear in `components.schemas` of the OpenAPI document. */
export const apiRegistry = z.registry<{ id: string }>();

/** The same schemas by id, with the description each component carries in the document. */
export const apiComponents = new Map<string, { schema: z.ZodType; description?: string }>();

export function component<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  apiRegistry.add(schema as z.ZodType, { id });
  apiComponents.set(id, description === undefined ? { schema } : { schema, description });
  return schema;
}

/** An ISO-8601 time in an answer. */
export const iso = () => z.string().meta({ format: 'date-time' });

export function pageOf<T extends z.ZodType>(id: string, item: T) {
  return component(
    id,
    z.strictObject({
      items: z.array(item),
      next: z.string().optional().meta({ description: 'Pass as `after` for the next page; absent when there is nothing more now.' }),
    }),
  );
}
