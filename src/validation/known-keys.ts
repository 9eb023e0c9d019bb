/** Unknown keys in option objects: a misspelt key must be refused, not dropped without a word. */

/** The first own key of `value` that is not among `known`; undefined when every key is known. */
export function unknownKey(value: object, known: ReadonlySet<string>): string | undefined {
  return Object.keys(value).find((key) => !known.has(key));
}
