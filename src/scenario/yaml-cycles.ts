/**
 * YAML allows an alias inside the node its anchor names (`&a [1, *a]`): the data is then
 * circular, which no hmmlab file means and which JSON.stringify and the schema's messages cannot
 * print. Found by the sweep fuzzer (a circular list value reached JSON.stringify: exit 70).
 */
import { type Document, isAlias, visit } from 'yaml';

/** The source offset of the first alias that refers to a node containing it, if any. */
export function recursiveAliasOffset(doc: Document): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (!isAlias(node)) return undefined;
      const target = node.resolve(doc);
      const at = node.range?.[0];
      const range = target?.range;
      if (at !== undefined && range !== undefined && range !== null && at >= range[0] && at < range[1]) {
        found = at;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}
