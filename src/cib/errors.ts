/**
 * The one error type for bad CIB input, whatever the format (XML, YAML,
 * crmsh syntax) or the check (validation, editing). It carries where the
 * problem is so that a CLI can print `file:line:column: message`.
 */
export class CibError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** The bare message, without the position prefix. */
  readonly detail: string;

  constructor(detail: string, where: { file?: string; line?: number; column?: number } = {}) {
    super(formatWhere(where) + detail);
    this.name = 'CibError';
    this.detail = detail;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
}

function formatWhere(w: { file?: string; line?: number; column?: number }): string {
  const parts: string[] = [];
  if (w.file !== undefined) parts.push(w.file);
  if (w.line !== undefined) parts.push(String(w.line));
  if (w.line !== undefined && w.column !== undefined) parts.push(String(w.column));
  return parts.length ? parts.join(':') + ': ' : '';
}
