/** A silent logger and a StoreHealth that never gives up within a test, for parts built by hand. */
import { EventBus } from '../../src/events.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { StoreHealth } from '../../src/runtime/store-health.js';

/** A silent logger and a StoreHealth allowing a minute of store outage. */
export function quietHealth(): { logger: Logger; health: StoreHealth } {
  const logger = createLogger({ level: 'silent' });
  const health = new StoreHealth({
    maxStoreDownMs: 60_000,
    events: new EventBus(logger),
    logger,
    onFatal: () => undefined,
  });
  return { logger, health };
}
