/**
 * Text from plugin code made safe for a terminal, a log or the audit file: control characters
 * become visible escapes, so a plugin cannot move the cursor, recolour, retitle or clear the
 * terminal, ring its bell, overwrite a line with CR, or start a new line that forges another
 * plugin's or the kernel's prefix. The one place this is decided; every printer of plugin text
 * calls it.
 */

// C0 controls, DEL, C1 controls (0x9B is a one-byte CSI on some terminals), line and paragraph
// separators, and the bidirectional overrides/isolates that reorder what is shown.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_EXCEPT_LINES =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  const c = ch.charCodeAt(0);
  if (c === 10) return '\\n';
  if (c === 13) return '\\r';
  if (c === 9) return '\\t';
  return c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/**
 * Escapes control characters in `text`. With `keepLines`, newline and tab stay (a plugin's own
 * output lines); CR never does.
 */
export function escapeControl(text: string, opts: { keepLines?: boolean } = {}): string {
  const s = String(text);
  const re = opts.keepLines ? CONTROL_EXCEPT_LINES : CONTROL;
  re.lastIndex = 0;
  if (!re.test(s)) return s;
  re.lastIndex = 0;
  return s.replace(re, visible);
}

/**
 * A sandboxed plugin's terminal text: control characters escaped (newline and tab kept), and a
 * line that starts like another's prefix (`[name]`, `error[`, `warning`) is marked as this
 * plugin's, so it cannot pass for the kernel's or another plugin's line.
 */
export function pluginTerminalText(plugin: string, text: unknown): string {
  return escapeControl(String(text), { keepLines: true }).replace(
    /^(?=[ \t]*(\[|error\b|error\[|warning\b|warn\b|hint\b|cx-ops\b))/gim,
    `[${plugin}] `,
  );
}
