/**
 * Quoting for POSIX shells: commands sent over ssh are one string that a remote shell parses,
 * so every value relguard puts in one (paths, versions, environment values) goes through here.
 */

// Words made only of these need no quotes in any POSIX shell, which keeps logged commands readable.
const plainWord = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word that the shell reads back as exactly `value`. */
export function shellQuote(value: string): string {
  if (plainWord.test(value)) return value;
  // Inside single quotes nothing is special but the single quote itself, which ends the quote,
  // is written escaped, and a new quote begins.
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A command line whose words the shell reads back as exactly `words`. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
