import { closest } from 'fastest-levenshtein';

/**
 * Which shipped scenario a `?scenario=` link opens. A name that is not shipped loads nothing
 * silently: it opens the default and says so, naming the nearest shipped scenario.
 */
export function chooseScenario(requested: string | null, names: readonly string[], fallback: string): { name: string; error: string | null } {
  if (requested === null || requested === '') return { name: fallback, error: null };
  if (names.includes(requested)) return { name: requested, error: null };
  const near = names.length ? closest(requested, [...names]) : fallback;
  return {
    name: fallback,
    error: `?scenario=${requested}: no shipped scenario has that name (the nearest is "${near}"); showing ${fallback} instead`,
  };
}
