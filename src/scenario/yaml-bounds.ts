/**
 * Parsing a YAML text within bounds: at most MAX_YAML_TOKENS tokens, MAX_YAML_ALIASES aliases and
 * MAX_NESTING_DEPTH levels of maps and lists, each refused at the place it is passed, before the
 * yaml package's recursive, memory-hungry or quadratic steps see the text.
 *
 * Why before: the yaml package's CST parser recurses once per level it closes at a dedent (so
 * `- - - ... x` 3,000 levels deep, then a line back at the left, overflows the stack: 6 KB of
 * input), its composer recurses per level (it catches the overflow, but reports it where the
 * stack ran out, not where the nesting passed the limit), and toJS recurses per level. And the
 * parsed forms are large: the CST of a 4 MB file of buffers took 440 MB, and a 40 MB file took
 * over 4 GB and minutes before anything could refuse its 1.2 million list items.
 *
 * So the text is read in two streaming passes. The first runs the lexer alone, which keeps
 * nothing, and counts tokens and aliases. The second feeds the same tokens to the CST parser one
 * at a time and watches its stack of open collections (a plain array: no recursion), stopping at
 * the first collection deeper than the limit; its CST is then composed into the Document (the
 * parse is not repeated). The composed document is checked again, following aliases (tooDeepOffset): `[a: b]`
 * inside a list composes to one more level than the CST has, and an alias puts its anchor's whole
 * node where it stands.
 */
import {
  type Alias,
  Composer,
  CST,
  type Document,
  isAlias,
  isCollection,
  isPair,
  Lexer,
  type LineCounter,
  type Node,
  Parser,
  YAMLParseError,
} from 'yaml';
import { aliasTargets } from './yaml-cycles.js';

/** How deep a document may nest maps and lists (the deepest shipped file nests 16 levels). */
export const MAX_NESTING_DEPTH = 64;

/**
 * The most YAML tokens a document may hold: keys, values, punctuation (`-`, `:`, `,`, brackets),
 * anchors, tags, comments, spaces and line breaks each count one. The largest shipped scenario
 * (dgx-class.yaml) has 4,200; no file of 1 MiB (the default --max-file-size) has more than 1.3
 * million, so the limit bites only where that is raised; a sweep's list of 100,000 points (the
 * most a sweep runs) with one key and a seed each has 1.7 million. Reading 2 million tokens of
 * the densest kind (`[0,0,0,...]`) takes the yaml package about 20 s and 1.2 GB; refusing more
 * takes the count alone, which keeps nothing.
 */
export const MAX_YAML_TOKENS = 2_000_000;

/**
 * The most aliases (`*name`) a document may hold. The yaml package's toJS looks each alias up by
 * scanning the document's anchors and aliases before it, so its time grows with the square of
 * their number: 20,000 aliases took 9 s, the 225,000 that fit in 1.4 MB over ten minutes. No
 * shipped file has one.
 */
export const MAX_YAML_ALIASES = 1000;

/** The bounds parseBounded applies (tests lower them). */
export interface YamlLimits {
  maxDepth: number;
  maxTokens: number;
  maxAliases: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxDepth: MAX_NESTING_DEPTH,
  maxTokens: MAX_YAML_TOKENS,
  maxAliases: MAX_YAML_ALIASES,
};

/** The message of a document nested deeper than `maxDepth`. */
export function nestingMessage(maxDepth: number = MAX_NESTING_DEPTH): string {
  return `the document nests too deeply (at most ${maxDepth} levels of maps and lists)`;
}

/** The message of a document of more than `maxTokens` tokens. */
export function tokensMessage(maxTokens: number = MAX_YAML_TOKENS): string {
  return (
    `the document holds more than ${maxTokens} YAML tokens (keys, values, punctuation, comments ` +
    'and line breaks) by here, the most hmmlab reads; a scenario needs a few thousand'
  );
}

/** The message of a document of more than `maxAliases` aliases. */
export function aliasesMessage(maxAliases: number = MAX_YAML_ALIASES): string {
  return `the document holds more than ${maxAliases} aliases (*name), the most hmmlab reads`;
}

/** The lexer's markers: they carry no text (the parser does not advance over them). */
function isMarker(lexeme: string): boolean {
  return lexeme === CST.SCALAR || lexeme === CST.DOCUMENT || lexeme === CST.FLOW_END;
}

/**
 * The first token past `limits.maxTokens` tokens or `limits.maxAliases` aliases, if any: its
 * offset and the message. Keeps nothing but the counts.
 */
function countOver(text: string, limits: YamlLimits): { offset: number; message: string } | undefined {
  let tokens = 0;
  let aliases = 0;
  let offset = 0;
  let scalar = false;
  for (const lexeme of new Lexer().lex(text)) {
    if (isMarker(lexeme)) {
      // The text after a SCALAR marker is a scalar's, whatever it starts with.
      scalar = lexeme === CST.SCALAR;
      continue;
    }
    if (++tokens > limits.maxTokens) return { offset, message: tokensMessage(limits.maxTokens) };
    if (!scalar && lexeme[0] === '*' && ++aliases > limits.maxAliases) {
      return { offset, message: aliasesMessage(limits.maxAliases) };
    }
    scalar = false;
    offset += lexeme.length;
  }
  return undefined;
}

/** The offset of the first collection on the parser's stack deeper than `maxDepth`, if any. */
function stackOver(stack: readonly CST.Token[], maxDepth: number): number | undefined {
  let depth = 0;
  for (const token of stack) {
    if (CST.isCollection(token) && ++depth > maxDepth) return token.offset;
  }
  return undefined;
}

