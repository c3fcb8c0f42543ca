/**
 * @module events/contacts
 *
 * A body's `contacts[]` (and the users of a history thread) as a lookup from a message to
 * its sender's name, username and business-scoped user id. Pure.
 */
import { idOf, isObject, own, textOf } from './json.js';
import type { JsonObject, JsonValue } from './types.js';

interface Contact {
  waId: string | undefined;
  userId: string | undefined;
  name: string | undefined;
  username: string | undefined;
}

/** The `contacts[]` entry of a user, looked up by wa_id or BSUID in constant time. */
export interface Contacts {
  find(waId: string | undefined, userId: string | undefined): Contact | undefined;
}

const NO_CONTACTS: Contacts = { find: () => undefined };

function readContact(contact: JsonObject): Contact {
  return {
    waId: idOf(contact.wa_id),
    userId: idOf(contact.user_id),
    name: textOf(own(contact.profile, 'name')),
    username: textOf(own(contact.profile, 'username')) ?? textOf(contact.username),
  };
}

/**
 * @param users The items the contacts describe, with the keys that name their user:
 *   used once, to decide whether a lone contact that matches none of them is still the
 *   sender (Meta warns that `from` and `wa_id` do not always match).
 */
export function contactsOf(contacts: JsonValue | undefined, users: readonly JsonValue[], waIdKey = 'from', userIdKey = 'from_user_id'): Contacts {
  if (!Array.isArray(contacts) || contacts.length === 0) return NO_CONTACTS;
  const byWaId = new Map<string, Contact>();
  const byUserId = new Map<string, Contact>();
  let count = 0;
  let only: Contact | undefined;
  for (const entry of contacts) {
    if (!isObject(entry)) continue;
    const contact = readContact(entry);
    count += 1;
    only = contact;
    // The first entry with a name wins, as before; entries without one only fill gaps.
    if (contact.waId !== undefined && (!byWaId.has(contact.waId) || byWaId.get(contact.waId)?.name === undefined)) byWaId.set(contact.waId, contact);
    if (contact.userId !== undefined && (!byUserId.has(contact.userId) || byUserId.get(contact.userId)?.name === undefined)) byUserId.set(contact.userId, contact);
  }
  let single: Contact | undefined;
  if (count === 1 && only !== undefined) {
    const lone = only;
    const matchesAnItem = users.some(
      (m) =>
        isObject(m) &&
        ((lone.waId !== undefined && idOf(own(m, waIdKey)) === lone.waId) || (lone.userId !== undefined && idOf(own(m, userIdKey)) === lone.userId)),
    );
    if (!matchesAnItem) single = lone;
  }
  return {
    find(waId, userId) {
      if (waId !== undefined) {
        const found = byWaId.get(waId);
        if (found !== undefined && found.name !== undefined) return found;
      }
      if (userId !== undefined) {
        const found = byUserId.get(userId);
        if (found !== undefined && found.name !== undefined) return found;
      }
      if (single !== undefined) return single;
      return (waId !== undefined ? byWaId.get(waId) : undefined) ?? (userId !== undefined ? byUserId.get(userId) : undefined);
    },
  };
}
