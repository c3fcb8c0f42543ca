/**
 * @module store/search
 *
 * The search index as the store keeps it (migration 0008; documents from
 * `search/documents.ts`). {@link SearchStore.index} moves the index forward over events
 * recorded since its cursor, in one transaction per call; the server calls it after pipeline
 * batches. The pipeline's own transaction already indexes the events it records while the
 * index is caught up (`store/sqlite/search.ts`, `store/postgres/search.ts`), so `index` finds
 * work only after the index fell behind.
 */
import type { SearchDocument, SearchKind } from '../search/documents.js';

export interface SearchHit {
  kind: SearchKind;
  ref: string;
  title: string;
  /** Epoch ms of the latest event behind the document. */
  at: number;
}

/** `Store.search`. */
export interface SearchStore {
  /** Indexes up to `limit` events after the cursor; answers how many and the new cursor. */
  index(limit: number): Promise<{ indexed: number; seq: number }>;
  /** Writes documents directly (outbound records). */
  addDocuments(docs: SearchDocument[]): Promise<void>;
  /** Documents holding every term as a word prefix (terms folded, see `queryTerms`), newest first. */
  query(terms: string[], kinds: SearchKind[] | undefined, limit: number): Promise<SearchHit[]>;
}
