// Requests and answers of the document endpoints beyond the shared types, generated from
// docs/openapi.yaml like src/api/types.ts (see src/api/documents.cpp and
// src/api/document_bulk.cpp).
import type { components } from '../../../generated/openapi';
import type { Job, RequestBody } from '../../api/types';

type Schemas = components['schemas'];

/** A document with its text, its source record as it is now (null when gone) and the job that last wrote it. */
export type DocumentDetail = Schemas['DocumentDetail'];
export type SourceRecord = NonNullable<DocumentDetail['source']>;

export type BulkAction = BulkBody['action'];

/** The request of `POST /api/ml/documents/bulk`: `ids`, or a `filter` (an empty one with `all`). */
export type BulkBody = RequestBody<'bulkDocuments'>;

export type BulkDryRun = Schemas['BulkDryRun'];
export type BulkResult = Schemas['BulkResult'];
export type BulkItemResult = BulkResult['results'][number];

/** A bulk action with more targets than the server acts on at once answers 202 with its job. */
export type BulkAnswer = { kind: 'done'; result: BulkResult } | { kind: 'job'; job: Job };
