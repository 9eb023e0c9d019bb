/**
 * The morning batch's stand-in for the shop database: a deterministic day of orders, the same on
 * every run, read in chunks by a stable order (the order number) the way a batch reads a real table.
 */

/** One order as the batch reads it. */
export interface Order {
  orderId: string;
  customerId: number;
  totalCents: number;
}

/** The order at position `index` (0-based): a pure function of the index, so every run agrees. */
export function orderAt(index: number): Order {
  // A multiplicative hash spreads customers and totals without any state.
  const mixed = Math.imul(index + 1, 0x9e3779b1) >>> 0;
  return {
    orderId: `ord-${String(index + 1).padStart(7, '0')}`,
    customerId: 1 + (mixed % 5_000),
    totalCents: 100 + (mixed % 50_000),
  };
}

/** Reads up to `limit` orders from `offset` in a day of `total` orders. */
export function readOrders(total: number, offset: number, limit: number): Order[] {
  const orders: Order[] = [];
  for (let index = offset; index < Math.min(total, offset + limit); index += 1) orders.push(orderAt(index));
  return orders;
}
