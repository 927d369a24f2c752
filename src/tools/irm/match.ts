/**
 * Keyword and name matching for `irm`.
 *
 * Keywords: what the user typed matches a keyword when it is a prefix of that
 * keyword, so `irm ip cr n x t local` is `irm ipcp create name x type local`.
 * Candidates are tried in a fixed order and the first hit wins (as in the
 * reference, where e.g. `d` means `destroy`, not `disconnect`).
 */

/** True when `word` (as typed) is a prefix of `keyword`. The empty word matches everything. */
export function matches(word: string, keyword: string): boolean {
  return keyword.startsWith(word);
}

/** The first keyword in `keywords` that `word` abbreviates, or undefined. */
export function pick<K extends string>(word: string, keywords: readonly K[]): K | undefined {
  return keywords.find((k) => matches(word, k));
}

/**
 * Glob-like match where `*` stands for any (possibly empty) run of
 * characters; everything else must match literally.
 */
export function wildcardMatch(pattern: string, str: string): boolean {
  // Iterative matcher with backtracking to the last star.
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < str.length) {
    if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starS = s;
    } else if (p < pattern.length && pattern[p] === str[s]) {
      p++;
      s++;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Does the name the user gave select `actual` (an IPCP name or layer)?
 * The user's text is a wildcard pattern; the reverse test is kept too, so a
 * name that itself holds a `*` is still found when typed literally.
 */
export function selects(userPattern: string, actual: string): boolean {
  return wildcardMatch(userPattern, actual) || wildcardMatch(actual, userPattern);
}
