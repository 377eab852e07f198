// Answers of the document endpoints beyond the shared types (see src/api/documents.cpp and
// src/api/document_bulk.cpp).
import type { components } from '../../../generated/openapi';
import type { DocumentFilter, Job } from '../../api/types';

type Schemas = components['schemas'];

/** A document with its text, its source record as it is now (null when gone) and the job that last wrote it. */
export type DocumentDetail = Schemas['DocumentDetail'];
export type SourceRecord = NonNullable<DocumentDetail['source']>;

export type BulkAction = 'delete' | 'resync';

export type BulkBody =
  | { action: BulkAction; ids: string[]; dryRun?: boolean }
  | { action: BulkAction; filter: DocumentFilter; all?: true; dryRun?: boolean };

export type BulkDryRun = Schemas['BulkDryRun'];
export type BulkResult = Schemas['BulkResult'];
export type BulkItemResult = BulkResult['results'][number];

/** A bulk action with more targets than the server acts on at once answers 202 with its job. */
export type BulkAnswer = { kind: 'done'; result: BulkResult } | { kind: 'job'; job: Job };
