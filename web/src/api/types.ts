// The JSON shapes of the mladmin API (SPEC §2, §3). Timestamps are ISO 8601 strings.

export type Role = 'user' | 'ml_admin' | 'admin';
export type UserStatus = 'active' | 'disabled';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: UserStatus;
  createdAt: string | null;
  updatedAt: string | null;
  lastLoginAt: string | null;
}

export interface Session {
  token: string;
  expiresAt: string;
  user: User;
}

export type JobType = 'journal_entries' | 'goals' | 'bulk_delete' | 'bulk_resync';
export type JobStatus =
  | 'queued'
  | 'running'
  | 'paused'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'interrupted';
export type SyncMode = 'incremental' | 'full';

export interface ItemError {
  itemId: string;
  reason: string;
  at: string;
}

export interface Job {
  id: string;
  userId: string;
  type: JobType;
  status: JobStatus;
  totalItems: number;
  processedItems: number;
  syncedItems: number;
  failedItems: number;
  progress: number;
  errors: ItemError[];
  startTime: string | null;
  endTime: string | null;
  duration: number | null;
  scope: 'user' | 'all';
  scopeUserId: string | null;
  mode: SyncMode;
  skippedItems: number;
  errorCount: number;
  attempt: number;
  createdAt: string;
  updatedAt: string;
  itemsPerSecond: number;
  etaSeconds: number | null;
  cancelRequested: boolean;
  failureReason?: string;
  /** Bulk jobs only: what they do ({action, filter} or {action, idCount}). */
  bulk?: { action: 'delete' | 'resync'; filter?: DocumentFilter; idCount?: number };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type DocumentType = 'journal_entries' | 'goals';

export interface DocumentFilter {
  q?: string;
  type?: DocumentType;
  userId?: string;
  from?: string;
  to?: string;
  dateField?: 'synced' | 'source';
}

export interface MlDocument {
  id: string;
  userId: string;
  sourceType: DocumentType;
  sourceId: string;
  title: string;
  text?: string;
  metadata?: unknown;
  contentHash: string;
  syncedAt: string;
  sourceCreatedAt: string | null;
  version: number;
  jobId: string | null;
  /** Escaped HTML with <mark> around the matches (search results only). */
  snippet?: string;
  titleHighlight?: string;
  score?: number;
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
