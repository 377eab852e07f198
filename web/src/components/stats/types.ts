// The answer of GET /api/ml/stats (src/api/stats.cpp; README "Stats"). Kept next to the Stats page
// because nothing else reads it.

export type StatsBucket = 'hour' | 'day';

export interface TypeCounts {
  journal_entries: number;
  goals: number;
}

export interface TopUser {
  userId: string;
  /** null for a deleted user, whose documents stay. */
  email: string | null;
  name: string | null;
  count: number;
  byType: TypeCounts;
}

export interface StatsPoint {
  /** The bucket's start, ISO 8601 (UTC hour or day). */
  start: string;
  jobs: number;
  completed: number;
  failed: number;
  cancelled: number;
  items: number;
  itemsPerSecond: number;
  avgDurationMs: number;
  maxDurationMs: number;
}

export interface FailureKind {
  /** The reason with its values replaced, e.g. "mood N is outside 1-5". */
  reason: string;
  count: number;
  /** One actual reason of that kind. */
  example: string;
}

export interface StatsReport {
  range: { from: string; to: string; bucket: StatsBucket };
  documents: { total: number; byType: TypeCounts; topUsers: TopUser[] };
  pending: TypeCounts;
  jobs: {
    completed: number;
    failed: number;
    cancelled: number;
    /** completed / (completed + failed); null without any. */
    successRate: number | null;
    items: {
      synced: number;
      skipped: number;
      failed: number;
      /** (synced + skipped) / all; null without items. */
      successRate: number | null;
    };
  };
  /** One point per bucket, empty buckets included with zeros. */
  series: StatsPoint[];
  failures: { items: FailureKind[]; jobs: FailureKind[] };
}
