/**
 * Aliases of a composed YAML document, resolved in one pass.
 *
 * YAML allows an alias inside the node its anchor names (`&a [1, *a]`): the data is then
 * circular, which no hmmlab file means and which JSON.stringify and the schema's messages cannot
 * print. Found by the sweep fuzzer (a circular list value reached JSON.stringify: exit 70).
 *
 * The yaml package's `Alias.resolve(doc)` walks the whole document for each alias, so calling it
 * per alias is quadratic: an 80 KB file of 20,000 aliases took two minutes. aliasTargets resolves
 * every alias in one walk, without recursion, with the same rule (the last node before the alias,
 * in document order, that has its anchor).
 */
import { type Alias, type Document, isAlias, isCollection, isPair, isScalar, type Node } from 'yaml';

/** Every alias of `doc` in document order, with the node it names (undefined: no such anchor). */
export function aliasTargets(doc: Document): [Alias, Node | undefined][] {
  const out: [Alias, Node | undefined][] = [];
  const anchors = new Map<string, Node>();
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node)) {
      out.push([node, anchors.get(node.source)]);
    } else if (isScalar(node) || isCollection(node)) {
      // As yaml's visit() does: a node before its items, a key before its value.
      if (node.anchor) anchors.set(node.anchor, node);
      if (isCollection(node)) {
        const items = node.items as unknown[];
        for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
      }
    } else if (isPair(node)) {
      stack.push(node.value, node.key);
    }
  }
  return out;
}

/**
 * The source offset of the first alias that refers to a node containing it, if any. `targets`:
 * aliasTargets(doc), when the caller has it.
 */
export function recursiveAliasOffset(
  doc: Document,
  targets: readonly [Alias, Node | undefined][] = aliasTargets(doc),
): number | undefined {
  for (const [alias, target] of targets) {
    const at = alias.range?.[0];
    const range = target?.range;
    if (at !== undefined && range !== undefined && range !== null && at >= range[0] && at < range[1]) {
      return at;
    }
  }
  return undefined;
}
