/**
 * Compile-time tests of the cluster event types a reader of docs/EVENTS.md imports: checked by
 * `npm run typecheck` (tsc over test/), never run.
 */
import { expectTypeOf } from 'vitest';
import type {
  CLUSTER_EVENT_TYPES,
  ClusterEvent,
  ClusterEventType,
  EventPage,
  FollowEventsOptions,
  Nightshift,
} from '../../src/index.js';

export async function reader(ns: Nightshift, after: string, signal: AbortSignal): Promise<void> {
  ns.events.on('cluster:event', (event) => expectTypeOf(event).toEqualTypeOf<ClusterEvent>());

  const page = await ns.readEvents({ after, limit: 100, queue: 'mail' });
  expectTypeOf(page).toEqualTypeOf<EventPage>();
  expectTypeOf(page.more).toEqualTypeOf<boolean>();
  expectTypeOf(page.next).toEqualTypeOf<string>();

  const options: FollowEventsOptions = { after: page.next, task: 'mail.send', signal };
  for await (const event of ns.followEvents(options)) {
    expectTypeOf(event.type).toEqualTypeOf<ClusterEventType>();
    expectTypeOf(event.id).toEqualTypeOf<string>();
  }
  expectTypeOf<(typeof CLUSTER_EVENT_TYPES)[number]>().toEqualTypeOf<ClusterEventType>();
}
