// A modal dialog on the native <dialog> element opened with showModal(): the browser makes the
// rest of the page inert (focus stays inside), moves focus to the first focusable control (or
// the one marked autoFocus) and turns Escape into a `cancel` event, which we hand to onClose so
// that the parent's state stays the one source of truth. Focus goes back to the control that
// opened the dialog when it closes. Render it only while it is open: `{open && <Dialog …/>}`.
import { useEffect, useId, useRef } from 'react';
import type { ReactNode } from 'react';

export interface DialogProps {
  /** The dialog's accessible name, shown as its heading. */
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  /** Buttons at the bottom (Cancel / confirm); a Close button is the caller's to add. */
  actions?: ReactNode;
  /** Extra class names, e.g. "dialog-wide". */
  className?: string;
  /** Refuse Escape while something is in flight (the caller disables its buttons too). */
  busy?: boolean;
}

export function Dialog({ title, onClose, children, actions, className, busy = false }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onCloseRef = useRef(onClose);
  const busyRef = useRef(busy);
  useEffect(() => {
    onCloseRef.current = onClose;
    busyRef.current = busy;
  });

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    // jsdom (unit tests) has no showModal: fall back to a plain open dialog there.
    if (!dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    return () => {
      if (dialog.open) {
        if (typeof dialog.close === 'function') dialog.close();
        else dialog.removeAttribute('open');
      }
      // Back to where the person was; when that control is gone (its row was deleted) or now
      // disabled (nothing left selected), to the page's main region.
      const usable = opener?.isConnected && !opener.matches(':disabled');
      (usable ? opener : document.getElementById('main'))?.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      className={['dialog', className].filter(Boolean).join(' ')}
      aria-labelledby={titleId}
      aria-modal="true"
      onCancel={(e) => {
        e.preventDefault();
        if (!busyRef.current) onCloseRef.current();
      }}
      // The browser may close it on its own (a repeated Escape): keep the parent's state in step.
      // (Not when it is open again: in development StrictMode closes and reopens it on mount.)
      onClose={() => {
        if (!ref.current?.open) onCloseRef.current();
      }}
    >
      <h2 id={titleId} className="dialog-title">
        {title}
      </h2>
      {children}
      {actions && <div className="actions">{actions}</div>}
    </dialog>
  );
}
