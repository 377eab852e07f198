// The search results: one row per document with its highlighted title and snippet, a checkbox
// to select it, and a button (the title) that opens its details. Clicking anywhere else on the
// row opens the details too, for the mouse.
import type { MouseEvent } from 'react';
import type { MlDocument } from '../../api/types';
import { formatDateTime, sourceTypeLabel as typeLabel } from '../../lib/format';
import { SelectPageCheckbox } from '../SelectPageCheckbox';

interface Props {
  items: MlDocument[];
  selected: ReadonlySet<string>;
  onToggle: (id: string, on: boolean) => void;
  onTogglePage: (on: boolean) => void;
  onOpen: (doc: MlDocument) => void;
  showScore: boolean;
}

/**
 * `titleHighlight` and `snippet` are HTML made by the server (marked_html in
 * src/store/sqlite/document_queries.cpp): it HTML-escapes the document's text first and only then
 * adds <mark> and </mark> around the matches. Nothing a document contains can become markup,
 * which is what makes rendering it as HTML safe here. This is the only place the dashboard
 * renders HTML from the server.
 */
function ServerHighlight({ html, fallback }: { html: string | undefined; fallback: string }) {
  if (html === undefined || html === '') return <>{fallback}</>;
  return <span dangerouslySetInnerHTML={{ __html: html }} />;
}

/** The owner's name and email; the id alone when the account no longer exists. */
function Owner({ doc }: { doc: MlDocument }) {
  if (!doc.owner) {
    return (
      <span title="This account no longer exists">
        <code className="id">{doc.userId}</code> <span className="muted">(deleted account)</span>
      </span>
    );
  }
  return (
    <span className="owner" title={doc.owner.id}>
      {doc.owner.name || doc.owner.email}
      {doc.owner.name && <span className="muted owner-email">{doc.owner.email}</span>}
    </span>
  );
}

export function ResultsTable({ items, selected, onToggle, onTogglePage, onOpen, showScore }: Props) {
  const onPage = items.filter((d) => selected.has(d.id)).length;

  function rowClick(e: MouseEvent<HTMLTableRowElement>, doc: MlDocument) {
    // Controls in the row do their own thing; a text selection is not a click.
    if ((e.target as HTMLElement).closest('input, button, a, label')) return;
    if (window.getSelection()?.toString()) return;
    onOpen(doc);
  }

  return (
    <div className="table-wrap">
      <table className="doc-table">
        <thead>
          <tr>
            <th className="check">
              <SelectPageCheckbox rows={items.length} selectedRows={onPage} onChange={onTogglePage} />
            </th>
            <th>Document</th>
            <th className="hide-narrow">Type</th>
            <th className="hide-narrow">Owner</th>
            <th className="hide-narrow">Synced</th>
            {showScore && <th className="num hide-narrow">Score</th>}
          </tr>
        </thead>
        <tbody>
          {items.map((doc) => {
            const isSelected = selected.has(doc.id);
            return (
              <tr key={doc.id} className={isSelected ? 'selected clickable' : 'clickable'} onClick={(e) => rowClick(e, doc)}>
                <td className="check">
                  <input
                    type="checkbox"
                    aria-label={`Select ${doc.title}`}
                    checked={isSelected}
                    onChange={(e) => onToggle(doc.id, e.target.checked)}
                  />
                </td>
                <td className="doc-cell">
                  <button type="button" className="link doc-title" onClick={() => onOpen(doc)}>
                    <ServerHighlight html={doc.titleHighlight} fallback={doc.title} />
                  </button>
                  {doc.snippet && (
                    <p className="snippet">
                      <ServerHighlight html={doc.snippet} fallback="" />
                    </p>
                  )}
                  <p className="doc-meta show-narrow">
                    {typeLabel[doc.sourceType] ?? doc.sourceType} · {formatDateTime(doc.syncedAt)}
                  </p>
                </td>
                <td className="hide-narrow nowrap">{typeLabel[doc.sourceType] ?? doc.sourceType}</td>
                <td className="hide-narrow">
                  <Owner doc={doc} />
                </td>
                <td className="hide-narrow nowrap">
                  <time dateTime={doc.syncedAt}>{formatDateTime(doc.syncedAt)}</time>
                </td>
                {showScore && (
                  <td className="num hide-narrow">{typeof doc.score === 'number' ? doc.score.toFixed(3) : '—'}</td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
