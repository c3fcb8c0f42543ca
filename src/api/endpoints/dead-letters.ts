/**
 * @module api/endpoints/dead-letters
 *
 * `POST /api/dead-letters/drop`: an operator gives up on dead letters. A dropped delivery
 * stays `dead` with every attempt (`GET /api/deliveries/{id}` shows `droppedAt`), but it is
 * no longer listed, counted or redriven as a dead letter, and a conversation it held
 * (`onDeadLetter: "hold"`) moves on to its next delivery. To send the event again later,
 * replay it.
 */
import { z } from 'zod';
import { ApiError, type ApiRouter } from '../router.js';

/** The delivery controls these routes use (the server's `DeliveryRuntime`). */
export interface DeadLetterControls {
  /** Drops dead letters; returns the ids dropped. */
  drop(ids: number[]): Promise<number[]>;
}

const deliveryId = z.number().int().positive();

const dropRequest = z
  .strictObject({
    id: deliveryId.optional().meta({ description: 'One dead letter (delivery id).' }),
    ids: z.array(deliveryId).min(1).max(10_000).optional().meta({ description: 'Several dead letters (delivery ids).' }),
  })
  .meta({ description: 'Either `id` or `ids`.' });

const dropAnswer = z.strictObject({
  dropped: z.number().int().meta({ description: 'How many were dropped.' }),
  ids: z.array(z.number().int()).meta({ description: 'The ids dropped: dead letters not dropped before. Others given are left as they are.' }),
  message: z.string(),
});

export function registerDeadLetterEndpoints(router: ApiRouter, controls: DeadLetterControls): void {
  router.post(
    {
      path: '/api/dead-letters/drop',
      operationId: 'dropDeadLetters',
      summary: 'Drop dead letters',
      description:
        'Gives up on dead letters: they stay `dead` with their attempts but leave the dead-letter list, and a conversation one of them held ' +
        '(a route with `onDeadLetter: "hold"`) moves on to its next delivery at once. Replay the event to send it again.',
      tag: 'deliveries',
      body: dropRequest,
      response: dropAnswer,
    },
    async ({ body }) => {
      if ((body.id === undefined) === (body.ids === undefined)) {
        throw new ApiError(400, 'body: expected either { "id": <delivery id> } or { "ids": [<delivery id>, ...] }', 'body');
      }
      const ids = body.id !== undefined ? [body.id] : body.ids!;
      const dropped = await controls.drop(ids);
      const message =
        dropped.length === 0
          ? 'nothing dropped: no dead letter among the ids given'
          : `dropped ${dropped.length} dead letter${dropped.length === 1 ? '' : 's'}; conversations they held move on now`;
      return { dropped: dropped.length, ids: dropped, message };
    },
  );
}
