/**
 * @module dispatch/payload
 *
 * An event as the delivery worker hands it to a sink or handler: its id, its JSON text as
 * the store keeps it (written by `serializeEvent`), and the parsed event, made on first use.
 * The HTTP sink sends the text as it is; handlers and the NATS sink ask for the object. So
 * a delivery costs no parse and no re-serialization where the text is all that is needed.
 */
import { parseEventJson, serializeEvent } from '../events/normalize.js';
import type { BluetickEvent } from '../events/types.js';

export interface EventPayload {
  readonly id: string;
  /** The event's JSON text, exactly as stored. @throws when an event given as an object cannot be serialized. */
  readonly json: string;
  /** The event itself (parsed once, on first use). */
  event(): BluetickEvent;
}

/** A payload from stored JSON text; `id` is the event id the delivery row carries. */
export function payloadFromJson(id: string, json: string): EventPayload {
  let parsed: BluetickEvent | undefined;
  return {
    id,
    json,
    event: () => (parsed ??= parseEventJson(json)),
  };
}

/** A payload from an event object; its text is written on first use. */
export function payloadFromEvent(event: BluetickEvent): EventPayload {
  let text: string | undefined;
  return {
    id: event.id,
    get json() {
      return (text ??= serializeEvent(event));
    },
    event: () => event,
  };
}
