/**
 * Clean Descriptors (PS3.15 E.3.5): free text keeps its clinical words but loses every token that
 * equals an identifying value found in the same instance, and anything shaped like a date, a phone
 * number, an e-mail address or a long digit run.
 */

const PATTERNS: readonly RegExp[] = [
  /[\w.+-]+@[\w-]+(\.[\w-]+)+/g, // e-mail
  /\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b/g, // 2024-01-31
  /\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b/g, // 31/01/2024
  /\b(19|20)\d{6}\b/g, // 20240131
  /\+?\(?\d[\d\s().-]{6,}\d/g, // phone numbers
  /\b\d{5,}\b/g, // IDs, SSNs, MRNs and other long digit runs
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Compiles the instance's identifying values (identifiers.ts: whole values, and the parts of person
 * names; each at least 3 characters) into one matcher. Values are matched whole, never split into
 * words: an institution called "Hôpital de la tête" must not take "tête" out of a description.
 */
export function identifierMatcher(values: Iterable<string>): RegExp | undefined {
  const tokens = new Set<string>();
  for (const value of values) {
    const trimmed = value.trim();
    if (trimmed.length >= 3) tokens.add(trimmed);
  }
  if (tokens.size === 0) return undefined;
  // Longest first, so "SMITH JOHN" goes before "SMITH".
  const alternatives = [...tokens]
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
    .map(escapeRegExp)
    .join("|");
  // The instances of a series share their identifiers: compile once per set, not per instance.
  let matcher = compiled.get(alternatives);
  if (!matcher) {
    matcher = new RegExp(`(?<![\\p{L}\\p{N}])(${alternatives})(?![\\p{L}\\p{N}])`, "giu");
    if (compiled.size >= 256) compiled.clear();
    compiled.set(alternatives, matcher);
  }
  return matcher;
}

/** Global regexes are safe to share: String.prototype.replace starts them from index 0. */
const compiled = new Map<string, RegExp>();

export function cleanText(text: string, identifiers: RegExp | undefined): string {
  let out = identifiers ? text.replace(identifiers, "") : text;
  for (const pattern of PATTERNS) out = out.replace(pattern, "");
  return out.replace(/[ \t]{2,}/g, " ").trim();
}
