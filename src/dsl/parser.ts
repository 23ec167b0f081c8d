// The `.rh` grammar as a chevrotain CstParser: one rule per production of docs/language.md,
// producing a concrete syntax tree that to-ast.ts turns into the AST. No semantics here.
//
// Error messages: a CONSUME's ERR_MSG says what was expected and where ("expected ')' after the
// arguments of the call"); parse.ts appends what was found instead to every "expected ...". Labels (`name`, `value`,
// ...) name the CST children so the visitor reads like the grammar.

import type { CstNode, IParserErrorMessageProvider, IToken, ParserMethod, TokenType } from 'chevrotain';
import { CstParser, EOF } from './chevrotain.ts';
import * as T from './lexer.ts';

const describe = (t: TokenType): string => t.LABEL ?? t.name;
const aDeclaration = 'a declaration (config, const, dim, fn, module or model)';
const oneOf = (ts: TokenType[]): string => [...new Set(ts.map(describe))].join(' or ');

/** What `file` says of a token that starts no declaration (it is the only rule that expects EOF). */
const notADeclaration = (t: IToken): string =>
  t.tokenType === T.Import ? 'misplaced import: imports come before every declaration' : `expected ${aDeclaration}`;

/**
 * The tokens that close a repetition, by rule and token name. Recovery inside a repetition
 * (`[a, b c]`) reports the closing token it expected through the message provider, which only
 * knows the rule's name; the CONSUME of the same token says the same.
 */
const closers = {
  fnDecl: { RBracket: "expected ']' after the shape variables", RParen: "expected ')' after the function's parameters" },
  moduleDecl: {
    RParen: "expected ')' after the module's parameters",
    RBrace: "expected a member ('param', 'fn' or 'name = Module(...)') or '}' to close the module",
  },
  tensorType: { RBracket: "expected ']' after the dimensions" },
  block: { RBrace: "expected a statement ('let', 'for', 'return' or 'name = value') or '}' to close the block" },
  list: { RBracket: "expected ',' or ']' to close the list" },
  table: { RBracket: "expected ',' or ']' after the table's indices" },
  matchExpr: { RBrace: 'expected another arm (\'"value" => expression\') or \'}\' to close the match' },
};
const closer = (rule: string, t: TokenType): string | undefined =>
  (closers as Record<string, Record<string, string> | undefined>)[rule]?.[t.name];

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, ruleName }) =>
    expected === EOF ? notADeclaration(actual) : (closer(ruleName, expected) ?? `expected ${describe(expected)}`),
  buildNotAllInputParsedMessage: ({ firstRedundant }) => notADeclaration(firstRedundant),
  // Every OR and AT_LEAST_ONE below names what it expects; the first tokens are a fallback.
  buildNoViableAltMessage: ({ customUserDescription, expectedPathsPerAlt }) =>
    `expected ${customUserDescription ?? oneOf(expectedPathsPerAlt.flat().map((path) => path[0]))}`,
  buildEarlyExitMessage: ({ customUserDescription, expectedIterationPaths }) =>
    `expected ${customUserDescription ?? oneOf(expectedIterationPaths.map((path) => path[0]))}`,
};

export class RhParser extends CstParser {
  constructor() {
    // maxLookahead 3 tells a table `[h: ...` from a list `[h, ...` (see `primary`).
    super(T.vocabulary, { recoveryEnabled: true, nodeLocationTracking: 'full', maxLookahead: 3, errorMessageProvider: messages });
    this.performSelfAnalysis();
  }

  /** `a | b | c` over whole rules; `what` names them in "expected ..." messages. */
  private oneOf(what: string, rules: ParserMethod<[], CstNode>[]): void {
    this.OR({ DEF: rules.map((rule) => ({ ALT: () => this.SUBRULE(rule) })), ERR_MSG: what });
  }

  // file := import* topDecl*
  file = this.RULE('file', () => {
    this.MANY(() => this.SUBRULE(this.importDecl));
    this.MANY2(() => this.SUBRULE(this.topDecl));
  });