export type BoundedParse =
  | { ok: true; doc: Document.Parsed }
  | { ok: false; offset: number; message: string };

/**
 * Parses `text` as one YAML document (as parseDocument(text, { uniqueKeys: true }) does: a second
 * document is a MULTIPLE_DOCS error of the first), or refuses it at the first token past
 * `limits.maxTokens`, the first alias past `limits.maxAliases` or the first collection deeper
 * than `limits.maxDepth`, before composing anything. Never recurses deeper than the limit.
 * `lineCounter` learns the line starts.
 */
export function parseBounded(
  text: string,
  lineCounter?: LineCounter,
  limits: YamlLimits = DEFAULT_YAML_LIMITS,
): BoundedParse {
  const over = countOver(text, limits);
  if (over !== undefined) return { ok: false, ...over };

  // Parser.parse(text), one token at a time, with the stack looked at after each.
  const parser = new Parser(lineCounter?.addNewLine);
  lineCounter?.addNewLine(0);
  const tokens: CST.Token[] = [];
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (parser.stack.length > limits.maxDepth) {
      const deep = stackOver(parser.stack, limits.maxDepth);
      if (deep !== undefined) return { ok: false, offset: deep, message: nestingMessage(limits.maxDepth) };
    }
  }
  for (const token of parser.end()) tokens.push(token);

  let doc: Document.Parsed | undefined;
  for (const next of new Composer({ uniqueKeys: true }).compose(tokens, true, text.length)) {
    if (doc === undefined) doc = next;
    else {
      doc.errors.push(
        new YAMLParseError(
          [next.range[0], next.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents; please use YAML.parseAllDocuments()',
        ),
      );
      break;
    }
  }
  // compose(..., forceDoc) always gives one.
  return { ok: true, doc: doc! };
}

/**
 * The offset of the first node (in document order) that puts the document's data deeper than
 * `maxDepth` levels of maps and lists: a map or list deeper than that, or an alias whose anchor's
 * node reaches past it from where the alias stands. Without recursion; each aliased node is
 * measured once. `targets`: aliasTargets(doc), when the caller has it.
 */
export function tooDeepOffset(
  doc: Document,
  maxDepth: number = MAX_NESTING_DEPTH,
  targets: readonly [Alias, Node | undefined][] = aliasTargets(doc),
): number | undefined {
  if (targets.length === 0) return firstDeeper(doc.contents, maxDepth, () => 0);
  const targetOf = new Map(targets);
  const heights = new Map<unknown, number>();
  const heightOf = (alias: Alias) => {
    const target = targetOf.get(alias);
    return target === undefined ? 0 : height(target, targetOf, heights);
  };
  return firstDeeper(doc.contents, maxDepth, heightOf);
}

/** The children of a node: a collection's items, a pair's key and value (in document order). */
function childrenOf(node: unknown): unknown[] {
  if (isCollection(node)) return node.items as unknown[];
  if (isPair(node)) return [node.key, node.value];
  return [];
}

/** Pre-order walk for the first collection deeper than maxDepth, or alias reaching past it. */
function firstDeeper(
  root: unknown,
  maxDepth: number,
  aliasHeight: (alias: Alias) => number,
): number | undefined {
  // A pair is not a level: its key and value are at the depth of the pair.
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (isAlias(node)) {
      if (depth + aliasHeight(node) - 1 > maxDepth) return node.range?.[0] ?? 0;
      continue;
    }
    const collection = isCollection(node);
    if (collection && depth > maxDepth) return node.range?.[0] ?? 0;
    if (!collection && !isPair(node)) continue;
    const below = collection ? depth + 1 : depth;
    const kids = childrenOf(node);
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], below]);
  }
  return undefined;
}

/**
 * Levels of maps and lists in `root`'s data (0 for a scalar), aliases followed, memoised in
 * `memo`. Post-order without recursion. An alias back into a node being measured (circular data,
 * refused separately) counts as a scalar.
 */
function height(root: unknown, targetOf: Map<Alias, Node | undefined>, memo: Map<unknown, number>): number {
  const done = memo.get(root);
  if (done !== undefined) return done;
  const open = new Set<unknown>();
  // Each frame: a node, its children, the next child to measure, the tallest child so far.
  const frames: { node: unknown; kids: unknown[]; next: number; tallest: number }[] = [];
  const enter = (node: unknown) => {
    open.add(node);
    frames.push({ node, kids: childrenOf(node), next: 0, tallest: 0 });
  };
  let result = 0;
  enter(root);
  while (frames.length > 0) {
    const f = frames[frames.length - 1]!;
    if (f.next < f.kids.length) {
      let kid = f.kids[f.next++];
      if (isAlias(kid)) kid = targetOf.get(kid);
      const known = memo.get(kid);
      if (known !== undefined) f.tallest = Math.max(f.tallest, known);
      else if (isCollection(kid) || isPair(kid)) {
        if (!open.has(kid)) enter(kid);
      }
      continue;
    }
    frames.pop();
    open.delete(f.node);
    const h = isCollection(f.node) ? f.tallest + 1 : f.tallest;
    memo.set(f.node, h);
    result = h;
    if (frames.length > 0) {
      const parent = frames[frames.length - 1]!;
      parent.tallest = Math.max(parent.tallest, h);
    }
  }
  return result;
}
