// Answers of the document endpoints beyond the shared types (see src/api/documents.cpp and
// src/api/document_bulk.cpp).
import type { DocumentFilter, Job, MlDocument } from '../../api/types';

export type SourceRecord = Record<string, unknown> & { id: string; deleted: boolean };

export interface DocumentDetail extends MlDocument {
  text: string;
  /** The source record as it is now; null when it no longer exists. */
  source: SourceRecord | null;
  /** The job that last wrote the document; null when retention removed it or a bulk action wrote it. */
  job: Job | null;
}

export type BulkAction = 'delete' | 'resync';

export type BulkBody =
  | { action: BulkAction; ids: string[]; dryRun?: boolean }
  | { action: BulkAction; filter: DocumentFilter; all?: true; dryRun?: boolean };

export interface BulkDryRun {
  action: BulkAction;
  dryRun: true;
  matched: number;
  runsAsJob: boolean;
}

export interface BulkItemResult {
  id: string;
  status: 'deleted' | 'resynced' | 'failed' | 'not_found';
  reason?: string;
}

export interface BulkResult {
  action: BulkAction;
  dryRun: false;
  matched: number;
  deleted: number;
  resynced?: number;
  failed: number;
  notFound: number;
  results: BulkItemResult[];
}

/** A bulk action with more targets than the server acts on at once answers 202 with its job. */
export type BulkAnswer = { kind: 'done'; result: BulkResult } | { kind: 'job'; job: Job };