  // import := 'import' STRING
  importDecl = this.RULE('importDecl', () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral, { LABEL: 'path', ERR_MSG: "expected a quoted file name after 'import'" });
  });

  // topDecl := config | const | dim | fn | module | model
  topDecl = this.RULE('topDecl', () => {
    const decls = [this.configDecl, this.constDecl, this.dimDecl, this.fnDecl, this.moduleDecl, this.modelDecl];
    this.oneOf(aDeclaration, decls);
  });

  // config := 'config' IDENT ':' scalarType '=' expr
  configDecl = this.RULE('configDecl', () => {
    this.CONSUME(T.Config);
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: "expected a name after 'config'" });
    this.CONSUME(T.Colon, { ERR_MSG: "expected ':' and a type after the config's name" });
    this.SUBRULE(this.scalarType);
    this.CONSUME(T.Equals, { ERR_MSG: "expected '=' and a default value after the config's type" });
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });

  // const := 'const' IDENT (':' scalarType)? '=' expr
  constDecl = this.RULE('constDecl', () => {
    this.CONSUME(T.Const);
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: "expected a name after 'const'" });
    this.OPTION(() => { this.CONSUME(T.Colon); this.SUBRULE(this.scalarType); });
    this.CONSUME(T.Equals, { ERR_MSG: "expected '=' and a value after the constant's name" });
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });

  // dim := 'dim' IDENT (',' IDENT)*
  dimDecl = this.RULE('dimDecl', () => {
    this.CONSUME(T.Dim);
    this.AT_LEAST_ONE_SEP({
      SEP: T.Comma,
      DEF: () => this.CONSUME(T.Identifier, { LABEL: 'names', ERR_MSG: 'expected a dimension name' }),
      ERR_MSG: 'a dimension name',
    });
  });

  // scalarType := 'int' | 'float' | 'bool' | 'str'
  scalarType = this.RULE('scalarType', () => {
    this.CONSUME(T.ScalarType, { LABEL: 'name', ERR_MSG: "expected a scalar type ('int', 'float', 'bool' or 'str')" });
  });

  // fn := 'fn' IDENT ('[' IDENT (',' IDENT)* ']')? '(' (fnParam (',' fnParam)*)? ')' '->' type block
  fnDecl = this.RULE('fnDecl', () => {
    this.CONSUME(T.Fn);
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: "expected the function's name after 'fn'" });
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.AT_LEAST_ONE_SEP({
        SEP: T.Comma,
        DEF: () => this.CONSUME2(T.Identifier, { LABEL: 'dimParams', ERR_MSG: 'expected a shape variable name' }),
        ERR_MSG: 'a shape variable name',
      });
      this.CONSUME(T.RBracket, { ERR_MSG: closers.fnDecl.RBracket });
    });
    this.CONSUME(T.LParen, { ERR_MSG: "expected '(' and the parameters after the function's name" });
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.fnParam, { LABEL: 'params' }) });
    this.CONSUME(T.RParen, { ERR_MSG: closers.fnDecl.RParen });
    this.CONSUME(T.Arrow, { ERR_MSG: "expected '->' and the return type after the function's parameters" });
    this.SUBRULE(this.type, { LABEL: 'returnType' });
    this.SUBRULE(this.block, { LABEL: 'body' });
  });

  // fnParam := IDENT ':' type
  fnParam = this.RULE('fnParam', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: 'expected a parameter name' });
    this.CONSUME(T.Colon, { ERR_MSG: "expected ':' and a type after the parameter's name" });
    this.SUBRULE(this.type);
  });

  // module := 'module' IDENT ('(' (modParam (',' modParam)*)? ')')? '{' member* '}'
  moduleDecl = this.RULE('moduleDecl', () => {
    this.CONSUME(T.Module);
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: "expected the module's name after 'module'" });
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.modParam, { LABEL: 'params' }) });
      this.CONSUME(T.RParen, { ERR_MSG: closers.moduleDecl.RParen });
    });
    this.CONSUME(T.LBrace, { ERR_MSG: "expected '{' to start the module's body" });
    this.MANY(() => this.SUBRULE(this.member, { LABEL: 'members' }));
    this.CONSUME(T.RBrace, { ERR_MSG: closers.moduleDecl.RBrace });
  });

  // modParam := IDENT ':' (scalarType | 'module') ('=' expr)?
  modParam = this.RULE('modParam', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: 'expected a parameter name' });
    this.CONSUME(T.Colon, { ERR_MSG: "expected ':' and a type after the parameter's name" });
    this.OR({
      DEF: [{ ALT: () => this.SUBRULE(this.scalarType) }, { ALT: () => this.CONSUME(T.Module) }],
      ERR_MSG: "a module parameter type ('int', 'float', 'bool', 'str' or 'module')",
    });
    this.OPTION(() => { this.CONSUME(T.Equals); this.SUBRULE(this.expr, { LABEL: 'default' }); });
  });

  // member := param | submodule | fn
  member = this.RULE('member', () => {
    this.oneOf("a member ('param', 'fn' or 'name = Module(...)')", [this.paramDecl, this.submodule, this.fnDecl]);
  });

  // param := 'param' IDENT ':' tensorType '=' expr
  paramDecl = this.RULE('paramDecl', () => {
    this.CONSUME(T.Param);
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: "expected the parameter's name after 'param'" });
    this.CONSUME(T.Colon, { ERR_MSG: "expected ':' and a tensor type after the parameter's name" });
    this.SUBRULE(this.tensorType);
    this.CONSUME(T.Equals, { ERR_MSG: "expected '=' and an initialiser (such as 'zeros()') after the parameter's type" });
    this.SUBRULE(this.expr, { LABEL: 'init' });
  });

  // submodule := IDENT '=' ('[' expr ']')? IDENT '(' args? ')'
  submodule = this.RULE('submodule', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals, { ERR_MSG: "expected '=' after the submodule's name" });
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.SUBRULE(this.expr, { LABEL: 'count' });
      this.CONSUME(T.RBracket, { ERR_MSG: "expected ']' after the repeat count" });
    });
    this.CONSUME2(T.Identifier, { LABEL: 'module', ERR_MSG: 'expected the name of a module' });
    this.CONSUME(T.LParen, { ERR_MSG: "expected '(' after the module's name (write 'Name()' when it takes no arguments)" });
    this.OPTION2(() => this.SUBRULE(this.args));
    this.CONSUME(T.RParen, { ERR_MSG: "expected ')' after the module's arguments" });
  });

  // model := 'model' IDENT '=' IDENT '(' args? ')'
  modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: "expected the model's name after 'model'" });
    this.CONSUME(T.Equals, { ERR_MSG: "expected '=' after the model's name" });
    this.CONSUME2(T.Identifier, { LABEL: 'module', ERR_MSG: 'expected the name of the root module' });
    this.CONSUME(T.LParen, { ERR_MSG: "expected '(' after the module's name (write 'Name()' when it takes no arguments)" });
    this.OPTION(() => this.SUBRULE(this.args));
    this.CONSUME(T.RParen, { ERR_MSG: "expected ')' after the module's arguments" });
  });

  // type := tensorType | scalarType      (`bool[` starts a tensor type, a lone `bool` is scalar)
  type = this.RULE('type', () => {
    this.oneOf("a type (a tensor type such as 'f32[B, S]', or 'int', 'float', 'bool' or 'str')", [this.tensorType, this.scalarType]);
  });

  // tensorType := DTYPE '[' (dimItem (',' dimItem)*)? ']'
  tensorType = this.RULE('tensorType', () => {
    this.CONSUME(T.DType, { LABEL: 'dtype', ERR_MSG: "expected a tensor type such as 'f32[B, S]'" });
    this.CONSUME(T.LBracket, { ERR_MSG: "expected '[' and the dimensions after the dtype" });
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.dimItem, { LABEL: 'dims' }) });
    this.CONSUME(T.RBracket, { ERR_MSG: closers.tensorType.RBracket });
  });

  // dimItem := '...' | expr
  dimItem = this.RULE('dimItem', () => {
    this.OR({
      DEF: [{ ALT: () => this.CONSUME(T.Ellipsis) }, { ALT: () => this.SUBRULE(this.expr) }],
      ERR_MSG: "a dimension (an expression or '...')",
    });
  });

  // block := '{' stmt* '}'
  block = this.RULE('block', () => {
    this.CONSUME(T.LBrace, { ERR_MSG: "expected '{' to start a block" });
    this.MANY(() => this.SUBRULE(this.stmt, { LABEL: 'stmts' }));
    this.CONSUME(T.RBrace, { ERR_MSG: closers.block.RBrace });
  });

  // stmt := letStmt | assignStmt | forStmt | returnStmt
  stmt = this.RULE('stmt', () => {
    this.oneOf("a statement ('let', 'for', 'return' or 'name = value')", [this.letStmt, this.assignStmt, this.forStmt, this.returnStmt]);
  });

  // 'let' IDENT (':' type)? '=' expr
  letStmt = this.RULE('letStmt', () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier, { LABEL: 'name', ERR_MSG: "expected a name after 'let'" });
    this.OPTION(() => { this.CONSUME(T.Colon); this.SUBRULE(this.type); });
    this.CONSUME(T.Equals, { ERR_MSG: "expected '=' and a value in 'let'" });
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });

  // IDENT '=' expr
  assignStmt = this.RULE('assignStmt', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals, { ERR_MSG: "expected '=' after the name (a statement is 'let', 'for', 'return' or 'name = value')" });
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });

  // 'for' IDENT 'in' expr block
  forStmt = this.RULE('forStmt', () => {
    this.CONSUME(T.For);
    this.CONSUME(T.Identifier, { LABEL: 'variable', ERR_MSG: "expected the loop variable after 'for'" });
    this.CONSUME(T.In, { ERR_MSG: "expected 'in' after the loop variable" });
    this.SUBRULE(this.expr, { LABEL: 'iterable' });
    this.SUBRULE(this.block, { LABEL: 'body' });
  });

  // 'return' expr
  returnStmt = this.RULE('returnStmt', () => {
    this.CONSUME(T.Return);
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });

  // args := arg (',' arg)*
  args = this.RULE('args', () => {
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.arg, { LABEL: 'items' }), ERR_MSG: 'an argument' });
  });

  // arg := (IDENT '=')? expr        (two tokens of lookahead tell `axis = -1` from `axis`)
  arg = this.RULE('arg', () => {
    this.OPTION(() => { this.CONSUME(T.Identifier, { LABEL: 'name' }); this.CONSUME(T.Equals); });
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });

  // expr := additive
  expr = this.RULE('expr', () => {
    this.SUBRULE(this.additive);
  });

  // additive := multiplicative (('+' | '-') multiplicative)*
  additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative, { LABEL: 'operands' });
    this.MANY(() => { this.CONSUME(T.AdditiveOp, { LABEL: 'operators' }); this.SUBRULE2(this.multiplicative, { LABEL: 'operands' }); });
  });

  // multiplicative := unary (('*' | '/' | '@') unary)*
  multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary, { LABEL: 'operands' });
    this.MANY(() => { this.CONSUME(T.MultiplicativeOp, { LABEL: 'operators' }); this.SUBRULE2(this.unary, { LABEL: 'operands' }); });
  });

  // unary := '-' unary | power
  unary = this.RULE('unary', () => {
    this.OR({
      DEF: [
        { ALT: () => { this.CONSUME(T.Minus); this.SUBRULE(this.unary, { LABEL: 'operand' }); } },
        { ALT: () => this.SUBRULE(this.power) },
      ],
      ERR_MSG: 'an expression',
    });
  });

  // power := postfix ('**' unary)?      (the exponent is a unary, so `**` is right-associative)
  power = this.RULE('power', () => {
    this.SUBRULE(this.postfix, { LABEL: 'base' });
    this.OPTION(() => { this.CONSUME(T.StarStar); this.SUBRULE(this.unary, { LABEL: 'exponent' }); });
  });

  // postfix := primary suffix*
  postfix = this.RULE('postfix', () => {
    this.SUBRULE(this.primary);
    this.MANY(() => this.SUBRULE(this.suffix, { LABEL: 'suffixes' }));
  });

  // suffix := '(' args? ')' | '.' IDENT       (factored out so the suffixes stay in source order)
  suffix = this.RULE('suffix', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.OPTION(() => this.SUBRULE(this.args));
          this.CONSUME(T.RParen, { ERR_MSG: "expected ')' after the arguments of the call" });
        },
      },
      { ALT: () => { this.CONSUME(T.Dot); this.CONSUME(T.Identifier, { LABEL: 'member', ERR_MSG: "expected a member name after '.'" }); } },
    ]);
  });

  // primary := NUMBER | 'true' | 'false' | STRING | IDENT | '(' expr ')' | table | list | matchExpr
  // `int` and `float` are keywords but also the cast builtins `int(x)`, `float(x)`: names here.
  primary = this.RULE('primary', () => {
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(T.NumberLiteral, { LABEL: 'number' }) },
        { ALT: () => this.CONSUME(T.True, { LABEL: 'bool' }) },
        { ALT: () => this.CONSUME(T.False, { LABEL: 'bool' }) },
        { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: 'string' }) },
        { ALT: () => this.CONSUME(T.Identifier, { LABEL: 'name' }) },
        { ALT: () => this.CONSUME(T.Int, { LABEL: 'name' }) },
        { ALT: () => this.CONSUME(T.Float, { LABEL: 'name' }) },
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            this.SUBRULE(this.expr, { LABEL: 'inner' });
            this.CONSUME(T.RParen, { ERR_MSG: "expected ')' to close the parenthesised expression" });
          },
        },
        { ALT: () => this.SUBRULE(this.table) }, // before list: `[IDENT ':'` decides
        { ALT: () => this.SUBRULE(this.list) },
        { ALT: () => this.SUBRULE(this.matchExpr) },
      ],
      ERR_MSG: 'an expression',
    });
  });

  // list := '[' (expr (',' expr)*)? ']'
  list = this.RULE('list', () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expr, { LABEL: 'items' }) });
    this.CONSUME(T.RBracket, { ERR_MSG: closers.list.RBracket });
  });

  // matchExpr := 'match' expr '{' (matchArm ','?)+ '}'      (an arm starts with a string, so commas are optional)
  matchExpr = this.RULE('matchExpr', () => {
    this.CONSUME(T.Match);
    this.SUBRULE(this.expr, { LABEL: 'subject' });
    this.CONSUME(T.LBrace, { ERR_MSG: "expected '{' and the arms after the value to match" });
    this.AT_LEAST_ONE({
      DEF: () => {
        this.SUBRULE(this.matchArm, { LABEL: 'arms' });
        this.OPTION(() => this.CONSUME(T.Comma));
      },
      ERR_MSG: 'an arm (\'"value" => expression\')',
    });
    this.CONSUME(T.RBrace, { ERR_MSG: closers.matchExpr.RBrace });
  });

  // matchArm := STRING ('|' STRING)* '=>' expr
  matchArm = this.RULE('matchArm', () => {
    this.AT_LEAST_ONE_SEP({
      SEP: T.Pipe,
      DEF: () => this.CONSUME(T.StringLiteral, { LABEL: 'patterns', ERR_MSG: 'expected a quoted string to match' }),
      ERR_MSG: 'a quoted string to match',
    });
    this.CONSUME(T.FatArrow, { ERR_MSG: "expected '=>' and the arm's expression after its strings" });
    this.SUBRULE(this.expr, { LABEL: 'body' });
  });

  // table := '[' IDENT ':' expr (',' IDENT ':' expr)* ']' '=>' expr
  table = this.RULE('table', () => {
    this.CONSUME(T.LBracket);
    this.AT_LEAST_ONE_SEP({
      SEP: T.Comma,
      DEF: () => {
        this.CONSUME(T.Identifier, { LABEL: 'indices', ERR_MSG: "expected an index name ('i: extent')" });
        this.CONSUME(T.Colon, { ERR_MSG: "expected ':' and the extent after the index name" });
        this.SUBRULE(this.expr, { LABEL: 'extents' });
      },
      ERR_MSG: "an index ('i: extent')",
    });
    this.CONSUME(T.RBracket, { ERR_MSG: closers.table.RBracket });
    this.CONSUME(T.FatArrow, { ERR_MSG: "expected '=>' and the element expression after the table's indices" });
    this.SUBRULE2(this.expr, { LABEL: 'body' });
  });
}

/** One parser serves every parse (building it analyses the grammar, which is slow). */
export const rhParser = new RhParser();
