/**
 * crmsh tokenizer: splits `crm configure` text into statements of tokens.
 *
 * Like crmsh (which uses shlex): words are separated by blanks; single and
 * double quotes group a value (`httpd="/usr/sbin/nginx"` is one token
 * `httpd=/usr/sbin/nginx`); a backslash at the end of a line continues the
 * statement; `#` at the start of a word starts a comment; a newline ends a
 * statement. Every token remembers where it started so errors can say so.
 */
import { CibError } from '../cib/errors.js';

export interface Token {
  text: string;
  /** 1-based line and column in the source text; absent for argv tokens. */
  line?: number;
  column?: number;
  /** Index in argv, for tokens that came from the command line. */
  arg?: number;
  /** True when any part of the token was quoted (so "(" is not a bracket). */
  quoted?: boolean;
}

/** Tokens of one statement, with the file they came from. */
export interface Statement {
  tokens: Token[];
  file?: string;
  /** `# ...` lines before the statement (crmsh keeps them with the object it defines). */
  comments?: string[];
}

export function tokenize(text: string, file?: string): Statement[] {
  const out: Statement[] = [];
  let cur: Token[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const n = text.length;
  const advance = () => {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
    i++;
  };
  let lineHasToken = false;
  let comments: string[] = [];
  const endStatement = () => {
    if (cur.length) {
      out.push({ tokens: cur, ...(file !== undefined ? { file } : {}), ...(comments.length ? { comments } : {}) });
      comments = [];
    }
    cur = [];
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      endStatement();
      advance();
      lineHasToken = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      advance();
      continue;
    }
    if (c === '\\' && (text[i + 1] === '\n' || (text[i + 1] === '\r' && text[i + 2] === '\n'))) {
      advance();
      if (text[i] === '\r') advance();
      advance();
      continue;
    }
    // A comment is a line starting with "#"; inside a statement "#uname" is a word.
    if (c === '#' && !lineHasToken) {
      const start = i;
      while (i < n && text[i] !== '\n') advance();
      comments.push(text.slice(start, i).trim());
      continue;
    }
    lineHasToken = true;
    // `xml <element .../>`: the rest of the statement is raw XML, kept verbatim.
    if (cur.length === 1 && cur[0]!.text === 'xml' && !cur[0]!.quoted) {
      const tok: Token = { text: '', line, column: col, quoted: true };
      let s = '';
      while (i < n && text[i] !== '\n') {
        if (text[i] === '\\' && text[i + 1] === '\n') {
          advance();
          advance();
          s += '\n';
          continue;
        }
        s += text[i];
        advance();
      }
      tok.text = s.trim();
      cur.push(tok);
      continue;
    }
    // A word: runs until unquoted blank or newline.
    const tok: Token = { text: '', line, column: col };
    let s = '';
    while (i < n) {
      const d = text[i]!;
      if (d === ' ' || d === '\t' || d === '\n' || d === '\r') break;
      if (d === '\\' && (text[i + 1] === '\n' || (text[i + 1] === '\r' && text[i + 2] === '\n'))) break;
      if (d === '"' || d === "'") {
        const qLine = line;
        const qCol = col;
        tok.quoted = true;
        advance();
        while (i < n && text[i] !== d) {
          if (d === '"' && text[i] === '\\' && i + 1 < n && (text[i + 1] === '"' || text[i + 1] === '\\')) advance();
          s += text[i];
          advance();
        }
        if (i >= n) throw new CibError(`unterminated ${d === '"' ? 'double' : 'single'} quote`, { file, line: qLine, column: qCol });
        advance();
        continue;
      }
      if (d === '\\' && i + 1 < n) {
        advance();
        s += text[i];
        advance();
        continue;
      }
      s += d;
      advance();
    }
    tok.text = s;
    cur.push(tok);
  }
  endStatement();
  return out;
}

/** Tokens from a command line: argv words are already split by the shell. */
export function argvTokens(argv: string[], firstArg = 0): Token[] {
  return argv.filter((a) => a !== '\\').map((text, k) => ({ text, arg: firstArg + k }));
}

/** "line 3, column 7" / "word 4" — where a token is, for messages. */
export function where(t: Token | undefined, file?: string): { file?: string; line?: number; column?: number } {
  if (!t) return file !== undefined ? { file } : {};
  const w: { file?: string; line?: number; column?: number } = {};
  if (file !== undefined) w.file = file;
  if (t.line !== undefined) w.line = t.line;
  if (t.column !== undefined) w.column = t.column;
  return w;
}
