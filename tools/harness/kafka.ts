import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';

/** A short random suffix for topic and group names. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** Sum of the committed offsets of a group on a topic (−1 for none counts as 0). */
export async function committedCount(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (entry?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}
