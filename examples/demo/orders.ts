/**
 * The demo's stand-in for a shop database: a deterministic list of orders for a business day, read
 * in pages the way an export reads a real table (by a stable order, from an offset).
 */

/** One order as the export reads it. */
export interface Order {
  id: number;
  customer: string;
  totalCents: number;
  /** A few orders carry an address the message broker rejects for good; they end `failed`. */
  address: string;
}

const CUSTOMERS = [
  'Ada',
  'Grace',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Radia',
  'Tony',
  'Margaret',
];

/** Reads `limit` orders starting at `offset` (0-based) from a day holding `total` orders. */
export function readOrders(total: number, offset: number, limit: number): Order[] {
  const orders: Order[] = [];
  for (let id = offset + 1; id <= Math.min(total, offset + limit); id++) {
    orders.push({
      id,
      customer: CUSTOMERS[id % CUSTOMERS.length] ?? 'Ada',
      // A cheap deterministic spread of totals, so reruns produce identical messages.
      totalCents: ((id * 7919) % 50_000) + 500,
      address: id % 1_499 === 0 ? '' : `${id} Demo Street`,
    });
  }
  return orders;
}
