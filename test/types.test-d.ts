/**
 * Compile-time checks of the library API's types; `npm run typecheck` (part of `npm test`)
 * fails when a line marked @ts-expect-error compiles, or when an unmarked line does not.
 * Nothing here runs.
 */
import { createBluetick, NonRetriableError, RetryAfterError, type BluetickEvent } from '../src/index.js';

declare const app: ReturnType<typeof createBluetick>;

// One type: the event narrows to that type's fields.
app.on('message.received', (event) => event.kind);
app.on('message.received', (event) => {
  const kind: string = event.kind;
  const text: string | undefined = event.text;
  // @ts-expect-error `status` belongs to message.status, not message.received.
  void event.status;
  return [kind, text];
});

app.on('message.status', (event) => {
  const status: string = event.status;
  // @ts-expect-error `kind` belongs to message.received.
  void event.kind;
  return status;
});

// Several types: the union of them, narrowed further by `type`.
app.on(['message.received', 'message.reaction'], (event) => {
  if (event.type === 'message.reaction') {
    const emoji: string = event.emoji;
    return emoji;
  }
  const kind: string = event.kind;
  // @ts-expect-error `emoji` is only on the reaction branch.
  void event.emoji;
  return kind;
});

// Template events carry template keys.
app.on('template.status', (event) => [event.templateId, event.templateName, event.status, event.reason]);

// A predicate filter sees the same narrowed type; a data filter takes route match keys but not `type`.
app.on('message.received', () => undefined, { filter: (event) => event.kind === 'text' });
app.on('message.received', () => undefined, { filter: { channel: ['sales'], kind: ['text'] } });
// @ts-expect-error the types come from the first argument, not the filter.
app.on('message.received', () => undefined, { filter: { type: ['message.status'] } });

// @ts-expect-error not an event type.
app.on('message.sent', () => undefined);

// The context and the control errors.
app.on('message.status', async (event, context) => {
  const attempt: number = context.attempt;
  const id: string = event.id;
  if (attempt > 3) throw new NonRetriableError(`giving up on ${id}`);
  throw new RetryAfterError(30_000, 'rate limited');
});

// Chaining, and a handler typed for every event.
const all = (event: BluetickEvent): string => event.id;
app.on('unknown', all).on('template.quality', all);

// Contract v2: every field's type narrows to its own keys.
app.on('account.alert', (event) => {
  const type: 'account.alert' = event.type;
  const alertType: string | undefined = event.kind;
  const status: string | undefined = event.status;
  const field: string | undefined = event.field;
  // @ts-expect-error `templateName` belongs to template events.
  void event.templateName;
  return [type, alertType, status, field];
});
app.on('message.echo', (event) => {
  const kind: string = event.kind;
  const to: string | undefined = event.to;
  return [kind, to];
});
app.on('message.standby', (event) => [event.from, event.status, event.recipientId]);
app.on('phone.quality', (event) => [event.currentLimit, event.oldLimit, event.displayPhoneNumber]);
app.on('user.preferences', (event) => [event.from, event.userId, event.status, event.kind]);
app.on('message.status', (event) => {
  const billable: boolean | undefined = event.billable;
  const callback: string | undefined = event.bizOpaqueCallbackData;
  return [billable, callback, event.conversationExpiresAt, event.pricingCategory];
});
app.on('message.received', (event) => [event.ctwaClid, event.flowToken, event.userId, event.username, event.latitude, event.errorCodes]);
app.on(['account.update', 'account.review', 'account.security'], (event) => event.status);
app.on('group.update', (event) => {
  const kind: string = event.kind;
  return kind;
});
// @ts-expect-error family patterns are for route config; handlers name their types.
app.on('account.*', () => undefined);
